//! Source layouts of real repositories: where each planned command runs.

use std::path::PathBuf;

use godrv_plan::{plan, ExecStep, PlanOptions, PlannedAction, Roots};

/// A library at the repository root (example.com/lib, embedding `assets/`) and a command in
/// `cmd/x` with its own go.mod, `replace example.com/lib => ../../`: `go build -n` in `cmd/x`
/// (Go 1.27's form, build IDs left out) runs every compile in `cmd/x`, the main module's directory.
const NESTED_MODULE_SCRIPT: &str = r#"mkdir -p $WORK/b002/

#
# example.com/lib
#

echo '# import config' > $WORK/b002/importcfg # internal
cat >$WORK/b002/embedcfg << 'EOF' # internal
{
	"Patterns": {
		"assets": [
			"assets/hello.txt"
		]
	},
	"Files": {
		"assets/hello.txt": "SRC/assets/hello.txt"
	}
}EOF
cd SRC/cmd/x
/usr/lib/go-1.27/pkg/tool/linux_amd64/compile -o $WORK/b002/_pkg_.a -trimpath "SRC=>example.com/lib@v0.0.0;$WORK/b002=>" -p example.com/lib -lang=go1.19 -complete -goversion go1.27.3 -c=2 -nolocalimports -importcfg $WORK/b002/importcfg -embedcfg $WORK/b002/embedcfg -pack SRC/lib.go
mkdir -p $WORK/b001/

#
# example.com/lib/cmd/x
#

cat >$WORK/b001/importcfg << 'EOF' # internal
# import config
packagefile example.com/lib=$WORK/b002/_pkg_.a
EOF
/usr/lib/go-1.27/pkg/tool/linux_amd64/compile -o $WORK/b001/_pkg_.a -trimpath "SRC/cmd/x=>example.com/lib/cmd/x;$WORK/b001=>" -p main -lang=go1.19 -complete -goversion go1.27.3 -c=2 -nolocalimports -importcfg $WORK/b001/importcfg -pack ./main.go
cat >$WORK/b001/importcfg.link << 'EOF' # internal
packagefile example.com/lib/cmd/x=$WORK/b001/_pkg_.a
packagefile example.com/lib=$WORK/b002/_pkg_.a
EOF
mkdir -p $WORK/b001/exe/
cd .
/usr/lib/go-1.27/pkg/tool/linux_amd64/link -o $WORK/b001/exe/a.out -importcfg $WORK/b001/importcfg.link -buildmode=exe -buildid=x -extld=gcc $WORK/b001/_pkg_.a
mv $WORK/b001/exe/a.out x
"#;

fn run_dirs(action: &PlannedAction) -> Vec<&str> {
    action
        .spec
        .steps
        .iter()
        .filter_map(|s| match s {
            ExecStep::Run { cwd, .. } => Some(cwd.as_str()),
            _ => None,
        })
        .collect()
}

/// Regression: the library's compile ran in `$SRC/cmd/x`, a directory its source set (the
/// repository root's files and `assets/`) does not have, and could not start. It runs in the
/// deepest directory above that its source set has (the root); the command's own compile still
/// runs in `cmd/x`.
#[test]
fn a_package_above_the_main_module_compiles_in_a_directory_of_its_sources() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("repo");
    for (file, text) in [
        ("go.mod", "module example.com/lib\n"),
        ("lib.go", "package lib\n"),
        ("assets/hello.txt", "hello\n"),
        ("cmd/x/go.mod", "module example.com/lib/cmd/x\n"),
        ("cmd/x/main.go", "package main\n"),
    ] {
        let path = src.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let script = NESTED_MODULE_SCRIPT.replace("SRC", &src.to_string_lossy());
    let graph = godrv_script::parse_script(&script, &src.join("cmd/x")).unwrap();
    let roots = Roots {
        src_root: src.clone(),
        goroot: PathBuf::from("/usr/lib/go-1.27"),
        modcache: None,
    };
    let plan = plan(&graph, &roots, &PlanOptions::default()).unwrap();
    let by_package = |p: &str| {
        plan.actions
            .values()
            .find(|a| a.package.as_deref() == Some(p) && !a.sources.is_empty())
            .unwrap_or_else(|| panic!("no compile of {p} in {:?}", plan.actions.keys()))
    };
    let lib = by_package("example.com/lib");
    assert!(
        lib.sources.contains("lib.go") && lib.sources.contains("assets/hello.txt"),
        "{:?}",
        lib.sources
    );
    assert!(
        !lib.sources.iter().any(|f| f.starts_with("cmd/")),
        "{:?}",
        lib.sources
    );
    assert_eq!(run_dirs(lib), ["$SRC"]);
    let main = by_package("example.com/lib/cmd/x");
    assert_eq!(run_dirs(main), ["$SRC/cmd/x"]);
    let link = &plan.actions[&plan.top];
    assert_eq!(run_dirs(link), ["$WORK"]);
}
