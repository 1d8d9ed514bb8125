//! Command-line interface: each subcommand wires library crates together.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use godrv_nix::Addressing;
use godrv_plan::group::Granularity;

use crate::build::{self, BuildOptions};
use crate::fs::scratch_dir;
use crate::helpers;
use crate::lockfile;
use crate::planner;
use crate::request::{BuildRequest, FetchRequest, ModuleDirsRequest, ModulesRequest, PlanConfig};

/// Build Go programs with Nix, one derivation per Go package of your own code.
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
    /// writes `$out`: the plan as JSON (`ifd`, `unpinned`) or the top `.drv` after writing every
    /// per-package derivation with `nix derivation add` (`dyn`). An unpinned planner with a
    /// second output (`$groups`, named in nix/contract.json) also writes the third-party part of
    /// the plan there; the module groups' registrar (`module-groups`) registers that part.
    Plan {
        /// The configuration (JSON; see `PlanConfig` in crates/godrv/src/request.rs).
        #[arg(long, env = "godrvPlanConfig")]
        config: String,
        /// Where to write the result.
        #[arg(long, env = "out")]
        out: PathBuf,
    },
    /// Replay one planned action (the builder of every per-package derivation).
    Exec,
    /// Write to OUT, as one NAR file, a copy of the source tree SRC with what `go build -n` reads
    /// of it and nothing else: every non-test `.go` file cut to its header (package clause,
    /// imports, build constraints, cgo preamble) and its `//go:embed` comments, every other file
    /// whole (the builder of the skeleton derivation the program's plan is made from;
    /// nix/internal/skeleton.nix; `godrv plan` unpacks it).
    Skeleton {
        /// The source tree.
        #[arg(env = "src")]
        src: PathBuf,
        /// The copy to create (must not exist).
        #[arg(env = "out")]
        out: PathBuf,
    },
    /// Hash (and in dyn mode add to the store) every module directory of a module cache, once
    /// per module cache: the planners take them from this output
    /// (nix/internal/moduleDirs.nix).
    ModuleDirs {
        /// The request (JSON; see `ModuleDirsRequest` in crates/godrv/src/request.rs).
        #[arg(long, env = "godrvModuleDirsConfig")]
        config: String,
        /// Where to write the result.
        #[arg(long, env = "out")]
        out: PathBuf,
    },
    /// Download the modules of `go.mod`/`go.sum` into `$out` (the builder of the vendorHash
    /// fixed-output derivation): `$out` is a module cache (GOMODCACHE) holding only module
    /// sources and go.mod files, so its hash depends on the module versions alone.
    Modules {
        /// The request (JSON; see `ModulesRequest` in crates/godrv/src/request.rs).
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
    /// Write the toolchain's `go-index` plus go's index of the modules of a module cache into
    /// `$out` as a GOCACHE (the builder of the `go-modindex` derivation); the program's planners
    /// start their caches from it.
    GoModIndex {
        /// The Go toolchain (GOROOT).
        #[arg(long, env = "go")]
        go: PathBuf,
        /// The toolchain's `go-index` output, copied into `$out` first.
        #[arg(long, env = "seed")]
        seed: PathBuf,
        /// The directory of the module's `go.mod` and `go.sum` (nothing else is read).
        #[arg(long, env = "src")]
        src: PathBuf,
        /// The module cache (GOMODCACHE) the planners see, at the same path.
        #[arg(long, env = "modcache")]
        modcache: PathBuf,
        /// The GOCACHE to create.
        #[arg(long, env = "out")]
        out: PathBuf,
    },
    /// Write into `$out` the go.mod and go.sum of a module directory with the go.mod's module
    /// path replaced by a fixed one (the builder of the content-addressed `go-modindex-key`
    /// derivation, go-modindex's input): renaming the module does not change it.
    GoModIndexKey {
        /// The Go toolchain (GOROOT).
        #[arg(long, env = "go")]
        go: PathBuf,
        /// The directory of the module's `go.mod` and `go.sum` (nothing else is read).
        #[arg(long, env = "src")]
        src: PathBuf,
        /// The directory to create.
        #[arg(long, env = "out")]
        out: PathBuf,
    },
    /// Download one module into `$out` (the builder of a lockfile entry's fixed-output
    /// derivation): `$out` is the module's directory as `go mod download` leaves it.
    FetchModule {
        /// The request (JSON; see `FetchRequest` in crates/godrv/src/request.rs).
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
        /// `module` (the default, as for the Nix functions' `granularity`): the standard library
        /// one derivation, each third-party module one, the main module's packages one each;
        /// `package`: every package its own derivation. Overrides the request's.
        #[arg(long, value_enum)]
        granularity: Option<GranularityArg>,
        /// Name of the top derivation (the Nix functions use `pname-version`); default: the
        /// program's name.
        #[arg(long)]
        name: Option<String>,
        /// Nix's `max-jobs` for the build (`nix build --max-jobs`): `0` builds nothing on this
        /// machine, every derivation on the remote builders. Default: nix.conf's.
        #[arg(long, value_name = "N")]
        max_jobs: Option<u32>,
        /// Nix's `builders` for the build (`nix build --builders`): remote builders, e.g.
        /// `@/etc/nix/machines` or `ssh-ng://host x86_64-linux`. Default: nix.conf's.
        #[arg(long, value_name = "SPEC")]
        builders: Option<String>,
        /// Plan again even if nothing that shapes the plan changed, and do not record this plan
        /// (the cache: `$XDG_CACHE_HOME/godrv/build`; see README.md).
        #[arg(long)]
        no_cache: bool,
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
                // An unpinned planner's second output, as Nix names it in the environment.
                let groups = std::env::var_os(&godrv_nix::contract().module_groups_output)
                    .map(PathBuf::from);
                planner::plan_in_nix(&config, &out, groups.as_deref())
            }
            Command::Modules { config, out } => {
                let request: ModulesRequest = serde_json::from_str(&config)
                    .context("reading the module download request (godrvModulesConfig)")?;
                let scratch = scratch_dir()?;
                helpers::download_modules(&request, &out, scratch.path())
            }
            Command::GoIndex { go, out } => {
                let scratch = scratch_dir()?;
                helpers::go_index(&go, &out, scratch.path())
            }
            Command::GoModIndex {
                go,
                seed,
                src,
                modcache,
                out,
            } => {
                let scratch = scratch_dir()?;
                helpers::go_mod_index(&go, &seed, &src, &modcache, &out, scratch.path())
            }
            Command::GoModIndexKey { go, src, out } => {
                let scratch = scratch_dir()?;
                helpers::go_mod_index_key(&go, &src, &out, scratch.path())
            }
            Command::FetchModule { config, out } => {
                let request: FetchRequest = serde_json::from_str(&config)
                    .context("reading the module fetch request (godrvFetchConfig)")?;
                let scratch = scratch_dir()?;
                helpers::fetch_module(&request, &out, scratch.path())
            }
            Command::Lock { dir, output, go } => {
                let lock = lockfile::lock(&go, &dir)?;
                let path = output.unwrap_or_else(|| dir.join(lockfile::FILE_NAME));
                lockfile::write(&path, &lock)?;
                eprintln!("wrote {} ({} modules)", path.display(), lock.modules.len());
                Ok(())
            }
            Command::ModuleDirs { config, out } => {
                let request: ModuleDirsRequest = serde_json::from_str(&config)
                    .context("reading the module directories' request (godrvModuleDirsConfig)")?;
                helpers::module_dirs(&request, &out)
            }
            Command::Exec => {
                let env = godrv_exec::BuildEnv::from_env()?;
                godrv_exec::run(&env)?;
                Ok(())
            }
            Command::Check { checks, out } => crate::check::run(&checks, &out),
            Command::Skeleton { src, out } => {
                let summary = crate::skeleton::make_skeleton(&src, &out)?;
                eprintln!(
                    "godrv: skeleton of {}: {} Go files cut to their headers ({} of {} bytes kept), {} other files and {} Go files not lexed copied whole",
                    src.display(),
                    summary.cut,
                    summary.bytes_after,
                    summary.bytes_before,
                    summary.whole,
                    summary.not_lexed.len()
                );
                for (file, why) in &summary.not_lexed {
                    eprintln!("godrv: skeleton: {} kept whole: {why}", file.display());
                }
                Ok(())
            }
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
                max_jobs,
                builders,
                no_cache,
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
                    nix: build::NixBuildSettings { max_jobs, builders },
                    cache: !no_cache,
                };
                build::build_outside_nix(&dir, request, toolchain.as_deref(), &options)
            }
        }
    }
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
