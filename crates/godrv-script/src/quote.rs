//! Go-quoted words: the quoting `go build -n` applies to command arguments.
//!
//! go prints each argument with `joinUnambiguously` (cmd/go/internal/work):
//! an argument is printed bare unless it is empty, contains one of
//! `` ()>;`` (space, parentheses, `>`, `;`), or `strconv.Quote` would escape
//! some character of it; then it is printed as `strconv.Quote(arg)`.
//! [`quote_word`] is that function; [`unquote_word`] is its inverse for one
//! word (`strconv.Unquote` semantics for double-quoted words).
//!
//! Grammar of a double-quoted word (one nom production each):
//!
//! ```text
//! quoted   = '"' fragment* '"'
//! fragment = literal | escape
//! literal  = (any char except '"', '\\' and '\n')+
//! escape   = '\\' ( 'a' | 'b' | 'f' | 'n' | 'r' | 't' | 'v' | '\\' | '\'' | '"'
//!                 | 'x' hex{2} | [0-7]{3} | 'u' hex{4} | 'U' hex{8} )
//! ```
//!
//! `\x` and octal escapes denote bytes; the unquoted word must be valid UTF-8
//! (argv is `Vec<String>`), otherwise unquoting fails.

use nom::branch::alt;
use nom::bytes::complete::{is_not, tag, take_while_m_n};
use nom::character::complete::{char, one_of};
use nom::combinator::{map, map_opt, map_res, value};
use nom::multi::fold;
use nom::sequence::{delimited, preceded};
use nom::{IResult, Parser};

/// Why a word could not be unquoted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnquoteError {
    /// Not a well-formed Go double-quoted string (byte offset of the problem).
    #[error("malformed Go-quoted string at byte {offset}")]
    Malformed { offset: usize },
    /// Escapes produce bytes that are not UTF-8.
    #[error("Go-quoted string is not valid UTF-8 once unquoted")]
    NotUtf8,
}

/// One piece of a quoted word.
#[derive(Clone, Copy)]
enum Fragment<'a> {
    Literal(&'a str),
    Byte(u8),
    Char(char),
}

/// `literal`: a run of characters needing no escape.
fn literal(i: &str) -> IResult<&str, Fragment<'_>> {
    map(is_not("\"\\\n"), Fragment::Literal).parse(i)
}

fn hex_digits(n: usize) -> impl Fn(&str) -> IResult<&str, u32> {
    move |i| {
        map_res(
            take_while_m_n(n, n, |c: char| c.is_ascii_hexdigit()),
            |h: &str| u32::from_str_radix(h, 16),
        )
        .parse(i)
    }
}

/// `escape`: a backslash sequence, as `strconv.Unquote` reads it.
fn escape(i: &str) -> IResult<&str, Fragment<'_>> {
    preceded(
        char('\\'),
        alt((
            map(one_of("abfnrtv\\'\""), |c| {
                Fragment::Byte(match c {
                    'a' => 0x07,
                    'b' => 0x08,
                    'f' => 0x0c,
                    'n' => b'\n',
                    'r' => b'\r',
                    't' => b'\t',
                    'v' => 0x0b,
                    other => other as u8,
                })
            }),
            map(preceded(char('x'), hex_digits(2)), |b| {
                Fragment::Byte(b as u8)
            }),
            map_opt(
                take_while_m_n(3, 3, |c: char| ('0'..='7').contains(&c)),
                |o: &str| u8::from_str_radix(o, 8).ok().map(Fragment::Byte),
            ),
            map_opt(preceded(char('u'), hex_digits(4)), |u| {
                char::from_u32(u).map(Fragment::Char)
            }),
            map_opt(preceded(char('U'), hex_digits(8)), |u| {
                char::from_u32(u).map(Fragment::Char)
            }),
        )),
    )
    .parse(i)
}

/// `quoted`: a whole double-quoted word, folded into its bytes.
fn quoted_bytes(i: &str) -> IResult<&str, Vec<u8>> {
    delimited(
        char('"'),
        fold(0.., alt((literal, escape)), Vec::new, |mut acc, f| {
            match f {
                Fragment::Literal(s) => acc.extend_from_slice(s.as_bytes()),
                Fragment::Byte(b) => acc.push(b),
                Fragment::Char(c) => {
                    let mut buf = [0; 4];
                    acc.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
            acc
        }),
        char('"'),
    )
    .parse(i)
}

/// nom production: one double-quoted Go word at the start of `i`, unquoted.
///
/// Fails (as a nom error at the start of `i`) when the text is not a quoted
/// word or unquotes to bytes that are not UTF-8.
pub(crate) fn quoted_word(i: &str) -> IResult<&str, String> {
    map_res(quoted_bytes, String::from_utf8).parse(i)
}

/// nom production: a bare word, a run of characters other than space, `"`,
/// `\`, `(`, `)`, `>` and `;` (go quotes every word containing those).
pub(crate) fn bare_word(i: &str) -> IResult<&str, &str> {
    is_not(" \"\\()>;").parse(i)
}

/// nom production: one command word, bare or Go-quoted.
pub(crate) fn word(i: &str) -> IResult<&str, String> {
    alt((quoted_word, map(bare_word, str::to_owned))).parse(i)
}

/// Unquote one word as go printed it: a Go double-quoted string is
/// unquoted, anything else is returned as is.
pub fn unquote_word(text: &str) -> Result<String, UnquoteError> {
    if !text.starts_with('"') {
        return Ok(text.to_owned());
    }
    match quoted_bytes(text) {
        Ok(("", bytes)) => String::from_utf8(bytes).map_err(|_| UnquoteError::NotUtf8),
        Ok((rest, _)) => Err(UnquoteError::Malformed {
            offset: text.len() - rest.len(),
        }),
        Err(nom::Err::Error(e) | nom::Err::Failure(e)) => Err(UnquoteError::Malformed {
            offset: text.len() - e.input.len(),
        }),
        Err(nom::Err::Incomplete(_)) => Err(UnquoteError::Malformed { offset: text.len() }),
    }
}

/// Quote one word exactly as go's `joinUnambiguously` prints it: bare when
/// Go would print it bare, else `strconv.Quote(word)`.
pub fn quote_word(word: &str) -> String {
    let q = go_quote(word);
    if word.is_empty() || word.contains([' ', '(', ')', '>', ';']) || q.len() > word.len() + 2 {
        q
    } else {
        word.to_owned()
    }
}

/// Join words as go prints a command line.
pub fn join_words<S: AsRef<str>>(words: &[S]) -> String {
    let mut out = String::new();
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&quote_word(w.as_ref()));
    }
    out
}

/// `strconv.Quote`: a double-quoted Go string literal for `s`.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            c if is_go_print(c) => out.push(c),
            c if (c as u32) < 0x20 || c == '\x7f' => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// An approximation of Go's `unicode.IsPrint` without Unicode tables: ASCII
/// is exact; beyond ASCII, control, format (Cf), separator (Zs except
/// U+0020, Zl, Zp), private-use and noncharacter code points count as not
/// printable. Unassigned code points (which Go escapes) are treated as
/// printable; [`unquote_word`] reads either form, so round trips hold.
fn is_go_print(c: char) -> bool {
    let u = c as u32;
    if u < 0x80 {
        return (0x20..0x7f).contains(&u);
    }
    if c.is_control() {
        return false;
    }
    !matches!(u,
        0x00A0 | 0x00AD | 0x0600..=0x0605 | 0x061C | 0x06DD | 0x070F | 0x0890..=0x0891
        | 0x08E2 | 0x1680 | 0x180E | 0x2000..=0x200F | 0x2028..=0x202F | 0x205F..=0x2064
        | 0x2066..=0x206F | 0x3000 | 0xD800..=0xF8FF | 0xFDD0..=0xFDEF | 0xFEFF
        | 0xFFF9..=0xFFFB | 0xFFFE..=0xFFFF | 0x110BD | 0x110CD | 0x13430..=0x1343F
        | 0x1BCA0..=0x1BCA3 | 0x1D173..=0x1D17A | 0xE0001 | 0xE0020..=0xE007F
        | 0xF0000..=0x10FFFF)
        && (u & 0xFFFE) != 0xFFFE
}

/// Split a command line (without its `# ...` / `|| true` suffix) into words:
/// words are separated by single spaces and are bare or Go-quoted.
///
/// On failure returns the byte offset of the bad word.
pub fn split_words(line: &str) -> Result<Vec<String>, usize> {
    let mut words = Vec::new();
    let mut rest = line;
    loop {
        let (after, w) = word(rest).map_err(|_| line.len() - rest.len())?;
        words.push(w);
        if after.is_empty() {
            return Ok(words);
        }
        rest = value((), tag(" "))
            .parse(after)
            .map(|(r, ())| r)
            .map_err(|_: nom::Err<nom::error::Error<&str>>| line.len() - after.len())?;
        if rest.is_empty() {
            return Err(line.len());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_words_stay_bare() {
        for w in [
            "-p",
            "main",
            "$WORK/b001/_pkg_.a",
            "-X=a.b=c",
            "it's",
            "a|b",
            "é",
        ] {
            assert_eq!(quote_word(w), w);
        }
    }

    #[test]
    fn special_words_are_quoted() {
        assert_eq!(quote_word(""), "\"\"");
        assert_eq!(quote_word("$WORK/b001=>"), "\"$WORK/b001=>\"");
        assert_eq!(quote_word("a b"), "\"a b\"");
        assert_eq!(
            quote_word("-ldflags=\"-O2\" \"-g\""),
            r#""-ldflags=\"-O2\" \"-g\"""#
        );
        assert_eq!(quote_word("a\tb"), r#""a\tb""#);
        assert_eq!(quote_word("a\x01"), r#""a\x01""#);
        assert_eq!(quote_word("a\u{a0}"), r#""a\u00a0""#);
        assert_eq!(quote_word("(x)"), "\"(x)\"");
        assert_eq!(quote_word("a\\b"), r#""a\\b""#);
    }

    #[test]
    fn unquote_escapes() {
        assert_eq!(
            unquote_word(r#""a\tb\x41\101\u00e9\U0001F600\"""#).unwrap(),
            "a\tbAAé😀\""
        );
        assert_eq!(unquote_word("bare").unwrap(), "bare");
        assert_eq!(unquote_word(r#""\xff""#), Err(UnquoteError::NotUtf8));
        assert!(matches!(
            unquote_word(r#""abc"#),
            Err(UnquoteError::Malformed { .. })
        ));
        assert!(matches!(
            unquote_word(r#""a\q""#),
            Err(UnquoteError::Malformed { .. })
        ));
        assert!(matches!(
            unquote_word(r#""a"b"#),
            Err(UnquoteError::Malformed { offset: 3 })
        ));
    }

    #[test]
    fn split_words_keeps_inner_lists() {
        let w = split_words(r#"cgo -objdir $WORK/b001/ "-ldflags=\"-O2\" \"-g\"" -- ./main.go"#)
            .unwrap();
        assert_eq!(
            w,
            [
                "cgo",
                "-objdir",
                "$WORK/b001/",
                "-ldflags=\"-O2\" \"-g\"",
                "--",
                "./main.go"
            ]
        );
        assert_eq!(split_words("a  b"), Err(2));
        assert_eq!(split_words("a "), Err(2));
        assert_eq!(split_words(r#"a "b"c"#), Err(5));
    }

    #[test]
    fn round_trip_samples() {
        for w in [
            "",
            " ",
            "\"",
            "\\",
            "a\u{2028}b",
            "\u{feff}",
            "\u{10ffff}",
            "\u{7f}",
            "x\0y",
        ] {
            let q = quote_word(w);
            assert_eq!(unquote_word(&q).unwrap(), w, "{q}");
            assert_eq!(split_words(&join_words(&[w, w])).unwrap(), [w, w]);
        }
    }
}
