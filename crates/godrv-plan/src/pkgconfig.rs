//! `#cgo pkg-config:` — the flags `go build -n` leaves out.
//!
//! For a cgo package with `#cgo pkg-config: NAME…`, go runs `pkg-config --cflags -- NAME…` and
//! `pkg-config --libs -- NAME…` and splices their output into the package's cgo and C compiler
//! commands. With `-n` it only *prints* the two commands and goes on with empty output, so the
//! script's commands lack those flags. The planner therefore runs the queries itself (the caller
//! does, see [`queries`]: running programs is not this crate's job) and [`apply`] edits the action
//! as go would have written it:
//!
//! - the two `pkg-config` steps are dropped (the flags are now in the commands; the builder needs
//!   no pkg-config);
//! - `cgo -objdir DIR … [-ldflags=…] -- CPPFLAGS -I DIR CFLAGS FILES`: the `--cflags` words go
//!   before `-I DIR`, the `--libs` words are appended to `-ldflags=` (each Go-quoted, as go's
//!   `strconv.Quote`); without a `-ldflags=` go would have added one and `CGO_LDFLAGS=` to the
//!   environment;
//! - every C/C++/Fortran compile of the action (`… -I DIR … -c FILE`, `DIR` being the objdir or
//!   `./` when go runs it inside the objdir): the `--cflags` words go before `-I DIR`;
//! - the C link of `_cgo_.o` (for `cgo -dynimport`): the `--libs` words go at the end.
//!
//! Not reproduced: go's allow-list check of the flags (`CGO_CFLAGS_ALLOW`…), and the
//! `preferlinkext` marker go writes when pkg-config's flags rule out internal linking (`-static`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use godrv_script::{ActionGraph, ActionId, Command, GoTool, Step};

/// The two queries go printed for one cgo package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    pub action: ActionId,
    /// The package directory go runs them in.
    pub cwd: PathBuf,
    /// `pkg-config --cflags [FLAGS] -- NAME…`, as go printed it.
    pub cflags: Vec<String>,
    /// `pkg-config --libs [FLAGS] -- NAME…`.
    pub libs: Vec<String>,
}

/// What pkg-config answered for one package, split into words as go splits it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Flags {
    pub cflags: Vec<String>,
    pub libs: Vec<String>,
}

/// Why the flags cannot be put into an action.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum PkgConfigError {
    #[error("{0} in pkg-config's output {1:?}")]
    Split(&'static str, String),
    #[error(
        "action {action} runs pkg-config but has no `cgo -objdir` command to give the flags to"
    )]
    NoCgo { action: ActionId },
}

/// Whether a command is one of go's pkg-config queries: `PROGRAM --cflags|--libs [--FLAG…] -- NAME…`
/// (the program is `$PKG_CONFIG` or `pkg-config`, so it is not matched by name).
fn query_kind(cmd: &Command) -> Option<&str> {
    match cmd.argv.as_slice() {
        [_, kind, rest @ ..]
            if (kind == "--cflags" || kind == "--libs") && rest.iter().any(|a| a == "--") =>
        {
            Some(kind)
        }
        _ => None,
    }
}

/// The pkg-config queries of every action of `graph`.
pub fn queries(graph: &ActionGraph) -> Vec<Query> {
    let mut out = Vec::new();
    for (id, action) in &graph.actions {
        let mut cflags = None;
        let mut libs = None;
        let mut cwd = None;
        for step in &action.steps {
            if let Step::Run(cmd) = step {
                match query_kind(cmd) {
                    Some("--cflags") => cflags = Some(cmd.argv.clone()),
                    Some(_) => libs = Some(cmd.argv.clone()),
                    None => continue,
                }
                cwd.get_or_insert_with(|| cmd.cwd.clone());
            }
        }
        if let (Some(cflags), Some(libs), Some(cwd)) = (cflags, libs, cwd) {
            out.push(Query {
                action: *id,
                cwd,
                cflags,
                libs,
            });
        }
    }
    out
}

/// Puts each action's pkg-config flags into its commands and drops its pkg-config steps.
pub fn apply(
    graph: &mut ActionGraph,
    flags: &BTreeMap<ActionId, Flags>,
) -> Result<(), PkgConfigError> {
    for (id, flags) in flags {
        let Some(action) = graph.actions.get_mut(id) else {
            continue;
        };
        action
            .steps
            .retain(|s| !matches!(s, Step::Run(cmd) if query_kind(cmd).is_some()));
        let objdir = action
            .steps
            .iter()
            .find_map(|s| match s {
                Step::Run(cmd) if is_cgo_objdir(cmd) => cmd
                    .argv
                    .windows(2)
                    .find(|w| w[0] == "-objdir")
                    .map(|w| w[1].clone()),
                _ => None,
            })
            .ok_or(PkgConfigError::NoCgo { action: *id })?;
        let dynobj = format!("{objdir}_cgo_.o");
        for step in &mut action.steps {
            let Step::Run(cmd) = step else { continue };
            if cmd.ignore_failure {
                continue; // compiler probes
            }
            if is_cgo_objdir(cmd) {
                edit_cgo(cmd, &objdir, flags);
            } else if cmd.argv.windows(2).any(|w| w[0] == "-o" && w[1] == dynobj) {
                cmd.argv.extend(flags.libs.iter().cloned());
            } else if cmd.argv.iter().any(|a| a == "-c") {
                if let Some(at) = objdir_include(&cmd.argv[1..], &objdir) {
                    let at = at + 1;
                    cmd.argv.splice(at..at, flags.cflags.iter().cloned());
                }
            }
        }
    }
    Ok(())
}

/// `…/cgo -objdir DIR …` (not `cgo -dynimport`).
fn is_cgo_objdir(cmd: &Command) -> bool {
    GoTool::invoked_by(&cmd.argv).is_some_and(|(_, tool)| tool == GoTool::Cgo)
        && cmd.argv.iter().any(|a| a == "-objdir")
}

/// Index of the `-I` that names the objdir (`DIR` or `./`).
fn objdir_include(argv: &[String], objdir: &str) -> Option<usize> {
    argv.windows(2)
        .position(|w| w[0] == "-I" && (w[1] == objdir || w[1] == "./"))
}

fn edit_cgo(cmd: &mut Command, objdir: &str, flags: &Flags) {
    let dashdash = cmd
        .argv
        .iter()
        .position(|a| a == "--")
        .unwrap_or(cmd.argv.len());
    if !flags.libs.is_empty() {
        let quoted: Vec<String> = flags
            .libs
            .iter()
            .map(|f| godrv_script::quote::go_quote(f))
            .collect();
        match cmd.argv[..dashdash]
            .iter()
            .position(|a| a.starts_with("-ldflags="))
        {
            Some(at) => {
                let arg = &mut cmd.argv[at];
                if arg != "-ldflags=" {
                    arg.push(' ');
                }
                arg.push_str(&quoted.join(" "));
            }
            None => {
                cmd.argv
                    .insert(dashdash, format!("-ldflags={}", quoted.join(" ")));
                if !cmd.env.iter().any(|(k, _)| k == "CGO_LDFLAGS") {
                    cmd.env.push(("CGO_LDFLAGS".to_string(), String::new()));
                }
            }
        }
    }
    let dashdash = cmd
        .argv
        .iter()
        .position(|a| a == "--")
        .unwrap_or(cmd.argv.len());
    let at = objdir_include(&cmd.argv[dashdash..], objdir)
        .map_or(dashdash + 1, |i| dashdash + i)
        .min(cmd.argv.len());
    cmd.argv.splice(at..at, flags.cflags.iter().cloned());
}

/// Splits pkg-config's output into words as go's `splitPkgConfigOutput` does (POSIX shell
/// quoting; shell operators are errors).
pub fn split_output(out: &str) -> Result<Vec<String>, PkgConfigError> {
    let bad = |what| PkgConfigError::Split(what, out.to_string());
    let mut flags = Vec::new();
    let mut flag = String::new();
    let (mut did_quote, mut escaped, mut quote) = (false, false, None::<char>);
    for c in out.trim().chars() {
        if escaped {
            escaped = false;
            if quote == Some('"') && !matches!(c, '$' | '`' | '"' | '\\' | '\n') {
                flag.push('\\');
                flag.push(c);
                continue;
            }
            if c != '\n' {
                flag.push(c);
            }
            continue;
        }
        if quote == Some(c) {
            quote = None;
            continue;
        }
        match quote {
            Some('\'') => {
                flag.push(c);
                continue;
            }
            Some(_) if !matches!(c, '`' | '$' | '\\') => {
                flag.push(c);
                continue;
            }
            _ => {}
        }
        match c {
            '|' | '&' | ';' | '<' | '>' | '(' | ')' | '$' | '`' => {
                return Err(bad("an unexpected shell character"))
            }
            '\\' => escaped = true,
            '"' | '\'' => {
                quote = Some(c);
                did_quote = true;
            }
            ' ' | '\t' | '\n' => {
                if !flag.is_empty() || did_quote {
                    flags.push(std::mem::take(&mut flag));
                }
                did_quote = false;
            }
            c => flag.push(c),
        }
    }
    if quote.is_some() {
        return Err(bad("an unterminated quoted string"));
    }
    if escaped {
        return Err(bad("a broken character escape"));
    }
    if !flag.is_empty() || did_quote {
        flags.push(flag);
    }
    Ok(flags)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(words: &[&str]) -> Vec<String> {
        words.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn splits_like_go() {
        assert_eq!(
            split_output("-I/x/include  -DA=1\n").unwrap(),
            ["-I/x/include", "-DA=1"]
        );
        assert_eq!(
            split_output(r#"-I"/a b" '-DX=y z' -DQ=\"q\" "" "#).unwrap(),
            ["-I/a b", "-DX=y z", "-DQ=\"q\"", ""]
        );
        assert_eq!(split_output(r#""a\b""#).unwrap(), [r"a\b"]);
        assert_eq!(split_output("").unwrap(), Vec::<String>::new());
        assert!(split_output("-la; rm -rf /").is_err());
        assert!(split_output("'open").is_err());
    }

    #[test]
    fn quotes_like_strconv_quote() {
        assert_eq!(godrv_script::quote::go_quote("-lz"), r#""-lz""#);
        assert_eq!(
            godrv_script::quote::go_quote(r#"-DX="a\b""#),
            r#""-DX=\"a\\b\"""#
        );
    }

    fn run(cwd: &str, argv: &[&str]) -> Step {
        Step::Run(Command {
            cwd: PathBuf::from(cwd),
            env: vec![],
            argv: strings(argv),
            ignore_failure: false,
        })
    }

    /// The cgo part of a `go build -n` script (Go 1.27) for `#cgo pkg-config: greet`.
    fn graph() -> ActionGraph {
        let script = r#"mkdir -p $WORK/b001/
cd /src
pkg-config --cflags -- greet
pkg-config --libs -- greet
TERM='dumb' CGO_LDFLAGS='' /go/pkg/tool/linux_amd64/cgo -objdir $WORK/b001/ -importpath example.com/x "-ldflags=\"-O2\" \"-g\"" -- -I $WORK/b001/ -O2 -g ./main.go
cd $WORK
gcc -fno-caret-diagnostics -c -x c - -o /dev/null || true
cd $WORK/b001
TERM='dumb' gcc -I /src -fPIC -m64 -pthread -fmessage-length=0 -I ./ -O2 -g -o ./_x001.o -c _cgo_export.c
cd /src
TERM='dumb' gcc -I . -fPIC -m64 -pthread -fmessage-length=0 -o $WORK/b001/_cgo_.o $WORK/b001/_cgo_main.o $WORK/b001/_x001.o -O2 -g
TERM='dumb' /go/pkg/tool/linux_amd64/cgo -dynpackage main -dynimport $WORK/b001/_cgo_.o -dynout $WORK/b001/_cgo_import.go
"#;
        godrv_script::parse_script(script, std::path::Path::new("/src")).unwrap()
    }

    fn argvs(graph: &ActionGraph) -> Vec<Vec<String>> {
        graph
            .actions
            .values()
            .next()
            .unwrap()
            .steps
            .iter()
            .filter_map(|s| match s {
                Step::Run(cmd) => Some(cmd.argv.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn finds_the_queries_and_puts_the_flags_where_go_would() {
        let mut graph = graph();
        let found = queries(&graph);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].cwd, PathBuf::from("/src"));
        assert_eq!(found[0].cflags, ["pkg-config", "--cflags", "--", "greet"]);
        assert_eq!(found[0].libs, ["pkg-config", "--libs", "--", "greet"]);
        let flags = Flags {
            cflags: strings(&["-I/g/include"]),
            libs: strings(&["-L/g/lib", "-lgreet"]),
        };
        apply(&mut graph, &BTreeMap::from([(found[0].action, flags)])).unwrap();
        let argvs = argvs(&graph);
        assert!(argvs.iter().all(|a| a[0] != "pkg-config"), "{argvs:?}");
        assert_eq!(
            argvs[0][5..],
            strings(&[
                r#"-ldflags="-O2" "-g" "-L/g/lib" "-lgreet""#,
                "--",
                "-I/g/include",
                "-I",
                "$WORK/b001/",
                "-O2",
                "-g",
                "./main.go"
            ])
        );
        // the probe is untouched
        assert_eq!(argvs[1][1], "-fno-caret-diagnostics");
        assert_eq!(
            argvs[2][6..11],
            strings(&["-fmessage-length=0", "-I/g/include", "-I", "./", "-O2"])
        );
        assert_eq!(
            argvs[3][argvs[3].len() - 4..],
            strings(&["-O2", "-g", "-L/g/lib", "-lgreet"])
        );
        assert!(argvs[4].contains(&"-dynimport".to_string()));
        assert_eq!(argvs[4].len(), 7);
    }

    #[test]
    fn without_cgo_ldflags_go_adds_the_option_and_clears_the_variable() {
        let mut cmd = match run(
            "/src",
            &[
                "cgo",
                "-objdir",
                "$WORK/b001/",
                "--",
                "-I",
                "$WORK/b001/",
                "x.go",
            ],
        ) {
            Step::Run(c) => c,
            _ => unreachable!(),
        };
        edit_cgo(
            &mut cmd,
            "$WORK/b001/",
            &Flags {
                cflags: vec![],
                libs: strings(&["-lz"]),
            },
        );
        assert_eq!(
            cmd.argv,
            strings(&[
                "cgo",
                "-objdir",
                "$WORK/b001/",
                r#"-ldflags="-lz""#,
                "--",
                "-I",
                "$WORK/b001/",
                "x.go"
            ])
        );
        assert_eq!(cmd.env, [("CGO_LDFLAGS".to_string(), String::new())]);
    }
}
