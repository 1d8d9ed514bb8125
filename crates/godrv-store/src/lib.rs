//! A client of the Nix daemon protocol ("worker protocol"), the one `nix` itself speaks to
//! `nix-daemon` and, inside a recursive-Nix build, to the builder's own store socket.
//!
//! One [`Client`] is one connection: a handshake, then requests answered in order. Each request
//! is an operation code and its arguments; the daemon answers with log messages (forwarded or
//! dropped), then either `STDERR_LAST` and the result or `STDERR_ERROR` and an error, which
//! [`StoreError::Daemon`] carries with its message.
//!
//! Only the operations godrv's planner needs are here: [`Client::add_to_store`] (what
//! `nix store add` and `nix derivation add` send) and its pipelined form
//! [`Client::add_many_to_store`], [`Client::is_valid_path`] and [`Client::query_valid_paths`]. The encoding is in [`wire`]; where the socket is, in
//! [`socket_from_env`].
//!
//! Protocol version 1.37 is requested (no feature negotiation); daemons from 1.25 on (Nix 2.4)
//! are accepted.
//!
//! Faults are errors, never hangs: every read and write of the socket has a timeout
//! ([`DEFAULT_TIMEOUT`], `GODRV_STORE_TIMEOUT`: [`timeout_from_env`]) and gives
//! [`StoreError::Timeout`] naming the operation; a daemon that goes away gives
//! [`StoreError::Closed`], an answer that breaks the protocol [`StoreError::Malformed`]. After
//! such an error the connection is not used again (what the daemon reads next is unknown); an
//! error the daemon reports ([`StoreError::Daemon`]) leaves it usable.

mod client;
pub mod wire;

pub use client::{
    AddRequest, Client, PathInfo, CLIENT_VERSION, DEFAULT_TIMEOUT, MIN_DAEMON_VERSION,
};

use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// What went wrong talking to the daemon.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("connecting to the Nix daemon at {path}: {source}")]
    Connect {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("talking to the Nix daemon ({during}): {source}")]
    Io {
        during: &'static str,
        source: io::Error,
    },
    #[error("the Nix daemon sent nothing for {after:?} ({during}) and godrv gave up waiting; a daemon that is stuck (a store lock, a full disk) or very busy can cause it: set GODRV_STORE_TIMEOUT=SECONDS to wait longer, or GODRV_STORE=cli to use the `nix` command")]
    Timeout {
        during: &'static str,
        after: Duration,
    },
    #[error("the Nix daemon closed the connection ({during}: {source}); did it crash or was it stopped? Its log may say why")]
    Closed {
        during: &'static str,
        source: io::Error,
    },
    #[error("the Nix daemon's answer is malformed ({during}: {detail}); is the socket a Nix daemon of version 2.4 or later?")]
    Malformed {
        during: &'static str,
        detail: String,
    },
    #[error("the Nix daemon sent {0:#x} where the protocol has its greeting (is this a Nix daemon socket?)")]
    BadMagic(u64),
    #[error("the Nix daemon speaks protocol {}.{}; godrv needs at least {}.{}", .0 >> 8, .0 & 0xff, MIN_DAEMON_VERSION >> 8, MIN_DAEMON_VERSION & 0xff)]
    TooOld(u64),
    #[error("the Nix daemon sent unknown message {0:#x}")]
    UnknownMessage(u64),
    #[error("the Nix daemon asked for data ({0}) godrv does not send")]
    UnexpectedRead(&'static str),
    #[error("{message}")]
    Daemon {
        /// The error's message, as `nix` would print it.
        message: String,
        /// Its trace lines.
        traces: Vec<String>,
    },
    #[error("the Nix daemon added {got}, godrv computed {expected}")]
    PathMismatch { expected: String, got: String },
}

impl StoreError {
    /// Names what an I/O error means here: a timeout of the socket (`after`), the daemon gone,
    /// or an answer that does not follow the protocol.
    pub(crate) fn classify(self, after: Option<Duration>) -> StoreError {
        let StoreError::Io { during, source } = self else {
            return self;
        };
        match source.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => StoreError::Timeout {
                during,
                after: after.unwrap_or_default(),
            },
            io::ErrorKind::UnexpectedEof
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted => StoreError::Closed { during, source },
            io::ErrorKind::InvalidData => StoreError::Malformed {
                during,
                detail: source.to_string(),
            },
            _ => StoreError::Io { during, source },
        }
    }
}

/// The socket timeout from `GODRV_STORE_TIMEOUT` (whole seconds; `0` waits forever); unset or
/// empty: [`DEFAULT_TIMEOUT`].
pub fn timeout_from_env(value: Option<&str>) -> Result<Option<Duration>, String> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(Some(DEFAULT_TIMEOUT)),
        Some(v) => match v.parse::<u64>() {
            Ok(0) => Ok(None),
            Ok(secs) => Ok(Some(Duration::from_secs(secs))),
            Err(_) => Err(format!(
                "GODRV_STORE_TIMEOUT={v:?}: expected whole seconds (0: no timeout)"
            )),
        },
    }
}

/// Where the store socket is, from `NIX_REMOTE` (as Nix reads it):
///
/// * `unix://PATH` (optionally with `?params`): `PATH` — what a recursive-Nix builder gets;
/// * `daemon`: the system daemon's socket, `/nix/var/nix/daemon-socket/socket`
///   (`NIX_DAEMON_SOCKET_PATH` overrides it);
/// * unset or empty: the system daemon's socket if it exists (`nix` would use the local store
///   directly when it may write it; through the daemon the result is the same);
/// * anything else (`local`, `auto`, an SSH or HTTP store): `None`, the caller falls back to the
///   `nix` command.
pub fn socket_from_env(nix_remote: Option<&str>, daemon_socket: Option<&str>) -> Option<PathBuf> {
    let system = || {
        PathBuf::from(
            daemon_socket
                .filter(|s| !s.is_empty())
                .unwrap_or("/nix/var/nix/daemon-socket/socket"),
        )
    };
    match nix_remote.unwrap_or("") {
        "" => Some(system()).filter(|p| p.exists()),
        "daemon" | "unix" | "unix://" => Some(system()),
        remote => {
            let rest = remote.strip_prefix("unix://")?;
            let path = rest.split('?').next().unwrap_or(rest);
            (!path.is_empty()).then(|| PathBuf::from(path))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeout_from_godrv_store_timeout() {
        assert_eq!(timeout_from_env(None), Ok(Some(DEFAULT_TIMEOUT)));
        assert_eq!(timeout_from_env(Some("")), Ok(Some(DEFAULT_TIMEOUT)));
        assert_eq!(
            timeout_from_env(Some("30")),
            Ok(Some(Duration::from_secs(30)))
        );
        assert_eq!(timeout_from_env(Some("0")), Ok(None));
        assert!(timeout_from_env(Some("5m")).unwrap_err().contains("5m"));
    }

    #[test]
    fn socket_from_nix_remote() {
        assert_eq!(
            socket_from_env(Some("unix:///build/.nix-socket"), None),
            Some(PathBuf::from("/build/.nix-socket"))
        );
        assert_eq!(
            socket_from_env(Some("unix:///tmp/s?max-connections=1"), None),
            Some(PathBuf::from("/tmp/s"))
        );
        assert_eq!(
            socket_from_env(Some("daemon"), None),
            Some(PathBuf::from("/nix/var/nix/daemon-socket/socket"))
        );
        assert_eq!(
            socket_from_env(Some("daemon"), Some("/run/s")),
            Some(PathBuf::from("/run/s"))
        );
        assert_eq!(socket_from_env(Some("local"), None), None);
        assert_eq!(socket_from_env(Some("auto"), None), None);
        assert_eq!(socket_from_env(Some("ssh-ng://host"), None), None);
        // unset: the system socket only if it exists
        assert_eq!(
            socket_from_env(None, Some("/nonexistent/godrv-test/socket")),
            None
        );
    }
}
