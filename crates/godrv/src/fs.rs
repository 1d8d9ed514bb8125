//! Filesystem helpers: the scratch directory, sorted directory listings, copying and removing
//! trees.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// A scratch directory: `$NIX_BUILD_TOP` inside Nix, a temporary directory elsewhere.
pub fn scratch_dir() -> Result<tempfile::TempDir> {
    let base = std::env::var_os("NIX_BUILD_TOP")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    tempfile::Builder::new()
        .prefix("godrv-")
        .tempdir_in(&base)
        .with_context(|| format!("creating a directory in {}", base.display()))
}

/// The entries of `dir`, sorted.
pub fn read_dir(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut entries = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<Vec<_>>>()
        .with_context(|| format!("reading {}", dir.display()))?;
    entries.sort();
    Ok(entries)
}

/// `rm -rf` that first makes directories writable (go makes extracted modules read-only).
pub fn remove_all(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta =
        std::fs::symlink_metadata(path).with_context(|| format!("reading {}", path.display()))?;
    if meta.is_dir() {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("making {} writable", path.display()))?;
        for entry in read_dir(path)? {
            remove_all(&entry)?;
        }
        std::fs::remove_dir(path).with_context(|| format!("removing {}", path.display()))
    } else {
        std::fs::remove_file(path).with_context(|| format!("removing {}", path.display()))
    }
}

/// Creates each of `names` in `base` (and `base`).
pub fn make_dirs(base: &Path, names: &[&str]) -> Result<()> {
    for name in names {
        let dir = base.join(name);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    Ok(())
}

/// Reads the JSON file `file`, `what` it is (e.g. "std's plan"), written by `writer` (said when
/// it does not parse: a file of another godrv is the likely cause).
pub fn read_json<T: serde::de::DeserializeOwned>(
    file: &Path,
    what: &str,
    writer: &str,
) -> Result<T> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("reading {what} {}", file.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("reading {what} {} (written by {writer})", file.display()))
}
