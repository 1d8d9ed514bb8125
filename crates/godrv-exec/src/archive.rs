//! A structural check of the Go archives (`_pkg_.a`) an action keeps, before Nix registers them.
//!
//! A content-addressed output is registered once and reused by every later build (early cutoff),
//! so a damaged archive would poison every link that reads it. Seen once on a loaded test machine
//! (issue 15): the standard library group's outputs held runs of zeros in 64 KiB-aligned blocks
//! of some `_pkg_.a` files (at build time: the output path is the hash of the damaged content),
//! and the program's link failed later, on another machine, with `cannot find package .`. This
//! check makes the build that writes such a file fail instead, with the file named.
//!
//! What is checked: the file is an `ar` archive (magic, every member header well formed, the
//! sizes adding up to the file's length) and, in every member that is a Go object in the format
//! this check knows (`go120ld`, Go ≥ 1.20), every imported package path is non-empty and inside
//! the object. Other members and object formats are only checked at the `ar` level.

use std::fs;
use std::path::Path;

use crate::{io_err, ExecError};

/// The name go build gives a package's archive (the compiler's `-o` and `-linkobj`, `pack`'s).
pub const PKG_ARCHIVE: &str = "_pkg_.a";
const AR_MAGIC: &[u8] = b"!<arch>\n";
const HEADER_LEN: usize = 60;
const OBJ_MAGIC: &[u8] = b"\x00go120ld";

/// Fails with [`ExecError::DamagedArchive`] if `file` is not a well-formed Go archive.
pub fn check(file: &Path) -> Result<(), ExecError> {
    let data = fs::read(file).map_err(io_err("reading", file))?;
    problem(&data).map_or(Ok(()), |problem| {
        Err(ExecError::DamagedArchive {
            file: file.to_path_buf(),
            problem,
        })
    })
}

/// What is wrong with the archive `data`, if anything.
fn problem(data: &[u8]) -> Option<String> {
    if !data.starts_with(AR_MAGIC) {
        return Some("it does not start with the ar magic `!<arch>`".into());
    }
    let mut at = AR_MAGIC.len();
    while at < data.len() {
        let Some(header) = data.get(at..at + HEADER_LEN) else {
            return Some(format!("the member header at byte {at} is cut off"));
        };
        if &header[58..60] != b"`\n" {
            return Some(format!("the member header at byte {at} is not well formed"));
        }
        let size = std::str::from_utf8(&header[48..58])
            .ok()
            .and_then(|s| s.trim().parse::<usize>().ok());
        let Some(size) = size else {
            return Some(format!("the member header at byte {at} has no size"));
        };
        let start = at + HEADER_LEN;
        let Some(member) = data.get(start..start + size) else {
            return Some(format!("the member at byte {at} runs past the end"));
        };
        if let Some(problem) = object_problem(member) {
            return Some(format!("the member at byte {at}: {problem}"));
        }
        at = start + size + (size & 1);
    }
    None
}

/// What is wrong with a Go object member (`go object …\n!\n` then the object), if anything.
fn object_problem(member: &[u8]) -> Option<String> {
    if !member.starts_with(b"go object ") {
        return None;
    }
    let body = member.windows(3).position(|w| w == b"\n!\n")? + 3;
    let obj = &member[body..];
    if !obj.starts_with(OBJ_MAGIC) {
        return None; // another object format: checked at the ar level only
    }
    let word = |at: usize| -> Option<usize> {
        let bytes = obj.get(at..at + 4)?;
        Some(u32::from_le_bytes(bytes.try_into().ok()?) as usize)
    };
    // Header: magic (8), fingerprint (8), flags (4), then the block offsets; block 0 is the
    // imported packages, 16 bytes each (name length, name offset, fingerprint).
    let (Some(first), Some(second)) = (word(20), word(24)) else {
        return Some("the object header is cut off".into());
    };
    if first == 0 || first > second || second > obj.len() {
        return Some("the object's block offsets are out of order".into());
    }
    for (i, entry) in (first..second).step_by(16).enumerate() {
        let (Some(len), Some(off)) = (word(entry), word(entry + 4)) else {
            return Some("the object's import list is cut off".into());
        };
        if len == 0 || off + len > obj.len() {
            return Some(format!(
                "the object's import {i} has an empty or outside name"
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An archive of one Go object importing `names`.
    fn archive(names: &[&str]) -> Vec<u8> {
        let mut obj = OBJ_MAGIC.to_vec();
        obj.extend([0; 12]); // fingerprint, flags
        let first = 28 + 4; // after two block offsets and a third
        let strings = first + 16 * names.len();
        for off in [first, strings, strings] {
            obj.extend((off as u32).to_le_bytes());
        }
        let mut at = strings;
        for name in names {
            obj.extend((name.len() as u32).to_le_bytes());
            obj.extend((at as u32).to_le_bytes());
            obj.extend([0; 8]);
            at += name.len();
        }
        for name in names {
            obj.extend(name.as_bytes());
        }
        let mut member = b"go object linux amd64 go1.27\n!\n".to_vec();
        member.extend(obj);
        let mut data = AR_MAGIC.to_vec();
        data.extend(format!("{:<48}{:<10}`\n", "_go_.o", member.len()).as_bytes());
        data.extend(&member);
        if member.len() % 2 == 1 {
            data.push(b'\n');
        }
        data
    }

    #[test]
    fn a_well_formed_archive_passes() {
        assert_eq!(problem(&archive(&["fmt", "runtime"])), None);
    }

    #[test]
    fn an_archive_zeroed_at_the_start_is_damaged() {
        let mut data = archive(&["fmt"]);
        data[..16].fill(0);
        assert!(problem(&data).unwrap().contains("ar magic"));
    }

    #[test]
    fn an_archive_whose_import_names_are_zeroed_is_damaged() {
        // The std group's sync/_pkg_.a of the failed 2-builder run: the import list intact,
        // its names' lengths zeroed (the linker then says `cannot find package .`).
        let mut data = archive(&["sync/atomic", "runtime"]);
        let obj = data.windows(8).position(|w| w == OBJ_MAGIC).unwrap();
        let list = obj + 32;
        data[list..list + 4].fill(0);
        assert!(problem(&data).unwrap().contains("import 0"), "{data:?}");
    }

    #[test]
    fn a_cut_off_archive_is_damaged() {
        let data = archive(&["fmt"]);
        assert!(problem(&data[..data.len() - 5]).is_some());
    }
}
