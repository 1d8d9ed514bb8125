//! `nar::write_nar_of_files` gives the NAR of a staged copy of the files, without the copy.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;

use godrv_derivation::nar::{write_nar, write_nar_of_files};

fn write(root: &Path, rel: &str, contents: &str, mode: u32) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, contents).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
}

/// A source tree with files the set leaves out, nested directories, an executable and a symlink.
fn tree(root: &Path) {
    write(root, "main.go", "package main\n", 0o644);
    write(root, "README", "not in the set\n", 0o644);
    write(root, "b/b.go", "package b\n", 0o644);
    write(root, "b/b_test.go", "not in the set\n", 0o644);
    write(root, "b/c/data.txt", "embedded\n", 0o644);
    write(root, "b/c/run.sh", "#!/bin/sh\n", 0o755);
    write(root, "a-/x.go", "package x\n", 0o444);
    symlink("b.go", root.join("b/link.go")).unwrap();
}

/// What register.rs did before: copy each file with fs::copy into an empty directory.
fn staged_nar(root: &Path, files: &BTreeSet<&str>) -> Vec<u8> {
    let stage = tempfile::tempdir().unwrap();
    for file in files {
        let to = stage.path().join(file);
        fs::create_dir_all(to.parent().unwrap()).unwrap();
        fs::copy(root.join(file), to).unwrap();
    }
    let mut nar = Vec::new();
    write_nar(stage.path(), &mut nar).unwrap();
    nar
}

#[test]
fn equals_the_nar_of_a_staged_copy() {
    let src = tempfile::tempdir().unwrap();
    tree(src.path());
    for files in [
        vec!["main.go"],
        vec!["b/b.go", "b/c/data.txt", "b/c/run.sh", "b/link.go"],
        vec!["a-/x.go", "main.go", "b/b.go", "b/c/run.sh"],
    ] {
        let files: BTreeSet<&str> = files.into_iter().collect();
        let mut nar = Vec::new();
        write_nar_of_files(src.path(), files.iter().copied(), &mut nar).unwrap();
        assert_eq!(nar, staged_nar(src.path(), &files), "files {files:?}");
    }
}

#[test]
fn a_file_listed_twice_is_one_entry() {
    let src = tempfile::tempdir().unwrap();
    tree(src.path());
    let (mut once, mut twice) = (Vec::new(), Vec::new());
    write_nar_of_files(src.path(), ["main.go"], &mut once).unwrap();
    write_nar_of_files(src.path(), ["main.go", "main.go"], &mut twice).unwrap();
    assert_eq!(once, twice);
}

#[test]
fn rejects_paths_that_leave_the_root_and_conflicts() {
    let src = tempfile::tempdir().unwrap();
    tree(src.path());
    for (files, why) in [
        (vec!["../etc/passwd"], "not a plain relative path"),
        (vec!["b//b.go"], "not a plain relative path"),
        (vec!["/main.go"], "not a plain relative path"),
        (vec!["./main.go"], "not a plain relative path"),
        (
            vec!["b/c/data.txt", "b/c"],
            "a directory is also listed as a file",
        ),
        (
            vec!["main.go", "main.go/x"],
            "a file is also used as a directory",
        ),
    ] {
        let err = write_nar_of_files(src.path(), files.iter().copied(), &mut Vec::new())
            .expect_err(&format!("{files:?} should fail"));
        assert!(err.to_string().contains(why), "{files:?}: {err}");
    }
}

#[test]
fn a_missing_file_names_its_path() {
    let src = tempfile::tempdir().unwrap();
    let err = write_nar_of_files(src.path(), ["gone.go"], &mut Vec::new()).unwrap_err();
    assert!(err.to_string().contains("gone.go"), "{err}");
}
