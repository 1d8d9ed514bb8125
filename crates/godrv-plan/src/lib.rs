//! Turn a go action graph into one derivation spec per action.
//!
//! The planner takes the [`ActionGraph`] that `godrv-script` parsed and produces a [`Plan`]: one
//! [`PlannedAction`] per derivation. Each carries a canonical [`ActionSpec`] (see [`spec`]) that
//! `godrv exec` replays, the planned actions it depends on, and the source files it reads.
//!
//! Rules:
//! - An action whose directory holds both the main package's compile and the link (go puts both in
//!   `$WORK/b001`) is split at the step that writes `importcfg.link`: the compile stays cached when
//!   only link flags change.
//! - `-buildid` flags of `compile` and `link` and `buildid -w` steps are dropped (they embed the IDs
//!   of every dependency and would defeat caching); the link gets `-buildid=`, as
//!   `go build -ldflags=-buildid=` does.
//! - The final `mv`/`cp` of a binary out of `$WORK` writes `$OUT/bin/<name>`; the `rm -rf` of the
//!   link's directory after it is dropped.
//! - A package's source set is every regular file of the directories its sources are in (C headers
//!   are never named by the script) plus the files it names elsewhere (embedded files).

pub mod cc;
pub mod gotest;
pub mod group;
pub mod host;
pub mod pkgconfig;
pub mod rewrite;
pub mod spec;
pub mod text;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use godrv_script::{Action, ActionGraph, ActionId, ActionKind, Command, Step};
use serde::{Deserialize, Serialize};

pub use godrv_script::GoTool;
use rewrite::{to_spec_text, work_refs, PrefixMap};
pub use spec::{ActionSpec, ExecStep};
use text::Token;

/// The directories that a script names and that a derivation gets as inputs.
#[derive(Clone, Debug)]
pub struct Roots {
    /// Root of the user's source tree (`$SRC`); the start directory is inside it (`modRoot`).
    pub src_root: PathBuf,
    /// GOROOT of the toolchain that printed the script.
    pub goroot: PathBuf,
    /// Module cache (GOMODCACHE) the script read third-party modules from, if any.
    pub modcache: Option<PathBuf>,
}

/// Planner settings: everything that shapes the plan besides the script, so that a plan is
/// finished when [`plan`], [`plan_library`] or [`gotest::plan_tests`] returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanOptions {
    /// Compile each package into export data (output `out`, what dependent compiles read) and a
    /// link object (output `link`, what the link reads). A change that leaves the export data the
    /// same then rebuilds no dependent compile (early cutoff with content addressing).
    pub split_link_objects: bool,
    /// Variables added to the environment of every command (unless it sets them): those go gives
    /// its tools without printing them in `go build -n` (`GOOS`, `GOARCH`, `GOARM`,
    /// `GOEXPERIMENT`, …), which `compile`, `asm` and `link` read, so a cross build needs them in
    /// every step.
    pub tool_env: Vec<(String, String)>,
    /// Every link of the build fails if its output names the Go toolchain (buildGoModule's
    /// `allowGoReference = false`). Not the test links of [`gotest::plan_tests`].
    pub forbid_goroot_references: bool,
    /// Binaries go to `$OUT/bin/<subdir>/` instead of `$OUT/bin/` (cross builds:
    /// `bin/<goos>_<goarch>/`, as buildGoModule does).
    pub bin_subdir: Option<String>,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            split_link_objects: true,
            tool_env: Vec::new(),
            forbid_goroot_references: false,
            bin_subdir: None,
        }
    }
}

/// A dependency: a planned action's output, or one directory of it (a group's output holds one
/// directory per member: see [`group`]).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DepRef {
    pub key: String,
    pub output: String,
    /// The directory inside the output (a group member's import path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir: Option<String>,
}

/// The role of a planned action in the build.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Compile,
    Link,
    /// Gathers the binaries of several links into one output.
    Bundle,
    /// Runs a test binary (see [`gotest`]).
    Test,
    Other,
    /// Several actions built by one derivation (see [`group`]).
    Group,
}

/// One derivation of the plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedAction {
    /// Derivation name.
    pub name: String,
    /// Import path of the package, if the action builds one.
    pub package: Option<String>,
    pub role: Role,
    /// The outputs linked at `$WORK/b002`, `$WORK/b003`, … (in this order).
    pub deps: Vec<DepRef>,
    /// The derivation's outputs: `["out"]`, or `["link", "out"]` for a split compile.
    pub outputs: Vec<String>,
    /// Source files relative to the start directory (empty: the action reads no user source).
    pub sources: BTreeSet<String>,
    /// The module directory the action reads, relative to the module cache
    /// (`example.com/greet@v1.1.0`, as go escapes it): its store path is the `module` attribute and
    /// the `$MODULE` token. Every package belongs to one module, so a compile reads at most one.
    pub module: Option<String>,
    /// A group of several modules (an import cycle between them): each module directory by the
    /// attribute that holds its store path (`module0`, `module1`, …; see
    /// [`spec::Member::module`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub group_modules: BTreeMap<String, String>,
    /// The programs of Go's toolchain its steps run, as the parser found them
    /// ([`godrv_script::Action::tools`]; a group: its members'). The front ends give the C
    /// compiler to an action that runs `cgo`. Serialized, so a plan read back (std's plan from
    /// std's group planner) gives its actions the same C compiler; not part of what makes two
    /// actions the same derivation (`gotest`'s merge leaves it out): go's build and test scripts
    /// differ in tools the plan drops (`buildid`).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub tools: BTreeSet<GoTool>,
    /// The action refers to the module cache outside its own module directory (`$MODCACHE`): it
    /// gets the whole cache. Go's scripts never do this; kept so such a script still builds.
    pub uses_modcache: bool,
    /// Names of the binaries it writes to `$OUT/bin`.
    pub binaries: Vec<String>,
    /// What `godrv exec` replays.
    pub spec: ActionSpec,
}

/// Every derivation of one build, keyed by a plan-local key (`b005`, `b001-link`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub actions: BTreeMap<String, PlannedAction>,
    /// Key of the action whose output is the build's result.
    pub top: String,
}

impl Plan {
    /// Applies `options`' tool environment, GOROOT check and binary directory (the last steps
    /// of planning).
    fn finish(&mut self, options: &PlanOptions, forbid_goroot_references: bool) {
        self.add_tool_env(&options.tool_env);
        if forbid_goroot_references {
            self.forbid_goroot_references();
        }
        if let Some(subdir) = &options.bin_subdir {
            self.put_binaries_in(subdir);
        }
    }

    /// Adds `vars` to the environment of every command (see [`PlanOptions::tool_env`]).
    fn add_tool_env(&mut self, vars: &[(String, String)]) {
        for action in self.actions.values_mut() {
            for step in &mut action.spec.steps {
                if let ExecStep::Run { env, .. } = step {
                    for (name, value) in vars {
                        if !env.iter().any(|(n, _)| n == name) {
                            env.push((name.clone(), text::escape(value).into_owned()));
                        }
                    }
                }
            }
        }
    }

    /// Makes every link fail if its output names the Go toolchain (buildGoModule's
    /// `allowGoReference = false`).
    fn forbid_goroot_references(&mut self) {
        for action in self.actions.values_mut() {
            if action.role == Role::Link {
                action.spec.forbid_goroot_reference = true;
            }
        }
    }

    /// Puts every binary in `$OUT/bin/<subdir>/` instead of `$OUT/bin/` (cross builds:
    /// `bin/<goos>_<goarch>/`, as buildGoModule does).
    fn put_binaries_in(&mut self, subdir: &str) {
        let bin = "$OUT/bin/";
        let (name_dir, subdir) = (subdir, text::escape(subdir));
        for action in self.actions.values_mut() {
            let bundle = action.role == Role::Bundle;
            for step in &mut action.spec.steps {
                if let ExecStep::Move { from, to } | ExecStep::Copy { from, to } = step {
                    if let Some(name) = to.strip_prefix(bin) {
                        *to = format!("{bin}{subdir}/{name}");
                        if bundle {
                            if let Some((dep, name)) = from.rsplit_once("/bin/") {
                                *from = format!("{dep}/bin/{subdir}/{name}");
                            }
                        }
                    }
                }
            }
            for name in &mut action.binaries {
                *name = format!("{name_dir}/{name}");
            }
        }
    }
}

/// Why a graph cannot be planned.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("action {action} reads {path}, which is neither in the source tree {src_root}, in GOROOT, nor in the module cache")]
    ForeignSource {
        action: ActionId,
        path: PathBuf,
        src_root: PathBuf,
    },
    #[error("action {action} refers to $WORK/b{target:03}, which no action of the script creates")]
    UnknownWorkDir { action: ActionId, target: u32 },
    #[error("the script builds no binary (no `mv`/`cp` of a link output out of $WORK)")]
    NoBinary,
    #[error("reading the source directory {dir}: {source}")]
    ReadDir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("action {action} runs a command with an empty argv")]
    EmptyCommand { action: ActionId },
    #[error("action {action} compiles $WORK/{action}/_testmain.go, but go wrote no _testmain.go there (is the `go test -c -work` run from the same go, flags and packages as the `go test -c -n` script?)")]
    MissingTestmain { action: ActionId },
    #[error("the test script links a test binary of {package}, which is not among the packages whose tests were asked for")]
    UnknownTestedPackage { package: String },
    #[error("checkData.\"{package}\": {path} is not a path inside the source tree (give paths relative to modRoot; `..` may go up to the root of src, not above it)")]
    CheckDataOutside { package: String, path: String },
    #[error("checkData.\"{package}\": {path} cannot be read: {source}")]
    CheckDataMissing {
        package: String,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("checkData names {package}, which is not a package whose tests this build runs (those are: {tested}); the key is an import path, or \"*\" for every package")]
    CheckDataPackage { package: String, tested: String },
}

/// One part of a script action: the whole action, or its compile or link half.
struct Part<'a> {
    key: String,
    action: &'a Action,
    steps: &'a [Step],
    role: Role,
    /// Paths inside the action's own directory that this part writes (link half only).
    own_paths: BTreeSet<String>,
}

/// Plans every action of `graph`; the top action is the program's link (several: a bundle of
/// their binaries).
pub fn plan(graph: &ActionGraph, roots: &Roots, options: &PlanOptions) -> Result<Plan, PlanError> {
    let mut plan = unfinished_plan(graph, roots, options)?;
    plan.finish(options, options.forbid_goroot_references);
    Ok(plan)
}

/// [`plan`] without [`Plan::finish`].
fn unfinished_plan(
    graph: &ActionGraph,
    roots: &Roots,
    options: &PlanOptions,
) -> Result<Plan, PlanError> {
    let (mut actions, mut tops) = plan_actions(graph, roots, options)?;
    let top = match tops.len() {
        0 => return Err(PlanError::NoBinary),
        1 => tops.remove(0),
        _ => {
            let bundle = bundle_action(&actions, &tops);
            actions.insert("bundle".to_string(), bundle);
            "bundle".to_string()
        }
    };
    Ok(Plan { actions, top })
}

/// Key of the top action of [`plan_library`].
pub const LIBRARY_TOP: &str = "library";

/// Plans every action of a script that builds packages and no binary (`go build -n std`): the top
/// action, named `name`, depends on every action no other action depends on, so the plan's
/// closure is every action. Building it builds every package; its use is to register them all.
pub fn plan_library(
    graph: &ActionGraph,
    roots: &Roots,
    options: &PlanOptions,
    name: &str,
) -> Result<Plan, PlanError> {
    let (mut actions, _) = plan_actions(graph, roots, options)?;
    let used: BTreeSet<&String> = actions
        .values()
        .flat_map(|a| a.deps.iter().map(|d| &d.key))
        .collect();
    let leaves: Vec<String> = actions
        .keys()
        .filter(|k| !used.contains(k))
        .cloned()
        .collect();
    let mkdir = ExecStep::Mkdir {
        path: "$OUT".to_string(),
    };
    let top = gathering_action(name, &leaves, vec![mkdir], Vec::new());
    actions.insert(LIBRARY_TOP.to_string(), top);
    let mut plan = Plan {
        actions,
        top: LIBRARY_TOP.to_string(),
    };
    plan.finish(options, options.forbid_goroot_references);
    Ok(plan)
}

/// The planned actions of `graph` and the keys of those that link a binary.
fn plan_actions(
    graph: &ActionGraph,
    roots: &Roots,
    options: &PlanOptions,
) -> Result<(BTreeMap<String, PlannedAction>, Vec<String>), PlanError> {
    let mut prefixes = PrefixMap::default();
    prefixes.add(&roots.goroot, Token::Goroot);
    prefixes.add(&roots.src_root, Token::Src);
    if let Some(modcache) = &roots.modcache {
        prefixes.add(modcache, Token::Modcache);
    }

    let parts = split_actions(graph);
    let by_action: BTreeMap<ActionId, Vec<usize>> =
        parts
            .iter()
            .enumerate()
            .fold(BTreeMap::new(), |mut m, (i, p)| {
                m.entry(p.action.id).or_default().push(i);
                m
            });

    // Pass 1: which part does each `$WORK/bNNN/path` reference of each part resolve to?
    let resolve = |from: usize, action: u32, path: &str| -> Result<usize, PlanError> {
        let id = ActionId(action);
        let candidates = by_action.get(&id).ok_or(PlanError::UnknownWorkDir {
            action: parts[from].action.id,
            target: action,
        })?;
        if candidates.contains(&from) && (candidates.len() == 1 || parts[from].owns(path)) {
            return Ok(from);
        }
        Ok(candidates[0])
    };
    let split: BTreeSet<usize> = if options.split_link_objects {
        (0..parts.len())
            .filter(|i| parts[*i].compiles_archive())
            .collect()
    } else {
        BTreeSet::new()
    };
    // Which output of the target a reference reads: a link reads a split compile's link object.
    let output_for = |from: usize, target: usize, path: &str| -> &'static str {
        if split.contains(&target) && path == ARCHIVE && parts[from].role == Role::Link {
            spec::LINK_OUTPUT
        } else {
            spec::OUT_OUTPUT
        }
    };
    let mut deps: Vec<BTreeSet<(usize, &'static str)>> = vec![BTreeSet::new(); parts.len()];
    let mut keep: Vec<BTreeSet<(&'static str, String)>> = vec![BTreeSet::new(); parts.len()];
    for (i, part) in parts.iter().enumerate() {
        for text in part.steps.iter().flat_map(step_strings) {
            for r in work_refs(text) {
                let target = resolve(i, r.action, r.path)?;
                if target != i {
                    let output = output_for(i, target, r.path);
                    deps[i].insert((target, output));
                    let path = if r.path.is_empty() { "." } else { r.path };
                    keep[target].insert((output, path.to_string()));
                }
            }
        }
    }
    // A compile keeps its archive (export data, and a split compile's link object) whether or
    // not an action of this script reads it, so that a package's derivation does not depend on
    // what else the script builds: std's and the dependencies' plans, which link nothing and
    // import no leaf package, give the same derivations as a program's script.
    for (i, part) in parts.iter().enumerate() {
        if part.compiles_archive() {
            keep[i].insert((spec::OUT_OUTPUT, ARCHIVE.to_string()));
        }
    }
    for i in &split {
        keep[*i].insert((spec::LINK_OUTPUT, ARCHIVE.to_string()));
    }

    // Dependencies are linked in a canonical order: by package, role, key and output.
    let sort_key = |(j, output): &(usize, &'static str)| {
        (
            parts[*j].action.package.clone(),
            parts[*j].role,
            parts[*j].key.clone(),
            *output,
        )
    };

    let mut actions = BTreeMap::new();
    let mut tops = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let mut dep_list: Vec<(usize, &'static str)> = deps[i].iter().copied().collect();
        dep_list.sort_by_key(sort_key);
        let alias = |target: usize, path: &str| -> String {
            if target == i {
                spec::OWN_DIR.to_string()
            } else {
                let dep = (target, output_for(i, target, path));
                let pos = dep_list
                    .iter()
                    .position(|d| *d == dep)
                    .expect("dependency collected in pass 1");
                spec::dep_dir(pos)
            }
        };
        let sources = source_set(part, &roots.src_root, roots)?;
        let module = module_dir(part, roots);
        let prefixes = match (&module, &roots.modcache) {
            (Some(dir), Some(modcache)) => {
                let mut own = prefixes.clone();
                own.add(&modcache.join(dir), Token::Module);
                own
            }
            _ => prefixes.clone(),
        };
        let mut binaries = Vec::new();
        let mut steps = Vec::new();
        for step in part.steps {
            let rw = |text: &str| -> String {
                to_spec_text(text, &prefixes, |r| {
                    resolve(i, r.action, r.path).ok().map(|t| alias(t, r.path))
                })
            };
            if let Some(step) = plan_step(
                step,
                part.action,
                &roots.src_root,
                &sources,
                &rw,
                &mut binaries,
            )? {
                steps.push(step);
            }
        }
        let mut outputs = vec![spec::OUT_OUTPUT.to_string()];
        if split.contains(&i) {
            split_link_object(&mut steps);
            outputs.insert(0, spec::LINK_OUTPUT.to_string());
        }
        let uses_modcache = steps.iter().any(|s| {
            s.strings()
                .iter()
                .any(|t| text::mentions(t, Token::Modcache))
        });
        let role = if binaries.is_empty() {
            part.role
        } else {
            Role::Link
        };
        if !binaries.is_empty() {
            tops.push(part.key.clone());
        }
        let name = derivation_name(part.action.package.as_deref(), role, &binaries);
        actions.insert(
            part.key.clone(),
            PlannedAction {
                name,
                package: part.action.package.clone(),
                role,
                deps: dep_list
                    .iter()
                    .map(|(d, output)| DepRef {
                        key: parts[*d].key.clone(),
                        output: output.to_string(),
                        dir: None,
                    })
                    .collect(),
                outputs,
                sources,
                module,
                group_modules: BTreeMap::new(),
                tools: part.action.tools.clone(),
                uses_modcache,
                binaries,
                spec: ActionSpec {
                    steps,
                    deps: dep_list.len(),
                    keep: keep[i]
                        .iter()
                        .map(|(output, path)| spec::Keep {
                            output: output.to_string(),
                            from: if *output == spec::LINK_OUTPUT {
                                format!("{}/{path}", spec::LINK_DIR)
                            } else {
                                path.clone()
                            },
                            to: path.clone(),
                        })
                        .collect(),
                    forbid_goroot_reference: false,
                    members: Default::default(),
                },
            },
        );
    }

    Ok((actions, tops))
}

/// The package archive a compile writes in its own directory.
const ARCHIVE: &str = "_pkg_.a";

/// Makes the compile write its link object to `$WORK/b001/link/_pkg_.a` (`-linkobj`) and the
/// export data to `$WORK/b001/_pkg_.a`; `pack r` then appends assembly objects to the link object.
fn split_link_object(steps: &mut Vec<ExecStep>) {
    let own_archive = format!("$WORK/{}/{ARCHIVE}", spec::OWN_DIR);
    let link_archive = format!("$WORK/{}/{}/{ARCHIVE}", spec::OWN_DIR, spec::LINK_DIR);
    for step in steps.iter_mut() {
        if let ExecStep::Run { argv, .. } = step {
            match GoTool::invoked_by(argv).map(|(_, tool)| tool) {
                Some(GoTool::Compile) => {
                    if let Some(at) = argv
                        .windows(2)
                        .position(|w| w[0] == "-o" && w[1] == own_archive)
                    {
                        argv.splice(
                            at + 2..at + 2,
                            ["-linkobj".to_string(), link_archive.clone()],
                        );
                    }
                }
                Some(GoTool::Pack) => {
                    for arg in argv.iter_mut().filter(|a| **a == own_archive) {
                        *arg = link_archive.clone();
                    }
                }
                _ => {}
            }
        }
    }
    steps.insert(
        0,
        ExecStep::Mkdir {
            path: format!("$WORK/{}/{}/", spec::OWN_DIR, spec::LINK_DIR),
        },
    );
}

impl Part<'_> {
    /// Whether the part compiles a Go package into `$WORK/bNNN/_pkg_.a` with `-pack`.
    fn compiles_archive(&self) -> bool {
        let archive = format!("$WORK/{}/{ARCHIVE}", self.action.id);
        self.role == Role::Compile
            && self.steps.iter().any(|s| match s {
                Step::Run(cmd) => {
                    tool(cmd) == Some(GoTool::Compile)
                        && cmd.argv.iter().any(|a| a == "-pack")
                        && cmd.argv.windows(2).any(|w| w[0] == "-o" && w[1] == archive)
                }
                _ => false,
            })
    }

    /// Whether `path` (inside the action's own directory) is written by this part rather than
    /// by the other half of the same action.
    fn owns(&self, path: &str) -> bool {
        if self.role != Role::Link || self.own_paths.is_empty() {
            return self.role != Role::Link;
        }
        self.own_paths
            .iter()
            .any(|own| path == own || path.starts_with(&format!("{}/", own.trim_end_matches('/'))))
    }
}

/// Splits each action into parts: an action with a compile and then a link in the same directory
/// becomes two parts.
fn split_actions(graph: &ActionGraph) -> Vec<Part<'_>> {
    let mut parts = Vec::new();
    for id in graph.topological_order() {
        let action = &graph.actions[&id];
        let role = match action.kind {
            ActionKind::Link => Role::Link,
            ActionKind::Compile | ActionKind::Cgo | ActionKind::TestMain => Role::Compile,
            ActionKind::Other => Role::Other,
        };
        let split_at = action.steps.iter().position(
            |s| matches!(s, Step::WriteFile { path, .. } if path.ends_with("/importcfg.link")),
        );
        let has_compile_before =
            split_at.is_some_and(|at| action.steps[..at].iter().any(is_compile));
        match split_at {
            Some(at) if has_compile_before => {
                let own = format!("$WORK/{id}/");
                let link_steps = &action.steps[at..];
                let own_paths = link_steps
                    .iter()
                    .flat_map(written_paths)
                    .filter_map(|p| p.strip_prefix(&own).map(str::to_string))
                    .collect();
                parts.push(Part {
                    key: id.to_string(),
                    action,
                    steps: &action.steps[..at],
                    role: Role::Compile,
                    own_paths: BTreeSet::new(),
                });
                parts.push(Part {
                    key: format!("{id}-link"),
                    action,
                    steps: link_steps,
                    role: Role::Link,
                    own_paths,
                });
            }
            _ => parts.push(Part {
                key: id.to_string(),
                action,
                steps: &action.steps,
                role,
                own_paths: BTreeSet::new(),
            }),
        }
    }
    parts
}

fn is_compile(step: &Step) -> bool {
    matches!(step, Step::Run(c) if tool(c) == Some(GoTool::Compile))
}

/// The program of Go's toolchain a command runs.
fn tool(cmd: &Command) -> Option<GoTool> {
    GoTool::invoked_by(&cmd.argv).map(|(_, tool)| tool)
}

/// Paths a step writes (for telling apart the link half's own files).
fn written_paths(step: &Step) -> Vec<&str> {
    match step {
        Step::Mkdir { path } | Step::WriteFile { path, .. } => vec![path],
        Step::Move { to, .. } | Step::Copy { to, .. } => vec![to],
        Step::Run(cmd) => cmd
            .argv
            .windows(2)
            .filter(|w| w[0] == "-o")
            .map(|w| w[1].as_str())
            .collect(),
        Step::AppendFile { path, .. } | Step::Touch { path } => vec![path],
        Step::Symlink { link, .. } => vec![link],
        Step::Remove { .. } | Step::Cat { .. } => vec![],
    }
}

/// Every string of a step that may hold a `$WORK` reference.
fn step_strings(step: &Step) -> Vec<&str> {
    match step {
        Step::Mkdir { path }
        | Step::Remove { path }
        | Step::Cat { path }
        | Step::Touch { path } => vec![path],
        Step::WriteFile { path, contents } | Step::AppendFile { path, contents } => {
            vec![path, contents]
        }
        Step::Symlink { target, link } => vec![target, link],
        Step::Move { from, to } | Step::Copy { from, to } => vec![from, to],
        Step::Run(cmd) => cmd
            .argv
            .iter()
            .map(String::as_str)
            .chain(cmd.env.iter().map(|(_, v)| v.as_str()))
            .collect(),
    }
}

/// Turns one script step into an exec step (`None`: dropped).
fn plan_step(
    step: &Step,
    action: &Action,
    src_root: &Path,
    sources: &BTreeSet<String>,
    rw: &dyn Fn(&str) -> String,
    binaries: &mut Vec<String>,
) -> Result<Option<ExecStep>, PlanError> {
    Ok(Some(match step {
        // `go build -o DIR/` creates DIR; the binary goes to `$OUT/bin` instead.
        Step::Mkdir { path } if !path.starts_with("$WORK") => return Ok(None),
        Step::Mkdir { path } => ExecStep::Mkdir { path: rw(path) },
        Step::WriteFile { path, contents } => ExecStep::WriteFile {
            path: rw(path),
            contents: rw(contents),
        },
        Step::Run(cmd) => {
            if cmd.argv.is_empty() {
                return Err(PlanError::EmptyCommand { action: action.id });
            }
            if tool(cmd) == Some(GoTool::Buildid) {
                return Ok(None);
            }
            let argv = strip_buildid(cmd);
            // `cd $WORK`: go's work directory (the only bare `$WORK` go prints).
            let cwd = if cmd.cwd.as_os_str() == "$WORK" {
                "$WORK".to_string()
            } else {
                match cmd.cwd.strip_prefix(src_root) {
                    Ok(dir) => run_dir(dir, sources),
                    Err(_) => rw(&cmd.cwd.to_string_lossy()),
                }
            };
            ExecStep::Run {
                cwd,
                env: cmd.env.iter().map(|(k, v)| (k.clone(), rw(v))).collect(),
                argv: argv.iter().map(|a| rw(a)).collect(),
                ignore_failure: cmd.ignore_failure,
            }
        }
        Step::Move { from, to } | Step::Copy { from, to } if !to.starts_with("$WORK/") => {
            let name = Path::new(to)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let to = format!("$OUT/bin/{}", text::escape(&name));
            binaries.push(name);
            match step {
                Step::Move { .. } => ExecStep::Move { from: rw(from), to },
                _ => ExecStep::Copy { from: rw(from), to },
            }
        }
        Step::Move { from, to } => ExecStep::Move {
            from: rw(from),
            to: rw(to),
        },
        Step::Copy { from, to } => ExecStep::Copy {
            from: rw(from),
            to: rw(to),
        },
        Step::Remove { path } => {
            // `rm -rf $WORK/bNNN/` after the final `mv` would delete what we keep.
            if path.trim_end_matches('/') == format!("$WORK/{}", action.id) {
                return Ok(None);
            }
            ExecStep::Remove { path: rw(path) }
        }
        Step::Cat { .. } => return Ok(None),
        Step::AppendFile { path, contents } => ExecStep::AppendFile {
            path: rw(path),
            contents: rw(contents),
        },
        Step::Touch { path } => ExecStep::Touch { path: rw(path) },
        Step::Symlink { target, link } => ExecStep::Symlink {
            target: rw(target),
            link: rw(link),
        },
    }))
}

/// Where a command that go ran in `dir` (relative to the source root) runs in the derivation of a
/// part with `sources`: `$WORK` when the part reads no source; else `$SRC/<dir>`, or, when the
/// source set has no such directory, the deepest directory above it that it has.
///
/// go runs a package's compile in the main module's directory (`base.Cwd()`) and its other
/// commands in the package's directory. A package outside the main module's directory (a module
/// replaced by a directory above it, `replace example.com/lib => ../../`) has a source set without
/// the main module's directory, so that directory does not exist in its derivation. No argument is
/// relative to it: go prints a path relative to the directory a command runs in only when the path
/// is inside that directory (`./main.go`), and then the source set has that directory.
fn run_dir(dir: &Path, sources: &BTreeSet<String>) -> String {
    if sources.is_empty() {
        return "$WORK".to_string();
    }
    let present = dir
        .ancestors()
        .find(|d| {
            d.as_os_str().is_empty() || sources.iter().any(|file| Path::new(file).starts_with(d))
        })
        .unwrap_or(Path::new(""));
    if present.as_os_str().is_empty() {
        "$SRC".to_string()
    } else {
        format!("$SRC/{}", text::escape(&present.to_string_lossy()))
    }
}

/// Drops `-buildid ID` (compile, asm) and turns `-buildid=ID` (link) into `-buildid=`.
fn strip_buildid(cmd: &Command) -> Vec<String> {
    let mut argv = Vec::with_capacity(cmd.argv.len());
    let mut args = cmd.argv.iter();
    while let Some(arg) = args.next() {
        if arg == "-buildid" {
            args.next();
        } else if arg.starts_with("-buildid=") {
            if !argv.iter().any(|a: &String| a == "-buildid=") {
                argv.push("-buildid=".to_string());
            }
        } else {
            argv.push(arg.clone());
        }
    }
    argv
}

/// The user source files a part reads, relative to the source root.
fn source_set(
    part: &Part<'_>,
    src_root: &Path,
    roots: &Roots,
) -> Result<BTreeSet<String>, PlanError> {
    let mut files = BTreeSet::new();
    if part.role == Role::Link && part.steps.len() != part.action.steps.len() {
        return Ok(files); // the link half of a split action reads no source
    }
    let mut dirs = BTreeSet::new();
    for source in &part.action.sources {
        if source.starts_with(&roots.goroot)
            || roots
                .modcache
                .as_deref()
                .is_some_and(|m| source.starts_with(m))
        {
            continue;
        }
        let rel = source
            .strip_prefix(src_root)
            .map_err(|_| PlanError::ForeignSource {
                action: part.action.id,
                path: source.clone(),
                src_root: src_root.to_path_buf(),
            })?;
        files.insert(rel.to_string_lossy().into_owned());
        if let Some(dir) = rel.parent() {
            dirs.insert(dir.to_path_buf());
        }
    }
    // C headers and other files of the package directories (never named by the script).
    let package_dirs: BTreeSet<&PathBuf> = dirs
        .iter()
        .filter(|d| {
            part.action.sources.iter().any(|s| {
                s.extension().is_some_and(|e| e == "go") && s.parent() == Some(&src_root.join(d))
            })
        })
        .collect();
    for dir in package_dirs {
        let abs = src_root.join(dir);
        let entries = std::fs::read_dir(&abs).map_err(|source| PlanError::ReadDir {
            dir: abs.clone(),
            source,
        })?;
        for entry in entries {
            let entry = entry.map_err(|source| PlanError::ReadDir {
                dir: abs.clone(),
                source,
            })?;
            let is_file = entry
                .file_type()
                .map_err(|source| PlanError::ReadDir {
                    dir: abs.clone(),
                    source,
                })?
                .is_file();
            if is_file {
                files.insert(dir.join(entry.file_name()).to_string_lossy().into_owned());
            }
        }
    }
    Ok(files)
}

/// The one module directory (`example.com/greet@v1.1.0`, relative to the module cache) whose files
/// the part's action reads; `None` if it reads none, or files of several (then it gets the whole
/// cache through `$MODCACHE`).
fn module_dir(part: &Part<'_>, roots: &Roots) -> Option<String> {
    let modcache = roots.modcache.as_deref()?;
    if part.role == Role::Link && part.steps.len() != part.action.steps.len() {
        return None; // the link half of a split action reads no source
    }
    let mut dirs = part.action.sources.iter().filter_map(|source| {
        let rel = source.strip_prefix(modcache).ok()?;
        // The module directory ends at the first component with a version (`name@v1.2.3`).
        let mut dir = PathBuf::new();
        for component in rel.components() {
            dir.push(component);
            if component.as_os_str().to_string_lossy().contains('@') {
                return Some(dir.to_string_lossy().into_owned());
            }
        }
        None
    });
    let first = dirs.next()?;
    dirs.all(|d| d == first).then_some(first)
}

/// Derivation names: `go-<import path>` for packages, the binary's name for links.
fn derivation_name(package: Option<&str>, role: Role, binaries: &[String]) -> String {
    let base = match (role, binaries) {
        (Role::Link, [one]) => one.clone(),
        (Role::Link, _) => format!("go-{}-link", package.unwrap_or("main")),
        _ => format!("go-{}", package.unwrap_or("action")),
    };
    sanitize_store_name(&base)
}

/// Keeps the characters Nix allows in store path names; maps others to `-`.
pub fn sanitize_store_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "+-._?=".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    cleaned.trim_start_matches('.').to_string()
}

/// An action that copies the binaries of several links into one `$OUT/bin`.
fn bundle_action(actions: &BTreeMap<String, PlannedAction>, tops: &[String]) -> PlannedAction {
    let mut steps = vec![ExecStep::Mkdir {
        path: "$OUT/bin".to_string(),
    }];
    let mut binaries = Vec::new();
    for (index, key) in tops.iter().enumerate() {
        for bin in &actions[key].binaries {
            let file = text::escape(bin);
            steps.push(ExecStep::Copy {
                from: format!("$WORK/{}/bin/{file}", spec::dep_dir(index)),
                to: format!("$OUT/bin/{file}"),
            });
            binaries.push(bin.clone());
        }
    }
    gathering_action("go-binaries", tops, steps, binaries)
}

/// A [`Role::Bundle`] action named `name` that depends on the `out` output of each of `deps`
/// (linked at `$WORK/b002`, … in this order) and runs `steps`; it has no sources.
fn gathering_action(
    name: &str,
    deps: &[String],
    steps: Vec<ExecStep>,
    binaries: Vec<String>,
) -> PlannedAction {
    PlannedAction {
        name: name.to_string(),
        package: None,
        role: Role::Bundle,
        deps: deps
            .iter()
            .map(|key| DepRef {
                key: key.clone(),
                output: spec::OUT_OUTPUT.to_string(),
                dir: None,
            })
            .collect(),
        outputs: vec![spec::OUT_OUTPUT.to_string()],
        sources: BTreeSet::new(),
        module: None,
        group_modules: BTreeMap::new(),
        tools: BTreeSet::new(),
        uses_modcache: false,
        binaries,
        spec: ActionSpec {
            steps,
            deps: deps.len(),
            keep: vec![],
            forbid_goroot_reference: false,
            members: Default::default(),
        },
    }
}
