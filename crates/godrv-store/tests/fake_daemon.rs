//! The client against an in-process fake daemon: framing, handshake, log messages, errors, and
//! faults (a daemon that stops answering or reading, dies mid-batch, truncates or garbles an
//! answer, sends an error with many traces): each a clear error, never a hang.

use std::collections::BTreeSet;
use std::io::{BufReader, BufWriter, Write};
use std::os::unix::net::UnixStream;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use godrv_store::wire::{self, read_framed, read_string, read_strings, read_u64};
use godrv_store::{AddRequest, Client, StoreError};

const MAGIC_1: u64 = 0x6e69_7863;
const MAGIC_2: u64 = 0x6478_696f;
const LAST: u64 = 0x616c_7473;
const ERROR: u64 = 0x6378_7470;
const NEXT: u64 = 0x6f6c_6d67;
const START: u64 = 0x5354_5254;
const STOP: u64 = 0x5354_4f50;

const STORE_PATH: &str = "/nix/store/00000000000000000000000000000000-";

/// What the fake daemon saw of an AddToStore request.
#[derive(Debug, PartialEq, Eq)]
struct Added {
    name: String,
    method: String,
    refs: Vec<String>,
    data: Vec<u8>,
}

/// How the fake daemon misbehaves after the handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    None,
    /// Reads requests, never answers.
    Silent,
    /// Never reads another byte (the client's writes fill the socket and block).
    NoRead,
    /// Closes the connection after reading AddToStore number `n` (0-based), unanswered.
    DieAt(usize),
    /// Answers AddToStore number `n` with half a path info, then closes the connection.
    TruncateAt(usize),
    /// Answers AddToStore number `n` with a path that is not UTF-8.
    GarbleAt(usize),
    /// A failing AddToStore ("bad…") reports an error with this many trace lines.
    Traces(u64),
}

/// A daemon speaking `version`: valid paths are those in `valid`; AddToStore of a name starting
/// with "bad" fails with an error; every answer starts with a log line and an activity.
fn fake_daemon(stream: UnixStream, version: u64, valid: Vec<String>) -> Vec<Added> {
    faulty_daemon(stream, version, valid, Fault::None)
}

fn faulty_daemon(stream: UnixStream, version: u64, valid: Vec<String>, fault: Fault) -> Vec<Added> {
    let mut r = BufReader::new(stream.try_clone().unwrap());
    let mut w = BufWriter::new(stream);
    assert_eq!(read_u64(&mut r).unwrap(), MAGIC_1);
    let client = read_u64(&mut r).unwrap();
    wire::write_u64(&mut w, MAGIC_2).unwrap();
    wire::write_u64(&mut w, version).unwrap();
    w.flush().unwrap();
    let v = client.min(version) & 0xff;
    assert_eq!(read_u64(&mut r).unwrap(), 0, "cpu affinity");
    assert_eq!(read_u64(&mut r).unwrap(), 0, "reserve space");
    if v >= 33 {
        wire::write_bytes(&mut w, b"2.34.8").unwrap();
    }
    if v >= 35 {
        wire::write_u64(&mut w, 2).unwrap();
    }
    wire::write_u64(&mut w, LAST).unwrap();
    w.flush().unwrap();
    let mut added = Vec::new();
    match fault {
        Fault::NoRead => {
            // Keep the socket open, unread, well past the client's timeout (a slow, loaded
            // machine included): the client must give up by itself, not because this end closed.
            thread::sleep(Duration::from_secs(15));
            return added;
        }
        Fault::Silent => {
            while read_u64(&mut r).is_ok() {}
            return added;
        }
        _ => {}
    }
    while let Ok(op) = read_u64(&mut r) {
        // some chatter before every answer
        wire::write_u64(&mut w, NEXT).unwrap();
        wire::write_bytes(&mut w, b"fake: working\n").unwrap();
        wire::write_u64(&mut w, START).unwrap();
        for x in [7, 3, 0] {
            wire::write_u64(&mut w, x).unwrap();
        }
        wire::write_bytes(&mut w, b"activity").unwrap();
        wire::write_u64(&mut w, 2).unwrap(); // two fields: an int and a string
        wire::write_u64(&mut w, 0).unwrap();
        wire::write_u64(&mut w, 42).unwrap();
        wire::write_u64(&mut w, 1).unwrap();
        wire::write_bytes(&mut w, b"field").unwrap();
        wire::write_u64(&mut w, 0).unwrap(); // parent
        wire::write_u64(&mut w, STOP).unwrap();
        wire::write_u64(&mut w, 7).unwrap();
        match op {
            1 => {
                let path = read_string(&mut r).unwrap();
                wire::write_u64(&mut w, LAST).unwrap();
                wire::write_u64(&mut w, valid.contains(&path) as u64).unwrap();
            }
            31 => {
                let paths = read_strings(&mut r).unwrap();
                assert_eq!(read_u64(&mut r).unwrap(), 0, "substitute");
                wire::write_u64(&mut w, LAST).unwrap();
                let ok: Vec<&str> = paths
                    .iter()
                    .filter(|p| valid.contains(p))
                    .map(String::as_str)
                    .collect();
                wire::write_strings(&mut w, ok.into_iter()).unwrap();
            }
            7 => {
                let name = read_string(&mut r).unwrap();
                let method = read_string(&mut r).unwrap();
                let refs = read_strings(&mut r).unwrap();
                assert_eq!(read_u64(&mut r).unwrap(), 0, "repair");
                let Ok(data) = read_framed(&mut r) else {
                    break; // the client gave up half-way
                };
                let n = added.len();
                if fault == Fault::DieAt(n) {
                    return added;
                }
                if fault == Fault::TruncateAt(n) {
                    wire::write_u64(&mut w, LAST).unwrap();
                    wire::write_bytes(&mut w, format!("{STORE_PATH}{name}").as_bytes()).unwrap();
                    wire::write_u64(&mut w, 0).unwrap(); // half a deriver
                    w.flush().unwrap();
                    return added;
                }
                if fault == Fault::GarbleAt(n) {
                    wire::write_u64(&mut w, LAST).unwrap();
                    wire::write_bytes(&mut w, b"/nix/store/\xff\xfe").unwrap();
                    w.flush().unwrap();
                    while read_u64(&mut r).is_ok() {}
                    return added;
                }
                if name.starts_with("bad") {
                    let traces = match fault {
                        Fault::Traces(n) => n,
                        _ => 1,
                    };
                    wire::write_u64(&mut w, ERROR).unwrap();
                    wire::write_bytes(&mut w, b"Error").unwrap();
                    wire::write_u64(&mut w, 0).unwrap();
                    wire::write_bytes(&mut w, b"Error").unwrap();
                    wire::write_bytes(&mut w, b"path 'x' is not valid").unwrap();
                    wire::write_u64(&mut w, 0).unwrap();
                    wire::write_u64(&mut w, traces).unwrap();
                    for _ in 0..traces.min(100_000) {
                        wire::write_u64(&mut w, 0).unwrap();
                        wire::write_bytes(&mut w, b"while adding").unwrap();
                    }
                } else {
                    wire::write_u64(&mut w, LAST).unwrap();
                    wire::write_bytes(&mut w, format!("{STORE_PATH}{name}").as_bytes()).unwrap();
                    wire::write_bytes(&mut w, b"").unwrap(); // deriver
                    wire::write_bytes(&mut w, b"abcd").unwrap(); // nar hash
                    wire::write_strings(&mut w, refs.iter().map(String::as_str)).unwrap();
                    wire::write_u64(&mut w, 0).unwrap(); // registration time
                    wire::write_u64(&mut w, data.len() as u64).unwrap(); // "nar size"
                    if v >= 16 {
                        wire::write_u64(&mut w, 0).unwrap();
                        wire::write_strings(&mut w, std::iter::empty()).unwrap();
                        wire::write_bytes(&mut w, format!("{method}:x").as_bytes()).unwrap();
                    }
                }
                added.push(Added {
                    name,
                    method,
                    refs,
                    data,
                });
            }
            other => panic!("fake daemon: unexpected op {other}"),
        }
        w.flush().unwrap();
    }
    added
}

fn with_daemon(version: u64, valid: &[&str], f: impl FnOnce(&mut Client)) -> Vec<Added> {
    let (a, b) = UnixStream::pair().unwrap();
    let valid = valid.iter().map(|s| s.to_string()).collect();
    let server = thread::spawn(move || fake_daemon(b, version, valid));
    let mut client = Client::handshake(a).unwrap();
    f(&mut client);
    drop(client);
    server.join().unwrap()
}

#[test]
fn handshake_and_queries() {
    let valid = "/nix/store/11111111111111111111111111111111-a";
    with_daemon(1 << 8 | 38, &[valid], |c| {
        assert_eq!(c.version(), 1 << 8 | 37);
        assert_eq!(c.daemon_nix_version(), Some("2.34.8"));
        assert!(c.is_valid_path(valid).unwrap());
        assert!(!c.is_valid_path("/nix/store/x-b").unwrap());
        let got = c
            .query_valid_paths([valid, "/nix/store/x-b"].into_iter())
            .unwrap();
        assert_eq!(got, BTreeSet::from([valid.to_string()]));
    });
}

#[test]
fn add_to_store_sends_framed_data_and_reads_path_info() {
    let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let refs = BTreeSet::from(["/nix/store/r-ref".to_string()]);
    let added = with_daemon(1 << 8 | 37, &[], |c| {
        let info = c
            .add_to_store("x.drv", "text:sha256", &refs, |w| {
                w.write_all(b"Derive(...)")
            })
            .unwrap();
        assert_eq!(info.path, format!("{STORE_PATH}x.drv"));
        assert_eq!(info.references, refs);
        assert_eq!(info.ca.as_deref(), Some("text:sha256:x"));
        assert_eq!(info.deriver, None);
        let info = c
            .add_to_store("src", "fixed:r:sha256", &BTreeSet::new(), |w| {
                w.write_all(&big)
            })
            .unwrap();
        assert_eq!(info.nar_size, big.len() as u64);
    });
    assert_eq!(
        added[0],
        Added {
            name: "x.drv".into(),
            method: "text:sha256".into(),
            refs: vec!["/nix/store/r-ref".into()],
            data: b"Derive(...)".to_vec(),
        }
    );
    assert_eq!(added[1].data, big);
}

#[test]
fn daemon_errors_carry_their_message_and_the_connection_goes_on() {
    with_daemon(1 << 8 | 37, &[], |c| {
        let err = c
            .add_to_store("bad.drv", "text:sha256", &BTreeSet::new(), |w| {
                w.write_all(b"x")
            })
            .unwrap_err();
        match &err {
            StoreError::Daemon { message, traces } => {
                assert_eq!(message, "path 'x' is not valid");
                assert_eq!(traces, &["while adding".to_string()]);
            }
            other => panic!("not a daemon error: {other:?}"),
        }
        assert_eq!(err.to_string(), "path 'x' is not valid");
        // the next request works
        assert!(!c.is_valid_path("/nix/store/x-b").unwrap());
    });
}

#[test]
fn a_failing_dump_breaks_the_connection() {
    with_daemon(1 << 8 | 37, &[], |c| {
        let err = c
            .add_to_store("x", "fixed:r:sha256", &BTreeSet::new(), |_| {
                Err(std::io::Error::other("disk on fire"))
            })
            .unwrap_err();
        assert!(err.to_string().contains("disk on fire"), "{err}");
        assert!(c.is_valid_path("/nix/store/x-b").is_err());
    });
}

#[test]
fn old_protocols() {
    // 1.25: no Nix version, no trust flag, errors as (message, status)... the fake only does
    // the new error format, so check the handshake and a query.
    with_daemon(1 << 8 | 25, &[], |c| {
        assert_eq!(c.version(), 1 << 8 | 25);
        assert_eq!(c.daemon_nix_version(), None);
        assert!(!c.is_valid_path("/nix/store/x-b").unwrap());
    });
}

#[test]
fn too_old_and_not_a_daemon() {
    let (a, b) = UnixStream::pair().unwrap();
    let server = thread::spawn(move || {
        let mut r = BufReader::new(b.try_clone().unwrap());
        let mut w = b;
        read_u64(&mut r).unwrap();
        read_u64(&mut r).unwrap();
        wire::write_u64(&mut w, MAGIC_2).unwrap();
        wire::write_u64(&mut w, 1 << 8 | 20).unwrap();
    });
    let err = Client::handshake(a).err().unwrap();
    server.join().unwrap();
    assert!(matches!(err, StoreError::TooOld(_)), "{err}");
    assert!(err.to_string().contains("1.20"), "{err}");

    let (a, b) = UnixStream::pair().unwrap();
    let server = thread::spawn(move || {
        let mut w = b;
        // the client hangs up after the first word
        let _ = wire::write_u64(&mut w, 0x4854_5450).and_then(|()| wire::write_u64(&mut w, 0));
    });
    let err = Client::handshake(a).err().unwrap();
    server.join().unwrap();
    assert!(matches!(err, StoreError::BadMagic(_)), "{err}");
}

#[test]
fn pipelined_adds_keep_order_and_report_each_error() {
    let refs = BTreeSet::new();
    let data: Vec<Vec<u8>> = (0..300).map(|i| vec![i as u8; 1000 + i]).collect();
    let names: Vec<String> = (0..300)
        .map(|i| {
            if i == 7 {
                "bad-7".into()
            } else {
                format!("d{i}.drv")
            }
        })
        .collect();
    let requests: Vec<AddRequest<'_>> = (0..300)
        .map(|i| AddRequest {
            name: &names[i],
            method: "text:sha256",
            references: &refs,
            data: &data[i],
        })
        .collect();
    let added = with_daemon(1 << 8 | 37, &[], |c| {
        let results = c.add_many_to_store(&requests).unwrap();
        assert_eq!(results.len(), 300);
        for (i, r) in results.iter().enumerate() {
            match r {
                Ok(info) => assert_eq!(info.path, format!("{STORE_PATH}{}", names[i])),
                Err(e) => {
                    assert_eq!(i, 7);
                    assert_eq!(e.to_string(), "path 'x' is not valid");
                }
            }
        }
        assert!(results[7].is_err());
        // the connection is still usable
        assert!(!c.is_valid_path("/nix/store/x-b").unwrap());
    });
    assert_eq!(added.len(), 300);
    for (i, a) in added.iter().enumerate() {
        assert_eq!(a.name, names[i]);
        assert_eq!(a.data, data[i]);
    }
}

/// Runs `f` against a daemon with `fault` and a socket timeout of `timeout`; fails the test if
/// `f` has not returned after 20 s (a hang).
fn with_fault<T: Send + 'static>(
    fault: Fault,
    timeout: Duration,
    f: impl FnOnce(&mut Client) -> T + Send + 'static,
) -> (T, Duration) {
    let (a, b) = UnixStream::pair().unwrap();
    thread::spawn(move || faulty_daemon(b, 1 << 8 | 37, Vec::new(), fault));
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let start = Instant::now();
        let mut client = Client::handshake_with_timeout(a, Some(timeout)).unwrap();
        let out = f(&mut client);
        let _ = tx.send((out, start.elapsed()));
    });
    rx.recv_timeout(Duration::from_secs(20))
        .unwrap_or_else(|_| panic!("{fault:?}: the client hung"))
}

fn adds(n: usize, bad: Option<usize>) -> (Vec<String>, Vec<Vec<u8>>) {
    let names = (0..n)
        .map(|i| {
            if Some(i) == bad {
                format!("bad-{i}")
            } else {
                format!("d{i}.drv")
            }
        })
        .collect();
    (names, (0..n).map(|i| vec![i as u8; 100 + i]).collect())
}

fn add_batch(
    c: &mut Client,
    names: &[String],
    data: &[Vec<u8>],
) -> Result<Vec<Result<String, StoreError>>, StoreError> {
    let refs = BTreeSet::new();
    let requests: Vec<AddRequest<'_>> = names
        .iter()
        .zip(data)
        .map(|(name, data)| AddRequest {
            name,
            method: "text:sha256",
            references: &refs,
            data,
        })
        .collect();
    Ok(c.add_many_to_store(&requests)?
        .into_iter()
        .map(|r| r.map(|info| info.path))
        .collect())
}

#[test]
fn a_daemon_that_stops_answering_times_out_naming_the_request() {
    let timeout = Duration::from_millis(300);
    let (err, took) = with_fault(Fault::Silent, timeout, |c| {
        let err = c.is_valid_path("/nix/store/x-a").unwrap_err();
        // The connection is not used again.
        let again = c.is_valid_path("/nix/store/x-a").unwrap_err();
        assert!(again.to_string().contains("failed half-way"), "{again}");
        err
    });
    assert!(
        matches!(err, StoreError::Timeout { during: "IsValidPath", after } if after == timeout),
        "{err:?}"
    );
    assert!(
        took >= timeout && took < Duration::from_secs(10),
        "{took:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("sent nothing for 300ms (IsValidPath)"),
        "{msg}"
    );
    assert!(msg.contains("GODRV_STORE_TIMEOUT"), "{msg}");

    let (err, _) = with_fault(Fault::Silent, timeout, |c| {
        let (names, data) = adds(3, None);
        add_batch(c, &names, &data).unwrap()
    });
    assert!(
        matches!(
            &err[0],
            Err(StoreError::Timeout {
                during: "AddToStore",
                ..
            })
        ),
        "{err:?}"
    );
}

#[test]
fn a_daemon_that_stops_reading_times_out_the_write() {
    let (err, _) = with_fault(Fault::NoRead, Duration::from_millis(300), |c| {
        // Far more than a socket buffer holds.
        let big = vec![7u8; 32 << 20];
        c.add_to_store("big", "fixed:r:sha256", &BTreeSet::new(), |w| {
            w.write_all(&big)
        })
        .unwrap_err()
    });
    assert!(
        matches!(
            err,
            StoreError::Timeout {
                during: "AddToStore",
                ..
            }
        ),
        "{err:?}"
    );
    // The pipelined form too: its writer blocks, its reader times out and unblocks it.
    let (err, _) = with_fault(Fault::NoRead, Duration::from_millis(300), |c| {
        let names = vec!["big".to_string()];
        add_batch(c, &names, &[vec![7u8; 32 << 20]])
    });
    let err = match err {
        Ok(results) => results.into_iter().next().unwrap().unwrap_err(),
        Err(e) => e,
    };
    assert!(
        matches!(
            err,
            StoreError::Timeout {
                during: "AddToStore",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn a_daemon_that_dies_mid_batch_is_a_clear_error() {
    let (results, took) = with_fault(Fault::DieAt(5), Duration::from_secs(60), |c| {
        let (names, data) = adds(40, None);
        let results = add_batch(c, &names, &data);
        let next = c.is_valid_path("/nix/store/x-a").unwrap_err();
        (results, next.to_string())
    });
    // Well before the 60 s timeout: the closed socket is noticed at once.
    assert!(took < Duration::from_secs(10), "{took:?}");
    let (results, next) = results;
    let first_error = match results {
        Ok(results) => {
            assert!(results[..5].iter().all(Result::is_ok), "{results:?}");
            assert!(results[5..].iter().all(Result::is_err), "{results:?}");
            results.into_iter().nth(5).unwrap().unwrap_err()
        }
        Err(e) => e,
    };
    assert!(
        matches!(
            first_error,
            StoreError::Closed {
                during: "AddToStore",
                ..
            }
        ),
        "{first_error:?}"
    );
    assert!(
        first_error.to_string().contains("closed the connection"),
        "{first_error}"
    );
    assert!(next.contains("failed half-way"), "{next}");
}

#[test]
fn a_truncated_answer_is_a_clear_error() {
    let (err, _) = with_fault(Fault::TruncateAt(0), Duration::from_secs(60), |c| {
        c.add_to_store("x.drv", "text:sha256", &BTreeSet::new(), |w| {
            w.write_all(b"Derive()")
        })
        .unwrap_err()
    });
    assert!(
        matches!(
            err,
            StoreError::Closed {
                during: "AddToStore",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn a_malformed_answer_is_a_clear_error() {
    let (err, _) = with_fault(Fault::GarbleAt(1), Duration::from_secs(60), |c| {
        let (names, data) = adds(3, None);
        add_batch(c, &names, &data).unwrap()
    });
    assert!(err[0].is_ok(), "{err:?}");
    let StoreError::Malformed { during, detail } = err[1].as_ref().unwrap_err() else {
        panic!("{err:?}");
    };
    assert_eq!(*during, "AddToStore");
    assert!(detail.contains("not UTF-8"), "{detail}");
    assert!(err[2].is_err());
}

/// Regression: an error with more than 1024 trace lines left the rest unread, so the next
/// answer was read from the middle of the error.
#[test]
fn an_error_with_many_traces_is_read_whole() {
    let ((first, next), _) = with_fault(Fault::Traces(1500), Duration::from_secs(60), |c| {
        let first = c
            .add_to_store("bad.drv", "text:sha256", &BTreeSet::new(), |w| {
                w.write_all(b"x")
            })
            .unwrap_err();
        (first, c.is_valid_path("/nix/store/x-a"))
    });
    match first {
        StoreError::Daemon { message, traces } => {
            assert_eq!(message, "path 'x' is not valid");
            assert_eq!(traces.len(), 1500);
        }
        other => panic!("{other:?}"),
    }
    assert!(!next.unwrap(), "the connection is in step after the error");
    // An absurd count is refused at once, not read until the socket runs dry.
    let (err, took) = with_fault(Fault::Traces(1 << 40), Duration::from_secs(60), |c| {
        c.add_to_store("bad.drv", "text:sha256", &BTreeSet::new(), |w| {
            w.write_all(b"x")
        })
        .unwrap_err()
    });
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert!(
        matches!(&err, StoreError::Malformed { during: "AddToStore", detail } if detail.contains("1099511627776 trace lines")),
        "{err:?}"
    );
}
