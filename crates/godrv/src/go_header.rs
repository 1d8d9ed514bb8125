//! What go reads of a non-test `.go` file when it loads packages, and nothing else: the file's
//! *header* and its `//go:embed` comments (the source skeleton of `crate::skeleton`).
//!
//! go/build's reader (`readGoInfo` in go/build/read.go; cmd/go's module index has the same
//! code) reads a file only up to the end of its import declarations:
//!
//! ```text
//! file    = [BOM] skip "package" ident { skip "import" ( spec | skip "(" { spec } skip ")" ) }
//! spec    = skip [ "." | ident ] skip string
//! string  = '"' { byte but '"' and newline | '\' byte } '"' | '`' { byte but '`' } '`'
//! skip    = { ' ' | '\t' | '\r' | '\n' | '\f' | ';' | "//" … newline | "/*" … "*/" }
//! ```
//!
//! (an identifier byte: ASCII letter, digit, `_`, or any byte ≥ 0x80). The header ends where
//! the next thing after the spaces and comments that follow the last import is not `import`:
//! the first byte of the first other declaration, or the end of the file. Build constraints,
//! `//go:debug` and other directives, the package clause, a cgo preamble with its `#cgo` lines
//! and every import are in it. go parses exactly these bytes (`parser.ImportsOnly`); when the
//! file imports "embed" it then scans the *whole* file with go/scanner for comments starting
//! `//go:embed` (anywhere, not only at the start of a line) and keeps their patterns.
//!
//! [`skeleton`] gives the header unchanged, then each `//go:embed` comment of the rest of the file
//! at its own line and column (the lines between are left empty, the columns filled with spaces),
//! so go reads the same header, finds the same patterns at the same positions (its messages
//! name the same `file:line:col`) and nothing else: a body-only edit or an added declaration
//! does not change the skeleton. The comments are kept whether or not the file imports "embed"
//! (go ignores them if it does not), so the imports need no interpretation here.
//!
//! A file this does not lex is [`NotLexed`], and the caller keeps it whole — never a skeleton
//! go could read differently from the file: a syntax error where go's reader expects the package
//! clause or an import (go then reads and parses the whole file itself), a NUL byte (go's reader
//! fails on one), and after the header an unterminated `/*` comment, string or rune literal, or a
//! `\` before a newline in a string or rune (go/scanner's error recovery there is not reproduced).

/// Why a file was not cut to its skeleton (it is kept whole), at which byte.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotLexed {
    pub offset: usize,
    pub what: &'static str,
}

impl std::fmt::Display for NotLexed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at byte {}", self.what, self.offset)
    }
}

const BOM: &[u8] = b"\xef\xbb\xbf";

/// The skeleton of a Go file's `text`: its header and its `//go:embed` comments (module docs).
pub fn skeleton(text: &[u8]) -> Result<Vec<u8>, NotLexed> {
    if let Some(offset) = text.iter().position(|&b| b == 0) {
        return Err(NotLexed {
            offset,
            what: "a NUL byte",
        });
    }
    let end = header_end(text)?;
    let embeds = embed_comments(text, end)?;
    let mut out = text[..end].to_vec();
    let mut at = end;
    for comment in &embeds {
        // The same line and column as in the file: its newlines, then spaces for the bytes
        // before the comment on its line.
        let between = &text[at..comment.start];
        let newlines = between.iter().filter(|&&b| b == b'\n').count();
        out.extend(std::iter::repeat_n(b'\n', newlines));
        let column = match between.iter().rposition(|&b| b == b'\n') {
            Some(nl) => between.len() - nl - 1,
            None => between.len(),
        };
        out.extend(std::iter::repeat_n(b' ', column));
        out.extend_from_slice(&text[comment.clone()]);
        at = comment.end;
    }
    if at < text.len() {
        out.push(b'\n');
    }
    Ok(out)
}

/// Where go's reader stops: the offset of the first byte after the header.
pub fn header_end(text: &[u8]) -> Result<usize, NotLexed> {
    let start = if text.starts_with(BOM) { BOM.len() } else { 0 };
    let mut r = HeaderReader { text, pos: start };
    r.keyword("package")?;
    r.ident()?;
    while r.skip()? == Some(b'i') {
        r.keyword("import")?;
        if r.skip()? == Some(b'(') {
            r.pos += 1;
            loop {
                match r.skip()? {
                    Some(b')') => {
                        r.pos += 1;
                        break;
                    }
                    Some(_) => r.import_spec()?,
                    None => return Err(r.error("the end of the file inside import ( … )")),
                }
            }
        } else {
            r.import_spec()?;
        }
    }
    Ok(r.pos)
}

/// go/build's import reader, on bytes: `pos` is the next byte to read.
struct HeaderReader<'a> {
    text: &'a [u8],
    pos: usize,
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

impl HeaderReader<'_> {
    fn error(&self, what: &'static str) -> NotLexed {
        NotLexed {
            offset: self.pos,
            what,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    /// Skips spaces, semicolons and comments; the next byte, `None` at the end.
    fn skip(&mut self) -> Result<Option<u8>, NotLexed> {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\r' | b'\n' | b'\x0c' | b';') => self.pos += 1,
                Some(b'/') => match self.text.get(self.pos + 1) {
                    Some(b'/') => {
                        self.pos = match find(self.text, self.pos, b"\n") {
                            Some(nl) => nl + 1,
                            None => self.text.len(),
                        }
                    }
                    Some(b'*') => match find(self.text, self.pos + 2, b"*/") {
                        Some(close) => self.pos = close + 2,
                        None => return Err(self.error("an unterminated /* comment")),
                    },
                    _ => return Err(self.error("a '/' that starts no comment")),
                },
                other => return Ok(other),
            }
        }
    }

    fn keyword(&mut self, keyword: &'static str) -> Result<(), NotLexed> {
        self.skip()?;
        if !self.text[self.pos..].starts_with(keyword.as_bytes()) {
            return Err(self.error(if keyword == "package" {
                "no package clause"
            } else {
                "a declaration starting with 'i' that is not an import"
            }));
        }
        self.pos += keyword.len();
        match self.peek() {
            Some(b) if is_ident(b) => Err(self.error("a keyword followed by more letters")),
            _ => Ok(()),
        }
    }

    fn ident(&mut self) -> Result<(), NotLexed> {
        match self.skip()? {
            Some(b) if is_ident(b) => {}
            _ => return Err(self.error("no identifier where one is expected")),
        }
        while self.peek().is_some_and(is_ident) {
            self.pos += 1;
        }
        Ok(())
    }

    /// `[ "." | ident ] string`.
    fn import_spec(&mut self) -> Result<(), NotLexed> {
        match self.skip()? {
            Some(b'.') => self.pos += 1,
            Some(b) if is_ident(b) => self.ident()?,
            _ => {}
        }
        match self.skip()? {
            Some(b'`') => match find(self.text, self.pos + 1, b"`") {
                Some(close) => self.pos = close + 1,
                None => return Err(self.error("an unterminated raw string")),
            },
            Some(b'"') => {
                let mut i = self.pos + 1;
                loop {
                    match self.text.get(i) {
                        Some(b'"') => break,
                        Some(b'\n') | None => {
                            return Err(self.error("an unterminated import path"));
                        }
                        Some(b'\\') => i += 2,
                        Some(_) => i += 1,
                    }
                }
                self.pos = i + 1;
            }
            _ => return Err(self.error("no import path where one is expected")),
        }
        Ok(())
    }
}

/// The offset of the first `needle` at or after `from`.
fn find(text: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    text.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| from + i)
}

/// The byte ranges of the `//go:embed` comments of `text` from `from` on (to the end of the
/// line, newline excluded), lexed as go/scanner does: comments, interpreted and raw strings and
/// rune literals, everything else a byte at a time.
fn embed_comments(text: &[u8], from: usize) -> Result<Vec<std::ops::Range<usize>>, NotLexed> {
    let mut found = Vec::new();
    let mut i = from;
    let error = |offset, what| Err(NotLexed { offset, what });
    while i < text.len() {
        match (text[i], text.get(i + 1)) {
            (b'/', Some(b'/')) => {
                let end = find(text, i, b"\n").unwrap_or(text.len());
                if text[i..end].starts_with(b"//go:embed") {
                    found.push(i..end);
                }
                i = end;
            }
            (b'/', Some(b'*')) => match find(text, i + 2, b"*/") {
                Some(close) => i = close + 2,
                None => return error(i, "an unterminated /* comment"),
            },
            (b'`', _) => match find(text, i + 1, b"`") {
                Some(close) => i = close + 1,
                None => return error(i, "an unterminated raw string"),
            },
            (quote @ (b'"' | b'\''), _) => {
                let mut j = i + 1;
                loop {
                    match text.get(j) {
                        Some(&b) if b == quote => break,
                        Some(b'\\') if !matches!(text.get(j + 1), Some(b'\n') | None) => j += 2,
                        Some(b'\n' | b'\\') | None => {
                            return error(i, "an unterminated string or rune literal");
                        }
                        Some(_) => j += 1,
                    }
                }
                i = j + 1;
            }
            _ => i += 1,
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cut(text: &str) -> String {
        String::from_utf8(skeleton(text.as_bytes()).expect("lexed")).unwrap()
    }

    fn not_lexed(text: &[u8]) -> &'static str {
        skeleton(text).expect_err("not lexed").what
    }

    #[test]
    fn a_body_is_cut_after_the_imports() {
        let text = "package p\n\nimport \"fmt\"\n\nfunc F() { fmt.Println(1) }\n";
        assert_eq!(cut(text), "package p\n\nimport \"fmt\"\n\n\n");
    }

    #[test]
    fn a_body_only_edit_and_an_added_function_keep_the_skeleton() {
        let before = "package p\n\nimport \"fmt\"\n\nfunc F() { fmt.Println(1) }\n";
        let body = "package p\n\nimport \"fmt\"\n\nfunc F() { fmt.Println(2, \"x\") }\n";
        let added = "package p\n\nimport \"fmt\"\n\nfunc F() { fmt.Println(1) }\n\nfunc g() {}\n";
        assert_eq!(cut(before), cut(body));
        assert_eq!(cut(before), cut(added));
        let import =
            "package p\n\nimport (\n\t\"fmt\"\n\t\"os\"\n)\n\nfunc F() { fmt.Println(1) }\n";
        assert_ne!(cut(before), cut(import));
    }

    #[test]
    fn build_constraints_directives_and_grouped_imports_are_kept() {
        let header = "//go:build linux && !cgo\n// +build linux,!cgo\n\n//go:debug panicnil=1\n\n// Package p does things.\npackage p // import \"example.com/p\"\n\nimport (\n\t\"fmt\" // fmt\n\tstr \"strings\"; . \"os\"\n\t_ `embed`\n)\nimport \"errors\"\n\n";
        let text = format!("{header}var x = 1\n");
        assert_eq!(cut(&text), format!("{header}\n"));
    }

    #[test]
    fn comments_that_say_import_are_comments() {
        let header = "package p\n\n/* import \"os\" */\nimport \"fmt\" // import \"net\"\n\n// import \"os\"\n/*\nimport \"io\"\n*/\n";
        let text = format!("{header}func F() {{ fmt.Println() }}\n");
        assert_eq!(cut(&text), format!("{header}\n"));
    }

    #[test]
    fn the_cgo_preamble_is_kept() {
        let header = "package p\n\n/*\n#cgo CFLAGS: -DX=1\n#cgo pkg-config: zlib\n#include <zlib.h>\nstatic int f(void) { return 1; }\n*/\nimport \"C\"\nimport \"unsafe\"\n\n";
        let text = format!("{header}func F() int {{ return int(C.f()) }}\n");
        assert_eq!(cut(&text), format!("{header}\n"));
    }

    #[test]
    fn a_file_without_imports_is_its_package_clause() {
        assert_eq!(
            cut("package p\n\nconst X = 1\n\nfunc F() {}\n"),
            "package p\n\n\n"
        );
        // No declaration at all: the whole file is the header.
        assert_eq!(cut("package p\n"), "package p\n");
        assert_eq!(cut("package p"), "package p");
    }

    #[test]
    fn a_byte_order_mark_is_kept() {
        let text = "\u{feff}package p\nimport \"fmt\"\nvar _ = fmt.Sprint\n";
        assert_eq!(cut(text), "\u{feff}package p\nimport \"fmt\"\n\n");
    }

    #[test]
    fn embed_comments_keep_their_line_and_column() {
        let text = "package p\n\nimport _ \"embed\"\n\n//go:embed a.txt\nvar a string\n\nfunc F() {\n\ts := \"//go:embed not.txt\"\n\tr := `\n//go:embed raw.txt\n`\n\t_ = '\"' // \"\n\t/* //go:embed c.txt */\n}\n\n\t//go:embed  \"b c.txt\" d/*\nvar b embed.FS\nvar c []byte //go:embed e.txt\n";
        let got = cut(text);
        // a.txt's comment precedes the first declaration: in the header.
        let want = format!(
            "package p\n\nimport _ \"embed\"\n\n//go:embed a.txt\n{} //go:embed  \"b c.txt\" d/*\n\n{}//go:embed e.txt\n",
            "\n".repeat(11),
            " ".repeat("var c []byte ".len())
        );
        assert_eq!(got, want);
        // Each kept comment is at its line and column of the file.
        for comment in ["//go:embed  \"b c.txt\" d/*", "//go:embed e.txt"] {
            let position = |s: &str| {
                let at = s.find(comment).unwrap();
                let line = s[..at].matches('\n').count();
                let column = at - s[..at].rfind('\n').map_or(0, |nl| nl + 1);
                (line, column)
            };
            assert_eq!(position(text), position(&got), "{comment}");
        }
    }

    #[test]
    fn a_skeleton_is_its_own_skeleton() {
        let text =
            "package p\n\nimport \"embed\"\n\nvar x = 1\n\n//go:embed a.txt\nvar a embed.FS\n";
        let once = cut(text);
        assert_eq!(cut(&once), once);
        assert_eq!(header_end(once.as_bytes()), Ok(once.len()));
    }

    #[test]
    fn crlf_lines_keep_their_carriage_returns_in_comments() {
        let text = "package p\r\n\r\nimport \"embed\"\r\n\r\nvar x = 1\r\n//go:embed a.txt\r\nvar a embed.FS\r\n";
        assert_eq!(
            cut(text),
            "package p\r\n\r\nimport \"embed\"\r\n\r\n\n//go:embed a.txt\r\n"
        );
    }

    #[test]
    fn syntax_errors_keep_the_file_whole() {
        assert_eq!(not_lexed(b""), "no package clause");
        assert_eq!(not_lexed(b"// only a comment\n"), "no package clause");
        assert_eq!(
            not_lexed(b"package p\nimport fmt\n"),
            "no import path where one is expected"
        );
        assert_eq!(
            not_lexed(b"package p\nimport (\n\t\"fmt\"\n"),
            "the end of the file inside import ( … )"
        );
        assert_eq!(
            not_lexed(b"package p\nimport \"fmt\n\"\n"),
            "an unterminated import path"
        );
        assert_eq!(
            not_lexed(b"package p\n/* never closed\n"),
            "an unterminated /* comment"
        );
        assert_eq!(
            not_lexed(b"package p\nimport \"a\"\nif x {}\n"),
            "a declaration starting with 'i' that is not an import"
        );
        assert_eq!(
            not_lexed(b"package p\nimportant()\n"),
            "a keyword followed by more letters"
        );
        assert_eq!(
            not_lexed(b"package p\n/ x\n"),
            "a '/' that starts no comment"
        );
        assert_eq!(not_lexed(b"package p\x00\n"), "a NUL byte");
        assert_eq!(
            not_lexed(b"package p\nvar s = \"unterminated\nfunc F() {}\n"),
            "an unterminated string or rune literal"
        );
        assert_eq!(
            not_lexed(b"package p\nvar s = \"a\\\nb\"\n"),
            "an unterminated string or rune literal"
        );
        assert_eq!(
            not_lexed(b"package p\nvar s = `never closed\n"),
            "an unterminated raw string"
        );
        assert_eq!(
            not_lexed(b"package p\nfunc F() {}\n/* never closed\n"),
            "an unterminated /* comment"
        );
    }

    #[test]
    fn strings_with_escaped_quotes_and_runes_are_skipped_whole() {
        let text =
            "package p\nvar s = \"a\\\"//go:embed x\"\nvar r = '\\''\nvar q = '\"' //go:embed y\n";
        let want = format!("package p\n\n\n{}//go:embed y\n", " ".repeat(12));
        assert_eq!(cut(text), want);
    }

    #[test]
    fn identifiers_may_hold_non_ascii_letters() {
        let text = "package café\nimport π \"math\"\nvar _ = π.Pi\n";
        assert_eq!(cut(text), "package café\nimport π \"math\"\n\n");
    }
}
