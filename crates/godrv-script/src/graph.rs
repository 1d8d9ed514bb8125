//! Stage 2 output: the validated action graph.
//!
//! Every type here is plain data with a stable serde form; maps and sets are
//! ordered so identical scripts give identical JSON.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use crate::tool::GoTool;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The number of a `$WORK/bNNN` directory: one action per directory.
///
/// Displayed and serialized as Go prints it: `b` and at least three digits
/// (`b001`, `b042`, `b1000`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ActionId(pub u32);

impl fmt::Display for ActionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b{:03}", self.0)
    }
}

/// The error of [`ActionId::from_str`]: the text is not `b` followed by digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an action id (b followed by at least three digits): {0:?}")]
pub struct BadActionId(pub String);

impl FromStr for ActionId {
    type Err = BadActionId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadActionId(s.to_owned());
        let digits = s.strip_prefix('b').ok_or_else(bad)?;
        if digits.len() < 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        digits.parse().map(ActionId).map_err(|_| bad())
    }
}

impl Serialize for ActionId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ActionId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Every action of one script, keyed by id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionGraph {
    /// The directory `go` was started in (what `cd .` and the initial state mean).
    pub start_dir: PathBuf,
    /// One action per `$WORK/bNNN` directory the script uses.
    pub actions: BTreeMap<ActionId, Action>,
}

impl ActionGraph {
    /// All action ids, every action after the actions it depends on; among
    /// actions whose dependencies are all done, the smallest id comes first.
    ///
    /// Dependencies on ids absent from the graph are ignored (the parser
    /// never produces them). The parser rejects cycles; on a hand-built graph
    /// with a cycle, the actions on the cycle are left out.
    pub fn topological_order(&self) -> Vec<ActionId> {
        let mut waiting: BTreeMap<ActionId, usize> = BTreeMap::new();
        let mut users: BTreeMap<ActionId, Vec<ActionId>> = BTreeMap::new();
        for (id, action) in &self.actions {
            let deps = action
                .deps
                .iter()
                .filter(|d| *d != id && self.actions.contains_key(d));
            let mut n = 0;
            for d in deps {
                users.entry(*d).or_default().push(*id);
                n += 1;
            }
            waiting.insert(*id, n);
        }
        let mut ready: BTreeSet<ActionId> = waiting
            .iter()
            .filter(|(_, n)| **n == 0)
            .map(|(id, _)| *id)
            .collect();
        let mut order = Vec::with_capacity(self.actions.len());
        while let Some(id) = ready.pop_first() {
            order.push(id);
            for user in users.get(&id).into_iter().flatten() {
                let n = waiting.get_mut(user).expect("every user is an action");
                *n -= 1;
                if *n == 0 {
                    ready.insert(*user);
                }
            }
        }
        order
    }
}

/// What an action does, judged from its commands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActionKind {
    /// Runs `compile` (possibly also `asm` and `pack`), no cgo.
    Compile,
    /// A compile whose package uses cgo: runs `cgo` and the C compiler too.
    Cgo,
    /// Runs `link`. go links a main package in the directory where it
    /// compiled it, so this action usually compiles the package too.
    Link,
    /// Compiles `$WORK/bNNN/_testmain.go`, a file `go test` generates and the
    /// script never writes (the planner must supply it), then links the
    /// test binary.
    TestMain,
    /// Anything else (for example a `preprofile` step, or an action that only
    /// creates directories).
    Other,
}

/// One `$WORK/bNNN` directory and every step that uses it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Action {
    pub id: ActionId,
    /// Import path: the `-p` flag of `compile` unless it is `main`, else the
    /// first word of the banner naming the action (`example.com/hello`,
    /// `example.com/x.test`), else `main`; `None` when the script does not
    /// say (a `preprofile` action).
    pub package: Option<String>,
    pub kind: ActionKind,
    /// The programs of Go's toolchain its commands run ([`GoTool::invoked_by`]).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub tools: BTreeSet<GoTool>,
    /// Actions whose `$WORK/bNNN` outputs this action reads.
    pub deps: BTreeSet<ActionId>,
    /// Files the action writes: `$WORK/bNNN/...` paths (literal `$WORK`), or
    /// absolute paths outside `$WORK` (the target of the final `mv`/`cp`).
    pub outputs: BTreeSet<String>,
    /// Absolute paths of the source files the action reads (`.go`, `.c`,
    /// `.s`, `.syso`, embedded files, ...).
    pub sources: BTreeSet<PathBuf>,
    /// Directory of the action's first command (of its first step if it
    /// runs none): absolute, or `$WORK`-rooted (`$WORK`, `$WORK/b001`) for
    /// commands go runs in its work directory.
    pub cwd: PathBuf,
    /// The action's steps in script order.
    pub steps: Vec<Step>,
}

/// One line (or heredoc) of the script, as it applies to an action.
///
/// Paths keep `$WORK` literally.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Step {
    /// `mkdir -p PATH`.
    Mkdir { path: String },
    /// `cat >PATH << 'EOF'` heredocs and `echo` redirections: `contents` are
    /// the exact bytes written.
    WriteFile { path: String, contents: String },
    /// An external program.
    Run(Command),
    /// `mv FROM TO`.
    Move { from: String, to: String },
    /// `cp FROM TO`.
    Copy { from: String, to: String },
    /// `rm -r -f PATH` / `rm -rf PATH`.
    Remove { path: String },
    /// `cat PATH  # internal`: go shows the output a cached action printed
    /// (PATH is a file in go's build cache, not `$WORK`). It writes nothing;
    /// replaying it only prints.
    Cat { path: String },
    /// `echo 'TEXT' >> PATH`: appends `contents` (TEXT and a newline).
    AppendFile { path: String, contents: String },
    /// `touch PATH` (go install finding the target up to date).
    Touch { path: String },
    /// `ln -s TARGET LINK`.
    Symlink { target: String, link: String },
}

/// A program run with an environment prefix in a directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Command {
    /// Directory the program runs in, all `cd` state resolved: absolute, or
    /// `$WORK`-rooted (`$WORK/b001` for cgo's C compiles, `$WORK` for C
    /// compiler probes).
    pub cwd: PathBuf,
    /// `NAME=value` prefixes in script order.
    pub env: Vec<(String, String)>,
    /// The program and its arguments, unquoted.
    pub argv: Vec<String>,
    /// The line ended in `|| true`: go ignores the command's failure.
    pub ignore_failure: bool,
}
