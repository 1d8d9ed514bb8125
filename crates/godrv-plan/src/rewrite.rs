//! Text rewriting of the paths that make a script program-specific.
//!
//! Two rewrites, both on single strings (one argv word, one file body, one env value):
//! - [`WorkRefs`]: every `$WORK/bNNN[/path]` occurrence, found and replaced through a callback;
//! - [`PrefixMap`]: absolute directory prefixes (GOROOT, the start directory, the module cache)
//!   replaced by `$GOROOT`, `$SRC`, `$MODCACHE` where the prefix ends at a path boundary (it may
//!   start anywhere: `-I/src/include` is rewritten; the prefixes are long absolute directories).

use std::path::Path;

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

/// Replaces every `$WORK/bNNN` occurrence (keeping the `/path` after it) by what `replace` returns
/// for it: `Some(dir)` gives `$WORK/<dir>`, `None` leaves the occurrence as it is.
pub fn rewrite_work_refs(
    text: &str,
    mut replace: impl FnMut(&WorkRef<'_>) -> Option<String>,
) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some((before, r, tail)) = next_ref(rest) {
        out.push_str(before);
        match replace(&r) {
            Some(dir) => {
                out.push_str("$WORK/");
                out.push_str(&dir);
            }
            None => out.push_str(&format!("{WORK_PREFIX}{:03}", r.action)),
        }
        rest = tail;
    }
    out.push_str(rest);
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
    entries: Vec<(String, &'static str)>,
}

impl PrefixMap {
    /// Adds a prefix; `dir` must be absolute and is taken without a trailing slash.
    pub fn add(&mut self, dir: &Path, token: &'static str) {
        let dir = dir.to_string_lossy().trim_end_matches('/').to_string();
        if dir.is_empty() {
            return;
        }
        self.entries.push((dir, token));
        self.entries
            .sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
    }

    /// Returns the token whose prefix `path` starts with, and the rest of `path` after it.
    pub fn classify<'a>(&self, path: &'a str) -> Option<(&'static str, &'a str)> {
        self.entries.iter().find_map(|(prefix, token)| {
            let rest = path.strip_prefix(prefix.as_str())?;
            (rest.is_empty() || rest.starts_with('/')).then_some((*token, rest))
        })
    }

    /// Replaces every occurrence of a prefix that ends at a path boundary.
    pub fn rewrite(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut i = 0;
        'scan: while i < text.len() {
            for (prefix, token) in &self.entries {
                if text[i..].starts_with(prefix.as_str()) {
                    let end = i + prefix.len();
                    let boundary = text[end..].chars().next().is_none_or(|c| !is_name_char(c));
                    if boundary {
                        out.push_str(token);
                        i = end;
                        continue 'scan;
                    }
                }
            }
            let c = text[i..].chars().next().expect("i is on a char boundary");
            out.push(c);
            i += c.len_utf8();
        }
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
        let out = rewrite_work_refs(text, |r| (r.action == 5).then(|| "b001".to_string()));
        assert_eq!(
            out,
            "-trimpath \"$WORK/b001=>\" -importcfg $WORK/b001/importcfg x=$WORK/b1000/_pkg_.a"
        );
    }

    #[test]
    fn prefix_rewrite_respects_boundaries() {
        let mut map = PrefixMap::default();
        map.add(Path::new("/m/pfx"), "$SRC");
        map.add(Path::new("/usr/lib/go"), "$GOROOT");
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
        assert_eq!(map.classify("/m/pfx/a/b.go"), Some(("$SRC", "/a/b.go")));
        assert_eq!(map.classify("/m/pfx2/b.go"), None);
    }
}
