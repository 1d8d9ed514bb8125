//! The action spec: what `godrv exec` replays inside one derivation.
//!
//! A spec is *closed and canonical*: it names no action id of the original script, no store path
//! (except those of the user's C inputs in flags from `pkg-config`, see [`crate::pkgconfig`]; the
//! derivation has those inputs as its `buildInputs`) and no build directory. Its strings are spec text
//! ([`crate::text`]): literal text, where a `$` is written `$$`, and these tokens, which
//! `godrv exec` replaces at build time (any other `$NAME` is an error, so user text such as
//! `-X main.greeting=$OUTLOOK` is never rewritten):
//!
//! | token | meaning |
//! |---|---|
//! | `$WORK` | the build's scratch directory; the action's own files live in `$WORK/b001`, each dependency's output is linked at `$WORK/b002`, `$WORK/b003`, … in the order of [`ActionSpec::deps`] |
//! | `$GOROOT` | the Go toolchain (the `goroot` attribute of the derivation) |
//! | `$SRC` | the package's source set (the `src` attribute), laid out as in the user's source tree |
//! | `$MODULE` | the directory of the one third-party module the action reads (the `module` attribute: that module's own store path) |
//! | `$MODCACHE` | the whole module cache (the `modcache` attribute), only for an action that reads outside its module's directory |
//! | `$OUT` | the derivation's output |
//!
//! A *group* (module granularity, see [`crate::group`]) is one derivation that replays several
//! actions: its spec has no steps of its own but [`ActionSpec::members`], each member an action
//! spec exactly as its own derivation would have it, replayed in its own `$WORK` with its
//! `$WORK/b002`, … linked to what [`Member::inputs`] names and `$OUT` (and every other output)
//! being `<output>/<member's directory>`.
//!
//! Because the spec is canonical, the same standard-library package built with the same Go and flags
//! gives the same spec, the same derivation and the same store path in every program.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Name of the work directory that holds the action's own files.
pub const OWN_DIR: &str = "b001";

/// The output dependents' compiles read (export data) and every other file.
pub const OUT_OUTPUT: &str = "out";

/// The output the link reads from a split compile (the link object).
pub const LINK_OUTPUT: &str = "link";

/// Subdirectory of the own directory where a split compile writes its link object.
pub const LINK_DIR: &str = "link";

/// Environment attribute of the derivation that holds the spec as JSON.
pub const SPEC_ATTR: &str = "godrvAction";

/// Returns the name of the work directory where dependency number `index` (0-based) is linked.
pub fn dep_dir(index: usize) -> String {
    format!("b{:03}", index + 2)
}

/// Returns the name of the derivation attribute that holds dependency number `index` (0-based).
pub fn dep_attr(index: usize) -> String {
    format!("dep{index}")
}

/// One action, as replayed by `godrv exec`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ActionSpec {
    /// The steps, in script order.
    pub steps: Vec<ExecStep>,
    /// How many dependencies are linked into `$WORK` (see [`dep_dir`]).
    pub deps: usize,
    /// Files copied from `$WORK/b001` to the outputs after the steps ran.
    pub keep: Vec<Keep>,
    /// Fail if an output names the Go toolchain (`$GOROOT`): set on links unless the user gave
    /// `allowGoReference = true` (buildGoModule's default check, with godrv's message).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub forbid_goroot_reference: bool,
    /// A group's actions, keyed by their directory in the group's outputs (the import path of
    /// the package each builds); empty for a single action. A group has no `steps` and no `keep`
    /// of its own.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub members: BTreeMap<String, Member>,
}

/// One action of a group (see the module documentation).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Member {
    /// The action, as its own derivation would replay it.
    pub action: ActionSpec,
    /// What is linked at the action's `$WORK/b002`, `$WORK/b003`, … (in this order).
    pub inputs: Vec<MemberInput>,
    /// The derivation attribute holding the member's `$MODULE` (default `module`): a group of
    /// several modules (an import cycle between them) gives each its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
}

/// Where a member's dependency is.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "from", rename_all = "kebab-case", deny_unknown_fields)]
pub enum MemberInput {
    /// The group's dependency number `dep` (the attribute [`dep_attr`]`(dep)`).
    Dep { dep: usize },
    /// The directory of another member in one of the group's own outputs.
    Member { member: String, output: String },
}

/// One file (or, with `from` = `.`, the whole directory) copied to an output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Keep {
    /// Output name (`out`, `link`): the derivation attribute holding its path.
    pub output: String,
    /// Path relative to `$WORK/b001`.
    pub from: String,
    /// Path relative to the output.
    pub to: String,
}

/// One step of an action.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ExecStep {
    /// `mkdir -p PATH`.
    Mkdir { path: String },
    /// Write a file with exactly these contents.
    WriteFile { path: String, contents: String },
    /// Run a program with exactly this argv, environment additions and working directory.
    Run {
        cwd: String,
        env: Vec<(String, String)>,
        argv: Vec<String>,
        /// The script ran it as `CMD || true`.
        ignore_failure: bool,
    },
    /// `mv FROM TO`.
    Move { from: String, to: String },
    /// `cp FROM TO`; a directory is copied with everything in it.
    Copy { from: String, to: String },
    /// `rm -rf PATH`.
    Remove { path: String },
    /// Append to a file (`echo 'TEXT' >> PATH`).
    AppendFile { path: String, contents: String },
    /// `touch PATH`.
    Touch { path: String },
    /// `ln -s TARGET LINK`.
    Symlink { target: String, link: String },
    /// A tree of symbolic links, as nixpkgs' `symlinkJoin` (`lndir`) makes: TO gets FROM's
    /// directories, and every other entry of FROM (a file, a relative symbolic link) as a
    /// symbolic link to it, named by FROM's resolved path (a dependency's store path, not
    /// `$WORK/b002`), so the output refers to FROM and keeps it alive without a copy of its
    /// files (dyn mode's result, `nix/internal/linkTree.nix`; `go-checked`, the result with the
    /// tests run). A symbolic link of FROM with an absolute target (a link tree's own link into
    /// another store path) is made again with the same target, so a link tree of a link tree
    /// has the same contents as the first (dyn's result is then the same store path with and
    /// without the tests run).
    LinkTree { from: String, to: String },
    /// Run the tests of `package`: `argv` (a test binary and its flags) in `cwd`, standard output
    /// and error written to the file `log` and to the build log. A non-zero exit fails the build
    /// with the package named and its output shown.
    Test {
        package: String,
        cwd: String,
        argv: Vec<String>,
        log: String,
    },
}

impl ExecStep {
    /// Every string of the step (paths, contents, argv, environment values).
    pub fn strings(&self) -> Vec<&str> {
        match self {
            ExecStep::Mkdir { path } | ExecStep::Remove { path } | ExecStep::Touch { path } => {
                vec![path]
            }
            ExecStep::WriteFile { path, contents } | ExecStep::AppendFile { path, contents } => {
                vec![path, contents]
            }
            ExecStep::Run { cwd, env, argv, .. } => std::iter::once(cwd.as_str())
                .chain(env.iter().map(|(_, v)| v.as_str()))
                .chain(argv.iter().map(String::as_str))
                .collect(),
            ExecStep::Move { from, to }
            | ExecStep::Copy { from, to }
            | ExecStep::LinkTree { from, to } => vec![from, to],
            ExecStep::Symlink { target, link } => vec![target, link],
            ExecStep::Test { cwd, argv, log, .. } => std::iter::once(cwd.as_str())
                .chain(argv.iter().map(String::as_str))
                .chain(std::iter::once(log.as_str()))
                .collect(),
        }
    }
}
