//! [`Store`] over one connection to the Nix daemon (the store socket), instead of one `nix`
//! process per source set and per derivation.
//!
//! Every path is computed here (`.drv` files: [`Derivation::drv_path`] over the ATerm; source
//! sets: the NAR's sha256, as `nix store add` does) and later compared with what the daemon
//! answers, so the two cannot drift apart silently. Because the paths are known without asking,
//! nothing is sent until [`Store::finish`]: then one `QueryValidPaths` for everything queued, and
//! one pipelined batch of `AddToStore` ([`Client::add_many_to_store`]) for what is not yet valid,
//! in the order queued (dependencies first): sources with method `fixed:r:sha256` and no
//! references (`nix store add`), derivations with `text:sha256` and references = input sources
//! and input derivations (`nix derivation add`). Sources with a NAR larger than
//! [`DaemonStore::QUEUE_LIMIT`] (a module cache) are sent at once instead of held in memory.
//!
//! Inside a recursive-Nix build the store only admits as valid the build's inputs and the paths
//! added during the build, so there everything is sent; that is also what puts the derivations
//! in the closure of the planner's output.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use godrv_derivation::nar::{write_nar, write_nar_of_files};
use godrv_derivation::{make_source_path, Derivation, StoreDir, StorePath};
use godrv_store::{AddRequest, Client, StoreError};
use sha2::{Digest, Sha256};

use crate::register::{RegisterError, Store};
use crate::SourceSet;

const SOURCE_METHOD: &str = "fixed:r:sha256";
const DRV_METHOD: &str = "text:sha256";

/// A path computed but not yet sent.
struct Pending {
    path: String,
    name: String,
    method: &'static str,
    /// A NAR (sources) or the file's contents (`.drv`).
    data: Vec<u8>,
    references: BTreeSet<String>,
}

/// What [`DaemonStore`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DaemonStats {
    pub sources: usize,
    pub derivations: usize,
    /// Paths sent (the rest were valid already).
    pub added: usize,
    pub already_valid: usize,
    /// Time spent in [`Store::finish`] (and on sources too large to queue).
    pub send_time: Duration,
}

/// The Nix daemon as a [`Store`].
pub struct DaemonStore {
    client: Client,
    store_dir: StoreDir,
    pending: Vec<Pending>,
    pub stats: DaemonStats,
}

impl DaemonStore {
    /// Largest source NAR kept in memory until [`Store::finish`].
    pub const QUEUE_LIMIT: usize = 8 << 20;

    pub fn new(client: Client) -> Self {
        DaemonStore {
            client,
            store_dir: StoreDir::default(),
            pending: Vec::new(),
            stats: DaemonStats::default(),
        }
    }

    /// Connects to the socket at `path`; a read or write that waits longer than `timeout`
    /// fails (`None`: never).
    pub fn connect(path: &Path, timeout: Option<Duration>) -> Result<Self, RegisterError> {
        Ok(DaemonStore::new(Client::connect_with_timeout(
            path, timeout,
        )?))
    }

    /// Sends `items` (those not valid yet) and checks the paths the daemon gives them.
    fn send(&mut self, items: &[Pending]) -> Result<(), RegisterError> {
        let t0 = Instant::now();
        let valid = self
            .client
            .query_valid_paths(items.iter().map(|p| p.path.as_str()))?;
        let todo: Vec<&Pending> = items.iter().filter(|p| !valid.contains(&p.path)).collect();
        self.stats.already_valid += items.len() - todo.len();
        let requests: Vec<AddRequest<'_>> = todo
            .iter()
            .map(|p| AddRequest {
                name: &p.name,
                method: p.method,
                references: &p.references,
                data: &p.data,
            })
            .collect();
        let results = self.client.add_many_to_store(&requests)?;
        for (p, result) in todo.iter().zip(results) {
            let info = result?;
            if info.path != p.path {
                return Err(StoreError::PathMismatch {
                    expected: p.path.clone(),
                    got: info.path,
                }
                .into());
            }
            self.stats.added += 1;
        }
        self.stats.send_time += t0.elapsed();
        Ok(())
    }
}

impl DaemonStore {
    /// Queues (or, when large, sends) the source path whose NAR is `nar`; returns its path.
    fn add_source_nar(&mut self, name: &str, nar: Vec<u8>) -> Result<String, RegisterError> {
        let sha256: [u8; 32] = Sha256::digest(&nar).into();
        let path = self.store_dir.display_path(&make_source_path(
            &self.store_dir,
            name,
            &sha256,
            &BTreeSet::new(),
        )?);
        self.stats.sources += 1;
        let item = Pending {
            path: path.clone(),
            name: name.to_string(),
            method: SOURCE_METHOD,
            data: nar,
            references: BTreeSet::new(),
        };
        if item.data.len() > Self::QUEUE_LIMIT {
            self.send(&[item])?;
        } else {
            self.pending.push(item);
        }
        Ok(path)
    }
}

impl Store for DaemonStore {
    fn add_source(&mut self, name: &str, dir: &Path) -> Result<String, RegisterError> {
        let mut nar = Vec::new();
        write_nar(dir, &mut nar).map_err(|source| RegisterError::Io {
            what: "serializing",
            path: dir.to_path_buf(),
            source,
        })?;
        self.add_source_nar(name, nar)
    }

    /// Serializes the set's files straight from the source tree: no staging copy.
    fn add_source_set(
        &mut self,
        set: &SourceSet,
        src_root: &Path,
        _scratch: &Path,
    ) -> Result<String, RegisterError> {
        let mut nar = Vec::new();
        write_nar_of_files(src_root, set.files.iter().map(String::as_str), &mut nar).map_err(
            |source| RegisterError::Io {
                what: "serializing the source set from",
                path: src_root.to_path_buf(),
                source,
            },
        )?;
        self.add_source_nar(&set.name, nar)
    }

    fn add_derivation(&mut self, drv: &Derivation) -> Result<StorePath, RegisterError> {
        let aterm = drv.to_aterm(&self.store_dir)?;
        let path = drv.drv_path(&self.store_dir)?;
        self.stats.derivations += 1;
        self.pending.push(Pending {
            path: self.store_dir.display_path(&path),
            name: format!("{}.drv", drv.name),
            method: DRV_METHOD,
            data: aterm.into_bytes(),
            references: drv
                .references()
                .iter()
                .map(|r| self.store_dir.display_path(r))
                .collect(),
        });
        Ok(path)
    }

    fn finish(&mut self) -> Result<(), RegisterError> {
        let pending = std::mem::take(&mut self.pending);
        if !pending.is_empty() {
            self.send(&pending)?;
        }
        let s = &self.stats;
        eprintln!(
            "godrv: daemon protocol {}.{}: {} sources and {} derivations: {} added, {} already valid, in {} ms",
            self.client.version() >> 8,
            self.client.version() & 0xff,
            s.sources,
            s.derivations,
            s.added,
            s.already_valid,
            s.send_time.as_millis(),
        );
        Ok(())
    }
}
