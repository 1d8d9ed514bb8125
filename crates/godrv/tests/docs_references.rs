//! What the docs and doc comments point at exists: the end-to-end tests they name
//! (`tests/e2e/run NAME`, e2e `NAME`: a `test_NAME()` of tests/e2e) and the files they name
//! (`nix/….nix`, `crates/….rs`), so a renamed test or a moved file cannot leave a stale reference.

use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The test names a doc refers to: the words after `tests/e2e/run ` and the backticked word after
/// `e2e `.
fn referenced(doc: &str) -> Vec<String> {
    let mut names = Vec::new();
    for (marker, quoted) in [("tests/e2e/run ", false), ("e2e `", true)] {
        for (i, _) in doc.match_indices(marker) {
            let rest = &doc[i + marker.len()..];
            let words: Vec<&str> = if quoted {
                rest.split('`').take(1).collect()
            } else {
                rest.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ' '))
                    .next()
                    .unwrap_or("")
                    .split(' ')
                    .collect()
            };
            for word in words {
                if !word.is_empty()
                    && word
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                    && word.contains('_')
                {
                    names.push(word.to_string());
                }
            }
        }
    }
    names
}

#[test]
fn docs_name_only_existing_e2e_tests() {
    let root = repo();
    let mut tests = read(&root.join("tests/e2e/run"));
    for entry in std::fs::read_dir(root.join("tests/e2e/tests")).unwrap() {
        tests.push_str(&read(&entry.unwrap().path()));
    }
    let mut docs = vec![
        root.join("README.md"),
        root.join("nix/README.md"),
        root.join("vmtest/README.md"),
    ];
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        docs.push(entry.unwrap().path());
    }
    let mut missing = Vec::new();
    for doc in docs
        .iter()
        .filter(|d| d.extension().is_some_and(|e| e == "md"))
    {
        for name in referenced(&read(doc)) {
            if !tests.contains(&format!("test_{name}()")) {
                missing.push(format!(
                    "{}: {name}",
                    doc.strip_prefix(&root).unwrap().display()
                ));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "docs name e2e tests that do not exist: {missing:?}"
    );
}

#[test]
fn references_are_read_as_written() {
    let doc = "run `tests/e2e/run cgo_pkgconfig ldflags_rebuild` and (lockfile: e2e `lockfile_workspace_and_replace`); tests/e2e/run TEST...";
    assert_eq!(
        referenced(doc),
        [
            "cgo_pkgconfig",
            "ldflags_rebuild",
            "lockfile_workspace_and_replace"
        ]
    );
}

/// The `nix/….nix` and `crates/….rs` paths `text` names (not inside a longer path or URL).
fn file_references(text: &str) -> Vec<String> {
    let mut paths = Vec::new();
    for marker in ["nix/", "crates/"] {
        for (i, _) in text.match_indices(marker) {
            let before = text[..i].chars().next_back();
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '/' || c == '.' || c == '-')
            {
                continue;
            }
            let path: String = text[i..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '/' | '.' | '-'))
                .collect();
            let path = path.trim_end_matches('.');
            if path.ends_with(".nix") || path.ends_with(".rs") {
                paths.push(path.to_string());
            }
        }
    }
    paths
}

/// The files of `dir` (recursively) whose name ends with one of `exts`.
fn files(dir: &Path, exts: &[&str], out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, exts, out);
        } else if exts.iter().any(|e| path.to_string_lossy().ends_with(e)) {
            out.push(path);
        }
    }
}

#[test]
fn docs_and_comments_name_only_existing_files() {
    let root = repo();
    let mut sources = vec![root.join("README.md")];
    files(&root.join("docs"), &[".md"], &mut sources);
    files(&root.join("nix"), &[".md", ".nix"], &mut sources);
    for krate in std::fs::read_dir(root.join("crates")).unwrap() {
        let krate = krate.unwrap().path();
        files(&krate.join("src"), &[".rs"], &mut sources);
    }
    let mut missing = Vec::new();
    for source in &sources {
        for path in file_references(&read(source)) {
            if !root.join(&path).exists() {
                missing.push(format!(
                    "{}: {path}",
                    source.strip_prefix(&root).unwrap().display()
                ));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "references to files that do not exist: {missing:?}"
    );
}

#[test]
fn file_references_are_read_as_written() {
    let text = "see `nix/internal/planner.nix`, crates/godrv/src/go.rs. Not github.com/NixOS/nix/x.nix or ./nix/y.nix";
    assert_eq!(
        file_references(text),
        ["nix/internal/planner.nix", "crates/godrv/src/go.rs"]
    );
}
