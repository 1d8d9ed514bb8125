//! Turn a godrv [`Plan`] into Nix derivations.
//!
//! Both front ends share one description of every per-action derivation, the [`Template`]: every
//! attribute of its `derivation { … }` call, each a typed [`Attr`] (a literal string, a toolchain
//! input, another action's output, a source set, a module, the C inputs), made in one place
//! ([`DrvPlan::new`]). The front ends know the kinds of values, not the attributes:
//!
//! - **IFD** ([`DrvPlan`] as JSON): `nix/internal/instantiate.nix` maps each value to a Nix value
//!   and calls `derivation` with them.
//! - **dynamic derivations and `godrv build`** ([`register`]): [`register::derivation`] resolves
//!   the same values and writes the derivation as Nix's `derivation` would, with
//!   `nix derivation add` or over the daemon protocol.
//!
//! Attribute names and values are identical in both, so both give the same `.drv` paths
//! (`tests/ifd_agrees.rs` checks it on what Nix wrote).

pub mod contract;
pub mod daemon;
pub mod module_dirs;
pub mod module_groups;
pub mod register;

use std::collections::{BTreeMap, BTreeSet};

use godrv_plan::{spec, DepRef, GoTool, Plan, PlannedAction, Role};
use serde::{Deserialize, Serialize};

pub use contract::contract;

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
    /// The sha256 of the set's NAR (nixbase32), in an IFD plan ([`DrvPlan::pin_hashes`]):
    /// `builtins.path` given it neither walks nor hashes the source when the path is in the store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// The store name of a source set: the contract's prefix and the package's import path (or the
/// action's name), made a valid store name (`src-example.com-m-internal-x`). In dyn mode
/// `nix/internal/sourceSets.nix` computes the sets of the main module's package directories
/// while evaluating, under the same names, so that the planner finds them among its inputs
/// (checked against `testdata/source-sets.json` on both sides).
pub fn source_set_name(base: &str) -> String {
    godrv_plan::sanitize_store_name(&format!("{}{base}", contract().source_set_prefix))
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
        SourceSet {
            name,
            files,
            paths,
            sha256: None,
        }
    }
}

/// The third-party module an action reads: its directory in the module cache and the name of its
/// own store path.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModuleDir {
    /// `example.com/greet@v1.1.0` (module path escaped as go does: `!` before upper-case letters).
    pub dir: String,
    /// Store path name of the module's source tree (`gomod-example.com-greet-v1.1.0`).
    pub name: String,
    /// The sha256 of the module directory's NAR (nixbase32), in an IFD plan with a module cache
    /// ([`DrvPlan::pin_hashes`]): the evaluator then does not hash the module's tree again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

impl ModuleDir {
    pub fn new(dir: &str) -> Self {
        ModuleDir {
            dir: dir.to_string(),
            name: godrv_plan::sanitize_store_name(&format!(
                "{}{dir}",
                contract().module_store_prefix
            )),
            sha256: None,
        }
    }
}

/// One per-action derivation: every attribute `derivation { … }` is called with, each a typed
/// [`Attr`] that both front ends resolve the same way (`nix/internal/instantiate.nix` in IFD mode,
/// [`register::derivation`] otherwise). A new attribute is a new entry here, made in
/// [`DrvPlan::new`]; neither front end knows attribute names, except the few Nix's `derivation`
/// itself treats specially (`name`, `system`, `builder`, `args`, `outputs`,
/// `__contentAddressed`), which [`register::derivation`] treats as Nix does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Template {
    pub attrs: BTreeMap<String, Attr>,
}

/// The value of one attribute of a per-action derivation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum Attr {
    /// A literal string (the action spec, `outputHashMode`, the name, …).
    String(String),
    /// A list of strings (`args`, `outputs`): a list in Nix, space-separated in the environment.
    Strings(Vec<String>),
    /// A boolean (`__contentAddressed`): `"1"` or `""` in the environment.
    Bool(bool),
    /// A toolchain input (`go`, `godrv`, …) with a path under it (`"${godrv}/bin/godrv"`); the
    /// attribute is left out when the toolchain has no such input (no C compiler, no module cache).
    Toolchain {
        input: ToolInput,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        path: String,
    },
    /// An output of another action of the plan, or a directory of it (a group member's).
    Dep(DepRef),
    /// A source set: the files of one package, as one store path.
    Src(SourceSet),
    /// A third-party module's own store path (a source path of the module cache's directory, or
    /// in lockfile mode the module's fixed-output derivation).
    Module(ModuleDir),
    /// C inputs (`buildInputs`): the user's when `user`, then those of each `packageOverrides`
    /// entry named, in this order; left out when that is none.
    CInputs {
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        user: bool,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        packages: Vec<String>,
    },
}

/// The inputs every derivation may get from the toolchain and the build's arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ToolInput {
    /// The Nix system (`x86_64-linux`): a string, not a path.
    System,
    Godrv,
    Go,
    /// The C compiler, when the toolchain has one.
    Cc,
    /// The whole module cache (vendorHash), when the build has one.
    Modcache,
}

impl Template {
    /// The derivation's name (its `name` attribute).
    pub fn name(&self) -> &str {
        match self.attrs.get("name") {
            Some(Attr::String(name)) => name,
            _ => "",
        }
    }

    /// Whether an attribute gets the toolchain input `input`.
    pub fn uses(&self, input: ToolInput) -> bool {
        self.attrs
            .values()
            .any(|a| matches!(a, Attr::Toolchain { input: i, .. } if *i == input))
    }

    /// The plan keys of the actions it depends on.
    pub fn deps(&self) -> impl Iterator<Item = &DepRef> {
        self.attrs.values().filter_map(|a| match a {
            Attr::Dep(dep) => Some(dep),
            _ => None,
        })
    }

    /// The source sets it reads.
    pub fn sources(&self) -> impl Iterator<Item = &SourceSet> {
        self.attrs.values().filter_map(|a| match a {
            Attr::Src(set) => Some(set),
            _ => None,
        })
    }

    /// The modules it reads, with their attribute names.
    pub fn modules(&self) -> impl Iterator<Item = (&String, &ModuleDir)> {
        self.attrs.iter().filter_map(|(attr, a)| match a {
            Attr::Module(m) => Some((attr, m)),
            _ => None,
        })
    }

    /// Its C inputs: whether the user's, and which `packageOverrides` entries'.
    pub fn c_inputs(&self) -> Option<(bool, &[String])> {
        self.attrs.values().find_map(|a| match a {
            Attr::CInputs { user, packages } => Some((*user, packages.as_slice())),
            _ => None,
        })
    }
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

/// The template of every planned action; `overrides`: the packages with `packageOverrides`
/// inputs (see [`Attr::CInputs`]).
fn templates(
    plan: &Plan,
    addressing: Addressing,
    overrides: &BTreeSet<String>,
) -> BTreeMap<String, Template> {
    plan.actions
        .iter()
        .map(|(key, action)| (key.clone(), template(action, addressing, overrides)))
        .collect()
}

/// The attributes of one action's derivation: the one place they are made.
fn template(
    action: &PlannedAction,
    addressing: Addressing,
    overrides: &BTreeSet<String>,
) -> Template {
    let mut attrs = BTreeMap::new();
    let mut put = |name: &str, value: Attr| {
        attrs.insert(name.to_string(), value);
    };
    let tool = |input: ToolInput, path: &str| Attr::Toolchain {
        input,
        path: path.to_string(),
    };
    put("name", Attr::String(action.name.clone()));
    put("system", tool(ToolInput::System, ""));
    put("builder", tool(ToolInput::Godrv, "/bin/godrv"));
    put("args", Attr::Strings(vec!["exec".to_string()]));
    put("goroot", tool(ToolInput::Go, ""));
    let spec_json = serde_json::to_string(&action.spec).expect("an action spec always serializes");
    put(spec::SPEC_ATTR, Attr::String(spec_json));
    if action.role == Role::Group {
        // A group's spec (all of std: ~1 MB) is more than one environment variable may hold
        // (Linux: 128 KiB): Nix writes it to a file and gives its path in `godrvActionPath`.
        put("passAsFile", Attr::String(spec::SPEC_ATTR.to_string()));
    }
    if addressing == Addressing::ContentAddressed {
        put("__contentAddressed", Attr::Bool(true));
        for (k, v) in ca_env() {
            put(k, Attr::String(v.to_string()));
        }
    }
    for (i, dep) in action.deps.iter().enumerate() {
        put(&spec::dep_attr(i), Attr::Dep(dep.clone()));
    }
    if action.outputs.len() > 1 {
        put("outputs", Attr::Strings(action.outputs.clone()));
    }
    if !action.sources.is_empty() {
        let base = match &action.package {
            Some(package) => package.as_str(),
            None if action.role == Role::Group => action.name.as_str(),
            None => "action",
        };
        let set = SourceSet::new(source_set_name(base), action.sources.clone());
        put("src", Attr::Src(set));
    }
    // A group's members' tools count as its own (`PlannedAction::tools`).
    let uses_c = action.tools.contains(&GoTool::Cgo);
    let cc = uses_c || action.role == Role::Link;
    if cc {
        put("cc", tool(ToolInput::Cc, ""));
    }
    if let Some(module) = &action.module {
        put("module", Attr::Module(ModuleDir::new(module)));
    }
    for (attr, dir) in &action.group_modules {
        put(attr, Attr::Module(ModuleDir::new(dir)));
    }
    if action.uses_modcache {
        put("modcache", tool(ToolInput::Modcache, ""));
    }
    // Standard-library packages never read the user's C libraries: they stay shared.
    let user_code = !action.sources.is_empty() || action.uses_modcache;
    let user = cc && (user_code || action.role == Role::Link);
    // packageOverrides' inputs go to the derivations that get C inputs at all: to the package's
    // own, and to every link (which reads the libraries).
    let packages = match (user, action.role) {
        (false, _) => Vec::new(),
        (true, Role::Link) => overrides.iter().cloned().collect(),
        (true, _) => action
            .package
            .iter()
            .filter(|p| overrides.contains(*p))
            .cloned()
            .collect(),
    };
    if user {
        put("buildInputs", Attr::CInputs { user, packages });
    }
    Template { attrs }
}

/// The plan as derivation templates: what every front end makes its derivations from
/// ([`register`] in dyn mode and `godrv build`; written as JSON for `nix/internal/instantiate.nix`
/// in IFD mode).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DrvPlan {
    pub version: u32,
    pub addressing: Addressing,
    pub top: String,
    pub actions: BTreeMap<String, Template>,
}

impl DrvPlan {
    /// The modules the plan's derivations read, each once.
    pub fn modules(&self) -> BTreeSet<&ModuleDir> {
        self.actions
            .values()
            .flat_map(|t| t.modules().map(|(_, m)| m))
            .collect()
    }

    /// The templates of `plan`'s actions; `overrides` are the packages with their own C inputs
    /// (`packageOverrides`), each of which must be a package of the plan that gets C inputs.
    pub fn new(
        plan: &Plan,
        addressing: Addressing,
        overrides: &BTreeSet<String>,
    ) -> Result<Self, UnknownPackage> {
        let actions = templates(plan, addressing, overrides);
        let with_c: BTreeSet<&str> = actions
            .iter()
            .filter(|(key, t)| {
                t.c_inputs().is_some_and(|(user, _)| user) && plan.actions[*key].role != Role::Link
            })
            .filter_map(|(key, _)| plan.actions[key].package.as_deref())
            .collect();
        if let Some(missing) = overrides.iter().find(|p| !with_c.contains(p.as_str())) {
            let known: Vec<&str> = with_c.iter().copied().collect();
            return Err(UnknownPackage(missing.clone(), known.join(", ")));
        }
        Ok(DrvPlan {
            version: contract().plan_version,
            addressing,
            top: plan.top.clone(),
            actions,
        })
    }
}

/// Reading a file to hash failed.
#[derive(Debug, thiserror::Error)]
#[error("hashing {path} for the plan: {source}")]
pub struct HashError {
    pub path: std::path::PathBuf,
    pub source: std::io::Error,
}

/// `io::Write` into a sha256.
struct HashWriter(sha2::Sha256);

impl std::io::Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        sha2::Digest::update(&mut self.0, buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The nixbase32 sha256 of what `write` writes.
fn nar_sha256(
    write: impl FnOnce(&mut HashWriter) -> std::io::Result<()>,
    path: &std::path::Path,
) -> Result<String, HashError> {
    Ok(nar_digest(write, path)?.0)
}

/// The sha256 of what `write` writes, as nixbase32 and as bytes.
fn nar_digest(
    write: impl FnOnce(&mut HashWriter) -> std::io::Result<()>,
    path: &std::path::Path,
) -> Result<(String, [u8; 32]), HashError> {
    let mut hasher = HashWriter(<sha2::Sha256 as sha2::Digest>::new());
    write(&mut hasher).map_err(|source| HashError {
        path: path.to_path_buf(),
        source,
    })?;
    let digest: [u8; 32] = sha2::Digest::finalize(hasher.0).into();
    Ok((godrv_derivation::nixbase32::encode(&digest), digest))
}

/// The sha256 of the NAR of the tree at `path` (nixbase32, and bytes).
pub fn nar_sha256_of_tree(path: &std::path::Path) -> Result<(String, [u8; 32]), HashError> {
    nar_digest(|w| godrv_derivation::nar::write_nar(path, w), path)
}

impl DrvPlan {
    /// Records the NAR sha256 of every source set (files under `src_root`) and, with a module
    /// cache, of every module directory the plan reads: the IFD front end gives them to
    /// `builtins.path`, which then only checks that the path is valid instead of walking `src`
    /// with a filter per package and hashing every module tree at every evaluation. The paths are
    /// the same (Nix checks the hash when it does add a path).
    ///
    /// A module in `known` (the module cache's [`module_dirs::KnownModules`]) takes its hash from
    /// there instead of hashing its tree.
    pub fn pin_hashes(
        &mut self,
        src_root: &std::path::Path,
        modcache: Option<&std::path::Path>,
        known: Option<&module_dirs::KnownModules>,
    ) -> Result<(), HashError> {
        let mut sets: BTreeMap<BTreeSet<String>, String> = BTreeMap::new();
        let mut modules: BTreeMap<String, String> = known
            .map(|k| {
                k.modules
                    .iter()
                    .map(|(dir, m)| (dir.clone(), m.sha256.clone()))
                    .collect()
            })
            .unwrap_or_default();
        for attr in self.actions.values_mut().flat_map(|t| t.attrs.values_mut()) {
            match attr {
                Attr::Src(set) => {
                    let hash = match sets.get(&set.files) {
                        Some(hash) => hash.clone(),
                        None => {
                            let hash = nar_sha256(
                                |w| {
                                    godrv_derivation::nar::write_nar_of_files(
                                        src_root,
                                        set.files.iter().map(String::as_str),
                                        w,
                                    )
                                },
                                src_root,
                            )?;
                            sets.insert(set.files.clone(), hash.clone());
                            hash
                        }
                    };
                    set.sha256 = Some(hash);
                }
                Attr::Module(module) => {
                    let Some(modcache) = modcache else { continue };
                    let hash = match modules.get(&module.dir) {
                        Some(hash) => hash.clone(),
                        None => {
                            let dir = modcache.join(&module.dir);
                            let hash =
                                nar_sha256(|w| godrv_derivation::nar::write_nar(&dir, w), &dir)?;
                            modules.insert(module.dir.clone(), hash.clone());
                            hash
                        }
                    };
                    module.sha256 = Some(hash);
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// `packageOverrides` names a package the build does not have.
#[derive(Debug, thiserror::Error)]
#[error(
    "packageOverrides: {0} is not a package of this build (packages with their own C code: {1})"
)]
pub struct UnknownPackage(pub String, pub String);

#[cfg(test)]
mod tests {
    use super::*;

    fn action(package: &str, role: Role, sources: &[&str], cgo: bool) -> PlannedAction {
        let argv = if cgo {
            vec!["$GOROOT/pkg/tool/linux_amd64/cgo".to_string()]
        } else {
            vec!["$GOROOT/pkg/tool/linux_amd64/compile".to_string()]
        };
        PlannedAction {
            name: format!("go-{package}"),
            package: Some(package.to_string()),
            role,
            deps: vec![],
            outputs: vec!["out".into()],
            sources: sources.iter().map(|s| s.to_string()).collect(),
            uses_modcache: false,
            module: None,
            group_modules: BTreeMap::new(),
            tools: [if cgo { GoTool::Cgo } else { GoTool::Compile }].into(),
            binaries: vec![],
            spec: spec::ActionSpec {
                steps: vec![spec::ExecStep::Run {
                    cwd: "$WORK".into(),
                    env: vec![],
                    argv,
                    ignore_failure: false,
                }],
                deps: 0,
                keep: vec![],
                forbid_goroot_reference: false,
                members: Default::default(),
            },
        }
    }

    /// C inputs go to user cgo packages and links only; a packageOverrides entry only to its
    /// package (and the links); an entry for a package without C code is an error naming it.
    #[test]
    fn c_inputs_reach_user_cgo_packages_and_links() {
        let plan = Plan {
            actions: BTreeMap::from([
                ("b1".into(), action("runtime/cgo", Role::Compile, &[], true)),
                (
                    "b2".into(),
                    action("example.com/x/a", Role::Compile, &["a/a.go"], true),
                ),
                (
                    "b3".into(),
                    action("example.com/x/b", Role::Compile, &["b/b.go"], true),
                ),
                (
                    "b4".into(),
                    action("example.com/x/c", Role::Compile, &["c/c.go"], false),
                ),
                ("b5".into(), action("example.com/x", Role::Link, &[], false)),
            ]),
            top: "b5".into(),
        };
        let none = DrvPlan::new(&plan, Addressing::ContentAddressed, &BTreeSet::new()).unwrap();
        let inputs: Vec<bool> = none
            .actions
            .values()
            .map(|t| t.c_inputs().is_some_and(|(user, _)| user))
            .collect();
        assert_eq!(inputs, [false, true, true, false, true]);
        assert!(none
            .actions
            .values()
            .all(|t| t.c_inputs().is_none_or(|(_, p)| p.is_empty())));
        let a = ["example.com/x/a".to_string()];
        let ifd = DrvPlan::new(&plan, Addressing::ContentAddressed, &a.clone().into()).unwrap();
        let packages: Vec<&[String]> = ifd
            .actions
            .values()
            .map(|t| t.c_inputs().map_or(&[][..], |(_, p)| p))
            .collect();
        assert_eq!(packages, [&[][..], &a, &[], &[], &a]);
        let c = ["example.com/x/c".to_string()].into();
        let err = DrvPlan::new(&plan, Addressing::ContentAddressed, &c)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("example.com/x/c is not a package of this build")
                && err.contains("example.com/x/a, example.com/x/b"),
            "{err}"
        );
    }

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
