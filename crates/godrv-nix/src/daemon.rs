//! [`Store`] over one connection to the Nix daemon (the store socket), instead of one `nix`
//! process per source set and per derivation.
//!
//! Every path is computed here first (`.drv` files: [`Derivation::drv_path`] over the ATerm;
//! sources: the NAR hash) and compared with what the daemon answers, so the two cannot drift
//! apart silently. Derivations are written in one batch at [`Store::finish`]: one
//! `QueryValidPaths` for all of them, then `AddToStore` (method `text:sha256`, references = input
//! sources and input derivations: what `nix derivation add` sends) for the ones not yet valid,
//! dependencies first, pipelined ([`Client::add_many_to_store`]). Inside a recursive-Nix build the store only admits paths added during the
//! build as valid, so there every derivation is sent; that is also what makes it part of the
//! planner's output closure.

use std::collections::BTreeSet;
use std::io::{self, Write};
use std::path::Path;
use std::time::Instant;

use godrv_derivation::nar::write_nar;
use godrv_derivation::{make_source_path, Derivation, StoreDir, StorePath};
use godrv_store::{AddRequest, Client, StoreError};
use sha2::{Digest, Sha256};

use crate::register::{RegisterError, Store};

/// A derivation computed but not yet sent.
struct Pending {
    path: String,
    name: String,
    aterm: String,
    references: BTreeSet<String>,
}

/// Counts of what [`DaemonStore`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DaemonStats {
    pub sources_added: usize,
    pub sources_time: std::time::Duration,
    pub derivations_time: std::time::Duration,
    pub derivations_added: usize,
    pub derivations_already_valid: usize,
}

/// The Nix daemon as a [`Store`].
pub struct DaemonStore {
    client: Client,
    store_dir: StoreDir,
    pending: Vec<Pending>,
    pub stats: DaemonStats,
}

impl DaemonStore {
    pub fn new(client: Client) -> Self {
        DaemonStore {
            client,
            store_dir: StoreDir::default(),
            pending: Vec::new(),
            stats: DaemonStats::default(),
        }
    }

    /// Connects to the socket at `path`.
    pub fn connect(path: &Path) -> Result<Self, RegisterError> {
        Ok(DaemonStore::new(Client::connect(path)?))
    }
}

/// A [`Write`] that hashes what passes through it.
struct Tee<'a> {
    inner: &'a mut dyn Write,
    hash: Sha256,
}

impl Write for Tee<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl Store for DaemonStore {
    fn add_source(&mut self, name: &str, dir: &Path) -> Result<String, RegisterError> {
        let t0 = Instant::now();
        let mut nar_sha256 = [0u8; 32];
        let info = self
            .client
            .add_to_store(name, "fixed:r:sha256", &BTreeSet::new(), |w| {
                let mut tee = Tee {
                    inner: w,
                    hash: Sha256::new(),
                };
                write_nar(dir, &mut tee)?;
                nar_sha256 = tee.hash.finalize().into();
                Ok(())
            })?;
        let expected = self.store_dir.display_path(&make_source_path(
            &self.store_dir,
            name,
            &nar_sha256,
            &BTreeSet::new(),
        )?);
        if info.path != expected {
            return Err(StoreError::PathMismatch {
                expected,
                got: info.path,
            }
            .into());
        }
        self.stats.sources_added += 1;
        self.stats.sources_time += t0.elapsed();
        Ok(info.path)
    }

    fn add_derivation(&mut self, drv: &Derivation) -> Result<StorePath, RegisterError> {
        let aterm = drv.to_aterm(&self.store_dir)?;
        let path = drv.drv_path(&self.store_dir)?;
        self.pending.push(Pending {
            path: self.store_dir.display_path(&path),
            name: format!("{}.drv", drv.name),
            aterm,
            references: drv
                .references()
                .iter()
                .map(|r| self.store_dir.display_path(r))
                .collect(),
        });
        Ok(path)
    }

    fn finish(&mut self) -> Result<(), RegisterError> {
        let t0 = Instant::now();
        let pending = std::mem::take(&mut self.pending);
        if pending.is_empty() {
            return Ok(());
        }
        let valid = self
            .client
            .query_valid_paths(pending.iter().map(|p| p.path.as_str()))?;
        let todo: Vec<&Pending> = pending
            .iter()
            .filter(|p| !valid.contains(&p.path))
            .collect();
        self.stats.derivations_already_valid += pending.len() - todo.len();
        let requests: Vec<AddRequest<'_>> = todo
            .iter()
            .map(|p| AddRequest {
                name: &p.name,
                method: "text:sha256",
                references: &p.references,
                data: p.aterm.as_bytes(),
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
            self.stats.derivations_added += 1;
        }
        self.stats.derivations_time += t0.elapsed();
        let s = &self.stats;
        eprintln!(
            "godrv: daemon protocol {}.{}: {} sources added in {} ms, {} derivations added and {} already valid in {} ms",
            self.client.version() >> 8,
            self.client.version() & 0xff,
            s.sources_added,
            s.sources_time.as_millis(),
            s.derivations_added,
            s.derivations_already_valid,
            s.derivations_time.as_millis(),
        );
        Ok(())
    }
}
