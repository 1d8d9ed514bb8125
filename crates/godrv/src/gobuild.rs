//! Ask `go` for its build script: `go build -n` with an empty cache, in a controlled environment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

/// What to build, with buildGoModule's argument names (see `nix/README.md`).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BuildRequest {
    /// Directory of `go.mod` relative to the source root (`modRoot`).
    #[serde(default)]
    pub mod_root: String,
    /// Packages to build, relative to `modRoot` (default: `./...`, the main packages of the module).
    #[serde(default)]
    pub sub_packages: Vec<String>,
    /// Linker flags, joined into one `-ldflags` argument.
    #[serde(default)]
    pub ldflags: Vec<String>,
    /// Build tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Extra `go build` flags.
    #[serde(default)]
    pub go_flags: Vec<String>,
    /// Environment for `go` (`CGO_ENABLED`, `GOOS`, `GOARCH`, `GOFLAGS`, …).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

/// Where the tools are.
pub struct GoTools<'a> {
    pub goroot: &'a Path,
    /// Prefix with `bin/gcc` for cgo, if any.
    pub cc: Option<&'a Path>,
    /// Module cache with the module sources, if the build needs third-party modules.
    pub modcache: Option<&'a Path>,
}

/// The script and the directory it was produced in.
pub struct Script {
    pub text: String,
    pub start_dir: PathBuf,
}

/// Runs `go build -n` for `request` in `src_root/modRoot`.
pub fn build_script(
    src_root: &Path,
    request: &BuildRequest,
    tools: &GoTools<'_>,
    scratch: &Path,
) -> Result<Script> {
    let start_dir = src_root.join(&request.mod_root);
    if !start_dir.join("go.mod").is_file() && !start_dir.join("go.work").is_file() {
        bail!(
            "{} has no go.mod: godrv builds Go modules; run `go mod init <module path>` there or set modRoot to the directory that has go.mod",
            start_dir.display()
        );
    }
    let home = scratch.join("home");
    for dir in ["home", "gocache", "gopath", "bin"] {
        std::fs::create_dir_all(scratch.join(dir))
            .with_context(|| format!("creating {}", scratch.join(dir).display()))?;
    }
    let go = tools.goroot.join("bin/go");
    let mut cmd = Command::new(&go);
    cmd.current_dir(&start_dir).env_clear();
    let mut path = vec![tools.goroot.join("bin")];
    if let Some(cc) = tools.cc {
        path.push(cc.join("bin"));
    }
    cmd.env("PATH", std::env::join_paths(path)?)
        .env("HOME", &home)
        .env("GOROOT", tools.goroot)
        .env("GOCACHE", scratch.join("gocache"))
        .env("GOPATH", scratch.join("gopath"))
        .env("GOTOOLCHAIN", "local")
        .env("GOPROXY", "off")
        .env("GOSUMDB", "off")
        .env("GOENV", "off")
        .env("GOFLAGS", "");
    match tools.modcache {
        Some(modcache) => cmd.env("GOMODCACHE", modcache),
        None => cmd.env("GOMODCACHE", scratch.join("gopath/pkg/mod")),
    };
    for (name, value) in &request.env {
        cmd.env(name, value);
    }
    let mut args: Vec<String> = vec![
        "build".into(),
        "-n".into(),
        "-trimpath".into(),
        "-buildvcs=false".into(),
    ];
    args.push("-o".into());
    args.push(format!("{}/", scratch.join("bin").display()));
    if !request.tags.is_empty() {
        args.push(format!("-tags={}", request.tags.join(",")));
    }
    if !request.ldflags.is_empty() {
        args.push(format!("-ldflags={}", request.ldflags.join(" ")));
    }
    args.extend(request.go_flags.iter().cloned());
    if request.sub_packages.is_empty() {
        args.push("./...".into());
    } else {
        args.extend(request.sub_packages.iter().map(|p| normalize_package(p)));
    }
    cmd.args(&args);
    let output = cmd
        .output()
        .with_context(|| format!("running {}", go.display()))?;
    let text = String::from_utf8(output.stderr).context("go build -n printed non-UTF-8 text")?;
    if !output.status.success() {
        bail!(
            "`go {}` failed in {} ({}):\n{}",
            args.join(" "),
            start_dir.display(),
            output.status,
            text.trim_end()
        );
    }
    Ok(Script { text, start_dir })
}

/// `cmd/hello` → `./cmd/hello` (as buildGoModule's subPackages are relative to modRoot).
fn normalize_package(package: &str) -> String {
    if package == "." || package.starts_with("./") || package.starts_with("../") {
        package.to_string()
    } else {
        format!("./{package}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_packages_are_relative_to_mod_root() {
        assert_eq!(normalize_package("cmd/hello"), "./cmd/hello");
        assert_eq!(normalize_package("."), ".");
        assert_eq!(normalize_package("./x"), "./x");
    }

    #[test]
    fn missing_go_mod_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let tools = GoTools {
            goroot: Path::new("/nonexistent"),
            cc: None,
            modcache: None,
        };
        let err = build_script(dir.path(), &BuildRequest::default(), &tools, dir.path())
            .err()
            .unwrap();
        assert!(err.to_string().contains("has no go.mod"), "{err}");
        assert!(err.to_string().contains("go mod init"), "{err}");
    }
}
