//! The builders of godrv's helper derivations: `godrv modules` (the vendorHash module cache),
//! `godrv fetch-module` (one module of a lockfile), `godrv go-index` (Go's index of GOROOT
//! that seeds the planners' GOCACHE), `godrv go-mod-index` (that index plus go's index of
//! the module cache's modules), `godrv go-mod-index-key` (the go.mod and go.sum go-mod-index
//! reads, with the module path fixed) and `godrv module-dirs` (the module cache's directories
//! as source paths, once per module cache).

use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::fs::{make_dirs, read_dir, remove_all};
use crate::go::{download_env, Go, GoTools};
use crate::modfiles::PrivateModFiles;
use crate::register::{explain_nix_error, open_store};
use crate::request::{BuildRequest, FetchRequest, ModuleDirsRequest, ModulesRequest, PlanMode};
use crate::script::required_modules;
use godrv_exec::copy_tree;
use godrv_nix::module_dirs::KnownModules;
use godrv_nix::register::Store;

/// `godrv module-dirs`: hashes (and in dyn mode adds) every module directory of the module
/// cache, and writes their [`KnownModules`] to `out`.
pub fn module_dirs(request: &ModuleDirsRequest, out: &Path) -> Result<()> {
    let t0 = std::time::Instant::now();
    let modcache = Path::new(&request.modcache);
    let mut store = match request.mode {
        PlanMode::Dyn => {
            Some(open_store(Path::new(request.nix.as_deref().context(
                "dyn mode needs the `nix` program in the configuration",
            )?))?)
        }
        PlanMode::Ifd => None,
        mode @ (PlanMode::Unpinned | PlanMode::ModuleGroups) => {
            bail!("godrv module-dirs takes mode dyn or ifd, not {mode:?}")
        }
    };
    let known = KnownModules::of_cache(
        modcache,
        store.as_mut().map(|s| s.as_mut() as &mut dyn Store),
    )
    .map_err(|e| anyhow::anyhow!(explain_nix_error(e.to_string())))
    .with_context(|| format!("adding the module directories of {}", modcache.display()))?;
    eprintln!(
        "godrv: {} module directories of {} in {} ms",
        known.modules.len(),
        modcache.display(),
        t0.elapsed().as_millis()
    );
    std::fs::write(out, serde_json::to_string(&known)?)
        .with_context(|| format!("writing {}", out.display()))
}

/// Writes to `out` a GOCACHE that holds Go's module index of GOROOT/src and nothing else: what
/// `go list std` leaves in an empty cache (no build results). The planner copies it into its
/// GOCACHE (see [`GoTools::go_cache_seed`]). `trim.txt` (the time of the last trim) is left out so
/// that the output does not depend on the clock.
pub fn go_index(goroot: &Path, out: &Path, scratch: &Path) -> Result<()> {
    make_dirs(scratch, &["home", "gopath"])?;
    let tools = GoTools {
        goroot,
        cc: None,
        modcache: None,
        go_cache_seed: None,
    };
    Go::planner(scratch, &BuildRequest::default(), &tools, scratch)?
        .env("GOCACHE", out)
        .env("CGO_ENABLED", "0")
        .args(["list", "std"])
        .run()?;
    without_clock(out)
}

/// Makes the GOCACHE `out` independent of the clock: removes `trim.txt` (the time of the last
/// trim) and sets the time of every entry to 0 (entries already at 0 are left alone: those copied
/// from a seed are read-only).
fn without_clock(out: &Path) -> Result<()> {
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
                    Some(fixed) if fixed == text => {}
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

/// Writes to `out` a GOCACHE holding `seed` (the toolchain's [`go_index`]) plus go's module index
/// of every module of `modcache` that the module in `module_dir` (a directory with only its
/// `go.mod` and `go.sum`) requires: what `go list -e -find` of those modules' packages leaves in
/// a cache.
///
/// go indexes a whole module of the module cache the first time it loads a package of it, and
/// keys that index by the go version and the module's directory alone: it trusts module cache
/// trees not to change and never looks at their files again (`moduleHash` in
/// cmd/go/internal/modindex/read.go). The planner sees the same module cache at the same store
/// path, where a directory cannot change, so it reads every module from this index instead of
/// reading and parsing all of its files; a module the index lacks is simply read from its files.
/// Only an optimization: if `go list` fails, the output is `seed` alone and a warning says why.
pub fn go_mod_index(
    goroot: &Path,
    seed: &Path,
    module_dir: &Path,
    modcache: &Path,
    out: &Path,
    scratch: &Path,
) -> Result<()> {
    make_dirs(scratch, &["home", "gopath"])?;
    copy_tree(seed, out).with_context(|| format!("copying the Go index {}", seed.display()))?;
    let tools = GoTools {
        goroot,
        cc: None,
        modcache: Some(modcache),
        go_cache_seed: None,
    };
    let go = || -> Result<Go> {
        Ok(Go::planner(module_dir, &BuildRequest::default(), &tools, scratch)?.env("GOCACHE", out))
    };
    let indexed = go().and_then(required_modules).and_then(|patterns| {
        if !patterns.is_empty() {
            // -find: the packages, not their dependencies; loading one package of a module
            // indexes all of it.
            go()?
                .args(["list", "-e", "-find", "-f", "{{.ImportPath}}"])
                .args(patterns.iter().cloned())
                .run()?;
        }
        Ok(patterns.len())
    });
    match indexed {
        Ok(n) => eprintln!("godrv: indexed the packages of {n} modules"),
        Err(e) => eprintln!(
            "godrv: warning: go's module index of {} could not be made, so the planners index the modules themselves: {e:#}",
            modcache.display()
        ),
    }
    without_clock(out)
}

/// The module path [`go_mod_index_key`] gives every go.mod: a name no module can be required
/// by (`.invalid` is a reserved top-level domain), so that it is never the prefix of a required
/// module's path and `go list` of a required module's packages never looks for them in the
/// main module.
pub const INDEXED_MODULE_PATH: &str = "godrv.invalid/indexed";

/// Writes to `out` the go.mod and go.sum of the directory `module_dir` (go.sum if there is one),
/// with the go.mod's module path replaced by [`INDEXED_MODULE_PATH`] (`go mod edit -module`):
/// what [`go_mod_index`] reads, without what cannot change what it indexes. go's index of a
/// module is keyed by the go version and the module's directory alone, and which modules are
/// indexed is the build list of `go list -m all`, which the main module's path does not change.
/// The derivation this builds is content-addressed, so a program whose module path was renamed
/// finds go-modindex built. Only an optimization, like go-modindex: if `go mod edit` fails,
/// go.mod is left as it was and a warning says why (go-modindex is then made again after a
/// rename).
pub fn go_mod_index_key(
    goroot: &Path,
    module_dir: &Path,
    out: &Path,
    scratch: &Path,
) -> Result<()> {
    make_dirs(scratch, &["home", "gopath"])?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    for (name, required) in [("go.mod", true), ("go.sum", false)] {
        let from = module_dir.join(name);
        if !required && !from.exists() {
            continue;
        }
        let to = out.join(name);
        // Written, not copied: a store file is read-only, and `go mod edit` rewrites go.mod.
        let text = std::fs::read(&from).with_context(|| {
            format!(
                "reading {} (go-modindex's input: the directory of go.mod, modRoot)",
                from.display()
            )
        })?;
        std::fs::write(&to, text).with_context(|| format!("writing {}", to.display()))?;
    }
    let tools = GoTools {
        goroot,
        cc: None,
        modcache: None,
        go_cache_seed: None,
    };
    let edited = Go::planner(out, &BuildRequest::default(), &tools, scratch).and_then(|go| {
        go.args(["mod", "edit", "-module", INDEXED_MODULE_PATH, "go.mod"])
            .run()
    });
    if let Err(e) = edited {
        eprintln!(
            "godrv: warning: the module path of {} could not be replaced, so go-modindex is made again whenever it changes: {e:#}",
            module_dir.join("go.mod").display()
        );
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
    make_dirs(scratch, &["home", "gocache", "gopath"])?;
    let goroot = Path::new(&request.go);
    let user = request.env.get("GOFLAGS").map_or("", |f| f.trim());
    crate::modfiles::refuse_user_modfile(user)?;
    let go = Go::new(
        goroot,
        &start_dir,
        download_env(goroot, &request.env, scratch),
    );
    // go runs on copies of go.mod and go.sum (or go.work): `godrv build` runs this in the user's
    // own directory, and go writes go.sum whenever it finds a line missing.
    let files = PrivateModFiles::new(&start_dir, &scratch.join("modfiles"), &|| go.command())?;
    // -mod=mod last so it wins over the user's: downloading ignores a vendor directory. Not in a
    // workspace, where go allows only readonly or vendor (and downloads without it).
    let goflags = match (files.is_workspace(), user) {
        (true, user) => user.to_string(),
        (false, "") => "-mod=mod".to_string(),
        (false, user) => format!("{user} -mod=mod"),
    };
    let mut cmd = go
        .env("GOFLAGS", goflags)
        .env("GOMODCACHE", out)
        .args(["mod", "download"])
        .command();
    files.apply(&mut cmd);
    let output = cmd
        .arg("-json")
        .output()
        .with_context(|| format!("running {}", goroot.join("bin/go").display()))?;
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

/// Downloads one module with `go mod download -json path@version` and copies its directory (the
/// tree gomod2nix hashes) to `out`. No checksum database: the fixed-output hash pins the
/// contents, and the planner checks them against go.sum.
pub fn fetch_module(request: &FetchRequest, out: &Path, scratch: &Path) -> Result<()> {
    make_dirs(scratch, &["home", "gocache", "gopath", "work"])?;
    let goroot = Path::new(&request.go);
    let module = format!("{}@{}", request.path, request.version);
    let env = download_env(goroot, &request.env, scratch);
    let output = Go::new(goroot, &scratch.join("work"), env)
        .env("GOFLAGS", "")
        .env("GOSUMDB", "off")
        .env("GOMODCACHE", scratch.join("modcache"))
        .args(["mod", "download", "-json", module.as_str()])
        .output()?;
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
        .with_context(|| format!("copying {module} from {dir} to {}", out.display()))
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

#[cfg(test)]
mod tests {
    use super::*;

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

    /// A GOROOT whose `bin/go` is a shell script: it appends its directory and arguments to
    /// `calls` and, if `edit` is set, replaces go.mod's first line with `module <last arg but
    /// one>` (as `go mod edit -module X go.mod` would), else fails.
    fn fake_goroot(dir: &Path, edit: bool) -> std::path::PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let goroot = dir.join("goroot");
        std::fs::create_dir_all(goroot.join("bin")).unwrap();
        let calls = dir.join("calls");
        let body = if edit {
            // Shell builtins only: PATH is GOROOT/bin.
            r#"rest=; { read -r first; while IFS= read -r l; do rest="$rest$l
"; done; } <go.mod; printf 'module %s\n%s' "$4" "$rest" >go.mod"#
        } else {
            "echo 'go: go.mod:1: unknown directive' >&2; exit 1"
        };
        let go = goroot.join("bin/go");
        std::fs::write(
            &go,
            format!(
                "#!/bin/sh\necho \"$PWD $*\" >>{}\n{body}\n",
                calls.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&go, std::fs::Permissions::from_mode(0o755)).unwrap();
        goroot
    }

    fn module_dir(dir: &Path, go_sum: bool) -> std::path::PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let src = dir.join("src");
        std::fs::create_dir_all(&src).unwrap();
        std::fs::write(
            src.join("go.mod"),
            "module example.com/renamed\n\ngo 1.22\n",
        )
        .unwrap();
        if go_sum {
            std::fs::write(src.join("go.sum"), "example.com/greet v1.1.0 h1:x=\n").unwrap();
        }
        std::fs::write(src.join("main.go"), "package main\n").unwrap();
        // Read-only, as in the store.
        for f in ["go.mod", "go.sum"] {
            if src.join(f).exists() {
                std::fs::set_permissions(src.join(f), std::fs::Permissions::from_mode(0o444))
                    .unwrap();
            }
        }
        src
    }

    #[test]
    fn modindex_key_has_the_fixed_module_path_and_go_sum() {
        let dir = tempfile::tempdir().unwrap();
        let goroot = fake_goroot(dir.path(), true);
        let src = module_dir(dir.path(), true);
        let out = dir.path().join("out");
        go_mod_index_key(&goroot, &src, &out, &dir.path().join("scratch")).unwrap();
        assert_eq!(
            std::fs::read_to_string(out.join("go.mod")).unwrap(),
            format!("module {INDEXED_MODULE_PATH}\n\ngo 1.22\n")
        );
        assert_eq!(
            std::fs::read(out.join("go.sum")).unwrap(),
            std::fs::read(src.join("go.sum")).unwrap()
        );
        assert!(!out.join("main.go").exists(), "only go.mod and go.sum");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("calls")).unwrap(),
            format!(
                "{} mod edit -module {INDEXED_MODULE_PATH} go.mod\n",
                out.display()
            )
        );
    }

    #[test]
    fn modindex_key_without_go_sum_has_none() {
        let dir = tempfile::tempdir().unwrap();
        let goroot = fake_goroot(dir.path(), true);
        let src = module_dir(dir.path(), false);
        let out = dir.path().join("out");
        go_mod_index_key(&goroot, &src, &out, &dir.path().join("scratch")).unwrap();
        assert!(out.join("go.mod").is_file());
        assert!(!out.join("go.sum").exists());
    }

    #[test]
    fn modindex_key_keeps_go_mod_when_go_mod_edit_fails() {
        let dir = tempfile::tempdir().unwrap();
        let goroot = fake_goroot(dir.path(), false);
        let src = module_dir(dir.path(), true);
        let out = dir.path().join("out");
        go_mod_index_key(&goroot, &src, &out, &dir.path().join("scratch")).unwrap();
        assert_eq!(
            std::fs::read(out.join("go.mod")).unwrap(),
            std::fs::read(src.join("go.mod")).unwrap()
        );
    }

    #[test]
    fn modindex_key_without_go_mod_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let goroot = fake_goroot(dir.path(), true);
        let src = dir.path().join("empty");
        std::fs::create_dir_all(&src).unwrap();
        let err = go_mod_index_key(&goroot, &src, &dir.path().join("out"), dir.path()).unwrap_err();
        assert!(format!("{err:#}").contains("empty/go.mod"), "{err:#}");
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
}
