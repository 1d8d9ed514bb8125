//! `godrv build` without `--toolchain`: the toolchain found on `PATH`.
//!
//! - `nix`: the first `nix` on `PATH`; its prefix (`…/bin/nix` → `…`) as the toolchain's `nix`,
//!   the system from `nix config show system`.
//! - `go`: the first `go` on `PATH`, asked for `GOROOT` and `GOVERSION` (`go env -json`). A GOROOT
//!   inside the store is used as it is (the store path that holds it, as nixpkgs' `go` has
//!   `bin/go` at its top); any other is copied with its symbolic links followed, given the tools
//!   a distribution may leave out (`pack`, `buildid`: built with that go, as `vmtest/` does) and
//!   added to the store as `go-<version>`. The same GOROOT gives the same store path every time.
//! - `godrv`: this executable. Inside the store: the store path that holds it; else a copy of it
//!   as `bin/godrv` added to the store as `godrv`.
//! - `cc`: the prefix of the first `gcc` on `PATH`, if there is one (cgo).

use std::path::{Component, Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use godrv_derivation::StoreDir;
use godrv_nix::register::Store;
use serde::{Deserialize, Serialize};

/// What `godrv build` needs to know of its tools: the same fields as a `--toolchain` file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ToolchainFile {
    /// A GOROOT with `bin/go` (a store path).
    pub go: String,
    /// A prefix with `bin/godrv` (a store path).
    pub godrv: String,
    /// A prefix with `bin/gcc`, or none.
    #[serde(default)]
    pub cc: Option<String>,
    /// A prefix with `bin/nix`.
    pub nix: String,
    /// Nix's system, e.g. `x86_64-linux`.
    pub system: String,
}

impl ToolchainFile {
    /// Reads a `--toolchain` file (what `vmtest/` writes).
    pub fn read(file: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("reading the toolchain description {}", file.display()))?;
        serde_json::from_str(&text).with_context(|| format!("parsing {}", file.display()))
    }
}

/// Finds `nix` on `PATH` (needed before the store can be opened).
pub fn nix_on_path() -> Result<PathBuf> {
    let nix = which::which("nix").context(
        "godrv build: there is no `nix` on PATH and no --toolchain file: install Nix, or pass \
         --toolchain FILE (JSON with go, godrv, nix, cc, system)",
    )?;
    prefix_of(&nix, "nix")
}

/// The toolchain from `PATH`; `nix` is the prefix [`nix_on_path`] found. Adds Go and godrv to
/// `store` when they are not store paths already; `scratch` is a directory for the copies.
pub fn from_path(nix: &Path, store: &mut dyn Store, scratch: &Path) -> Result<ToolchainFile> {
    let system = nix_system(&nix.join("bin/nix"))?;
    let go = which::which("go").context(
        "godrv build: there is no `go` on PATH and no --toolchain file: put Go on PATH, or pass \
         --toolchain FILE",
    )?;
    let env = go_env(&go)?;
    let go_root = go_in_store(&env, store, scratch)?;
    let godrv = godrv_in_store(store, scratch)?;
    let cc = match which::which("gcc") {
        Ok(gcc) => Some(prefix_of(&gcc, "gcc")?),
        Err(_) => None,
    };
    let found = ToolchainFile {
        go: go_root,
        godrv,
        cc: cc.map(|p| p.display().to_string()),
        nix: nix.display().to_string(),
        system,
    };
    eprintln!(
        "godrv: toolchain from PATH: go {} {}, godrv {}, nix {}, cc {}, system {}",
        env.version.trim_start_matches("go"),
        found.go,
        found.godrv,
        found.nix,
        found
            .cc
            .as_deref()
            .unwrap_or("none (no gcc on PATH: cgo off)"),
        found.system
    );
    Ok(found)
}

/// `…/bin/NAME` (after following links) → `…`.
fn prefix_of(program: &Path, name: &str) -> Result<PathBuf> {
    let real = program
        .canonicalize()
        .with_context(|| format!("resolving {}", program.display()))?;
    match real.parent().and_then(Path::parent) {
        Some(prefix) if real.parent().is_some_and(|bin| bin.ends_with("bin")) => {
            Ok(prefix.to_path_buf())
        }
        _ => bail!(
            "{} (found as `{name}` on PATH) is not in a `bin` directory: pass --toolchain FILE",
            real.display()
        ),
    }
}

/// The store path holding `path`, if `path` is inside the store: `/nix/store/<hash>-<name>`.
fn store_path_of(path: &Path) -> Option<PathBuf> {
    let store = StoreDir::default().to_string();
    let rest = path.strip_prefix(&store).ok()?;
    match rest.components().next() {
        Some(Component::Normal(top)) => Some(Path::new(&store).join(top)),
        _ => None,
    }
}

fn nix_system(nix: &Path) -> Result<String> {
    let mut cmd = Command::new(nix);
    cmd.args([
        "--extra-experimental-features",
        "nix-command",
        "config",
        "show",
        "system",
    ]);
    let out = stdout_of(&mut cmd, &format!("{} config show system", nix.display()))?;
    Ok(String::from_utf8_lossy(&out).trim().to_string())
}

/// Runs `cmd`; its standard output, or an error naming `what` with its status and standard error.
fn stdout_of(cmd: &mut Command, what: &str) -> Result<Vec<u8>> {
    let out = cmd.output().with_context(|| format!("running {what}"))?;
    if !out.status.success() {
        bail!(
            "{what} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(out.stdout)
}

#[derive(Debug, Deserialize)]
struct GoEnv {
    #[serde(rename = "GOROOT")]
    root: PathBuf,
    #[serde(rename = "GOVERSION")]
    version: String,
}

fn go_env(go: &Path) -> Result<GoEnv> {
    let mut cmd = Command::new(go);
    cmd.args(["env", "-json", "GOROOT", "GOVERSION"])
        .env("GOTOOLCHAIN", "local");
    let out = stdout_of(
        &mut cmd,
        &format!("{} env -json GOROOT GOVERSION", go.display()),
    )?;
    serde_json::from_slice(&out)
        .with_context(|| format!("reading the output of {} env -json", go.display()))
}

/// The tools `go build` scripts run that a distribution's GOROOT may lack (Debian's has neither).
const GO_TOOLS: [&str; 2] = ["pack", "buildid"];

fn go_in_store(env: &GoEnv, store: &mut dyn Store, scratch: &Path) -> Result<String> {
    let root = env
        .root
        .canonicalize()
        .with_context(|| format!("resolving GOROOT {}", env.root.display()))?;
    if let Some(top) = store_path_of(&root) {
        if top.join("bin/go").exists() {
            return Ok(top.display().to_string());
        }
        return Ok(root.display().to_string());
    }
    let version = env.version.trim_start_matches("go");
    let copy = scratch.join(format!("go-{version}"));
    eprintln!(
        "godrv: adding Go {version} from {} to the store (a copy with links followed)",
        root.display()
    );
    copy_dereferenced(&root, &copy)?;
    let tool_dir = copy.join("pkg/tool").join(host_tool_dir(&copy)?);
    for tool in GO_TOOLS {
        if tool_dir.join(tool).exists() {
            continue;
        }
        let status = Command::new(copy.join("bin/go"))
            .args(["build", "-o"])
            .arg(tool_dir.join(tool))
            .arg(format!("cmd/{tool}"))
            .current_dir(copy.join("src"))
            .env("GOROOT", &copy)
            .env("GOTOOLCHAIN", "local")
            .env("CGO_ENABLED", "0")
            .env("GOFLAGS", "-trimpath")
            .env("GOCACHE", scratch.join("go-tools-cache"))
            .status()
            .with_context(|| format!("building cmd/{tool} for the Go copy"))?;
        if !status.success() {
            bail!(
                "building cmd/{tool} with {} failed ({status})",
                copy.display()
            );
        }
    }
    let _ = std::fs::remove_dir_all(scratch.join("go-tools-cache"));
    store
        .add_source(&format!("go-{version}"), &copy)
        .with_context(|| format!("adding {} to the store", copy.display()))
}

/// `linux_amd64` etc.: the one directory of `pkg/tool` holding `compile`.
fn host_tool_dir(goroot: &Path) -> Result<String> {
    let tools = goroot.join("pkg/tool");
    let mut found = Vec::new();
    for entry in
        std::fs::read_dir(&tools).with_context(|| format!("reading {}", tools.display()))?
    {
        let entry = entry?;
        if entry.path().join("compile").exists() {
            found.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    match found.as_slice() {
        [one] => Ok(one.clone()),
        _ => bail!(
            "{}: expected one directory with a `compile` tool, found {found:?}",
            tools.display()
        ),
    }
}

/// Copies the tree at `from` to `to`, following symbolic links (a GOROOT may be links into
/// another directory, as Debian's is).
fn copy_dereferenced(from: &Path, to: &Path) -> Result<()> {
    let meta = std::fs::metadata(from).with_context(|| format!("reading {}", from.display()))?;
    if meta.is_dir() {
        std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
        for entry in
            std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))?
        {
            let entry = entry?;
            copy_dereferenced(&entry.path(), &to.join(entry.file_name()))?;
        }
    } else {
        std::fs::copy(from, to)
            .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
    }
    Ok(())
}

fn godrv_in_store(store: &mut dyn Store, scratch: &Path) -> Result<String> {
    let exe = std::env::current_exe()
        .and_then(|e| e.canonicalize())
        .context("finding the godrv executable")?;
    if let Some(top) = store_path_of(&exe) {
        if top.join("bin/godrv") == exe {
            return Ok(top.display().to_string());
        }
    }
    let prefix = scratch.join("godrv");
    std::fs::create_dir_all(prefix.join("bin"))?;
    std::fs::copy(&exe, prefix.join("bin/godrv"))
        .with_context(|| format!("copying {}", exe.display()))?;
    eprintln!("godrv: adding {} to the store as godrv", exe.display());
    store
        .add_source("godrv", &prefix)
        .context("adding godrv to the store")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_path_of_takes_the_top_of_a_store_path() {
        assert_eq!(
            store_path_of(Path::new("/nix/store/abc-go-1.27/share/go")),
            Some(PathBuf::from("/nix/store/abc-go-1.27"))
        );
        assert_eq!(store_path_of(Path::new("/usr/lib/go")), None);
        assert_eq!(store_path_of(Path::new("/nix/store")), None);
    }

    #[test]
    fn prefix_of_wants_a_bin_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("bin")).unwrap();
        std::fs::write(dir.path().join("bin/nix"), "").unwrap();
        std::fs::write(dir.path().join("nix"), "").unwrap();
        assert_eq!(
            prefix_of(&dir.path().join("bin/nix"), "nix").unwrap(),
            dir.path().canonicalize().unwrap()
        );
        let err = prefix_of(&dir.path().join("nix"), "nix").unwrap_err();
        assert!(
            err.to_string().contains("not in a `bin` directory"),
            "{err}"
        );
    }

    #[test]
    fn copy_dereferenced_follows_links() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::create_dir_all(real.join("sub")).unwrap();
        std::fs::write(real.join("sub/file"), "x").unwrap();
        let linked = dir.path().join("linked");
        std::fs::create_dir_all(&linked).unwrap();
        std::os::unix::fs::symlink(real.join("sub"), linked.join("sub")).unwrap();
        copy_dereferenced(&linked, &dir.path().join("copy")).unwrap();
        let copied = dir.path().join("copy/sub");
        assert!(!std::fs::symlink_metadata(&copied).unwrap().is_symlink());
        assert_eq!(std::fs::read_to_string(copied.join("file")).unwrap(), "x");
    }
}
