//! Text rewriting of the paths that make a script program-specific, into spec text.
//!
//! [`to_spec_text`] turns one string of the script (one argv word, one file body, one env value)
//! into spec text ([`crate::text`]): every `$WORK/bNNN[/path]` occurrence is replaced through a
//! callback, absolute directory
//! prefixes (GOROOT, the start directory, the module cache: a [`PrefixMap`]) become `$GOROOT`,
//! `$SRC`, `$MODCACHE` where the prefix ends at a path boundary (it may start anywhere:
//! `-I/src/include` is rewritten; the prefixes are long absolute directories), and every other `$`
//! is escaped, so the user's text (`-X main.greeting=$OUTLOOK`) comes out of `godrv exec` as it
//! went in.
//!
//! One ambiguity is go's, not godrv's: `go build -n` prints its work directory as `$WORK`, so a
//! user's text that contains `$WORK/b` and digits (`$WORK/b001`) cannot be told from go's own
//! and is read as an action's directory. Go prints a bare `$WORK` only as a working directory
//! (`cd $WORK`), which the planner maps itself, so a bare `$WORK` in text stays text.

use std::path::Path;

use crate::text::{self, Token};

/// One `$WORK/bNNN/...` reference found in a string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkRef<'a> {
    /// The action number (`NNN`).
    pub action: u32,
    /// The path inside the action's directory, without the leading `/` (may be empty).
    pub path: &'a str,
}

const WORK_PREFIX: &str = "$WORK/b";

/// Characters that continue a path after `$WORK/bNNN/`.
fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/' | '+' | '@' | '~')
}

/// Finds every `$WORK/bNNN[/path]` reference in `text`.
pub fn work_refs(text: &str) -> Vec<WorkRef<'_>> {
    let mut refs = Vec::new();
    let mut rest = text;
    while let Some((_, r, tail)) = next_ref(rest) {
        refs.push(r);
        rest = tail;
    }
    refs
}

/// Turns script text into spec text: every `$WORK/bNNN` occurrence (keeping the `/path` after
/// it) becomes `$WORK/<dir>` for `Some(dir)` from `replace` (`None` keeps `$WORK/bNNN`), the rest
/// goes through [`PrefixMap::push_spec_text`].
pub fn to_spec_text(
    text: &str,
    prefixes: &PrefixMap,
    mut replace: impl FnMut(&WorkRef<'_>) -> Option<String>,
) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some((before, r, tail)) = next_ref(rest) {
        prefixes.push_spec_text(&mut out, before);
        out.push_str(Token::Work.as_text());
        out.push('/');
        match replace(&r) {
            Some(dir) => text::push_literal(&mut out, &dir),
            None => out.push_str(&format!("b{:03}", r.action)),
        }
        rest = tail;
    }
    prefixes.push_spec_text(&mut out, rest);
    out
}

/// Finds the next reference: (text before it, the reference, text after `$WORK/bNNN`).
fn next_ref(text: &str) -> Option<(&str, WorkRef<'_>, &str)> {
    let mut offset = 0;
    loop {
        let start = offset + text[offset..].find(WORK_PREFIX)?;
        let after = &text[start + WORK_PREFIX.len()..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            offset = start + WORK_PREFIX.len();
            continue;
        }
        let action: u32 = after[..digits].parse().unwrap_or(u32::MAX);
        let tail = &after[digits..];
        let path = match tail.strip_prefix('/') {
            Some(p) => &p[..p.find(|c| !is_path_char(c)).unwrap_or(p.len())],
            None => "",
        };
        return Some((&text[..start], WorkRef { action, path }, tail));
    }
}

/// Absolute directory prefixes and the tokens that replace them.
#[derive(Clone, Debug, Default)]
pub struct PrefixMap {
    /// (prefix, token), longest prefix first.
    entries: Vec<(String, Token)>,
}

impl PrefixMap {
    /// Adds a prefix; `dir` must be absolute and is taken without a trailing slash.
    pub fn add(&mut self, dir: &Path, token: Token) {
        let dir = dir.to_string_lossy().trim_end_matches('/').to_string();
        if dir.is_empty() {
            return;
        }
        self.entries.push((dir, token));
        self.entries
            .sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
    }

    /// Returns the token whose prefix `path` starts with, and the rest of `path` after it.
    pub fn classify<'a>(&self, path: &'a str) -> Option<(Token, &'a str)> {
        self.entries.iter().find_map(|(prefix, token)| {
            let rest = path.strip_prefix(prefix.as_str())?;
            (rest.is_empty() || rest.starts_with('/')).then_some((*token, rest))
        })
    }

    /// Appends script text (with no `$WORK/bNNN` in it) to `out` as spec text: every occurrence
    /// of a prefix that ends at a path boundary becomes its token and every `$` is escaped.
    pub fn push_spec_text(&self, out: &mut String, text: &str) {
        let mut i = 0;
        'scan: while i < text.len() {
            for (prefix, token) in &self.entries {
                if text[i..].starts_with(prefix.as_str()) {
                    let end = i + prefix.len();
                    let boundary = text[end..].chars().next().is_none_or(|c| !is_name_char(c));
                    if boundary {
                        out.push_str(token.as_text());
                        i = end;
                        continue 'scan;
                    }
                }
            }
            let c = text[i..].chars().next().expect("i is on a char boundary");
            if c == '$' {
                out.push_str("$$");
            } else {
                out.push(c);
            }
            i += c.len_utf8();
        }
    }

    /// [`PrefixMap::push_spec_text`] into a new string.
    pub fn rewrite(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        self.push_spec_text(&mut out, text);
        out
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+' | '@' | '~')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_work_refs_with_paths() {
        let refs = work_refs("packagefile fmt=$WORK/b012/_pkg_.a\n-I $WORK/b001/ $WORK/b3");
        assert_eq!(
            refs,
            vec![
                WorkRef {
                    action: 12,
                    path: "_pkg_.a"
                },
                WorkRef {
                    action: 1,
                    path: ""
                },
                WorkRef {
                    action: 3,
                    path: ""
                },
            ]
        );
    }

    #[test]
    fn rewrites_only_selected_refs() {
        let text =
            "-trimpath \"$WORK/b005=>\" -importcfg $WORK/b005/importcfg x=$WORK/b1000/_pkg_.a";
        let out = to_spec_text(text, &PrefixMap::default(), |r| {
            (r.action == 5).then(|| "b001".to_string())
        });
        assert_eq!(
            out,
            "-trimpath \"$WORK/b001=>\" -importcfg $WORK/b001/importcfg x=$WORK/b1000/_pkg_.a"
        );
    }

    #[test]
    fn prefix_rewrite_respects_boundaries() {
        let mut map = PrefixMap::default();
        map.add(Path::new("/m/pfx"), Token::Src);
        map.add(Path::new("/usr/lib/go"), Token::Goroot);
        assert_eq!(map.rewrite("/m/pfx/a.go"), "$SRC/a.go");
        assert_eq!(
            map.rewrite("\"/m/pfx=>example.com/m\""),
            "\"$SRC=>example.com/m\""
        );
        assert_eq!(map.rewrite("/m/pfx2/a.go"), "/m/pfx2/a.go");
        assert_eq!(map.rewrite("/usr/lib/go-1.27/x"), "/usr/lib/go-1.27/x");
        assert_eq!(
            map.rewrite("-I/usr/lib/go/pkg/include"),
            "-I$GOROOT/pkg/include"
        );
        assert_eq!(map.rewrite("x:/usr/lib/go/bin"), "x:$GOROOT/bin");
        assert_eq!(map.classify("/m/pfx/a/b.go"), Some((Token::Src, "/a/b.go")));
        assert_eq!(map.classify("/m/pfx2/b.go"), None);
    }

    /// Regression: user text with `$` (an `-X` value, an example's output) was rewritten by
    /// `godrv exec`; it is escaped, and only go's own `$WORK` stays a token.
    #[test]
    fn user_dollars_are_escaped_and_go_work_dirs_are_tokens() {
        let mut map = PrefixMap::default();
        map.add(Path::new("/usr/lib/go"), Token::Goroot);
        let spec = |text: &str| to_spec_text(text, &map, |_| Some("b001".to_string()));
        assert_eq!(
            spec("-X=main.greeting=$OUTLOOK"),
            "-X=main.greeting=$$OUTLOOK"
        );
        assert_eq!(spec("main.dir=$WORKDIR/x"), "main.dir=$$WORKDIR/x");
        assert_eq!(
            spec("\"$GOROOT and /usr/lib/go\\n\""),
            "\"$$GOROOT and $GOROOT\\n\""
        );
        assert_eq!(spec("$WORK and $WORK/x"), "$$WORK and $$WORK/x");
        assert_eq!(spec("$WORK/b007/x $$"), "$WORK/b001/x $$$$");
        let expanded = crate::text::expand(&spec("a=$OUTLOOK b=$WORK/b002/y"), |t| {
            Ok::<_, crate::text::TextError>(t.as_text()[1..].to_lowercase().into())
        })
        .unwrap();
        assert_eq!(expanded, "a=$OUTLOOK b=work/b001/y");
    }
}
