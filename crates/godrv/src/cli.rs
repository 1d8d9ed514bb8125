//! Command-line interface: each subcommand wires library crates together.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use godrv_derivation::{hash_modulo_all, DerivationSet, DrvHash, StoreDir, StorePath};
use godrv_nix::daemon::DaemonStore;
use godrv_nix::register::{self, NixCli, Store, Toolchain};
use godrv_nix::{Addressing, IfdPlan, InputRef};
use serde::{Deserialize, Serialize};

use godrv_plan::gotest::{self, CheckMode};

use crate::gobuild::{self, BuildRequest, GoTools, Packages};
use crate::lockfile::{self, LockedInput};
use crate::path_toolchain::{self, ToolchainFile};
use godrv_plan::group::Granularity;

/// Build Go programs with Nix, one derivation per Go package.
#[derive(Parser)]
#[command(version)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse a `go build -n` script and print its action graph as JSON.
    Parse {
        /// The directory `go` was started in (what `cd .` means in the script).
        #[arg(long)]
        cwd: PathBuf,
        /// The script file, or `-` for standard input.
        #[arg(default_value = "-")]
        file: PathBuf,
        /// Parse and validate only; print nothing (for benchmarks).
        #[arg(long)]
        check_only: bool,
    },
    /// Plan a build inside a Nix build (the builder of the planner derivation).
    ///
    /// Reads its configuration as JSON from `--config` or the `godrvPlanConfig` attribute and
    /// writes `$out`: the plan as JSON (`ifd`) or the top `.drv` after writing every per-package
    /// derivation with `nix derivation add` (`dyn`).
    Plan {
        /// The configuration (JSON; see `PlanConfig` in crates/godrv/src/cli.rs).
        #[arg(long, env = "godrvPlanConfig")]
        config: String,
        /// Where to write the result.
        #[arg(long, env = "out")]
        out: PathBuf,
    },
    /// Replay one planned action (the builder of every per-package derivation).
    Exec,
    /// Download the modules of `go.mod`/`go.sum` into `$out` (the builder of the vendorHash
    /// fixed-output derivation): `$out` is a module cache (GOMODCACHE) holding only module
    /// sources and go.mod files, so its hash depends on the module versions alone.
    Modules {
        /// The request (JSON; see `ModulesRequest` in crates/godrv/src/gobuild.rs).
        #[arg(long, env = "godrvModulesConfig")]
        config: String,
        /// The module cache to create.
        #[arg(long, env = "out")]
        out: PathBuf,
    },
    /// Write Go's index of GOROOT's packages into `$out` as a GOCACHE (the builder of the
    /// toolchain's `go-index` derivation); the planner starts its caches from it.
    GoIndex {
        /// The Go toolchain (GOROOT).
        #[arg(long, env = "go")]
        go: PathBuf,
        /// The GOCACHE to create.
        #[arg(long, env = "out")]
        out: PathBuf,
    },
    /// Download one module into `$out` (the builder of a lockfile entry's fixed-output
    /// derivation): `$out` is the module's directory as `go mod download` leaves it.
    FetchModule {
        /// The request (JSON; see `FetchRequest` in crates/godrv/src/gobuild.rs).
        #[arg(long, env = "godrvFetchConfig")]
        config: String,
        /// The module directory to create.
        #[arg(long, env = "out")]
        out: PathBuf,
    },
    /// Write a lockfile for the module in DIR: every module `go mod download` fetches, with its
    /// version and the NAR hash of its source tree (gomod2nix's schema 3 TOML). Runs `go` from
    /// PATH with your environment (GOPROXY, GOPRIVATE, GOFLAGS, netrc, …).
    Lock {
        /// The module directory (with go.mod and go.sum).
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// The lockfile to write (default: DIR/godrv.lock).
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// The go program.
        #[arg(long, default_value = "go")]
        go: PathBuf,
    },
    /// Run programs and check their output (the builder of `testExamples`).
    Check {
        /// JSON list of `{name, program, stdout, expectFailure}`.
        #[arg(long, env = "godrvChecks")]
        checks: String,
        /// Where to write the report.
        #[arg(long, env = "out")]
        out: PathBuf,
    },
    /// Outside any Nix build: plan DIR, write the derivations to the local store and build them.
    Build {
        /// The module directory.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Packages to build (default `./...`).
        #[arg(long = "sub-package")]
        sub_packages: Vec<String>,
        /// Toolchain description: JSON with `go`, `godrv`, `cc`, `nix`, `system` (vmtest writes
        /// one). Without it: `go`, `nix` and `gcc` from PATH, and this godrv (added to the store
        /// when they are not store paths); what was picked is printed.
        #[arg(long, env = "GODRV_TOOLCHAIN")]
        toolchain: Option<PathBuf>,
        /// Derivation addressing.
        #[arg(long, value_enum, default_value_t = AddressingArg::ContentAddressed)]
        addressing: AddressingArg,
        /// Only print the top `.drv` path; do not build.
        #[arg(long)]
        dry_run: bool,
        /// Environment for downloading modules (`GOPROXY=…`, `GOPRIVATE=…`); repeatable.
        #[arg(long = "env", value_name = "NAME=VALUE")]
        env: Vec<String>,
        /// What to build, as JSON with the planner's field names (those of the Nix functions):
        /// `{"modRoot": …, "subPackages": […], "ldflags": […], "tags": […], "env": {…}, …}`.
        /// Given the same request and `--name` as a Nix build, `godrv build` writes the same
        /// derivations.
        #[arg(long, value_name = "JSON")]
        request: Option<String>,
        /// `package`: every package its own derivation; `module`: the standard library as one
        /// derivation (the Nix functions' `granularity`). Overrides the request's.
        #[arg(long, value_enum)]
        granularity: Option<GranularityArg>,
        /// Name of the top derivation (the Nix functions use `pname-version`); default: the
        /// program's name.
        #[arg(long)]
        name: Option<String>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum GranularityArg {
    Package,
    Module,
}

impl From<GranularityArg> for Granularity {
    fn from(g: GranularityArg) -> Self {
        match g {
            GranularityArg::Package => Granularity::Package,
            GranularityArg::Module => Granularity::Module,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum AddressingArg {
    ContentAddressed,
    InputAddressed,
}

impl From<AddressingArg> for Addressing {
    fn from(a: AddressingArg) -> Self {
        match a {
            AddressingArg::ContentAddressed => Addressing::ContentAddressed,
            AddressingArg::InputAddressed => Addressing::InputAddressed,
        }
    }
}

/// How the planner derivation reports its plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PlanMode {
    /// Write every derivation with `nix derivation add`; `$out` is the top `.drv`.
    Dyn,
    /// `$out` is the plan as JSON, for `nix/instantiate.nix`.
    Ifd,
}

/// The planner derivation's configuration, as `nix/plan.nix` writes it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlanConfig {
    pub mode: PlanMode,
    pub addressing: Addressing,
    pub system: String,
    /// The source tree (a store path).
    pub src: String,
    pub go: InputRef,
    pub godrv: InputRef,
    #[serde(default)]
    pub cc: Option<InputRef>,
    #[serde(default)]
    pub modcache: Option<InputRef>,
    /// The user's C inputs (`buildInputs`, `nativeBuildInputs`): given to the cgo, C compile and
    /// link derivations of the user's packages (see `Template::inputs`).
    #[serde(default)]
    pub inputs: Vec<InputRef>,
    /// `packageOverrides`: the C inputs of one package (import path), given only to that
    /// package's cgo and C compile derivations and to the links.
    #[serde(default)]
    pub package_inputs: BTreeMap<String, Vec<InputRef>>,
    /// Lockfile mode: each module's fixed-output derivation, keyed by its module cache directory
    /// (`example.com/greet@v1.1.0`).
    #[serde(default)]
    pub locked_modules: Option<BTreeMap<String, LockedInput>>,
    /// The lockfile's name, for messages (`godrv.lock`, `gomod2nix.toml`).
    #[serde(default)]
    pub lockfile: Option<String>,
    /// The `nix` program (dyn mode).
    #[serde(default)]
    pub nix: Option<String>,
    /// Name of the top derivation (`pname-version`). In dyn mode Nix names a dynamic derivation
    /// after the planner's output (`<name>.drv`), so the top derivation must carry that name for
    /// both modes to give the same `.drv`.
    pub name: String,
    /// A GOCACHE with Go's index of GOROOT (`godrv go-index`), to start the planner's caches
    /// from; only speeds `go` up.
    #[serde(default)]
    pub go_cache_seed: Option<String>,
    /// Plan every package of the standard library instead of the program in `src` (which is then
    /// ignored): the toolchain's std planner, whose output puts every std derivation into the
    /// program planners' inputs, so that they need not add them again (see nix/core.nix).
    #[serde(default)]
    pub std: bool,
    /// Plan the packages of the third-party modules the module in `src` requires
    /// (`gobuild::Packages::Deps`; `src` then holds only its `go.mod` and `go.sum`): the
    /// dependencies' planner, which does for them what `std` does for std's (see nix/core.nix).
    #[serde(default)]
    pub deps: bool,
    #[serde(flatten)]
    pub request: BuildRequest,
}

impl Cli {
    pub fn run(self) -> Result<()> {
        match self.command {
            Command::Parse {
                cwd,
                file,
                check_only,
            } => {
                let text = read_input(&file)?;
                let graph = godrv_script::parse_script(&text, &cwd)
                    .with_context(|| format!("parsing go build -n script {}", file.display()))?;
                if check_only {
                    return Ok(());
                }
                serde_json::to_writer_pretty(std::io::stdout().lock(), &graph)?;
                println!();
                Ok(())
            }
            Command::Plan { config, out } => {
                let config: PlanConfig = serde_json::from_str(&config)
                    .context("reading the planner configuration (godrvPlanConfig)")?;
                plan_in_nix(&config, &out)
            }
            Command::Modules { config, out } => {
                let request: gobuild::ModulesRequest = serde_json::from_str(&config)
                    .context("reading the module download request (godrvModulesConfig)")?;
                let scratch = scratch_dir()?;
                gobuild::download_modules(&request, &out, scratch.path())
            }
            Command::GoIndex { go, out } => {
                let scratch = scratch_dir()?;
                gobuild::go_index(&go, &out, scratch.path())
            }
            Command::FetchModule { config, out } => {
                let request: gobuild::FetchRequest = serde_json::from_str(&config)
                    .context("reading the module fetch request (godrvFetchConfig)")?;
                let scratch = scratch_dir()?;
                gobuild::fetch_module(&request, &out, scratch.path())
            }
            Command::Lock { dir, output, go } => {
                let lock = lockfile::lock(&go, &dir)?;
                let path = output.unwrap_or_else(|| dir.join(lockfile::FILE_NAME));
                lockfile::write(&path, &lock)?;
                eprintln!("wrote {} ({} modules)", path.display(), lock.modules.len());
                Ok(())
            }
            Command::Exec => {
                let env = godrv_exec::BuildEnv::from_env()?;
                godrv_exec::run(&env)?;
                Ok(())
            }
            Command::Check { checks, out } => crate::check::run(&checks, &out),
            Command::Build {
                dir,
                sub_packages,
                toolchain,
                addressing,
                dry_run,
                env,
                request,
                granularity,
                name,
            } => {
                let env = env
                    .iter()
                    .map(|kv| match kv.split_once('=') {
                        Some((k, v)) => Ok((k.to_string(), v.to_string())),
                        None => bail!("--env {kv:?}: expected NAME=VALUE"),
                    })
                    .collect::<Result<BTreeMap<_, _>>>()?;
                let mut request: BuildRequest = match request {
                    Some(json) => serde_json::from_str(&json).context("reading --request")?,
                    None => BuildRequest::default(),
                };
                request.sub_packages.extend(sub_packages);
                if let Some(granularity) = granularity {
                    request.granularity = granularity.into();
                }
                let options = BuildOptions {
                    addressing: addressing.into(),
                    dry_run,
                    env,
                    name,
                };
                build_outside_nix(&dir, request, toolchain.as_deref(), &options)
            }
        }
    }
}

/// A scratch directory: `$NIX_BUILD_TOP` inside Nix, a temporary directory elsewhere.
fn scratch_dir() -> Result<tempfile::TempDir> {
    let base = std::env::var_os("NIX_BUILD_TOP")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    tempfile::Builder::new()
        .prefix("godrv-")
        .tempdir_in(&base)
        .with_context(|| format!("creating a directory in {}", base.display()))
}

/// What a plan is made from.
#[derive(Clone)]
struct PlanInputs<'a> {
    src_root: &'a Path,
    request: &'a BuildRequest,
    go: &'a InputRef,
    cc: Option<&'a InputRef>,
    modcache: Option<&'a InputRef>,
    addressing: Addressing,
    /// Name of the top derivation; `None` names it after the binary.
    name: Option<&'a str>,
    /// Packages with their own C inputs (`packageOverrides`).
    override_packages: BTreeSet<String>,
    /// See [`GoTools::go_cache_seed`].
    go_cache_seed: Option<&'a Path>,
    /// The program's packages, or std's.
    what: Packages,
}

/// Runs `go build -n`, parses and plans; with tests, `go test -c -n` runs at the same time (the
/// two `go` commands are independent: each has its own scratch directory).
fn make_plan(inputs: &PlanInputs<'_>, scratch: &Path) -> Result<IfdPlan> {
    let tools = GoTools {
        goroot: Path::new(&inputs.go.path),
        cc: inputs.cc.map(|c| Path::new(&c.path)),
        modcache: inputs.modcache.map(|m| Path::new(&m.path)),
        go_cache_seed: inputs.go_cache_seed,
    };
    let mode = match inputs.what {
        Packages::Module => check_mode(inputs.request),
        Packages::Std | Packages::Deps => None,
    };
    let group_std =
        inputs.what == Packages::Module && inputs.request.granularity == Granularity::Module;
    std::thread::scope(|threads| {
        let tests = mode.map(|_| {
            threads.spawn(|| {
                gobuild::test_script(
                    inputs.src_root,
                    inputs.request,
                    &tools,
                    &scratch.join("gotest"),
                )
            })
        });
        let std = group_std.then(|| threads.spawn(|| std_plan(inputs, &scratch.join("std"))));
        let build = plan_build(inputs, &tools, scratch);
        let tests = tests
            .map(|t| t.join().expect("the `go test -c -n` thread does not panic"))
            .transpose();
        let std = std
            .map(|t| {
                t.join()
                    .expect("the `go build -n std` thread does not panic")
            })
            .transpose();
        let (plan, timing) = build?;
        let mut plan = match (mode, tests?) {
            (Some(mode), tests) => add_tests(plan, mode, inputs, tests.flatten())?,
            (None, _) => plan,
        };
        if let Some(std) = std? {
            godrv_plan::group::group_std(&mut plan, &std)
                .context("making the standard library one derivation (granularity \"module\")")?;
            godrv_plan::group::group_modules(&mut plan).context(
                "making each third-party module one derivation (granularity \"module\")",
            )?;
        }
        finish_plan(&mut plan, inputs, timing)
    })
}

/// Name of the top derivation of a library plan (std's, or the dependencies'); `nix/core.nix`
/// names the planners after them.
fn library_top(what: Packages) -> &'static str {
    match what {
        Packages::Std => "go-std",
        Packages::Deps | Packages::Module => "go-deps",
    }
}

/// The plan of every std package (`go build -n std`) with the settings of `inputs`, as std's own
/// planner makes it (an empty start directory in `scratch`, no module cache): what the std group
/// of granularity "module" is made of.
fn std_plan(inputs: &PlanInputs<'_>, scratch: &Path) -> Result<godrv_plan::Plan> {
    let root = scratch.join("go/std");
    std::fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;
    let std_inputs = PlanInputs {
        src_root: &root,
        modcache: None,
        what: Packages::Std,
        ..inputs.clone()
    };
    let tools = GoTools {
        goroot: Path::new(&inputs.go.path),
        cc: inputs.cc.map(|c| Path::new(&c.path)),
        modcache: None,
        go_cache_seed: inputs.go_cache_seed,
    };
    let (plan, _) = plan_build(&std_inputs, &tools, scratch)
        .context("planning the standard library (`go build -n std`) for granularity \"module\"")?;
    Ok(plan)
}

/// The graph of a script without actions (`parse_script` takes an empty script for a failed `go`).
fn empty_graph(start_dir: &Path) -> godrv_script::ActionGraph {
    godrv_script::ActionGraph {
        start_dir: start_dir.to_path_buf(),
        actions: BTreeMap::new(),
    }
}

/// The library plan of an empty script: its top derivation and nothing else.
fn empty_library_plan(inputs: &PlanInputs<'_>) -> Result<IfdPlan> {
    let graph = empty_graph(inputs.src_root);
    let plan = godrv_plan::plan_library(
        &graph,
        &plan_roots(inputs),
        plan_options(inputs),
        library_top(inputs.what),
    )?;
    Ok(IfdPlan::new(&plan, inputs.addressing))
}

/// How long `go build -n` and the parse took, and when planning started.
struct Timing {
    go_build: std::time::Duration,
    parse: std::time::Duration,
    planning_started: Instant,
}

/// `go build -n`, parsed and planned (without tests).
fn plan_build(
    inputs: &PlanInputs<'_>,
    tools: &GoTools<'_>,
    scratch: &Path,
) -> Result<(godrv_plan::Plan, Timing)> {
    let tools = *tools;
    let t0 = Instant::now();
    let script = gobuild::build_script(
        inputs.src_root,
        inputs.request,
        &tools,
        &scratch.join("go"),
        inputs.what,
    )?;
    let t1 = Instant::now();
    // The dependencies' planner gives no script when the modules have no package to build.
    let mut graph = if inputs.what == Packages::Deps && script.text.is_empty() {
        empty_graph(&script.start_dir)
    } else {
        godrv_script::parse_script(&script.text, &script.start_dir).with_context(|| {
            format!(
                "parsing the `go build -n` script of {}",
                script.start_dir.display()
            )
        })?
    };
    let t2 = Instant::now();
    // `#cgo pkg-config:`: go printed the queries; run them and put the flags in.
    let mut pkg_config = BTreeMap::new();
    for query in godrv_plan::pkgconfig::queries(&graph) {
        let run = |argv: &[String]| {
            gobuild::pkg_config(
                inputs.request,
                &tools,
                &scratch.join("go"),
                &query.cwd,
                argv,
            )
        };
        let flags = godrv_plan::pkgconfig::Flags {
            cflags: run(&query.cflags)?,
            libs: run(&query.libs)?,
        };
        pkg_config.insert(query.action, flags);
    }
    godrv_plan::pkgconfig::apply(&mut graph, &pkg_config)
        .context("putting pkg-config's flags into the cgo commands")?;
    // The C compiler flags go would add after probes that `-n` prints but does not run.
    let probes = godrv_plan::cc::probes(&graph);
    if !probes.is_empty() {
        let go_scratch = scratch.join("go");
        let supported = gobuild::run_c_probes(
            &probes,
            &script.start_dir,
            inputs.request,
            &tools,
            &go_scratch,
        )?;
        let packages = if inputs.request.allow_go_reference {
            BTreeSet::new() // without -trimpath go maps no package directory
        } else {
            godrv_plan::cc::packages_compiling_c(&graph, tools.goroot)
        };
        let trim = gobuild::c_trim_dirs(
            &packages,
            &script.start_dir,
            inputs.request,
            &tools,
            &go_scratch,
        )?;
        let facts = godrv_plan::cc::CFacts {
            supported,
            trim,
            trimpath: !inputs.request.allow_go_reference,
        };
        godrv_plan::cc::complete_c_commands(&mut graph, &facts, tools.goroot)
            .context("adding the probed C compiler flags")?;
    }
    let mut plan = match inputs.what {
        Packages::Module => godrv_plan::plan(&graph, &plan_roots(inputs), plan_options(inputs)),
        Packages::Std | Packages::Deps => godrv_plan::plan_library(
            &graph,
            &plan_roots(inputs),
            plan_options(inputs),
            library_top(inputs.what),
        ),
    }
    .context("planning the build")?;
    plan.add_tool_env(&inputs.request.tool_env());
    if !inputs.request.allow_go_reference {
        plan.forbid_goroot_references();
    }
    if let Some(subdir) = inputs.request.cross_bin_subdir() {
        plan.put_binaries_in(&subdir);
    }
    Ok((
        plan,
        Timing {
            go_build: t1 - t0,
            parse: t2 - t1,
            planning_started: t2,
        },
    ))
}

/// The roots a plan's paths are relative to.
fn plan_roots(inputs: &PlanInputs<'_>) -> godrv_plan::Roots {
    godrv_plan::Roots {
        src_root: inputs.src_root.to_path_buf(),
        goroot: PathBuf::from(&inputs.go.path),
        modcache: inputs.modcache.map(|m| PathBuf::from(&m.path)),
    }
}

/// The export/link split only pays off with content addressing (early cutoff).
fn plan_options(inputs: &PlanInputs<'_>) -> godrv_plan::PlanOptions {
    godrv_plan::PlanOptions {
        split_link_objects: inputs.addressing == Addressing::ContentAddressed,
    }
}

/// Names the top derivation and turns the plan into the IFD plan.
fn finish_plan(
    plan: &mut godrv_plan::Plan,
    inputs: &PlanInputs<'_>,
    timing: Timing,
) -> Result<IfdPlan> {
    if let Some(name) = inputs.name {
        let top = plan.top.clone();
        plan.actions
            .get_mut(&top)
            .expect("the top action is in the plan")
            .name = godrv_plan::sanitize_store_name(name);
    }
    let mut ifd = IfdPlan::new(plan, inputs.addressing);
    ifd.add_package_inputs(plan, &inputs.override_packages)?;
    eprintln!(
        "godrv: {} actions; go build -n {} ms, parse {} ms, plan {} ms",
        ifd.actions.len(),
        timing.go_build.as_millis(),
        timing.parse.as_millis(),
        timing.planning_started.elapsed().as_millis()
    );
    Ok(ifd)
}

/// What to do with the tests: `checkFlags`' mode, except that a cross build runs none (its test
/// binaries are for another machine).
fn check_mode(request: &BuildRequest) -> Option<CheckMode> {
    match request.check.mode? {
        CheckMode::Run if request.cross_bin_subdir().is_some() => None,
        mode => Some(mode),
    }
}

/// Plans the tests of the packages of `inputs` (`tests`: their `go test -c -n`, `None` when no
/// package has test files) and merges them into `plan`.
fn add_tests(
    plan: godrv_plan::Plan,
    mode: CheckMode,
    inputs: &PlanInputs<'_>,
    tests: Option<gobuild::TestScript>,
) -> Result<godrv_plan::Plan> {
    let data = gotest::CheckData::new(&inputs.request.check.data, &inputs.request.mod_root)
        .context("reading checkData")?;
    let Some(tests) = tests else {
        if let Some(package) = data.packages.keys().next() {
            bail!(
                "checkData names {package}, but no package of {} has test files (*_test.go)",
                inputs.src_root.join(&inputs.request.mod_root).display()
            );
        }
        return Ok(match mode {
            // Nothing to run: the result is the build's.
            CheckMode::Run => plan,
            CheckMode::Binaries => bail!(
                "no package of {} has test files (*_test.go): there are no test binaries to build",
                inputs.src_root.join(&inputs.request.mod_root).display()
            ),
        });
    };
    let mut graph = godrv_script::parse_script(&tests.script.text, &tests.script.start_dir)
        .with_context(|| {
            format!(
                "parsing the `go test -c -n` script of {}",
                tests.script.start_dir.display()
            )
        })?;
    gotest::add_testmains(&mut graph, &tests.testmains).context("adding the test mains")?;
    let flags = gotest::test_binary_flags(&inputs.request.check.flags);
    let mut test_plan = gotest::plan_tests(
        &graph,
        &plan_roots(inputs),
        plan_options(inputs),
        &tests.packages,
        &flags,
        &data,
    )
    .context("planning the tests")?;
    test_plan.plan.add_tool_env(&inputs.request.tool_env());
    if let Some(subdir) = inputs.request.cross_bin_subdir() {
        test_plan.plan.put_binaries_in(&subdir);
    }
    Ok(gotest::with_tests(plan, test_plan, mode))
}

/// How derivations reach the store: `GODRV_STORE` = `daemon` (the socket `NIX_REMOTE` names, or
/// the system daemon's; an error if it cannot be reached), `cli` (`nix store add`,
/// `nix derivation add`, one process each), or `auto`/unset (the daemon when there is a socket,
/// else the command).
fn open_store(nix: &Path) -> Result<Box<dyn Store>> {
    let choice = std::env::var("GODRV_STORE").unwrap_or_default();
    let cli = || -> Box<dyn Store> {
        Box::new(NixCli {
            nix: nix.to_path_buf(),
        })
    };
    if choice == "cli" {
        return Ok(cli());
    }
    let socket = godrv_store::socket_from_env(
        std::env::var("NIX_REMOTE").ok().as_deref(),
        std::env::var("NIX_DAEMON_SOCKET_PATH").ok().as_deref(),
    );
    let timeout =
        godrv_store::timeout_from_env(std::env::var("GODRV_STORE_TIMEOUT").ok().as_deref())
            .map_err(anyhow::Error::msg)?;
    match (choice.as_str(), socket) {
        ("daemon", None) => bail!(
            "GODRV_STORE=daemon, but there is no daemon socket (NIX_REMOTE={:?})",
            std::env::var("NIX_REMOTE").unwrap_or_default()
        ),
        ("daemon", Some(path)) => Ok(Box::new(
            DaemonStore::connect(&path, timeout)
                .with_context(|| format!("connecting to the Nix daemon at {}", path.display()))?,
        )),
        ("" | "auto", None) => Ok(cli()),
        ("" | "auto", Some(path)) => match DaemonStore::connect(&path, timeout) {
            Ok(store) => Ok(Box::new(store)),
            Err(e) => {
                eprintln!("godrv: {e}; using {} instead", nix.display());
                Ok(cli())
            }
        },
        (other, _) => bail!("GODRV_STORE={other:?}: expected daemon, cli or auto"),
    }
}

/// Registers `plan` and says how long it took.
fn register_timed(
    plan: &IfdPlan,
    toolchain: &Toolchain,
    src_root: &Path,
    stage: &Path,
    store: &mut dyn Store,
) -> Result<StorePath, register::RegisterError> {
    let t0 = Instant::now();
    let top = register::register(plan, toolchain, src_root, stage, store)?;
    eprintln!(
        "godrv: registered {} actions in {} ms; peak RSS {}",
        plan.actions.len(),
        t0.elapsed().as_millis(),
        peak_rss().unwrap_or_else(|| "unknown".into())
    );
    Ok(top)
}

/// This process's peak resident set size (`VmHWM` of /proc/self/status), e.g. `"12345 kB"`.
fn peak_rss() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    Some(line["VmHWM:".len()..].trim().to_string())
}

fn plan_in_nix(config: &PlanConfig, out: &Path) -> Result<()> {
    let scratch = scratch_dir()?;
    // std's planner has no source: the directory go starts in (empty) stands in for it.
    let std_root = scratch.path().join("go/std");
    let src_root = if config.std {
        std::fs::create_dir_all(&std_root)
            .with_context(|| format!("creating {}", std_root.display()))?;
        std_root.as_path()
    } else {
        Path::new(&config.src)
    };
    // Lockfile mode: a module cache made of the per-module store paths, for planning only.
    let assembled = match &config.locked_modules {
        Some(locked) => {
            let lockfile = config.lockfile.as_deref().unwrap_or(lockfile::FILE_NAME);
            let gomod = lockfile::read_gomod(
                &Path::new(&config.go.path).join("bin/go"),
                &src_root.join(&config.request.mod_root),
            )?;
            lockfile::check_against_gomod(locked, &gomod, lockfile)?;
            let cache = scratch.path().join("modcache");
            lockfile::assemble_module_cache(locked, &cache)?;
            Some(InputRef {
                path: cache.to_string_lossy().into_owned(),
                drv: None,
                output: None,
            })
        }
        None => None,
    };
    let inputs = PlanInputs {
        src_root,
        request: &config.request,
        go: &config.go,
        cc: config.cc.as_ref(),
        modcache: config.modcache.as_ref().or(assembled.as_ref()),
        addressing: config.addressing,
        name: Some(&config.name),
        override_packages: config.package_inputs.keys().cloned().collect(),
        go_cache_seed: config.go_cache_seed.as_deref().map(Path::new),
        what: match (config.std, config.deps) {
            (true, _) => Packages::Std,
            (false, true) => Packages::Deps,
            (false, false) => Packages::Module,
        },
    };
    let planned = make_plan(&inputs, scratch.path()).and_then(|plan| {
        if assembled.is_some() {
            if let Some(t) = plan.actions.values().find(|t| t.modcache) {
                bail!(
                    "{} reads files of several modules; lockfile mode gives each derivation one module: use vendorHash for this program",
                    t.name
                );
            }
        }
        Ok(plan)
    });
    let plan = match planned {
        // A library plan (std's, the dependencies') only saves the program planners work:
        // without it they add the derivations they need themselves.
        Err(e) if inputs.what != Packages::Module => {
            eprintln!(
                "godrv: warning: planning {} failed, so none of its derivations is registered ahead (the program's planner adds the ones it needs): {e:#}",
                library_top(inputs.what)
            );
            empty_library_plan(&inputs)?
        }
        result => result.map_err(|e| match &config.lockfile {
            Some(name) if format!("{e:#}").contains("GOPROXY=off") => e.context(format!(
                "a module go needs is not in {name} (go names it above): run `godrv lock` in the module directory and use the new lockfile"
            )),
            _ => e,
        })?,
    };
    match config.mode {
        PlanMode::Ifd => {
            let mut plan = plan;
            let t0 = Instant::now();
            plan.pin_hashes(
                src_root,
                config.modcache.as_ref().map(|m| Path::new(&m.path)),
            )?;
            eprintln!(
                "godrv: hashed the plan's source sets and modules in {} ms",
                t0.elapsed().as_millis()
            );
            let json = serde_json::to_string_pretty(&plan)?;
            std::fs::write(out, json).with_context(|| format!("writing {}", out.display()))
        }
        PlanMode::Dyn => {
            let nix = config
                .nix
                .as_deref()
                .context("dyn mode needs the `nix` program in the configuration")?;
            let mut store = open_store(Path::new(nix))?;
            let modules = match (&config.modcache, &config.locked_modules) {
                (Some(modcache), _) => {
                    register::add_modules(&plan, Path::new(&modcache.path), store.as_mut())?
                }
                (None, Some(locked)) => locked
                    .iter()
                    .map(|(dir, m)| (dir.clone(), m.source.clone()))
                    .collect(),
                (None, None) => BTreeMap::new(),
            };
            let toolchain = Toolchain {
                system: config.system.clone(),
                godrv: config.godrv.clone(),
                go: config.go.clone(),
                cc: config.cc.clone(),
                modcache: config.modcache.clone(),
                inputs: config.inputs.clone(),
                package_inputs: config.package_inputs.clone(),
                input_hashes: external_input_hashes(
                    Path::new(nix),
                    [&config.go, &config.godrv]
                        .into_iter()
                        .chain(config.cc.as_ref())
                        .chain(config.modcache.as_ref())
                        .chain(&config.inputs)
                        .chain(config.package_inputs.values().flatten())
                        .chain(modules.values()),
                )?,
                modules,
            };
            let top = register_timed(
                &plan,
                &toolchain,
                src_root,
                &scratch.path().join("stage"),
                store.as_mut(),
            )
            .map_err(|e| anyhow::anyhow!(explain_nix_error(e.to_string())))?;
            let top_file = top.to_absolute();
            std::fs::copy(&top_file, out)
                .with_context(|| format!("copying {top_file} to {}", out.display()))?;
            Ok(())
        }
    }
}

/// The modulo hashes of the derivations that produce `inputs` (those with a `drv`), from
/// `nix derivation show --recursive`: registering a derivation that depends on them needs them.
fn external_input_hashes<'a>(
    nix: &Path,
    inputs: impl Iterator<Item = &'a InputRef>,
) -> Result<BTreeMap<StorePath, DrvHash>> {
    let drvs: Vec<&str> = inputs.filter_map(|i| i.drv.as_deref()).collect();
    if drvs.is_empty() {
        return Ok(BTreeMap::new());
    }
    let mut cmd = Process::new(nix);
    cmd.args(["derivation", "show", "--recursive"]).args(&drvs);
    let output = cmd
        .output()
        .with_context(|| format!("running {}", nix.display()))?;
    if !output.status.success() {
        bail!(
            "`nix derivation show --recursive {}` failed ({}):\n{}",
            drvs.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim_end()
        );
    }
    let set: DerivationSet = serde_json::from_slice(&output.stdout)
        .context("reading the output of `nix derivation show --recursive`")?;
    Ok(hash_modulo_all(
        &StoreDir::default(),
        &set.derivations,
        BTreeMap::new(),
    )?)
}

/// Adds the remedy to Nix errors whose cause is the configuration.
fn explain_nix_error(message: String) -> String {
    for feature in ["dynamic-derivations", "ca-derivations", "recursive-nix"] {
        if message.contains(&format!("experimental Nix feature '{feature}' is disabled")) {
            return format!(
                "{message}\n\nhelp: enable it: add `experimental-features = nix-command {feature}` (with the others godrv needs: dynamic-derivations ca-derivations recursive-nix) to nix.conf"
            );
        }
    }
    message
}

/// Settings of `godrv build`.
struct BuildOptions {
    addressing: Addressing,
    dry_run: bool,
    /// Environment for `go mod download`.
    env: BTreeMap<String, String>,
    /// Name of the top derivation (`None`: the program's name).
    name: Option<String>,
}

/// Whether the module at `dir` requires other modules (its go.sum lists any), or `dir` is a
/// workspace (whose modules may: `go mod download` finds out).
fn needs_modules(dir: &Path) -> bool {
    dir.join("go.work").is_file()
        || std::fs::read_to_string(dir.join("go.sum")).is_ok_and(|sum| !sum.trim().is_empty())
}

fn build_outside_nix(
    dir: &Path,
    request: BuildRequest,
    toolchain_file: Option<&Path>,
    options: &BuildOptions,
) -> Result<()> {
    let (addressing, dry_run) = (options.addressing, options.dry_run);
    let input = |path: &str| InputRef {
        path: path.to_string(),
        drv: None,
        output: None,
    };
    let dir = dir
        .canonicalize()
        .with_context(|| format!("opening {}", dir.display()))?;
    // The planner runs go in the user's own directory: no flag that lets it write there.
    let goflags = request.env.get("GOFLAGS").map_or("", String::as_str);
    crate::modfiles::refuse_writing_flags(
        &dir,
        goflags
            .split_whitespace()
            .chain(request.go_flags.iter().map(String::as_str)),
    )?;
    let scratch = scratch_dir()?;
    let (file, mut store) = match toolchain_file {
        Some(path) => {
            let file = ToolchainFile::read(path)?;
            let store = open_store(&Path::new(&file.nix).join("bin/nix"))?;
            (file, store)
        }
        None => {
            let nix = path_toolchain::nix_on_path()?;
            let mut store = open_store(&nix.join("bin/nix"))?;
            let file = path_toolchain::from_path(&nix, store.as_mut(), scratch.path())?;
            (file, store)
        }
    };
    let nix = Path::new(&file.nix).join("bin/nix");
    // Third-party modules: downloaded here (with --env); the planner reads the whole cache, each
    // package derivation the source path of its own module.
    let modcache = if needs_modules(&dir.join(&request.mod_root)) {
        let download = gobuild::ModulesRequest {
            src: dir.to_string_lossy().into_owned(),
            go: file.go.clone(),
            mod_root: request.mod_root.clone(),
            env: options.env.clone(),
        };
        let cache = scratch.path().join("modcache");
        gobuild::download_modules(&download, &cache, &scratch.path().join("download"))?;
        Some(cache)
    } else {
        None
    };
    let modcache_input = modcache.as_ref().map(|m| input(&m.to_string_lossy()));
    let go = input(&file.go);
    let cc = file.cc.as_deref().map(input);
    let inputs = PlanInputs {
        src_root: &dir,
        request: &request,
        go: &go,
        cc: cc.as_ref(),
        modcache: modcache_input.as_ref(),
        addressing,
        name: options.name.as_deref(),
        override_packages: BTreeSet::new(),
        go_cache_seed: None,
        what: Packages::Module,
    };
    let plan = make_plan(&inputs, scratch.path())?;
    let modules = match &modcache {
        Some(cache) => register::add_modules(&plan, cache, store.as_mut())?,
        None => BTreeMap::new(),
    };
    let toolchain = Toolchain {
        system: file.system.clone(),
        godrv: input(&file.godrv),
        go,
        cc,
        // Only an action reading outside its module's directory gets the whole cache.
        modcache: match &modcache {
            Some(cache) if plan.actions.values().any(|t| t.modcache) => {
                Some(input(&store.add_source("go-modules", cache)?))
            }
            _ => None,
        },
        modules,
        inputs: Vec::new(),
        package_inputs: BTreeMap::new(),
        input_hashes: BTreeMap::new(),
    };
    let top = register_timed(
        &plan,
        &toolchain,
        &dir,
        &scratch.path().join("stage"),
        store.as_mut(),
    )?;
    let top = top.to_absolute();
    if dry_run {
        println!("{top}");
        return Ok(());
    }
    let installable = format!("{top}^out");
    eprintln!(
        "godrv: {} derivations planned; {}",
        plan.actions.len(),
        to_build(&nix, &installable)
    );
    let status = Process::new(&nix)
        .args(["build", "--no-link", "--print-out-paths", &installable])
        .status()
        .with_context(|| format!("running {}", nix.display()))?;
    if !status.success() {
        bail!("building {top} failed ({status})");
    }
    Ok(())
}

/// How many derivations Nix would build for `installable`, from `nix build --dry-run`'s own words
/// ("this derivation will be built", "these N derivations will be built"); Nix's text when it
/// says something else.
fn to_build(nix: &Path, installable: &str) -> String {
    let out = match Process::new(nix)
        .args(["build", "--dry-run", "--no-link", installable])
        .output()
    {
        Ok(out) => out,
        Err(e) => return format!("cannot ask {} what to build: {e}", nix.display()),
    };
    let text = String::from_utf8_lossy(&out.stderr);
    count_to_build(&text).map_or_else(
        || "nothing to build".to_string(),
        |n| format!("{n} to build"),
    )
}

/// The number in Nix's "these N derivations will be built" (1 for "this derivation will be
/// built"); `None` when Nix says nothing is to be built.
fn count_to_build(dry_run_stderr: &str) -> Option<usize> {
    dry_run_stderr.lines().find_map(|line| {
        let line = line.trim();
        if line.starts_with("this derivation will be built") {
            return Some(1);
        }
        line.strip_prefix("these ")?
            .strip_suffix(" derivations will be built:")?
            .parse()
            .ok()
    })
}

fn read_input(file: &Path) -> Result<String> {
    let mut text = String::new();
    if file.as_os_str() == "-" {
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading standard input")?;
    } else {
        text =
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_to_build_reads_nix_dry_run() {
        assert_eq!(
            count_to_build("these 12 derivations will be built:\n  /nix/store/a.drv\n"),
            Some(12)
        );
        assert_eq!(
            count_to_build("warning: x\nthis derivation will be built:\n  /nix/store/a.drv\n"),
            Some(1)
        );
        assert_eq!(count_to_build("these 3 paths will be fetched\n"), None);
        assert_eq!(count_to_build(""), None);
    }

    /// A std or dependencies' planner whose `go` fails registers the plan of an empty script
    /// (its top and nothing else); it used to fail itself, in `parse_script`, which takes an
    /// empty script for a failed `go` ("script has no actions").
    #[test]
    fn failed_library_planner_registers_an_empty_plan() {
        let go = InputRef {
            path: "/nix/store/00000000000000000000000000000000-go".into(),
            drv: None,
            output: None,
        };
        for what in [Packages::Std, Packages::Deps] {
            let inputs = PlanInputs {
                src_root: Path::new("/build/src"),
                request: &BuildRequest::default(),
                go: &go,
                cc: None,
                modcache: None,
                addressing: Addressing::ContentAddressed,
                name: None,
                override_packages: BTreeSet::new(),
                go_cache_seed: None,
                what,
            };
            let plan = empty_library_plan(&inputs).expect("an empty library plan");
            assert_eq!(plan.actions.len(), 1, "{what:?}");
            assert_eq!(plan.actions[&plan.top].name, library_top(what));
        }
    }
}
