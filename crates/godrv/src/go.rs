//! Running `go`: the one place that sets go's environment (for planning: no network, scratch
//! caches; for downloading: the proxies the builder lets in) and assembles the build flags that
//! `go build -n` and `go test -c -n` share.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{Context, Result};

use crate::process;
use crate::request::BuildRequest;

/// Where the tools are.
#[derive(Clone, Copy)]
pub struct GoTools<'a> {
    pub goroot: &'a Path,
    /// Prefix with `bin/gcc` for cgo, if any.
    pub cc: Option<&'a Path>,
    /// Module cache with the module sources, if the build needs third-party modules.
    pub modcache: Option<&'a Path>,
    /// A GOCACHE holding Go's index of GOROOT's packages (`godrv go-index`), copied into each
    /// scratch GOCACHE before `go` runs: `go build -n` then does not read every std file again.
    /// It holds no build results, so the scripts are the same with it or without it.
    pub go_cache_seed: Option<&'a Path>,
}

/// An environment: variable → value (the last value set wins, as with [`Command::env`]).
pub type Env = BTreeMap<OsString, OsString>;

/// What every `go` godrv runs gets: its GOROOT, no `go.env` file, no toolchain switch, and a
/// HOME, GOCACHE and GOPATH of its own under `scratch`.
fn base_env(env: &mut Env, goroot: &Path, scratch: &Path) {
    for (name, value) in [
        ("HOME", scratch.join("home").into_os_string()),
        ("GOROOT", goroot.as_os_str().to_owned()),
        ("GOCACHE", scratch.join("gocache").into_os_string()),
        ("GOPATH", scratch.join("gopath").into_os_string()),
        ("GOTOOLCHAIN", "local".into()),
        ("GOENV", "off".into()),
    ] {
        env.insert(name.into(), value);
    }
}

/// go's environment when planning: `PATH` with Go, the C compiler and the request's `path`;
/// `PKG_CONFIG_PATH`; the request's `env`; never a download (`GOPROXY=off`: modules come from
/// `tools.modcache`, the vendorHash derivation or the lockfile's modules). The C compiler probes
/// and pkg-config run with it too.
pub fn planner_env(request: &BuildRequest, tools: &GoTools<'_>, scratch: &Path) -> Result<Env> {
    let mut env = Env::new();
    let mut path = vec![tools.goroot.join("bin")];
    if let Some(cc) = tools.cc {
        path.push(cc.join("bin"));
    }
    path.extend(request.path.iter().map(PathBuf::from));
    env.insert("PATH".into(), std::env::join_paths(path)?);
    base_env(&mut env, tools.goroot, scratch);
    env.insert("GOSUMDB".into(), "off".into());
    env.insert("GOFLAGS".into(), "".into());
    if !request.pkg_config_path.is_empty() {
        env.insert(
            "PKG_CONFIG_PATH".into(),
            std::env::join_paths(request.pkg_config_path.iter().map(PathBuf::from))?,
        );
    }
    if tools.modcache.is_none() {
        env.insert(
            "GOMODCACHE".into(),
            scratch.join("gopath/pkg/mod").into_os_string(),
        );
    }
    for (name, value) in &request.env {
        env.insert(name.into(), value.into());
    }
    // Set after the user's env: planning never downloads, and reads the module cache it is given.
    env.insert("GOPROXY".into(), "off".into());
    if let Some(modcache) = tools.modcache {
        env.insert("GOMODCACHE".into(), modcache.as_os_str().to_owned());
    }
    Ok(env)
}

/// Variables of the builder's own environment passed on to `go mod download` besides the ones
/// the fetchers let in (`fetcherImpureEnvVars` of `nix/contract.json`: the proxies and `NETRC`, a
/// netrc file with credentials for private modules): the CA certificates for HTTPS.
const PASS_THROUGH: &[&str] = &["SSL_CERT_FILE", "SSL_CERT_DIR"];

/// go's environment for downloading, in a fixed-output derivation: the proxies of the builder's
/// environment (the contract's `fetcherImpureEnvVars`, [`PASS_THROUGH`] and every variable the
/// derivation lets in with `impureEnvVars`, e.g. added by overrideModAttrs), then the user's
/// `env`.
pub fn download_env(goroot: &Path, user: &BTreeMap<String, String>, scratch: &Path) -> Env {
    let mut env = inherited_download_env();
    env.insert("PATH".into(), goroot.join("bin").into_os_string());
    base_env(&mut env, goroot, scratch);
    for (name, value) in user {
        env.insert(name.into(), value.into());
    }
    env
}

/// The variables of godrv's own environment a download passes on (see [`download_env`]).
pub fn inherited_download_env() -> Env {
    let mut env = Env::new();
    let impure = std::env::var("impureEnvVars").unwrap_or_default();
    let fetchers = &godrv_nix::contract().fetcher_impure_env_vars;
    for name in fetchers
        .iter()
        .map(String::as_str)
        .chain(PASS_THROUGH.iter().copied())
        .chain(impure.split_whitespace())
    {
        if let Some(value) = std::env::var_os(name) {
            env.insert(name.into(), value);
        }
    }
    env
}

/// One `go` command: the program, where it runs, its environment (nothing else of godrv's) and
/// its arguments.
#[derive(Clone)]
pub struct Go {
    program: PathBuf,
    dir: PathBuf,
    env: Env,
    args: Vec<String>,
}

impl Go {
    /// `go` of `goroot`, run in `dir` with exactly `env`.
    pub fn new(goroot: &Path, dir: &Path, env: Env) -> Go {
        Go {
            program: goroot.join("bin/go"),
            dir: dir.to_path_buf(),
            env,
            args: Vec::new(),
        }
    }

    /// `go` with the planner's environment ([`planner_env`]), started in `dir`.
    pub fn planner(
        dir: &Path,
        request: &BuildRequest,
        tools: &GoTools<'_>,
        scratch: &Path,
    ) -> Result<Go> {
        Ok(Go::new(
            tools.goroot,
            dir,
            planner_env(request, tools, scratch)?,
        ))
    }

    /// Sets (or overrides) one variable.
    pub fn env(mut self, name: &str, value: impl Into<OsString>) -> Go {
        self.env.insert(name.into(), value.into());
        self
    }

    pub fn arg(mut self, arg: impl Into<String>) -> Go {
        self.args.push(arg.into());
        self
    }

    pub fn args<S: Into<String>>(mut self, args: impl IntoIterator<Item = S>) -> Go {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// "`go <args>`", for messages.
    pub fn describe(&self) -> String {
        format!("`go {}`", self.args.join(" "))
    }

    /// The command, to run or to change further (e.g. `-modfile=` for `go mod`).
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.current_dir(&self.dir)
            .env_clear()
            .envs(&self.env)
            .args(&self.args);
        cmd
    }

    /// Runs it; its output whatever its exit status (for callers that read go's failures).
    pub fn output(&self) -> Result<Output> {
        self.command()
            .output()
            .with_context(|| format!("running {}", self.program.display()))
    }

    /// Runs it; its output if it succeeded, else an error with the command, the directory and
    /// go's standard error.
    pub fn run(&self) -> Result<Output> {
        process::run(&mut self.command(), &self.describe(), Some(&self.dir))
    }
}

/// `-tags=a,b` when the request has build tags (for `go build`, `go test` and `go list`).
pub fn tags_flag(request: &BuildRequest) -> Option<String> {
    (!request.tags.is_empty()).then(|| format!("-tags={}", request.tags.join(",")))
}

/// The flags of `go build -n` and `go test -c -n`: `-trimpath` unless `allowGoReference`,
/// `-buildvcs=false`, `-o <out>/` (if given), the tags, the request's `ldflags` (if `ldflags`)
/// and its `goFlags`.
pub fn build_flags(request: &BuildRequest, out: Option<&Path>, ldflags: bool) -> Vec<String> {
    let mut flags = Vec::new();
    if !request.allow_go_reference {
        flags.push("-trimpath".to_string());
    }
    flags.push("-buildvcs=false".to_string());
    if let Some(out) = out {
        flags.push("-o".to_string());
        flags.push(format!("{}/", out.display()));
    }
    flags.extend(tags_flag(request));
    if ldflags && !request.ldflags.is_empty() {
        flags.push(format!("-ldflags={}", request.ldflags.join(" ")));
    }
    flags.extend(request.go_flags.iter().cloned());
    flags
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tools(modcache: Option<&Path>) -> GoTools<'_> {
        GoTools {
            goroot: Path::new("/go"),
            cc: None,
            modcache,
            go_cache_seed: None,
        }
    }

    fn get<'a>(env: &'a Env, name: &str) -> Option<&'a str> {
        env.get(&OsString::from(name)).and_then(|v| v.to_str())
    }

    #[test]
    fn planning_never_downloads_whatever_the_users_env_says() {
        let mut request = BuildRequest::default();
        request.env.insert("GOPROXY".into(), "https://proxy".into());
        request.env.insert("GOMODCACHE".into(), "/mine".into());
        request
            .env
            .insert("GOSUMDB".into(), "sum.golang.org".into());
        let env =
            planner_env(&request, &tools(Some(Path::new("/cache"))), Path::new("/s")).unwrap();
        assert_eq!(get(&env, "GOPROXY"), Some("off"));
        assert_eq!(get(&env, "GOMODCACHE"), Some("/cache"));
        // What the user may set still wins.
        assert_eq!(get(&env, "GOSUMDB"), Some("sum.golang.org"));
        // Without a module cache the user's GOMODCACHE is kept, else the scratch one.
        let env = planner_env(&request, &tools(None), Path::new("/s")).unwrap();
        assert_eq!(get(&env, "GOMODCACHE"), Some("/mine"));
        request.env.clear();
        let env = planner_env(&request, &tools(None), Path::new("/s")).unwrap();
        assert_eq!(get(&env, "GOMODCACHE"), Some("/s/gopath/pkg/mod"));
        assert_eq!(get(&env, "GOCACHE"), Some("/s/gocache"));
        assert_eq!(get(&env, "PATH"), Some("/go/bin"));
    }

    #[test]
    fn build_and_test_scripts_get_the_same_flags() {
        let mut request = BuildRequest::default();
        assert_eq!(
            build_flags(&request, None, true),
            ["-trimpath", "-buildvcs=false"]
        );
        request.tags = vec!["a".into(), "b".into()];
        request.ldflags = vec!["-s".into(), "-w".into()];
        request.go_flags = vec!["-mod=vendor".into()];
        request.allow_go_reference = true;
        assert_eq!(
            build_flags(&request, Some(Path::new("/bin")), true),
            [
                "-buildvcs=false",
                "-o",
                "/bin/",
                "-tags=a,b",
                "-ldflags=-s -w",
                "-mod=vendor"
            ]
        );
        assert_eq!(
            build_flags(&request, None, false),
            ["-buildvcs=false", "-tags=a,b", "-mod=vendor"]
        );
    }
}
