//! The connection: handshake, the log/error loop every answer starts with, and the operations.

use std::collections::BTreeSet;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;

use crate::wire::{self, FramedWriter};
use crate::StoreError;

pub const WORKER_MAGIC_1: u64 = 0x6e69_7863;
pub const WORKER_MAGIC_2: u64 = 0x6478_696f;
/// The protocol version godrv asks for (1.37: before feature negotiation).
pub const CLIENT_VERSION: u64 = 1 << 8 | 37;
/// The oldest daemon godrv talks to (1.25: `AddToStore` with a content-address method).
pub const MIN_DAEMON_VERSION: u64 = 1 << 8 | 25;

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
}

fn io_err(during: &'static str) -> impl FnOnce(io::Error) -> StoreError {
    move |source| StoreError::Io { during, source }
}

impl Client {
    /// Connects to the socket at `path` and shakes hands.
    pub fn connect(path: &Path) -> Result<Client, StoreError> {
        let stream = UnixStream::connect(path).map_err(|source| StoreError::Connect {
            path: path.to_path_buf(),
            source,
        })?;
        Client::handshake(stream)
    }

    /// Shakes hands over an open stream.
    pub fn handshake(stream: UnixStream) -> Result<Client, StoreError> {
        let reader = stream.try_clone().map_err(io_err("handshake"))?;
        let mut c = Client {
            r: BufReader::new(reader),
            w: BufWriter::new(stream),
            version: 0,
            daemon_nix_version: None,
            broken: false,
        };
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
        c.process_stderr()?;
        Ok(c)
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

    fn process_stderr(&mut self) -> Result<(), StoreError> {
        process_stderr(&mut self.r, self.version)
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

    /// Sends what is buffered and reads the answer's log messages; a failure leaves the
    /// connection broken unless the daemon reported an error cleanly.
    fn finish_request(&mut self, during: &'static str) -> Result<(), StoreError> {
        if let Err(e) = self.w.flush() {
            self.broken = true;
            return Err(StoreError::Io { during, source: e });
        }
        match self.process_stderr() {
            Ok(()) => Ok(()),
            Err(e @ StoreError::Daemon { .. }) => Err(e),
            Err(e) => {
                self.broken = true;
                Err(e)
            }
        }
    }

    /// `IsValidPath`: whether `path` (absolute) is valid. Inside a recursive-Nix build only the
    /// build's inputs and the paths added during it are.
    pub fn is_valid_path(&mut self, path: &str) -> Result<bool, StoreError> {
        self.check_usable()?;
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
        self.check_usable()?;
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
        self.check_usable()?;
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
        if let Err(source) = sent {
            self.broken = true;
            return Err(StoreError::Io { during, source });
        }
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
        let version = self.version;
        let (w, r) = (&mut self.w, &mut self.r);
        let (sent, results) = std::thread::scope(|scope| {
            let writer = scope.spawn(move || -> io::Result<()> {
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
                let answer = match process_stderr(r, version) {
                    Ok(()) => read_path_info(r, version).map_err(io_err(during)),
                    Err(e) => Err(e),
                };
                if matches!(&answer, Err(e) if !matches!(e, StoreError::Daemon { .. })) {
                    broken = true;
                }
                results.push(answer);
            }
            (writer.join(), (results, broken))
        });
        let (results, broken) = results;
        match sent {
            Ok(Ok(())) if !broken => Ok(results),
            Ok(Ok(())) => {
                self.broken = true;
                Ok(results)
            }
            Ok(Err(source)) => {
                self.broken = true;
                Err(StoreError::Io { during, source })
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

/// Reads log messages until the end of the daemon's work (`Ok`) or its error.
fn process_stderr(r: &mut impl Read, version: u64) -> Result<(), StoreError> {
    let during = "reading the daemon's messages";
    loop {
        let msg = wire::read_u64(r).map_err(io_err(during))?;
        match msg {
            STDERR_LAST => return Ok(()),
            STDERR_ERROR => return Err(read_error(r, version)?),
            STDERR_NEXT => {
                let line = wire::read_string(r).map_err(io_err(during))?;
                eprintln!("{}", line.trim_end());
            }
            STDERR_START_ACTIVITY => {
                wire::read_u64(r).map_err(io_err(during))?; // id
                wire::read_u64(r).map_err(io_err(during))?; // level
                wire::read_u64(r).map_err(io_err(during))?; // type
                wire::read_bytes(r).map_err(io_err(during))?; // text
                skip_fields(r)?;
                wire::read_u64(r).map_err(io_err(during))?; // parent
            }
            STDERR_STOP_ACTIVITY => {
                wire::read_u64(r).map_err(io_err(during))?;
            }
            STDERR_RESULT => {
                wire::read_u64(r).map_err(io_err(during))?; // id
                wire::read_u64(r).map_err(io_err(during))?; // type
                skip_fields(r)?;
            }
            STDERR_READ => return Err(StoreError::UnexpectedRead("STDERR_READ")),
            STDERR_WRITE => return Err(StoreError::UnexpectedRead("STDERR_WRITE")),
            other => return Err(StoreError::UnknownMessage(other)),
        }
    }
}

fn skip_fields(r: &mut impl Read) -> Result<(), StoreError> {
    let during = "reading a log message";
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
                return Err(StoreError::Io {
                    during,
                    source: io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("unknown field type {t}"),
                    ),
                })
            }
        }
    }
    Ok(())
}

/// The error after `STDERR_ERROR`.
fn read_error(r: &mut impl Read, version: u64) -> Result<StoreError, StoreError> {
    let during = "reading the daemon's error";
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
    let mut traces = Vec::new();
    for _ in 0..n.min(1024) {
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
