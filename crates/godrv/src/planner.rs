//! `godrv plan`: the builder of the planner derivation. Reads the configuration the Nix
//! library wrote, plans, and writes the plan (IFD) or registers its derivations and writes the
//! top `.drv` (dyn).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use godrv_nix::InputRef;

use crate::fs::scratch_dir;
use crate::lockfile;
use crate::plan::{empty_library_plan, library_top, make_plan, PlanInputs};
use crate::register::{explain_nix_error, open_store, register_timed, toolchain, Inputs};
use crate::request::{PlanConfig, PlanMode};
use crate::script::Packages;

/// Plans as `config` says and writes the result to `out`.
pub fn plan_in_nix(config: &PlanConfig, out: &Path) -> Result<()> {
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
                (Some(modcache), _) => godrv_nix::register::add_modules(
                    &plan,
                    Path::new(&modcache.path),
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
                Inputs {
                    system: config.system.clone(),
                    godrv: config.godrv.clone(),
                    go: config.go.clone(),
                    cc: config.cc.clone(),
                    modcache: config.modcache.clone(),
                    inputs: config.inputs.clone(),
                    package_inputs: config.package_inputs.clone(),
                    modules,
                },
            )?;
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
