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

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

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

/// A directory tree of selected files, as [`write_nar_of_files`] serializes it.
#[derive(Default)]
struct Tree {
    /// Entry name → file (its path on disk) or subdirectory; `BTreeMap` keeps NAR order.
    entries: BTreeMap<Vec<u8>, Entry>,
}

enum Entry {
    File(PathBuf),
    Dir(Tree),
}

/// Write the NAR of the directory that holds exactly `files` (paths relative to `root`, with `/`
/// as separator) and the directories above them: the NAR of a copy of those files made with
/// `std::fs::copy` (contents and the executable bit of what a symlink points to), without making
/// the copy. A file path with an empty, `.` or `..` component is an error, as is one that names
/// both a file and a directory.
pub fn write_nar_of_files<'a>(
    root: &Path,
    files: impl IntoIterator<Item = &'a str>,
    out: &mut impl Write,
) -> io::Result<()> {
    let mut tree = Tree::default();
    for file in files {
        let invalid = |why: &str| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("source file {file:?}: {why}"),
            )
        };
        let parts: Vec<&str> = file.split('/').collect();
        if parts
            .iter()
            .any(|p| p.is_empty() || *p == "." || *p == "..")
        {
            return Err(invalid("not a plain relative path"));
        }
        let (last, dirs) = parts.split_last().expect("split yields at least one part");
        let mut node = &mut tree;
        for dir in dirs {
            let entry = node
                .entries
                .entry(dir.as_bytes().to_vec())
                .or_insert_with(|| Entry::Dir(Tree::default()));
            node = match entry {
                Entry::Dir(sub) => sub,
                Entry::File(_) => return Err(invalid("a file is also used as a directory")),
            };
        }
        match node.entries.get(last.as_bytes()) {
            None => {
                node.entries
                    .insert(last.as_bytes().to_vec(), Entry::File(root.join(file)));
            }
            Some(Entry::File(_)) => {}
            Some(Entry::Dir(_)) => return Err(invalid("a directory is also listed as a file")),
        }
    }
    write_str(out, b"nix-archive-1")?;
    write_tree(&tree, out)
}

fn write_tree(tree: &Tree, out: &mut impl Write) -> io::Result<()> {
    write_str(out, b"(")?;
    write_str(out, b"type")?;
    write_str(out, b"directory")?;
    for (name, entry) in &tree.entries {
        write_str(out, b"entry")?;
        write_str(out, b"(")?;
        write_str(out, b"name")?;
        write_str(out, name)?;
        write_str(out, b"node")?;
        match entry {
            Entry::Dir(sub) => write_tree(sub, out)?,
            Entry::File(path) => {
                // Like fs::copy: follows symlinks, keeps the target's permission bits.
                let with_path =
                    |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", path.display()));
                let meta = fs::metadata(path).map_err(with_path)?;
                if !meta.is_file() {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("{}: not a regular file", path.display()),
                    ));
                }
                write_str(out, b"(")?;
                write_str(out, b"type")?;
                write_str(out, b"regular")?;
                if meta.permissions().mode() & 0o100 != 0 {
                    write_str(out, b"executable")?;
                    write_str(out, b"")?;
                }
                write_str(out, b"contents")?;
                write_str(out, &fs::read(path).map_err(with_path)?)?;
                write_str(out, b")")?;
            }
        }
        write_str(out, b")")?;
    }
    write_str(out, b")")
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
