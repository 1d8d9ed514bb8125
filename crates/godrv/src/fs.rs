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

/// Writes `bytes` to `path` atomically: a temporary file (named `prefix…`) in the same directory,
/// synced and renamed over `path` once complete, so a failure never leaves half a file. With
/// `mode`, the new file gets it before the rename (else the temporary file's 0600).
pub fn write_atomic(
    path: &Path,
    bytes: &[u8],
    prefix: &str,
    mode: Option<std::fs::Permissions>,
) -> Result<()> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut file = tempfile::Builder::new()
        .prefix(prefix)
        .tempfile_in(dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.as_file().sync_all())
        .with_context(|| format!("writing {}", file.path().display()))?;
    if let Some(mode) = mode {
        std::fs::set_permissions(file.path(), mode)
            .with_context(|| format!("setting the mode of {}", file.path().display()))?;
    }
    file.persist(path)
        .with_context(|| format!("renaming the new file to {}", path.display()))?;
    Ok(())
}
