//! Stage 2 on small hand-written scripts: one test per rule of the crate docs.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use godrv_script::{parse_script, ActionGraph, ActionId, ActionKind, Command, ParseError, Step};

const TOOL: &str = "/go/pkg/tool/linux_amd64";

fn parse(script: &str) -> ActionGraph {
    parse_script(script, Path::new("/m/pfx")).unwrap_or_else(|e| panic!("{e}"))
}

fn id(n: u32) -> ActionId {
    ActionId(n)
}

fn runs(steps: &[Step]) -> Vec<&Command> {
    steps
        .iter()
        .filter_map(|s| match s {
            Step::Run(c) => Some(c),
            _ => None,
        })
        .collect()
}

#[test]
fn action_id_text_forms() {
    assert_eq!(id(1).to_string(), "b001");
    assert_eq!(id(1000).to_string(), "b1000");
    assert_eq!("b042".parse::<ActionId>().unwrap(), id(42));
    assert!("b42".parse::<ActionId>().is_err());
    assert!("x001".parse::<ActionId>().is_err());
    assert_eq!(serde_json::to_string(&id(7)).unwrap(), "\"b007\"");
    assert_eq!(
        serde_json::from_str::<ActionId>("\"b1000\"").unwrap(),
        id(1000)
    );
}

#[test]
fn hello_like_script() {
    let script = [
        "",
        "#",
        "# example.com/lib",
        "#",
        "",
        "mkdir -p $WORK/b002/",
        "echo '# import config' > $WORK/b002/importcfg # internal",
        "cd /m/pfx",
        &format!("{TOOL}/compile -o $WORK/b002/_pkg_.a -trimpath \"$WORK/b002=>\" -p example.com/lib -pack ./lib/lib.go .2/x.go"),
        "go tool buildid -w $WORK/b002/_pkg_.a # internal",
        "",
        "#",
        "# example.com/hello",
        "#",
        "",
        "mkdir -p $WORK/b001/",
        "cat >$WORK/b001/importcfg << 'EOF' # internal",
        "# import config",
        "packagefile example.com/lib=$WORK/b002/_pkg_.a",
        "packagefile fmt=/go/pkg/linux_amd64/fmt.a",
        "EOF",
        &format!("{TOOL}/compile -o $WORK/b001/_pkg_.a -p main -pack ./main.go"),
        "cat >$WORK/b001/importcfg.link << 'EOF' # internal",
        "packagefile example.com/hello=$WORK/b001/_pkg_.a",
        "packagefile example.com/lib=$WORK/b002/_pkg_.a",
        "modinfo \"x\\ty\"",
        "EOF",
        "mkdir -p $WORK/b001/exe/",
        "cd .",
        &format!("GOROOT='/go' {TOOL}/link -o $WORK/b001/exe/a.out -importcfg $WORK/b001/importcfg.link $WORK/b001/_pkg_.a"),
        "mv $WORK/b001/exe/a.out hello",
        "rm -rf $WORK/b001/",
        "",
    ]
    .join("\n");
    let g = parse(&script);
    assert_eq!(g.topological_order(), [id(2), id(1)]);

    let lib = &g.actions[&id(2)];
    assert_eq!(lib.kind, ActionKind::Compile);
    assert_eq!(lib.package.as_deref(), Some("example.com/lib"));
    assert_eq!(lib.cwd, PathBuf::from("/m/pfx"));
    let sources: Vec<_> = lib.sources.iter().map(|p| p.to_str().unwrap()).collect();
    // `.2/x.go` is the sibling directory /m/pfx2 (go's textual shortening).
    assert_eq!(sources, ["/m/pfx/lib/lib.go", "/m/pfx2/x.go"]);
    let compile = runs(&lib.steps)[0];
    let n = compile.argv.len();
    assert_eq!(compile.argv[n - 1], "/m/pfx2/x.go");
    assert_eq!(compile.argv[n - 2], "./lib/lib.go");
    assert_eq!(compile.argv[4], "$WORK/b002=>");

    let main = &g.actions[&id(1)];
    assert_eq!(main.kind, ActionKind::Link);
    assert_eq!(main.package.as_deref(), Some("example.com/hello"));
    assert_eq!(main.deps, BTreeSet::from([id(2)]));
    assert!(main.outputs.contains("/m/pfx/hello"), "relative mv target");
    assert!(main.outputs.contains("$WORK/b001/_pkg_.a"));
    assert!(!main.outputs.contains("$WORK/b001/exe/a.out"), "moved away");
    assert!(main
        .sources
        .contains(Path::new("/go/pkg/linux_amd64/fmt.a")));
    let link = runs(&main.steps)[1];
    assert_eq!(link.env, [("GOROOT".to_owned(), "/go".to_owned())]);
    assert_eq!(link.cwd, PathBuf::from("/m/pfx"));
    assert!(
        matches!(&main.steps[1], Step::WriteFile { contents, .. } if contents == "# import config\npackagefile example.com/lib=$WORK/b002/_pkg_.a\npackagefile fmt=/go/pkg/linux_amd64/fmt.a\n")
    );
    assert!(matches!(main.steps.last(), Some(Step::Remove { path }) if path == "$WORK/b001/"));
}

#[test]
fn banner_after_mkdir_and_probes_join_next_action() {
    // Go 1.27 order: mkdir, cgo steps, banner in the middle; probes in $WORK.
    let script = [
        "mkdir -p $WORK/b003/",
        "cd /src/c",
        &format!("TERM='dumb' CGO_LDFLAGS='' {TOOL}/cgo -objdir $WORK/b003/ -importpath example.com/c \"-ldflags=\\\"-O2\\\" \\\"-g\\\"\" -- -I $WORK/b003/ ./c.go"),
        "cd $WORK",
        "gcc -fno-caret-diagnostics -c -x c - -o /dev/null || true",
        "cd $WORK/b003",
        "TERM='dumb' gcc -I ./ -o ./_x001.o -c _cgo_export.c",
        "",
        "#",
        "# example.com/c",
        "#",
        "",
        "gcc -o $WORK/b003/_cgo_.o $WORK/b003/_x001.o # test for internal linking errors (succeeded)",
        "echo '# import config' > $WORK/b003/importcfg # internal",
        "cd /src/c",
        &format!("{TOOL}/compile -o $WORK/b003/_pkg_.a -p example.com/c $WORK/b003/_cgo_gotypes.go"),
    ]
    .join("\n");
    let g = parse(&script);
    let a = &g.actions[&id(3)];
    assert_eq!(a.kind, ActionKind::Cgo);
    assert_eq!(a.package.as_deref(), Some("example.com/c"));
    assert_eq!(a.cwd, PathBuf::from("/src/c"));
    let runs = runs(&a.steps);
    assert_eq!(runs.len(), 4, "the internal-linking report is not a step");
    assert_eq!(runs[0].argv[5], "-ldflags=\"-O2\" \"-g\"");
    assert_eq!(
        runs[0].env,
        [
            ("TERM".into(), "dumb".into()),
            ("CGO_LDFLAGS".into(), String::new())
        ]
    );
    assert!(runs[1].ignore_failure);
    assert_eq!(runs[1].cwd, PathBuf::from("$WORK"));
    assert_eq!(runs[2].cwd, PathBuf::from("$WORK/b003"));
    assert!(a.outputs.contains("$WORK/b003/_x001.o"));
    assert!(a.sources.contains(Path::new("/src/c/c.go")));
}

#[test]
fn go_failures_carry_gos_lines() {
    let msg = "go: go.mod requires go >= 1.99 (running go 1.27.3; GOTOOLCHAIN=local)";
    let e = parse_script(&format!("{msg}\n"), Path::new("/m")).unwrap_err();
    assert_eq!(
        e,
        ParseError::GoFailed {
            lines: vec![msg.into()]
        }
    );

    let e = parse_script(
        "go: downloading example.com/missing v1.0.0\nmain.go:6:2: example.com/missing@v1.0.0: reading file:///goproxy: no such file\n",
        Path::new("/m"),
    )
    .unwrap_err();
    assert!(
        matches!(e, ParseError::GoFailed { ref lines } if lines.len() == 2),
        "{e:?}"
    );

    let e = parse_script(
        "pattern ./...: directory prefix . does not contain main module\n",
        Path::new("/m"),
    )
    .unwrap_err();
    assert!(matches!(e, ParseError::GoFailed { .. }), "{e:?}");
}

#[test]
fn up_to_date_script_has_no_actions() {
    let e = parse_script("touch /m/hello\n", Path::new("/m")).unwrap_err();
    assert_eq!(
        e,
        ParseError::NoActions {
            lines: vec!["touch /m/hello".into()]
        }
    );
}

#[test]
fn unknown_line_is_an_error_with_position() {
    let script = "mkdir -p $WORK/b001/\nfor x in y; do\n";
    let e = parse_script(script, Path::new("/m")).unwrap_err();
    assert_eq!(
        e,
        ParseError::Syntax {
            line: 2,
            column: 11,
            message: "unrecognized command form".into(),
            text: "for x in y; do".into()
        }
    );
    assert_eq!(
        e.to_string(),
        "line 2, column 11: unrecognized command form: \"for x in y; do\""
    );
}

#[test]
fn reference_to_missing_action_is_invalid() {
    let script = "mkdir -p $WORK/b001/\necho 'packagefile x=$WORK/b009/_pkg_.a' > $WORK/b001/importcfg # internal\n";
    let e = parse_script(script, Path::new("/m")).unwrap_err();
    assert!(matches!(e, ParseError::Invalid { line: 2, .. }), "{e:?}");
}

#[test]
fn cycles_are_rejected() {
    let script = "mkdir -p $WORK/b001/\nmkdir -p $WORK/b002/\ncp $WORK/b002/x $WORK/b001/x\ncp $WORK/b001/y $WORK/b002/y\n";
    let e = parse_script(script, Path::new("/m")).unwrap_err();
    assert_eq!(
        e,
        ParseError::Cycle {
            actions: vec!["b001".into(), "b002".into()]
        }
    );
}

#[test]
fn topological_order_breaks_ties_on_id() {
    let script = "mkdir -p $WORK/b003/\nmkdir -p $WORK/b001/\nmkdir -p $WORK/b002/\ncp $WORK/b003/x $WORK/b001/x\n";
    let g = parse(script);
    assert_eq!(g.topological_order(), [id(2), id(3), id(1)]);
    assert_eq!(g.actions[&id(1)].kind, ActionKind::Other);
    assert_eq!(g.actions[&id(1)].cwd, PathBuf::from("/m/pfx"));
}

#[test]
fn relative_start_dir_is_rejected() {
    let e = parse_script("mkdir -p $WORK/b001/\n", Path::new("rel")).unwrap_err();
    assert!(matches!(e, ParseError::StartDir(_)));
}

#[test]
fn testmain_is_supplied_by_the_planner() {
    let script = [
        "mkdir -p $WORK/b001/",
        "echo '# import config' > $WORK/b001/importcfg # internal",
        "cd /m",
        &format!("{TOOL}/compile -o $WORK/b001/_pkg_.a -p main -pack $WORK/b001/_testmain.go"),
        "cd .",
        &format!("{TOOL}/link -o $WORK/b001/x.test -importcfg $WORK/b001/importcfg.link $WORK/b001/_pkg_.a"),
        "mv $WORK/b001/x.test /m/x.test",
    ]
    .join("\n");
    let g = parse(&script);
    assert_eq!(g.actions[&id(1)].kind, ActionKind::TestMain);
    assert!(g.actions[&id(1)].outputs.contains("/m/x.test"));
}

#[test]
fn embedcfg_files_are_sources() {
    let script = [
        "mkdir -p $WORK/b001/",
        "cat >$WORK/b001/embedcfg << 'EOF' # internal",
        "{",
        "\t\"Patterns\": {\"static\": [\"static/a b.txt\"]},",
        "\t\"Files\": {\"static/a b.txt\": \"/m/static/a b.txt\"}",
        "}EOF",
        "",
    ]
    .join("\n");
    let g = parse(&script);
    let a = &g.actions[&id(1)];
    assert!(a.sources.contains(Path::new("/m/static/a b.txt")));
    assert!(
        matches!(&a.steps[1], Step::WriteFile { contents, .. } if contents.ends_with("\"}\n}"))
    );
}

#[test]
fn dot_words_are_literal_after_cd_dot_and_before_any_cd() {
    let script = [
        "mkdir -p $WORK/b001/",
        &format!("{TOOL}/compile -o $WORK/b001/_pkg_.a .hidden/x.go"),
        "cd .",
        &format!("{TOOL}/link -o $WORK/b001/a.out .y.go"),
        "cd /",
        &format!("{TOOL}/link -o $WORK/b001/b.out .z.go"),
    ]
    .join("\n");
    let g = parse(&script);
    let a = &g.actions[&id(1)];
    let last: Vec<&str> = runs(&a.steps)
        .iter()
        .map(|c| c.argv.last().unwrap().as_str())
        .collect();
    assert_eq!(last, [".hidden/x.go", ".y.go", ".z.go"]);
    let sources: Vec<_> = a.sources.iter().map(|p| p.to_str().unwrap()).collect();
    assert_eq!(sources, ["/.z.go", "/m/pfx/.hidden/x.go", "/m/pfx/.y.go"]);
}
