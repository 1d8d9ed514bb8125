//! The C compiler flags that `go build -n` cannot print.
//!
//! Before it adds an optional flag to a C compiler command, go checks that the compiler accepts it
//! by running a probe (`gcc -fdebug-prefix-map=a=b … -c -x c - -o /dev/null`). Under `-n` go prints
//! the probe (`… || true`) and assumes it failed, so the script's C commands lack the flags a real
//! `go build` passes: the ones that keep the work directory, the source directories and the
//! compiler's switches out of the objects' debug information. Without them a cgo binary names
//! `$WORK`, the source and the Go toolchain's store paths and differs from `go build`'s.
//!
//! [`probes`] lists the probes of a script (and the `-ffile-prefix-map` probe go would run after a
//! successful `-fdebug-prefix-map` one); the caller runs them with the build's C compiler and gives
//! the answers to [`complete_c_commands`], which drops the probe steps and adds the flags where
//! go's `compilerCmd` and `ccompile` (cmd/go/internal/work/exec.go, Go 1.24 to 1.27) put them:
//!
//! ```text
//! CC -I DIR -fPIC … [-fno-caret-diagnostics] [-Qunused-arguments] [-Wl,--no-gc-sections]
//!    -fmessage-length=0 [-ffile-prefix-map=$WORK/bNNN=/tmp/go-build] [-gno-record-gcc-switches]
//!    CFLAGS… [-ffile-prefix-map=MODULE_DIR=/_/MODULE] [-frandom-seed=SEED] -o OUT -c FILE
//! ```
//!
//! (`-fdebug-prefix-map` instead of `-ffile-prefix-map` when only the former works.) The seed go
//! uses is the action ID of a real build, which `-n` cannot know; godrv uses the package's import
//! path, so the seed is stable and does not change when a dependency does (C objects do not
//! depend on it unless they use LTO or C++ anonymous namespaces).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use godrv_script::{ActionGraph, Command, Step};

/// The flags go probes for, in the order `compilerCmd` adds those it puts before
/// `-fmessage-length=0`.
const BEFORE_MESSAGE_LENGTH: [&str; 3] = [
    "-fno-caret-diagnostics",
    "-Qunused-arguments",
    "-Wl,--no-gc-sections",
];
const DEBUG_PREFIX_MAP: &str = "-fdebug-prefix-map=a=b";
const FILE_PREFIX_MAP: &str = "-ffile-prefix-map=a=b";
const NO_RECORD_SWITCHES: &str = "-gno-record-gcc-switches";
const RANDOM_SEED: &str = "-frandom-seed=1";
const MESSAGE_LENGTH: &str = "-fmessage-length=0";

/// Every flag go probes for before using it in a C compiler command.
const PROBED: [&str; 7] = [
    BEFORE_MESSAGE_LENGTH[0],
    BEFORE_MESSAGE_LENGTH[1],
    BEFORE_MESSAGE_LENGTH[2],
    DEBUG_PREFIX_MAP,
    FILE_PREFIX_MAP,
    NO_RECORD_SWITCHES,
    RANDOM_SEED,
];

/// A compiler probe to run: its answer is whether `argv` exits with status 0 (stdin empty).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Probe {
    /// The compiler (the probe's `argv[0]`).
    pub compiler: String,
    /// The flag it checks, as go spells it (`-fdebug-prefix-map=a=b`).
    pub flag: String,
    /// The command, as the script prints it; run it in any directory with empty stdin.
    pub argv: Vec<String>,
}

/// The flag a probe command checks, if `cmd` is a probe.
fn probed_flag(cmd: &Command) -> Option<&'static str> {
    if !cmd.ignore_failure
        || !cmd
            .argv
            .ends_with(&["-x", "c", "-", "-o", "/dev/null"].map(String::from))
    {
        return None;
    }
    PROBED
        .into_iter()
        .find(|flag| cmd.argv.iter().any(|a| a == flag))
}

/// The distinct probes of `graph` (one per compiler and flag), plus the `-ffile-prefix-map` probe
/// go runs only after `-fdebug-prefix-map` succeeded.
pub fn probes(graph: &ActionGraph) -> Vec<Probe> {
    let mut found = BTreeMap::new();
    for step in graph.actions.values().flat_map(|a| &a.steps) {
        let Step::Run(cmd) = step else { continue };
        let Some(flag) = probed_flag(cmd) else {
            continue;
        };
        let compiler = cmd.argv[0].clone();
        found
            .entry((compiler.clone(), flag.to_string()))
            .or_insert_with(|| cmd.argv.clone());
        if flag == DEBUG_PREFIX_MAP {
            let argv: Vec<String> = cmd
                .argv
                .iter()
                .map(|a| {
                    if a == DEBUG_PREFIX_MAP {
                        FILE_PREFIX_MAP.to_string()
                    } else {
                        a.clone()
                    }
                })
                .collect();
            found
                .entry((compiler, FILE_PREFIX_MAP.to_string()))
                .or_insert(argv);
        }
    }
    found
        .into_iter()
        .map(|((compiler, flag), argv)| Probe {
            compiler,
            flag,
            argv,
        })
        .collect()
}

/// What the caller found out about the build's C compilers and packages.
#[derive(Clone, Debug, Default)]
pub struct CFacts {
    /// Per compiler (`argv[0]`), the probed flags it accepts.
    pub supported: BTreeMap<String, BTreeSet<String>>,
    /// Per import path of a package that compiles C, the directory go maps in its objects' debug
    /// information with `-trimpath` and what it maps it to: the module's directory and
    /// `/_/<module path>[@<version>]`, or for the standard library GOROOT and `/_/GOROOT`.
    pub trim: BTreeMap<String, (String, String)>,
    /// The build uses `-trimpath` (not with `allowGoReference = true`): go then maps the
    /// directories of every package's C files, else only the standard library's.
    pub trimpath: bool,
}

impl CFacts {
    fn accepts(&self, compiler: &str, flag: &str) -> bool {
        self.supported
            .get(compiler)
            .is_some_and(|flags| flags.contains(flag))
    }
}

/// The import paths of the packages in `graph` whose actions compile C files (`… -o OUT -c FILE`
/// after `-fmessage-length=0`) and are not in `goroot`: the packages [`CFacts::trim`] needs.
pub fn packages_compiling_c(graph: &ActionGraph, goroot: &Path) -> BTreeSet<String> {
    graph
        .actions
        .values()
        .filter(|a| {
            a.steps
                .iter()
                .any(|s| matches!(s, Step::Run(cmd) if is_c_compile(cmd)))
                && !a.sources.iter().any(|s| s.starts_with(goroot))
        })
        .filter_map(|a| a.package.clone())
        .collect()
}

/// `compilerCmd … -o OUT -c FILE`: one C (or assembler, C++) file compiled by `ccompile`.
fn is_c_compile(cmd: &Command) -> bool {
    let n = cmd.argv.len();
    !cmd.ignore_failure
        && n >= 4
        && cmd.argv[n - 2] == "-c"
        && cmd.argv[n - 4] == "-o"
        && cmd.argv.iter().any(|a| a == MESSAGE_LENGTH)
}

/// Why the C commands cannot be completed.
#[derive(Debug, thiserror::Error)]
pub enum CFlagsError {
    #[error(
        "action {action} ({package}) compiles C but the planner was not told its module directory (a bug in godrv: please report it)"
    )]
    NoTrim { action: String, package: String },
}

/// Drops the probe steps of `graph` and adds the probed flags that `facts` says the compiler
/// accepts to the C compiler commands, as a real `go build -trimpath` does.
pub fn complete_c_commands(
    graph: &mut ActionGraph,
    facts: &CFacts,
    goroot: &Path,
) -> Result<(), CFlagsError> {
    for action in graph.actions.values_mut() {
        action
            .steps
            .retain(|s| !matches!(s, Step::Run(cmd) if probed_flag(cmd).is_some()));
        let std = action.sources.iter().any(|s| s.starts_with(goroot));
        let package = action.package.clone().unwrap_or_default();
        let objdir = format!("$WORK/{}", action.id);
        for step in &mut action.steps {
            let Step::Run(cmd) = step else { continue };
            let Some(at) = cmd.argv.iter().position(|a| a == MESSAGE_LENGTH) else {
                continue;
            };
            let compiler = cmd.argv[0].clone();
            let c_compile = is_c_compile(cmd);
            let accepts = |flag: &str| facts.accepts(&compiler, flag);
            let prefix_map = if !accepts(DEBUG_PREFIX_MAP) {
                None
            } else if accepts(FILE_PREFIX_MAP) {
                Some("-ffile-prefix-map")
            } else {
                Some("-fdebug-prefix-map")
            };

            // compilerCmd: before and after -fmessage-length=0.
            let mut after = Vec::new();
            if let Some(map) = prefix_map {
                after.push(format!("{map}={objdir}=/tmp/go-build"));
            }
            if accepts(NO_RECORD_SWITCHES) {
                after.push(NO_RECORD_SWITCHES.to_string());
            }
            let before: Vec<String> = BEFORE_MESSAGE_LENGTH
                .into_iter()
                .filter(|f| accepts(f))
                .map(String::from)
                .collect();

            // ccompile: before `-o OUT -c FILE`.
            let mut tail = Vec::new();
            if c_compile {
                if let Some(map) = prefix_map.filter(|_| std || facts.trimpath) {
                    let (from, to) =
                        if std {
                            (
                                goroot.to_string_lossy().into_owned(),
                                "/_/GOROOT".to_string(),
                            )
                        } else {
                            facts.trim.get(&package).cloned().ok_or_else(|| {
                                CFlagsError::NoTrim {
                                    action: action.id.to_string(),
                                    package: package.clone(),
                                }
                            })?
                        };
                    tail.push(format!("{map}={from}={to}"));
                }
                if accepts(RANDOM_SEED) {
                    tail.push(format!("-frandom-seed={package}"));
                }
            }

            let n = cmd.argv.len();
            let mut argv = Vec::with_capacity(n + before.len() + after.len() + tail.len());
            argv.extend_from_slice(&cmd.argv[..at]);
            argv.extend(before);
            argv.push(MESSAGE_LENGTH.to_string());
            argv.extend(after);
            if c_compile {
                argv.extend_from_slice(&cmd.argv[at + 1..n - 4]);
                argv.extend(tail);
                argv.extend_from_slice(&cmd.argv[n - 4..]);
            } else {
                argv.extend_from_slice(&cmd.argv[at + 1..]);
            }
            cmd.argv = argv;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    const SCRIPT: &str = r#"
#
# example.com/cgo
#

mkdir -p $WORK/b001/
cd /src/cgo
TERM='dumb' CGO_LDFLAGS='' /go/pkg/tool/linux_amd64/cgo -objdir $WORK/b001/ -importpath example.com/cgo "-ldflags=\"-O2\" \"-g\"" -- -I $WORK/b001/ -O2 -g ./main.go
cd $WORK
gcc -fno-caret-diagnostics -O2 -g -c -x c - -o /dev/null || true
gcc -Qunused-arguments -O2 -g -c -x c - -o /dev/null || true
gcc -Wl,--no-gc-sections -O2 -g -x c - -o /dev/null || true
gcc -fdebug-prefix-map=a=b -O2 -g -c -x c - -o /dev/null || true
gcc -gno-record-gcc-switches -O2 -g -c -x c - -o /dev/null || true
gcc -I /src/cgo -fPIC -m64 -pthread -fmessage-length=0 -fdebug-prefix-map=a=b -O2 -g -c -x c - -o /dev/null || true
gcc -I /src/cgo -fPIC -m64 -pthread -fmessage-length=0 -frandom-seed=1 -O2 -g -c -x c - -o /dev/null || true
cd $WORK/b001
TERM='dumb' gcc -I /src/cgo -fPIC -m64 -pthread -fmessage-length=0 -I ./ -O2 -g -o ./_x001.o -c main.cgo2.c
cd /src/cgo
TERM='dumb' gcc -I . -fPIC -m64 -pthread -fmessage-length=0 -o $WORK/b001/_cgo_.o $WORK/b001/_x001.o -O2 -g
"#;

    fn graph() -> ActionGraph {
        godrv_script::parse_script(SCRIPT, Path::new("/src/cgo")).expect("parses")
    }

    fn runs(graph: &ActionGraph) -> Vec<Vec<String>> {
        graph
            .actions
            .values()
            .flat_map(|a| &a.steps)
            .filter_map(|s| match s {
                Step::Run(cmd) => Some(cmd.argv.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn lists_each_probe_once_and_adds_file_prefix_map() {
        let flags: Vec<String> = probes(&graph()).into_iter().map(|p| p.flag).collect();
        assert_eq!(
            flags,
            [
                "-Qunused-arguments",
                "-Wl,--no-gc-sections",
                "-fdebug-prefix-map=a=b",
                "-ffile-prefix-map=a=b",
                "-fno-caret-diagnostics",
                "-frandom-seed=1",
                "-gno-record-gcc-switches",
            ]
        );
        let file_map = probes(&graph())
            .into_iter()
            .find(|p| p.flag == FILE_PREFIX_MAP)
            .unwrap();
        assert_eq!(file_map.argv[1], FILE_PREFIX_MAP);
    }

    fn gcc_accepting(flags: &[&str]) -> CFacts {
        CFacts {
            supported: BTreeMap::from([(
                "gcc".to_string(),
                flags.iter().map(|f| f.to_string()).collect(),
            )]),
            trim: BTreeMap::from([(
                "example.com/cgo".to_string(),
                ("/src/cgo".to_string(), "/_/example.com/cgo".to_string()),
            )]),
            trimpath: true,
        }
    }

    #[test]
    fn adds_what_gcc_accepts_where_go_puts_it() {
        let mut g = graph();
        let facts = gcc_accepting(&[
            "-Wl,--no-gc-sections",
            DEBUG_PREFIX_MAP,
            FILE_PREFIX_MAP,
            NO_RECORD_SWITCHES,
            RANDOM_SEED,
        ]);
        complete_c_commands(&mut g, &facts, &PathBuf::from("/go")).unwrap();
        let runs = runs(&g);
        assert_eq!(
            runs.len(),
            3,
            "probes dropped, cgo + compile + link kept: {runs:?}"
        );
        assert_eq!(
            runs[1].join(" "),
            "gcc -I /src/cgo -fPIC -m64 -pthread -Wl,--no-gc-sections -fmessage-length=0 \
             -ffile-prefix-map=$WORK/b001=/tmp/go-build -gno-record-gcc-switches -I ./ -O2 -g \
             -ffile-prefix-map=/src/cgo=/_/example.com/cgo -frandom-seed=example.com/cgo \
             -o ./_x001.o -c main.cgo2.c"
        );
        assert_eq!(
            runs[2].join(" "),
            "gcc -I . -fPIC -m64 -pthread -Wl,--no-gc-sections -fmessage-length=0 \
             -ffile-prefix-map=$WORK/b001=/tmp/go-build -gno-record-gcc-switches \
             -o $WORK/b001/_cgo_.o $WORK/b001/_x001.o -O2 -g"
        );
    }

    #[test]
    fn debug_prefix_map_when_file_prefix_map_is_refused() {
        let mut g = graph();
        complete_c_commands(
            &mut g,
            &gcc_accepting(&[DEBUG_PREFIX_MAP]),
            Path::new("/go"),
        )
        .unwrap();
        let compile = runs(&g)[1].join(" ");
        assert!(
            compile.contains("-fmessage-length=0 -fdebug-prefix-map=$WORK/b001=/tmp/go-build -I")
        );
        assert!(compile.contains("-fdebug-prefix-map=/src/cgo=/_/example.com/cgo -o"));
    }

    #[test]
    fn nothing_accepted_leaves_the_commands_as_printed() {
        let mut g = graph();
        let before = runs(&g);
        complete_c_commands(&mut g, &gcc_accepting(&[]), Path::new("/go")).unwrap();
        let after = runs(&g);
        let kept: Vec<_> = before
            .into_iter()
            .filter(|a| !a.ends_with(&["/dev/null".to_string()]))
            .collect();
        assert_eq!(after, kept);
    }

    #[test]
    fn without_trimpath_only_the_work_directory_is_mapped() {
        let mut g = graph();
        let mut facts = gcc_accepting(&[FILE_PREFIX_MAP, DEBUG_PREFIX_MAP]);
        facts.trimpath = false;
        facts.trim.clear();
        complete_c_commands(&mut g, &facts, Path::new("/go")).unwrap();
        let compile = runs(&g)[1].join(" ");
        assert!(
            compile.contains("-ffile-prefix-map=$WORK/b001=/tmp/go-build"),
            "{compile}"
        );
        assert!(!compile.contains("/_/"), "{compile}");
    }

    #[test]
    fn a_package_without_trim_facts_is_an_error() {
        let mut g = graph();
        let mut facts = gcc_accepting(&[DEBUG_PREFIX_MAP]);
        facts.trim.clear();
        let err = complete_c_commands(&mut g, &facts, Path::new("/go")).unwrap_err();
        assert!(err.to_string().contains("example.com/cgo"), "{err}");
    }

    #[test]
    fn finds_packages_compiling_c() {
        assert_eq!(
            packages_compiling_c(&graph(), Path::new("/go")),
            BTreeSet::from(["example.com/cgo".to_string()])
        );
        assert!(packages_compiling_c(&graph(), Path::new("/src")).is_empty());
    }
}
