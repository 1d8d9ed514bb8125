//! Go tests: test binaries planned from `go test -c -n`, one run derivation per tested package.
//!
//! The test plan is made from the script of `go test -c -n -o DIR/ PKG…` like a build plan
//! ([`crate::plan`]), with three additions:
//!
//! - **`_testmain.go`**: go generates it inside the go command and `-n` never prints it. The caller
//!   gets the file from go itself (see `crates/godrv/src/script.rs`: `go test -c -work` with a
//!   tool that cannot start writes every `_testmain.go` and stops before compiling anything) and
//!   [`add_testmains`] puts it into the test main's action as a `write-file` step, like the
//!   `importcfg` heredocs.
//! - **Runs** ([`plan_tests`]): one derivation per test binary. It runs
//!   `<pkg>.test -test.paniconexit0 -test.timeout=10m0s <checkFlags>` in the package's source
//!   directory as `go test` does, and its output is the test log (a file). A failing test fails
//!   that derivation, naming the package. The run sees the package directory with all its
//!   subdirectories but those of other modules (with their own `go.mod`), plus what
//!   [`CheckData`] (`checkData`) adds for it: the source set is all a run's result depends on,
//!   so editing another package's files does not run these tests again.
//! - **Merging** ([`with_tests`]): test actions are added to the build plan; an action whose
//!   derivation would be identical to one of the build (standard library, packages the tests
//!   import unchanged) is not added twice but shared. With [`CheckMode::Run`] the top becomes an
//!   action that depends on every run and links to the build's result (`bin/<name>` →
//!   `<build result>/bin/<name>`, [`ExecStep::LinkTree`]: no copy of the binary after the link);
//!   with
//!   [`CheckMode::Binaries`] the top is the test binaries (`$OUT/bin/<pkg>.test`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use godrv_script::{ActionGraph, ActionId, ActionKind, Step};
use serde::{Deserialize, Serialize};

use crate::spec::{self, ActionSpec, ExecStep};
use crate::text;
use crate::{DepRef, Plan, PlanError, PlanOptions, PlannedAction, Role, Roots};

/// What the build does with the tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckMode {
    /// Build and run every test binary; the result depends on the runs.
    Run,
    /// Build the test binaries only; the result is them (`bin/<pkg>.test`).
    Binaries,
}

/// A package whose tests are planned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestedPackage {
    /// Import path (`example.com/m/calc`).
    pub import_path: String,
    /// Its directory relative to the source root (`""` for the root itself).
    pub dir: String,
}

/// What test runs see of the source tree besides their package directory (`checkData`), for tests
/// that read files outside it (`../testdata`, the module root): paths relative to the source root
/// (`""`: all of it), each taken with everything below it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckData {
    /// Seen by the runs of every package (the entry [`CheckData::EVERY`]).
    pub every: BTreeSet<String>,
    /// Seen by the runs of one package, by import path.
    pub packages: BTreeMap<String, BTreeSet<String>>,
}

impl CheckData {
    /// The `checkData` key for every package's runs.
    pub const EVERY: &'static str = "*";

    /// `checkData` as the user gives it: import path (or [`CheckData::EVERY`]) → paths relative
    /// to `mod_root` (the directory of go.mod or go.work, relative to the source root), which may
    /// go up with `..` but not out of the source tree.
    pub fn new(entries: &BTreeMap<String, Vec<String>>, mod_root: &str) -> Result<Self, PlanError> {
        let mut data = CheckData::default();
        for (package, paths) in entries {
            let resolved = paths
                .iter()
                .map(|path| {
                    source_relative(mod_root, path).ok_or_else(|| PlanError::CheckDataOutside {
                        package: package.clone(),
                        path: path.clone(),
                    })
                })
                .collect::<Result<BTreeSet<_>, _>>()?;
            if package == Self::EVERY {
                data.every = resolved;
            } else {
                data.packages.insert(package.clone(), resolved);
            }
        }
        Ok(data)
    }

    /// The paths the runs of `package` see besides its directory.
    fn for_package(&self, package: &str) -> impl Iterator<Item = &String> {
        self.every
            .iter()
            .chain(self.packages.get(package).into_iter().flatten())
    }
}

/// `path` (relative to `mod_root`) relative to the source root, resolved lexically; `None` if it
/// is absolute or leaves the source tree.
fn source_relative(mod_root: &str, path: &str) -> Option<String> {
    if path.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in mod_root.split('/').chain(path.split('/')) {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            part => parts.push(part),
        }
    }
    Some(parts.join("/"))
}

/// The file name go compiles as the test main.
const TESTMAIN: &str = "_testmain.go";

/// Flags `go test` gives every test binary before the user's (cmd/go/internal/test: `runTest`).
const DEFAULT_TEST_FLAGS: &[&str] = &["-test.paniconexit0"];

/// `go test`'s default `-timeout`, given as `-test.timeout` unless the flags set one.
const DEFAULT_TIMEOUT: &str = "-test.timeout=10m0s";

/// The flags `go test` passes on to the test binary as `-test.<name>` (cmd/go/internal/test,
/// `passFlagToTest`, Go 1.27).
const TEST_FLAGS: &[&str] = &[
    "artifacts",
    "bench",
    "benchmem",
    "benchtime",
    "blockprofile",
    "blockprofilerate",
    "count",
    "coverprofile",
    "cpu",
    "cpuprofile",
    "failfast",
    "fullpath",
    "fuzz",
    "fuzzminimizetime",
    "fuzztime",
    "list",
    "memprofile",
    "memprofilerate",
    "mutexprofile",
    "mutexprofilefraction",
    "outputdir",
    "parallel",
    "run",
    "short",
    "shuffle",
    "skip",
    "timeout",
    "trace",
    "v",
];

/// `checkFlags` as the test binary takes them: `-run X`, `-v`, `--count=1` become `-test.run X`,
/// `-test.v`, `-test.count=1` (as `go test` rewrites them); `-test.*` flags, flag values and
/// other arguments stay as they are.
pub fn test_binary_flags(flags: &[String]) -> Vec<String> {
    flags
        .iter()
        .map(|flag| {
            let Some(body) = flag
                .strip_prefix("--")
                .or_else(|| flag.strip_prefix('-'))
                .filter(|b| !b.is_empty())
            else {
                return flag.clone();
            };
            let name = body.split('=').next().unwrap_or(body);
            if TEST_FLAGS.contains(&name) {
                format!("-test.{body}")
            } else {
                flag.clone()
            }
        })
        .collect()
}

/// Puts each generated `_testmain.go` (by the `$WORK/bNNN` directory go wrote it to) into the
/// action that compiles it, as a first `write-file` step.
pub fn add_testmains(
    graph: &mut ActionGraph,
    testmains: &BTreeMap<ActionId, String>,
) -> Result<(), PlanError> {
    for (id, action) in graph.actions.iter_mut() {
        if action.kind != ActionKind::TestMain {
            continue;
        }
        let path = format!("$WORK/{id}/{TESTMAIN}");
        let compiles_it = action
            .steps
            .iter()
            .any(|s| matches!(s, Step::Run(c) if c.argv.contains(&path)));
        if !compiles_it {
            continue;
        }
        let contents = testmains
            .get(id)
            .ok_or(PlanError::MissingTestmain { action: *id })?;
        action.steps.insert(
            0,
            Step::WriteFile {
                path,
                contents: contents.clone(),
            },
        );
    }
    Ok(())
}

/// The test plan: test compiles and links, and one run per test binary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestPlan {
    /// Every action; `top` is the test binaries (a bundle when there are several).
    pub plan: Plan,
    /// Keys of the run actions, by package import path.
    pub runs: BTreeMap<String, String>,
}

/// Plans the `go test -c -n` graph (with its test mains added) and a run of every test binary
/// with `flags` (already test binary flags, see [`test_binary_flags`]); each run also sees what
/// `data` gives it.
pub fn plan_tests(
    graph: &ActionGraph,
    roots: &Roots,
    options: &PlanOptions,
    packages: &[TestedPackage],
    flags: &[String],
    data: &CheckData,
) -> Result<TestPlan, PlanError> {
    if let Some(unknown) = data
        .packages
        .keys()
        .find(|p| !packages.iter().any(|t| &t.import_path == *p))
    {
        return Err(PlanError::CheckDataPackage {
            package: unknown.clone(),
            tested: packages
                .iter()
                .map(|p| p.import_path.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let mut plan = crate::unfinished_plan(graph, roots, options)?;
    if let Some(bundle) = plan.actions.get_mut(&plan.top) {
        if bundle.role == Role::Bundle {
            bundle.name = "go-test-binaries".to_string();
        }
    }
    let links: Vec<(String, String, String)> = plan
        .actions
        .iter()
        .filter(|(_, a)| a.role == Role::Link)
        .filter_map(|(key, a)| match a.binaries.as_slice() {
            [bin] if bin.ends_with(".test") => {
                let package = a.package.as_deref()?.strip_suffix(".test")?;
                Some((key.clone(), package.to_string(), bin.clone()))
            }
            _ => None,
        })
        .collect();
    let mut runs = BTreeMap::new();
    for (link, package, binary) in links {
        let tested = packages
            .iter()
            .find(|p| p.import_path == package)
            .ok_or_else(|| PlanError::UnknownTestedPackage {
                package: package.clone(),
            })?;
        let key = format!("run-{link}");
        plan.actions.insert(
            key.clone(),
            run_action(&link, tested, &binary, flags, &roots.src_root, data)?,
        );
        runs.insert(package, key);
    }
    // The runs get the tool environment too; test binaries may name GOROOT.
    plan.finish(options, false);
    Ok(TestPlan { plan, runs })
}

/// The derivation that runs one test binary in its package's directory.
fn run_action(
    link: &str,
    package: &TestedPackage,
    binary: &str,
    flags: &[String],
    src_root: &Path,
    data: &CheckData,
) -> Result<PlannedAction, PlanError> {
    let mut argv = vec![format!(
        "$WORK/{}/bin/{}",
        spec::dep_dir(0),
        text::escape(binary)
    )];
    argv.extend(DEFAULT_TEST_FLAGS.iter().map(|f| f.to_string()));
    if !flags
        .iter()
        .any(|f| f == "-test.timeout" || f.starts_with("-test.timeout="))
    {
        argv.push(DEFAULT_TIMEOUT.to_string());
    }
    // The user's flags (`-test.run '^TestX$'`) are literal text.
    argv.extend(flags.iter().map(|f| text::escape(f).into_owned()));
    let cwd = if package.dir.is_empty() {
        "$SRC".to_string()
    } else {
        format!("$SRC/{}", text::escape(&package.dir))
    };
    Ok(PlannedAction {
        name: crate::sanitize_store_name(&format!("go-test-{}", package.import_path)),
        package: Some(package.import_path.clone()),
        role: Role::Test,
        deps: vec![DepRef {
            key: link.to_string(),
            output: spec::OUT_OUTPUT.to_string(),
            dir: None,
        }],
        outputs: vec![spec::OUT_OUTPUT.to_string()],
        sources: run_sources(src_root, package, data)?,
        uses_modcache: false,
        module: None,
        group_modules: BTreeMap::new(),
        tools: BTreeSet::new(),
        binaries: vec![],
        spec: ActionSpec {
            steps: vec![ExecStep::Test {
                package: package.import_path.clone(),
                cwd,
                argv,
                log: "$OUT".to_string(),
            }],
            deps: 1,
            keep: vec![],
            forbid_goroot_reference: false,
            members: Default::default(),
        },
    })
}

/// What a test run of `package` sees of the source tree, relative to the source root: the regular
/// files of its directory and of every subdirectory but those of other modules (a directory with
/// its own `go.mod`, which go leaves out of the package's module too; under `testdata/`, which go
/// ignores, a `go.mod` is test data like any other file), and every file under the paths `data`
/// gives it.
fn run_sources(
    src_root: &Path,
    package: &TestedPackage,
    data: &CheckData,
) -> Result<BTreeSet<String>, PlanError> {
    let mut files = BTreeSet::new();
    collect_tree(src_root, &package.dir, true, &mut files)?;
    for path in data.for_package(&package.import_path) {
        let full = src_root.join(path);
        match std::fs::metadata(&full) {
            Ok(meta) if meta.is_dir() => collect_tree(src_root, path, false, &mut files)?,
            Ok(_) => {
                files.insert(path.clone());
            }
            Err(source) => {
                return Err(PlanError::CheckDataMissing {
                    package: package.import_path.clone(),
                    path: full,
                    source,
                })
            }
        }
    }
    Ok(files)
}

/// Adds every regular file under `rel` (relative to `src_root`, `""` for the root) to `files`;
/// with `skip_modules`, leaves out subdirectories that hold a `go.mod` (other modules), except
/// under `testdata/`.
fn collect_tree(
    src_root: &Path,
    rel: &str,
    skip_modules: bool,
    files: &mut BTreeSet<String>,
) -> Result<(), PlanError> {
    let join = |name: &str| {
        if rel.is_empty() {
            name.to_string()
        } else {
            format!("{rel}/{name}")
        }
    };
    for (name, is_dir) in list_dir(&src_root.join(rel))? {
        let path = join(&name);
        if !is_dir {
            files.insert(path);
        } else if name == "testdata" {
            collect_tree(src_root, &path, false, files)?;
        } else if !(skip_modules && src_root.join(&path).join("go.mod").is_file()) {
            collect_tree(src_root, &path, skip_modules, files)?;
        }
    }
    Ok(())
}

/// Entries of `dir` that are regular files or directories (symlinks and others are left out, as
/// in the build's source sets): (name, is a directory).
fn list_dir(dir: &Path) -> Result<Vec<(String, bool)>, PlanError> {
    let err = |source| PlanError::ReadDir {
        dir: dir.to_path_buf(),
        source,
    };
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(err)? {
        let entry = entry.map_err(err)?;
        let kind = entry.file_type().map_err(err)?;
        if kind.is_file() || kind.is_dir() {
            entries.push((
                entry.file_name().to_string_lossy().into_owned(),
                kind.is_dir(),
            ));
        }
    }
    entries.sort();
    Ok(entries)
}

/// Adds the test plan to the build plan. Test actions identical to build actions (same spec,
/// sources and dependencies, so the same derivation) are shared, the others get keys starting
/// with `test-`. The new top: with [`CheckMode::Run`] an action that copies the build's result
/// and depends on every run (nothing changes when there are no runs); with
/// [`CheckMode::Binaries`] the test binaries.
pub fn with_tests(build: Plan, tests: TestPlan, mode: CheckMode) -> Plan {
    let mut merged = build;
    let build_top = merged.top.clone();
    let mut known: BTreeMap<String, String> = merged
        .actions
        .iter()
        .map(|(key, a)| (identity(a), key.clone()))
        .collect();
    let mut renamed: BTreeMap<String, String> = BTreeMap::new();
    for key in dependency_order(&tests.plan) {
        let mut action = tests.plan.actions[&key].clone();
        for dep in &mut action.deps {
            dep.key = renamed[&dep.key].clone();
        }
        let id = identity(&action);
        let new_key = match known.get(&id) {
            Some(existing) => existing.clone(),
            None => {
                let new_key = format!("test-{key}");
                known.insert(id, new_key.clone());
                merged.actions.insert(new_key.clone(), action);
                new_key
            }
        };
        renamed.insert(key, new_key);
    }
    match mode {
        CheckMode::Binaries => merged.top = renamed[&tests.plan.top].clone(),
        CheckMode::Run if tests.runs.is_empty() => {}
        CheckMode::Run => {
            let mut deps = vec![DepRef {
                key: build_top,
                output: spec::OUT_OUTPUT.to_string(),
                dir: None,
            }];
            deps.extend(tests.runs.values().map(|run| DepRef {
                key: renamed[run].clone(),
                output: spec::OUT_OUTPUT.to_string(),
                dir: None,
            }));
            let binaries = merged.actions[&deps[0].key].binaries.clone();
            merged.actions.insert(
                CHECKED.to_string(),
                PlannedAction {
                    name: "go-checked".to_string(),
                    package: None,
                    role: Role::Bundle,
                    outputs: vec![spec::OUT_OUTPUT.to_string()],
                    sources: BTreeSet::new(),
                    uses_modcache: false,
                    module: None,
                    group_modules: BTreeMap::new(),
                    tools: BTreeSet::new(),
                    binaries,
                    spec: ActionSpec {
                        steps: vec![ExecStep::LinkTree {
                            from: format!("$WORK/{}", spec::dep_dir(0)),
                            to: "$OUT".to_string(),
                        }],
                        deps: deps.len(),
                        keep: vec![],
                        forbid_goroot_reference: false,
                        members: Default::default(),
                    },
                    deps,
                },
            );
            merged.top = CHECKED.to_string();
        }
    }
    merged
}

/// Key of the action that makes the result depend on the test runs.
pub const CHECKED: &str = "checked";

/// The keys of the actions that get the result's name (`pname-version`): the top and, with the
/// tests run ([`CHECKED`] on top), the build's result it links to, which is then the same
/// derivation as with `doCheck = false` (switching `doCheck` relinks nothing, and dyn's result,
/// links into that output, is the same store path either way).
pub fn result_keys(plan: &Plan) -> Vec<String> {
    let mut keys = vec![plan.top.clone()];
    if plan.top == CHECKED {
        keys.extend(
            plan.actions[CHECKED]
                .deps
                .first()
                .map(|dep| dep.key.clone()),
        );
    }
    keys
}

/// What makes two planned actions the same derivation: everything but their key, with
/// dependencies by (already merged) key, and but for its tools (go's build and test scripts
/// differ in tools the plan drops).
fn identity(action: &PlannedAction) -> String {
    let mut action = serde_json::to_value(action).expect("a planned action always serializes");
    if let Some(fields) = action.as_object_mut() {
        fields.remove("tools");
    }
    action.to_string()
}

/// Keys of `plan`, every action after its dependencies (ties broken by key).
fn dependency_order(plan: &Plan) -> Vec<String> {
    fn visit(plan: &Plan, key: &str, seen: &mut BTreeSet<String>, out: &mut Vec<String>) {
        if !seen.insert(key.to_string()) {
            return;
        }
        for dep in &plan.actions[key].deps {
            visit(plan, &dep.key, seen, out);
        }
        out.push(key.to_string());
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for key in plan.actions.keys() {
        visit(plan, key, &mut seen, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_flags_become_test_binary_flags() {
        let flags: Vec<String> = [
            "-run",
            "TestX|TestY",
            "-v",
            "--count=1",
            "-test.short",
            "-x",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            test_binary_flags(&flags),
            [
                "-test.run",
                "TestX|TestY",
                "-test.v",
                "-test.count=1",
                "-test.short",
                "-x"
            ]
        );
    }
}
