//! `register` (dyn mode, `godrv build`) and Nix's reader of the plan (`nix/internal/instantiate.nix`,
//! IFD mode) write the same derivations: from the plan the IFD planner wrote for an example, the
//! `.drv` files `register` writes are byte for byte those Nix wrote (tests/fixtures, made by
//! `generate.sh` in the test machine; see tests/fixtures/README.md).
//!
//! The inputs that are not the plan's (the toolchain's paths, the source sets' and modules' store
//! paths) are taken from Nix's derivations (`inputs.json`): this checks how each derivation is put
//! together from the plan, not how those paths are computed (tests elsewhere do that).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use godrv_derivation::{Derivation, StoreDir, StorePath};
use godrv_nix::register::{register, RegisterError, Store, Toolchain};
use godrv_nix::{DrvPlan, InputRef, SourceSet};

fn fixture(example: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(example)
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; regenerate with tests/fixtures/generate.sh",
            path.display()
        )
    })
}

fn input(path: &str) -> InputRef {
    InputRef {
        path: path.to_string(),
        drv: None,
        output: None,
    }
}

/// A store that keeps what it is given: source sets get the paths Nix gave them, derivations
/// their ATerm by `.drv` path.
struct Recorder {
    sources: BTreeMap<String, String>,
    written: BTreeMap<StorePath, String>,
}

impl Store for Recorder {
    fn add_source(&mut self, name: &str, dir: &Path) -> Result<String, RegisterError> {
        panic!(
            "register added the directory {} as {name}: not expected",
            dir.display()
        )
    }

    fn add_source_set(
        &mut self,
        set: &SourceSet,
        _src_root: &Path,
        _scratch: &Path,
    ) -> Result<String, RegisterError> {
        Ok(self
            .sources
            .get(&set.name)
            .unwrap_or_else(|| panic!("Nix's derivations have no source set {}", set.name))
            .clone())
    }

    fn add_derivation(&mut self, drv: &Derivation) -> Result<StorePath, RegisterError> {
        let store_dir = StoreDir::default();
        let path = drv.drv_path(&store_dir)?;
        self.written.insert(path.clone(), drv.to_aterm(&store_dir)?);
        Ok(path)
    }
}

/// The plan, the toolchain and source paths Nix gave its derivations, and what `register` wrote.
fn register_example(plan_json: &str, example: &str) -> (DrvPlan, BTreeMap<StorePath, String>) {
    let dir = fixture(example);
    let plan: DrvPlan = serde_json::from_str(plan_json).expect("the fixture plan is a DrvPlan");
    let nix: BTreeMap<String, BTreeMap<String, String>> =
        serde_json::from_str(&read(&dir.join("inputs.json"))).unwrap();
    let of = |name: &str| -> &BTreeMap<String, String> {
        nix.get(name)
            .unwrap_or_else(|| panic!("Nix made no derivation named {name}"))
    };
    let any = of(&plan.actions[&plan.top].name);
    let godrv = any["builder"]
        .strip_suffix("/bin/godrv")
        .expect("the builder is godrv");
    let mut toolchain = Toolchain {
        system: "x86_64-linux".into(),
        godrv: input(godrv),
        go: input(&any["goroot"]),
        cc: nix.values().find_map(|env| env.get("cc")).map(|p| input(p)),
        modcache: nix
            .values()
            .find_map(|env| env.get("modcache"))
            .map(|p| input(p)),
        inputs: Vec::new(),
        package_inputs: BTreeMap::new(),
        modules: BTreeMap::new(),
        input_hashes: BTreeMap::new(),
    };
    let mut sources = BTreeMap::new();
    for template in plan.actions.values() {
        let env = of(&template.name);
        if let Some(module) = &template.module {
            toolchain
                .modules
                .insert(module.dir.clone(), input(&env["module"]));
        }
        for (attr, module) in &template.modules {
            toolchain
                .modules
                .insert(module.dir.clone(), input(&env[attr]));
        }
        if let Some(set) = &template.src {
            sources.insert(set.name.clone(), env["src"].clone());
        }
        if template.inputs {
            if let Some(paths) = env.get("buildInputs") {
                toolchain.inputs = paths.split(' ').map(input).collect();
            }
        }
    }
    let mut store = Recorder {
        sources,
        written: BTreeMap::new(),
    };
    register(&plan, &toolchain, &dir, &dir, &mut store).expect("register the fixture plan");
    (plan, store.written)
}

/// Every derivation `register` writes is one Nix wrote: the same `.drv` path (which hashes the
/// ATerm), and the same ATerm bytes where the fixture keeps Nix's.
fn assert_same_derivations(example: &str, plan_json: &str) {
    let dir = fixture(example);
    let (plan, written) = register_example(plan_json, example);
    let nix: BTreeSet<String> = read(&dir.join("drvs")).lines().map(String::from).collect();
    let ours: BTreeSet<String> = written.keys().map(|p| format!("{p}")).collect();
    assert_eq!(plan.actions.len(), nix.len(), "one derivation per action");
    assert_eq!(
        ours, nix,
        "register wrote other .drv paths than Nix's instantiate.nix"
    );
    let mut compared = 0;
    for (path, aterm) in &written {
        let file = dir.join(format!("{path}"));
        if file.exists() {
            assert_eq!(
                aterm,
                &read(&file),
                "{path}: register's ATerm differs from Nix's"
            );
            compared += 1;
        }
    }
    assert!(compared >= 4, "only {compared} ATerm files compared");
}

#[test]
fn register_writes_the_derivations_nix_instantiate_writes() {
    assert_same_derivations("dep", &read(&fixture("dep").join("plan.json")));
}

/// The comparison can fail: one changed attribute of one template (the main package's name)
/// gives other derivations.
#[test]
fn a_changed_template_gives_other_derivations() {
    let mut plan: serde_json::Value =
        serde_json::from_str(&read(&fixture("dep").join("plan.json"))).unwrap();
    plan["actions"]["b001"]["env"]["godrvChanged"] = "1".into();
    let changed = serde_json::to_string(&plan).unwrap();
    let result = std::panic::catch_unwind(|| assert_same_derivations("dep", &changed));
    assert!(result.is_err(), "a changed template still gave Nix's .drvs");
}
