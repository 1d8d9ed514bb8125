//! Resolve templates into derivations and write them to a Nix store (dynamic-derivation mode and
//! `godrv build`).
//!
//! Derivations are written in dependency order; each one's `.drv` path is needed by its dependents
//! (as an input, and through the placeholder of its content-addressed output).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use godrv_derivation::{
    make_source_path, upstream_placeholder, ContentAddressMethod, Derivation, DrvHash, HashAlgo,
    Output, StoreDir, StorePath,
};

use crate::module_dirs::KnownModules;
use crate::{Addressing, Attr, DrvPlan, InputRef, ModuleDir, SourceSet, Template, ToolInput};

/// Why registering failed.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error("`{command}` failed ({status}): {stderr}")]
    Nix {
        command: String,
        status: String,
        stderr: String,
    },
    #[error("could not run {program}: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("`{command}` printed {output:?}, not a store path")]
    NotAStorePath { command: String, output: String },
    #[error(transparent)]
    Derivation(#[from] godrv_derivation::DerivationError),
    #[error(transparent)]
    StorePath(#[from] godrv_derivation::StorePathError),
    #[error("input-addressed derivations need the drv hash of {0}, a toolchain derivation; use content addressing")]
    UnknownInputHash(String),
    #[error("plan action {0} reads the module {1}, which the module inputs do not have")]
    MissingModule(String, String),
    #[error("plan action {0} depends on {1}, which the plan does not have")]
    MissingDependency(String, String),
    #[error("{name}: {attr} = {value:?} is not a value godrv can write a derivation with (Nix's `derivation` may; extend register::derivation)")]
    Attribute {
        name: String,
        attr: String,
        value: String,
    },
    #[error(transparent)]
    Daemon(#[from] godrv_store::StoreError),
}

/// Where derivations and sources go.
pub trait Store {
    /// Adds a directory as a source path named `name`; returns its absolute store path.
    fn add_source(&mut self, name: &str, dir: &Path) -> Result<String, RegisterError>;
    /// Adds the files of `set` (relative to `src_root`) as one source path, by default by copying
    /// them into `scratch/<name>` and calling [`Store::add_source`].
    fn add_source_set(
        &mut self,
        set: &SourceSet,
        src_root: &Path,
        scratch: &Path,
    ) -> Result<String, RegisterError> {
        stage_source_set(self, set, src_root, scratch)
    }
    /// Writes a derivation (or queues it: see [`Store::finish`]); returns its `.drv` path.
    fn add_derivation(&mut self, drv: &Derivation) -> Result<StorePath, RegisterError>;
    /// Writes what is queued; [`register`] calls it last.
    fn finish(&mut self) -> Result<(), RegisterError> {
        Ok(())
    }
}

/// The `nix` command line (`nix store add`, `nix derivation add`).
pub struct NixCli {
    pub nix: PathBuf,
}

impl NixCli {
    fn run(&self, args: &[&str], stdin: Option<&[u8]>) -> Result<String, RegisterError> {
        let command = format!("{} {}", self.nix.display(), args.join(" "));
        let mut child = Command::new(&self.nix)
            .args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| RegisterError::Spawn {
                program: self.nix.display().to_string(),
                source,
            })?;
        if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(input).map_err(|source| RegisterError::Io {
                what: "writing to",
                path: self.nix.clone(),
                source,
            })?;
        }
        let output = child
            .wait_with_output()
            .map_err(|source| RegisterError::Spawn {
                program: self.nix.display().to_string(),
                source,
            })?;
        if !output.status.success() {
            return Err(RegisterError::Nix {
                command,
                status: output.status.to_string(),
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
            });
        }
        let stdout = String::from_utf8_lossy(&output.stdout).trim().to_string();
        if !stdout.starts_with('/') {
            return Err(RegisterError::NotAStorePath {
                command,
                output: stdout,
            });
        }
        Ok(stdout)
    }
}

impl Store for NixCli {
    fn add_source(&mut self, name: &str, dir: &Path) -> Result<String, RegisterError> {
        self.run(
            &["store", "add", "--name", name, &dir.to_string_lossy()],
            None,
        )
    }

    fn add_derivation(&mut self, drv: &Derivation) -> Result<StorePath, RegisterError> {
        let json = serde_json::to_vec(drv).expect("a derivation always serializes");
        let path = self.run(&["derivation", "add"], Some(&json))?;
        Ok(StorePath::from_absolute_path(&path)?)
    }
}

/// A derivation already written.
#[derive(Clone, Debug)]
pub struct Registered {
    pub drv: StorePath,
    hash: DrvHash,
    /// Output paths, when known before building (input-addressed).
    outputs: BTreeMap<String, String>,
}

/// The toolchain and other inputs every derivation may get.
#[derive(Clone, Debug)]
pub struct Toolchain {
    pub system: String,
    pub godrv: InputRef,
    pub go: InputRef,
    pub cc: Option<InputRef>,
    pub modcache: Option<InputRef>,
    /// The user's C inputs (`buildInputs`, `nativeBuildInputs`), given to the templates whose
    /// `Attr::CInputs` has `user`.
    pub inputs: Vec<InputRef>,
    /// The inputs of each `packageOverrides` entry, given to the templates that name it in
    /// `Attr::CInputs::packages` (after the user's).
    pub package_inputs: BTreeMap<String, Vec<InputRef>>,
    /// The store path of each module directory (`example.com/greet@v1.1.0`) the plan reads: a
    /// source path added from the module cache (vendorHash), or a per-module fixed-output
    /// derivation (lockfile).
    pub modules: BTreeMap<String, InputRef>,
    /// Modulo hashes of input derivations godrv did not write (the module cache's fixed-output
    /// derivation, a toolchain from nixpkgs), keyed by `.drv` path; see
    /// [`godrv_derivation::hash_modulo_all`].
    pub input_hashes: BTreeMap<StorePath, DrvHash>,
    /// Source sets already in the store that are inputs of the planner (dyn mode: the main
    /// module's package directories, computed while evaluating by
    /// `nix/internal/sourceSets.nix`), as absolute store paths. A set of the plan whose path is
    /// one of these is not added again (inside recursive Nix every path added costs Nix a
    /// process, even one valid outside); any other set is added as usual, so a set computed
    /// differently only costs an add. Empty: every set is added.
    pub source_sets: BTreeSet<String>,
}

/// What [`register`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registration {
    /// The top derivation's `.drv` path.
    pub top: StorePath,
    /// Every action's `.drv` path, by plan key.
    pub drvs: BTreeMap<String, StorePath>,
    /// The plan's distinct source sets.
    pub source_sets: usize,
    /// Of them, those found among [`Toolchain::source_sets`]: not added.
    pub source_sets_given: usize,
}

/// Writes every derivation of `plan` to `store`; returns the `.drv` path of the top one and how
/// many source sets were given ([`Toolchain::source_sets`]).
///
/// `src_root` is the user's source tree; `scratch` an empty directory for staging source sets.
pub fn register(
    plan: &DrvPlan,
    toolchain: &Toolchain,
    src_root: &Path,
    scratch: &Path,
    store: &mut dyn Store,
) -> Result<Registration, RegisterError> {
    let (drvs, source_sets, source_sets_given) = register_actions(
        &plan.actions,
        plan.addressing,
        std::slice::from_ref(&plan.top),
        toolchain,
        src_root,
        scratch,
        store,
    )?;
    Ok(Registration {
        top: drvs[&plan.top].clone(),
        drvs,
        source_sets,
        source_sets_given,
    })
}

/// Writes the derivations of `roots` and of every action they depend on (`actions`, the
/// templates of a plan or of a part of one: [`crate::module_groups::ModuleGroupsPlan`]) to
/// `store`, then [`Store::finish`]; returns each one's `.drv` path by plan key, the number of
/// distinct source sets and how many of them were given ([`Toolchain::source_sets`]).
pub fn register_actions(
    actions: &BTreeMap<String, Template>,
    addressing: Addressing,
    roots: &[String],
    toolchain: &Toolchain,
    src_root: &Path,
    scratch: &Path,
    store: &mut dyn Store,
) -> Result<(BTreeMap<String, StorePath>, usize, usize), RegisterError> {
    let store_dir = StoreDir::default();
    let mut done: BTreeMap<String, Registered> = BTreeMap::new();
    let mut sources: BTreeMap<SourceSet, String> = BTreeMap::new();
    let mut given = 0;
    for key in order(actions, roots)? {
        let template = &actions[&key];
        for set in template.sources() {
            if !sources.contains_key(set) {
                let path = match given_source_set(&store_dir, set, src_root, toolchain)? {
                    Some(path) => {
                        given += 1;
                        path
                    }
                    None => store.add_source_set(set, src_root, scratch)?,
                };
                sources.insert(set.clone(), path);
            }
        }
        let mut drv = derivation(template, toolchain, &sources, &done)?;
        let mut input_hashes = toolchain.input_hashes.clone();
        input_hashes.extend(
            template
                .deps()
                .map(|dep| (done[&dep.key].drv.clone(), done[&dep.key].hash.clone())),
        );
        if addressing == Addressing::InputAddressed {
            if let Some(unknown) = drv
                .inputs
                .drvs
                .keys()
                .find(|p| !input_hashes.contains_key(*p))
            {
                return Err(RegisterError::UnknownInputHash(unknown.to_absolute()));
            }
        }
        let hash = drv.fill_input_addressed_outputs(&store_dir, &input_hashes)?;
        let outputs = drv
            .outputs
            .iter()
            .filter_map(|(name, output)| match output {
                Output::InputAddressed { path } => Some((name.clone(), path.to_absolute())),
                _ => None,
            })
            .collect();
        let path = store.add_derivation(&drv)?;
        done.insert(
            key,
            Registered {
                drv: path,
                hash,
                outputs,
            },
        );
    }
    store.finish()?;
    let drvs = done.into_iter().map(|(key, r)| (key, r.drv)).collect();
    Ok((drvs, sources.len(), given))
}

/// The path of `set` if it is one of the source sets the toolchain names as given (in the store
/// already); `None` if it is not, or none are given (then nothing is hashed here).
fn given_source_set(
    store_dir: &StoreDir,
    set: &SourceSet,
    src_root: &Path,
    toolchain: &Toolchain,
) -> Result<Option<String>, RegisterError> {
    if toolchain.source_sets.is_empty() {
        return Ok(None);
    }
    let (_, digest) = crate::nar_digest(
        |w| {
            godrv_derivation::nar::write_nar_of_files(
                src_root,
                set.files.iter().map(String::as_str),
                w,
            )
        },
        src_root,
    )
    .map_err(|e| RegisterError::Io {
        what: "serializing the source set from",
        path: e.path,
        source: e.source,
    })?;
    let path = store_dir.display_path(&make_source_path(
        store_dir,
        &set.name,
        &digest,
        &BTreeSet::new(),
    )?);
    Ok(toolchain.source_sets.contains(&path).then_some(path))
}

/// The keys of `roots` and of every action they depend on, dependencies first.
fn order(
    actions: &BTreeMap<String, Template>,
    roots: &[String],
) -> Result<Vec<String>, RegisterError> {
    fn visit(
        actions: &BTreeMap<String, Template>,
        key: &str,
        seen: &mut BTreeSet<String>,
        out: &mut Vec<String>,
    ) -> Result<(), RegisterError> {
        if !seen.insert(key.to_string()) {
            return Ok(());
        }
        for dep in actions[key].deps() {
            if !actions.contains_key(&dep.key) {
                return Err(RegisterError::MissingDependency(
                    key.to_string(),
                    dep.key.clone(),
                ));
            }
            visit(actions, &dep.key, seen, out)?;
        }
        out.push(key.to_string());
        Ok(())
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for root in roots {
        if !actions.contains_key(root) {
            return Err(RegisterError::MissingDependency(
                "the registration".to_string(),
                root.clone(),
            ));
        }
        visit(actions, root, &mut seen, &mut out)?;
    }
    Ok(out)
}

/// Adds every module directory of `modules` (those a plan reads: [`DrvPlan::modules`]) from the
/// module cache `modcache` to `store`, each as its own source path (same content, same path:
/// bumping one module leaves the others' paths and the derivations reading them unchanged). Returns directory → input. A module in `known` (the
/// module cache's directories added ahead, an input of the planner) is taken from there: its
/// tree is neither hashed nor added again.
pub fn add_modules<'a>(
    modules: impl IntoIterator<Item = &'a ModuleDir>,
    modcache: &Path,
    known: Option<&KnownModules>,
    store: &mut dyn Store,
) -> Result<BTreeMap<String, InputRef>, RegisterError> {
    modules
        .into_iter()
        .map(|module| {
            let path = match known.and_then(|k| k.modules.get(&module.dir)) {
                Some(known) => known.path.clone(),
                None => store.add_source(&module.name, &modcache.join(&module.dir))?,
            };
            Ok((
                module.dir.clone(),
                InputRef {
                    path,
                    drv: None,
                    output: None,
                },
            ))
        })
        .collect()
}

/// Copies the files of a source set into `scratch` and adds the copy to the store.
fn stage_source_set<S: Store + ?Sized>(
    store: &mut S,
    set: &SourceSet,
    src_root: &Path,
    scratch: &Path,
) -> Result<String, RegisterError> {
    let stage = scratch.join(&set.name);
    let io = |what, path: &Path| {
        let path = path.to_path_buf();
        move |source| RegisterError::Io { what, path, source }
    };
    if stage.exists() {
        fs::remove_dir_all(&stage).map_err(io("removing", &stage))?;
    }
    for file in &set.files {
        let (from, to) = (src_root.join(file), stage.join(file));
        if let Some(dir) = to.parent() {
            fs::create_dir_all(dir).map_err(io("creating", dir))?;
        }
        fs::copy(&from, &to).map_err(io("copying", &from))?;
    }
    let path = store.add_source(&set.name, &stage)?;
    fs::remove_dir_all(&stage).map_err(io("removing", &stage))?;
    Ok(path)
}

/// The derivation of one template, its attributes resolved as `nix/internal/instantiate.nix`
/// resolves them and written as Nix's `derivation` writes them: `name`, `system` and `builder` are
/// also the derivation's own, `args` only its own, `outputs` names its outputs, and
/// `__contentAddressed` makes them floating content-addressed (`outputHashMode`,
/// `outputHashAlgo`) instead of input-addressed; every other attribute is an environment
/// variable. `sources` holds the store path of each source set. Output paths are not filled in.
pub fn derivation(
    template: &Template,
    toolchain: &Toolchain,
    sources: &BTreeMap<SourceSet, String>,
    done: &BTreeMap<String, Registered>,
) -> Result<Derivation, RegisterError> {
    let name = template.name();
    let mut drv = Derivation::default();
    let mut outputs = vec!["out".to_string()];
    let mut content_addressed = false;
    for (attr, value) in &template.attrs {
        let value = match value {
            Attr::String(s) => s.clone(),
            Attr::Bool(b) if attr == "__contentAddressed" => {
                content_addressed = *b;
                continue;
            }
            // As Nix coerces a boolean to a string.
            Attr::Bool(b) => if *b { "1" } else { "" }.to_string(),
            Attr::Strings(list) if attr == "args" => {
                drv.args = list.clone();
                continue;
            }
            Attr::Strings(list) => {
                if attr == "outputs" {
                    outputs = list.clone();
                }
                list.join(" ")
            }
            Attr::Toolchain { input, path } => {
                let input = match input {
                    ToolInput::System => Some(InputRef {
                        path: toolchain.system.clone(),
                        drv: None,
                        output: None,
                    }),
                    ToolInput::Godrv => Some(toolchain.godrv.clone()),
                    ToolInput::Go => Some(toolchain.go.clone()),
                    ToolInput::Cc => toolchain.cc.clone(),
                    ToolInput::Modcache => toolchain.modcache.clone(),
                };
                match input {
                    Some(input) => format!("{}{path}", add_input(&mut drv, &input)?),
                    None => continue,
                }
            }
            Attr::Dep(dep_ref) => {
                let dep = done.get(&dep_ref.key).ok_or_else(|| {
                    RegisterError::MissingDependency(name.to_string(), dep_ref.key.clone())
                })?;
                drv.inputs
                    .drvs
                    .entry(dep.drv.clone())
                    .or_default()
                    .outputs
                    .insert(dep_ref.output.clone());
                let value = match dep.outputs.get(&dep_ref.output) {
                    Some(path) => path.clone(),
                    None => upstream_placeholder(&dep.drv, &dep_ref.output),
                };
                match &dep_ref.dir {
                    // A directory of a group's output: `"${group.out}/<dir>"` in Nix.
                    Some(dir) => format!("{value}/{dir}"),
                    None => value,
                }
            }
            Attr::Src(set) => {
                let path = sources
                    .get(set)
                    .expect("register adds every source set before its derivation");
                add_input(
                    &mut drv,
                    &InputRef {
                        path: path.clone(),
                        drv: None,
                        output: None,
                    },
                )?
            }
            Attr::Module(module) => {
                let input = toolchain.modules.get(&module.dir).ok_or_else(|| {
                    RegisterError::MissingModule(name.to_string(), module.dir.clone())
                })?;
                add_input(&mut drv, input)?
            }
            Attr::CInputs { user, packages } => {
                let mut inputs: Vec<&InputRef> = Vec::new();
                if *user {
                    inputs.extend(&toolchain.inputs);
                }
                for package in packages {
                    inputs.extend(toolchain.package_inputs.get(package).into_iter().flatten());
                }
                if inputs.is_empty() {
                    continue;
                }
                // As `derivation { buildInputs = [ … ]; }` writes a list: space-separated.
                let paths = inputs
                    .into_iter()
                    .map(|input| add_input(&mut drv, input))
                    .collect::<Result<Vec<_>, _>>()?;
                paths.join(" ")
            }
        };
        match attr.as_str() {
            "name" => drv.name = value.clone(),
            "system" => drv.system = value.clone(),
            "builder" => drv.builder = value.clone(),
            _ => {}
        }
        drv.env.insert(attr.clone(), value);
    }
    let output = if content_addressed {
        let unsupported = |attr: &str| RegisterError::Attribute {
            name: name.to_string(),
            attr: attr.to_string(),
            value: drv.env.get(attr).cloned().unwrap_or_default(),
        };
        let method = match drv.env.get("outputHashMode").map(String::as_str) {
            Some("recursive" | "nar") => ContentAddressMethod::Nar,
            Some("flat") | None => ContentAddressMethod::Flat,
            Some(_) => return Err(unsupported("outputHashMode")),
        };
        let hash_algo = match drv.env.get("outputHashAlgo").map(|a| a.parse::<HashAlgo>()) {
            Some(Ok(algo)) => algo,
            _ => return Err(unsupported("outputHashAlgo")),
        };
        Output::CaFloating { method, hash_algo }
    } else {
        Output::Deferred
    };
    for out in outputs {
        drv.outputs.insert(out, output.clone());
    }
    Ok(drv)
}

/// Records an input's store path as an input source or input derivation output; returns the path.
fn add_input(drv: &mut Derivation, input: &InputRef) -> Result<String, RegisterError> {
    match &input.drv {
        Some(drv_path) => {
            let drv_path = StorePath::from_absolute_path(drv_path)?;
            let output = input.output.clone().unwrap_or_else(|| "out".to_string());
            drv.inputs
                .drvs
                .entry(drv_path)
                .or_default()
                .outputs
                .insert(output);
        }
        None => {
            // Store paths are inputs; host prefixes (`/usr` on a machine without nixpkgs) are not.
            if let Some(store_path) = store_path_of(&input.path) {
                drv.inputs
                    .srcs
                    .insert(StorePath::from_absolute_path(&store_path)?);
            }
        }
    }
    Ok(input.path.clone())
}

/// The store path a path is in (`/nix/store/xxx-go/bin` → `/nix/store/xxx-go`).
fn store_path_of(path: &str) -> Option<String> {
    let rest = path.strip_prefix("/nix/store/")?;
    let name = rest.split('/').next()?;
    Some(format!("/nix/store/{name}"))
}
