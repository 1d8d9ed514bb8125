//! The user's module files are never written.
//!
//! `go mod download` adds lines to `go.sum` (or `go.work.sum`) when it finds some missing, even
//! with `-mod=readonly`, and with `-mod=mod` it may rewrite `go.mod`. godrv runs it on private
//! copies instead: in a module, `-modfile=<scratch>/go.mod` (go then reads and writes
//! `<scratch>/go.sum`; the module root stays the user's directory, so relative `replace` paths
//! still resolve); in a workspace, `GOWORK=<scratch>/go.work` (go then writes
//! `<scratch>/go.work.sum`), a copy of the user's go.work whose `use` and directory `replace`
//! paths are made absolute. Afterwards [`PrivateModFiles::check_unchanged`] compares the copies
//! with the user's files: anything go added or changed is an error naming it, since the user's
//! files lack what go needs and fixing them is the user's call.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::lockfile::GoModJson;

/// Private copies of the module files go may write, for one `go` command in one directory.
pub struct PrivateModFiles {
    kind: Kind,
}

enum Kind {
    /// A module: the user's `go.mod` and `go.sum` in `root`, copied to `copy` (`go.mod`) and
    /// `copy`'s `go.sum`.
    Module { root: PathBuf, copy: PathBuf },
    /// A workspace: the user's `go.work` (and `go.work.sum` next to it), copied to `copy` with
    /// absolute paths; `written` is the copy as godrv wrote it.
    Workspace {
        gowork: PathBuf,
        copy: PathBuf,
        written: Vec<u8>,
    },
}

impl PrivateModFiles {
    /// Copies the module files of the module or workspace go uses in `dir` (it says which:
    /// `go env GOMOD GOWORK`) into `scratch`. `go` makes a `go` command with the caller's
    /// environment, started in `dir`.
    pub fn new(dir: &Path, scratch: &Path, go: &dyn Fn() -> Command) -> Result<Self> {
        std::fs::create_dir_all(scratch)
            .with_context(|| format!("creating {}", scratch.display()))?;
        let env = run(
            go().args(["env", "GOMOD", "GOWORK"]),
            "go env GOMOD GOWORK",
            dir,
        )?;
        let mut lines = env.lines();
        let gomod = lines.next().unwrap_or("").trim();
        let gowork = lines.next().unwrap_or("").trim();
        let kind = if !gowork.is_empty() && gowork != "off" {
            workspace(Path::new(gowork), scratch, go)?
        } else if !gomod.is_empty() && Path::new(gomod).is_file() {
            let gomod = Path::new(gomod);
            let root = gomod
                .parent()
                .expect("go.mod has a directory")
                .to_path_buf();
            let copy = scratch.join("go.mod");
            copy_file(gomod, &copy)?;
            if root.join("go.sum").is_file() {
                copy_file(&root.join("go.sum"), &scratch.join("go.sum"))?;
            }
            Kind::Module { root, copy }
        } else {
            bail!(
                "{} is in no Go module or workspace (`go env GOMOD` says {gomod:?}): run godrv in the directory of go.mod",
                dir.display()
            );
        };
        Ok(PrivateModFiles { kind })
    }

    /// Whether go works in a workspace (go.work) there.
    pub fn is_workspace(&self) -> bool {
        matches!(self.kind, Kind::Workspace { .. })
    }

    /// Points `cmd` (a `go mod …` command, after the subcommand's name) at the copies.
    pub fn apply(&self, cmd: &mut Command) {
        match &self.kind {
            Kind::Module { copy, .. } => {
                cmd.arg(format!("-modfile={}", copy.display()));
            }
            Kind::Workspace { copy, .. } => {
                cmd.env("GOWORK", copy);
            }
        }
    }

    /// An error naming what go wrote to the copies: lines it added to (or removed from) go.sum or
    /// go.work.sum, changes it made to go.mod or go.work.
    pub fn check_unchanged(&self) -> Result<()> {
        let mut problems = Vec::new();
        match &self.kind {
            Kind::Module { root, copy } => {
                let sum_copy = copy.with_file_name("go.sum");
                problems.extend(compare(
                    &root.join("go.mod"),
                    &read(&root.join("go.mod"))?,
                    copy,
                )?);
                problems.extend(compare(
                    &root.join("go.sum"),
                    &read(&root.join("go.sum"))?,
                    &sum_copy,
                )?);
            }
            Kind::Workspace {
                gowork,
                copy,
                written,
            } => {
                problems.extend(compare(gowork, written, copy)?);
                let sum = gowork.with_file_name("go.work.sum");
                problems.extend(compare(
                    &sum,
                    &read(&sum)?,
                    &copy.with_file_name("go.work.sum"),
                )?);
            }
        }
        if problems.is_empty() {
            return Ok(());
        }
        bail!(
            "go needs changes to your module files, which godrv never edits:\n{}\nrun `go mod tidy` (or `go mod download`) in the module directory and try again",
            problems.join("\n")
        )
    }
}

/// Refuses a `-modfile` in the user's GOFLAGS: godrv gives go its own.
pub fn refuse_user_modfile(goflags: &str) -> Result<()> {
    if goflags
        .split_whitespace()
        .any(|f| f.starts_with("-modfile"))
    {
        bail!("GOFLAGS has {goflags:?}: godrv runs go with its own -modfile (a private copy of go.mod); remove -modfile from GOFLAGS");
    }
    Ok(())
}

/// Refuses go flags that let go write the module files in `dir` (`-mod=mod`, `-modfile`), for go
/// commands that run in the user's own directory (`godrv build`'s planner).
pub fn refuse_writing_flags<'a>(
    dir: &Path,
    flags: impl IntoIterator<Item = &'a str>,
) -> Result<()> {
    let flags: Vec<&str> = flags.into_iter().collect();
    for (i, flag) in flags.iter().enumerate() {
        let name = flag.trim_start_matches('-');
        // `-mod=mod`, or `-mod mod` as two arguments.
        let mod_mod = name == "mod=mod" || (name == "mod" && flags.get(i + 1) == Some(&"mod"));
        if mod_mod || name.starts_with("modfile") {
            bail!(
                "{flag} would let go rewrite go.mod and go.sum in {}, your own directory, which godrv never edits: leave it out of GOFLAGS and the go flags (run `go mod tidy` yourself when go.mod needs changes)",
                dir.display()
            );
        }
    }
    Ok(())
}

/// The copy of the workspace file `gowork` in `scratch`, with every `use` and every `replace` by
/// a directory made absolute (they are relative to go.work's directory), and its go.work.sum.
fn workspace(gowork: &Path, scratch: &Path, go: &dyn Fn() -> Command) -> Result<Kind> {
    let base = gowork.parent().expect("go.work has a directory");
    let copy = scratch.join("go.work");
    copy_file(gowork, &copy)?;
    if base.join("go.work.sum").is_file() {
        copy_file(&base.join("go.work.sum"), &scratch.join("go.work.sum"))?;
    }
    let json = run(
        go().args(["work", "edit", "-json"]).arg(&copy),
        "go work edit -json",
        base,
    )?;
    let work: GoModJson = serde_json::from_str(&json)
        .with_context(|| format!("reading `go work edit -json {}`", gowork.display()))?;
    let mut edits = Vec::new();
    for u in work.r#use.iter().flatten() {
        if Path::new(&u.disk_path).is_relative() {
            edits.push(format!("-dropuse={}", u.disk_path));
            edits.push(format!("-use={}", base.join(&u.disk_path).display()));
        }
    }
    for r in work.replace.iter().flatten() {
        if r.new.version.is_empty() && Path::new(&r.new.path).is_relative() {
            let old = if r.old.version.is_empty() {
                r.old.path.clone()
            } else {
                format!("{}@{}", r.old.path, r.old.version)
            };
            edits.push(format!("-dropreplace={old}"));
            edits.push(format!(
                "-replace={old}={}",
                base.join(&r.new.path).display()
            ));
        }
    }
    if !edits.is_empty() {
        run(
            go().args(["work", "edit"]).args(&edits).arg(&copy),
            "go work edit",
            base,
        )?;
    }
    let written = read(&copy)?;
    Ok(Kind::Workspace {
        gowork: gowork.to_path_buf(),
        copy,
        written,
    })
}

/// What changed from `before` (the contents of the user's `file`) to the copy `after`, as lines
/// of a message; nothing when the same lines are there (order aside: go sorts go.sum).
fn compare(file: &Path, before: &[u8], after: &Path) -> Result<Vec<String>> {
    let after_text = read(after)?;
    let lines = |b: &[u8]| -> BTreeSet<String> {
        String::from_utf8_lossy(b)
            .lines()
            .map(|l| l.trim_end().to_string())
            .filter(|l| !l.is_empty())
            .collect()
    };
    let (old, new) = (lines(before), lines(&after_text));
    let added: Vec<&String> = new.difference(&old).collect();
    let removed: Vec<&String> = old.difference(&new).collect();
    if added.is_empty() && removed.is_empty() {
        return Ok(Vec::new());
    }
    let mut out = vec![format!(
        "{} lacks what go needs (go would write these changes):",
        file.display()
    )];
    out.extend(added.iter().map(|l| format!("  + {l}")));
    out.extend(removed.iter().map(|l| format!("  - {l}")));
    Ok(out)
}

/// A file's contents; a missing file is empty.
fn read(path: &Path) -> Result<Vec<u8>> {
    match std::fs::read(path) {
        Ok(b) => Ok(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Copies `from` to `to`, writable by its owner: the user's files are often read-only (a source
/// in the Nix store), and `go work edit` on a file it cannot write changes nothing and still
/// exits 0.
fn copy_file(from: &Path, to: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::copy(from, to)
        .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o644))
        .with_context(|| format!("making {} writable", to.display()))
}

/// Runs `cmd` in `dir` ([`crate::process::run`]); its standard output.
fn run(cmd: &mut Command, what: &str, dir: &Path) -> Result<String> {
    let output = crate::process::run(cmd.current_dir(dir), &format!("`{what}`"), Some(dir))?;
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The workspace example's module download failed in the Nix sandbox (`cannot load module
    /// …/modfiles/app listed in go.work`): the copy of go.work from the read-only store kept its
    /// mode, and `go work edit`, run as an unprivileged build user, left it unchanged, exit 0.
    #[test]
    fn copies_of_read_only_module_files_are_writable() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let user = dir.path().join("go.work");
        std::fs::write(&user, "go 1.19\n").unwrap();
        std::fs::set_permissions(&user, std::fs::Permissions::from_mode(0o444)).unwrap();
        let copy = dir.path().join("copy");
        copy_file(&user, &copy).unwrap();
        let mode = std::fs::metadata(&copy).unwrap().permissions().mode();
        assert_eq!(mode & 0o200, 0o200, "copy mode {mode:o}");
        assert_eq!(std::fs::read(&copy).unwrap(), b"go 1.19\n");
    }

    #[test]
    fn changes_name_the_file_and_the_lines() {
        let dir = tempfile::tempdir().unwrap();
        let after = dir.path().join("go.sum");
        std::fs::write(&after, "b h1:2\na h1:1\nc h1:3\n").unwrap();
        // Order aside, the same lines: no change.
        assert!(
            compare(Path::new("/u/go.sum"), b"a h1:1\nb h1:2\nc h1:3\n", &after)
                .unwrap()
                .is_empty()
        );
        let changes = compare(Path::new("/u/go.sum"), b"a h1:1\nold h1:0\n", &after).unwrap();
        assert_eq!(
            changes,
            [
                "/u/go.sum lacks what go needs (go would write these changes):",
                "  + b h1:2",
                "  + c h1:3",
                "  - old h1:0"
            ]
        );
    }

    #[test]
    fn flags_that_write_the_users_files_are_refused() {
        let dir = Path::new("/u/m");
        refuse_writing_flags(
            dir,
            [
                "-mod=readonly",
                "-trimpath",
                "-mod=vendor",
                "-mod",
                "vendor",
            ],
        )
        .unwrap();
        assert!(refuse_writing_flags(dir, ["-mod", "mod"]).is_err());
        for flag in ["-mod=mod", "--mod=mod", "-modfile=x.mod"] {
            let err = refuse_writing_flags(dir, ["-trimpath", flag]).unwrap_err();
            assert!(
                err.to_string().starts_with(&format!(
                    "{flag} would let go rewrite go.mod and go.sum in /u/m, your own directory"
                )),
                "{err}"
            );
        }
    }

    #[test]
    fn a_user_modfile_is_refused() {
        refuse_user_modfile("-mod=mod -trimpath").unwrap();
        let err = refuse_user_modfile("-mod=mod -modfile=alt.mod").unwrap_err();
        assert!(
            err.to_string().contains("remove -modfile from GOFLAGS"),
            "{err}"
        );
    }
}
