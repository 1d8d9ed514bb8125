//! Plans real `go build -n` scripts from the parser's corpus and checks the properties the
//! derivations rely on.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

mod common;
use common::{copy_dir, fixtures};

use godrv_plan::{plan, plan_library, ExecStep, Plan, PlanOptions, Role, Roots};

/// Copies the case's module to a temporary directory and plans the script as if go had run there.
fn plan_case(version: &str, case: &str, module: &str) -> (Plan, tempfile::TempDir) {
    plan_case_in(version, case, module, None)
}

/// [`plan_case`] with the module cache the script read third-party modules from.
fn plan_case_in(
    version: &str,
    case: &str,
    module: &str,
    modcache: Option<&str>,
) -> (Plan, tempfile::TempDir) {
    plan_case_with(version, case, module, modcache, &PlanOptions::default())
}

/// [`plan_case_in`] with `options`.
fn plan_case_with(
    version: &str,
    case: &str,
    module: &str,
    modcache: Option<&str>,
    options: &PlanOptions,
) -> (Plan, tempfile::TempDir) {
    let meta: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join(format!("{version}/{case}.json"))).unwrap(),
    )
    .unwrap();
    let cwd = meta["cwd"].as_str().unwrap();
    let goroot = meta["goroot"].as_str().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    copy_dir(&fixtures().join("modules").join(module), &src);
    let script = std::fs::read_to_string(fixtures().join(format!("{version}/{case}.txt"))).unwrap();
    let script = script.replace(cwd, &src.to_string_lossy());
    let graph = godrv_script::parse_script(&script, &src).unwrap();
    let roots = Roots {
        src_root: src.clone(),
        goroot: PathBuf::from(goroot),
        modcache: modcache.map(PathBuf::from),
    };
    (plan(&graph, &roots, options).unwrap(), tmp)
}

fn specs_by_package(plan: &Plan) -> BTreeMap<String, String> {
    plan.actions
        .values()
        .filter(|a| a.role == Role::Compile)
        .filter_map(|a| Some((a.package.clone()?, serde_json::to_string(&a.spec).unwrap())))
        .collect()
}

#[test]
fn specs_are_canonical_and_free_of_build_paths() {
    for version in ["go1.19", "go1.23", "go1.24", "go1.27"] {
        let (plan, tmp) = plan_case(version, "packages", "packages");
        let json = serde_json::to_string(&plan).unwrap();
        assert!(
            !json.contains(&*tmp.path().to_string_lossy()),
            "{version}: the source directory leaked into the plan"
        );
        assert!(
            !json.contains("/usr/lib/go"),
            "{version}: GOROOT leaked into the plan"
        );
        assert!(
            !json.contains("-buildid\""),
            "{version}: a -buildid flag survived"
        );
        for action in plan.actions.values() {
            for step in &action.spec.steps {
                if let ExecStep::Run { argv, .. } = step {
                    assert!(
                        !argv
                            .iter()
                            .any(|a| a.ends_with("/buildid") || a == "buildid"),
                        "{version}: buildid step kept"
                    );
                }
            }
        }
        let top = &plan.actions[&plan.top];
        assert_eq!(top.role, Role::Link, "{version}");
        assert_eq!(top.binaries, ["packages"], "{version}");
        assert!(
            top.sources.is_empty(),
            "{version}: the link reads no source"
        );
    }
}

#[test]
fn link_is_split_from_the_main_compile() {
    let (plan, _tmp) = plan_case("go1.27", "packages", "packages");
    let link = &plan.actions[&plan.top];
    assert!(plan.top.ends_with("-link"), "top is {}", plan.top);
    let main_key = plan.top.trim_end_matches("-link");
    let main = &plan.actions[main_key];
    assert_eq!(main.role, Role::Compile);
    assert!(main.sources.contains("main.go"), "{:?}", main.sources);
    let kept: Vec<_> = main
        .spec
        .keep
        .iter()
        .map(|k| (k.output.as_str(), k.from.as_str()))
        .collect();
    assert!(kept.contains(&("link", "link/_pkg_.a")), "{kept:?}");
    assert_eq!(main.outputs, ["link", "out"]);
    assert!(
        link.deps
            .iter()
            .any(|d| d.key == main_key && d.output == "link"),
        "{:?}",
        link.deps
    );
}

#[test]
fn local_packages_read_only_their_own_directory() {
    let (plan, _tmp) = plan_case("go1.27", "packages", "packages");
    let with_sources: Vec<_> = plan
        .actions
        .values()
        .filter(|a| !a.sources.is_empty())
        .collect();
    assert_eq!(with_sources.len(), 3, "main and two local packages");
    for action in with_sources {
        let dirs: std::collections::BTreeSet<_> = action
            .sources
            .iter()
            .map(|s| Path::new(s).parent().unwrap().to_path_buf())
            .collect();
        assert_eq!(
            dirs.len(),
            1,
            "{:?} reads {:?}",
            action.package,
            action.sources
        );
    }
}

#[test]
fn standard_library_specs_are_shared_between_programs() {
    for version in ["go1.23", "go1.27"] {
        let (hello, _a) = plan_case(version, "hello", "hello");
        let (packages, _b) = plan_case(version, "packages", "packages");
        let (hello, packages) = (specs_by_package(&hello), specs_by_package(&packages));
        for package in ["fmt", "runtime", "internal/abi", "os"] {
            assert!(
                hello.contains_key(package),
                "{version}: hello builds {package}"
            );
            assert_eq!(
                hello.get(package),
                packages.get(package),
                "{version}: {package} differs between programs"
            );
        }
    }
}

/// Each third-party package reads only its own module's directory (`$MODULE`), never the whole
/// module cache: bumping one module changes only the derivations of its packages' importers.
#[test]
fn third_party_packages_read_only_their_module() {
    let (plan, _tmp) = plan_case_in(
        "go1.27",
        "thirdparty",
        "thirdparty",
        Some("/root/go/pkg/mod"),
    );
    let module_of = |package: &str| {
        plan.actions
            .values()
            .find(|a| a.package.as_deref() == Some(package) && a.role == Role::Compile)
            .unwrap_or_else(|| panic!("no compile of {package}"))
    };
    for (package, dir) in [
        ("example.com/greet", "example.com/greet@v1.1.0"),
        (
            "example.com/greet/internal/words",
            "example.com/greet@v1.1.0",
        ),
        ("example.com/shout", "example.com/shout@v0.2.0"),
    ] {
        let action = module_of(package);
        assert_eq!(action.module.as_deref(), Some(dir), "{package}");
        let spec = serde_json::to_string(&action.spec).unwrap();
        assert!(spec.contains("$MODULE"), "{package}: {spec}");
    }
    for action in plan.actions.values() {
        let spec = serde_json::to_string(&action.spec).unwrap();
        assert!(!action.uses_modcache, "{}", action.name);
        assert!(
            !spec.contains("/root/go/pkg/mod"),
            "{}: {spec}",
            action.name
        );
        if action
            .package
            .as_deref()
            .is_some_and(|p| !p.starts_with("example.com/"))
        {
            assert_eq!(action.module, None, "{}", action.name);
        }
    }
}

/// The parsed script of a fixture case (its module copied to a temporary directory, kept alive by
/// the returned guard) and the roots to plan it with.
fn graph_of_case(
    version: &str,
    case: &str,
) -> (godrv_script::ActionGraph, Roots, tempfile::TempDir) {
    let meta: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join(format!("{version}/{case}.json"))).unwrap(),
    )
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    copy_dir(&fixtures().join("modules").join(case), &src);
    let script = std::fs::read_to_string(fixtures().join(format!("{version}/{case}.txt")))
        .unwrap()
        .replace(meta["cwd"].as_str().unwrap(), &src.to_string_lossy());
    let graph = godrv_script::parse_script(&script, &src).unwrap();
    let roots = Roots {
        src_root: src,
        goroot: PathBuf::from(meta["goroot"].as_str().unwrap()),
        modcache: None,
    };
    (graph, roots, tmp)
}

/// `plan_library` (the toolchain's std plan: `go build -n std`, no link) gives each package the
/// same action as `plan` gives it in a program's script: a package's derivation does not depend
/// on whether the script links it, so std's plan registers the derivations programs use.
#[test]
fn library_plan_has_the_same_compile_actions_as_a_program() {
    for (version, case) in [
        ("go1.23", "hello"),
        ("go1.27", "hello"),
        ("go1.27", "packages"),
    ] {
        let (graph, roots, _tmp) = graph_of_case(version, case);
        let options = PlanOptions {
            split_link_objects: true,
            ..PlanOptions::default()
        };
        let program = plan(&graph, &roots, &options).unwrap();
        let library = plan_library(&graph, &roots, &options, "go-std").unwrap();
        let compiles: Vec<_> = program
            .actions
            .iter()
            .filter(|(_, a)| a.role == Role::Compile)
            .collect();
        assert!(compiles.len() > 10, "{version}/{case}");
        for (key, action) in compiles {
            assert_eq!(
                library.actions.get(key),
                Some(action),
                "{version}/{case}: {key} differs in the library plan"
            );
            assert!(
                action.outputs.len() == 2
                    && action
                        .spec
                        .keep
                        .iter()
                        .any(|k| k.output == "link" && k.to == "_pkg_.a"),
                "{version}/{case}: {key} keeps its link object"
            );
        }
        // The top depends on what nothing else depends on; through it, on every action.
        let top = &library.actions[&library.top];
        assert_eq!(top.name, "go-std");
        let mut seen = std::collections::BTreeSet::new();
        let mut todo = vec![library.top.clone()];
        while let Some(key) = todo.pop() {
            if seen.insert(key.clone()) {
                todo.extend(library.actions[&key].deps.iter().map(|d| d.key.clone()));
            }
        }
        assert_eq!(seen.len(), library.actions.len(), "{version}/{case}");
    }
}

/// The options that used to be passes over a returned plan are applied by `plan` itself: the
/// tool environment reaches every command (unless it sets the variable), links forbid GOROOT
/// references, and binaries go to the cross build's subdirectory.
#[test]
fn options_finish_the_plan() {
    let options = PlanOptions {
        tool_env: vec![
            ("GOARCH".into(), "arm64".into()),
            ("GOAMD64".into(), "v3".into()),
        ],
        forbid_goroot_references: true,
        bin_subdir: Some("linux_arm64".into()),
        ..PlanOptions::default()
    };
    let (plain, _tmp) = plan_case("go1.27", "packages", "packages");
    let (plan, _tmp2) = plan_case_with("go1.27", "packages", "packages", None, &options);
    assert_eq!(plain.actions.len(), plan.actions.len());
    let mut runs = 0;
    for action in plan.actions.values() {
        for step in &action.spec.steps {
            if let ExecStep::Run { env, .. } = step {
                runs += 1;
                let arch: Vec<&str> = env
                    .iter()
                    .filter(|(k, _)| k == "GOARCH")
                    .map(|(_, v)| v.as_str())
                    .collect();
                assert_eq!(arch.len(), 1, "{}: GOARCH once", action.name);
                assert!(env.iter().any(|(k, v)| k == "GOAMD64" && v == "v3"));
            }
        }
        assert_eq!(
            action.spec.forbid_goroot_reference,
            action.role == Role::Link,
            "{}",
            action.name
        );
        for binary in &action.binaries {
            assert!(binary.starts_with("linux_arm64/"), "{binary}");
        }
    }
    assert!(runs > 10);
    assert!(plain
        .actions
        .values()
        .all(|a| !a.spec.forbid_goroot_reference));
    assert!(plan.actions.values().any(|a| !a.binaries.is_empty()));
}

/// Every compile keeps its archive (`out`, and a split compile's `link`) even when nothing in the
/// script imports it (the main package here; in the dependencies' plan, a module's leaf packages,
/// whose importers are the program's): a leaf package's derivation in `go build -n` of its module
/// kept no export data and so differed from the program's, which the program planner then added
/// again.
#[test]
fn compile_keeps_its_archive_whether_or_not_imported() {
    let meta: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("go1.27/packages.json")).unwrap(),
    )
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    copy_dir(&fixtures().join("modules").join("packages"), &src);
    let script = std::fs::read_to_string(fixtures().join("go1.27/packages.txt"))
        .unwrap()
        .replace(meta["cwd"].as_str().unwrap(), &src.to_string_lossy());
    let graph = godrv_script::parse_script(&script, &src).unwrap();
    let roots = Roots {
        src_root: src.clone(),
        goroot: PathBuf::from(meta["goroot"].as_str().unwrap()),
        modcache: None,
    };
    for split_link_objects in [true, false] {
        let options = PlanOptions {
            split_link_objects,
            ..PlanOptions::default()
        };
        let program = plan(&graph, &roots, &options).unwrap();
        let mut mains = 0;
        for action in program.actions.values().filter(|a| a.role == Role::Compile) {
            let keeps = |output: &str| {
                action
                    .spec
                    .keep
                    .iter()
                    .any(|k| k.output == output && k.to == "_pkg_.a")
            };
            assert!(
                keeps("out"),
                "{} (split {split_link_objects}) keeps its export data",
                action.name
            );
            if split_link_objects {
                assert!(keeps("link"), "{} keeps its link object", action.name);
            }
            mains += usize::from(action.package.as_deref() == Some("example.com/packages"));
        }
        assert_eq!(mains, 1, "the main package's compile is checked too");
    }
}

/// Which actions run `cgo` reaches the plan as the parser found it (`PlannedAction::tools`,
/// which the front ends give the C compiler by): every action whose steps run the cgo program
/// and no other compile, in a program with C code and its std (runtime/cgo, net, os/user).
#[test]
fn the_parsers_tools_reach_the_plan() {
    let (plan, _tmp) = plan_case("go1.27", "cgo", "cgo");
    let mut with_cgo = 0;
    for action in plan.actions.values() {
        let runs_cgo = action.spec.steps.iter().any(|s| match s {
            ExecStep::Run { argv, .. } => argv
                .first()
                .is_some_and(|p| p.ends_with("/pkg/tool/linux_amd64/cgo")),
            _ => false,
        });
        // The link half of a split action keeps the whole action's tools (a link gets the C
        // compiler anyway).
        let link_half = action.role == Role::Link && !runs_cgo;
        assert_eq!(
            action.tools.contains(&godrv_plan::GoTool::Cgo),
            runs_cgo || (link_half && action.tools.contains(&godrv_plan::GoTool::Cgo)),
            "{}: tools {:?}",
            action.name,
            action.tools
        );
        with_cgo += usize::from(runs_cgo);
        if action.role == Role::Compile {
            assert!(
                action.tools.contains(&godrv_plan::GoTool::Compile),
                "{}",
                action.name
            );
        }
    }
    assert!(with_cgo >= 2, "the user's cgo package and runtime/cgo");
}

/// Granularity "module": std's group planner writes std's plan as JSON and the program's planner
/// groups its std actions with the plan read back (instead of running `go build -n std`): the
/// plan read back is the plan written, and the program grouped with it is the program grouped
/// with the plan made in the same process (so the same std group `.drv`).
#[test]
fn library_plan_read_back_from_json_groups_the_program_the_same() {
    let (graph, roots, _tmp) = graph_of_case("go1.27", "packages");
    let options = PlanOptions {
        split_link_objects: true,
        ..PlanOptions::default()
    };
    // The script's std actions (no user source, no link) stand in for `go build -n std`'s.
    let mut std = plan_library(&graph, &roots, &options, "go-std").unwrap();
    let top = std.top.clone();
    std.actions
        .retain(|key, a| *key == top || (a.sources.is_empty() && a.role != Role::Link));
    assert!(std.actions.len() > 10);
    let read_back: Plan = serde_json::from_str(&serde_json::to_string(&std).unwrap()).unwrap();
    assert_eq!(read_back, std);
    let mut here = plan(&graph, &roots, &options).unwrap();
    let mut there = here.clone();
    godrv_plan::group::group_std(&mut here, &std).unwrap();
    godrv_plan::group::group_std(&mut there, &read_back).unwrap();
    assert_eq!(here, there);
    assert!(here.actions.contains_key(godrv_plan::group::STD_KEY));
}

/// Regression: `PlannedAction::tools` was not serialized, so std's plan read back from std's
/// group planner had no tools and the std group made from it lost `cgo` (runtime/cgo): no C
/// compiler, and another `.drv` than `godrv build`'s, which plans std in process.
#[test]
fn std_plan_read_back_keeps_cgo_for_the_std_group() {
    let (graph, roots, _tmp) = graph_of_case("go1.27", "cgo");
    let options = PlanOptions::default();
    let mut std = plan_library(&graph, &roots, &options, "go-std").unwrap();
    let top = std.top.clone();
    std.actions
        .retain(|key, a| *key == top || (a.sources.is_empty() && a.role != Role::Link));
    let read_back: Plan = serde_json::from_str(&serde_json::to_string(&std).unwrap()).unwrap();
    let mut program = plan(&graph, &roots, &options).unwrap();
    godrv_plan::group::group_std(&mut program, &read_back).unwrap();
    let group = &program.actions[godrv_plan::group::STD_KEY];
    assert!(
        group.tools.contains(&godrv_plan::GoTool::Cgo),
        "std group tools {:?}",
        group.tools
    );
}
