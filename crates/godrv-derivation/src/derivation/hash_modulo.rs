//! `hashDerivationModulo` and filling in output paths, so godrv knows a derivation's output paths
//! without asking Nix.
//!
//! An input-addressed output path is `make_output_path("out", H, name)` where `H` is the sha256
//! of the derivation's ATerm *modulo* two things:
//!
//! * every input derivation is replaced by its own modulo hash (hex), so that two fixed-output
//!   derivations with the same result but different recipes lead to the same downstream paths;
//! * (for the derivation being filled) output paths and the env variables named like outputs are
//!   blanked, since they are what is being computed.
//!
//! A fixed-output derivation's modulo hash is per output,
//! `sha256("fixed:out:<method prefix><algo>:<hex>:<output path>")`, independent of its recipe.
//! Any input whose kind is [`DrvHashKind::Deferred`] (floating content-addressed, impure, or
//! itself deferred) makes the result deferred: Nix then leaves the input-addressed outputs as
//! `{}` with `env.out = ""` until the inputs are built.
//!
//! Only the static outputs of an input (`outputs`) take part; `dynamicOutputs` are dropped from
//! the modulo form (which is therefore always written `Derive(`), as in current Nix. A derivation
//! with dynamic inputs depends on a text-hashed (floating) derivation, so it is deferred anyway.
//!
//! Nix reads input derivations from the store for this; here the caller passes their
//! [`DrvHash`]es, keyed by `.drv` path, which a planner has from writing them in dependency order.
//! For derivations godrv did not write (a toolchain from nixpkgs), [`hash_modulo_all`] computes
//! them from `nix derivation show --recursive` ([`super::DerivationSet`]).

use std::collections::BTreeMap;

use data_encoding::HEXLOWER;
use sha2::{Digest, Sha256};

use super::{aterm, Derivation, DerivationError, DrvInput, Output};
use crate::placeholder::hash_placeholder;
use crate::store_path::{make_output_path, StoreDir, StorePath};

/// Whether the modulo hash can give input-addressed output paths now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrvHashKind {
    /// Output paths can be computed.
    Regular,
    /// Depends on something whose outputs are known only after building.
    Deferred,
}

/// A derivation's `hashDerivationModulo`: one sha256 per output (the same for all outputs except
/// for fixed-output derivations).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrvHash {
    pub hashes: BTreeMap<String, [u8; 32]>,
    pub kind: DrvHashKind,
}

/// The outputs' common kind, as Nix's `Derivation::type()` sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    InputAddressed,
    Deferred,
    Floating,
    Fixed,
    Impure,
}

impl Kind {
    fn of(output: &Output) -> Kind {
        match output {
            Output::InputAddressed { .. } => Kind::InputAddressed,
            Output::Deferred => Kind::Deferred,
            Output::CaFloating { .. } => Kind::Floating,
            Output::CaFixed { .. } => Kind::Fixed,
            Output::Impure { .. } => Kind::Impure,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::InputAddressed => "input-addressed",
            Kind::Deferred => "deferred",
            Kind::Floating => "floating content-addressed",
            Kind::Fixed => "fixed-output",
            Kind::Impure => "impure",
        }
    }
}

impl Derivation {
    fn kind(&self) -> Result<Kind, DerivationError> {
        let mut kinds = self.outputs.values().map(Kind::of);
        let first = kinds.next().ok_or_else(|| DerivationError::NoOutputs {
            drv: self.name.clone(),
        })?;
        match kinds.find(|k| *k != first) {
            Some(second) => Err(DerivationError::MixedOutputs {
                drv: self.name.clone(),
                first: first.name(),
                second: second.name(),
            }),
            None => Ok(first),
        }
    }

    /// Nix's `hashDerivationModulo(drv, mask_outputs)`. `inputs` must hold the [`DrvHash`] of
    /// every input derivation (computed with `mask_outputs = false`, as Nix does for inputs).
    pub fn hash_modulo(
        &self,
        store_dir: &StoreDir,
        mask_outputs: bool,
        inputs: &BTreeMap<StorePath, DrvHash>,
    ) -> Result<DrvHash, DerivationError> {
        let kind = self.kind()?;
        if kind == Kind::Fixed {
            let mut hashes = BTreeMap::new();
            for (name, output) in &self.outputs {
                let Output::CaFixed { method, hash } = output else {
                    unreachable!("kind checked")
                };
                let path = output
                    .path(store_dir, &self.name, name)?
                    .expect("fixed outputs have paths");
                let clear = format!(
                    "fixed:out:{}{}:{}:{}",
                    method.aterm_prefix(),
                    hash.algo(),
                    hash.to_hex(),
                    store_dir.display_path(&path)
                );
                hashes.insert(name.clone(), Sha256::digest(clear).into());
            }
            return Ok(DrvHash {
                hashes,
                kind: DrvHashKind::Regular,
            });
        }

        // Deferred input-addressed outputs may be only pessimistically deferred (not filled in
        // yet), so they do not make the hash deferred; deferred inputs do.
        let mut result_kind = match kind {
            Kind::InputAddressed | Kind::Deferred => DrvHashKind::Regular,
            Kind::Floating | Kind::Impure | Kind::Fixed => DrvHashKind::Deferred,
        };
        let mut replaced: BTreeMap<String, DrvInput> = BTreeMap::new();
        for (path, used) in &self.inputs.drvs {
            let input = inputs
                .get(path)
                .ok_or_else(|| DerivationError::UnknownInput {
                    drv: self.name.clone(),
                    input: path.clone(),
                })?;
            if input.kind == DrvHashKind::Deferred {
                result_kind = DrvHashKind::Deferred;
            }
            for output in &used.outputs {
                let h =
                    input
                        .hashes
                        .get(output)
                        .ok_or_else(|| DerivationError::NoSuchInputOutput {
                            drv: self.name.clone(),
                            input: path.clone(),
                            output: output.clone(),
                        })?;
                replaced
                    .entry(HEXLOWER.encode(h))
                    .or_default()
                    .outputs
                    .insert(output.clone());
            }
        }
        let replaced_refs: BTreeMap<String, &DrvInput> =
            replaced.iter().map(|(k, v)| (k.clone(), v)).collect();
        let text = aterm::write_with(self, store_dir, mask_outputs, &replaced_refs)?;
        let hash: [u8; 32] = Sha256::digest(text).into();
        Ok(DrvHash {
            hashes: self.outputs.keys().map(|o| (o.clone(), hash)).collect(),
            kind: result_kind,
        })
    }

    /// Fill in output paths and output env variables the way `derivation {}` does
    /// (`derivationStrict`), so the result is what Nix would write:
    ///
    /// * input-addressed (`InputAddressed` or `Deferred` outputs): outputs are reset to deferred
    ///   and their env vars to `""`, the masked modulo hash is computed, and if no input is
    ///   deferred each output gets `make_output_path` as its path and env var; otherwise they stay
    ///   `{}` / `""`;
    /// * floating content-addressed and impure: each output's env var is its
    ///   [`hash_placeholder`];
    /// * fixed-output: each output's env var is its fixed path.
    ///
    /// Returns the derivation's own [`DrvHash`] (unmasked, as its dependents need it).
    pub fn fill_input_addressed_outputs(
        &mut self,
        store_dir: &StoreDir,
        inputs: &BTreeMap<StorePath, DrvHash>,
    ) -> Result<DrvHash, DerivationError> {
        match self.kind()? {
            Kind::InputAddressed | Kind::Deferred => {
                let names: Vec<String> = self.outputs.keys().cloned().collect();
                for name in &names {
                    self.env.insert(name.clone(), String::new());
                    self.outputs.insert(name.clone(), Output::Deferred);
                }
                let masked = self.hash_modulo(store_dir, true, inputs)?;
                if masked.kind == DrvHashKind::Regular {
                    for name in &names {
                        let path =
                            make_output_path(store_dir, name, &masked.hashes[name], &self.name)?;
                        self.env.insert(name.clone(), store_dir.display_path(&path));
                        self.outputs
                            .insert(name.clone(), Output::InputAddressed { path });
                    }
                }
            }
            Kind::Floating | Kind::Impure => {
                for name in self.outputs.keys() {
                    self.env.insert(name.clone(), hash_placeholder(name));
                }
            }
            Kind::Fixed => {
                let mut env = Vec::new();
                for (name, output) in &self.outputs {
                    let path = output
                        .path(store_dir, &self.name, name)?
                        .expect("fixed outputs have paths");
                    env.push((name.clone(), store_dir.display_path(&path)));
                }
                self.env.extend(env);
            }
        }
        self.hash_modulo(store_dir, false, inputs)
    }

    /// Check that input-addressed output paths and output env vars are what
    /// [`Derivation::fill_input_addressed_outputs`] would produce (Nix's `checkInvariants`).
    pub fn check_outputs(
        &self,
        store_dir: &StoreDir,
        inputs: &BTreeMap<StorePath, DrvHash>,
    ) -> Result<(), DerivationError> {
        let mut filled = self.clone();
        filled.fill_input_addressed_outputs(store_dir, inputs)?;
        for (name, output) in &self.outputs {
            if let (Output::InputAddressed { path }, Output::InputAddressed { path: expected }) =
                (output, &filled.outputs[name])
            {
                if path != expected {
                    return Err(DerivationError::WrongOutputPath {
                        drv: self.name.clone(),
                        output: name.clone(),
                        actual: Box::new(path.clone()),
                        expected: Box::new(expected.clone()),
                    });
                }
            }
        }
        Ok(())
    }
}

/// The [`DrvHash`] (unmasked, as dependents need it) of every derivation in `drvs`, a closure
/// such as `nix derivation show --recursive` prints: inputs outside `drvs` must be in `known`.
/// The result includes `known`.
pub fn hash_modulo_all(
    store_dir: &StoreDir,
    drvs: &BTreeMap<StorePath, Derivation>,
    known: BTreeMap<StorePath, DrvHash>,
) -> Result<BTreeMap<StorePath, DrvHash>, DerivationError> {
    fn visit(
        store_dir: &StoreDir,
        drvs: &BTreeMap<StorePath, Derivation>,
        path: &StorePath,
        done: &mut BTreeMap<StorePath, DrvHash>,
    ) -> Result<(), DerivationError> {
        if done.contains_key(path) {
            return Ok(());
        }
        // Nix's derivation graph is acyclic (a .drv path hashes its inputs' paths), so plain
        // recursion terminates; its depth is the dependency depth.
        let Some(drv) = drvs.get(path) else {
            return Ok(());
        };
        for input in drv.inputs.drvs.keys() {
            visit(store_dir, drvs, input, done)?;
        }
        let hash = drv.hash_modulo(store_dir, false, done)?;
        done.insert(path.clone(), hash);
        Ok(())
    }
    let mut done = known;
    for path in drvs.keys() {
        visit(store_dir, drvs, path, &mut done)?;
    }
    Ok(done)
}
