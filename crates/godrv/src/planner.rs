//! `godrv plan`: the builder of the planner derivation. Reads the configuration the Nix
//! library wrote, plans, and writes the plan (IFD) or registers its derivations and writes the
//! top `.drv` (dyn).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use godrv_derivation::StorePath;
use godrv_nix::module_dirs::KnownModules;
use godrv_nix::module_groups::{ModuleGroupsPlan, RegisteredGroups};
use godrv_nix::register::{Store, Toolchain};
use godrv_nix::{DrvPlan, InputRef, ModuleDir, ToolInput};
use godrv_plan::group::{Granularity, MODULE_KEY_PREFIX};

use crate::fs::scratch_dir;
use crate::lockfile;
use crate::plan::{
    empty_library_plan, library_top, make_plan, run_std_plan, PlanInputs, StdGroupPlan, StdPlanFrom,
};
use crate::register::{explain_nix_error, open_store, register_timed, toolchain};
use crate::request::{PlanConfig, PlanMode};
use crate::script::Packages;

/// Plans as `config` says and writes the result to `out` (and, an unpinned planner given
/// `groups`, the third-party part of the plan there: see [`godrv_nix::module_groups`]).
pub fn plan_in_nix(config: &PlanConfig, out: &Path, groups: Option<&Path>) -> Result<()> {
    let scratch = scratch_dir()?;
    if let (Some(groups), mode @ (PlanMode::Dyn | PlanMode::Ifd | PlanMode::ModuleGroups)) =
        (groups, config.mode)
    {
        bail!(
            "only an unpinned planner writes the plan's module groups ({}), not one of mode {mode:?}",
            groups.display()
        );
    }
    if config.mode == PlanMode::ModuleGroups {
        return register_module_groups(config, scratch.path(), out);
    }
    if let Some(file) = &config.plan {
        return place_given_plan(config, Path::new(file), scratch.path(), out);
    }
    // std's planner has no source: the directory go starts in (empty) stands in for it.
    let std_root = scratch.path().join("go/std");
    let unpacked = scratch.path().join("source");
    let src_root = if config.std {
        std::fs::create_dir_all(&std_root)
            .with_context(|| format!("creating {}", std_root.display()))?;
        std_root.as_path()
    } else if is_nar(Path::new(&config.src))? {
        godrv_derivation::nar::unpack_nar(Path::new(&config.src), &unpacked).context(
            "unpacking the source (a regular file as `src` is a NAR: the source's skeleton, made by `godrv skeleton`)",
        )?;
        unpacked.as_path()
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
        std_plan: match &config.std_plan {
            Some(file) => StdPlanFrom::Planner(Path::new(file)),
            None => StdPlanFrom::Go,
        },
    };
    if inputs.what == Packages::Std && config.request.granularity == Granularity::Module {
        return plan_std_group(config, &inputs, scratch.path(), out);
    }
    let planned = make_plan(&inputs, scratch.path()).and_then(|plan| {
        if assembled.is_some() {
            if let Some(t) = plan.actions.values().find(|t| t.uses(ToolInput::Modcache)) {
                bail!(
                    "{} reads files of several modules; lockfile mode gives each derivation one module: use vendorHash for this program",
                    t.name()
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
        PlanMode::Unpinned => {
            if let Some(groups) = groups {
                write_json(&ModuleGroupsPlan::of(&plan), groups)?;
            }
            write_plan(&plan, out)
        }
        PlanMode::Ifd | PlanMode::Dyn | PlanMode::ModuleGroups => {
            place_plan(config, plan, src_root, scratch.path(), out)
        }
    }
}

/// Whether the source `src` is a NAR of the tree (the output of `godrv skeleton`,
/// nix/internal/skeleton.nix) rather than the tree: the one rule is that a regular file is a
/// NAR. A directory (or a symlink to one) is the tree, planned in place.
fn is_nar(src: &Path) -> Result<bool> {
    let meta =
        std::fs::metadata(src).with_context(|| format!("reading the source {}", src.display()))?;
    Ok(meta.is_file())
}

/// The second step of a plan made from the source's skeleton (`config.plan`, written by an
/// `unpinned` planner): no `go`, the plan is pinned (ifd) or registered (dyn) with the source
/// itself, `config.src`, whose files its source sets are.
fn place_given_plan(config: &PlanConfig, file: &Path, scratch: &Path, out: &Path) -> Result<()> {
    if config.mode == PlanMode::Unpinned {
        bail!(
            "the planner configuration gives a plan ({}) and mode `unpinned`: a given plan is pinned (ifd) or registered (dyn), never planned again",
            file.display()
        );
    }
    let plan: DrvPlan =
        crate::fs::read_json(file, "the plan", "an `unpinned` planner of this godrv")?;
    check_version(file, plan.version)?;
    eprintln!(
        "godrv: {} actions planned from the source's skeleton ({}); no go runs here",
        plan.actions.len(),
        file.display()
    );
    place_plan(config, plan, Path::new(&config.src), scratch, out)
}

/// Fails unless a plan read from `file` has this godrv's plan version.
fn check_version(file: &Path, found: u32) -> Result<()> {
    let version = godrv_nix::contract().plan_version;
    if found != version {
        bail!(
            "the plan {} has version {found}, this godrv reads {version}: its planner is another godrv's",
            file.display(),
        );
    }
    Ok(())
}

/// Writes `plan` as JSON to `out`.
fn write_plan(plan: &DrvPlan, out: &Path) -> Result<()> {
    let json = serde_json::to_string_pretty(plan)?;
    std::fs::write(out, json).with_context(|| format!("writing {}", out.display()))
}

/// Writes `value` as (compact) JSON to `out`.
fn write_json(value: &impl serde::Serialize, out: &Path) -> Result<()> {
    let json = serde_json::to_string(value)?;
    std::fs::write(out, json).with_context(|| format!("writing {}", out.display()))
}

/// IFD: writes `plan` with the hashes of its source sets (files of `src_root`) and modules;
/// dyn: registers its derivations and writes the top `.drv`.
fn place_plan(
    config: &PlanConfig,
    mut plan: DrvPlan,
    src_root: &Path,
    scratch: &Path,
    out: &Path,
) -> Result<()> {
    match config.mode {
        PlanMode::Ifd => {
            let t0 = Instant::now();
            plan.pin_hashes(
                src_root,
                config.modcache.as_ref().map(|m| Path::new(&m.path)),
                known_modules(config)?.as_ref(),
            )?;
            eprintln!(
                "godrv: hashed the plan's source sets and modules in {} ms",
                t0.elapsed().as_millis()
            );
            write_plan(&plan, out)
        }
        PlanMode::Dyn => {
            let top = register_in_nix(config, &plan, src_root, scratch)?;
            let top_file = top.to_absolute();
            std::fs::copy(&top_file, out)
                .with_context(|| format!("copying {top_file} to {}", out.display()))?;
            Ok(())
        }
        PlanMode::Unpinned | PlanMode::ModuleGroups => write_plan(&plan, out),
    }
}

/// Registers `plan` (dyn mode) with the inputs `config` names; returns the top `.drv`. With
/// [`PlanConfig::module_groups`], says how many of the plan's module groups were registered
/// ahead (inputs of this planner: not added again).
fn register_in_nix(
    config: &PlanConfig,
    plan: &DrvPlan,
    src_root: &Path,
    scratch: &Path,
) -> Result<StorePath> {
    let (toolchain, mut store) = registration_toolchain(config, plan.modules())?;
    let registration = register_timed(
        plan,
        &toolchain,
        src_root,
        &scratch.join("stage"),
        store.as_mut(),
    )
    .map_err(|e| anyhow::anyhow!(explain_nix_error(e.to_string())))?;
    if let Some(file) = &config.module_groups {
        let ahead: RegisteredGroups = crate::fs::read_json(
            Path::new(file),
            "the module groups registered ahead",
            "the module groups' registrar of this godrv",
        )?;
        let groups: Vec<(&String, &StorePath)> = registration
            .drvs
            .iter()
            .filter(|(key, _)| key.starts_with(MODULE_KEY_PREFIX))
            .collect();
        let (given, added): (Vec<_>, Vec<_>) = groups
            .iter()
            .partition(|(key, drv)| ahead.groups.get(*key) == Some(&drv.to_absolute()));
        eprintln!(
            "godrv: module groups: {}, {} of them registered ahead (inputs, not added); added here: {}",
            groups.len(),
            given.len(),
            if added.is_empty() {
                "none".to_string()
            } else {
                added
                    .iter()
                    .map(|(key, _)| key.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            }
        );
    }
    Ok(registration.top)
}

/// The toolchain derivations are registered with (the inputs `config` names, `modules` taken
/// from its module directories, module cache or lockfile) and the store to write to.
fn registration_toolchain<'a>(
    config: &PlanConfig,
    modules: impl IntoIterator<Item = &'a ModuleDir>,
) -> Result<(Toolchain, Box<dyn Store>)> {
    let nix = config
        .nix
        .as_deref()
        .context("dyn mode needs the `nix` program in the configuration")?;
    let mut store = open_store(Path::new(nix))?;
    let modules = match (&config.modcache, &config.locked_modules) {
        (Some(modcache), _) => godrv_nix::register::add_modules(
            modules,
            Path::new(&modcache.path),
            known_modules(config)?.as_ref(),
            store.as_mut(),
        )?,
        (None, Some(locked)) => locked
            .iter()
            .map(|(dir, m)| (dir.clone(), m.source.clone()))
            .collect(),
        (None, None) => BTreeMap::new(),
    };
    let toolchain = toolchain(
        Path::new(nix),
        Toolchain {
            system: config.system.clone(),
            godrv: config.godrv.clone(),
            go: config.go.clone(),
            cc: config.cc.clone(),
            modcache: config.modcache.clone(),
            inputs: config.inputs.clone(),
            package_inputs: config.package_inputs.clone(),
            modules,
            input_hashes: BTreeMap::new(),
            source_sets: config.source_sets.iter().cloned().collect(),
        },
    )?;
    Ok((toolchain, store))
}

/// The module groups' registrar ([`PlanMode::ModuleGroups`]): registers the module groups of
/// the third-party part of a plan ([`PlanConfig::plan`]) and writes the [`RegisteredGroups`]
/// to `out`. Like std's group planner it only saves the program's planner time: if registering
/// fails, it says so and writes no group, and the program's planner adds what it needs itself
/// (and fails there, with the program's context, if that fails too).
fn register_module_groups(config: &PlanConfig, scratch: &Path, out: &Path) -> Result<()> {
    let file = config
        .plan
        .as_deref()
        .map(Path::new)
        .context("the module groups' registrar needs `plan`: the third-party part of a plan, written by an unpinned planner")?;
    let t0 = Instant::now();
    let registered = (|| -> Result<RegisteredGroups> {
        let part: ModuleGroupsPlan = crate::fs::read_json(
            file,
            "the plan's module groups",
            "an `unpinned` planner of this godrv",
        )?;
        check_version(file, part.version)?;
        let (toolchain, mut store) = registration_toolchain(config, part.modules())?;
        let roots: Vec<String> = part.groups.iter().cloned().collect();
        let (drvs, _, _) = godrv_nix::register::register_actions(
            &part.actions,
            part.addressing,
            &roots,
            &toolchain,
            Path::new(&config.src),
            &scratch.join("stage"),
            store.as_mut(),
        )
        .map_err(|e| anyhow::anyhow!(explain_nix_error(e.to_string())))?;
        Ok(RegisteredGroups {
            groups: roots
                .into_iter()
                .map(|key| {
                    let drv = drvs[&key].to_absolute();
                    (key, drv)
                })
                .collect(),
        })
    })();
    let registered = match registered {
        Ok(registered) => {
            eprintln!(
                "godrv: {} module groups registered ahead in {} ms",
                registered.groups.len(),
                t0.elapsed().as_millis()
            );
            registered
        }
        Err(e) => {
            eprintln!(
                "godrv: warning: registering the module groups ahead failed, so the program's planner adds them itself: {e:#}"
            );
            RegisteredGroups::default()
        }
    };
    write_json(&registered, out)
}

/// The module directories `config` names ([`PlanConfig::module_dirs`]), if any.
fn known_modules(config: &PlanConfig) -> Result<Option<KnownModules>> {
    let Some(file) = &config.module_dirs else {
        return Ok(None);
    };
    crate::fs::read_json(
        Path::new(file),
        "the module directories",
        "`godrv module-dirs` of this godrv",
    )
    .map(Some)
}

/// std's planner in granularity "module": plans std (`go build -n std`), registers (dyn mode)
/// std's one group derivation under a top `go-std` that depends on it, and writes a
/// [`StdGroupPlan`] to `out`. As with the package granularity's std planner, a failure only
/// costs the program planners time: it is logged and the file says there is no plan.
fn plan_std_group(
    config: &PlanConfig,
    inputs: &PlanInputs<'_>,
    scratch: &Path,
    out: &Path,
) -> Result<()> {
    let t0 = Instant::now();
    let written = match run_std_plan(inputs, scratch) {
        Ok(std) => {
            let mut grouped = std.clone();
            godrv_plan::group::group_std(&mut grouped, &std)
                .context("making the standard library one derivation")?;
            let plan = DrvPlan::new(&grouped, inputs.addressing, &BTreeSet::new())?;
            eprintln!(
                "godrv: std planned in {} ms ({} actions in one group)",
                t0.elapsed().as_millis(),
                std.actions.len() - 1
            );
            let registered = match config.mode {
                PlanMode::Dyn => {
                    Some(register_in_nix(config, &plan, inputs.src_root, scratch)?.to_absolute())
                }
                PlanMode::Ifd | PlanMode::Unpinned | PlanMode::ModuleGroups => None,
            };
            StdGroupPlan {
                plan: Some(std),
                registered,
            }
        }
        Err(e) => {
            eprintln!(
                "godrv: warning: planning std failed, so the program planners run `go build -n std` themselves: {e:#}"
            );
            StdGroupPlan {
                plan: None,
                registered: None,
            }
        }
    };
    write_json(&written, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A planner configuration of `mode` with `src` and the plan `plan` given.
    fn config(mode: &str, src: &Path, plan: &Path) -> PlanConfig {
        serde_json::from_value(serde_json::json!({
            "mode": mode,
            "addressing": "content-addressed",
            "system": "x86_64-linux",
            "src": src,
            "go": { "path": "/nix/store/00000000000000000000000000000000-go" },
            "godrv": { "path": "/nix/store/00000000000000000000000000000000-godrv" },
            "name": "x",
            "plan": plan,
        }))
        .unwrap()
    }

    /// An unpinned plan of one action reading the source set `{a.go}`.
    fn unpinned_plan_file(dir: &Path, version: u32) -> std::path::PathBuf {
        let plan = serde_json::json!({
            "version": version,
            "addressing": "content-addressed",
            "top": "a",
            "actions": { "a": {
                "name": { "string": "a" },
                "src": { "src": { "name": "src-a", "files": ["a.go"], "paths": ["a.go"] } },
            } },
        });
        let file = dir.join("plan.json");
        std::fs::write(&file, plan.to_string()).unwrap();
        file
    }

    /// The pinned plan `plan_in_nix` writes for a source whose `a.go` holds `text`.
    fn pinned(text: &str) -> DrvPlan {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        std::fs::create_dir(&src).unwrap();
        std::fs::write(src.join("a.go"), text).unwrap();
        let plan = unpinned_plan_file(dir.path(), godrv_nix::contract().plan_version);
        let out = dir.path().join("out");
        plan_in_nix(&config("ifd", &src, &plan), &out, None).unwrap();
        serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap()
    }

    /// The source sets' hashes of a plan made from the skeleton are the source's: two sources
    /// with the same skeleton (a body edit) get the same plan with other hashes.
    #[test]
    fn a_given_plan_is_pinned_with_the_source_not_its_skeleton() {
        let a = pinned("package a\n\nfunc F() int { return 1 }\n");
        let b = pinned("package a\n\nfunc F() int { return 2 }\n");
        let hash = |p: &DrvPlan| p.actions["a"].sources().next().unwrap().sha256.clone();
        assert!(hash(&a).is_some());
        assert_ne!(hash(&a), hash(&b));
        let mut unpinned = a.clone();
        for set in unpinned
            .actions
            .values_mut()
            .flat_map(|t| t.attrs.values_mut())
        {
            if let godrv_nix::Attr::Src(set) = set {
                set.sha256 = None;
            }
        }
        // Otherwise the plan written is the plan given.
        let dir = tempfile::tempdir().unwrap();
        let given = unpinned_plan_file(dir.path(), godrv_nix::contract().plan_version);
        let given: DrvPlan =
            serde_json::from_str(&std::fs::read_to_string(given).unwrap()).unwrap();
        assert_eq!(unpinned, given);
    }

    #[test]
    fn a_given_plan_of_another_version_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let plan = unpinned_plan_file(dir.path(), 999);
        let err = plan_in_nix(
            &config("ifd", dir.path(), &plan),
            &dir.path().join("out"),
            None,
        )
        .unwrap_err();
        assert!(format!("{err:#}").contains("has version 999"), "{err:#}");
    }

    #[test]
    fn a_given_plan_is_not_planned_again() {
        let dir = tempfile::tempdir().unwrap();
        let plan = unpinned_plan_file(dir.path(), godrv_nix::contract().plan_version);
        let err = plan_in_nix(
            &config("unpinned", dir.path(), &plan),
            &dir.path().join("out"),
            None,
        )
        .unwrap_err();
        assert!(
            format!("{err:#}").contains("never planned again"),
            "{err:#}"
        );
    }
}
