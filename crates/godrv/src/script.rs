//! Asking `go` for its build scripts: `go build -n` (and `go test -c -n` with the test mains go
//! generates) with an empty cache, in the planner's environment.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use godrv_plan::gotest::TestedPackage;
use godrv_script::ActionId;
use serde::Deserialize;

use crate::fs::make_dirs;
use crate::go::{build_flags, tags_flag, Go, GoTools};
use crate::request::BuildRequest;
use godrv_exec::copy_tree;

/// Copies `tools.go_cache_seed`, if any, into `scratch/gocache`.
fn seed_go_cache(tools: &GoTools<'_>, scratch: &Path) -> Result<()> {
    match tools.go_cache_seed {
        Some(seed) => copy_tree(seed, &scratch.join("gocache"))
            .with_context(|| format!("copying the Go index {}", seed.display())),
        None => Ok(()),
    }
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
    make_dirs(scratch, &["home", "gocache", "gopath", "bin"])?;
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
    // std and the dependencies: no binaries, and no ldflags (they only reach links).
    let bin = match (what, request.cross_bin_subdir()) {
        (Packages::Std | Packages::Deps, _) => None,
        (Packages::Module, None) => Some(scratch.join("bin")),
        (Packages::Module, Some(subdir)) => Some(scratch.join("bin").join(subdir)),
    };
    let go = Go::planner(&start_dir, request, tools, scratch)?
        .args(["build", "-n"])
        .args(build_flags(
            request,
            bin.as_deref(),
            what == Packages::Module,
        ))
        .args(packages);
    let text = script_of(&go)?;
    Ok(Script { text, start_dir })
}

/// Runs a `go … -n` command, which prints its script on standard error: that text.
fn script_of(go: &Go) -> Result<String> {
    let output = go.run()?;
    String::from_utf8(output.stderr)
        .with_context(|| format!("{} printed non-UTF-8 text", go.describe()))
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
/// sources are in the module cache, `go list -e` their packages; kept are those that `go build`
/// accepts, see [`buildable_dependencies`].
fn dependency_packages(
    start_dir: &Path,
    request: &BuildRequest,
    tools: &GoTools<'_>,
    scratch: &Path,
) -> Result<Vec<String>> {
    let patterns = required_modules(Go::planner(start_dir, request, tools, scratch)?)?;
    if patterns.is_empty() {
        return Ok(Vec::new());
    }
    let listed = Go::planner(start_dir, request, tools, scratch)?
        .arg("list")
        .arg("-e")
        .arg("-json=ImportPath,Name,Standard,Error,DepsErrors,GoFiles,CgoFiles,Deps")
        .args(tags_flag(request))
        .args(patterns)
        .run()?
        .stdout;
    let listed = serde_json::Deserializer::from_slice(&listed)
        .into_iter::<DependencyPackage>()
        .collect::<std::result::Result<Vec<_>, _>>()
        .context("reading the output of `go list -e -json` of the required modules")?;
    Ok(buildable_dependencies(listed))
}

/// A package of a required module as `go list -e -json` reports it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DependencyPackage {
    import_path: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    standard: bool,
    #[serde(default)]
    error: Option<serde_json::Value>,
    #[serde(default)]
    deps_errors: Vec<serde_json::Value>,
    #[serde(default)]
    go_files: Vec<String>,
    #[serde(default)]
    cgo_files: Vec<String>,
    #[serde(default)]
    deps: Vec<String>,
}

/// The listed packages `go build` accepts, commands left out: a package is dropped if it or
/// anything it imports has an error, or has no Go files to compile (only tests, or every file
/// excluded by build constraints: `go list` of a `...` pattern lists such a package without an
/// error and does not mark its importers, but `go build` naming it or an importer fails).
fn buildable_dependencies(listed: Vec<DependencyPackage>) -> Vec<String> {
    let broken: BTreeSet<&str> = listed
        .iter()
        .filter(|p| {
            p.error.is_some()
                || !p.deps_errors.is_empty()
                || (p.go_files.is_empty() && p.cgo_files.is_empty())
        })
        .map(|p| p.import_path.as_str())
        .collect();
    let kept: BTreeSet<String> = listed
        .iter()
        .filter(|p| !p.standard && p.name != "main")
        .filter(|p| !broken.contains(p.import_path.as_str()))
        .filter(|p| !p.deps.iter().any(|d| broken.contains(d.as_str())))
        .map(|p| p.import_path.clone())
        .collect();
    kept.into_iter().collect()
}

/// `<module>/...` for every module the main module requires whose sources are in the module
/// cache (`go list -m -e all` run by `go`, a go command started in the main module).
pub fn required_modules(go: Go) -> Result<Vec<String>> {
    let modules = go
        .args([
            "list",
            "-m",
            // go asks for each module's .info, which the module cache does not keep: -e puts
            // that error into the module's Error field instead of failing.
            "-e",
            "-f",
            "{{if and .Dir (not .Main)}}{{.Path}}/...{{end}}",
            "all",
        ])
        .run()?
        .stdout;
    Ok(String::from_utf8_lossy(&modules)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect())
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
    make_dirs(scratch, &["home", "gocache", "gopath", "testbin", "gotmp"])?;
    seed_go_cache(tools, scratch)?;
    let patterns = package_args(&start_dir, request, tools, scratch)?;
    let mut list = vec![
        "list".to_string(),
        "-json=ImportPath,Dir,TestGoFiles,XTestGoFiles".to_string(),
    ];
    list.extend(tags_flag(request));
    list.extend(patterns.iter().cloned());
    let output = Go::planner(&start_dir, request, tools, scratch)?
        .args(list)
        .run()?
        .stdout;
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
    // The build's flags (as for the build, allowGoReference = true builds without -trimpath).
    let mut flags = vec!["-c".to_string(), "-vet=off".to_string()];
    flags.extend(build_flags(request, Some(&scratch.join("testbin")), true));
    let names: Vec<String> = packages.iter().map(|p| p.import_path.clone()).collect();

    let go = Go::planner(&start_dir, request, tools, scratch)?;
    let text = script_of(
        &go.clone()
            .args(["test", "-n"])
            .args(flags.iter().cloned())
            .args(names.iter().cloned()),
    )?;

    let work_run = go
        .env("GOTMPDIR", scratch.join("gotmp"))
        .args(["test", "-work"])
        .args(flags)
        .arg(format!(
            "-toolexec={}",
            scratch.join("no-such-tool").display()
        ))
        .args(names);
    let output = work_run.output()?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let work = stderr
        .lines()
        .find_map(|l| l.strip_prefix("WORK="))
        .map(PathBuf::from)
        .with_context(|| {
            format!(
                "{} in {} did not print its work directory (WORK=…), so godrv has no _testmain.go ({}):\n{}",
                work_run.describe(),
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

/// `go list` of `./...`: each package's import path and directory relative to `start_dir`.
fn list_packages(
    start_dir: &Path,
    request: &BuildRequest,
    tools: &GoTools<'_>,
    scratch: &Path,
) -> Result<Vec<(String, String)>> {
    let output = Go::planner(start_dir, request, tools, scratch)?
        .arg("list")
        .args(tags_flag(request))
        .args(["-f", "{{.ImportPath}} {{.Dir}}", "./..."])
        .run()?
        .stdout;
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

#[cfg(test)]
mod dependency_tests {
    use super::*;

    fn listed(json: &str) -> Vec<DependencyPackage> {
        serde_json::Deserializer::from_str(json)
            .into_iter::<DependencyPackage>()
            .collect::<std::result::Result<Vec<_>, _>>()
            .unwrap()
    }

    /// alertmanager's and rclone's dependency planners failed: `go build -n` of every listed
    /// package stopped at a package with only test files (`google.golang.org/protobuf/encoding`)
    /// and at an importer of a package whose files build constraints exclude (go-systemd's
    /// `internal/dlopen` with CGO_ENABLED=0), which `go list -e` reports without any error.
    #[test]
    fn dependencies_without_go_files_and_their_importers_are_not_built() {
        let packages = listed(
            r#"{"ImportPath":"example.com/m/ok","Name":"ok","GoFiles":["a.go"],"Deps":["errors"]}
{"ImportPath":"example.com/m/testonly","Name":"testonly"}
{"ImportPath":"example.com/m/dlopen","Name":"dlopen","CgoFiles":[]}
{"ImportPath":"example.com/m/util","Name":"util","GoFiles":["u.go"],"Deps":["example.com/m/dlopen","errors"]}
{"ImportPath":"example.com/m/bad","Name":"bad","GoFiles":["b.go"],"Error":{"Err":"x"}}
{"ImportPath":"example.com/m/usesbad","Name":"usesbad","GoFiles":["c.go"],"DepsErrors":[{"Err":"x"}]}
{"ImportPath":"example.com/m/cmd/tool","Name":"main","GoFiles":["main.go"]}
{"ImportPath":"example.com/m/withcgo","Name":"withcgo","CgoFiles":["c.go"]}"#,
        );
        assert_eq!(
            buildable_dependencies(packages),
            vec!["example.com/m/ok", "example.com/m/withcgo"]
        );
    }
}
