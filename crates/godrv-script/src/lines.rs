//! Stage 1: the script's logical lines, each parsed by one small nom
//! production into a typed [`Line`].
//!
//! A logical line is one physical line, except a heredoc (`cat >F << 'EOF'`)
//! which spans its body and terminator. The productions and the forms they
//! accept are listed in the crate docs; each function below documents its
//! own form.

use nom::branch::alt;
use nom::bytes::complete::{tag, take_till, take_until, take_while, take_while1};
use nom::character::complete::{char, satisfy};
use nom::combinator::{all_consuming, eof, map, opt, recognize, rest, value, verify};
use nom::multi::{many0, separated_list1};
use nom::sequence::{delimited, pair, preceded, terminated};
use nom::{IResult, Parser};

use crate::quote::{bare_word, quoted_word, word};

/// One parsed logical line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// An empty line.
    Blank,
    /// `#` (`None`) or `# TEXT` (`Some(TEXT)`): package banners.
    Banner(Option<String>),
    /// `# PATH not created` (go install of a package with no output).
    NotCreated(String),
    /// `go: TEXT`: a message from go itself, not script.
    GoMessage(String),
    /// `WORK=DIR` (printed by `-x`, not by `-n`).
    Work(String),
    /// `cd DIR`.
    Cd(String),
    /// `mkdir -p DIR`.
    Mkdir(String),
    /// A heredoc, `echo -n > F # internal`, `echo 'TEXT' > F # internal`
    /// or `echo > F`: `contents` are the exact bytes written.
    WriteFile { path: String, contents: String },
    /// `echo 'TEXT' >> F`.
    AppendFile { path: String, contents: String },
    /// `cat F  # internal` (two spaces): go shows a cached output file.
    CatInternal(String),
    /// `mv FROM TO`.
    Move { from: String, to: String },
    /// `cp FROM TO` (or Go-quoted `cp FROM TO # internal`).
    Copy { from: String, to: String },
    /// `ln -s TARGET LINK`.
    Symlink { target: String, link: String },
    /// `rm -rf P`, `rm -r -f P`, `rm -r P`.
    Remove(String),
    /// `touch P`.
    Touch(String),
    /// An external program.
    Command(CommandLine),
}

/// An external command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandLine {
    /// `NAME='raw'` / `NAME="go-quoted"` prefixes.
    pub env: Vec<(String, String)>,
    /// The words, unquoted.
    pub argv: Vec<Word>,
    /// Ends in `|| true`.
    pub ignore_failure: bool,
    /// The `# ...` comment after the command, if any.
    pub suffix: Suffix,
}

/// A command word and whether go printed it Go-quoted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub value: String,
    pub quoted: bool,
}

/// The comment go appends to some commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Suffix {
    None,
    /// ` # internal`: go does this itself (no external program), e.g.
    /// `go tool pack r`, `buildid -w`.
    Internal,
    /// ` # test for internal linking errors (succeeded|failed)`: go reports
    /// the C link it ran just before; not a step of its own.
    LinkTest(String),
}

/// A line stage 1 could not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// 1-based column (in characters) of the problem.
    pub column: usize,
    pub message: String,
}

/// One logical line with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogicalLine<'a> {
    /// 1-based number of its first physical line.
    pub number: usize,
    /// Its first physical line, verbatim.
    pub text: &'a str,
    /// Number of physical lines it spans (heredocs span several).
    pub physical_lines: usize,
    pub parsed: Result<Line, LineError>,
}

/// Split `script` into logical lines and parse each. Never fails as a whole:
/// bad lines carry their error (stage 2 decides whether go failed).
pub fn parse_lines(script: &str) -> Vec<LogicalLine<'_>> {
    let mut out = Vec::new();
    let mut physical = script.split_inclusive('\n').enumerate();
    while let Some((index, raw)) = physical.next() {
        let text = raw.strip_suffix('\n').unwrap_or(raw);
        let number = index + 1;
        let parsed = match parse_line(text) {
            Ok(Parsed::Line(line)) => Ok(line),
            Ok(Parsed::HeredocStart(path)) => {
                // The body is raw; the terminator `EOF` ends the first line
                // that ends with it (glued to the last line when the body has
                // no final newline).
                let mut contents = String::new();
                let mut spanned = 1;
                let mut closed = false;
                for (_, raw) in physical.by_ref() {
                    spanned += 1;
                    let body_line = raw.strip_suffix('\n').unwrap_or(raw);
                    if let Some(last) = body_line.strip_suffix("EOF") {
                        contents.push_str(last);
                        closed = true;
                        break;
                    }
                    contents.push_str(raw);
                }
                if closed {
                    out.push(LogicalLine {
                        number,
                        text,
                        physical_lines: spanned,
                        parsed: Ok(Line::WriteFile { path, contents }),
                    });
                } else {
                    out.push(LogicalLine {
                        number,
                        text,
                        physical_lines: spanned,
                        parsed: Err(LineError {
                            column: 1,
                            message: "heredoc has no EOF terminator".into(),
                        }),
                    });
                }
                continue;
            }
            Err(e) => Err(e),
        };
        out.push(LogicalLine {
            number,
            text,
            physical_lines: 1,
            parsed,
        });
    }
    out
}

/// What one physical line starts.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Parsed {
    Line(Line),
    /// `cat >PATH << 'EOF'`: the body follows.
    HeredocStart(String),
}

type Production = fn(&str) -> IResult<&str, Parsed>;

/// Parse one physical line: dispatch on its first word to one production,
/// which must consume the whole line.
fn parse_line(text: &str) -> Result<Parsed, LineError> {
    let (what, production): (&str, Production) = if text.is_empty() {
        ("blank line", blank)
    } else if text.starts_with('#') {
        ("banner", banner)
    } else if text.starts_with("go: ") {
        ("go message", go_message)
    } else if text.starts_with("WORK=") {
        ("WORK= line", work)
    } else if text.starts_with("cd ") {
        ("cd", cd)
    } else if text.starts_with("mkdir ") {
        ("mkdir", mkdir)
    } else if text.starts_with("cat >") {
        ("heredoc", heredoc_start)
    } else if text.starts_with("cat ") {
        ("cat  # internal", cat_internal)
    } else if text.starts_with("echo ") {
        ("echo", echo)
    } else if text.starts_with("mv ") {
        ("mv", mv)
    } else if text.starts_with("cp ") {
        ("cp", cp)
    } else if text.starts_with("ln ") {
        ("ln -s", ln)
    } else if text.starts_with("rm ") {
        ("rm", rm)
    } else if text.starts_with("touch ") {
        ("touch", touch)
    } else {
        ("command", command)
    };
    match all_consuming(production).parse(text) {
        Ok((_, parsed)) => Ok(parsed),
        Err(nom::Err::Error(e) | nom::Err::Failure(e)) => {
            let offset = text.len() - e.input.len();
            Err(LineError {
                column: text[..offset].chars().count() + 1,
                message: format!("unrecognized {what} form"),
            })
        }
        Err(nom::Err::Incomplete(_)) => Err(LineError {
            column: text.chars().count() + 1,
            message: format!("incomplete {what}"),
        }),
    }
}

fn line(l: Line) -> Parsed {
    Parsed::Line(l)
}

/// A path printed without quoting: the rest of the line, not empty (it may
/// contain spaces).
fn raw_path(i: &str) -> IResult<&str, String> {
    map(verify(rest, |s: &str| !s.is_empty()), str::to_owned).parse(i)
}

/// `blank = ""`.
fn blank(i: &str) -> IResult<&str, Parsed> {
    value(line(Line::Blank), eof).parse(i)
}

/// `banner = "#" | "# " TEXT | "# " PATH " not created"`.
fn banner(i: &str) -> IResult<&str, Parsed> {
    preceded(
        char('#'),
        alt((
            value(line(Line::Banner(None)), eof),
            map(preceded(char(' '), rest), |t: &str| {
                match t.strip_suffix(" not created") {
                    Some(p) if !p.is_empty() => line(Line::NotCreated(p.to_owned())),
                    _ => line(Line::Banner(Some(t.to_owned()))),
                }
            }),
        )),
    )
    .parse(i)
}

/// `go-message = "go: " TEXT`.
fn go_message(i: &str) -> IResult<&str, Parsed> {
    map(preceded(tag("go: "), rest), |t: &str| {
        line(Line::GoMessage(t.to_owned()))
    })
    .parse(i)
}

/// `work = "WORK=" DIR`.
fn work(i: &str) -> IResult<&str, Parsed> {
    map(preceded(tag("WORK="), raw_path), |p| line(Line::Work(p))).parse(i)
}

/// `cd = "cd " RAW-PATH`.
fn cd(i: &str) -> IResult<&str, Parsed> {
    map(preceded(tag("cd "), raw_path), |p| line(Line::Cd(p))).parse(i)
}

/// `mkdir = "mkdir -p " RAW-PATH`.
fn mkdir(i: &str) -> IResult<&str, Parsed> {
    map(preceded(tag("mkdir -p "), raw_path), |p| {
        line(Line::Mkdir(p))
    })
    .parse(i)
}

/// `heredoc = "cat >" RAW-PATH " << 'EOF'" [" # internal"]`, then the body.
fn heredoc_start(i: &str) -> IResult<&str, Parsed> {
    map(
        delimited(
            tag("cat >"),
            verify(take_until(" << 'EOF'"), |p: &str| !p.is_empty()),
            (tag(" << 'EOF'"), opt(tag(" # internal")), eof),
        ),
        |p: &str| Parsed::HeredocStart(p.to_owned()),
    )
    .parse(i)
}

/// `cat-internal = "cat " WORD "  # internal"` (two spaces).
fn cat_internal(i: &str) -> IResult<&str, Parsed> {
    map(
        delimited(tag("cat "), word, (tag("  # internal"), eof)),
        |p| line(Line::CatInternal(p)),
    )
    .parse(i)
}

/// ```text
/// echo = "echo -n > " RAW-PATH " # internal"
///      | "echo '" RAW-TEXT "' > " RAW-PATH [" # internal"]
///      | "echo '" RAW-TEXT "' >> " RAW-PATH
///      | "echo > " RAW-PATH
/// ```
/// RAW-TEXT is printed without escaping and may hold `'`: the last
/// `' > ` / `' >> ` separates it from the path.
fn echo(i: &str) -> IResult<&str, Parsed> {
    alt((echo_empty, echo_text, echo_newline)).parse(i)
}

fn internal_path(i: &str) -> IResult<&str, String> {
    map(
        terminated(
            verify(take_until(" # internal"), |p: &str| !p.is_empty()),
            (tag(" # internal"), eof),
        ),
        str::to_owned,
    )
    .parse(i)
}

fn echo_empty(i: &str) -> IResult<&str, Parsed> {
    map(preceded(tag("echo -n > "), internal_path), |path| {
        line(Line::WriteFile {
            path,
            contents: String::new(),
        })
    })
    .parse(i)
}

fn echo_newline(i: &str) -> IResult<&str, Parsed> {
    map(preceded(tag("echo > "), raw_path), |path| {
        line(Line::WriteFile {
            path,
            contents: "\n".into(),
        })
    })
    .parse(i)
}

fn echo_text(i: &str) -> IResult<&str, Parsed> {
    let (body, _) = tag("echo '").parse(i)?;
    let fail = || nom::Err::Error(nom::error::Error::new(body, nom::error::ErrorKind::Verify));
    let (append, sep) = match (body.rfind("' >> "), body.rfind("' > ")) {
        (Some(a), Some(w)) if a >= w => (true, a),
        (Some(a), None) => (true, a),
        (_, Some(w)) => (false, w),
        (None, None) => return Err(fail()),
    };
    let text = &body[..sep];
    let after = &body[sep + if append { 5 } else { 4 }..];
    let (rest_, path) = if append {
        raw_path(after)?
    } else {
        alt((internal_path, raw_path)).parse(after)?
    };
    let contents = format!("{text}\n");
    let l = if append {
        Line::AppendFile { path, contents }
    } else {
        Line::WriteFile { path, contents }
    };
    Ok((rest_, line(l)))
}

/// Two unquoted paths separated by one space (`mv`, `cp`, `ln -s`). Either
/// may hold spaces, so the separating space is chosen by what the paths look
/// like: the only space followed by `$WORK/`; else, when the first path is
/// in `$WORK` (go's names there hold no spaces), the first space; else the
/// only space followed by `/`. Anything else is ambiguous and rejected.
fn two_raw_paths(i: &str) -> IResult<&str, (String, String)> {
    let fail = || nom::Err::Error(nom::error::Error::new(i, nom::error::ErrorKind::Verify));
    let spaces_before = |prefix: &str| -> Vec<usize> {
        i.match_indices(' ')
            .map(|(k, _)| k)
            .filter(|&k| k > 0 && k + 1 < i.len() && i[k + 1..].starts_with(prefix))
            .collect()
    };
    let to_work = spaces_before("$WORK/");
    let at = if let [k] = to_work.as_slice() {
        *k
    } else if i.starts_with("$WORK/") {
        i.find(' ').filter(|&k| k + 1 < i.len()).ok_or_else(fail)?
    } else if let [k] = spaces_before("/").as_slice() {
        *k
    } else {
        return Err(fail());
    };
    Ok(("", (i[..at].to_owned(), i[at + 1..].to_owned())))
}

/// Two Go-quoted words then ` # internal` (`cp` as go's cache code prints it).
fn two_words_internal(i: &str) -> IResult<&str, (String, String)> {
    terminated(
        pair(terminated(word, char(' ')), word),
        (tag(" # internal"), eof),
    )
    .parse(i)
}

/// `mv = "mv " RAW-PATH " " RAW-PATH`.
fn mv(i: &str) -> IResult<&str, Parsed> {
    map(preceded(tag("mv "), two_raw_paths), |(from, to)| {
        line(Line::Move { from, to })
    })
    .parse(i)
}

/// `cp = "cp " RAW-PATH " " RAW-PATH | "cp " WORD " " WORD " # internal"`.
fn cp(i: &str) -> IResult<&str, Parsed> {
    map(
        preceded(tag("cp "), alt((two_words_internal, two_raw_paths))),
        |(from, to)| line(Line::Copy { from, to }),
    )
    .parse(i)
}

/// `ln = "ln -s " RAW-PATH " " RAW-PATH`.
fn ln(i: &str) -> IResult<&str, Parsed> {
    map(preceded(tag("ln -s "), two_raw_paths), |(target, link)| {
        line(Line::Symlink { target, link })
    })
    .parse(i)
}

/// `rm = ("rm -rf " | "rm -r -f " | "rm -r ") RAW-PATH`.
fn rm(i: &str) -> IResult<&str, Parsed> {
    map(
        preceded(
            alt((tag("rm -rf "), tag("rm -r -f "), tag("rm -r "))),
            raw_path,
        ),
        |p| line(Line::Remove(p)),
    )
    .parse(i)
}

/// `touch = "touch " RAW-PATH`.
fn touch(i: &str) -> IResult<&str, Parsed> {
    map(preceded(tag("touch "), raw_path), |p| line(Line::Touch(p))).parse(i)
}

/// `env = NAME "='" RAW-VALUE "'" | NAME "=" GO-QUOTED` (RAW-VALUE holds no `'`).
fn env_assign(i: &str) -> IResult<&str, (String, String)> {
    let name = recognize(pair(
        satisfy(|c| c.is_ascii_alphabetic() || c == '_'),
        take_while(|c: char| c.is_ascii_alphanumeric() || c == '_'),
    ));
    let single = map(
        delimited(char('\''), take_till(|c| c == '\''), char('\'')),
        str::to_owned,
    );
    map(
        pair(terminated(name, char('=')), alt((single, quoted_word))),
        |(n, v): (&str, String)| (n.to_owned(), v),
    )
    .parse(i)
}

/// One command word, remembering whether it was quoted.
fn command_word(i: &str) -> IResult<&str, Word> {
    alt((
        map(quoted_word, |value| Word {
            value,
            quoted: true,
        }),
        map(bare_word, |w: &str| Word {
            value: w.to_owned(),
            quoted: false,
        }),
    ))
    .parse(i)
}

/// The program word: an absolute path, a `$WORK/` path, or a plain program
/// name (`gcc`, `x86_64-linux-gnu-gcc`, `go`, ...).
fn program(i: &str) -> IResult<&str, Word> {
    verify(command_word, |w: &Word| {
        w.value.starts_with('/')
            || w.value.starts_with("$WORK/")
            || (!w.quoted
                && take_while1::<_, _, nom::error::Error<&str>>(|c: char| {
                    c.is_ascii_alphanumeric() || "_.+-".contains(c)
                })
                .parse(w.value.as_str())
                .is_ok_and(|(r, _)| r.is_empty()))
    })
    .parse(i)
}

/// ```text
/// command = (env " ")* program (" " word)* [" || true"]
///           [" # internal" | " # test for internal linking errors (" TEXT ")"]
/// ```
fn command(i: &str) -> IResult<&str, Parsed> {
    let (body, suffix) = if let Some(b) = i.strip_suffix(" # internal") {
        (b, Suffix::Internal)
    } else if let Some((b, note)) = i
        .rsplit_once(" # test for internal linking errors (")
        .and_then(|(b, n)| n.strip_suffix(')').map(|n| (b, n)))
    {
        (b, Suffix::LinkTest(note.to_owned()))
    } else {
        (i, Suffix::None)
    };
    let (body, ignore_failure) = match body.strip_suffix(" || true") {
        Some(b) => (b, true),
        None => (body, false),
    };
    let (after, (env, first, more)) = (
        many0(terminated(env_assign, char(' '))),
        program,
        opt(preceded(
            char(' '),
            separated_list1(char(' '), command_word),
        )),
    )
        .parse(body)?;
    if !after.is_empty() {
        // Point at the offending text in the original line.
        // (past the separating space, at the word itself).
        let skip = usize::from(after.starts_with(' '));
        let at = &i[body.len() - after.len() + skip..];
        return Err(nom::Err::Error(nom::error::Error::new(
            at,
            nom::error::ErrorKind::Eof,
        )));
    }
    let mut argv = vec![first];
    argv.extend(more.unwrap_or_default());
    let l = Line::Command(CommandLine {
        env,
        argv,
        ignore_failure,
        suffix,
    });
    Ok(("", line(l)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Line {
        match parse_line(text) {
            Ok(Parsed::Line(l)) => l,
            other => panic!("{text:?}: {other:?}"),
        }
    }

    fn err(text: &str) -> LineError {
        parse_line(text).expect_err(text)
    }

    fn words(ws: &[&str]) -> Vec<Word> {
        ws.iter()
            .map(|w| Word {
                value: (*w).into(),
                quoted: false,
            })
            .collect()
    }

    #[test]
    fn blank_and_banners() {
        assert_eq!(one(""), Line::Blank);
        assert_eq!(one("#"), Line::Banner(None));
        assert_eq!(one("# fmt"), Line::Banner(Some("fmt".into())));
        assert_eq!(one("# a [a.test]"), Line::Banner(Some("a [a.test]".into())));
        assert_eq!(one("# /x/y not created"), Line::NotCreated("/x/y".into()));
        assert_eq!(err("#x").column, 2);
    }

    #[test]
    fn go_messages_and_work() {
        assert_eq!(
            one("go: downloading x v1"),
            Line::GoMessage("downloading x v1".into())
        );
        assert_eq!(
            one("WORK=/tmp/go-build1"),
            Line::Work("/tmp/go-build1".into())
        );
    }

    #[test]
    fn cd_and_mkdir_keep_raw_paths() {
        assert_eq!(one("cd /tmp/sp ace/x"), Line::Cd("/tmp/sp ace/x".into()));
        assert_eq!(one("cd ."), Line::Cd(".".into()));
        assert_eq!(
            one("mkdir -p $WORK/b001/"),
            Line::Mkdir("$WORK/b001/".into())
        );
        assert_eq!(err("mkdir $WORK/b001/").column, 1);
        assert!(parse_line("cd ").is_err());
    }

    #[test]
    fn heredoc_start_forms() {
        assert_eq!(
            parse_line("cat >$WORK/b001/importcfg << 'EOF' # internal"),
            Ok(Parsed::HeredocStart("$WORK/b001/importcfg".into()))
        );
        assert_eq!(
            parse_line("cat >$WORK/b001/x << 'EOF'"),
            Ok(Parsed::HeredocStart("$WORK/b001/x".into()))
        );
        assert!(parse_line("cat >$WORK/b001/x << EOF").is_err());
    }

    #[test]
    fn heredoc_bodies() {
        let s = "cat >$WORK/b001/a << 'EOF' # internal\nx\ny\nEOF\ncat >$WORK/b001/b << 'EOF' # internal\n{\n}EOF\n";
        let lines = parse_lines(s);
        assert_eq!(lines.len(), 2);
        assert_eq!(
            lines[0].parsed,
            Ok(Line::WriteFile {
                path: "$WORK/b001/a".into(),
                contents: "x\ny\n".into()
            })
        );
        assert_eq!(lines[0].physical_lines, 4);
        assert_eq!(lines[1].number, 5);
        assert_eq!(
            lines[1].parsed,
            Ok(Line::WriteFile {
                path: "$WORK/b001/b".into(),
                contents: "{\n}".into()
            })
        );
        let bad = parse_lines("cat >$WORK/b001/a << 'EOF'\nx\n");
        assert!(bad[0].parsed.is_err());
    }

    #[test]
    fn cat_internal_form() {
        assert_eq!(
            one("cat /c/01/x-d  # internal"),
            Line::CatInternal("/c/01/x-d".into())
        );
        assert_eq!(
            one("cat \"/c c/x\"  # internal"),
            Line::CatInternal("/c c/x".into())
        );
        assert!(parse_line("cat /c/x # internal").is_err());
    }

    #[test]
    fn echo_forms() {
        assert_eq!(
            one("echo -n > $WORK/b005/go_asm.h # internal"),
            Line::WriteFile {
                path: "$WORK/b005/go_asm.h".into(),
                contents: String::new()
            }
        );
        assert_eq!(
            one("echo '# import config' > $WORK/b006/importcfg # internal"),
            Line::WriteFile {
                path: "$WORK/b006/importcfg".into(),
                contents: "# import config\n".into()
            }
        );
        assert_eq!(
            one("echo 'it's' > $WORK/b006/x"),
            Line::WriteFile {
                path: "$WORK/b006/x".into(),
                contents: "it's\n".into()
            }
        );
        assert_eq!(
            one("echo 'a' >> /x/y.s"),
            Line::AppendFile {
                path: "/x/y.s".into(),
                contents: "a\n".into()
            }
        );
        assert_eq!(
            one("echo > $WORK/b001/t"),
            Line::WriteFile {
                path: "$WORK/b001/t".into(),
                contents: "\n".into()
            }
        );
        assert!(parse_line("echo hi").is_err());
    }

    #[test]
    fn two_path_forms() {
        assert_eq!(
            one("mv $WORK/b001/exe/a.out /tmp/my dir/hello"),
            Line::Move {
                from: "$WORK/b001/exe/a.out".into(),
                to: "/tmp/my dir/hello".into()
            }
        );
        assert_eq!(
            one("cp /go/src/runtime/asm_amd64.h $WORK/b009/asm_GOARCH.h"),
            Line::Copy {
                from: "/go/src/runtime/asm_amd64.h".into(),
                to: "$WORK/b009/asm_GOARCH.h".into()
            }
        );
        assert_eq!(
            one("cp /a b/c d/x.h $WORK/b009/x.h"),
            Line::Copy {
                from: "/a b/c d/x.h".into(),
                to: "$WORK/b009/x.h".into()
            }
        );
        assert_eq!(
            one(r#"cp "/a b/x" /c/y # internal"#),
            Line::Copy {
                from: "/a b/x".into(),
                to: "/c/y".into()
            }
        );
        assert_eq!(
            one("ln -s /a /b"),
            Line::Symlink {
                target: "/a".into(),
                link: "/b".into()
            }
        );
        assert_eq!(
            one("mv $WORK/b001/exe/a.out hello world"),
            Line::Move {
                from: "$WORK/b001/exe/a.out".into(),
                to: "hello world".into()
            }
        );
        assert!(parse_line("mv /a /b /c").is_err());
        assert!(parse_line("mv a b").is_err());
        assert!(parse_line("mv $WORK/b001/x").is_err());
    }

    #[test]
    fn rm_and_touch() {
        assert_eq!(
            one("rm -rf $WORK/b001/"),
            Line::Remove("$WORK/b001/".into())
        );
        assert_eq!(one("rm -r $WORK/b001/"), Line::Remove("$WORK/b001/".into()));
        assert_eq!(one("touch /x/y"), Line::Touch("/x/y".into()));
        assert!(parse_line("rm -f x").is_err());
    }

    #[test]
    fn commands() {
        let l = one(
            r#"TERM='dumb' CGO_LDFLAGS='"-g" "-O2"' /go/pkg/tool/linux_amd64/cgo -objdir $WORK/b001/ "-ldflags=\"-O2\" \"-g\"" -- -I $WORK/b001/ ./main.go"#,
        );
        let Line::Command(c) = l else { panic!() };
        assert_eq!(
            c.env,
            [
                ("TERM".into(), "dumb".into()),
                ("CGO_LDFLAGS".into(), "\"-g\" \"-O2\"".into())
            ]
        );
        assert_eq!(c.argv[3].value, "-ldflags=\"-O2\" \"-g\"");
        assert!(c.argv[3].quoted);
        assert_eq!(c.argv.len(), 8);

        let l = one(r#"X="it's" gcc -c -x c - -o /dev/null || true"#);
        let Line::Command(c) = l else { panic!() };
        assert_eq!(c.env, [("X".into(), "it's".into())]);
        assert!(c.ignore_failure);
        assert_eq!(
            c.argv,
            words(&["gcc", "-c", "-x", "c", "-", "-o", "/dev/null"])
        );

        let Line::Command(c) = one("go tool pack r $WORK/b005/_pkg_.a $WORK/b005/x.o # internal")
        else {
            panic!()
        };
        assert_eq!(c.suffix, Suffix::Internal);
        let Line::Command(c) =
            one("g++ -o $WORK/b001/_cgo_.o -O2 # test for internal linking errors (succeeded)")
        else {
            panic!()
        };
        assert_eq!(c.suffix, Suffix::LinkTest("succeeded".into()));
    }

    #[test]
    fn command_errors_have_columns() {
        assert_eq!(err("main.go:6:2: module lookup disabled").column, 1);
        assert_eq!(err("\tgo get x").column, 1);
        assert_eq!(err("/bin/x a  b").column, 10);
        assert_eq!(err(r#"/bin/x "unterminated"#).column, 8);
        assert_eq!(err(r#"/bin/x a"b"#).column, 9);
    }
}
