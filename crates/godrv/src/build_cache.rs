//! `godrv build`'s plan cache: a build whose inputs did not change skips downloading, planning
//! and registering, and builds the top `.drv` it made last time.
//!
//! An entry is a symbolic link `<cache>/<key>.drv` → the top `.drv`, registered as an indirect
//! garbage-collector root (`nix build --out-link`), so a garbage collection cannot leave the
//! cache pointing at nothing; an entry whose `.drv` is not valid in the store (deleted, another
//! store) is a miss. The key ([`PlanKey`]) hashes everything that shapes the plan: the request
//! and `godrv build`'s options, the toolchain, this godrv (its version and the executable's
//! bytes), the download's environment and the whole source tree, file by file (names, contents,
//! executable bits, symbolic links), as Nix hashes a `src` path, but for `.git` directories,
//! which go never reads (`-buildvcs=false`, and `//go:embed` cannot name them). Where the cache
//! cannot see all of it, it is off for that build ([`Uncachable`]): a request naming directories
//! outside the store (`path`, `pkgConfigPath`), a symbolic link to a directory in the tree.
//! `<cache>` is `$XDG_CACHE_HOME/godrv/build` or `~/.cache/godrv/build`.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use godrv_derivation::StoreDir;
use godrv_nix::Addressing;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::path_toolchain::ToolchainFile;
use crate::request::BuildRequest;

/// Why a build cannot use the cache: something that shapes its plan is outside what the key
/// hashes.
#[derive(Debug, PartialEq, Eq)]
pub struct Uncachable(pub String);

/// Everything that shapes `godrv build`'s plan besides the source tree.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyInputs<'a> {
    /// godrv's version and the SHA-256 of the running executable (it plans).
    pub godrv: (&'a str, String),
    pub toolchain: &'a ToolchainFile,
    pub request: &'a BuildRequest,
    pub addressing: Addressing,
    pub name: Option<&'a str>,
    /// `--env` of the module download.
    pub download_env: &'a BTreeMap<String, String>,
    /// The variables of godrv's own environment the download passes on (proxies, netrc).
    pub inherited_env: BTreeMap<String, String>,
    /// The source directory (canonical).
    pub dir: &'a Path,
}

/// The cache key: the SHA-256 (hex) of the [`KeyInputs`] and of the source tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanKey(String);

impl PlanKey {
    pub fn new(inputs: &KeyInputs<'_>) -> Result<std::result::Result<PlanKey, Uncachable>> {
        let outside: Vec<&String> = inputs
            .request
            .path
            .iter()
            .chain(&inputs.request.pkg_config_path)
            .filter(|p| !Path::new(p).starts_with(StoreDir::default().to_string()))
            .collect();
        if let Some(p) = outside.first() {
            return Ok(Err(Uncachable(format!(
                "the request names {p}, a directory outside the store, whose contents the cache \
                 does not hash"
            ))));
        }
        let mut hasher = Sha256::new();
        hasher.update(serde_json::to_vec(inputs).context("serializing the plan cache's key")?);
        if let Err(why) = hash_tree(inputs.dir, inputs.dir, &mut hasher)? {
            return Ok(Err(why));
        }
        Ok(Ok(PlanKey(
            data_encoding::HEXLOWER.encode(&hasher.finalize()),
        )))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The SHA-256 (hex) of the running executable.
pub fn this_executable() -> Result<String> {
    let exe = std::env::current_exe().context("finding godrv's own executable")?;
    let mut file =
        std::fs::File::open(&exe).with_context(|| format!("reading {}", exe.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file
            .read(&mut buf)
            .with_context(|| format!("reading {}", exe.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(data_encoding::HEXLOWER.encode(&hasher.finalize()))
}

/// Feeds `dir`'s tree into `hasher`: each entry in name order, its name, kind and contents
/// (files: executable bit, length, bytes; links: target; directories: their entries). `.git`
/// directories are left out. A symbolic link to a directory makes the tree uncachable.
fn hash_tree(
    root: &Path,
    dir: &Path,
    hasher: &mut Sha256,
) -> Result<std::result::Result<(), Uncachable>> {
    for path in crate::fs::read_dir(dir)? {
        let name = path.file_name().unwrap_or_default().to_owned();
        let meta = std::fs::symlink_metadata(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        if meta.is_dir() && name == ".git" {
            continue;
        }
        let bytes = name.as_encoded_bytes();
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
        if meta.is_dir() {
            hasher.update(b"d");
            if let Err(why) = hash_tree(root, &path, hasher)? {
                return Ok(Err(why));
            }
            hasher.update(b"e");
        } else if meta.is_symlink() {
            let target = std::fs::read_link(&path)
                .with_context(|| format!("reading the link {}", path.display()))?;
            if path.is_dir() {
                return Ok(Err(Uncachable(format!(
                    "{} is a symbolic link to a directory, whose contents the cache does not hash",
                    path.strip_prefix(root).unwrap_or(&path).display()
                ))));
            }
            hasher.update(b"l");
            let target = target.as_os_str().as_encoded_bytes();
            hasher.update((target.len() as u64).to_le_bytes());
            hasher.update(target);
            // What a link to a file outside the tree points at is read too.
            if path.is_file() {
                hash_file(&path, hasher)?;
            }
        } else if meta.is_file() {
            hasher.update(if meta.permissions().mode() & 0o111 != 0 {
                b"x"
            } else {
                b"f"
            });
            hash_file(&path, hasher)?;
        } else {
            bail!(
                "{} is neither a file, a directory nor a symbolic link: remove it from the source \
                 tree, or run godrv build with --no-cache",
                path.display()
            );
        }
    }
    Ok(Ok(()))
}

fn hash_file(path: &Path, hasher: &mut Sha256) -> Result<()> {
    let data = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    hasher.update((data.len() as u64).to_le_bytes());
    hasher.update(&data);
    Ok(())
}

/// The cache directory: `$XDG_CACHE_HOME/godrv/build`, else `$HOME/.cache/godrv/build`; `None`
/// when neither variable is set.
pub fn cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".cache"))
        })?;
    Some(base.join("godrv/build"))
}

/// The plan cache in a directory.
pub struct PlanCache {
    dir: PathBuf,
}

impl PlanCache {
    pub fn new(dir: PathBuf) -> Self {
        PlanCache { dir }
    }

    /// The entry (and garbage-collector root) of `key`.
    pub fn entry(&self, key: &PlanKey) -> PathBuf {
        self.dir.join(format!("{}.drv", key.as_str()))
    }

    /// The top `.drv` of `key`, if there is an entry and `is_valid` says its `.drv` is still in
    /// the store.
    pub fn lookup(
        &self,
        key: &PlanKey,
        is_valid: impl FnOnce(&str) -> Result<bool>,
    ) -> Result<Option<String>> {
        let entry = self.entry(key);
        let target = match std::fs::read_link(&entry) {
            Ok(target) => target,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("reading {}", entry.display())),
        };
        let Some(drv) = target.to_str().filter(|t| t.ends_with(".drv")) else {
            return Ok(None);
        };
        Ok(is_valid(drv)?.then(|| drv.to_string()))
    }

    /// Records `drv` as `key`'s top derivation: the entry is made by `nix build --out-link`,
    /// which registers it as a garbage-collector root (of the `.drv` itself, not built).
    pub fn store(&self, key: &PlanKey, drv: &str, nix: &Path) -> Result<()> {
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("creating the plan cache {}", self.dir.display()))?;
        let entry = self.entry(key);
        match std::fs::remove_file(&entry) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("removing {}", entry.display())),
        }
        let what = format!(
            "`{} build --out-link {} {drv}` (the plan cache's root)",
            nix.display(),
            entry.display()
        );
        let mut cmd = Command::new(nix);
        cmd.args(["build", "--out-link"]).arg(&entry).arg(drv);
        crate::process::run(&mut cmd, &what, None)?;
        Ok(())
    }
}

/// Whether `path` is valid in the store `nix` talks to (`nix path-info`).
pub fn valid_in_store(nix: &Path, path: &str) -> Result<bool> {
    let out = Command::new(nix)
        .args(["path-info", path])
        .output()
        .with_context(|| format!("running {} path-info {path}", nix.display()))?;
    Ok(out.status.success())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toolchain() -> ToolchainFile {
        ToolchainFile {
            go: "/nix/store/00000000000000000000000000000000-go".into(),
            godrv: "/nix/store/11111111111111111111111111111111-godrv".into(),
            cc: None,
            nix: "/usr".into(),
            system: "x86_64-linux".into(),
        }
    }

    fn key_of(dir: &Path, request: &BuildRequest, tc: &ToolchainFile) -> PlanKey {
        key_with(dir, request, tc, "exe", &BTreeMap::new())
    }

    /// The key with this godrv executable hash and download `--env`.
    fn key_with(
        dir: &Path,
        request: &BuildRequest,
        tc: &ToolchainFile,
        exe: &str,
        download_env: &BTreeMap<String, String>,
    ) -> PlanKey {
        PlanKey::new(&KeyInputs {
            godrv: ("1", exe.into()),
            toolchain: tc,
            request,
            addressing: Addressing::ContentAddressed,
            name: None,
            download_env,
            inherited_env: BTreeMap::new(),
            dir,
        })
        .unwrap()
        .unwrap()
    }

    fn tree() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("go.mod"), "module example.com/m\n").unwrap();
        std::fs::create_dir(d.path().join("p")).unwrap();
        std::fs::write(d.path().join("p/p.go"), "package p\n").unwrap();
        d
    }

    #[test]
    fn an_edit_anywhere_in_the_tree_changes_the_key() {
        let d = tree();
        let (r, tc) = (BuildRequest::default(), toolchain());
        let k0 = key_of(d.path(), &r, &tc);
        assert_eq!(k0, key_of(d.path(), &r, &tc), "the same tree, the same key");
        std::fs::write(d.path().join("p/p.go"), "package p // edited\n").unwrap();
        let k1 = key_of(d.path(), &r, &tc);
        assert_ne!(k0, k1, "a file's contents");
        std::fs::write(d.path().join("p/data.txt"), "").unwrap();
        let k2 = key_of(d.path(), &r, &tc);
        assert_ne!(k1, k2, "a new empty file");
        std::fs::rename(d.path().join("p/data.txt"), d.path().join("p/data2.txt")).unwrap();
        let k3 = key_of(d.path(), &r, &tc);
        assert_ne!(k2, k3, "a renamed file");
        std::fs::set_permissions(
            d.path().join("p/data2.txt"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        let k4 = key_of(d.path(), &r, &tc);
        assert_ne!(k3, k4, "an executable bit");
        std::os::unix::fs::symlink("p.go", d.path().join("p/link.go")).unwrap();
        let k5 = key_of(d.path(), &r, &tc);
        assert_ne!(k4, k5, "a symbolic link to a file");
        std::fs::write(d.path().join("p/p.go"), "package p // edited again\n").unwrap();
        assert_ne!(k5, key_of(d.path(), &r, &tc), "through a link too");
    }

    #[test]
    fn git_directories_are_not_hashed() {
        let d = tree();
        let (r, tc) = (BuildRequest::default(), toolchain());
        let k0 = key_of(d.path(), &r, &tc);
        std::fs::create_dir(d.path().join(".git")).unwrap();
        std::fs::write(d.path().join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
        assert_eq!(k0, key_of(d.path(), &r, &tc));
    }

    #[test]
    fn a_changed_flag_or_toolchain_changes_the_key() {
        let d = tree();
        let (r, tc) = (BuildRequest::default(), toolchain());
        let k0 = key_of(d.path(), &r, &tc);
        let mut flags = BuildRequest::default();
        flags.ldflags.push("-s".into());
        assert_ne!(k0, key_of(d.path(), &flags, &tc), "ldflags");
        let mut env = BuildRequest::default();
        env.env.insert("CGO_ENABLED".into(), "0".into());
        assert_ne!(k0, key_of(d.path(), &env, &tc), "env");
        let granularity = BuildRequest {
            granularity: godrv_plan::group::Granularity::Package,
            ..BuildRequest::default()
        };
        assert_ne!(k0, key_of(d.path(), &granularity, &tc), "granularity");
        let mut other = toolchain();
        other.go = "/nix/store/22222222222222222222222222222222-go".into();
        assert_ne!(k0, key_of(d.path(), &r, &other), "Go");
        let download = BTreeMap::from([("GOPROXY".to_string(), "off".to_string())]);
        assert_ne!(k0, key_with(d.path(), &r, &tc, "exe", &download), "--env");
        let other_godrv = key_with(d.path(), &r, &tc, "another", &BTreeMap::new());
        assert_ne!(k0, other_godrv, "godrv itself");
    }

    #[test]
    fn what_the_key_cannot_see_turns_the_cache_off() {
        let d = tree();
        let tc = toolchain();
        let mut r = BuildRequest::default();
        r.pkg_config_path.push("/usr/lib/pkgconfig".into());
        let env = BTreeMap::new();
        let inputs = |r| KeyInputs {
            godrv: ("1", "exe".into()),
            toolchain: &tc,
            request: r,
            addressing: Addressing::ContentAddressed,
            name: None,
            download_env: &env,
            inherited_env: BTreeMap::new(),
            dir: d.path(),
        };
        assert!(PlanKey::new(&inputs(&r)).unwrap().is_err());
        let plain = BuildRequest::default();
        std::os::unix::fs::symlink("p", d.path().join("q")).unwrap();
        let why = PlanKey::new(&inputs(&plain)).unwrap().unwrap_err();
        assert!(
            why.0.contains("q is a symbolic link to a directory"),
            "{why:?}"
        );
    }

    #[test]
    fn an_entry_whose_drv_is_gone_is_a_miss() {
        let d = tree();
        let cache = PlanCache::new(d.path().join("cache"));
        let key = key_of(d.path(), &BuildRequest::default(), &toolchain());
        let drv = "/nix/store/33333333333333333333333333333333-top.drv";
        assert_eq!(cache.lookup(&key, |_| Ok(true)).unwrap(), None, "no entry");
        std::fs::create_dir_all(d.path().join("cache")).unwrap();
        std::os::unix::fs::symlink(drv, cache.entry(&key)).unwrap();
        assert_eq!(
            cache.lookup(&key, |p| Ok(p == drv)).unwrap().as_deref(),
            Some(drv)
        );
        assert_eq!(cache.lookup(&key, |_| Ok(false)).unwrap(), None, "deleted");
    }
}
