//! Lockfile mode: one fixed-output derivation per module.
//!
//! The lockfile is TOML in gomod2nix's schema 3, so an existing `gomod2nix.toml` is read as it is
//! and `godrv lock` writes the same format (`godrv.lock`):
//!
//! ```toml
//! schema = 3
//!
//! [mod."example.com/greet"]
//! version = "v1.1.0"
//! hash = "sha256-…"          # NAR hash (SRI) of the module's directory as `go mod download` leaves it
//! # replaced = "example.com/other"   # when go.mod replaces the module by another module path
//! ```
//!
//! Keys are the module paths of `go.mod`'s `require`; `replaced` is the module actually downloaded
//! when a `replace` directive names another module. Entries for `replace` to a local directory
//! do not exist (the directory is part of the source).
//!
//! Planning with a lockfile (see [`assemble_module_cache`]): the planner makes a module cache
//! from the per-module store paths (`<dir>` linked to the store path, `cache/download/…/@v/<v>.mod`
//! from the module's go.mod, `.ziphash` = the module's `h1:` hash computed from its files, which go
//! checks against go.sum), then runs `go build -n` on it as in vendorHash mode.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use data_encoding::BASE64;
use godrv_nix::InputRef;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::modfiles::PrivateModFiles;

/// The schema version gomod2nix writes and godrv reads and writes.
pub const SCHEMA: u32 = 3;

/// File name `godrv lock` writes.
pub const FILE_NAME: &str = "godrv.lock";

/// A lockfile (gomod2nix schema 3). Other top-level keys of gomod2nix (`goPackagePath`,
/// `subPackages`, `cachePackages`) are ignored.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lockfile {
    pub schema: u32,
    #[serde(rename = "mod", default)]
    pub modules: BTreeMap<String, LockedModule>,
}

/// One module of a lockfile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedModule {
    pub version: String,
    /// NAR hash (SRI sha256) of the module directory.
    pub hash: String,
    /// The module path downloaded instead (a `replace` to another module).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaced: Option<String>,
}

/// A locked module as the Nix library gives it to the planner: its fixed-output derivation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LockedInput {
    /// Key in the lockfile (the module path `go.mod` requires).
    pub key: String,
    /// Module path downloaded (`replaced`, else the key).
    pub path: String,
    pub version: String,
    /// The module's source tree (the output of its fixed-output derivation).
    pub source: InputRef,
}

/// The module cache directory go uses for `path@version`: upper-case letters escaped as `!x`.
pub fn module_dir(path: &str, version: &str) -> String {
    format!("{}@{}", escape(path), escape(version))
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii_uppercase() {
            out.push('!');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// go's `h1:` hash of a module tree (golang.org/x/mod/sumdb/dirhash Hash1): the sha256 of the
/// lines `<sha256 hex>  <module>@<version>/<file>\n` for every file, sorted by name.
pub fn h1_hash(dir: &Path, path: &str, version: &str) -> Result<String> {
    let mut files = Vec::new();
    collect_files(dir, Path::new(""), &mut files)?;
    let prefix = format!("{path}@{version}");
    let mut names: Vec<(String, PathBuf)> = files
        .into_iter()
        .map(|rel| (format!("{prefix}/{}", rel.display()), rel))
        .collect();
    names.sort();
    let mut summary = Sha256::new();
    for (name, rel) in names {
        let file = dir.join(&rel);
        let data = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
        let digest = Sha256::digest(&data);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        summary.update(format!("{hex}  {name}\n").as_bytes());
    }
    Ok(format!("h1:{}", BASE64.encode(&summary.finalize())))
}

fn collect_files(root: &Path, rel: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let dir = root.join(rel);
    for entry in std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
        let rel = rel.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            collect_files(root, &rel, out)?;
        } else {
            out.push(rel);
        }
    }
    Ok(())
}

/// Makes a module cache at `out` from the locked modules (keyed by module directory), as go
/// reads it with `GOPROXY=off`.
pub fn assemble_module_cache(modules: &BTreeMap<String, LockedInput>, out: &Path) -> Result<()> {
    for (dir, module) in modules {
        let expected = module_dir(&module.path, &module.version);
        if *dir != expected {
            bail!(
                "locked module {}@{}: directory {dir:?} given, go's is {expected:?} (nix/ and godrv disagree: update them together)",
                module.path,
                module.version
            );
        }
        let source = Path::new(&module.source.path);
        let link = out.join(dir);
        std::fs::create_dir_all(link.parent().expect("a module dir has a parent"))?;
        std::os::unix::fs::symlink(source, &link)
            .with_context(|| format!("linking {}", link.display()))?;
        let download = out
            .join("cache/download")
            .join(escape(&module.path))
            .join("@v");
        std::fs::create_dir_all(&download)
            .with_context(|| format!("creating {}", download.display()))?;
        let go_mod = match std::fs::read(source.join("go.mod")) {
            Ok(text) => text,
            // A module without go.mod: go synthesizes one.
            Err(_) => format!("module {}\n", module.path).into_bytes(),
        };
        let version = escape(&module.version);
        std::fs::write(download.join(format!("{version}.mod")), go_mod)?;
        let h1 = h1_hash(source, &module.path, &module.version)?;
        std::fs::write(download.join(format!("{version}.ziphash")), h1)?;
    }
    Ok(())
}

/// `go mod edit -json` (and `go work edit -json`): the parts godrv reads.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GoModJson {
    #[serde(default)]
    pub module: Option<ModVersion>,
    #[serde(default)]
    pub require: Option<Vec<ModVersion>>,
    #[serde(default)]
    pub replace: Option<Vec<Replace>>,
    /// go.work: the workspace's modules.
    #[serde(default)]
    pub r#use: Option<Vec<Use>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Use {
    pub disk_path: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ModVersion {
    pub path: String,
    #[serde(default)]
    pub version: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Replace {
    pub old: ModVersion,
    pub new: ModVersion,
}

/// The module `go.mod` requires as `path`, after its `replace` directives: `None` for a local
/// directory, else (path downloaded, version).
fn resolve(gomod: &GoModJson, required: &ModVersion) -> Option<(String, String)> {
    let replace = gomod.replace.iter().flatten().find(|r| {
        r.old.path == required.path
            && (r.old.version.is_empty() || r.old.version == required.version)
    });
    match replace {
        Some(r) if r.new.version.is_empty() => None,
        Some(r) => Some((r.new.path.clone(), r.new.version.clone())),
        None => Some((required.path.clone(), required.version.clone())),
    }
}

/// Checks that every module `go.mod` requires is locked at the version it requires. `lockfile`
/// names the file in messages.
pub fn check_against_gomod(
    modules: &BTreeMap<String, LockedInput>,
    gomod: &GoModJson,
    lockfile: &str,
) -> Result<()> {
    let fix = format!(
        "run `godrv lock` in the module directory (or `gomod2nix` for a gomod2nix.toml) and use the new {lockfile}"
    );
    for required in gomod.require.iter().flatten() {
        let Some((path, version)) = resolve(gomod, required) else {
            continue;
        };
        let locked: Vec<&LockedInput> = modules
            .values()
            .filter(|m| m.key == required.path || m.path == path)
            .collect();
        if locked.is_empty() {
            bail!(
                "{lockfile} has no entry for {path}@{version}, which go.mod requires: {fix}",
                path = required.path
            );
        }
        if !locked
            .iter()
            .any(|m| m.path == path && m.version == version)
        {
            let have: Vec<String> = locked
                .iter()
                .map(|m| format!("{}@{}", m.path, m.version))
                .collect();
            bail!(
                "{lockfile} locks {} but go.mod requires {path}@{version}: {fix}",
                have.join(", ")
            );
        }
    }
    Ok(())
}

/// The requirements and replacements go applies in `dir`: its go.mod (`go mod edit -json`), or in
/// a workspace (a go.work in `dir`) every workspace module's go.mod, without the requirements of
/// one workspace module on another, and go.work's replacements first.
pub fn read_gomod(go: &Path, dir: &Path) -> Result<GoModJson> {
    if !dir.join("go.work").is_file() {
        return go_json(go, dir, "mod");
    }
    let work = go_json(go, dir, "work")?;
    let mut modules = Vec::new();
    for u in work.r#use.iter().flatten() {
        modules.push(go_json(go, &dir.join(&u.disk_path), "mod")?);
    }
    let local: Vec<&str> = modules
        .iter()
        .filter_map(|m| m.module.as_ref().map(|m| m.path.as_str()))
        .collect();
    let require = modules
        .iter()
        .flat_map(|m| m.require.iter().flatten())
        .filter(|r| !local.contains(&r.path.as_str()))
        .cloned()
        .collect();
    let mut replace: Vec<Replace> = work.replace.into_iter().flatten().collect();
    for m in &modules {
        replace.extend(m.replace.iter().flatten().cloned());
    }
    Ok(GoModJson {
        module: None,
        require: Some(require),
        replace: Some(replace),
        r#use: None,
    })
}

/// `go mod edit -json` or `go work edit -json` in `dir`.
fn go_json(go: &Path, dir: &Path, what: &str) -> Result<GoModJson> {
    let output = crate::process::run(
        Command::new(go)
            .args([what, "edit", "-json"])
            .current_dir(dir)
            .env("GOTOOLCHAIN", "local"),
        &format!("`go {what} edit -json`"),
        Some(dir),
    )?;
    serde_json::from_slice(&output.stdout)
        .with_context(|| format!("reading the output of `go {what} edit -json`"))
}

/// One line of `go mod download -json`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Download {
    path: String,
    version: String,
    #[serde(default)]
    dir: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

/// `godrv lock`: downloads the modules of the module in `dir` with the caller's `go` and
/// environment (GOPROXY, GOPRIVATE, GOFLAGS, …) and returns the lockfile.
pub fn lock(go: &Path, dir: &Path) -> Result<Lockfile> {
    let gomod = read_gomod(go, dir)?;
    // The lockfile is keyed by the required module path; a replacement is recorded as `replaced`.
    let mut replaced_by: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for r in gomod.replace.iter().flatten() {
        if !r.new.version.is_empty() {
            replaced_by
                .entry((r.new.path.clone(), r.new.version.clone()))
                .or_default()
                .push(r.old.path.clone());
        }
    }
    // go runs on copies of go.mod and go.sum (or go.work): it writes go.sum whenever it finds a
    // line missing, and the user's files are not godrv's to change.
    crate::modfiles::refuse_user_modfile(&std::env::var("GOFLAGS").unwrap_or_default())?;
    let scratch = tempfile::tempdir().context("creating a temporary directory")?;
    let go_in_dir = || {
        let mut cmd = Command::new(go);
        cmd.current_dir(dir);
        cmd
    };
    let files = PrivateModFiles::new(dir, scratch.path(), &go_in_dir)?;
    let mut cmd = go_in_dir();
    cmd.args(["mod", "download"]);
    files.apply(&mut cmd);
    let output = cmd
        .arg("-json")
        .output()
        .with_context(|| format!("running {}", go.display()))?;
    let mut lockfile = Lockfile {
        schema: SCHEMA,
        modules: BTreeMap::new(),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut errors = Vec::new();
    let mut downloads = Vec::new();
    for download in serde_json::Deserializer::from_str(&stdout).into_iter::<Download>() {
        let download = download.context("reading the output of `go mod download -json`")?;
        match (download.error, download.dir) {
            (Some(error), _) => {
                errors.push(format!("{}@{}: {error}", download.path, download.version))
            }
            (None, Some(dir)) => downloads.push((download.path, download.version, dir)),
            // go gives every module it downloads a directory: one without cannot be hashed.
            (None, None) => errors.push(format!(
                "{}@{}: go gave no directory for it, so it cannot be locked",
                download.path, download.version
            )),
        }
    }
    if !output.status.success() || !errors.is_empty() {
        bail!(
            "`go mod download -json` failed in {} ({}):\n{}{}",
            dir.display(),
            output.status,
            errors.iter().map(|e| format!("{e}\n")).collect::<String>(),
            String::from_utf8_lossy(&output.stderr).trim_end()
        );
    }
    files.check_unchanged()?;
    for (path, version, module_dir) in downloads {
        let hash = godrv_derivation::nar::nar_sha256(Path::new(&module_dir))
            .with_context(|| format!("hashing {module_dir}"))?;
        let hash = godrv_derivation::Hash::new(godrv_derivation::HashAlgo::Sha256, hash.to_vec())
            .expect("a sha256 digest has 32 bytes")
            .to_string();
        let module = LockedModule {
            version,
            hash,
            replaced: None,
        };
        place(&mut lockfile, &replaced_by, &path, module)?;
    }
    Ok(lockfile)
}

/// Puts the module `path` (downloaded at `module.version`) into the lockfile under the key
/// `go.mod` requires it as: the first module that `replace`s to it and is not locked yet, else its
/// own path. A module with no such key left is an error naming it (it would be left out).
fn place(
    lockfile: &mut Lockfile,
    replaced_by: &BTreeMap<(String, String), Vec<String>>,
    path: &str,
    mut module: LockedModule,
) -> Result<()> {
    let candidates: Vec<String> = replaced_by
        .get(&(path.to_string(), module.version.clone()))
        .into_iter()
        .flatten()
        .cloned()
        .chain(std::iter::once(path.to_string()))
        .collect();
    let Some(key) = candidates
        .iter()
        .find(|k| !lockfile.modules.contains_key(*k))
        .cloned()
    else {
        bail!(
            "{path}@{}: go downloaded it, but every lockfile entry it could go under ({}) is taken, so the lockfile cannot hold it",
            module.version,
            candidates.join(", ")
        );
    };
    module.replaced = (key != path).then(|| path.to_string());
    lockfile.modules.insert(key, module);
    Ok(())
}

/// Writes the lockfile to `path` atomically: a temporary file in the same directory, renamed over
/// `path` once complete, so a failure never leaves a half-written lockfile.
pub fn write(path: &Path, lockfile: &Lockfile) -> Result<()> {
    let text = to_toml(lockfile)?;
    // The mode of the lockfile it replaces, else 0644 (others read it: Nix, a repository), not
    // the temporary file's 0600.
    let mode = std::fs::metadata(path)
        .map_or(std::os::unix::fs::PermissionsExt::from_mode(0o644), |m| {
            m.permissions()
        });
    crate::fs::write_atomic(path, text.as_bytes(), ".godrv-lock-", Some(mode))
}

/// The lockfile as TOML, with a header saying where it comes from.
pub fn to_toml(lockfile: &Lockfile) -> Result<String> {
    Ok(format!(
        "# Written by `godrv lock` (gomod2nix schema 3): one entry per module, its version and the NAR\n# hash of its source tree. Run `godrv lock` again after changing go.mod.\n{}",
        toml::to_string(lockfile).context("writing the lockfile as TOML")?
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vectors Nix's `escapeModule` (nix/internal/lockedModules.nix) is checked against too
    /// (e2e module_dirs_match_the_shared_vectors): the escaping is written on both sides.
    #[test]
    fn module_dirs_match_the_shared_vectors() {
        let file: serde_json::Value =
            serde_json::from_str(include_str!("../../../testdata/module-dirs.json")).unwrap();
        let vectors = file["vectors"].as_array().unwrap();
        assert!(vectors.len() >= 5);
        for v in vectors {
            let (path, version) = (v["path"].as_str().unwrap(), v["version"].as_str().unwrap());
            assert_eq!(
                module_dir(path, version),
                v["dir"].as_str().unwrap(),
                "{path} {version}"
            );
        }
    }

    #[test]
    fn module_dirs_escape_upper_case() {
        assert_eq!(
            module_dir("github.com/BurntSushi/toml", "v1.0.0"),
            "github.com/!burnt!sushi/toml@v1.0.0"
        );
    }

    #[test]
    fn reads_gomod2nix_schema_3() {
        let text = r#"
schema = 3
goPackagePath = "example.com/app"

[mod]
  [mod."example.com/greet"]
    version = "v1.1.0"
    hash = "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
  [mod."example.com/old"]
    version = "v0.1.0"
    hash = "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
    replaced = "example.com/new"
"#;
        let lock: Lockfile = toml::from_str(text).unwrap();
        assert_eq!(lock.schema, 3);
        assert_eq!(lock.modules["example.com/greet"].version, "v1.1.0");
        assert_eq!(
            lock.modules["example.com/old"].replaced.as_deref(),
            Some("example.com/new")
        );
        let again: Lockfile = toml::from_str(&to_toml(&lock).unwrap()).unwrap();
        assert_eq!(again, lock);
    }

    fn input(key: &str, path: &str, version: &str) -> (String, LockedInput) {
        (
            module_dir(path, version),
            LockedInput {
                key: key.into(),
                path: path.into(),
                version: version.into(),
                source: InputRef {
                    path: "/nix/store/x".into(),
                    drv: None,
                    output: None,
                },
            },
        )
    }

    #[test]
    fn lockfile_must_match_gomod() {
        let gomod: GoModJson = serde_json::from_str(
            r#"{"Require": [{"Path": "example.com/greet", "Version": "v1.1.0"},
                            {"Path": "example.com/local", "Version": "v0.0.0"},
                            {"Path": "example.com/old", "Version": "v1.0.0"}],
                "Replace": [{"Old": {"Path": "example.com/local"}, "New": {"Path": "./local"}},
                            {"Old": {"Path": "example.com/old"}, "New": {"Path": "example.com/new", "Version": "v2.0.0"}}]}"#,
        )
        .unwrap();
        let good: BTreeMap<_, _> = [
            input("example.com/greet", "example.com/greet", "v1.1.0"),
            input("example.com/old", "example.com/new", "v2.0.0"),
        ]
        .into();
        check_against_gomod(&good, &gomod, "godrv.lock").unwrap();

        let old: BTreeMap<_, _> = [
            input("example.com/greet", "example.com/greet", "v1.0.0"),
            input("example.com/old", "example.com/new", "v2.0.0"),
        ]
        .into();
        let err = check_against_gomod(&old, &gomod, "godrv.lock").unwrap_err();
        assert!(
            err.to_string().contains("godrv.lock locks example.com/greet@v1.0.0 but go.mod requires example.com/greet@v1.1.0: run `godrv lock`"),
            "{err}"
        );
        let missing: BTreeMap<_, _> =
            [input("example.com/old", "example.com/new", "v2.0.0")].into();
        let err = check_against_gomod(&missing, &gomod, "gomod2nix.toml").unwrap_err();
        assert!(
            err.to_string()
                .contains("gomod2nix.toml has no entry for example.com/greet@v1.1.0"),
            "{err}"
        );
    }

    fn locked(version: &str) -> LockedModule {
        LockedModule {
            version: version.into(),
            hash: "sha256-x".into(),
            replaced: None,
        }
    }

    #[test]
    fn lock_places_every_download_or_names_it() {
        // replace a => c v1.0.0, and c v1.0.0 required itself: go lists c@v1.0.0 twice.
        let replaced_by: BTreeMap<_, _> = [(
            ("c".to_string(), "v1.0.0".to_string()),
            vec!["a".to_string()],
        )]
        .into();
        let mut lock = Lockfile::default();
        place(&mut lock, &replaced_by, "c", locked("v1.0.0")).unwrap();
        place(&mut lock, &replaced_by, "c", locked("v1.0.0")).unwrap();
        place(&mut lock, &replaced_by, "b", locked("v2.0.0")).unwrap();
        assert_eq!(lock.modules["a"].replaced.as_deref(), Some("c"));
        assert_eq!(lock.modules["c"].replaced, None);
        assert_eq!(lock.modules["b"].version, "v2.0.0");
        // A third c@v1.0.0 has no entry left: an error naming it, never dropped.
        let err = place(&mut lock, &replaced_by, "c", locked("v1.0.0")).unwrap_err();
        assert!(
            err.to_string()
                .contains("c@v1.0.0: go downloaded it, but every lockfile entry it could go under (a, c) is taken"),
            "{err}"
        );
    }

    #[test]
    fn lockfile_is_written_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("godrv.lock");
        std::fs::write(&path, "old").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let lock = Lockfile {
            schema: SCHEMA,
            modules: [("a".to_string(), locked("v1.0.0"))].into(),
        };
        write(&path, &lock).unwrap();
        let again: Lockfile = toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(again, lock);
        // Nothing else is left in the directory (no temporary file).
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o640
        );
        // A directory that cannot take the new file: an error, the old file untouched.
        let missing = dir.path().join("no/such/dir/godrv.lock");
        let err = write(&missing, &lock).unwrap_err();
        assert!(
            format!("{err:#}").contains("creating a temporary file in"),
            "{err:#}"
        );
    }

    #[test]
    fn h1_hash_matches_go_sum() {
        // testdata/goproxy's example.com/shout v0.2.0 and its go.sum line.
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../testdata/goproxy/src/example.com/shout@v0.2.0");
        assert_eq!(
            h1_hash(&dir, "example.com/shout", "v0.2.0").unwrap(),
            "h1:FNwQQEZ7VSdiDHIpYJr6jtlyFc/qgOtWljFtR93FdQw="
        );
    }
}
