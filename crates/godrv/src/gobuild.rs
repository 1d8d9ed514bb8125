//! Ask `go` for its build script: `go build -n` with an empty cache, in a controlled environment.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use godrv_plan::gotest::TestedPackage;
use godrv_script::ActionId;
use serde::{Deserialize, Serialize};

use crate::modfiles::PrivateModFiles;

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
    /// Packages left out of `./...` (buildGoModule's `excludedPackages`): a package whose import
    /// path or directory (relative to modRoot, `./x/y`) contains one of these strings is not built.
    /// Ignored when `subPackages` is given.
    #[serde(default)]
    pub excluded_packages: Vec<String>,
    /// Directories put on `PATH` after Go's and the C compiler's (the `bin` directories of
    /// `nativeBuildInputs` and `buildInputs`, e.g. `pkg-config`).
    #[serde(default)]
    pub path: Vec<String>,
    /// `PKG_CONFIG_PATH` entries (`lib/pkgconfig`, `share/pkgconfig` of the inputs). `go build -n`
    /// prints its `pkg-config` queries instead of running them: the planner runs them
    /// ([`pkg_config`]) and puts the flags into the commands (`godrv_plan::pkgconfig`).
    #[serde(default)]
    pub pkg_config_path: Vec<String>,
    /// buildGoModule's `allowGoReference`: `false` (the default) builds with `-trimpath` and makes
    /// every link fail if its output names GOROOT; `true` builds without `-trimpath` and allows it.
    #[serde(default)]
    pub allow_go_reference: bool,
    /// Go tests (`doCheck`, `checkFlags`; see `godrv_plan::gotest`).
    #[serde(default)]
    pub check: CheckRequest,
    /// `package`: one derivation per package; `module`: the standard library as one derivation
    /// (see `godrv_plan::group`).
    #[serde(default)]
    pub granularity: godrv_plan::group::Granularity,
}

/// What to do with the packages' tests.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CheckRequest {
    /// `run` (`doCheck = true`), `binaries` (build the test binaries only), or null: no tests.
    #[serde(default)]
    pub mode: Option<godrv_plan::gotest::CheckMode>,
    /// `checkFlags`: flags for the test binaries, as given to `go test` (`-run X`, `-v`).
    #[serde(default)]
    pub flags: Vec<String>,
    /// `checkData`: what test runs see besides their package directory, for tests that read
    /// files outside it: import path (or `*`, every package) → paths relative to `modRoot`
    /// (`godrv_plan::gotest::CheckData`).
    #[serde(default)]
    pub data: BTreeMap<String, Vec<String>>,
}

/// Variables of `env` that go passes to its tools without printing them in `go build -n`.
const TOOL_ENV: &[&str] = &[
    "GOOS",
    "GOARCH",
    "GOEXPERIMENT",
    "GO386",
    "GOAMD64",
    "GOARM",
    "GOARM64",
    "GOMIPS",
    "GOMIPS64",
    "GOPPC64",
    "GORISCV64",
    "GOWASM",
];

impl BuildRequest {
    /// The variables of `env` that `compile`, `asm` and `link` read (`GOOS`, `GOARCH`, …).
    pub fn tool_env(&self) -> Vec<(String, String)> {
        TOOL_ENV
            .iter()
            .filter_map(|name| Some((name.to_string(), self.env.get(*name)?.clone())))
            .collect()
    }

    /// `<goos>_<goarch>` when `GOOS`/`GOARCH` in `env` differ from the machine godrv runs on (a
    /// cross build): binaries then go to `$out/bin/<goos>_<goarch>/`, as with buildGoModule.
    pub fn cross_bin_subdir(&self) -> Option<String> {
        let host_os = std::env::consts::OS;
        let host_arch = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            "x86" => "386",
            "powerpc64" => "ppc64le",
            "riscv64" => "riscv64",
            other => other,
        };
        let goos = self.env.get("GOOS").map_or(host_os, String::as_str);
        let goarch = self.env.get("GOARCH").map_or(host_arch, String::as_str);
        (goos != host_os || goarch != host_arch).then(|| format!("{goos}_{goarch}"))
    }
}

/// Where the tools are.
#[derive(Clone, Copy)]
pub struct GoTools<'a> {
    pub goroot: &'a Path,
    /// Prefix with `bin/gcc` for cgo, if any.
    pub cc: Option<&'a Path>,
    /// Module cache with the module sources, if the build needs third-party modules.
    pub modcache: Option<&'a Path>,
    /// A GOCACHE holding Go's index of GOROOT's packages ([`go_index`]), copied into each
    /// scratch GOCACHE before `go` runs: `go build -n` then does not read every std file again.
    /// It holds no build results, so the scripts are the same with it or without it.
    pub go_cache_seed: Option<&'a Path>,
}

/// Copies `tools.go_cache_seed`, if any, into `scratch/gocache`.
fn seed_go_cache(tools: &GoTools<'_>, scratch: &Path) -> Result<()> {
    match tools.go_cache_seed {
        Some(seed) => copy_tree(seed, &scratch.join("gocache"))
            .with_context(|| format!("copying the Go index {}", seed.display())),
        None => Ok(()),
    }
}

/// Writes to `out` a GOCACHE that holds Go's module index of GOROOT/src and nothing else: what
/// `go list std` leaves in an empty cache (no build results). The planner copies it into its
/// GOCACHE (see [`GoTools::go_cache_seed`]). `trim.txt` (the time of the last trim) is left out so
/// that the output does not depend on the clock.
pub fn go_index(goroot: &Path, out: &Path, scratch: &Path) -> Result<()> {
    for dir in ["home", "gopath"] {
        std::fs::create_dir_all(scratch.join(dir))
            .with_context(|| format!("creating {}", scratch.join(dir).display()))?;
    }
    let tools = GoTools {
        goroot,
        cc: None,
        modcache: None,
        go_cache_seed: None,
    };
    let output = go_command(scratch, &BuildRequest::default(), &tools, scratch)?
        .env("GOCACHE", out)
        .env("CGO_ENABLED", "0")
        .args(["list", "std"])
        .output()
        .with_context(|| format!("running {}", goroot.join("bin/go").display()))?;
    if !output.status.success() {
        bail!(
            "`go list std` failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim_end()
        );
    }
    let trim = out.join("trim.txt");
    if trim.exists() {
        std::fs::remove_file(&trim).with_context(|| format!("removing {}", trim.display()))?;
    }
    for dir in read_dir(out)? {
        if !dir.is_dir() {
            continue;
        }
        for entry in read_dir(&dir)? {
            if entry.to_string_lossy().ends_with("-a") {
                let text = std::fs::read_to_string(&entry)
                    .with_context(|| format!("reading {}", entry.display()))?;
                match without_entry_time(&text) {
                    Some(fixed) => std::fs::write(&entry, fixed)
                        .with_context(|| format!("writing {}", entry.display()))?,
                    None => eprintln!(
                        "godrv: {}: not a Go cache entry godrv knows (`v1 <id> <id> <size> <time>`); left as is, so this output is not reproducible",
                        entry.display()
                    ),
                }
            }
        }
    }
    Ok(())
}

/// A Go cache action entry (`v1 <action id> <output id> <size> <time>\n`, the numbers
/// right-aligned in 20 columns) with its time (when it was written, in ns) set to 0, the only
/// part that depends on the clock; `None` if `entry` is not in that form.
fn without_entry_time(entry: &str) -> Option<String> {
    let line = entry.strip_suffix('\n')?;
    let (head, time) = line.split_at(line.len().checked_sub(20)?);
    let fields: Vec<&str> = head.split_whitespace().collect();
    let well_formed = matches!(fields.as_slice(), ["v1", a, o, size]
        if a.len() == 64 && o.len() == 64 && size.parse::<u64>().is_ok())
        && time.trim_start().parse::<u64>().is_ok()
        && head.ends_with(' ');
    well_formed.then(|| format!("{head}{:>20}\n", 0))
}

/// The script and the directory it was produced in.
pub struct Script {
    pub text: String,
    pub start_dir: PathBuf,
}

/// What `go build -n` builds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Packages {
    /// The request's packages of the module in `src_root/modRoot`.
    Module,
    /// Every package of the standard library (`go build -n std`, started in an empty directory
    /// outside any module), with the request's flags and environment: the same std actions as in
    /// any program's script built with them.
    Std,
    /// Every package of the third-party modules the module in `src_root/modRoot` requires that
    /// `go list` loads without error for the request's settings (main packages left out), built
    /// from a tree that holds only the module's `go.mod` and `go.sum`: the packages of those
    /// modules any program with that `go.mod` can import, with the same actions as in its script.
    Deps,
}

/// Runs `go build -n` for `request` in `src_root/modRoot` (see [`Packages`]).
pub fn build_script(
    src_root: &Path,
    request: &BuildRequest,
    tools: &GoTools<'_>,
    scratch: &Path,
    what: Packages,
) -> Result<Script> {
    let start_dir = match what {
        Packages::Module | Packages::Deps => src_root.join(&request.mod_root),
        Packages::Std => scratch.join("std"),
    };
    if what == Packages::Std {
        std::fs::create_dir_all(&start_dir)
            .with_context(|| format!("creating {}", start_dir.display()))?;
    } else if !start_dir.join("go.mod").is_file() && !start_dir.join("go.work").is_file() {
        bail!(
            "{} has no go.mod: godrv builds Go modules; run `go mod init <module path>` there or set modRoot to the directory that has go.mod",
            start_dir.display()
        );
    }
    for dir in ["home", "gocache", "gopath", "bin"] {
        std::fs::create_dir_all(scratch.join(dir))
            .with_context(|| format!("creating {}", scratch.join(dir).display()))?;
    }
    seed_go_cache(tools, scratch)?;
    let packages = match what {
        Packages::Module => package_args(&start_dir, request, tools, scratch)?,
        Packages::Std => vec!["std".to_string()],
        Packages::Deps => {
            let packages = dependency_packages(&start_dir, request, tools, scratch)?;
            if packages.is_empty() {
                return Ok(Script {
                    text: String::new(),
                    start_dir,
                });
            }
            packages
        }
    };
    let mut args: Vec<String> = vec!["build".into(), "-n".into()];
    if !request.allow_go_reference {
        args.push("-trimpath".into());
    }
    args.push("-buildvcs=false".into());
    if what == Packages::Module {
        args.push("-o".into());
        let mut bin = scratch.join("bin");
        if let Some(subdir) = request.cross_bin_subdir() {
            bin = bin.join(subdir);
        }
        args.push(format!("{}/", bin.display()));
    }
    if !request.tags.is_empty() {
        args.push(format!("-tags={}", request.tags.join(",")));
    }
    if what == Packages::Module && !request.ldflags.is_empty() {
        args.push(format!("-ldflags={}", request.ldflags.join(" ")));
    }
    args.extend(request.go_flags.iter().cloned());
    args.extend(packages);
    let text = go_script(&start_dir, request, tools, scratch, &args)?;
    Ok(Script { text, start_dir })
}

/// Runs a `go … -n` command, which prints its script on standard error: that text, or an error
/// with it.
fn go_script(
    start_dir: &Path,
    request: &BuildRequest,
    tools: &GoTools<'_>,
    scratch: &Path,
    args: &[String],
) -> Result<String> {
    let output = go_command(start_dir, request, tools, scratch)?
        .args(args)
        .output()
        .with_context(|| format!("running {}", tools.goroot.join("bin/go").display()))?;
    let text = String::from_utf8(output.stderr)
        .with_context(|| format!("`go {}` printed non-UTF-8 text", args.join(" ")))?;
    if !output.status.success() {
        bail!(
            "`go {}` failed in {} ({}):\n{}",
            args.join(" "),
            start_dir.display(),
            output.status,
            text.trim_end()
        );
    }
    Ok(text)
}

/// The package arguments of `go build`/`go test`: `subPackages`, or `./...` without
/// `excludedPackages`.
fn package_args(
    start_dir: &Path,
    request: &BuildRequest,
    tools: &GoTools<'_>,
    scratch: &Path,
) -> Result<Vec<String>> {
    Ok(if !request.sub_packages.is_empty() {
        request
            .sub_packages
            .iter()
            .map(|p| normalize_package(p))
            .collect()
    } else if !request.excluded_packages.is_empty() {
        let listed = list_packages(start_dir, request, tools, scratch)?;
        let kept = exclude_packages(&listed, &request.excluded_packages);
        if kept.is_empty() {
            bail!(
                "excludedPackages ({}) leaves no package of ./... to build in {}",
                request.excluded_packages.join(", "),
                start_dir.display()
            );
        }
        kept
    } else {
        vec!["./...".to_string()]
    })
}

/// The packages [`Packages::Deps`] builds: `go list -m all` names the required modules whose
/// sources are in the module cache, `go list -e` their packages; kept are those that load without
/// error (their own or a dependency's) and are not commands.
fn dependency_packages(
    start_dir: &Path,
    request: &BuildRequest,
    tools: &GoTools<'_>,
    scratch: &Path,
) -> Result<Vec<String>> {
    let modules = run_go(
        start_dir,
        request,
        tools,
        scratch,
        &[
            "list".into(),
            "-m".into(),
            // go asks for each module's .info, which the module cache does not keep: -e puts
            // that error into the module's Error field instead of failing.
            "-e".into(),
            "-f".into(),
            "{{if and .Dir (not .Main)}}{{.Path}}/...{{end}}".into(),
            "all".into(),
        ],
    )?;
    let patterns: Vec<String> = String::from_utf8_lossy(&modules)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    if patterns.is_empty() {
        return Ok(Vec::new());
    }
    let mut args = vec![
        "list".to_string(),
        "-e".to_string(),
        "-f".to_string(),
        "{{if not (or .Standard .Error .DepsErrors (eq .Name \"main\"))}}{{.ImportPath}}{{end}}"
            .to_string(),
    ];
    if !request.tags.is_empty() {
        args.push(format!("-tags={}", request.tags.join(",")));
    }
    args.extend(patterns);
    let listed = run_go(start_dir, request, tools, scratch, &args)?;
    let packages: BTreeSet<String> = String::from_utf8_lossy(&listed)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    Ok(packages.into_iter().collect())
}

/// `go list -json` output, the fields godrv asks for.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListedPackage {
    import_path: String,
    dir: PathBuf,
    #[serde(default)]
    test_go_files: Vec<String>,
    #[serde(default)]
    x_test_go_files: Vec<String>,
}

/// The test script and what goes with it.
pub struct TestScript {
    /// `go test -c -n` of every package with tests.
    pub script: Script,
    /// Those packages.
    pub packages: Vec<TestedPackage>,
    /// The `_testmain.go` go generated for each test main, by its `$WORK/bNNN` directory.
    pub testmains: BTreeMap<ActionId, String>,
}

/// Runs `go test -c -n` for the packages of `request` that have test files (`None`: no package
/// has any: nothing to test), and gets the `_testmain.go` files go generates for them.
///
/// `go test -n` never prints `_testmain.go`. go writes it while it sets up the actions, before it
/// runs any tool; so `go test -c -work` with a `-toolexec` program that does not exist writes
/// every `_testmain.go` into the kept work directory and stops at the first tool (in ~0.1 s,
/// nothing compiled). The work directories are numbered as in the `-n` script (same go, flags and
/// packages), which `godrv_plan::gotest::add_testmains` checks.
pub fn test_script(
    src_root: &Path,
    request: &BuildRequest,
    tools: &GoTools<'_>,
    scratch: &Path,
) -> Result<Option<TestScript>> {
    let start_dir = src_root.join(&request.mod_root);
    for dir in ["home", "gocache", "gopath", "testbin", "gotmp"] {
        std::fs::create_dir_all(scratch.join(dir))
            .with_context(|| format!("creating {}", scratch.join(dir).display()))?;
    }
    seed_go_cache(tools, scratch)?;
    let patterns = package_args(&start_dir, request, tools, scratch)?;
    let mut list = vec![
        "list".to_string(),
        "-json=ImportPath,Dir,TestGoFiles,XTestGoFiles".to_string(),
    ];
    if !request.tags.is_empty() {
        list.push(format!("-tags={}", request.tags.join(",")));
    }
    list.extend(patterns.iter().cloned());
    let output = run_go(&start_dir, request, tools, scratch, &list)?;
    let listed = serde_json::Deserializer::from_slice(&output)
        .into_iter::<ListedPackage>()
        .collect::<std::result::Result<Vec<_>, _>>()
        .context("reading the output of `go list -json`")?;
    let mut packages = Vec::new();
    for p in listed {
        if p.test_go_files.is_empty() && p.x_test_go_files.is_empty() {
            continue;
        }
        let dir = p.dir.strip_prefix(src_root).with_context(|| {
            format!(
                "package {} is in {}, outside the source tree {}",
                p.import_path,
                p.dir.display(),
                src_root.display()
            )
        })?;
        packages.push(TestedPackage {
            import_path: p.import_path,
            dir: dir.to_string_lossy().into_owned(),
        });
    }
    if packages.is_empty() {
        return Ok(None);
    }
    let mut flags = vec!["-c".to_string(), "-vet=off".to_string()];
    // As for the build: allowGoReference = true builds without -trimpath.
    if !request.allow_go_reference {
        flags.push("-trimpath".to_string());
    }
    flags.extend([
        "-buildvcs=false".to_string(),
        "-o".to_string(),
        format!("{}/", scratch.join("testbin").display()),
    ]);
    if !request.tags.is_empty() {
        flags.push(format!("-tags={}", request.tags.join(",")));
    }
    if !request.ldflags.is_empty() {
        flags.push(format!("-ldflags={}", request.ldflags.join(" ")));
    }
    flags.extend(request.go_flags.iter().cloned());
    let names: Vec<String> = packages.iter().map(|p| p.import_path.clone()).collect();

    let mut args = vec!["test".to_string(), "-n".to_string()];
    args.extend(flags.iter().cloned());
    args.extend(names.iter().cloned());
    let text = go_script(&start_dir, request, tools, scratch, &args)?;

    let gotmp = scratch.join("gotmp");
    let mut args = vec!["test".to_string(), "-work".to_string()];
    args.extend(flags);
    args.push(format!(
        "-toolexec={}",
        scratch.join("no-such-tool").display()
    ));
    args.extend(names);
    let mut cmd = go_command(&start_dir, request, tools, scratch)?;
    let output = cmd
        .env("GOTMPDIR", &gotmp)
        .args(&args)
        .output()
        .with_context(|| format!("running {}", tools.goroot.join("bin/go").display()))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let work = stderr
        .lines()
        .find_map(|l| l.strip_prefix("WORK="))
        .map(PathBuf::from)
        .with_context(|| {
            format!(
                "`go {}` in {} did not print its work directory (WORK=…), so godrv has no _testmain.go ({}):\n{}",
                args.join(" "),
                start_dir.display(),
                output.status,
                stderr.trim_end()
            )
        })?;
    let mut testmains = BTreeMap::new();
    for entry in std::fs::read_dir(&work).with_context(|| format!("reading {}", work.display()))? {
        let dir = entry
            .with_context(|| format!("reading {}", work.display()))?
            .path();
        let file = dir.join("_testmain.go");
        let id = dir
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.parse::<ActionId>().ok());
        if let (Some(id), true) = (id, file.is_file()) {
            let contents = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            testmains.insert(id, contents);
        }
    }
    Ok(Some(TestScript {
        script: Script { text, start_dir },
        packages,
        testmains,
    }))
}

/// Runs go with `args`; its standard output, or an error with its standard error.
fn run_go(
    start_dir: &Path,
    request: &BuildRequest,
    tools: &GoTools<'_>,
    scratch: &Path,
    args: &[String],
) -> Result<Vec<u8>> {
    let output = go_command(start_dir, request, tools, scratch)?
        .args(args)
        .output()
        .with_context(|| format!("running {}", tools.goroot.join("bin/go").display()))?;
    if !output.status.success() {
        bail!(
            "`go {}` failed in {} ({}):\n{}",
            args.join(" "),
            start_dir.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim_end()
        );
    }
    Ok(output.stdout)
}

/// `go` with the planner's environment, started in `start_dir`.
fn go_command(
    start_dir: &Path,
    request: &BuildRequest,
    tools: &GoTools<'_>,
    scratch: &Path,
) -> Result<Command> {
    let go = tools.goroot.join("bin/go");
    let mut cmd = Command::new(&go);
    cmd.current_dir(start_dir).env_clear();
    let mut path = vec![tools.goroot.join("bin")];
    if let Some(cc) = tools.cc {
        path.push(cc.join("bin"));
    }
    path.extend(request.path.iter().map(PathBuf::from));
    cmd.env("PATH", std::env::join_paths(path)?)
        .env("HOME", scratch.join("home"))
        .env("GOROOT", tools.goroot)
        .env("GOCACHE", scratch.join("gocache"))
        .env("GOPATH", scratch.join("gopath"))
        .env("GOTOOLCHAIN", "local")
        .env("GOPROXY", "off")
        .env("GOSUMDB", "off")
        .env("GOENV", "off")
        .env("GOFLAGS", "");
    if !request.pkg_config_path.is_empty() {
        cmd.env(
            "PKG_CONFIG_PATH",
            std::env::join_paths(request.pkg_config_path.iter().map(PathBuf::from))?,
        );
    }
    match tools.modcache {
        Some(modcache) => cmd.env("GOMODCACHE", modcache),
        None => cmd.env("GOMODCACHE", scratch.join("gopath/pkg/mod")),
    };
    for (name, value) in &request.env {
        cmd.env(name, value);
    }
    // Planning never downloads: modules come from the module cache (the vendorHash derivation).
    cmd.env("GOPROXY", "off");
    if let Some(modcache) = tools.modcache {
        cmd.env("GOMODCACHE", modcache);
    }
    Ok(cmd)
}

/// Runs one of the pkg-config queries `go build -n` printed (`pkg-config --cflags -- zlib`) in the
/// package directory `cwd`, with the planner's environment (`PATH` with the inputs' `bin`,
/// `PKG_CONFIG_PATH` from the inputs, `env`), and splits its output into words as go does.
pub fn pkg_config(
    request: &BuildRequest,
    tools: &GoTools<'_>,
    scratch: &Path,
    cwd: &Path,
    argv: &[String],
) -> Result<Vec<String>> {
    // go's environment for the planner; only its variables are used.
    let env = go_command(cwd, request, tools, scratch)?;
    let path = env
        .get_envs()
        .find(|(name, _)| *name == "PATH")
        .and_then(|(_, path)| path);
    // Resolved on the planner's PATH (Command would look it up on godrv's own).
    let program = find_program(&argv[0], path).with_context(|| {
        format!(
            "`{}` (for `#cgo pkg-config:` in {}) is not on PATH; help: add pkg-config to nativeBuildInputs",
            argv[0],
            cwd.display()
        )
    })?;
    let mut run = Command::new(&program);
    run.args(&argv[1..]).current_dir(cwd).env_clear();
    for (name, value) in env.get_envs() {
        if let Some(value) = value {
            run.env(name, value);
        }
    }
    let output = run
        .output()
        .with_context(|| format!("running {}", program.display()))?;
    if !output.status.success() {
        bail!(
            "`{}` failed in {} ({}) for `#cgo pkg-config:`:\n{}\nhelp: add the library (with its .pc file in lib/pkgconfig or share/pkgconfig) to buildInputs",
            argv.join(" "),
            cwd.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim_end()
        );
    }
    let text = String::from_utf8(output.stdout).context("pkg-config printed non-UTF-8 text")?;
    godrv_plan::pkgconfig::split_output(&text)
        .with_context(|| format!("reading the output of `{}`", argv.join(" ")))
}

/// `program` itself if it has a slash, else the first `dir/program` of `path` that is a file.
fn find_program(program: &str, path: Option<&std::ffi::OsStr>) -> Option<PathBuf> {
    if program.contains('/') {
        return Some(PathBuf::from(program));
    }
    std::env::split_paths(path?)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// `go list` of `./...`: each package's import path and directory relative to `start_dir`.
fn list_packages(
    start_dir: &Path,
    request: &BuildRequest,
    tools: &GoTools<'_>,
    scratch: &Path,
) -> Result<Vec<(String, String)>> {
    let mut args = vec!["list".to_string()];
    if !request.tags.is_empty() {
        args.push(format!("-tags={}", request.tags.join(",")));
    }
    args.extend([
        "-f".into(),
        "{{.ImportPath}} {{.Dir}}".into(),
        "./...".into(),
    ]);
    let output = run_go(start_dir, request, tools, scratch, &args)?;
    let text = String::from_utf8(output).context("go list printed non-UTF-8 text")?;
    Ok(text
        .lines()
        .filter_map(|line| line.split_once(' '))
        .map(|(import, dir)| {
            let rel = Path::new(dir)
                .strip_prefix(start_dir)
                .map(|r| format!("./{}", r.display()))
                .unwrap_or_else(|_| dir.to_string());
            (import.to_string(), rel.trim_end_matches('/').to_string())
        })
        .collect())
}

/// Runs the C compiler probes go printed (and assumed failed) under `-n`: which optional flags
/// the build's C compilers accept (see `godrv_plan::cc`).
pub fn run_c_probes(
    probes: &[godrv_plan::cc::Probe],
    start_dir: &Path,
    request: &BuildRequest,
    tools: &GoTools<'_>,
    scratch: &Path,
) -> Result<BTreeMap<String, BTreeSet<String>>> {
    let mut supported: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for probe in probes {
        // go_command's environment (PATH with the C compiler, CGO_* from env), another program.
        let go = go_command(start_dir, request, tools, scratch)?;
        let mut cmd = Command::new(&probe.argv[0]);
        cmd.args(&probe.argv[1..])
            .current_dir(scratch)
            .env_clear()
            .envs(go.get_envs().filter_map(|(k, v)| Some((k, v?))))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let accepted = cmd
            .status()
            .with_context(|| {
                format!(
                    "running the C compiler probe `{}` (is the C compiler `{}` on PATH?)",
                    probe.argv.join(" "),
                    probe.compiler
                )
            })?
            .success();
        let flags = supported.entry(probe.compiler.clone()).or_default();
        if accepted {
            flags.insert(probe.flag.clone());
        }
    }
    Ok(supported)
}

/// For each of `packages`, the directory `go build -trimpath` maps in C debug information and
/// what it maps it to (`ccompile` in cmd/go/internal/work/exec.go), from `go list`.
pub fn c_trim_dirs(
    packages: &BTreeSet<String>,
    start_dir: &Path,
    request: &BuildRequest,
    tools: &GoTools<'_>,
    scratch: &Path,
) -> Result<BTreeMap<String, (String, String)>> {
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Listed {
        import_path: String,
        #[serde(default)]
        dir: String,
        #[serde(default)]
        module: Option<ListedModule>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct ListedModule {
        path: String,
        #[serde(default)]
        version: String,
        #[serde(default)]
        dir: String,
    }
    if packages.is_empty() {
        return Ok(BTreeMap::new());
    }
    let mut args = vec![
        "list".to_string(),
        "-json=ImportPath,Dir,Module".to_string(),
    ];
    if !request.tags.is_empty() {
        args.push(format!("-tags={}", request.tags.join(",")));
    }
    args.extend(packages.iter().cloned());
    let output = run_go(start_dir, request, tools, scratch, &args)?;
    let mut dirs = BTreeMap::new();
    for listed in serde_json::Deserializer::from_slice(&output).into_iter::<Listed>() {
        let p = listed.context("reading the output of `go list -json`")?;
        let (from, to) = match p.module {
            None => (p.dir, p.import_path.clone()),
            // Vendored: the whole vendor directory.
            Some(m) if m.dir.is_empty() => (
                p.dir
                    .strip_suffix(&format!("/{}", p.import_path))
                    .unwrap_or(&p.dir)
                    .to_string(),
                "vendor".to_string(),
            ),
            Some(m) if m.version.is_empty() => (m.dir, m.path),
            Some(m) => (m.dir, format!("{}@{}", m.path, m.version)),
        };
        dirs.insert(p.import_path, (from, format!("/_/{to}")));
    }
    Ok(dirs)
}

/// The import paths of `packages` (import path, `./dir`) whose path and directory contain none of
/// `excluded`.
fn exclude_packages(packages: &[(String, String)], excluded: &[String]) -> Vec<String> {
    packages
        .iter()
        .filter(|(import, dir)| {
            !excluded
                .iter()
                .any(|e| import.contains(e.as_str()) || dir.contains(e.as_str()))
        })
        .map(|(import, _)| import.clone())
        .collect()
}

/// What `godrv modules` downloads: every module `go.mod`/`go.sum` of `src/modRoot` needs.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ModulesRequest {
    /// The source tree (a store path).
    pub src: String,
    /// The Go toolchain: a GOROOT with `bin/go`.
    pub go: String,
    /// Directory of `go.mod` relative to `src`.
    #[serde(default)]
    pub mod_root: String,
    /// The user's environment for `go`: `GOPROXY`, `GOPRIVATE`, `GONOSUMDB`, `GOFLAGS`, …
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

/// Variables of the builder's own environment passed on to `go mod download`: the proxies and
/// `NETRC` Nix lets into a fixed-output derivation (`impureEnvVars`) and the CA certificates for
/// HTTPS.
const PASS_THROUGH: &[&str] = &[
    "http_proxy",
    "https_proxy",
    "ftp_proxy",
    "all_proxy",
    "no_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "FTP_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    // A netrc file with credentials for private modules (a path the sandbox can see).
    "NETRC",
];

/// One line of `go mod download -json`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Downloaded {
    path: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    dir: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

/// Runs `go mod download` with `GOMODCACHE=out`, then prunes `out` to what a build reads, so the
/// output depends on the module versions only (it is the vendorHash fixed-output derivation):
/// `out/<module>@<version>/` (the sources) and `out/cache/download/<module>/@v/<version>.{mod,ziphash}`
/// (go reads every go.mod of the module graph from there, and takes a source directory without its
/// `.ziphash` for a partial extraction). Zips, `.info`, `list`, locks and `sumdb/` go.
pub fn download_modules(request: &ModulesRequest, out: &Path, scratch: &Path) -> Result<()> {
    let start_dir = Path::new(&request.src).join(&request.mod_root);
    if !start_dir.join("go.mod").is_file() && !start_dir.join("go.work").is_file() {
        bail!(
            "{} has no go.mod or go.work: vendorHash needs a Go module or workspace (set modRoot to the directory that has go.mod)",
            start_dir.display()
        );
    }
    for dir in ["home", "gocache", "gopath"] {
        std::fs::create_dir_all(scratch.join(dir))
            .with_context(|| format!("creating {}", scratch.join(dir).display()))?;
    }
    let goroot = Path::new(&request.go);
    let go = goroot.join("bin/go");
    let user = request.env.get("GOFLAGS").map_or("", |f| f.trim());
    crate::modfiles::refuse_user_modfile(user)?;
    // go runs on copies of go.mod and go.sum (or go.work): `godrv build` runs this in the user's
    // own directory, and go writes go.sum whenever it finds a line missing.
    let files = PrivateModFiles::new(&start_dir, &scratch.join("modfiles"), &|| {
        download_command(goroot, &request.env, scratch)
    })?;
    let mut cmd = download_command(goroot, &request.env, scratch);
    cmd.current_dir(&start_dir);
    // -mod=mod last so it wins over the user's: downloading ignores a vendor directory. Not in a
    // workspace, where go allows only readonly or vendor (and downloads without it).
    let goflags = match (files.is_workspace(), user) {
        (true, user) => user.to_string(),
        (false, "") => "-mod=mod".to_string(),
        (false, user) => format!("{user} -mod=mod"),
    };
    cmd.env("GOFLAGS", goflags).env("GOMODCACHE", out);
    cmd.args(["mod", "download"]);
    files.apply(&mut cmd);
    cmd.arg("-json");
    let output = cmd
        .output()
        .with_context(|| format!("running {}", go.display()))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let failed = failed_modules(&String::from_utf8_lossy(&output.stdout));
        let mut modules: Vec<String> = failed.iter().map(|(m, _)| m.clone()).collect();
        for module in modules_in_messages(&stderr) {
            if !modules.contains(&module) {
                modules.push(module);
            }
        }
        let mut message = format!(
            "`go mod download` failed in {} ({})",
            start_dir.display(),
            output.status
        );
        if !modules.is_empty() {
            message.push_str(&format!("; module(s): {}", modules.join(", ")));
        }
        for (module, error) in &failed {
            message.push_str(&format!("\nmodule {module}: {error}"));
        }
        if !stderr.trim().is_empty() {
            message.push_str(&format!("\n{}", stderr.trim_end()));
        }
        bail!(message);
    }
    files.check_unchanged()?;
    if out.is_dir() {
        prune_module_cache(out)?;
    } else {
        // No third-party modules: an empty cache.
        std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    }
    Ok(())
}

/// `go` for downloading, in a fixed-output derivation: a clean environment with the proxies of
/// the builder's (`impureEnvVars`) and the user's `env`.
fn download_command(goroot: &Path, env: &BTreeMap<String, String>, scratch: &Path) -> Command {
    let mut cmd = Command::new(goroot.join("bin/go"));
    cmd.env_clear();
    // Also every variable the derivation lets in (`impureEnvVars`, e.g. added by overrideModAttrs).
    let impure = std::env::var("impureEnvVars").unwrap_or_default();
    for name in PASS_THROUGH
        .iter()
        .copied()
        .chain(impure.split_whitespace())
    {
        if let Some(value) = std::env::var_os(name) {
            cmd.env(name, value);
        }
    }
    cmd.env("PATH", goroot.join("bin"))
        .env("HOME", scratch.join("home"))
        .env("GOROOT", goroot)
        .env("GOCACHE", scratch.join("gocache"))
        .env("GOPATH", scratch.join("gopath"))
        .env("GOTOOLCHAIN", "local")
        .env("GOENV", "off");
    for (name, value) in env {
        cmd.env(name, value);
    }
    cmd
}

/// What `godrv fetch-module` downloads: one module (lockfile mode).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FetchRequest {
    /// The Go toolchain: a GOROOT with `bin/go`.
    pub go: String,
    /// Module path and version, as `go mod download` takes them.
    pub path: String,
    pub version: String,
    /// The user's environment for `go`: `GOPROXY`, `GOPRIVATE`, `GOAUTH`, …
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

/// Downloads one module with `go mod download -json path@version` and copies its directory (the
/// tree gomod2nix hashes) to `out`. No checksum database: the fixed-output hash pins the
/// contents, and the planner checks them against go.sum.
pub fn fetch_module(request: &FetchRequest, out: &Path, scratch: &Path) -> Result<()> {
    for dir in ["home", "gocache", "gopath", "work"] {
        std::fs::create_dir_all(scratch.join(dir))
            .with_context(|| format!("creating {}", scratch.join(dir).display()))?;
    }
    let goroot = Path::new(&request.go);
    let module = format!("{}@{}", request.path, request.version);
    let mut cmd = download_command(goroot, &request.env, scratch);
    cmd.current_dir(scratch.join("work"))
        .env("GOFLAGS", "")
        .env("GOSUMDB", "off")
        .env("GOMODCACHE", scratch.join("modcache"))
        .args(["mod", "download", "-json", &module]);
    let output = cmd
        .output()
        .with_context(|| format!("running {}", goroot.join("bin/go").display()))?;
    let download: Option<Downloaded> = serde_json::from_slice(&output.stdout).ok();
    let dir = match download {
        Some(Downloaded {
            dir: Some(dir),
            error: None,
            ..
        }) if output.status.success() => dir,
        other => bail!(
            "`go mod download {module}` failed ({}): {}\n{}",
            output.status,
            other.and_then(|d| d.error).unwrap_or_default(),
            String::from_utf8_lossy(&output.stderr).trim_end()
        ),
    };
    copy_tree(Path::new(&dir), out)
}

/// Copies a directory tree (files and directories; go's module trees have nothing else).
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in read_dir(from)? {
        let target = to.join(entry.file_name().expect("a directory entry has a name"));
        if entry.is_dir() {
            copy_tree(&entry, &target)?;
        } else {
            std::fs::copy(&entry, &target)
                .with_context(|| format!("copying {}", entry.display()))?;
        }
    }
    Ok(())
}

/// `module@version` and go's error for each module `go mod download -json` could not download.
fn failed_modules(json: &str) -> Vec<(String, String)> {
    serde_json::Deserializer::from_str(json)
        .into_iter::<Downloaded>()
        .map_while(|d| d.ok())
        .filter_map(|d| {
            let error = d.error?;
            let module = if d.version.is_empty() {
                d.path
            } else {
                format!("{}@{}", d.path, d.version)
            };
            Some((module, error))
        })
        .collect()
}

/// The `module@version`s go's messages start with (`go: example.com/x@v1.2.3: reading …`).
fn modules_in_messages(stderr: &str) -> Vec<String> {
    let mut modules = Vec::new();
    for line in stderr.lines() {
        let Some(rest) = line.strip_prefix("go: ") else {
            continue;
        };
        let Some((first, _)) = rest.split_once(": ") else {
            continue;
        };
        if first.contains('@') && !first.contains(' ') && !modules.iter().any(|m| m == first) {
            modules.push(first.to_string());
        }
    }
    modules
}

/// Removes from the module cache `root` all but module sources and `cache/download/**/@v/*.{mod,ziphash}`.
fn prune_module_cache(root: &Path) -> Result<()> {
    let download = root.join("cache/download");
    let cache = root.join("cache");
    if !cache.is_dir() {
        return Ok(());
    }
    for entry in read_dir(&cache)? {
        if entry != download {
            remove_all(&entry)?;
        }
    }
    if download.is_dir() {
        let sumdb = download.join("sumdb");
        if sumdb.exists() {
            remove_all(&sumdb)?;
        }
        prune_download_dir(&download)?;
    }
    Ok(())
}

fn prune_download_dir(dir: &Path) -> Result<()> {
    for entry in read_dir(dir)? {
        let meta = std::fs::symlink_metadata(&entry)
            .with_context(|| format!("reading {}", entry.display()))?;
        if meta.is_dir() {
            prune_download_dir(&entry)?;
            if read_dir(&entry)?.is_empty() {
                std::fs::remove_dir(&entry)
                    .with_context(|| format!("removing {}", entry.display()))?;
            }
        } else {
            let keep = entry.parent().and_then(Path::file_name) == Some("@v".as_ref())
                && matches!(
                    entry.extension().and_then(|e| e.to_str()),
                    Some("mod" | "ziphash")
                );
            if !keep {
                std::fs::remove_file(&entry)
                    .with_context(|| format!("removing {}", entry.display()))?;
            }
        }
    }
    Ok(())
}

/// The entries of `dir`, sorted.
fn read_dir(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut entries = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<Vec<_>>>()
        .with_context(|| format!("reading {}", dir.display()))?;
    entries.sort();
    Ok(entries)
}

/// `rm -rf` that first makes directories writable (go makes extracted modules read-only).
fn remove_all(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta =
        std::fs::symlink_metadata(path).with_context(|| format!("reading {}", path.display()))?;
    if meta.is_dir() {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("making {} writable", path.display()))?;
        for entry in read_dir(path)? {
            remove_all(&entry)?;
        }
        std::fs::remove_dir(path).with_context(|| format!("removing {}", path.display()))
    } else {
        std::fs::remove_file(path).with_context(|| format!("removing {}", path.display()))
    }
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
    fn excluded_packages_match_import_path_or_directory() {
        let listed = [
            ("example.com/m".to_string(), "./".to_string()),
            ("example.com/m/cmd/a".to_string(), "./cmd/a".to_string()),
            ("example.com/m/cmd/b".to_string(), "./cmd/b".to_string()),
            (
                "example.com/m/tools/gen".to_string(),
                "./tools/gen".to_string(),
            ),
        ];
        assert_eq!(
            exclude_packages(&listed, &["cmd/b".into(), "./tools".into()]),
            ["example.com/m", "example.com/m/cmd/a"]
        );
    }

    #[test]
    fn cross_builds_get_a_bin_subdirectory() {
        let mut request = BuildRequest::default();
        assert_eq!(request.cross_bin_subdir(), None);
        request.env.insert("GOOS".into(), "windows".into());
        request.env.insert("GOARCH".into(), "amd64".into());
        assert_eq!(request.cross_bin_subdir().as_deref(), Some("windows_amd64"));
    }

    #[test]
    fn failed_modules_are_named() {
        let json = r#"{"Path": "example.com/greet", "Version": "v1.1.0", "Dir": "/x"}
{"Path": "example.com/greet", "Version": "v9.9.9", "Error": "not found"}"#;
        assert_eq!(
            failed_modules(json),
            vec![(
                "example.com/greet@v9.9.9".to_string(),
                "not found".to_string()
            )]
        );
    }

    #[test]
    fn modules_named_in_go_messages() {
        let stderr = "go: example.com/shout@v0.9.9: reading file:///p/example.com/shout/@v/v0.9.9.mod: no such file or directory\ngo: downloading x\n";
        assert_eq!(modules_in_messages(stderr), ["example.com/shout@v0.9.9"]);
    }

    #[test]
    fn pruning_keeps_sources_mod_and_ziphash() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for file in [
            "example.com/greet@v1.1.0/greet.go",
            "cache/download/example.com/greet/@v/v1.1.0.mod",
            "cache/download/example.com/greet/@v/v1.1.0.ziphash",
            "cache/download/example.com/greet/@v/v1.1.0.zip",
            "cache/download/example.com/greet/@v/v1.1.0.info",
            "cache/download/example.com/greet/@v/v1.1.0.lock",
            "cache/download/example.com/greet/@v/list",
            "cache/download/example.com/other/@v/list",
            "cache/download/sumdb/sum.golang.org/lookup/x",
            "cache/vcs/abc/HEAD",
        ] {
            let path = root.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "x").unwrap();
        }
        prune_module_cache(root).unwrap();
        let mut left = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in read_dir(&dir).unwrap() {
                if entry.is_dir() {
                    stack.push(entry);
                } else {
                    left.push(entry.strip_prefix(root).unwrap().display().to_string());
                }
            }
        }
        left.sort();
        assert_eq!(
            left,
            [
                "cache/download/example.com/greet/@v/v1.1.0.mod",
                "cache/download/example.com/greet/@v/v1.1.0.ziphash",
                "example.com/greet@v1.1.0/greet.go",
            ]
        );
        assert!(!root.join("cache/download/example.com/other").exists());
    }

    #[test]
    fn go_cache_entry_time_is_zeroed() {
        let id = "0080e40582efb5268567fb1e7ae369a57bd4d2da0e4dd9cd609a29d7d055cb24";
        let out = "71727706df5910b47cbcfaeeccda0a14e655d0e8d11711dde86798a4d16dc039";
        let entry = format!("v1 {id} {out} {:>20} {:>20}\n", 416, 1795285362467605197u64);
        let fixed = without_entry_time(&entry).unwrap();
        assert_eq!(fixed, format!("v1 {id} {out} {:>20} {:>20}\n", 416, 0));
        assert_eq!(fixed.len(), entry.len());
        assert_eq!(without_entry_time(&fixed).unwrap(), fixed);
        for bad in [
            String::new(),
            "v1 short\n".to_string(),
            format!("v2 {id} {out} {:>20} {:>20}\n", 416, 1),
            format!("v1 {id} {out} {:>20} {:>20}", 416, 1),
            format!("v1 {id} {out} {:>20} {:>20}\n", "x", 1),
        ] {
            assert_eq!(without_entry_time(&bad), None, "{bad:?}");
        }
    }

    #[test]
    fn missing_go_mod_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let tools = GoTools {
            goroot: Path::new("/nonexistent"),
            cc: None,
            modcache: None,
            go_cache_seed: None,
        };
        let err = build_script(
            dir.path(),
            &BuildRequest::default(),
            &tools,
            dir.path(),
            Packages::Module,
        )
        .err()
        .unwrap();
        assert!(err.to_string().contains("has no go.mod"), "{err}");
        assert!(err.to_string().contains("go mod init"), "{err}");
    }
}
