//! `godrv skeleton SRC OUT`: a copy of a source tree holding what `go build -n` reads of it and
//! nothing else, so that the plan made from it is the plan of the tree and an edit that changes
//! no such thing leaves it unchanged (nix/internal/skeleton.nix: the plan derivation runs on it
//! and Nix's early cutoff finds it built).
//!
//! The copy has the same names, the same modes (executable or not) and the same symbolic links
//! (their targets unchanged). Every non-test `.go` file is cut to its header and its
//! `//go:embed` comments (`crate::go_header`: the package clause, imports, build constraints,
//! directives, cgo preamble; what go/build reads). Everything else is kept whole: `_test.go`
//! files (`go test` generates its test main from their declarations), `go.mod`, `go.sum`,
//! `go.work`, `vendor/modules.txt`, assembly, C and header files (their build constraints),
//! embedded files and any other file, and a `.go` file the header lexer does not lex (never a
//! skeleton go could read differently).
//!
//! The output is **one file**, the NAR of that tree (`godrv_derivation::nar::write_nar`), not the
//! tree: Nix registers a content-addressed output with work per file (canonicalising each,
//! NAR-hashing the tree, rewriting it), which on a large source (rclone: 1,344 files) cost
//! more than making the skeleton, on every edit. The one reader, the `unpinned` planner, unpacks
//! it into its scratch directory (`godrv plan`: a `src` that is a regular file is such a NAR).

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::go_header::{self, NotLexed};

/// What [`make_skeleton`] did.
#[derive(Debug, Default)]
pub struct Summary {
    /// Non-test `.go` files cut to their skeleton.
    pub cut: usize,
    /// Their bytes before and after.
    pub bytes_before: u64,
    pub bytes_after: u64,
    /// Other files, copied whole.
    pub whole: usize,
    /// Non-test `.go` files the header lexer did not lex, copied whole.
    pub not_lexed: Vec<(PathBuf, NotLexed)>,
}

/// Writes the NAR of the skeleton of the tree `src` to the file `out`, which must not exist
/// (the tree itself is made in a scratch directory, then archived).
pub fn make_skeleton(src: &Path, out: &Path) -> Result<Summary> {
    let meta =
        std::fs::metadata(src).with_context(|| format!("reading the source {}", src.display()))?;
    if !meta.is_dir() {
        bail!("the source {} is not a directory", src.display());
    }
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(out)
        .with_context(|| format!("creating {}", out.display()))?;
    let scratch = crate::fs::scratch_dir()?;
    let tree = scratch.path().join("skeleton");
    let mut summary = Summary::default();
    copy_dir(src, &tree, Path::new(""), &mut summary)?;
    let mut writer = std::io::BufWriter::new(file);
    godrv_derivation::nar::write_nar(&tree, &mut writer)
        .and_then(|()| writer.flush())
        .with_context(|| format!("writing the skeleton's NAR to {}", out.display()))?;
    Ok(summary)
}

/// Whether `name` is a file go reads only the header of: `.go`, not `_test.go`.
fn is_go_source(name: &str) -> bool {
    name.ends_with(".go") && !name.ends_with("_test.go")
}

fn copy_dir(src: &Path, out: &Path, rel: &Path, summary: &mut Summary) -> Result<()> {
    std::fs::create_dir(out).with_context(|| format!("creating {}", out.display()))?;
    for entry in crate::fs::read_dir(src)? {
        let name = entry.file_name().expect("a directory entry has a name");
        let dest = out.join(name);
        let rel = rel.join(name);
        let meta = std::fs::symlink_metadata(&entry)
            .with_context(|| format!("reading {}", entry.display()))?;
        let kind = meta.file_type();
        if kind.is_symlink() {
            let target = std::fs::read_link(&entry)
                .with_context(|| format!("reading the link {}", entry.display()))?;
            std::os::unix::fs::symlink(&target, &dest)
                .with_context(|| format!("creating the link {}", dest.display()))?;
        } else if kind.is_dir() {
            copy_dir(&entry, &dest, &rel, summary)?;
        } else if kind.is_file() {
            let text =
                std::fs::read(&entry).with_context(|| format!("reading {}", entry.display()))?;
            let contents = if name.to_str().is_some_and(is_go_source) {
                match go_header::skeleton(&text) {
                    Ok(cut) => {
                        summary.cut += 1;
                        summary.bytes_before += text.len() as u64;
                        summary.bytes_after += cut.len() as u64;
                        cut
                    }
                    Err(why) => {
                        summary.not_lexed.push((rel, why));
                        text
                    }
                }
            } else {
                summary.whole += 1;
                text
            };
            std::fs::write(&dest, contents)
                .with_context(|| format!("writing {}", dest.display()))?;
            let mode = if meta.permissions().mode() & 0o111 != 0 {
                0o755
            } else {
                0o644
            };
            std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(mode))
                .with_context(|| format!("setting the mode of {}", dest.display()))?;
        } else {
            bail!(
                "{} is neither a file, a directory nor a symbolic link: a source tree in the Nix store cannot hold it",
                entry.display()
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str, text: &str) {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn read(root: &Path, rel: &str) -> String {
        std::fs::read_to_string(root.join(rel)).unwrap()
    }

    #[test]
    fn the_tree_keeps_its_names_modes_and_links() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        let body = "package p\n\nimport \"fmt\"\n\nfunc F() { fmt.Println() }\n";
        write(&src, "go.mod", "module example.com/m\n\ngo 1.22\n");
        write(&src, "p/p.go", body);
        write(
            &src,
            "p/p_test.go",
            "package p\n\nimport \"testing\"\n\nfunc TestF(t *testing.T) { F() }\n",
        );
        write(
            &src,
            "p/asm_amd64.s",
            "//go:build amd64\n\nTEXT ·f(SB),0,$0\n\tRET\n",
        );
        write(&src, "p/broken.go", "not go at all\n");
        write(&src, "p/testdata/data.txt", "data\n");
        write(&src, "tool.sh", "#!/bin/sh\n");
        std::fs::set_permissions(src.join("tool.sh"), std::fs::Permissions::from_mode(0o755))
            .unwrap();
        std::os::unix::fs::symlink("p/p.go", src.join("link.go")).unwrap();
        std::fs::create_dir(src.join("empty")).unwrap();

        let nar = dir.path().join("skeleton.nar");
        let summary = make_skeleton(&src, &nar).unwrap();
        assert!(std::fs::metadata(&nar).unwrap().is_file());
        let out = dir.path().join("out");
        godrv_derivation::nar::unpack_nar(&nar, &out).unwrap();

        assert_eq!(read(&out, "p/p.go"), "package p\n\nimport \"fmt\"\n\n\n");
        for whole in [
            "go.mod",
            "p/p_test.go",
            "p/asm_amd64.s",
            "p/broken.go",
            "p/testdata/data.txt",
            "tool.sh",
        ] {
            assert_eq!(read(&out, whole), read(&src, whole), "{whole}");
        }
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o111;
        assert_ne!(mode(&out.join("tool.sh")), 0);
        assert_eq!(mode(&out.join("go.mod")), 0);
        assert_eq!(
            std::fs::read_link(out.join("link.go")).unwrap(),
            Path::new("p/p.go")
        );
        assert!(out.join("empty").is_dir());
        assert_eq!(summary.cut, 1);
        assert_eq!(summary.whole, 5);
        assert_eq!(summary.not_lexed.len(), 1);
        assert_eq!(summary.not_lexed[0].0, Path::new("p/broken.go"));
        assert_eq!(summary.bytes_before, body.len() as u64);
    }

    #[test]
    fn an_existing_output_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "src/a.go", "package a\n");
        std::fs::write(dir.path().join("out"), "").unwrap();
        let err = make_skeleton(&dir.path().join("src"), &dir.path().join("out")).unwrap_err();
        assert!(format!("{err:#}").contains("creating"), "{err:#}");
    }
}
