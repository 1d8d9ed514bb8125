//! Turn a godrv [`Plan`] into Nix derivations.
//!
//! Both front ends share one description of every per-action derivation, the [`Template`]:
//! its name and literal attributes (the action spec as JSON, the content-addressing attributes)
//! come from Rust; its *symbolic* attributes (dependencies, source set, toolchain) are resolved by
//! the front end:
//!
//! - **IFD** ([`IfdPlan`]): the templates are written as JSON; `nix/instantiate.nix` calls
//!   `derivation` with `builder = "${godrv}/bin/godrv"`, `args = [ "exec" ]`, `goroot = go`,
//!   `depN = <dependency>`, `src = builtins.path { … }` and the literal attributes.
//! - **dynamic derivations** ([`register`]): the same attributes are resolved here and every
//!   derivation is written with `nix derivation add`.
//!
//! Attribute names and values are identical in both, so both give the same `.drv` paths.

pub mod daemon;
pub mod register;

use std::collections::{BTreeMap, BTreeSet};

use godrv_plan::{spec, DepRef, Plan, PlannedAction, Role};
use serde::{Deserialize, Serialize};

/// Version of the IFD plan JSON read by `nix/instantiate.nix`.
pub const IFD_PLAN_VERSION: u32 = 1;

/// A store path given to godrv by the Nix front end, with the derivation output that produces it
/// when there is one (`pkgs.go`), so that generated derivations depend on that output exactly as
/// a Nix expression referring to it would.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputRef {
    /// The store path (or, on a machine without nixpkgs, a host prefix such as `/usr`).
    pub path: String,
    /// The `.drv` that builds `path`, if it is a derivation output.
    #[serde(default)]
    pub drv: Option<String>,
    /// The output of `drv` that `path` is (default `out`).
    #[serde(default)]
    pub output: Option<String>,
}

/// A source set: the files of one package, laid out as in the user's tree.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSet {
    /// Store path name.
    pub name: String,
    /// Files, relative to the source root.
    pub files: BTreeSet<String>,
    /// The files and every directory above them: what the `builtins.path` filter admits.
    pub paths: BTreeSet<String>,
}

impl SourceSet {
    fn new(name: String, files: BTreeSet<String>) -> Self {
        let mut paths = BTreeSet::new();
        for file in &files {
            let mut prefix = file.as_str();
            paths.insert(file.clone());
            while let Some((dir, _)) = prefix.rsplit_once('/') {
                paths.insert(dir.to_string());
                prefix = dir;
            }
        }
        SourceSet { name, files, paths }
    }
}

/// One per-action derivation, before its symbolic attributes are resolved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Template {
    pub name: String,
    /// Literal string attributes (the action spec, `outputHashMode`, …).
    pub env: BTreeMap<String, String>,
    /// Attribute name → plan key of the dependency whose output it holds.
    pub deps: BTreeMap<String, DepRef>,
    /// Output names; more than `out` only for a split compile (`link`, `out`).
    pub outputs: Vec<String>,
    /// The package's sources, given as the `src` attribute.
    pub src: Option<SourceSet>,
    /// Gets the C toolchain as the `cc` attribute.
    pub cc: bool,
    /// Gets the module cache as the `modcache` attribute.
    pub modcache: bool,
}

/// How per-action derivations are addressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Addressing {
    /// Floating content-addressed (`__contentAddressed = true`): early cutoff.
    ContentAddressed,
    /// Input-addressed: works without the `ca-derivations` feature.
    InputAddressed,
}

/// The literal attributes content addressing adds (besides `__contentAddressed = true`).
pub fn ca_env() -> [(&'static str, &'static str); 2] {
    [
        ("outputHashAlgo", "sha256"),
        ("outputHashMode", "recursive"),
    ]
}

/// The template of every planned action.
pub fn templates(plan: &Plan, addressing: Addressing) -> BTreeMap<String, Template> {
    plan.actions
        .iter()
        .map(|(key, action)| (key.clone(), template(action, addressing)))
        .collect()
}

fn template(action: &PlannedAction, addressing: Addressing) -> Template {
    let mut env = BTreeMap::new();
    let spec_json = serde_json::to_string(&action.spec).expect("an action spec always serializes");
    env.insert(spec::SPEC_ATTR.to_string(), spec_json);
    if addressing == Addressing::ContentAddressed {
        env.extend(ca_env().iter().map(|(k, v)| (k.to_string(), v.to_string())));
    }
    let deps = action
        .deps
        .iter()
        .enumerate()
        .map(|(i, key)| (spec::dep_attr(i), key.clone()))
        .collect();
    let src = (!action.sources.is_empty()).then(|| {
        let base = action.package.as_deref().unwrap_or("action");
        SourceSet::new(
            godrv_plan::sanitize_store_name(&format!("src-{base}")),
            action.sources.clone(),
        )
    });
    let uses_c = action.spec.steps.iter().any(|s| match s {
        spec::ExecStep::Run { argv, .. } => argv.iter().any(|a| a.ends_with("/cgo") || a == "cgo"),
        _ => false,
    });
    Template {
        name: action.name.clone(),
        env,
        deps,
        outputs: action.outputs.clone(),
        src,
        cc: uses_c || action.role == Role::Link,
        modcache: action.uses_modcache,
    }
}

/// The plan as the IFD front end reads it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IfdPlan {
    pub version: u32,
    pub addressing: Addressing,
    pub top: String,
    pub actions: BTreeMap<String, Template>,
}

impl IfdPlan {
    pub fn new(plan: &Plan, addressing: Addressing) -> Self {
        IfdPlan {
            version: IFD_PLAN_VERSION,
            addressing,
            top: plan.top.clone(),
            actions: templates(plan, addressing),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_set_admits_parent_directories() {
        let set = SourceSet::new(
            "src-x".into(),
            ["cmd/hello/main.go".to_string(), "go.mod".to_string()].into(),
        );
        let paths: Vec<_> = set.paths.iter().map(String::as_str).collect();
        assert_eq!(paths, ["cmd", "cmd/hello", "cmd/hello/main.go", "go.mod"]);
    }
}
