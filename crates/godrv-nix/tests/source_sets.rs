//! Source sets given to the planner (dyn mode: the main module's sets computed while evaluating,
//! `nix/internal/sourceSets.nix`): named as Nix names them, never added again, and never a
//! reason for another derivation.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use godrv_derivation::nar::write_nar_of_files;
use godrv_derivation::{make_source_path, Derivation, StoreDir, StorePath};
use godrv_nix::register::{register, RegisterError, Store, Toolchain};
use godrv_nix::{source_set_name, Addressing, DrvPlan, SourceSet};
use godrv_plan::{spec, GoTool, Plan, PlannedAction, Role};
use sha2::{Digest, Sha256};

/// The naming of `testdata/source-sets.json`, which the e2e test
/// `source_sets_match_the_shared_vectors` checks on the Nix side.
#[test]
fn source_set_names_match_the_shared_vectors() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/source-sets.json");
    let json: serde_json::Value = serde_json::from_str(&fs::read_to_string(file).unwrap()).unwrap();
    let vectors = json["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 5);
    for v in vectors {
        let (module, dir) = (v["module"].as_str().unwrap(), v["dir"].as_str().unwrap());
        let import_path = if dir.is_empty() {
            module.to_string()
        } else {
            format!("{module}/{dir}")
        };
        assert_eq!(
            source_set_name(&import_path),
            v["name"].as_str().unwrap(),
            "{v}"
        );
    }
}

/// A store that records what it is asked to add.
#[derive(Default)]
struct Recorder {
    sources: Vec<String>,
    drvs: Vec<StorePath>,
}

impl Store for Recorder {
    fn add_source(&mut self, name: &str, dir: &Path) -> Result<String, RegisterError> {
        let mut nar = Vec::new();
        godrv_derivation::nar::write_nar(dir, &mut nar).unwrap();
        self.sources.push(name.to_string());
        Ok(source_path(name, &nar))
    }

    fn add_derivation(&mut self, drv: &Derivation) -> Result<StorePath, RegisterError> {
        let path = drv.drv_path(&StoreDir::default())?;
        self.drvs.push(path.clone());
        Ok(path)
    }
}

fn source_path(name: &str, nar: &[u8]) -> String {
    let store_dir = StoreDir::default();
    let sha256: [u8; 32] = Sha256::digest(nar).into();
    store_dir.display_path(&make_source_path(&store_dir, name, &sha256, &BTreeSet::new()).unwrap())
}

fn compile(package: &str, sources: &[&str]) -> PlannedAction {
    PlannedAction {
        name: godrv_plan::sanitize_store_name(&format!("go-{package}")),
        package: Some(package.to_string()),
        role: Role::Compile,
        deps: vec![],
        outputs: vec!["out".into()],
        sources: sources.iter().map(|s| s.to_string()).collect(),
        uses_modcache: false,
        module: None,
        group_modules: BTreeMap::new(),
        tools: [GoTool::Compile].into(),
        binaries: vec![],
        spec: spec::ActionSpec {
            steps: vec![spec::ExecStep::Run {
                cwd: "$SRC".into(),
                env: vec![],
                argv: vec!["$GOROOT/pkg/tool/linux_amd64/compile".into()],
                ignore_failure: false,
            }],
            deps: 0,
            keep: vec![],
            forbid_goroot_reference: false,
            members: Default::default(),
        },
    }
}

fn toolchain(source_sets: BTreeSet<String>) -> Toolchain {
    Toolchain {
        source_sets,
        ..common::toolchain()
    }
}

/// A set the planner computes that is among the given ones is not added, one that is not (a
/// set computed otherwise: here, a path that is not the planner's) is added as usual, and
/// either way every derivation is the same as when nothing is given.
#[test]
fn a_given_source_set_is_not_added_and_a_mismatch_changes_no_derivation() {
    let root = tempfile::tempdir().unwrap();
    for (file, text) in [
        ("a/a.go", "package a\n"),
        ("a/README", "a\n"),
        ("b/b.go", "package b\n"),
    ] {
        let path = root.path().join(file);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }
    let mut b2 = compile("example.com/m/b", &["b/b.go"]);
    // b2 depends on b1, so that both are registered.
    b2.deps.push(godrv_plan::DepRef {
        key: "b1".into(),
        output: "out".into(),
        dir: None,
    });
    b2.spec.deps = 1;
    let plan = Plan {
        actions: BTreeMap::from([
            (
                "b1".into(),
                compile("example.com/m/a", &["a/README", "a/a.go"]),
            ),
            ("b2".into(), b2),
        ]),
        top: "b2".into(),
    };
    let plan = DrvPlan::new(&plan, Addressing::ContentAddressed, &BTreeSet::new()).unwrap();
    let set_a: &SourceSet = plan.actions["b1"].sources().next().unwrap();
    let mut nar = Vec::new();
    write_nar_of_files(
        root.path(),
        set_a.files.iter().map(String::as_str),
        &mut nar,
    )
    .unwrap();
    let path_a = source_path(&set_a.name, &nar);

    let run = |given: &[&str]| {
        let mut store = Recorder::default();
        let given: BTreeSet<String> = given.iter().map(|s| s.to_string()).collect();
        let registration = register(
            &plan,
            &toolchain(given),
            root.path(),
            &root.path().join("stage"),
            &mut store,
        )
        .unwrap();
        (registration, store)
    };
    let (none, none_store) = run(&[]);
    assert_eq!((none.source_sets, none.source_sets_given), (2, 0));
    assert_eq!(none_store.sources.len(), 2);

    let (given, given_store) = run(&[&path_a]);
    assert_eq!((given.source_sets, given.source_sets_given), (2, 1));
    assert_eq!(given_store.sources, [source_set_name("example.com/m/b")]);
    assert_eq!(given_store.drvs, none_store.drvs);
    assert_eq!(given.top, none.top);

    // Nix computed a's set differently (another path): a is added, nothing else changes.
    let other = "/nix/store/lm3z13cqwmqwvh0c19ic3wicdcfh36g3-src-example.com-m-a";
    let (mismatch, mismatch_store) = run(&[other]);
    assert_eq!((mismatch.source_sets, mismatch.source_sets_given), (2, 0));
    assert_eq!(mismatch_store.sources.len(), 2);
    assert_eq!(mismatch_store.drvs, none_store.drvs);
}
