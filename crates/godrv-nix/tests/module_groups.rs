//! Module groups registered ahead (`godrv_nix::module_groups`): the registrar registers, from
//! the third-party part of a plan alone, the same `.drv` of each module group as the program's
//! planner registers from the whole plan.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use common::input;
use godrv_derivation::{Derivation, StoreDir, StorePath};
use godrv_nix::module_groups::ModuleGroupsPlan;
use godrv_nix::register::{register, register_actions, RegisterError, Store, Toolchain};
use godrv_nix::{Addressing, DrvPlan};
use godrv_plan::{spec, DepRef, GoTool, Plan, PlannedAction, Role};

/// A store that computes paths and keeps nothing.
#[derive(Default)]
struct Recorder {
    drvs: Vec<StorePath>,
}

impl Store for Recorder {
    fn add_source(&mut self, name: &str, _dir: &Path) -> Result<String, RegisterError> {
        Ok(format!(
            "/nix/store/00000000000000000000000000000000-{name}"
        ))
    }

    fn add_derivation(&mut self, drv: &Derivation) -> Result<StorePath, RegisterError> {
        let path = drv.drv_path(&StoreDir::default())?;
        self.drvs.push(path.clone());
        Ok(path)
    }
}

/// A compile of `package` reading `sources` (main module) or the module `module`, after `deps`.
fn compile(package: &str, sources: &[&str], module: Option<&str>, deps: &[&str]) -> PlannedAction {
    PlannedAction {
        name: godrv_plan::sanitize_store_name(&format!("go-{package}")),
        package: Some(package.to_string()),
        role: Role::Compile,
        deps: deps
            .iter()
            .map(|d| DepRef {
                key: d.to_string(),
                output: "out".into(),
                dir: None,
            })
            .collect(),
        outputs: vec!["out".into()],
        sources: sources.iter().map(|s| s.to_string()).collect(),
        uses_modcache: false,
        module: module.map(str::to_string),
        group_modules: BTreeMap::new(),
        tools: [GoTool::Compile].into(),
        binaries: vec![],
        spec: spec::ActionSpec {
            steps: vec![spec::ExecStep::Run {
                cwd: "$SRC".into(),
                env: vec![],
                argv: vec![
                    "$GOROOT/pkg/tool/linux_amd64/compile".into(),
                    "-p".into(),
                    package.into(),
                ],
                ignore_failure: false,
            }],
            deps: deps.len(),
            keep: vec![spec::Keep {
                output: "out".into(),
                from: "_pkg_.a".into(),
                to: "_pkg_.a".into(),
            }],
            forbid_goroot_reference: false,
            members: Default::default(),
        },
    }
}

fn toolchain() -> Toolchain {
    Toolchain {
        modules: BTreeMap::from([
            (
                "example.com/a@v1.0.0".into(),
                input("/nix/store/lm3z13cqwmqwvh0c19ic3wicdcfh36g3-gomod-example.com-a-v1.0.0"),
            ),
            (
                "example.com/b@v1.0.0".into(),
                input("/nix/store/9rj5ngd2r7kkd1m4a0y7qsfh6jjgn9c4-gomod-example.com-b-v1.0.0"),
            ),
        ]),
        ..common::toolchain()
    }
}

/// The module-granularity plan of a main package (source `main.go`, written in `root`)
/// importing module b, which imports module a (two packages).
fn plan(root: &Path) -> DrvPlan {
    fs::write(root.join("main.go"), "package main\n").unwrap();
    let mut plan = Plan {
        actions: BTreeMap::from([
            (
                "b002".into(),
                compile("example.com/a", &[], Some("example.com/a@v1.0.0"), &[]),
            ),
            (
                "b003".into(),
                compile(
                    "example.com/a/x",
                    &[],
                    Some("example.com/a@v1.0.0"),
                    &["b002"],
                ),
            ),
            (
                "b004".into(),
                compile(
                    "example.com/b",
                    &[],
                    Some("example.com/b@v1.0.0"),
                    &["b003"],
                ),
            ),
            (
                "b001".into(),
                compile("example.com/m", &["main.go"], None, &["b004"]),
            ),
        ]),
        top: "b001".into(),
    };
    godrv_plan::group::group_modules(&mut plan).unwrap();
    DrvPlan::new(&plan, Addressing::ContentAddressed, &BTreeSet::new()).unwrap()
}

#[test]
fn the_registrar_registers_the_planners_module_groups() {
    let root = tempfile::tempdir().unwrap();
    let plan = plan(root.path());
    let part = ModuleGroupsPlan::of(&plan);
    assert_eq!(
        part.groups.iter().map(String::as_str).collect::<Vec<_>>(),
        ["module:example.com/a@v1.0.0", "module:example.com/b@v1.0.0"]
    );
    let stage = root.path().join("stage");
    let whole = register(
        &plan,
        &toolchain(),
        root.path(),
        &stage,
        &mut Recorder::default(),
    )
    .unwrap();
    let roots: Vec<String> = part.groups.iter().cloned().collect();
    let mut store = Recorder::default();
    let (ahead, sets, _) = register_actions(
        &part.actions,
        part.addressing,
        &roots,
        &toolchain(),
        Path::new(""),
        &stage,
        &mut store,
    )
    .unwrap();
    assert_eq!(sets, 0, "a module group reads no source set");
    assert_eq!(store.drvs.len(), 2);
    for key in &part.groups {
        assert_eq!(ahead[key], whole.drvs[key], "{key}");
    }
    // What the registrar wrote is a part of what the planner did.
    assert!(!ahead.contains_key(&plan.top));
}
