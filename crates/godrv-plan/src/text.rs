//! The strings of an action spec: literal text and tokens, told apart by an escape.
//!
//! Every string of an [`crate::ActionSpec`] (a path, an argument, a file's contents, an environment
//! value) is *spec text*: the planner writes it and `godrv exec` expands it. A token stands for a
//! directory known only at build time (see [`crate::spec`]); everything else is the user's or go's
//! text and must come out unchanged, whatever `$` it holds (`-X main.greeting=$OUTLOOK`, an
//! `Example` whose `// Output:` mentions `$GOROOT`). Grammar:
//!
//! ```text
//! text    = ( literal | dollar | token )*
//! literal = any character but '$'
//! dollar  = "$$"                       one literal '$'
//! token   = '$' name                   name: the longest run of [A-Za-z0-9_] after '$', one of
//!                                      WORK GOROOT SRC MODULE MODCACHE OUT
//! ```
//!
//! Any other `$` (`$OUTLOOK`, a `$` at the end) is an error, never passed through: a literal `$`
//! must have been written as `$$` ([`escape`]). A token is always followed by a character that
//! cannot continue a name (`/`, `=`, `"`, the end), so `$WORK` and `$WORKDIR` cannot be confused.

use std::borrow::Cow;

/// A directory known only when the action runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Token {
    /// The build's scratch directory (`$WORK`).
    Work,
    /// The Go toolchain (`$GOROOT`).
    Goroot,
    /// The package's source set (`$SRC`).
    Src,
    /// The one third-party module directory the action reads (`$MODULE`).
    Module,
    /// The whole module cache (`$MODCACHE`).
    Modcache,
    /// The derivation's output (`$OUT`).
    Out,
}

impl Token {
    /// Every token, in the order of the table in [`crate::spec`].
    pub const ALL: [Token; 6] = [
        Token::Work,
        Token::Goroot,
        Token::Src,
        Token::Module,
        Token::Modcache,
        Token::Out,
    ];

    /// The token as it is written in spec text (`$WORK`).
    pub fn as_text(self) -> &'static str {
        match self {
            Token::Work => "$WORK",
            Token::Goroot => "$GOROOT",
            Token::Src => "$SRC",
            Token::Module => "$MODULE",
            Token::Modcache => "$MODCACHE",
            Token::Out => "$OUT",
        }
    }

    fn from_name(name: &str) -> Option<Token> {
        Token::ALL.into_iter().find(|t| &t.as_text()[1..] == name)
    }
}

/// One piece of spec text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Segment<'a> {
    /// Text that is used as it is (a `$$` gives the literal `"$"`).
    Literal(&'a str),
    Token(Token),
}

/// Spec text that does not follow the grammar: a bug in the plan (or a hand-written spec).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("`${name}` at byte {offset} of `{text}` is not a godrv token (WORK, GOROOT, SRC, MODULE, MODCACHE, OUT); a literal `$` is written `$$` in an action spec")]
    UnknownToken {
        name: String,
        offset: usize,
        text: String,
    },
}

/// Whether `c` continues a token name.
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Splits spec text into literal pieces and tokens.
pub fn parse(text: &str) -> Result<Vec<Segment<'_>>, TextError> {
    let mut segments = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        if at > 0 {
            segments.push(Segment::Literal(&rest[..at]));
        }
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            segments.push(Segment::Literal(&after[..1]));
            rest = tail;
            continue;
        }
        let len = after.find(|c| !is_name_char(c)).unwrap_or(after.len());
        let name = &after[..len];
        let token = Token::from_name(name).ok_or_else(|| TextError::UnknownToken {
            name: name.to_string(),
            offset: text.len() - rest.len() + at,
            text: text.to_string(),
        })?;
        segments.push(Segment::Token(token));
        rest = &after[len..];
    }
    if !rest.is_empty() {
        segments.push(Segment::Literal(rest));
    }
    Ok(segments)
}

/// Replaces every token by its value; `value` may refuse a token (one the action does not have).
pub fn expand<'v, E>(
    text: &str,
    mut value: impl FnMut(Token) -> Result<Cow<'v, str>, E>,
) -> Result<String, E>
where
    E: From<TextError>,
{
    if !text.contains('$') {
        return Ok(text.to_string());
    }
    let mut out = String::with_capacity(text.len());
    for segment in parse(text)? {
        match segment {
            Segment::Literal(s) => out.push_str(s),
            Segment::Token(t) => out.push_str(&value(t)?),
        }
    }
    Ok(out)
}

/// Whether spec text uses `token` (an unparsable text uses none).
pub fn mentions(text: &str, token: Token) -> bool {
    text.contains(token.as_text()) && parse(text).is_ok_and(|s| s.contains(&Segment::Token(token)))
}

/// Spec text for literal text: every `$` doubled.
pub fn escape(literal: &str) -> Cow<'_, str> {
    if literal.contains('$') {
        Cow::Owned(literal.replace('$', "$$"))
    } else {
        Cow::Borrowed(literal)
    }
}

/// Appends literal text to spec text, escaped.
pub fn push_literal(out: &mut String, literal: &str) {
    out.push_str(&escape(literal));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_all(text: &str) -> Result<String, TextError> {
        expand(text, |t| {
            Ok::<_, TextError>(Cow::Owned(format!("<{}>", &t.as_text()[1..])))
        })
    }

    #[test]
    fn tokens_and_literals() {
        assert_eq!(
            expand_all("$WORK/b001 -I$GOROOT/pkg $OUT").unwrap(),
            "<WORK>/b001 -I<GOROOT>/pkg <OUT>"
        );
        assert_eq!(
            parse("a=$SRC/x").unwrap(),
            vec![
                Segment::Literal("a="),
                Segment::Token(Token::Src),
                Segment::Literal("/x")
            ]
        );
    }

    /// Regression: `$OUT` inside `$OUTLOOK`, `$WORK` inside `$WORKDIR` were replaced.
    #[test]
    fn escaped_dollars_are_literal_text() {
        for user in [
            "-X=main.greeting=$OUTLOOK",
            "main.dir=$WORKDIR/x",
            "\"$GOROOT is set\\n\"",
            "$$",
            "ends with $",
            "$MODULEX $SRC_ $1",
        ] {
            let spec = escape(user);
            assert_eq!(expand_all(&spec).unwrap(), user, "{spec}");
            assert!(Token::ALL.iter().all(|t| !mentions(&spec, *t)), "{spec}");
        }
        assert_eq!(expand_all("$WORK/$$WORKDIR").unwrap(), "<WORK>/$WORKDIR");
    }

    #[test]
    fn an_unescaped_dollar_is_an_error() {
        for (text, name) in [
            ("$OUTLOOK", "OUTLOOK"),
            ("x $", ""),
            ("$WORKDIR", "WORKDIR"),
        ] {
            assert_eq!(
                parse(text).unwrap_err(),
                TextError::UnknownToken {
                    name: name.into(),
                    offset: text.find('$').unwrap(),
                    text: text.into()
                }
            );
        }
        let msg = parse("a $X").unwrap_err().to_string();
        assert!(msg.contains("`$X` at byte 2 of `a $X`"), "{msg}");
    }

    #[test]
    fn mentions_only_real_tokens() {
        assert!(mentions("$MODCACHE/x", Token::Modcache));
        assert!(!mentions("$MODCACHE/x", Token::Module));
        assert!(!mentions("$$MODCACHE/x", Token::Modcache));
    }
}
