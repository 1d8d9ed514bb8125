//! Parse every fixture script `tests/fixtures/go*/<case>.txt` with the cwd
//! from its `<case>.json`, check structural invariants and snapshot the graph.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use godrv_script::{parse_script, ActionGraph, ActionId, ParseError};

/// Cases where go itself fails (when the metadata's exit code is not 0):
/// the parser must surface go's message, which contains the given text.
const FAILING: &[(&str, &str)] = &[
    ("compile-error", "example.com/missing"),
    ("newer-go", "go.mod requires go >= "),
];

struct Fixture {
    version: String,
    case: String,
    script: String,
    cwd: PathBuf,
    exit_code: Option<i64>,
}

fn fixtures() -> Vec<Fixture> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut out = Vec::new();
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .expect("fixtures dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.is_dir()
                && p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("go"))
        })
        .collect();
    dirs.sort();
    for dir in dirs {
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "txt"))
            .collect();
        files.sort();
        for txt in files {
            let meta_path = txt.with_extension("json");
            // A fixture being written right now may lack its metadata yet.
            let Ok(meta) = std::fs::read_to_string(&meta_path) else {
                continue;
            };
            let Ok(meta) = serde_json::from_str::<serde_json::Value>(&meta) else {
                continue;
            };
            let Some(cwd) = meta["cwd"].as_str() else {
                continue;
            };
            out.push(Fixture {
                version: dir.file_name().unwrap().to_string_lossy().into_owned(),
                case: txt.file_stem().unwrap().to_string_lossy().into_owned(),
                script: std::fs::read_to_string(&txt).unwrap(),
                cwd: PathBuf::from(cwd),
                exit_code: meta["exit_code"].as_i64(),
            });
        }
    }
    out
}

/// Distinct `$WORK/bNNN` directories the script creates with `mkdir -p`.
fn created_dirs(script: &str) -> BTreeSet<u32> {
    script
        .lines()
        .filter_map(|l| l.strip_prefix("mkdir -p $WORK/b"))
        .filter_map(|r| {
            let digits: String = r.chars().take_while(char::is_ascii_digit).collect();
            let tail = &r[digits.len()..];
            (digits.len() >= 3 && (tail.is_empty() || tail.starts_with('/')))
                .then(|| digits.parse().ok())
                .flatten()
        })
        .collect()
}

fn check_graph(f: &Fixture, g: &ActionGraph) -> Result<(), String> {
    let created = created_dirs(&f.script);
    let ids: BTreeSet<u32> = g.actions.keys().map(|id| id.0).collect();
    if ids != created {
        return Err(format!("actions {ids:?} != mkdir'd dirs {created:?}"));
    }
    // Every packagefile $WORK/... in an importcfg resolves to an action writing it.
    for action in g.actions.values() {
        for step in &action.steps {
            let godrv_script::Step::WriteFile { path, contents } = step else {
                continue;
            };
            if !path.ends_with("importcfg") && !path.ends_with("importcfg.link") {
                continue;
            }
            for file in contents
                .lines()
                .filter_map(|l| l.strip_prefix("packagefile "))
                .filter_map(|r| r.split_once('=').map(|(_, f)| f))
                .filter(|f| f.starts_with("$WORK/"))
            {
                let writer = g
                    .actions
                    .values()
                    .find(|a| a.outputs.contains(file))
                    .ok_or_else(|| format!("{}: no action writes {file}", action.id))?;
                if writer.id != action.id && !action.deps.contains(&writer.id) {
                    return Err(format!(
                        "{} reads {file} but does not depend on {}",
                        action.id, writer.id
                    ));
                }
            }
        }
        if action.cwd.as_os_str().is_empty() {
            return Err(format!("{} has no cwd", action.id));
        }
        for s in &action.sources {
            if !s.is_absolute() {
                return Err(format!("{}: relative source {}", action.id, s.display()));
            }
        }
    }
    let order = g.topological_order();
    if order.len() != g.actions.len() {
        return Err("topological order misses actions".into());
    }
    let pos: std::collections::BTreeMap<ActionId, usize> =
        order.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    for a in g.actions.values() {
        for d in &a.deps {
            if pos[d] >= pos[&a.id] {
                return Err(format!("{} ordered before its dep {d}", a.id));
            }
        }
    }
    Ok(())
}

#[test]
fn corpus() {
    let fixtures = fixtures();
    assert!(!fixtures.is_empty(), "no fixtures found");
    let mut failures = Vec::new();
    let mut graphs = Vec::new();
    let mut passed: std::collections::BTreeMap<String, (usize, usize)> = Default::default();
    for f in &fixtures {
        let result = parse_script(&f.script, &f.cwd);
        // Go 1.19 ignores a newer `go` line (exit code 0): then a graph is due.
        let expect_failure = FAILING
            .iter()
            .find(|(c, _)| *c == f.case)
            .filter(|_| f.exit_code != Some(0));
        let outcome = match (expect_failure, &result) {
            (Some((_, needle)), Err(ParseError::GoFailed { lines })) => {
                if lines.iter().any(|l| l.contains(needle)) {
                    Ok(())
                } else {
                    Err(format!("go's message lacks {needle:?}: {lines:?}"))
                }
            }
            (Some(_), other) => Err(format!(
                "expected GoFailed, got {:?}",
                other.as_ref().map(|_| "graph")
            )),
            (None, Ok(g)) => check_graph(f, g).map(|()| graphs.push((f, g.clone()))),
            (None, Err(e)) if f.exit_code.is_some_and(|c| c != 0) => {
                // go failed for a case we did not expect to fail: it must be
                // reported as go's failure, not as a parse error.
                match e {
                    ParseError::GoFailed { .. } => Ok(()),
                    other => Err(format!("go exited {:?} but got {other}", f.exit_code)),
                }
            }
            (None, Err(e)) => Err(e.to_string()),
        };
        let entry = passed.entry(f.version.clone()).or_default();
        entry.1 += 1;
        match outcome {
            Ok(()) => entry.0 += 1,
            Err(e) => failures.push(format!("{}/{}: {}", f.version, f.case, truncate(&e))),
        }
    }
    for (v, (ok, all)) in &passed {
        eprintln!("{v}: {ok}/{all} fixtures pass");
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    for (f, g) in graphs {
        snapshot(f, &g);
    }
}

fn truncate(s: &str) -> String {
    if s.len() > 600 {
        let mut end = 600;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &s[..end])
    } else {
        s.to_owned()
    }
}

fn snapshot(f: &Fixture, g: &ActionGraph) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    // go -x prints a random work dir; -n prints $WORK literally.
    settings.add_filter(r"/tmp/go-build[0-9]+", "$$WORK");
    // Long file bodies (importcfg.link, vet.cfg) would triple the snapshots;
    // keep their size and first line (the corpus checks their meaning).
    settings.add_dynamic_redaction(".actions.*.steps[].contents", |value, _| {
        match value.as_str() {
            Some(text) if text.len() > 240 => format!(
                "<{} bytes, {} lines, first: {}>",
                text.len(),
                text.lines().count(),
                text.lines().next().unwrap_or_default()
            )
            .into(),
            _ => value,
        }
    });
    settings.bind(|| {
        insta::assert_json_snapshot!(format!("{}__{}", f.version, f.case), g);
    });
}
