//! Known answers from Nix 2.34 (tests/fixtures, made by `generate.sh` and `add/gen.sh`), checked
//! both ways: Nix's JSON → [`Derivation`] → the same JSON bytes, the same ATerm bytes as Nix's
//! `.drv` file, the same `.drv` path; and a derivation with its output paths removed gets them
//! back from `fill_input_addressed_outputs` exactly as Nix filled them.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use godrv_derivation::{
    hash_modulo_all, make_text_path, nar, nixbase32, Derivation, DerivationSet, DrvHash, Output,
    StoreDir, StorePath,
};
use serde_json::Value;

const CASES: &[&str] = &[
    "ia", "ia-dep", "ca", "ca-dep", "ia-on-ca", "text", "fod", "srcs", "escape", "dyn",
];

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The derivations of a `nix derivation show` output, by `.drv` path, as Nix's JSON values.
fn show(path: &Path) -> BTreeMap<StorePath, Value> {
    let v: Value = serde_json::from_str(&read(path)).unwrap();
    assert_eq!(v["version"], 4);
    v["derivations"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.parse().unwrap(), v.clone()))
        .collect()
}

/// Derivations in an order where inputs come first (inputs in `known` are done already).
fn topological(
    drvs: &BTreeMap<StorePath, Derivation>,
    known: &BTreeMap<StorePath, DrvHash>,
) -> Vec<StorePath> {
    let mut order: Vec<StorePath> = Vec::new();
    while order.len() < drvs.len() {
        let before = order.len();
        for (path, drv) in drvs {
            if !order.contains(path)
                && drv
                    .inputs
                    .drvs
                    .keys()
                    .all(|i| order.contains(i) || known.contains_key(i))
            {
                order.push(path.clone());
            }
        }
        assert!(
            order.len() > before,
            "input derivations missing from fixture"
        );
    }
    order
}

/// The derivation as godrv would hand it over before filling: input-addressed outputs deferred,
/// output env vars absent (input-addressed ones `""`, as Nix requires).
fn unfilled(drv: &Derivation) -> Derivation {
    let mut d = drv.clone();
    for (name, output) in d.outputs.iter_mut() {
        match output {
            Output::InputAddressed { .. } | Output::Deferred => {
                *output = Output::Deferred;
                d.env.insert(name.clone(), String::new());
            }
            _ => {
                d.env.remove(name);
            }
        }
    }
    d
}

/// Check every derivation of a show.json against Nix, returning their modulo hashes.
fn check_show(dir: &Path, show_file: &str, hashes: &mut BTreeMap<StorePath, DrvHash>) {
    let store = StoreDir::default();
    let nix = show(&dir.join(show_file));
    let mut drvs = BTreeMap::new();
    for (path, json) in &nix {
        let drv: Derivation = serde_json::from_value(json.clone())
            .unwrap_or_else(|e| panic!("{path}: deserializing Nix's JSON: {e}"));
        assert_eq!(
            serde_json::to_string(&drv).unwrap(),
            serde_json::to_string(json).unwrap(),
            "{path}: JSON round trip"
        );
        let aterm = drv.to_aterm(&store).unwrap();
        assert_eq!(aterm, read(&dir.join(path.to_string())), "{path}: ATerm");
        assert_eq!(&drv.drv_path(&store).unwrap(), path, "{path}: .drv path");
        drvs.insert(path.clone(), drv);
    }
    for path in topological(&drvs, hashes) {
        let drv = &drvs[&path];
        let mut filled = unfilled(drv);
        let hash = filled
            .fill_input_addressed_outputs(&store, hashes)
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(&filled, drv, "{path}: outputs filled like Nix");
        assert_eq!(hash, drv.hash_modulo(&store, false, hashes).unwrap());
        drv.check_outputs(&store, hashes).unwrap();
        hashes.insert(path, hash);
    }
}

#[test]
fn derivations_match_nix() {
    for case in CASES {
        let dir = fixtures().join(case);
        let mut hashes = BTreeMap::new();
        check_show(&dir, "show.json", &mut hashes);
        let main: StorePath = read(&dir.join("main")).trim().parse().unwrap();
        assert!(
            hashes.contains_key(&main),
            "{case}: main derivation checked"
        );
    }
}

/// `nix derivation add` of JSON with `{}` outputs and `""` output env vars: Nix stores what
/// `fill_input_addressed_outputs` produces.
#[test]
fn derivation_add_fills_like_nix() {
    let store = StoreDir::default();
    let dir = fixtures().join("add");
    let mut hashes = BTreeMap::new();
    check_show(&fixtures().join("ca"), "show.json", &mut hashes);
    for case in ["ia", "ia-on-ca"] {
        let input: Derivation =
            serde_json::from_str(&read(&dir.join(format!("{case}.input.json")))).unwrap();
        let mut filled = input.clone();
        filled
            .fill_input_addressed_outputs(&store, &hashes)
            .unwrap();
        let main: StorePath = read(&dir.join(format!("{case}.main")))
            .trim()
            .parse()
            .unwrap();
        let nix = show(&dir.join(format!("{case}.show.json")));
        let expected: Derivation = serde_json::from_value(nix[&main].clone()).unwrap();
        assert_eq!(filled, expected, "{case}");
        assert_eq!(filled.drv_path(&store).unwrap(), main, "{case}");
        check_show(&dir, &format!("{case}.show.json"), &mut hashes.clone());
    }
}

#[test]
fn source_directory_path_matches_nix() {
    let store = StoreDir::default();
    let dir = fixtures().join("srcs");
    let src = dir.join("srcdir");
    let hash = nar::nar_sha256(&src).unwrap();
    assert_eq!(
        nixbase32::encode(&hash),
        read(&dir.join("srcdir.nix-hash")).trim()
    );
    let path = nar::source_path(&store, &src, "srcdir").unwrap();
    assert_eq!(
        store.display_path(&path),
        read(&dir.join("srcdir.store-path")).trim()
    );
    // The same path `./srcdir` got in the derivation.
    let drv: Derivation =
        serde_json::from_value(show(&dir.join("show.json")).into_values().next().unwrap()).unwrap();
    assert!(drv.inputs.srcs.contains(&path));
}

#[test]
fn to_file_path_matches_nix() {
    // srcs/expr.nix: builtins.toFile "hello.txt" "hello\n".
    let path = make_text_path(
        &StoreDir::default(),
        "hello.txt",
        "hello\n",
        &Default::default(),
    )
    .unwrap();
    assert_eq!(
        path.to_string(),
        "qa1w9gdfrba6jl2r57mb3c43863gqywp-hello.txt"
    );
}

/// A whole `nix derivation show --recursive` output round-trips byte for byte, and
/// `hash_modulo_all` gives the same hashes as filling in dependency order.
#[test]
fn derivation_set_round_trip_and_hash_all() {
    let store = StoreDir::default();
    for case in CASES {
        let dir = fixtures().join(case);
        let text = read(&dir.join("show.json"));
        let set: DerivationSet = serde_json::from_str(&text).unwrap();
        assert_eq!(
            serde_json::to_string(&set).unwrap(),
            text.trim_end(),
            "{case}"
        );
        let mut expected = BTreeMap::new();
        check_show(&dir, "show.json", &mut expected);
        let all = hash_modulo_all(&store, &set.derivations, BTreeMap::new()).unwrap();
        assert_eq!(all, expected, "{case}");
    }
}

#[test]
fn rejects_other_json_versions() {
    let text = read(&fixtures().join("add/ia.input.json"));
    let v3 = text.replace("\"version\":4", "\"version\":3");
    let err = serde_json::from_str::<Derivation>(&v3).unwrap_err();
    assert!(err.to_string().contains("version 3"), "{err}");
}

/// `nix-hash --type sha256 --base32 srcdir/NODE` (srcs/nodes.nix-hash) for a regular file, an
/// executable, a symlink (not followed) and a directory holding a dangling symlink.
#[test]
fn nar_hashes_of_single_nodes_match_nix() {
    let dir = fixtures().join("srcs");
    for line in read(&dir.join("nodes.nix-hash")).lines() {
        let (node, expected) = line.split_once(' ').unwrap();
        let hash = nar::nar_sha256(&dir.join("srcdir").join(node)).unwrap();
        assert_eq!(nixbase32::encode(&hash), expected, "{node}");
    }
}
