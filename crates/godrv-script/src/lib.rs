//! Parse the script `go build -n` prints into a typed action graph.
//!
//! `go build -n` (also `go test -c -n`, `go install -n`) prints on stderr the
//! shell-like script it would run. [`parse_script`] reads it in two stages:
//!
//! 1. **Lines** ([`lines`]): the text is split into logical lines (a heredoc
//!    and its body are one) and each is parsed by one small nom production
//!    into a [`lines::Line`]. A line no production accepts is an error with
//!    line, column and text; nothing is dropped silently.
//! 2. **Graph** (`build`): lines are grouped into one [`Action`] per
//!    `$WORK/bNNN` directory, `cd` state is resolved into every command's
//!    cwd, and each action gets its kind, package, outputs, sources and
//!    dependencies. The result is an [`ActionGraph`] (ordered maps; same
//!    input, same JSON).
//!
//! # Grammar
//!
//! `RAW-PATH` is printed verbatim (may contain spaces, runs to the end of the
//! line or to the marked separator); `WORD` is bare (none of space, `"`,
//! `\`, `(`, `)`, `>`, `;`: go quotes words holding them, so shell syntax
//! fails to parse) or Go-quoted (`strconv.Quote`, see [`quote`]).
//!
//! ```text
//! blank        = ""                                     (ignored)
//! banner       = "#" | "# " TEXT                        (package banner)
//! not-created  = "# " PATH " not created"               (ignored)
//! go-message   = "go: " TEXT                            (not script; see failures)
//! work         = "WORK=" DIR                            (ignored; -x only)
//! cd           = "cd " RAW-PATH                         ("." = start dir)
//! mkdir        = "mkdir -p " RAW-PATH
//! heredoc      = "cat >" RAW-PATH " << 'EOF'" [" # internal"] NL BODY "EOF"
//! echo         = "echo -n > " RAW-PATH " # internal"           (empty file)
//!              | "echo '" RAW-TEXT "' > " RAW-PATH [" # internal"]  (TEXT + NL)
//!              | "echo '" RAW-TEXT "' >> " RAW-PATH             (append)
//!              | "echo > " RAW-PATH                             (NL)
//! cat-internal = "cat " WORD "  # internal"             (two spaces)
//! mv           = "mv " RAW-PATH " " RAW-PATH
//! cp           = "cp " RAW-PATH " " RAW-PATH | "cp " WORD " " WORD " # internal"
//! ln           = "ln -s " RAW-PATH " " RAW-PATH
//! rm           = ("rm -rf " | "rm -r -f " | "rm -r ") RAW-PATH
//! touch        = "touch " RAW-PATH
//! command      = (ENV " ")* PROGRAM (" " WORD)* [" || true"]
//!                [" # internal" | " # test for internal linking errors (" TEXT ")"]
//! ENV          = NAME "='" RAW-VALUE "'" | NAME "=" GO-QUOTED   (RAW-VALUE has no ')
//! PROGRAM      = WORD that is an absolute path, a "$WORK/" path, or a name of
//!                [A-Za-z0-9_.+-] (gcc, x86_64-linux-gnu-gcc, go, ...)
//! ```
//!
//! The heredoc `BODY` is raw; the terminator is the first line *ending* in
//! `EOF`, because go glues `EOF` to the last line when the body lacks a final
//! newline (`}EOF` in `embedcfg`). A body with a line ending in `EOF` is
//! therefore cut short (go's format cannot tell). `RAW-TEXT` of `echo` is
//! printed unescaped and may hold `'`; the last `' > ` ends it.
//!
//! Two unquoted paths (`mv`, `cp`, `ln`) are split at the only space
//! followed by `$WORK/`; else, if the first path is in `$WORK` (go's names
//! there hold no spaces), at the first space; else at the only space
//! followed by `/`; anything else is an ambiguity error. Relative paths of
//! these builtins (`mv $WORK/b001/exe/a.out hello` when no `-o` is given)
//! are relative to go's own directory, `start_dir`: stage 2 makes them
//! absolute.
//!
//! Not supported (a syntax error if met): `\` continuations, `gccgo`'s
//! `ar` steps, any other shell construct.
//!
//! # From lines to actions
//!
//! * **Grouping**: an action is a `$WORK/bNNN` directory. A line belongs to
//!   the action of the path it writes: `mkdir`/heredoc/`echo`/`rm`/`touch`
//!   path; `mv`/`cp`/`ln` destination if in `$WORK`, else source; a command's
//!   `-o` value, else its first word mentioning `$WORK/bNNN`, else its cwd
//!   (cgo's C compiles run in `$WORK/bNNN` with `./` paths). Banners do not
//!   delimit actions (from Go 1.26 an action's `mkdir` and cgo steps print
//!   before its banner; test variants reuse banners): a banner names the
//!   action of the next line that has one.
//! * **Lines with no action** (`gcc … || true` compiler probes in `cd $WORK`,
//!   `mkdir -p /out/dir/`, `cat CACHEFILE  # internal`) join the next line's
//!   action; at the end of the script, the last action.
//! * **Dropped lines**: blanks, banners, `go: ` progress, `WORK=`, `cd` (folded
//!   into cwds), `# … not created`, and `# test for internal linking errors`
//!   lines: go reprints there the C link it just ran, so it is not a step.
//! * **cwd**: before any `cd`, and after `cd .`, commands run in `start_dir`
//!   (go never prints its own directory). Go prints `cd` only when the
//!   directory changes, and runs some commands (`buildid -w`, `pack`) in its
//!   own directory without a `cd`; they use absolute or `$WORK` paths, so
//!   the script's cwd is used for them. Cwds in `$WORK` stay `$WORK`-rooted.
//! * **`.` paths**: go replaces ` DIR` with ` .` textually in commands run
//!   in DIR (`ShowCmd` in cmd/go/internal/work/shell.go), so a word `.2/x.go`
//!   in `/m/pfx` is `/m/pfx2/x.go`. Bare words starting with `.` other than
//!   `.`, `..`, `./…`, `../…` are made absolute (cwd + rest); `./…` words
//!   stay as printed (they mean the same relative to cwd). This applies only
//!   after a `cd DIR` other than `cd .` and `cd /` (go abbreviates neither
//!   `.` nor `/`, and nothing before its first `cd`). Quoted words and env
//!   values are left alone (go's replacement may also have hit spaces inside
//!   them; that cannot be undone).
//! * **deps**: every `$WORK/bNNN` other than its own that an action's steps
//!   mention (arguments, env values, `importcfg`/`importcfg.link`
//!   `packagefile` lines, `vet.cfg`, `-pgoprofile=`, `cp`/`mv` sources).
//! * **outputs**: paths written by heredocs/`echo`/`cp`/`mv`/`ln`/`touch`
//!   steps, and command words after `-o`, `-dynout`, `-asmhdr`, `pack r`,
//!   plus `VetxOutput`/`Stdout` of a `vet.cfg`; relative ones resolved
//!   against the cwd; `/dev/null` excluded; a `mv` source is removed (the
//!   final `mv $WORK/b001/exe/a.out /abs/hello` leaves `/abs/hello`).
//!   `rm -rf` does not remove outputs (go cleans up after the link). Files
//!   cgo writes into its `-objdir` are not listed.
//! * **sources**: absolute files outside `$WORK` read by commands (arguments
//!   with a source extension: `.go .s .S .c .cc .cpp .h .syso .pgo .a .o`…,
//!   and `-pgoprofile=`), `cp` sources, absolute `packagefile` targets
//!   (Go ≤ 1.19 precompiled std `.a`), `embedcfg` `Files`, `vet.cfg`
//!   `GoFiles`/`NonGoFiles`. Headers found through `-I` are not listed.
//! * **kind**, first match: `TestMain` if it compiles a `$WORK/…/_testmain.go`
//!   no step writes (it also links the test binary: go compiles and links
//!   in the same `$WORK/bNNN`); `Link` if it runs `link` (likewise, a main
//!   package's compile is in its link action); `Cgo` if it runs `cgo`;
//!   `Compile` if it runs `compile`; else `Other` (`preprofile`, vet-only
//!   dirs of Go 1.19's precompiled std packages).
//! * **package**: compile's `-p` unless `main`, else the banner's first word
//!   (`example.com/hello`, `example.com/x.test`), else `-p main`.
//!
//! # Failures
//!
//! A `go: ` line other than progress (`downloading`, `finding`, `extracting`,
//! `found`, `warning:`), or unparseable lines in a script that creates no
//! `$WORK/bNNN`, mean go failed: [`ParseError::GoFailed`] carries go's
//! lines. A script that parses but has no action (everything up to date in
//! go's cache) is [`ParseError::NoActions`].

//!
//! # Notes for consumers (and deviations from the first sketch of the types)
//!
//! * [`Step`] has, besides `Mkdir`, `WriteFile`, `Run`, `Move`, `Copy`,
//!   `Remove`: `Cat` (`cat F  # internal` only *prints* a cached output file
//!   from go's build cache; replaying it is a no-op), `AppendFile`
//!   (`echo 'T' >> F`), `Touch` and `Symlink`. Their paths are absolute or
//!   `$WORK`-rooted (relative ones resolved against `start_dir`).
//! * [`ActionKind`] has no `Asm`: assembly is always part of a compile action.
//! * [`Action::tools`]: the programs of Go's toolchain the action's commands
//!   run ([`GoTool`], read from an argv by [`GoTool::invoked_by`] only). The
//!   planner carries them into `PlannedAction::tools`, which the Nix front end
//!   reads (an action that runs `cgo` gets the C compiler); nothing else looks
//!   at the words for it.
//! * [`Command::cwd`] and [`Action::cwd`] are absolute **or `$WORK`-rooted**
//!   (`$WORK`, `$WORK/b001`): cgo's C compiles run in the object directory
//!   with `./` paths, and C compiler probes in `$WORK`.
//! * Steps go performs itself are kept as `Run` steps with go's argv:
//!   `go tool pack r A.a X.o…` / `…/pkg/tool/…/pack r …` (1.19–1.24 print the
//!   tool path, 1.25+ `go tool`), `… buildid -w FILE`. Probes (`… || true`)
//!   are `Run` steps with `ignore_failure`.
//! * A main package's compile and link share one `$WORK/bNNN` and thus one
//!   `Link` action, whose outputs include `$WORK/bNNN/_pkg_.a` and the final
//!   `mv` target (absolute), not `exe/a.out`. Go ≥ 1.23 ends it with
//!   `rm -rf $WORK/bNNN/`. `go test -c`: the `TestMain` action compiles
//!   `$WORK/b001/_testmain.go` (never written by the script) and links
//!   `$WORK/b001/NAME.test`; vet steps write `vet.cfg` into the directories of
//!   compiled packages, so a `Compile` action may also run `vet`.
//! * Go ≤ 1.19 uses precompiled std archives: `packagefile
//!   fmt=/usr/lib/go-1.19/pkg/linux_amd64/fmt.a` is a source, not an action.
//! * Scripts must come from an **empty `GOCACHE`**: with cached results go
//!   prints fewer actions (or only `touch TARGET`, [`ParseError::NoActions`]),
//!   and importcfg lines may then name files in the cache (they appear as
//!   sources).
//!
//! # Not resolved
//!
//! * go's ` DIR` → ` .` shortening inside Go-quoted words and env values
//!   cannot be undone (seen only if a flag value holds ` DIR…`).
//! * A heredoc body with a line ending in `EOF` ends early (go's format).
//! * `ar` (gccgo), `-linkshared` and other modes not in the corpus; unknown
//!   forms fail loudly with their line and column.
//! * Outputs that cgo or cover write implicitly (files in `-objdir`, the
//!   `-outfilelist` files) are not listed; headers found via `-I` are not
//!   sources.

mod build;
mod error;
mod graph;
pub mod lines;
pub mod quote;
mod tool;

use std::path::Path;

pub use error::ParseError;
pub use graph::{Action, ActionGraph, ActionId, ActionKind, BadActionId, Command, Step};
pub use quote::{join_words, quote_word, unquote_word, UnquoteError};
pub use tool::GoTool;

/// Parse the script `go build -n` printed on stderr; `start_dir` is the
/// absolute directory go was started in (what `cd .` means).
pub fn parse_script(script: &str, start_dir: &Path) -> Result<ActionGraph, ParseError> {
    let lines = lines::parse_lines(script);
    build::build(script, &lines, start_dir)
}
