//! Fixtures shared by godrv-nix's test crates.

use std::collections::{BTreeMap, BTreeSet};

use godrv_nix::register::Toolchain;
use godrv_nix::InputRef;

/// An input given by its store path alone (a source, not a derivation's output).
pub fn input(path: &str) -> InputRef {
    InputRef {
        path: path.into(),
        drv: None,
        output: None,
    }
}

/// A toolchain of godrv and go only: no C compiler, module cache, C inputs, modules or source
/// sets given (tests set what they need with `..toolchain()`).
pub fn toolchain() -> Toolchain {
    Toolchain {
        system: "x86_64-linux".into(),
        godrv: input("/nix/store/2zqi04h4x9cla0lvwqn9q54mr6j39nda-godrv"),
        go: input("/nix/store/8lcp4sszmcqngq0z2gph2697g4a2ywv6-go-1.27.3"),
        cc: None,
        modcache: None,
        inputs: vec![],
        package_inputs: BTreeMap::new(),
        modules: BTreeMap::new(),
        input_hashes: BTreeMap::new(),
        source_sets: BTreeSet::new(),
    }
}
