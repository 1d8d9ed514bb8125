//! The connection: handshake, the log/error loop every answer starts with, and the operations.

use std::collections::BTreeSet;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::net::Shutdown;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use crate::wire::{self, FramedWriter};
use crate::StoreError;

pub const WORKER_MAGIC_1: u64 = 0x6e69_7863;
pub const WORKER_MAGIC_2: u64 = 0x6478_696f;
/// The protocol version godrv asks for (1.37: before feature negotiation).
pub const CLIENT_VERSION: u64 = 1 << 8 | 37;
/// The oldest daemon godrv talks to (1.25: `AddToStore` with a content-address method).
pub const MIN_DAEMON_VERSION: u64 = 1 << 8 | 25;
/// How long one read or write of the socket may wait before the request fails
/// ([`StoreError::Timeout`]): long enough for a daemon adding a large NAR under load.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// Most trace lines accepted in one daemon error (Nix sends a handful).
const MAX_TRACES: u64 = 1 << 16;

pub const STDERR_NEXT: u64 = 0x6f6c_6d67;
pub const STDERR_READ: u64 = 0x6461_7461;
pub const STDERR_WRITE: u64 = 0x6461_7416;
pub const STDERR_LAST: u64 = 0x616c_7473;
pub const STDERR_ERROR: u64 = 0x6378_7470;
pub const STDERR_START_ACTIVITY: u64 = 0x5354_5254;
pub const STDERR_STOP_ACTIVITY: u64 = 0x5354_4f50;
pub const STDERR_RESULT: u64 = 0x5253_4c54;

/// Operation codes (`WorkerProto::Op`).
pub mod op {
    pub const IS_VALID_PATH: u64 = 1;
    pub const ADD_TO_STORE: u64 = 7;
    pub const QUERY_VALID_PATHS: u64 = 31;
}

/// What the daemon knows about a path it added (`ValidPathInfo`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathInfo {
    /// Absolute store path.
    pub path: String,
    pub deriver: Option<String>,
    /// The NAR's sha256, in hex.
    pub nar_hash: String,
    pub references: BTreeSet<String>,
    pub nar_size: u64,
    /// The content address (`text:sha256:…`, `fixed:r:sha256:…`), if any.
    pub ca: Option<String>,
}

/// One `AddToStore` of [`Client::add_many_to_store`], with its data in memory.
#[derive(Clone, Copy, Debug)]
pub struct AddRequest<'a> {
    pub name: &'a str,
    /// As for [`Client::add_to_store`].
    pub method: &'a str,
    pub references: &'a BTreeSet<String>,
    pub data: &'a [u8],
}

/// One connection to a Nix daemon.
pub struct Client {
    r: BufReader<UnixStream>,
    w: BufWriter<UnixStream>,
    version: u64,
    daemon_nix_version: Option<String>,
    /// A request failed half-way: what the daemon reads next is unknown.
    broken: bool,
    /// The socket's read and write timeout.
    timeout: Option<Duration>,
}

fn io_err(during: &'static str) -> impl FnOnce(io::Error) -> StoreError {
    move |source| StoreError::Io { during, source }
}

impl Client {
    /// Connects to the socket at `path` and shakes hands, with [`DEFAULT_TIMEOUT`].
    pub fn connect(path: &Path) -> Result<Client, StoreError> {
        Client::connect_with_timeout(path, Some(DEFAULT_TIMEOUT))
    }

    /// Connects to the socket at `path` and shakes hands; every read and write of the socket
    /// fails after waiting `timeout` (`None`: waits forever).
    pub fn connect_with_timeout(
        path: &Path,
        timeout: Option<Duration>,
    ) -> Result<Client, StoreError> {
        let stream = UnixStream::connect(path).map_err(|source| StoreError::Connect {
            path: path.to_path_buf(),
            source,
        })?;
        Client::handshake_with_timeout(stream, timeout)
    }

    /// Shakes hands over an open stream, with [`DEFAULT_TIMEOUT`].
    pub fn handshake(stream: UnixStream) -> Result<Client, StoreError> {
        Client::handshake_with_timeout(stream, Some(DEFAULT_TIMEOUT))
    }

    /// Shakes hands over an open stream whose reads and writes fail after `timeout`.
    pub fn handshake_with_timeout(
        stream: UnixStream,
        timeout: Option<Duration>,
    ) -> Result<Client, StoreError> {
        let during = "handshake";
        stream
            .set_read_timeout(timeout)
            .and_then(|()| stream.set_write_timeout(timeout))
            .map_err(io_err(during))?;
        let reader = stream.try_clone().map_err(io_err(during))?;
        let mut c = Client {
            r: BufReader::new(reader),
            w: BufWriter::new(stream),
            version: 0,
            daemon_nix_version: None,
            broken: false,
            timeout,
        };
        c.shake_hands().map_err(|e| e.classify(timeout))?;
        Ok(c)
    }

    fn shake_hands(&mut self) -> Result<(), StoreError> {
        let c = self;
        let during = "handshake";
        wire::write_u64(&mut c.w, WORKER_MAGIC_1).map_err(io_err(during))?;
        wire::write_u64(&mut c.w, CLIENT_VERSION).map_err(io_err(during))?;
        c.w.flush().map_err(io_err(during))?;
        let magic = wire::read_u64(&mut c.r).map_err(io_err(during))?;
        if magic != WORKER_MAGIC_2 {
            return Err(StoreError::BadMagic(magic));
        }
        let daemon = wire::read_u64(&mut c.r).map_err(io_err(during))?;
        if daemon >> 8 != 1 || daemon < MIN_DAEMON_VERSION {
            return Err(StoreError::TooOld(daemon));
        }
        c.version = daemon.min(CLIENT_VERSION);
        // obsolete CPU affinity (>= 1.14), obsolete reserveSpace (>= 1.11)
        wire::write_u64(&mut c.w, 0).map_err(io_err(during))?;
        wire::write_u64(&mut c.w, 0).map_err(io_err(during))?;
        c.w.flush().map_err(io_err(during))?;
        if c.minor() >= 33 {
            c.daemon_nix_version = Some(wire::read_string(&mut c.r).map_err(io_err(during))?);
        }
        if c.minor() >= 35 {
            wire::read_u64(&mut c.r).map_err(io_err(during))?; // does the daemon trust us
        }
        process_stderr(&mut c.r, c.version, during)
    }

    fn minor(&self) -> u64 {
        self.version & 0xff
    }

    /// The protocol version in use (`major << 8 | minor`).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The daemon's Nix version, if it said (protocol >= 1.33).
    pub fn daemon_nix_version(&self) -> Option<&str> {
        self.daemon_nix_version.as_deref()
    }

    fn check_usable(&self) -> Result<(), StoreError> {
        if self.broken {
            return Err(StoreError::Io {
                during: "a new request",
                source: io::Error::other("an earlier request failed half-way"),
            });
        }
        Ok(())
    }

    /// Runs one request: any error but one the daemon reported cleanly leaves the connection
    /// broken, and an I/O error is named ([`StoreError::classify`]).
    fn request<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.check_usable()?;
        match f(self) {
            Ok(v) => Ok(v),
            Err(e @ StoreError::Daemon { .. }) => Err(e),
            Err(e) => {
                self.broken = true;
                Err(e.classify(self.timeout))
            }
        }
    }

    /// Sends what is buffered and reads the answer's log messages.
    fn finish_request(&mut self, during: &'static str) -> Result<(), StoreError> {
        self.w.flush().map_err(io_err(during))?;
        process_stderr(&mut self.r, self.version, during)
    }

    /// `IsValidPath`: whether `path` (absolute) is valid. Inside a recursive-Nix build only the
    /// build's inputs and the paths added during it are.
    pub fn is_valid_path(&mut self, path: &str) -> Result<bool, StoreError> {
        self.request(|c| c.is_valid_path_request(path))
    }

    fn is_valid_path_request(&mut self, path: &str) -> Result<bool, StoreError> {
        let during = "IsValidPath";
        wire::write_u64(&mut self.w, op::IS_VALID_PATH).map_err(io_err(during))?;
        wire::write_bytes(&mut self.w, path.as_bytes()).map_err(io_err(during))?;
        self.finish_request(during)?;
        Ok(wire::read_u64(&mut self.r).map_err(io_err(during))? != 0)
    }

    /// `QueryValidPaths` (without substituting): which of `paths` are valid.
    pub fn query_valid_paths<'a>(
        &mut self,
        paths: impl ExactSizeIterator<Item = &'a str>,
    ) -> Result<BTreeSet<String>, StoreError> {
        self.request(|c| c.query_valid_paths_request(paths))
    }

    fn query_valid_paths_request<'a>(
        &mut self,
        paths: impl ExactSizeIterator<Item = &'a str>,
    ) -> Result<BTreeSet<String>, StoreError> {
        let during = "QueryValidPaths";
        wire::write_u64(&mut self.w, op::QUERY_VALID_PATHS).map_err(io_err(during))?;
        wire::write_strings(&mut self.w, paths).map_err(io_err(during))?;
        if self.minor() >= 27 {
            wire::write_u64(&mut self.w, 0).map_err(io_err(during))?; // substitute
        }
        self.finish_request(during)?;
        Ok(wire::read_strings(&mut self.r)
            .map_err(io_err(during))?
            .into_iter()
            .collect())
    }

    /// `AddToStore`: adds the file system object that `dump` writes, content-addressed by
    /// `method` — `text:sha256` (the dump is a file's contents; `.drv` files, `builtins.toFile`)
    /// or `fixed:r:sha256` (the dump is a NAR; `nix store add`) — with `references`.
    pub fn add_to_store(
        &mut self,
        name: &str,
        method: &str,
        references: &BTreeSet<String>,
        dump: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> Result<PathInfo, StoreError> {
        self.request(|c| c.add_to_store_request(name, method, references, dump))
    }

    fn add_to_store_request(
        &mut self,
        name: &str,
        method: &str,
        references: &BTreeSet<String>,
        dump: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> Result<PathInfo, StoreError> {
        let during = "AddToStore";
        let header = |w: &mut BufWriter<UnixStream>| -> io::Result<()> {
            wire::write_u64(w, op::ADD_TO_STORE)?;
            wire::write_bytes(w, name.as_bytes())?;
            wire::write_bytes(w, method.as_bytes())?;
            wire::write_strings(w, references.iter().map(String::as_str))?;
            wire::write_u64(w, 0) // repair
        };
        let sent = header(&mut self.w).and_then(|()| {
            let mut framed = FramedWriter::new(&mut self.w);
            dump(&mut framed)?;
            framed.finish()
        });
        sent.map_err(io_err(during))?;
        self.finish_request(during)?;
        read_path_info(&mut self.r, self.version).map_err(io_err(during))
    }
}

impl Client {
    /// Many `AddToStore` requests, pipelined: a second thread writes them all while this one
    /// reads the answers, so the daemon never waits for a round trip. The daemon handles them in
    /// order (a path's references must be valid when it is added: give dependencies first).
    /// Returns one result per request; after a broken connection the rest are errors.
    pub fn add_many_to_store(
        &mut self,
        requests: &[AddRequest<'_>],
    ) -> Result<Vec<Result<PathInfo, StoreError>>, StoreError> {
        self.check_usable()?;
        let during = "AddToStore";
        let (version, timeout) = (self.version, self.timeout);
        let (w, r) = (&mut self.w, &mut self.r);
        let (sent, (results, broken)) = std::thread::scope(|scope| {
            let writer = scope.spawn(move || -> io::Result<()> {
                let sent = send_adds(w, requests);
                if sent.is_err() {
                    // The reader must not wait for answers to requests never sent.
                    let _ = w.get_ref().shutdown(Shutdown::Both);
                }
                sent
            });
            let mut results = Vec::with_capacity(requests.len());
            let mut broken = false;
            for _ in requests {
                if broken {
                    results.push(Err(StoreError::Io {
                        during,
                        source: io::Error::other("the connection broke on an earlier request"),
                    }));
                    continue;
                }
                let answer = process_stderr(r, version, during)
                    .and_then(|()| read_path_info(r, version).map_err(io_err(during)));
                let answer = match answer {
                    Err(e) if !matches!(e, StoreError::Daemon { .. }) => {
                        broken = true;
                        // The writer may be blocked on a daemon that stopped reading.
                        let _ = r.get_ref().shutdown(Shutdown::Both);
                        Err(e.classify(timeout))
                    }
                    answer => answer,
                };
                results.push(answer);
            }
            (writer.join(), (results, broken))
        });
        if broken {
            self.broken = true;
        }
        match sent {
            Ok(Ok(())) => Ok(results),
            // The reader's error says more than the writer's (which follows from it).
            Ok(Err(_)) if broken => Ok(results),
            Ok(Err(source)) => {
                self.broken = true;
                Err(StoreError::Io { during, source }.classify(timeout))
            }
            Err(_) => {
                self.broken = true;
                Err(StoreError::Io {
                    during,
                    source: io::Error::other("the writing thread panicked"),
                })
            }
        }
    }
}

/// Writes every `AddToStore` request of a batch.
fn send_adds(w: &mut BufWriter<UnixStream>, requests: &[AddRequest<'_>]) -> io::Result<()> {
    for req in requests {
        wire::write_u64(w, op::ADD_TO_STORE)?;
        wire::write_bytes(w, req.name.as_bytes())?;
        wire::write_bytes(w, req.method.as_bytes())?;
        wire::write_strings(w, req.references.iter().map(String::as_str))?;
        wire::write_u64(w, 0)?; // repair
        let mut framed = FramedWriter::new(w);
        framed.write_all(req.data)?;
        framed.finish()?;
    }
    w.flush()
}

/// Reads log messages until the end of the daemon's work (`Ok`) or its error; `during` names
/// the request in errors.
fn process_stderr(r: &mut impl Read, version: u64, during: &'static str) -> Result<(), StoreError> {
    loop {
        let msg = wire::read_u64(r).map_err(io_err(during))?;
        match msg {
            STDERR_LAST => return Ok(()),
            STDERR_ERROR => return Err(read_error(r, version, during)?),
            STDERR_NEXT => {
                let line = wire::read_string(r).map_err(io_err(during))?;
                eprintln!("{}", line.trim_end());
            }
            STDERR_START_ACTIVITY => {
                wire::read_u64(r).map_err(io_err(during))?; // id
                wire::read_u64(r).map_err(io_err(during))?; // level
                wire::read_u64(r).map_err(io_err(during))?; // type
                wire::read_bytes(r).map_err(io_err(during))?; // text
                skip_fields(r, during)?;
                wire::read_u64(r).map_err(io_err(during))?; // parent
            }
            STDERR_STOP_ACTIVITY => {
                wire::read_u64(r).map_err(io_err(during))?;
            }
            STDERR_RESULT => {
                wire::read_u64(r).map_err(io_err(during))?; // id
                wire::read_u64(r).map_err(io_err(during))?; // type
                skip_fields(r, during)?;
            }
            STDERR_READ => return Err(StoreError::UnexpectedRead("STDERR_READ")),
            STDERR_WRITE => return Err(StoreError::UnexpectedRead("STDERR_WRITE")),
            other => return Err(StoreError::UnknownMessage(other)),
        }
    }
}

fn skip_fields(r: &mut impl Read, during: &'static str) -> Result<(), StoreError> {
    let n = wire::read_u64(r).map_err(io_err(during))?;
    for _ in 0..n {
        match wire::read_u64(r).map_err(io_err(during))? {
            0 => {
                wire::read_u64(r).map_err(io_err(during))?;
            }
            1 => {
                wire::read_bytes(r).map_err(io_err(during))?;
            }
            t => {
                return Err(StoreError::Malformed {
                    during,
                    detail: format!("a log message field of unknown type {t}"),
                })
            }
        }
    }
    Ok(())
}

/// The error after `STDERR_ERROR`. Every trace line is read, so the next answer starts where
/// it should.
fn read_error(
    r: &mut impl Read,
    version: u64,
    during: &'static str,
) -> Result<StoreError, StoreError> {
    if version & 0xff < 26 {
        let message = wire::read_string(r).map_err(io_err(during))?;
        wire::read_u64(r).map_err(io_err(during))?; // exit status
        return Ok(StoreError::Daemon {
            message,
            traces: Vec::new(),
        });
    }
    wire::read_bytes(r).map_err(io_err(during))?; // "Error"
    wire::read_u64(r).map_err(io_err(during))?; // level
    wire::read_bytes(r).map_err(io_err(during))?; // name (unused)
    let message = wire::read_string(r).map_err(io_err(during))?;
    wire::read_u64(r).map_err(io_err(during))?; // position (always 0)
    let n = wire::read_u64(r).map_err(io_err(during))?;
    if n > MAX_TRACES {
        return Err(StoreError::Malformed {
            during,
            detail: format!("an error with {n} trace lines (at most {MAX_TRACES}): {message}"),
        });
    }
    let mut traces = Vec::with_capacity(n as usize);
    for _ in 0..n {
        wire::read_u64(r).map_err(io_err(during))?; // position (always 0)
        traces.push(wire::read_string(r).map_err(io_err(during))?);
    }
    Ok(StoreError::Daemon { message, traces })
}

fn read_path_info(r: &mut impl Read, version: u64) -> io::Result<PathInfo> {
    let path = wire::read_string(r)?;
    let deriver = Some(wire::read_string(r)?).filter(|d| !d.is_empty());
    let nar_hash = wire::read_string(r)?;
    let references = wire::read_strings(r)?.into_iter().collect();
    wire::read_u64(r)?; // registration time
    let nar_size = wire::read_u64(r)?;
    let mut ca = None;
    if version & 0xff >= 16 {
        wire::read_u64(r)?; // ultimate
        wire::read_strings(r)?; // signatures
        ca = Some(wire::read_string(r)?).filter(|c| !c.is_empty());
    }
    Ok(PathInfo {
        path,
        deriver,
        nar_hash,
        references,
        nar_size,
        ca,
    })
}
