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

use godrv_derivation::{
    hash_modulo_all, make_source_path, nixbase32, Derivation, DerivationSet, StoreDir, StorePath,
};
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

/// A store that keeps what it is given: source sets get the paths Nix gave them, derivations
/// their ATerm by `.drv` path.
struct Recorder {
    sources: BTreeSet<String>,
    written: BTreeMap<StorePath, String>,
}

impl Store for Recorder {
    fn add_source(&mut self, name: &str, dir: &Path) -> Result<String, RegisterError> {
        panic!(
            "register added the directory {} as {name}: not expected",
            dir.display()
        )
    }

    /// The path Nix gives the set (`builtins.path` with the plan's NAR hash), which must be one
    /// Nix's derivations have.
    fn add_source_set(
        &mut self,
        set: &SourceSet,
        _src_root: &Path,
        _scratch: &Path,
    ) -> Result<String, RegisterError> {
        let sha256 = set
            .sha256
            .as_ref()
            .expect("an IFD plan pins its source sets");
        let digest: [u8; 32] = nixbase32::decode(sha256).unwrap().try_into().unwrap();
        let store_dir = StoreDir::default();
        let path = make_source_path(&store_dir, &set.name, &digest, &BTreeSet::new())?;
        let path = store_dir.display_path(&path);
        assert!(
            self.sources.contains(&path),
            "Nix's derivations have no source set {} at {path}",
            set.name
        );
        Ok(path)
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
    // Store paths that are outputs of derivations outside the plan (a lockfile's modules).
    let produced: BTreeMap<String, InputRef> =
        serde_json::from_str(&read(&dir.join("outputs.json"))).unwrap();
    let input = |path: &str| {
        produced.get(path).cloned().unwrap_or(InputRef {
            path: path.to_string(),
            drv: None,
            output: None,
        })
    };
    let of = |name: &str| -> &BTreeMap<String, String> {
        nix.get(name)
            .unwrap_or_else(|| panic!("Nix made no derivation named {name}"))
    };
    let any = of(plan.actions[&plan.top].name());
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
        source_sets: BTreeSet::new(),
    };
    let sources: BTreeSet<String> = nix
        .values()
        .filter_map(|env| env.get("src"))
        .cloned()
        .collect();
    // The user's C inputs first (a template with them and no packageOverrides entry's), then
    // each entry's: what its templates get after the user's.
    let mut templates: Vec<_> = plan.actions.values().collect();
    templates.sort_by_key(|t| t.c_inputs().map(|(_, p)| p.len()));
    for template in templates {
        // Not every action is needed by the top (Nix instantiates only those that are).
        let Some(env) = nix.get(template.name()) else {
            continue;
        };
        for (attr, module) in template.modules() {
            toolchain
                .modules
                .insert(module.dir.clone(), input(&env[attr]));
        }
        let (Some((user, packages)), Some(paths)) = (template.c_inputs(), env.get("buildInputs"))
        else {
            continue;
        };
        let paths: Vec<InputRef> = paths.split(' ').map(input).collect();
        match packages {
            [] if user => toolchain.inputs = paths,
            [package] => {
                let own = if user { toolchain.inputs.len() } else { 0 };
                toolchain
                    .package_inputs
                    .insert(package.clone(), paths[own..].to_vec());
            }
            _ => {}
        }
    }
    // The modulo hashes of the derivations outside the plan, as godrv gets them from Nix.
    let others = dir.join("others.json");
    if others.exists() {
        let set: DerivationSet = serde_json::from_str(&read(&others)).unwrap();
        toolchain.input_hashes =
            hash_modulo_all(&StoreDir::default(), &set.derivations, BTreeMap::new()).unwrap();
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
    // One derivation per action the top needs (a plan may hold more: the test binaries' bundle
    // of a plan whose top runs the tests), which is what Nix instantiates.
    let mut needed = BTreeSet::new();
    let mut next = vec![plan.top.as_str()];
    while let Some(key) = next.pop() {
        if needed.insert(key) {
            next.extend(plan.actions[key].deps().map(|d| d.key.as_str()));
        }
    }
    assert_eq!(ours.len(), needed.len(), "one derivation per action");
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
    let kept = fs::read_dir(&dir)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension() == Some("drv".as_ref()))
        .count();
    assert!(
        compared == kept && compared >= 1,
        "{example}: {compared} of the {kept} ATerm files compared"
    );
}

/// The fixtures: one example each, built by buildWithIFD with some arguments (generate.sh).
const FIXTURES: [&str; 6] = [
    // module granularity, content-addressed, vendorHash: std and module groups, a source set
    "dep",
    // input-addressed, package granularity
    "dep-input-addressed",
    // lockfile mode: each module its own fixed-output derivation
    "deplock",
    // cgo with pkg-config: the C compiler and the user's C inputs (buildInputs)
    "cgo-pkgconfig",
    // packageOverrides: one package's C inputs, module granularity
    "cgo-pkgconfig-override",
    // doCheck: the packages' tests run
    "gotests",
];

#[test]
fn register_writes_the_derivations_nix_instantiate_writes() {
    for example in FIXTURES {
        assert_same_derivations(example, &read(&fixture(example).join("plan.json")));
    }
}

/// Every attribute of the plan Nix read is one godrv reads back: nothing Nix resolves is left out
/// of the comparison.
#[test]
fn the_fixture_plans_read_back_whole() {
    for example in FIXTURES {
        let json = read(&fixture(example).join("plan.json"));
        let plan: DrvPlan = serde_json::from_str(&json).unwrap();
        let original: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert!(
            serde_json::to_value(&plan).unwrap() == original,
            "{example}: the plan written back differs from the one Nix read"
        );
    }
}

/// The fixtures have every kind of attribute value and every attribute Nix's `derivation` treats
/// specially.
#[test]
fn the_fixtures_cover_every_kind_of_attribute() {
    let mut kinds = BTreeSet::new();
    let mut cases = BTreeSet::new();
    for example in FIXTURES {
        let plan: DrvPlan =
            serde_json::from_str(&read(&fixture(example).join("plan.json"))).unwrap();
        cases.insert(plan.addressing == godrv_nix::Addressing::ContentAddressed);
        for (attr, value) in plan.actions.values().flat_map(|t| &t.attrs) {
            let kind = serde_json::to_value(value).unwrap();
            let kind = kind.as_object().unwrap().keys().next().unwrap().clone();
            kinds.insert(kind.clone());
            if kind == "toolchain" || kind == "cInputs" || kind == "strings" {
                kinds.insert(format!("{kind} {attr}"));
            }
        }
    }
    for kind in [
        "string",
        "strings",
        "bool",
        "toolchain",
        "dep",
        "src",
        "module",
        "cInputs",
        "toolchain cc",
        "strings outputs",
        "strings args",
    ] {
        assert!(kinds.contains(kind), "no fixture has a {kind} attribute");
    }
    assert_eq!(cases.len(), 2, "both content- and input-addressed plans");
}

/// The comparison can fail: a template changed on one side only (one attribute added, or one of
/// those that resolve to an input left out) gives other derivations.
#[test]
fn a_changed_template_gives_other_derivations() {
    for example in FIXTURES {
        let json = read(&fixture(example).join("plan.json"));
        let plan: serde_json::Value = serde_json::from_str(&json).unwrap();
        let top = plan["top"].as_str().unwrap().to_string();
        let mut added = plan.clone();
        added["actions"][&top]["godrvChanged"] = serde_json::json!({ "string": "1" });
        let mut changes = vec![("an added attribute".to_string(), added)];
        let nix: BTreeMap<String, BTreeMap<String, String>> =
            serde_json::from_str(&read(&fixture(example).join("inputs.json"))).unwrap();
        for attr in ["src", "module", "cc", "buildInputs", "modcache"] {
            let found = plan["actions"].as_object().unwrap().iter().find(|(_, a)| {
                a.get(attr).is_some()
                    && nix[a["name"]["string"].as_str().unwrap()].contains_key(attr)
            });
            if let Some((key, _)) = found {
                let mut left_out = plan.clone();
                left_out["actions"][key]
                    .as_object_mut()
                    .unwrap()
                    .remove(attr);
                changes.push((format!("{key} without {attr}"), left_out));
            }
        }
        for (what, changed) in changes {
            let changed = serde_json::to_string(&changed).unwrap();
            let result = std::panic::catch_unwind(|| assert_same_derivations(example, &changed));
            assert!(result.is_err(), "{example}: {what} still gave Nix's .drvs");
        }
    }
}
