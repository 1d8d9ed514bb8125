//! `godrv build`: outside any Nix build, download the modules, plan, register the derivations
//! in the local store and build the top one.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};
use godrv_nix::register::Toolchain;
use godrv_nix::{Addressing, InputRef, ToolInput};
use godrv_plan::group::Granularity;

use crate::build_cache::{self, KeyInputs, PlanCache, PlanKey, Uncachable};
use crate::fs::scratch_dir;
use crate::helpers;
use crate::path_toolchain::{self, ToolchainFile};
use crate::plan::{make_plan, PlanInputs, StdPlanFrom};
use crate::register::{open_store, register_timed, toolchain};
use crate::request::{BuildRequest, ModulesRequest};
use crate::script::Packages;
use crate::std_cache::{StdPlanCache, StdPlanKey};

/// Settings of `godrv build`.
pub struct BuildOptions {
    pub addressing: Addressing,
    pub dry_run: bool,
    /// Environment for `go mod download`.
    pub env: BTreeMap<String, String>,
    /// Name of the top derivation (`None`: the program's name).
    pub name: Option<String>,
    /// Settings of the `nix build` that builds the registered derivations.
    pub nix: NixBuildSettings,
    /// Use the plan cache ([`crate::build_cache`]): `false` with `--no-cache`.
    pub cache: bool,
}

/// Nix settings `godrv build` passes to `nix build` (unset: nix.conf's): where the derivations
/// are built.
#[derive(Debug, Default)]
pub struct NixBuildSettings {
    /// `max-jobs` (`0`: nothing built on this machine).
    pub max_jobs: Option<u32>,
    /// `builders` (remote builders: `@/etc/nix/machines`, `ssh-ng://…`).
    pub builders: Option<String>,
}

impl NixBuildSettings {
    /// The `nix build` arguments that set them.
    fn args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(n) = self.max_jobs {
            args.extend(["--max-jobs".to_string(), n.to_string()]);
        }
        if let Some(builders) = &self.builders {
            args.extend(["--builders".to_string(), builders.clone()]);
        }
        args
    }
}

/// Whether the module at `dir` requires other modules (its go.sum lists any), or `dir` is a
/// workspace (whose modules may: `go mod download` finds out).
fn needs_modules(dir: &Path) -> bool {
    dir.join("go.work").is_file()
        || std::fs::read_to_string(dir.join("go.sum")).is_ok_and(|sum| !sum.trim().is_empty())
}

pub fn build_outside_nix(
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
    let cache_dir = if options.cache {
        let found = build_cache::cache_dir();
        if found.is_none() {
            eprintln!("godrv: no plan cache: neither XDG_CACHE_HOME nor HOME is set");
        }
        found
    } else {
        None
    };
    // This godrv (it plans): part of both caches' keys.
    let godrv = match &cache_dir {
        Some(_) => Some((env!("CARGO_PKG_VERSION"), build_cache::this_executable()?)),
        None => None,
    };
    let cached = match (&cache_dir, &godrv) {
        (Some(cache_dir), Some(godrv)) => {
            plan_cache(cache_dir, godrv, &dir, &request, &file, options)?
        }
        _ => None,
    };
    if let Some((cache, key)) = &cached {
        if let Some(top) = cache.lookup(key, |drv| build_cache::valid_in_store(&nix, drv))? {
            eprintln!(
                "godrv: nothing that shapes the plan changed: {top} (plan cache {}; --no-cache \
                 plans again)",
                cache.entry(key).display()
            );
            return finish(&nix, &top, dry_run, None, &options.nix);
        }
    }
    // Third-party modules: downloaded here (with --env); the planner reads the whole cache, each
    // package derivation the source path of its own module.
    let modcache = if needs_modules(&dir.join(&request.mod_root)) {
        let download = ModulesRequest {
            src: dir.to_string_lossy().into_owned(),
            go: file.go.clone(),
            mod_root: request.mod_root.clone(),
            env: options.env.clone(),
        };
        let cache = scratch.path().join("modcache");
        helpers::download_modules(&download, &cache, &scratch.path().join("download"))?;
        Some(cache)
    } else {
        None
    };
    let modcache_input = modcache.as_ref().map(|m| input(&m.to_string_lossy()));
    // Granularity "module": std's plan from its own cache, keyed on what shapes it only, so an
    // edit (a plan-cache miss) does not run `go build -n std` again.
    let std_cache = match (&cache_dir, &godrv, request.granularity) {
        (Some(cache_dir), Some((version, exe)), Granularity::Module) => {
            match StdPlanKey::new((*version, exe.as_str()), &file, addressing, &request) {
                Ok(key) => Some(StdPlanCache::new(cache_dir, &key)),
                Err(e) => {
                    eprintln!("godrv: warning: std's plan is not cached: {e:#}");
                    None
                }
            }
        }
        _ => None,
    };
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
        std_plan: match &std_cache {
            Some(cache) => StdPlanFrom::Cache(cache),
            None => StdPlanFrom::Go,
        },
    };
    let plan = make_plan(&inputs, scratch.path())?;
    let modules = match &modcache {
        Some(cache) => {
            godrv_nix::register::add_modules(plan.modules(), cache, None, store.as_mut())?
        }
        None => BTreeMap::new(),
    };
    // Only an action reading outside its module's directory gets the whole cache.
    let whole_cache = match &modcache {
        Some(cache) if plan.actions.values().any(|t| t.uses(ToolInput::Modcache)) => {
            Some(input(&store.add_source("go-modules", cache)?))
        }
        _ => None,
    };
    let toolchain = toolchain(
        &nix,
        Toolchain {
            system: file.system.clone(),
            godrv: input(&file.godrv),
            go,
            cc,
            modcache: whole_cache,
            inputs: Vec::new(),
            package_inputs: BTreeMap::new(),
            modules,
            input_hashes: BTreeMap::new(),
            source_sets: BTreeSet::new(),
        },
    )?;
    let top = register_timed(
        &plan,
        &toolchain,
        &dir,
        &scratch.path().join("stage"),
        store.as_mut(),
    )?;
    let top = top.top.to_absolute();
    if let Some((cache, key)) = &cached {
        cache.store(key, &top, &nix)?;
    }
    finish(&nix, &top, dry_run, Some(plan.actions.len()), &options.nix)
}

/// The plan cache in `cache_dir` and this build's key in it; `None` (said on stderr) when the
/// key cannot see everything that shapes the plan. `godrv`: this godrv's version and the SHA-256
/// of its executable.
fn plan_cache(
    cache_dir: &Path,
    godrv: &(&str, String),
    dir: &Path,
    request: &BuildRequest,
    file: &ToolchainFile,
    options: &BuildOptions,
) -> Result<Option<(PlanCache, PlanKey)>> {
    let inherited_env = crate::go::inherited_download_env()
        .into_iter()
        .map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.to_string_lossy().into_owned(),
            )
        })
        .collect();
    let key = PlanKey::new(&KeyInputs {
        godrv: (godrv.0, godrv.1.clone()),
        toolchain: file,
        request,
        addressing: options.addressing,
        name: options.name.as_deref(),
        download_env: &options.env,
        inherited_env,
        dir,
    })?;
    match key {
        Ok(key) => Ok(Some((PlanCache::new(cache_dir.to_path_buf()), key))),
        Err(Uncachable(why)) => {
            eprintln!("godrv: no plan cache for this build: {why}");
            Ok(None)
        }
    }
}

/// Prints `top` (`dry_run`) or builds it with `settings`; `planned`: how many derivations were
/// planned (`None`: the plan came from the cache).
fn finish(
    nix: &Path,
    top: &str,
    dry_run: bool,
    planned: Option<usize>,
    settings: &NixBuildSettings,
) -> Result<()> {
    if dry_run {
        println!("{top}");
        return Ok(());
    }
    let installable = format!("{top}^out");
    if let Some(planned) = planned {
        eprintln!(
            "godrv: {planned} derivations planned; {}",
            to_build(nix, &installable, settings)
        );
    }
    let status = Command::new(nix)
        .args(["build", "--no-link", "--print-out-paths"])
        .args(settings.args())
        .arg(&installable)
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
fn to_build(nix: &Path, installable: &str, settings: &NixBuildSettings) -> String {
    let out = match Command::new(nix)
        .args(["build", "--dry-run", "--no-link"])
        .args(settings.args())
        .arg(installable)
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

#[cfg(test)]
mod tests {
    use super::{count_to_build, NixBuildSettings};

    #[test]
    fn nix_build_settings_become_nix_build_flags() {
        assert!(NixBuildSettings::default().args().is_empty());
        let settings = NixBuildSettings {
            max_jobs: Some(0),
            builders: Some("@/etc/nix/machines".into()),
        };
        assert_eq!(
            settings.args(),
            ["--max-jobs", "0", "--builders", "@/etc/nix/machines"]
        );
    }

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
}
