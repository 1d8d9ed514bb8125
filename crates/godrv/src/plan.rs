//! The planning sequence, in order: `go build -n` (and `go test -c -n` beside it), parse, the
//! pkg-config queries and C compiler probes go printed but did not run, plan, merge the tests,
//! name the top derivation. Used by `godrv plan` (inside Nix) and `godrv build` (outside).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use godrv_nix::{Addressing, DrvPlan, InputRef};
use godrv_plan::gotest::{self, CheckMode};
use godrv_plan::group::Granularity;
use serde::{Deserialize, Serialize};

use crate::go::GoTools;
use crate::probes;
use crate::request::BuildRequest;
use crate::script::{self, Packages, TestScript};

/// What a plan is made from.
#[derive(Clone)]
pub struct PlanInputs<'a> {
    pub src_root: &'a Path,
    pub request: &'a BuildRequest,
    pub go: &'a InputRef,
    pub cc: Option<&'a InputRef>,
    pub modcache: Option<&'a InputRef>,
    pub addressing: Addressing,
    /// Name of the top derivation; `None` names it after the binary.
    pub name: Option<&'a str>,
    /// Packages with their own C inputs (`packageOverrides`).
    pub override_packages: BTreeSet<String>,
    /// See [`GoTools::go_cache_seed`].
    pub go_cache_seed: Option<&'a Path>,
    /// The program's packages, std's, or the third-party modules'.
    pub what: Packages,
    /// Where std's plan comes from in granularity "module".
    pub std_plan: StdPlanFrom<'a>,
}

/// Where a program's planner takes std's plan from in granularity "module" (the plan of
/// `go build -n std` that std's one derivation is made of).
#[derive(Clone, Copy)]
pub enum StdPlanFrom<'a> {
    /// `go build -n std`, run by this planner.
    Go,
    /// The output of std's group planner, a [`StdGroupPlan`] file (see
    /// [`crate::request::PlanConfig::std_plan`]); `go build -n std` when it has no plan.
    Planner(&'a Path),
    /// `godrv build`'s cache ([`crate::std_cache`]): read, or `go build -n std` and written.
    Cache(&'a crate::std_cache::StdPlanCache),
}

/// What std's planner writes in granularity "module" (`std` and `granularity = "module"` in its
/// configuration), read by the program's planners: std's plan, the one
/// [`godrv_plan::group::group_std`] takes (the program's planner makes the same std group from
/// it, so the same `.drv`), and in dyn mode the `.drv` registered with that group (a reference of
/// this file: the group derivation is in the closure of every program planner's inputs, so the
/// store reports it valid and it is not added again). `plan` is `None` when std's planning failed:
/// the program's planner then runs `go build -n std` itself.
#[derive(Debug, Serialize, Deserialize)]
pub struct StdGroupPlan {
    pub plan: Option<godrv_plan::Plan>,
    pub registered: Option<String>,
}

/// Runs `go build -n`, parses and plans; with tests, `go test -c -n` runs at the same time (the
/// two `go` commands are independent: each has its own scratch directory).
pub fn make_plan(inputs: &PlanInputs<'_>, scratch: &Path) -> Result<DrvPlan> {
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
    let cpu0 = children_cpu();
    std::thread::scope(|threads| {
        let tests = mode.map(|_| {
            threads.spawn(|| {
                script::test_script(
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
        let (plan, mut timing) = build?;
        timing.go_cpu = children_cpu()
            .zip(cpu0)
            .map(|(t1, t0)| t1.saturating_sub(t0));
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

/// Name of the top derivation of a library plan (std's, or the dependencies'), which
/// `nix/internal/stdPlanner.nix` and `nix/internal/depsPlanner.nix` name the planners after
/// (`nix/contract.json`).
pub fn library_top(what: Packages) -> &'static str {
    let contract = godrv_nix::contract();
    match what {
        Packages::Std => &contract.std_planner,
        Packages::Deps | Packages::Module => &contract.deps_planner,
    }
}

/// The plan of every std package (`go build -n std`) with the settings of `inputs`, as std's own
/// planner makes it (an empty start directory in `scratch`, no module cache): what the std group
/// of granularity "module" is made of. Read from std's planner's output or `godrv build`'s cache
/// when `inputs` has one.
fn std_plan(inputs: &PlanInputs<'_>, scratch: &Path) -> Result<godrv_plan::Plan> {
    let file = match inputs.std_plan {
        StdPlanFrom::Go => return run_std_plan(inputs, scratch),
        StdPlanFrom::Cache(cache) => return cache.get_or_plan(|| run_std_plan(inputs, scratch)),
        StdPlanFrom::Planner(file) => file,
    };
    let std: StdGroupPlan =
        crate::fs::read_json(file, "std's plan", "std's planner of this godrv")?;
    match std.plan {
        Some(plan) => Ok(plan),
        None => {
            eprintln!(
                "godrv: std's planner has no plan ({}); running `go build -n std` here",
                file.display()
            );
            run_std_plan(inputs, scratch)
        }
    }
}

/// [`std_plan`] from `go build -n std`, with the request's std-shaping fields only
/// ([`BuildRequest::std_shaping`], as std's planners get them).
pub fn run_std_plan(inputs: &PlanInputs<'_>, scratch: &Path) -> Result<godrv_plan::Plan> {
    let root = scratch.join("go/std");
    std::fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;
    let request = inputs.request.std_shaping()?;
    let std_inputs = PlanInputs {
        src_root: &root,
        request: &request,
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
pub fn empty_library_plan(inputs: &PlanInputs<'_>) -> Result<DrvPlan> {
    let graph = empty_graph(inputs.src_root);
    let plan = godrv_plan::plan_library(
        &graph,
        &plan_roots(inputs),
        &plan_options(inputs),
        library_top(inputs.what),
    )?;
    Ok(DrvPlan::new(&plan, inputs.addressing, &BTreeSet::new())?)
}

/// How long `go build -n` and the parse took, and when planning started.
struct Timing {
    go_build: std::time::Duration,
    parse: std::time::Duration,
    planning_started: Instant,
    /// The CPU time (user and system) of every program the planner ran (`go`, C compiler
    /// probes, pkg-config), tests and std's script included: what `go` costs whatever else the
    /// machine does.
    go_cpu: Option<std::time::Duration>,
}

/// The user and system CPU time of this process's waited-for children (`cutime` and `cstime`
/// of `/proc/self/stat`, in the kernel's USER_HZ of 100 ticks a second); `None` where there is
/// no such file.
fn children_cpu() -> Option<std::time::Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name (which is in parentheses and may hold spaces).
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // cutime and cstime are fields 16 and 17 of the whole line; 14 and 15 after the name.
    let ticks: u64 = fields.get(13)?.parse::<u64>().ok()? + fields.get(14)?.parse::<u64>().ok()?;
    Some(std::time::Duration::from_millis(ticks * 10))
}

/// `go build -n`, parsed and planned (without tests).
fn plan_build(
    inputs: &PlanInputs<'_>,
    tools: &GoTools<'_>,
    scratch: &Path,
) -> Result<(godrv_plan::Plan, Timing)> {
    let tools = *tools;
    let t0 = Instant::now();
    let script = script::build_script(
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
            probes::pkg_config(
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
        let supported = probes::run_c_probes(&probes, inputs.request, &tools, &go_scratch)?;
        let packages = if inputs.request.allow_go_reference {
            BTreeSet::new() // without -trimpath go maps no package directory
        } else {
            godrv_plan::cc::packages_compiling_c(&graph, tools.goroot)
        };
        let trim = probes::c_trim_dirs(
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
    let options = plan_options(inputs);
    let plan = match inputs.what {
        Packages::Module => godrv_plan::plan(&graph, &plan_roots(inputs), &options),
        Packages::Std | Packages::Deps => godrv_plan::plan_library(
            &graph,
            &plan_roots(inputs),
            &options,
            library_top(inputs.what),
        ),
    }
    .context("planning the build")?;
    Ok((
        plan,
        Timing {
            go_build: t1 - t0,
            parse: t2 - t1,
            planning_started: t2,
            go_cpu: None,
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

/// The planner's settings from the request: the export/link split only pays off with content
/// addressing (early cutoff); go's tool environment; `allowGoReference`; a cross build's
/// `bin/<goos>_<goarch>/`.
fn plan_options(inputs: &PlanInputs<'_>) -> godrv_plan::PlanOptions {
    godrv_plan::PlanOptions {
        split_link_objects: inputs.addressing == Addressing::ContentAddressed,
        tool_env: inputs.request.tool_env(),
        forbid_goroot_references: !inputs.request.allow_go_reference,
        bin_subdir: inputs.request.cross_bin_subdir(),
    }
}

/// Names the result's derivations (`gotest::result_keys`) and turns the plan into the IFD plan.
fn finish_plan(
    plan: &mut godrv_plan::Plan,
    inputs: &PlanInputs<'_>,
    timing: Timing,
) -> Result<DrvPlan> {
    if let Some(name) = inputs.name {
        for key in godrv_plan::gotest::result_keys(plan) {
            plan.actions
                .get_mut(&key)
                .expect("the result's actions are in the plan")
                .name = godrv_plan::sanitize_store_name(name);
        }
    }
    let drvs = DrvPlan::new(plan, inputs.addressing, &inputs.override_packages)?;
    let go_cpu = timing
        .go_cpu
        .map(|cpu| format!("; go's CPU {} ms", cpu.as_millis()))
        .unwrap_or_default();
    eprintln!(
        "godrv: {} actions; go build -n {} ms, parse {} ms, plan {} ms{go_cpu}",
        drvs.actions.len(),
        timing.go_build.as_millis(),
        timing.parse.as_millis(),
        timing.planning_started.elapsed().as_millis()
    );
    Ok(drvs)
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
    tests: Option<TestScript>,
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
    let test_plan = gotest::plan_tests(
        &graph,
        &plan_roots(inputs),
        &plan_options(inputs),
        &tests.packages,
        &flags,
        &data,
    )
    .context("planning the tests")?;
    Ok(gotest::with_tests(plan, test_plan, mode))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_cpu_counts_a_waited_for_child() {
        let before = children_cpu().expect("/proc/self/stat has cutime and cstime");
        // A child that spends CPU (a shell loop), waited for.
        let status = std::process::Command::new("sh")
            .args(["-c", "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done"])
            .status()
            .unwrap();
        assert!(status.success());
        let after = children_cpu().unwrap();
        assert!(after > before, "{before:?} -> {after:?}");
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
                std_plan: StdPlanFrom::Go,
            };
            let plan = empty_library_plan(&inputs).expect("an empty library plan");
            assert_eq!(plan.actions.len(), 1, "{what:?}");
            assert_eq!(plan.actions[&plan.top].name(), library_top(what));
        }
    }
}
