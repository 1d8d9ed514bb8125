//! NAR (Nix ARchive) serialization of a file tree, and the store path `nix store add` gives it.
//!
//! A NAR is a sequence of strings, each an 8-byte little-endian length, the bytes, and zero
//! padding to a multiple of 8:
//!
//! ```text
//! nar       = "nix-archive-1" node
//! node      = "(" "type" ( regular | symlink | directory ) ")"
//! regular   = "regular" [ "executable" "" ] "contents" <file bytes>
//! symlink   = "symlink" "target" <target>
//! directory = "directory" { "entry" "(" "name" <name> "node" node ")" }   (entries sorted by name bytes)
//! ```
//!
//! Only the owner-execute bit, symlink targets and contents are recorded: no times, owners or other
//! permissions. The sha256 of the NAR is what `nix-hash --type sha256 --base32 DIR` prints and what
//! makes a source path ([`source_path`]).

use std::collections::BTreeSet;
use std::fs;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::store_path::{make_source_path, StoreDir, StorePath, StorePathError};

fn write_str(out: &mut impl Write, s: &[u8]) -> io::Result<()> {
    out.write_all(&(s.len() as u64).to_le_bytes())?;
    out.write_all(s)?;
    let pad = (8 - s.len() % 8) % 8;
    out.write_all(&[0u8; 8][..pad])
}

/// Write the NAR of the file, symlink or directory at `path` (not following a top-level
/// symlink). Fails on other file types (sockets, devices).
pub fn write_nar(path: &Path, out: &mut impl Write) -> io::Result<()> {
    write_str(out, b"nix-archive-1")?;
    write_node(path, out)
}

fn write_node(path: &Path, out: &mut impl Write) -> io::Result<()> {
    let meta = fs::symlink_metadata(path)?;
    write_str(out, b"(")?;
    write_str(out, b"type")?;
    let ft = meta.file_type();
    if ft.is_file() {
        write_str(out, b"regular")?;
        if meta.permissions().mode() & 0o100 != 0 {
            write_str(out, b"executable")?;
            write_str(out, b"")?;
        }
        write_str(out, b"contents")?;
        write_str(out, &fs::read(path)?)?;
    } else if ft.is_symlink() {
        write_str(out, b"symlink")?;
        write_str(out, b"target")?;
        write_str(out, fs::read_link(path)?.as_os_str().as_bytes())?;
    } else if ft.is_dir() {
        write_str(out, b"directory")?;
        let mut names = BTreeSet::new();
        for entry in fs::read_dir(path)? {
            names.insert(entry?.file_name());
        }
        for name in names {
            write_str(out, b"entry")?;
            write_str(out, b"(")?;
            write_str(out, b"name")?;
            write_str(out, name.as_bytes())?;
            write_str(out, b"node")?;
            write_node(&path.join(&name), out)?;
            write_str(out, b")")?;
        }
    } else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{}: not a regular file, symlink or directory",
                path.display()
            ),
        ));
    }
    write_str(out, b")")
}

/// A [`Write`] that only hashes.
struct HashWriter(Sha256);

impl Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The sha256 of the NAR of `path`, computed without holding the NAR in memory.
pub fn nar_sha256(path: &Path) -> io::Result<[u8; 32]> {
    let mut w = HashWriter(Sha256::new());
    write_nar(path, &mut w)?;
    Ok(w.0.finalize().into())
}

/// Why [`source_path`] failed.
#[derive(Debug, thiserror::Error)]
pub enum SourcePathError {
    #[error("reading {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    StorePath(#[from] StorePathError),
}

/// The store path `nix store add --name NAME PATH` (NAR method, sha256, no references) would give
/// `path`; `name` is usually the last component of `path`.
pub fn source_path(
    store_dir: &StoreDir,
    path: &Path,
    name: &str,
) -> Result<StorePath, SourcePathError> {
    let hash = nar_sha256(path).map_err(|source| SourcePathError::Io {
        path: path.display().to_string(),
        source,
    })?;
    Ok(make_source_path(store_dir, name, &hash, &BTreeSet::new())?)
}
