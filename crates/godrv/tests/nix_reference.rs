//! nix/README.md, the headers of the files in nix/ and the arguments the Nix library accepts
//! cannot drift apart: every library function is a file documented at its top, and the
//! arguments the reference lists are those `checkArgs` accepts and buildWithDynDrv.nix documents.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn nix_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../nix")
}

fn read(rel: &str) -> String {
    let path = nix_dir().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The leading comment block of a Nix file.
fn header(text: &str) -> Vec<&str> {
    text.lines().take_while(|l| l.starts_with('#')).collect()
}

/// The argument names of a header's entries: lines `#   name[, name…][ or name]  description`.
fn header_arguments(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in header(text) {
        let Some(rest) = line.strip_prefix("#   ") else {
            continue;
        };
        if rest.starts_with(' ') {
            continue; // a continuation line
        }
        let field = rest.split("  ").next().unwrap_or("").trim();
        for name in field.split(", ").flat_map(|f| f.split(" or ")) {
            names.insert(name.trim().to_string());
        }
    }
    names
}

/// The backticked names in the first column of the table under the README heading `heading`.
fn readme_table(readme: &str, heading: &str) -> BTreeSet<String> {
    let start = readme
        .find(heading)
        .unwrap_or_else(|| panic!("nix/README.md has no heading {heading:?}"));
    let mut names = BTreeSet::new();
    for line in readme[start..].lines().skip(1) {
        if line.starts_with('#') {
            break;
        }
        let Some(row) = line.strip_prefix('|') else {
            continue;
        };
        let cell = row.split('|').next().unwrap_or("");
        if cell.trim_start().starts_with("---") || !cell.contains('`') {
            continue;
        }
        for (i, part) in cell.split('`').enumerate() {
            if i % 2 == 1 {
                names.insert(part.to_string());
            }
        }
    }
    names
}

/// The quoted names of `knownArgs = [ … ];` in checkArgs.nix.
fn known_args(text: &str) -> BTreeSet<String> {
    let start = text
        .find("knownArgs = [")
        .expect("checkArgs.nix defines knownArgs");
    let end = start + text[start..].find("];").expect("knownArgs ends with ];");
    text[start..end]
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .flat_map(|l| l.split('"').skip(1).step_by(2).map(str::to_string))
        .collect()
}

#[test]
fn readme_lists_the_arguments_the_builders_accept_and_document() {
    let readme = read("README.md");
    let documented = header_arguments(&read("buildWithDynDrv.nix"));
    let accepted = known_args(&read("internal/checkArgs.nix"));
    let referenced = readme_table(
        &readme,
        "## `buildWithDynDrv { … }` and `buildWithIFD { … }`",
    );
    assert_eq!(
        documented, accepted,
        "buildWithDynDrv.nix's header and checkArgs.nix's knownArgs differ"
    );
    assert_eq!(
        referenced, accepted,
        "nix/README.md's table and checkArgs.nix's knownArgs differ"
    );
}

#[test]
fn readme_lists_the_arguments_of_the_library() {
    let readme = read("README.md");
    let referenced = readme_table(
        &readme,
        "## `import ./nix { pkgs ? null, toolchain ? null }`",
    );
    let default = read("default.nix");
    // The formals of default.nix: `  name ? default,` lines.
    let formals: BTreeSet<String> = default
        .lines()
        .filter_map(|l| l.strip_prefix("  ")?.split_once(" ? "))
        .map(|(name, _)| name.trim().to_string())
        .collect();
    assert_eq!(referenced, formals);
}

#[test]
fn every_function_is_a_file_documented_at_its_top() {
    let default = read("default.nix");
    let mut called = BTreeSet::new();
    for line in default.lines() {
        let Some((name, rest)) = line.trim().split_once(" = call ./") else {
            continue;
        };
        let file = rest.trim_end_matches(';');
        called.insert(file.to_string());
        let text = read(file);
        let stem = Path::new(file).file_stem().unwrap().to_str().unwrap();
        assert_eq!(stem, name, "{file} is bound to another name ({name})");
        let header = header(&text);
        assert!(
            header
                .first()
                .is_some_and(|l| l.starts_with(&format!("# {stem}"))),
            "{file} does not start with `# {stem} …`: its header names the function"
        );
        assert!(
            header.iter().any(|l| l.contains("Arguments")),
            "{file}'s header does not document its arguments"
        );
        assert!(
            text.contains("{ toolchain, lib }:"),
            "{file} does not take {{ toolchain, lib }}"
        );
    }
    // Every file of nix/internal/ is a function of the library.
    for entry in std::fs::read_dir(nix_dir().join("internal")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(
            called.contains(&format!("internal/{name}")),
            "nix/internal/{name} is not wired in nix/default.nix"
        );
    }
    assert!(called.contains("buildWithDynDrv.nix") && called.contains("buildWithIFD.nix"));
}

#[test]
fn header_arguments_are_read_as_written() {
    let text = "# f: x\n#\n# Arguments:\n#   src   the source   required\n#   pname, version or name  names\n#                  more\n#   passthru, meta  as usual\n{ }";
    let names: Vec<String> = header_arguments(text).into_iter().collect();
    assert_eq!(
        names,
        ["meta", "name", "passthru", "pname", "src", "version"]
    );
}

/// Files under `dir` (recursively) whose name ends in `ext`.
fn files_in(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_in(&path, ext, out);
        } else if path.to_string_lossy().ends_with(ext) {
            out.push(path);
        }
    }
}

/// The values of nix/contract.json are written there only: no Nix file or Rust source (outside
/// comments and tests) spells the planners' names, the module store prefix or the fetchers'
/// variables again, and the plan version Nix checks is the contract's.
#[test]
fn the_contract_is_written_once() {
    let contract: serde_json::Value = serde_json::from_str(&read("contract.json")).unwrap();
    let mut literals = vec![
        format!("\"{}\"", contract["stdPlanner"].as_str().unwrap()),
        format!("\"{}\"", contract["depsPlanner"].as_str().unwrap()),
        format!("\"{}", contract["moduleStorePrefix"].as_str().unwrap()),
        format!("\"{}", contract["sourceSetPrefix"].as_str().unwrap()),
    ];
    // The proxies (NETRC is also named by refuseSecrets.nix, for another reason).
    literals.extend(
        contract["fetcherImpureEnvVars"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| format!("\"{}\"", v.as_str().unwrap()))
            .filter(|v| v != "\"NETRC\""),
    );
    let root = nix_dir().join("..");
    let mut files = Vec::new();
    files_in(&nix_dir(), ".nix", &mut files);
    for krate in std::fs::read_dir(root.join("crates")).unwrap() {
        let src = krate.unwrap().path().join("src");
        if src.is_dir() {
            files_in(&src, ".rs", &mut files);
        }
    }
    let mut found = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        // A Rust file's unit tests may name the values they check.
        let code = text.split("#[cfg(test)]").next().unwrap();
        for (n, line) in code.lines().enumerate() {
            let line = line.trim_start();
            if line.starts_with('#') || line.starts_with("//") {
                continue;
            }
            for literal in &literals {
                if line.contains(literal.as_str()) {
                    found.push(format!("{}:{}: {literal}", file.display(), n + 1));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "written again outside nix/contract.json: {found:#?}"
    );
    assert!(read("internal/instantiate.nix").contains("plan.version != lib.contract.planVersion"));
}
