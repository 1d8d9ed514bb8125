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
//! makes a source path ([`source_path`]). [`unpack_nar`] reads one back into a directory, refusing
//! what Nix refuses (bad names, unsorted or duplicate entries, non-zero padding, trailing bytes).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{self, BufReader, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
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

/// Why [`unpack_nar`] failed: the NAR file, where in it (the entry's path, `.` for the top) and
/// what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("unpacking the NAR {nar} at {at}: {what}")]
pub struct UnpackError {
    pub nar: String,
    pub at: String,
    pub what: String,
}

/// The longest name, symlink target or keyword [`unpack_nar`] reads (file contents have no limit).
const MAX_STRING: u64 = 4096;
/// The deepest directory nesting [`unpack_nar`] follows.
const MAX_DEPTH: usize = 1024;

struct Unpacker<R> {
    input: R,
    nar: String,
}

impl<R: Read> Unpacker<R> {
    fn fail(&self, at: &Path, what: impl Into<String>) -> UnpackError {
        UnpackError {
            nar: self.nar.clone(),
            at: at.display().to_string(),
            what: what.into(),
        }
    }

    fn read_exact(&mut self, at: &Path, buf: &mut [u8]) -> Result<(), UnpackError> {
        self.input.read_exact(buf).map_err(|e| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                self.fail(at, "the archive ends early (truncated)")
            } else {
                self.fail(at, format!("reading: {e}"))
            }
        })
    }

    fn read_len(&mut self, at: &Path) -> Result<u64, UnpackError> {
        let mut len = [0u8; 8];
        self.read_exact(at, &mut len)?;
        Ok(u64::from_le_bytes(len))
    }

    fn read_padding(&mut self, at: &Path, len: u64) -> Result<(), UnpackError> {
        let mut pad = [0u8; 8];
        let n = ((8 - len % 8) % 8) as usize;
        self.read_exact(at, &mut pad[..n])?;
        if pad[..n].iter().any(|&b| b != 0) {
            return Err(self.fail(at, "non-zero padding after a string"));
        }
        Ok(())
    }

    /// A short string: a keyword, a name or a symlink target.
    fn read_string(&mut self, at: &Path) -> Result<Vec<u8>, UnpackError> {
        let len = self.read_len(at)?;
        if len > MAX_STRING {
            return Err(self.fail(
                at,
                format!("a string of {len} bytes where at most {MAX_STRING} are allowed"),
            ));
        }
        let mut s = vec![0u8; len as usize];
        self.read_exact(at, &mut s)?;
        self.read_padding(at, len)?;
        Ok(s)
    }

    fn expect(&mut self, at: &Path, want: &str) -> Result<(), UnpackError> {
        let got = self.read_string(at)?;
        if got != want.as_bytes() {
            return Err(self.fail(
                at,
                format!(
                    "expected {want:?}, found {:?}",
                    String::from_utf8_lossy(&got)
                ),
            ));
        }
        Ok(())
    }

    /// The node `(` … `)` at `dest` (`at` its path in the archive), which must not exist.
    fn node(&mut self, dest: &Path, at: &Path, depth: usize) -> Result<(), UnpackError> {
        if depth > MAX_DEPTH {
            return Err(self.fail(at, format!("directories nested deeper than {MAX_DEPTH}")));
        }
        let create =
            |this: &Self, e: io::Error| this.fail(at, format!("creating {}: {e}", dest.display()));
        self.expect(at, "(")?;
        self.expect(at, "type")?;
        let kind = self.read_string(at)?;
        match kind.as_slice() {
            b"regular" => {
                let mut tag = self.read_string(at)?;
                let executable = tag == b"executable";
                if executable {
                    self.expect(at, "")?;
                    tag = self.read_string(at)?;
                }
                if tag != b"contents" {
                    return Err(self.fail(
                        at,
                        format!(
                            "expected \"contents\", found {:?}",
                            String::from_utf8_lossy(&tag)
                        ),
                    ));
                }
                let len = self.read_len(at)?;
                let mut file = fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(if executable { 0o755 } else { 0o644 })
                    .open(dest)
                    .map_err(|e| create(self, e))?;
                let copied = io::copy(&mut (&mut self.input).take(len), &mut file)
                    .map_err(|e| self.fail(at, format!("writing {}: {e}", dest.display())))?;
                if copied != len {
                    return Err(self.fail(at, "the archive ends early (truncated)"));
                }
                self.read_padding(at, len)?;
            }
            b"symlink" => {
                self.expect(at, "target")?;
                let target = self.read_string(at)?;
                if target.is_empty() || target.contains(&0) {
                    return Err(self.fail(at, "a symlink target that is empty or holds a NUL byte"));
                }
                std::os::unix::fs::symlink(std::ffi::OsStr::from_bytes(&target), dest)
                    .map_err(|e| create(self, e))?;
            }
            b"directory" => {
                fs::create_dir(dest).map_err(|e| create(self, e))?;
                let mut previous: Option<Vec<u8>> = None;
                loop {
                    let tag = self.read_string(at)?;
                    match tag.as_slice() {
                        b")" => return Ok(()),
                        b"entry" => {}
                        other => {
                            return Err(self.fail(
                                at,
                                format!(
                                    "expected \"entry\" or \")\", found {:?}",
                                    String::from_utf8_lossy(other)
                                ),
                            ))
                        }
                    }
                    self.expect(at, "(")?;
                    self.expect(at, "name")?;
                    let name = self.read_string(at)?;
                    let shown = String::from_utf8_lossy(&name).into_owned();
                    if name.is_empty()
                        || name == b"."
                        || name == b".."
                        || name.contains(&b'/')
                        || name.contains(&0)
                    {
                        return Err(self.fail(
                            at,
                            format!(
                                "the entry name {shown:?} is empty, `.`, `..` or holds `/` or NUL"
                            ),
                        ));
                    }
                    if let Some(prev) = &previous {
                        if name <= *prev {
                            return Err(self.fail(
                                at,
                                format!(
                                    "the entry {shown:?} comes after {:?}: entries must be sorted and unique",
                                    String::from_utf8_lossy(prev)
                                ),
                            ));
                        }
                    }
                    let os_name = std::ffi::OsStr::from_bytes(&name);
                    let sub_at = at.join(os_name);
                    self.expect(&sub_at, "node")?;
                    self.node(&dest.join(os_name), &sub_at, depth + 1)?;
                    self.expect(&sub_at, ")")?;
                    previous = Some(name);
                }
            }
            other => {
                return Err(self.fail(
                    at,
                    format!(
                        "unknown node type {:?} (not regular, symlink or directory)",
                        String::from_utf8_lossy(other)
                    ),
                ))
            }
        }
        self.expect(at, ")")
    }
}

/// Unpacks the NAR file `nar` to `dest`, which must not exist: a directory, regular file (mode
/// 0644, or 0755 if executable) or symlink as the archive's top node is. Refuses a malformed
/// archive with an [`UnpackError`] naming `nar`, the entry and what is wrong; never writes
/// outside `dest` (every name is one new component; nothing existing is followed or
/// overwritten). On an error, what was unpacked so far stays in `dest`.
pub fn unpack_nar(nar: &Path, dest: &Path) -> Result<(), UnpackError> {
    let shown = nar.display().to_string();
    let file = fs::File::open(nar).map_err(|e| UnpackError {
        nar: shown.clone(),
        at: ".".into(),
        what: format!("opening: {e}"),
    })?;
    let mut u = Unpacker {
        input: BufReader::new(file),
        nar: shown,
    };
    let top = Path::new(".");
    let magic = u.read_string(top).map_err(|mut e| {
        e.what = format!("not a NAR ({})", e.what);
        e
    })?;
    if magic != b"nix-archive-1" {
        return Err(u.fail(top, "not a NAR: it does not start with \"nix-archive-1\""));
    }
    u.node(dest, top, 0)?;
    let mut rest = [0u8; 1];
    match u.input.read(&mut rest) {
        Ok(0) => Ok(()),
        Ok(_) => Err(u.fail(top, "bytes after the archive's end")),
        Err(e) => Err(u.fail(top, format!("reading: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A NAR made of `strings` (each written as NAR strings are).
    fn nar_of(dir: &Path, strings: &[&[u8]]) -> PathBuf {
        let mut bytes = Vec::new();
        for s in strings {
            write_str(&mut bytes, s).unwrap();
        }
        let path = dir.join("test.nar");
        fs::write(&path, bytes).unwrap();
        path
    }

    /// A directory NAR whose entries are regular files named `names`, in that order.
    fn dir_nar(dir: &Path, names: &[&[u8]]) -> PathBuf {
        let mut strings: Vec<&[u8]> = vec![b"nix-archive-1", b"(", b"type", b"directory"];
        for name in names {
            strings.extend_from_slice(&[
                b"entry",
                b"(",
                b"name",
                name,
                b"node",
                b"(",
                b"type",
                b"regular",
                b"contents",
                b"x",
                b")",
                b")",
            ]);
        }
        strings.push(b")");
        nar_of(dir, &strings)
    }

    fn refused(nar: &Path, dest: &Path) -> String {
        let err = unpack_nar(nar, dest).expect_err("a malformed NAR is refused");
        let text = err.to_string();
        assert!(text.contains(&nar.display().to_string()), "{text}");
        text
    }

    fn mode(path: &Path) -> u32 {
        fs::symlink_metadata(path).unwrap().permissions().mode() & 0o111
    }

    #[test]
    fn a_tree_round_trips_through_a_nar() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        fs::create_dir_all(src.join("a/b")).unwrap();
        fs::create_dir(src.join("empty")).unwrap();
        fs::write(src.join("a/b/file.go"), "package b\n").unwrap();
        fs::write(src.join("a/odd"), "1234567").unwrap();
        fs::write(src.join("zero"), "").unwrap();
        fs::write(src.join("tool.sh"), "#!/bin/sh\n").unwrap();
        fs::set_permissions(src.join("tool.sh"), fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::symlink("a/b/file.go", src.join("link")).unwrap();
        std::os::unix::fs::symlink("/elsewhere/../x", src.join("a/abs")).unwrap();
        let nar = dir.path().join("src.nar");
        write_nar(&src, &mut fs::File::create(&nar).unwrap()).unwrap();

        let out = dir.path().join("out");
        unpack_nar(&nar, &out).unwrap();
        assert_eq!(nar_sha256(&out).unwrap(), nar_sha256(&src).unwrap());
        assert_eq!(fs::read(out.join("a/b/file.go")).unwrap(), b"package b\n");
        assert_eq!(fs::read(out.join("a/odd")).unwrap(), b"1234567");
        assert_ne!(mode(&out.join("tool.sh")), 0);
        assert_eq!(mode(&out.join("a/odd")), 0);
        assert_eq!(
            fs::read_link(out.join("link")).unwrap(),
            Path::new("a/b/file.go")
        );
        assert_eq!(
            fs::read_link(out.join("a/abs")).unwrap(),
            Path::new("/elsewhere/../x")
        );
        assert!(out.join("empty").is_dir());
    }

    #[test]
    fn a_name_with_a_slash_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let nar = dir_nar(dir.path(), &[b"a/b"]);
        assert!(refused(&nar, &dir.path().join("out")).contains("\"a/b\""));
        assert!(!dir.path().join("out/a").exists());
    }

    #[test]
    fn a_dot_name_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let nar = dir_nar(dir.path(), &[b"."]);
        assert!(refused(&nar, &dir.path().join("out")).contains("is empty, `.`"));
    }

    #[test]
    fn a_dot_dot_name_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let nar = dir_nar(dir.path(), &[b".."]);
        assert!(refused(&nar, &dir.path().join("out")).contains("\"..\""));
    }

    #[test]
    fn an_empty_name_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let nar = dir_nar(dir.path(), &[b""]);
        assert!(refused(&nar, &dir.path().join("out")).contains("\"\" is empty"));
    }

    #[test]
    fn a_name_with_a_nul_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let nar = dir_nar(dir.path(), &[b"a\0b"]);
        assert!(refused(&nar, &dir.path().join("out")).contains("NUL"));
    }

    #[test]
    fn out_of_order_entries_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let nar = dir_nar(dir.path(), &[b"b", b"a"]);
        assert!(refused(&nar, &dir.path().join("out")).contains("\"a\" comes after \"b\""));
    }

    #[test]
    fn a_duplicate_entry_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let nar = dir_nar(dir.path(), &[b"a", b"a"]);
        assert!(refused(&nar, &dir.path().join("out")).contains("sorted and unique"));
    }

    #[test]
    fn a_truncated_archive_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let nar = dir_nar(dir.path(), &[b"a"]);
        let bytes = fs::read(&nar).unwrap();
        fs::write(&nar, &bytes[..bytes.len() - 12]).unwrap();
        assert!(refused(&nar, &dir.path().join("out")).contains("truncated"));
    }

    #[test]
    fn a_truncated_file_content_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = Vec::new();
        for s in [
            &b"nix-archive-1"[..],
            b"(",
            b"type",
            b"regular",
            b"contents",
        ] {
            write_str(&mut bytes, s).unwrap();
        }
        bytes.extend_from_slice(&100u64.to_le_bytes());
        bytes.extend_from_slice(b"short");
        let nar = dir.path().join("test.nar");
        fs::write(&nar, bytes).unwrap();
        assert!(refused(&nar, &dir.path().join("out")).contains("truncated"));
    }

    #[test]
    fn non_zero_padding_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let nar = dir_nar(dir.path(), &[b"a"]);
        let mut bytes = fs::read(&nar).unwrap();
        // "nix-archive-1" is 13 bytes: 3 bytes of padding follow it, at 8 + 13.
        bytes[8 + 13] = 1;
        fs::write(&nar, bytes).unwrap();
        assert!(refused(&nar, &dir.path().join("out")).contains("padding"));
    }

    #[test]
    fn bytes_after_the_archive_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let nar = dir_nar(dir.path(), &[b"a"]);
        let mut bytes = fs::read(&nar).unwrap();
        bytes.extend_from_slice(&[0u8; 8]);
        fs::write(&nar, bytes).unwrap();
        assert!(refused(&nar, &dir.path().join("out")).contains("after the archive's end"));
    }

    #[test]
    fn a_file_that_is_not_a_nar_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let nar = dir.path().join("test.nar");
        fs::write(&nar, "package main\n").unwrap();
        assert!(refused(&nar, &dir.path().join("out")).contains("not a NAR"));
    }

    #[test]
    fn an_unknown_node_type_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let nar = nar_of(
            dir.path(),
            &[b"nix-archive-1", b"(", b"type", b"fifo", b")"],
        );
        assert!(refused(&nar, &dir.path().join("out")).contains("unknown node type \"fifo\""));
    }

    #[test]
    fn an_existing_target_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let nar = dir_nar(dir.path(), &[b"a"]);
        fs::create_dir(dir.path().join("out")).unwrap();
        assert!(refused(&nar, &dir.path().join("out")).contains("creating"));
    }

    #[test]
    fn an_overlong_string_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = Vec::new();
        write_str(&mut bytes, b"nix-archive-1").unwrap();
        bytes.extend_from_slice(&u64::MAX.to_le_bytes());
        let nar = dir.path().join("test.nar");
        fs::write(&nar, bytes).unwrap();
        assert!(refused(&nar, &dir.path().join("out")).contains("at most 4096"));
    }
}
