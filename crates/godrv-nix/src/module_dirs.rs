//! The module directories of a realised module cache (vendorHash mode), each as the source path
//! godrv gives it ([`ModuleDir`]), known ahead: `godrv module-dirs` (nix/internal/moduleDirs.nix)
//! hashes and (dyn mode) adds every one once per module cache, and its output is an input of the
//! planners, which then take a module's path and NAR hash from it instead of hashing and adding
//! the module's tree again at every run.

use std::collections::BTreeMap;
use std::path::Path;

use godrv_derivation::{make_source_path, StoreDir};
use serde::{Deserialize, Serialize};

use crate::register::{RegisterError, Store};
use crate::ModuleDir;

/// Every module directory of a module cache, by its directory (`example.com/greet@v1.1.0`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnownModules {
    pub modules: BTreeMap<String, KnownModule>,
}

/// A module directory's source path and the sha256 of its NAR (nixbase32).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnownModule {
    pub path: String,
    pub sha256: String,
}

impl KnownModules {
    /// Hashes every module directory of `modcache` and, with a store, adds it there (the store
    /// then has the path the hash names: checked).
    pub fn of_cache(
        modcache: &Path,
        mut store: Option<&mut dyn Store>,
    ) -> Result<Self, RegisterError> {
        let store_dir = StoreDir::default();
        let mut modules = BTreeMap::new();
        for dir in module_dirs(modcache)? {
            let module = ModuleDir::new(&dir);
            let tree = modcache.join(&dir);
            let (sha256, digest) =
                crate::nar_sha256_of_tree(&tree).map_err(|e| RegisterError::Io {
                    what: "hashing the module directory",
                    path: e.path,
                    source: e.source,
                })?;
            let path = store_dir.display_path(&make_source_path(
                &store_dir,
                &module.name,
                &digest,
                &Default::default(),
            )?);
            if let Some(store) = store.as_deref_mut() {
                let added = store.add_source(&module.name, &tree)?;
                if added != path {
                    return Err(godrv_store::StoreError::PathMismatch {
                        expected: path,
                        got: added,
                    }
                    .into());
                }
            }
            modules.insert(dir, KnownModule { path, sha256 });
        }
        if let Some(store) = store {
            store.finish()?;
        }
        Ok(KnownModules { modules })
    }
}

/// The module directories of a module cache (`<escaped path>@<version>`, at any depth), without
/// go's `cache/` (downloads, go.mod files).
pub fn module_dirs(modcache: &Path) -> Result<Vec<String>, RegisterError> {
    fn walk(root: &Path, rel: &str, out: &mut Vec<String>) -> Result<(), RegisterError> {
        let dir = root.join(rel);
        let entries = std::fs::read_dir(&dir).map_err(|source| RegisterError::Io {
            what: "listing the module cache directory",
            path: dir.clone(),
            source,
        })?;
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| RegisterError::Io {
                what: "listing the module cache directory",
                path: dir.clone(),
                source,
            })?;
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                names.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        names.sort();
        for name in names {
            let path = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            if rel.is_empty() && name == "cache" {
                continue;
            }
            if name.contains('@') {
                out.push(path);
            } else {
                walk(root, &path, out)?;
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(modcache, "", &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Module directories at any depth are found, go's `cache/` is not one, and a module's path
    /// and hash are those `nix store add` gives its tree (the path is the hash's).
    #[test]
    fn module_dirs_of_a_cache() {
        let cache = tempfile::tempdir().unwrap();
        for (file, text) in [
            (
                "example.com/greet@v1.1.0/go.mod",
                "module example.com/greet\n",
            ),
            ("example.com/greet@v1.1.0/sub/x.go", "package sub\n"),
            (
                "golang.org/x/!sys@v0.1.0/go.mod",
                "module golang.org/x/Sys\n",
            ),
            (
                "cache/download/example.com/greet/@v/v1.1.0.mod",
                "module example.com/greet\n",
            ),
        ] {
            let path = cache.path().join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        assert_eq!(
            module_dirs(cache.path()).unwrap(),
            ["example.com/greet@v1.1.0", "golang.org/x/!sys@v0.1.0"]
        );
        let known = KnownModules::of_cache(cache.path(), None).unwrap();
        let greet = &known.modules["example.com/greet@v1.1.0"];
        assert!(
            greet.path.ends_with("-gomod-example.com-greet-v1.1.0"),
            "{}",
            greet.path
        );
        let (sha256, _) =
            crate::nar_sha256_of_tree(&cache.path().join("example.com/greet@v1.1.0")).unwrap();
        assert_eq!(greet.sha256, sha256);
        assert_ne!(
            greet.sha256,
            known.modules["golang.org/x/!sys@v0.1.0"].sha256
        );
    }
}
