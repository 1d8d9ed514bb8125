//! Stage 2: validate the logical lines of stage 1 into an [`ActionGraph`].
//!
//! Lines are assigned to actions by the `$WORK/bNNN` directory they work in
//! (see the crate docs for the rules); this module owns that assignment, the
//! resolution of `cd` state and of go's `.`-abbreviated paths, and the
//! derivation of each action's kind, package, outputs, sources and deps.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::graph::{Action, ActionGraph, ActionId, ActionKind, Command, Step};
use crate::lines::{CommandLine, Line, LogicalLine, Suffix};
use crate::tool::GoTool;
use crate::ParseError;

/// File name extensions counted as sources when an argument names a file
/// outside `$WORK`.
const SOURCE_EXTENSIONS: &[&str] = &[
    "go", "s", "S", "sx", "c", "cc", "cpp", "cxx", "c++", "h", "hh", "hpp", "hxx", "m", "f", "F",
    "for", "f90", "syso", "pgo", "swig", "swigcxx", "a", "o",
];

/// `go: ` messages that are progress, not failure.
const INFORMATIONAL: &[&str] = &[
    "downloading ",
    "finding ",
    "extracting ",
    "found ",
    "warning: ",
];

/// The lines of one action, accumulated in script order.
struct Parts {
    banner: Option<String>,
    /// The script's cwd when the action's first line appeared.
    first_cwd: String,
    steps: Vec<(usize, Step)>,
}

/// Build the graph. `script` is the raw text (for go's own messages).
pub(crate) fn build(
    script: &str,
    lines: &[LogicalLine<'_>],
    start_dir: &Path,
) -> Result<ActionGraph, ParseError> {
    let start = start_dir_string(start_dir)?;
    check_go_failure(script, lines)?;

    let mut actions: BTreeMap<ActionId, Parts> = BTreeMap::new();
    let mut cwd = start.clone();
    // The directory go abbreviated to `.` in the lines it printed for it:
    // the last `cd DIR`, except `cd .` (go's dir was "." itself) and `/`
    // (never abbreviated); before any `cd`, nothing.
    let mut shortened: Option<String> = None;
    let mut pending: Vec<(usize, Step)> = Vec::new();
    let mut banner: Option<String> = None;
    let mut last: Option<ActionId> = None;

    for l in lines {
        let line = l
            .parsed
            .as_ref()
            .expect("check_go_failure rejects bad lines");
        let (owner, step) = match line {
            Line::Blank | Line::Work(_) | Line::GoMessage(_) | Line::NotCreated(_) => continue,
            Line::Banner(text) => {
                if let Some(t) = text {
                    banner = Some(t.clone());
                }
                continue;
            }
            Line::Cd(dir) => {
                cwd = resolve_cd(dir, &start)
                    .ok_or_else(|| invalid(l, "cd to a relative directory"))?;
                shortened = Some(cwd.clone()).filter(|_| dir != "." && cwd != "/");
                continue;
            }
            Line::Command(CommandLine {
                suffix: Suffix::LinkTest(_),
                ..
            }) => continue,
            Line::Command(c) => {
                let argv: Vec<String> = c
                    .argv
                    .iter()
                    .map(|w| match &shortened {
                        Some(dir) if !w.quoted => undot(&w.value, dir),
                        _ => w.value.clone(),
                    })
                    .collect();
                let owner = command_owner(&argv, &cwd);
                let step = Step::Run(Command {
                    cwd: PathBuf::from(&cwd),
                    env: c.env.clone(),
                    argv,
                    ignore_failure: c.ignore_failure,
                });
                (owner, step)
            }
            // go runs its builtins in its own directory: relative paths
            // are relative to the start directory.
            Line::Mkdir(p) => (
                action_of_path(p),
                Step::Mkdir {
                    path: resolve(p, &start),
                },
            ),
            Line::WriteFile { path, contents } => (
                action_of_path(path),
                Step::WriteFile {
                    path: resolve(path, &start),
                    contents: contents.clone(),
                },
            ),
            Line::AppendFile { path, contents } => (
                action_of_path(path),
                Step::AppendFile {
                    path: resolve(path, &start),
                    contents: contents.clone(),
                },
            ),
            Line::CatInternal(p) => (
                action_of_path(p),
                Step::Cat {
                    path: resolve(p, &start),
                },
            ),
            Line::Move { from, to } => (
                action_of_path(to).or_else(|| action_of_path(from)),
                Step::Move {
                    from: resolve(from, &start),
                    to: resolve(to, &start),
                },
            ),
            Line::Copy { from, to } => (
                action_of_path(to).or_else(|| action_of_path(from)),
                Step::Copy {
                    from: resolve(from, &start),
                    to: resolve(to, &start),
                },
            ),
            Line::Symlink { target, link } => (
                action_of_path(link).or_else(|| action_of_path(target)),
                Step::Symlink {
                    // A symlink's target is relative to the link, not to go.
                    target: target.clone(),
                    link: resolve(link, &start),
                },
            ),
            Line::Remove(p) => (
                action_of_path(p),
                Step::Remove {
                    path: resolve(p, &start),
                },
            ),
            Line::Touch(p) => (
                action_of_path(p),
                Step::Touch {
                    path: resolve(p, &start),
                },
            ),
        };
        match owner {
            Some(id) => {
                let parts = actions.entry(id).or_insert_with(|| Parts {
                    banner: None,
                    first_cwd: cwd.clone(),
                    steps: Vec::new(),
                });
                if let Some(b) = banner.take() {
                    parts.banner.get_or_insert(b);
                }
                parts.steps.append(&mut pending);
                parts.steps.push((l.number, step));
                last = Some(id);
            }
            None => pending.push((l.number, step)),
        }
    }
    match last {
        Some(id) => actions
            .get_mut(&id)
            .expect("last is an action")
            .steps
            .append(&mut pending),
        None => {
            let lines = script
                .lines()
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect();
            // Without actions, a "command" is go's message text (e.g.
            // `pattern ./...: directory prefix . does not contain ...`).
            let ran_something = pending.iter().any(|(_, s)| matches!(s, Step::Run(_)));
            return Err(if ran_something {
                ParseError::GoFailed { lines }
            } else {
                ParseError::NoActions { lines }
            });
        }
    }

    let known: BTreeSet<ActionId> = actions.keys().copied().collect();
    let mut graph = BTreeMap::new();
    for (id, parts) in actions {
        graph.insert(id, finish(id, parts, &known, lines)?);
    }
    let graph = ActionGraph {
        start_dir: PathBuf::from(&start),
        actions: graph,
    };
    let order = graph.topological_order();
    if order.len() != graph.actions.len() {
        let done: BTreeSet<ActionId> = order.into_iter().collect();
        let stuck: Vec<String> = graph
            .actions
            .keys()
            .filter(|id| !done.contains(id))
            .map(ToString::to_string)
            .collect();
        return Err(ParseError::Cycle { actions: stuck });
    }
    Ok(graph)
}

/// The start directory as text: absolute, without a trailing slash.
fn start_dir_string(start_dir: &Path) -> Result<String, ParseError> {
    let s = start_dir
        .to_str()
        .filter(|s| s.starts_with('/'))
        .ok_or_else(|| ParseError::StartDir(start_dir.to_path_buf()))?;
    let trimmed = s.trim_end_matches('/');
    Ok(if trimmed.is_empty() {
        "/".to_owned()
    } else {
        trimmed.to_owned()
    })
}

/// Decide whether the text is go's failure rather than a script: a `go: `
/// line that is not progress, or unparseable lines in a script that
/// creates no `$WORK/bNNN` directory. Otherwise the first unparseable line
/// is a syntax error.
fn check_go_failure(script: &str, lines: &[LogicalLine<'_>]) -> Result<(), ParseError> {
    let mut failed = false;
    let mut creates_action = false;
    let mut first_bad = None;
    for l in lines {
        match &l.parsed {
            Ok(Line::GoMessage(m)) if !INFORMATIONAL.iter().any(|p| m.starts_with(p)) => {
                failed = true
            }
            Ok(Line::Mkdir(p)) if action_of_path(p).is_some() => creates_action = true,
            Ok(_) => {}
            Err(e) => {
                first_bad.get_or_insert((l, e));
            }
        }
    }
    if failed || (first_bad.is_some() && !creates_action) {
        return Err(ParseError::GoFailed {
            lines: script
                .lines()
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect(),
        });
    }
    match first_bad {
        Some((l, e)) => Err(ParseError::Syntax {
            line: l.number,
            column: e.column,
            message: e.message.clone(),
            text: l.text.to_owned(),
        }),
        None => Ok(()),
    }
}

fn invalid(l: &LogicalLine<'_>, message: &str) -> ParseError {
    ParseError::Invalid {
        line: l.number,
        message: message.to_owned(),
        text: l.text.to_owned(),
    }
}

/// `cd .` is the start directory; other directories are absolute or in `$WORK`.
fn resolve_cd(dir: &str, start: &str) -> Option<String> {
    if dir == "." {
        Some(start.to_owned())
    } else if dir.starts_with('/') || is_work(dir) {
        Some(dir.trim_end_matches('/').to_owned())
            .filter(|d| !d.is_empty())
            .or(Some("/".into()))
    } else {
        None
    }
}

fn is_work(p: &str) -> bool {
    p == "$WORK" || p.starts_with("$WORK/")
}

/// Undo go's abbreviation of the command's directory: go replaced every
/// ` DIR` by ` .` in the printed line (`ShowCmd`), so a bare word `.REST`
/// stood for `DIR` + `REST`. `./x`, `../x`, `.` and `..` mean the same
/// relative to the cwd and stay as printed; any other `.`-word (`.2/x.go`,
/// from a sibling directory `DIR2`) is made absolute.
fn undot(word: &str, cwd: &str) -> String {
    let relative_already =
        word == "." || word == ".." || word.starts_with("./") || word.starts_with("../");
    match word.strip_prefix('.') {
        Some(rest) if !relative_already => format!("{cwd}{rest}"),
        _ => word.to_owned(),
    }
}

/// Make a path printed relative to `cwd` absolute (or `$WORK`-rooted).
fn resolve(path: &str, cwd: &str) -> String {
    if path.starts_with('/') || is_work(path) {
        return path.to_owned();
    }
    let mut rel = path;
    while let Some(r) = rel.strip_prefix("./") {
        rel = r.trim_start_matches('/');
    }
    if rel.is_empty() || rel == "." {
        cwd.to_owned()
    } else if cwd.ends_with('/') {
        format!("{cwd}{rel}")
    } else {
        format!("{cwd}/{rel}")
    }
}

/// The action whose directory `path` is in: `$WORK/bNNN` or `$WORK/bNNN/...`.
pub(crate) fn action_of_path(path: &str) -> Option<ActionId> {
    let rest = path.strip_prefix("$WORK/b")?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits < 3 || !(rest.len() == digits || rest[digits..].starts_with('/')) {
        return None;
    }
    rest[..digits].parse().ok().map(ActionId)
}

/// Every `$WORK/bNNN` mentioned in `text` (in order, with repeats).
pub(crate) fn mentioned_actions(text: &str) -> impl Iterator<Item = ActionId> + '_ {
    text.match_indices("$WORK/b").filter_map(move |(at, _)| {
        let rest = &text[at + "$WORK/b".len()..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits < 3 {
            return None;
        }
        rest[..digits].parse().ok().map(ActionId)
    })
}

/// The action a command works for: the directory of its `-o` output, else
/// the first `$WORK/bNNN` among its words, else its cwd's.
fn command_owner(argv: &[String], cwd: &str) -> Option<ActionId> {
    argv.windows(2)
        .filter(|w| w[0] == "-o")
        .find_map(|w| action_of_path(&resolve(&w[1], cwd)))
        .or_else(|| argv.iter().find_map(|w| mentioned_actions(w).next()))
        .or_else(|| action_of_path(cwd))
}

fn base_name(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

fn has_source_extension(p: &str) -> bool {
    let name = base_name(p);
    name.rsplit_once('.')
        .is_some_and(|(stem, ext)| !stem.is_empty() && SOURCE_EXTENSIONS.contains(&ext))
}

/// What one step tells about its action.
#[derive(Default)]
struct Facts {
    outputs: BTreeSet<String>,
    moved_away: BTreeSet<String>,
    sources: BTreeSet<PathBuf>,
    tools: BTreeSet<GoTool>,
    package_flag: Option<String>,
    testmain: Option<String>,
}

fn finish(
    id: ActionId,
    parts: Parts,
    known: &BTreeSet<ActionId>,
    lines: &[LogicalLine<'_>],
) -> Result<Action, ParseError> {
    let mut facts = Facts::default();
    let mut deps = BTreeSet::new();
    let mut cwd = None;
    let mut written = BTreeSet::new();
    for (number, step) in &parts.steps {
        let bad = |message: String| {
            let l = lines
                .iter()
                .find(|l| l.number == *number)
                .expect("step line exists");
            ParseError::Invalid {
                line: *number,
                message,
                text: l.text.to_owned(),
            }
        };
        for dep in step_mentions(step) {
            if dep == id {
                continue;
            }
            if !known.contains(&dep) {
                return Err(bad(format!("{id} uses $WORK/{dep}, which no line creates")));
            }
            deps.insert(dep);
        }
        if let Step::Run(c) = step {
            cwd.get_or_insert_with(|| c.cwd.clone());
        }
        if let Step::WriteFile { path, .. } = step {
            written.insert(path.clone());
        }
        step_facts(step, &mut facts).map_err(bad)?;
    }
    for gone in &facts.moved_away {
        facts.outputs.remove(gone);
    }
    let kind = if facts
        .testmain
        .as_ref()
        .is_some_and(|t| !written.contains(t))
    {
        ActionKind::TestMain
    } else if facts.tools.contains(&GoTool::Link) {
        ActionKind::Link
    } else if facts.tools.contains(&GoTool::Cgo) {
        ActionKind::Cgo
    } else if facts.tools.contains(&GoTool::Compile) {
        ActionKind::Compile
    } else {
        ActionKind::Other
    };
    let banner_path = parts
        .banner
        .as_deref()
        .and_then(|b| b.split(' ').next())
        .filter(|b| !b.is_empty())
        .map(str::to_owned);
    let package = match facts.package_flag {
        Some(p) if p != "main" => Some(p),
        flag => banner_path.or(flag),
    };
    let cwd = cwd.unwrap_or_else(|| PathBuf::from(&parts.first_cwd));
    Ok(Action {
        id,
        package,
        kind,
        tools: facts.tools,
        deps,
        outputs: facts.outputs,
        sources: facts.sources,
        cwd,
        steps: parts.steps.into_iter().map(|(_, s)| s).collect(),
    })
}

/// Every action directory a step mentions anywhere.
fn step_mentions(step: &Step) -> Vec<ActionId> {
    let mut out = Vec::new();
    let mut scan = |t: &str| out.extend(mentioned_actions(t));
    match step {
        Step::Mkdir { path }
        | Step::Remove { path }
        | Step::Cat { path }
        | Step::Touch { path } => scan(path),
        Step::WriteFile { path, contents } | Step::AppendFile { path, contents } => {
            scan(path);
            scan(contents);
        }
        Step::Move { from, to } | Step::Copy { from, to } => {
            scan(from);
            scan(to);
        }
        Step::Symlink { target, link } => {
            scan(target);
            scan(link);
        }
        Step::Run(c) => {
            c.cwd.to_str().into_iter().for_each(&mut scan);
            for (_, v) in &c.env {
                scan(v);
            }
            for a in &c.argv {
                scan(a);
            }
        }
    }
    out
}

/// Outputs, sources, tools and the `-p` package of one step.
fn step_facts(step: &Step, f: &mut Facts) -> Result<(), String> {
    match step {
        Step::Mkdir { .. } | Step::Remove { .. } | Step::Cat { .. } => {}
        Step::Touch { path } => {
            f.outputs.insert(path.clone());
        }
        Step::WriteFile { path, contents } | Step::AppendFile { path, contents } => {
            f.outputs.insert(path.clone());
            config_facts(path, contents, f)?;
        }
        Step::Move { from, to } => {
            f.outputs.insert(to.clone());
            f.moved_away.insert(from.clone());
        }
        Step::Copy { from, to } => {
            f.outputs.insert(to.clone());
            if !is_work(from) {
                f.sources.insert(PathBuf::from(from));
            }
        }
        Step::Symlink { link, .. } => {
            f.outputs.insert(link.clone());
        }
        Step::Run(c) => run_facts(c, f),
    }
    Ok(())
}

fn run_facts(c: &Command, f: &mut Facts) {
    let cwd = c.cwd.to_str().unwrap_or_default();
    let (tool_at, tool) = match GoTool::invoked_by(&c.argv) {
        Some((at, tool)) => (at, Some(tool)),
        None => (0, None),
    };
    f.tools.extend(tool);
    let args = &c.argv[(tool_at + 1).min(c.argv.len())..];
    let mut skip_next = false;
    for (i, a) in args.iter().enumerate() {
        if skip_next {
            skip_next = false;
            continue;
        }
        let next = args.get(i + 1);
        match a.as_str() {
            "-o" | "-dynout" | "-asmhdr" => {
                if let Some(v) = next.filter(|v| *v != "/dev/null") {
                    f.outputs.insert(resolve(v, cwd));
                }
                skip_next = true;
                continue;
            }
            "-p" if tool == Some(GoTool::Compile) => {
                if let Some(v) = next {
                    f.package_flag.get_or_insert_with(|| v.clone());
                }
                skip_next = true;
                continue;
            }
            "r" if tool == Some(GoTool::Pack) && i == 0 => {
                if let Some(v) = next {
                    f.outputs.insert(resolve(v, cwd));
                }
                skip_next = true;
                continue;
            }
            _ => {}
        }
        let candidate = a.strip_prefix("-pgoprofile=").unwrap_or(a);
        if candidate.starts_with('-') || !has_source_extension(candidate) {
            continue;
        }
        let p = resolve(candidate, cwd);
        if is_work(&p) {
            if tool == Some(GoTool::Compile) && base_name(&p) == "_testmain.go" {
                f.testmain = Some(p);
            }
        } else if p.starts_with('/') {
            f.sources.insert(PathBuf::from(p));
        }
    }
}

/// Sources and outputs named inside the config files go writes.
fn config_facts(path: &str, contents: &str, f: &mut Facts) -> Result<(), String> {
    match base_name(path) {
        "importcfg" | "importcfg.link" => {
            for l in contents.lines() {
                if let Some((_, file)) = l
                    .strip_prefix("packagefile ")
                    .and_then(|r| r.split_once('='))
                {
                    if file.starts_with('/') {
                        f.sources.insert(PathBuf::from(file));
                    }
                }
            }
        }
        "embedcfg" => {
            let v: serde_json::Value =
                serde_json::from_str(contents).map_err(|e| format!("embedcfg is not JSON: {e}"))?;
            for file in v["Files"].as_object().into_iter().flat_map(|m| m.values()) {
                let file = file
                    .as_str()
                    .ok_or("embedcfg Files value is not a string")?;
                f.sources.insert(PathBuf::from(file));
            }
        }
        "vet.cfg" => {
            let v: serde_json::Value =
                serde_json::from_str(contents).map_err(|e| format!("vet.cfg is not JSON: {e}"))?;
            for key in ["GoFiles", "NonGoFiles"] {
                for file in v[key]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|x| x.as_str())
                {
                    f.sources.insert(PathBuf::from(file));
                }
            }
            for key in ["VetxOutput", "Stdout"] {
                if let Some(out) = v[key].as_str().filter(|o| !o.is_empty()) {
                    f.outputs.insert(out.to_owned());
                }
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undot_inverts_show_cmd() {
        assert_eq!(undot("./main.go", "/m/pfx"), "./main.go");
        assert_eq!(undot(".2/x.go", "/m/pfx"), "/m/pfx2/x.go");
        assert_eq!(undot(".", "/m"), ".");
        assert_eq!(undot("../x", "/m"), "../x");
        assert_eq!(undot("-I", "/m"), "-I");
    }

    #[test]
    fn action_paths() {
        assert_eq!(action_of_path("$WORK/b001/"), Some(ActionId(1)));
        assert_eq!(action_of_path("$WORK/b1000/x"), Some(ActionId(1000)));
        assert_eq!(action_of_path("$WORK/b01/x"), None);
        assert_eq!(action_of_path("$WORK/b001x"), None);
        assert_eq!(action_of_path("/tmp/out"), None);
        let m: Vec<_> =
            mentioned_actions("packagefile a=$WORK/b002/_pkg_.a\n\"$WORK/b1000=>\"").collect();
        assert_eq!(m, [ActionId(2), ActionId(1000)]);
    }

    #[test]
    fn resolve_paths() {
        assert_eq!(resolve("./_x001.o", "$WORK/b001"), "$WORK/b001/_x001.o");
        assert_eq!(resolve("add.c", "/m"), "/m/add.c");
        assert_eq!(resolve("/abs", "/m"), "/abs");
        assert_eq!(resolve("x", "/"), "/x");
    }

    #[test]
    fn cd_resolution() {
        assert_eq!(resolve_cd(".", "/start").as_deref(), Some("/start"));
        assert_eq!(
            resolve_cd("$WORK/b001", "/s").as_deref(),
            Some("$WORK/b001")
        );
        assert_eq!(resolve_cd("/", "/s").as_deref(), Some("/"));
        assert_eq!(resolve_cd("x", "/s"), None);
    }
}
