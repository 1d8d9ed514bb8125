//! A Nix derivation as data, in the shape of Nix's JSON format version 4 (Nix ≥ 2.32,
//! `nix derivation show` / `nix derivation add`).
//!
//! ```json
//! {"args":["-c","…"],"builder":"/bin/sh","env":{"out":"…",…},
//!  "inputs":{"drvs":{"<hash>-dep.drv":{"dynamicOutputs":{},"outputs":["out"]}},"srcs":["<hash>-src"]},
//!  "name":"x","outputs":{"out":{…}},"system":"x86_64-linux","version":4}
//! ```
//!
//! Store paths in JSON v4 are base names (`<hash>-<name>`, no `/nix/store/`). An output is one of
//! ([`Output`]):
//!
//! | JSON | variant | ATerm `(name, path, hashAlgo, hash)` |
//! |---|---|---|
//! | `{"path":"<hash>-x"}` | [`Output::InputAddressed`] | `("out","/nix/store/…-x","","")` |
//! | `{}` | [`Output::Deferred`] (input-addressed, path not yet known) | `("out","","","")` |
//! | `{"hashAlgo":"sha256","method":"nar"}` | [`Output::CaFloating`] | `("out","","r:sha256","")` |
//! | `{"hash":"sha256-…","method":"flat"}` | [`Output::CaFixed`] | `("out","/nix/store/…","sha256","<hex>")` |
//! | `{"hashAlgo":"sha256","impure":true,"method":"nar"}` | [`Output::Impure`] | `("out","","r:sha256","impure")` |
//!
//! Keys are written in the order Nix writes them (sorted), so a derivation Nix printed
//! re-serializes to the same bytes with `serde_json::to_string`.
//!
//! `nix derivation add` (2.34) reads one such object on stdin (not the `{"derivations": …}`
//! wrapper of `nix derivation show`, which is [`DerivationSet`]; only `"version": 4`). It
//! requires `dynamicOutputs` in every `inputs.drvs` entry (this crate always writes it, and
//! accepts its absence on reading). For input-addressed outputs it accepts `{}` and fills in the
//! path, provided the output's env variable is present and either `""` (then filled too) or the
//! correct path; an absent env variable changes the hash and is rejected, and a wrong path is
//! rejected. [`Derivation::fill_input_addressed_outputs`] produces exactly what it stores.
//! Floating content-addressed outputs are accepted without their env variable, but the builder
//! then has no `$out`: set it to the [`crate::hash_placeholder`] (fill does).
//!
//! The ATerm form (the `.drv` file) is in [`aterm`], `hashDerivationModulo` and output path filling
//! in [`hash_modulo`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::hash::{Hash, HashAlgo};
use crate::store_path::{FixedOutputError, StoreDir, StorePath, StorePathError};

pub mod aterm;
pub mod hash_modulo;

pub use hash_modulo::{hash_modulo_all, DrvHash, DrvHashKind};

/// The JSON format version this crate reads and writes.
pub const JSON_VERSION: u32 = 4;

/// A derivation. Field names and meaning follow JSON v4.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Derivation {
    /// Arguments to the builder (argv\[1..\]).
    pub args: Vec<String>,
    /// Absolute path of the program to run.
    pub builder: String,
    /// Environment of the builder. Nix also puts `name`, `system`, `builder`, one variable per
    /// output and `outputHash*` here; this type does not add them for you.
    pub env: BTreeMap<String, String>,
    pub inputs: Inputs,
    pub name: String,
    /// Outputs by name.
    pub outputs: BTreeMap<String, Output>,
    pub system: String,
}

/// What a derivation depends on.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inputs {
    /// Other derivations (by `.drv` path) and which of their outputs are used.
    pub drvs: BTreeMap<StorePath, DrvInput>,
    /// Store paths used as they are (sources, `builtins.toFile` files, the builder).
    pub srcs: BTreeSet<StorePath>,
}

/// The outputs of one input derivation that are used, plus outputs of derivations those outputs
/// produce (dynamic derivations: `dynamicOutputs` maps an output that is itself a `.drv` to the
/// outputs used of *that* derivation).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrvInput {
    #[serde(rename = "dynamicOutputs", default)]
    pub dynamic_outputs: BTreeMap<String, DrvInput>,
    pub outputs: BTreeSet<String>,
}

impl DrvInput {
    /// Uses the given outputs, no dynamic outputs.
    pub fn outputs<I: IntoIterator<Item = S>, S: Into<String>>(outputs: I) -> Self {
        DrvInput {
            dynamic_outputs: BTreeMap::new(),
            outputs: outputs.into_iter().map(Into::into).collect(),
        }
    }
}

/// How a content-addressed output's contents are hashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ContentAddressMethod {
    /// The file's bytes (`outputHashMode = "flat"`), a single regular file.
    Flat,
    /// The NAR serialization (`outputHashMode = "recursive"` / `"nar"`).
    Nar,
    /// The file's bytes, references allowed, sha256 only (`outputHashMode = "text"`): how `.drv`
    /// files are stored, so the output of a planner derivation in dynamic-derivation mode.
    Text,
    /// Git tree hashing (experimental in Nix; representable, but paths are not computed).
    Git,
}

impl ContentAddressMethod {
    /// The JSON v4 `method` value.
    pub const fn json_name(self) -> &'static str {
        match self {
            ContentAddressMethod::Flat => "flat",
            ContentAddressMethod::Nar => "nar",
            ContentAddressMethod::Text => "text",
            ContentAddressMethod::Git => "git",
        }
    }

    /// The `outputHashMode` value Nix puts in `env` for this method.
    pub const fn output_hash_mode(self) -> &'static str {
        match self {
            ContentAddressMethod::Flat => "flat",
            ContentAddressMethod::Nar => "recursive",
            ContentAddressMethod::Text => "text",
            ContentAddressMethod::Git => "git",
        }
    }

    /// The prefix before the algorithm in the ATerm `hashAlgo` field (`r:sha256`).
    pub const fn aterm_prefix(self) -> &'static str {
        match self {
            ContentAddressMethod::Flat => "",
            ContentAddressMethod::Nar => "r:",
            ContentAddressMethod::Text => "text:",
            ContentAddressMethod::Git => "git:",
        }
    }
}

impl fmt::Display for ContentAddressMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.json_name())
    }
}

impl Serialize for ContentAddressMethod {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.json_name())
    }
}

impl<'de> Deserialize<'de> for ContentAddressMethod {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(match s.as_str() {
            "flat" => ContentAddressMethod::Flat,
            "nar" => ContentAddressMethod::Nar,
            "text" => ContentAddressMethod::Text,
            "git" => ContentAddressMethod::Git,
            _ => {
                return Err(serde::de::Error::custom(format!(
                    "unknown content address method {s:?}"
                )))
            }
        })
    }
}

/// One output of a derivation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Input-addressed with its path computed (`{"path": "<hash>-<name>"}`).
    InputAddressed { path: StorePath },
    /// Input-addressed, path not computed yet (`{}`): either Nix fills it
    /// (see [`Derivation::fill_input_addressed_outputs`]) or it depends on a floating
    /// content-addressed derivation and stays deferred.
    Deferred,
    /// Content-addressed, hash known only after the build (`{"hashAlgo", "method"}`).
    CaFloating {
        method: ContentAddressMethod,
        hash_algo: HashAlgo,
    },
    /// Fixed-output: hash given in advance (`{"hash", "method"}`).
    CaFixed {
        method: ContentAddressMethod,
        hash: Hash,
    },
    /// Impure (`{"hashAlgo", "impure": true, "method"}`).
    Impure {
        method: ContentAddressMethod,
        hash_algo: HashAlgo,
    },
}

impl Output {
    /// The output's store path when it is known from the derivation alone (input-addressed or
    /// fixed-output).
    pub fn path(
        &self,
        store_dir: &StoreDir,
        drv_name: &str,
        output: &str,
    ) -> Result<Option<StorePath>, FixedOutputError> {
        match self {
            Output::InputAddressed { path } => Ok(Some(path.clone())),
            Output::CaFixed { method, hash } => {
                Ok(Some(crate::store_path::make_fixed_output_path(
                    store_dir,
                    &crate::store_path::output_path_name(drv_name, output),
                    *method,
                    hash,
                    &BTreeSet::new(),
                )?))
            }
            Output::Deferred | Output::CaFloating { .. } | Output::Impure { .. } => Ok(None),
        }
    }
}

/// The JSON v4 object of an output; every shape is a subset of these keys.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct OutputJson {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    hash: Option<Hash>,
    #[serde(rename = "hashAlgo", skip_serializing_if = "Option::is_none", default)]
    hash_algo: Option<HashAlgo>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    impure: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    method: Option<ContentAddressMethod>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    path: Option<StorePath>,
}

impl Serialize for Output {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut j = OutputJson {
            hash: None,
            hash_algo: None,
            impure: None,
            method: None,
            path: None,
        };
        match self {
            Output::InputAddressed { path } => j.path = Some(path.clone()),
            Output::Deferred => {}
            Output::CaFloating { method, hash_algo } => {
                j.method = Some(*method);
                j.hash_algo = Some(*hash_algo);
            }
            Output::CaFixed { method, hash } => {
                j.method = Some(*method);
                j.hash = Some(hash.clone());
            }
            Output::Impure { method, hash_algo } => {
                j.method = Some(*method);
                j.hash_algo = Some(*hash_algo);
                j.impure = Some(true);
            }
        }
        j.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Output {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let j = OutputJson::deserialize(d)?;
        Ok(match j {
            OutputJson {
                hash: None,
                hash_algo: None,
                impure: None,
                method: None,
                path: None,
            } => Output::Deferred,
            OutputJson {
                hash: None,
                hash_algo: None,
                impure: None,
                method: None,
                path: Some(path),
            } => Output::InputAddressed { path },
            OutputJson {
                hash: None,
                hash_algo: Some(hash_algo),
                impure: None | Some(false),
                method: Some(method),
                path: None,
            } => Output::CaFloating { method, hash_algo },
            OutputJson {
                hash: Some(hash),
                hash_algo: None,
                impure: None,
                method: Some(method),
                path: None,
            } => Output::CaFixed { method, hash },
            OutputJson {
                hash: None,
                hash_algo: Some(hash_algo),
                impure: Some(true),
                method: Some(method),
                path: None,
            } => Output::Impure { method, hash_algo },
            _ => {
                return Err(serde::de::Error::custom(
                    "output must be {}, {path}, {hashAlgo, method}, {hash, method} \
                     or {hashAlgo, impure, method}",
                ))
            }
        })
    }
}

/// Serialization view of a [`Derivation`] with the `version` key, keys in Nix's order.
#[derive(Serialize)]
struct DerivationJsonRef<'a> {
    args: &'a Vec<String>,
    builder: &'a String,
    env: &'a BTreeMap<String, String>,
    inputs: &'a Inputs,
    name: &'a String,
    outputs: &'a BTreeMap<String, Output>,
    system: &'a String,
    version: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DerivationJson {
    args: Vec<String>,
    builder: String,
    env: BTreeMap<String, String>,
    inputs: Inputs,
    name: String,
    outputs: BTreeMap<String, Output>,
    system: String,
    version: u32,
}

impl Serialize for Derivation {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        DerivationJsonRef {
            args: &self.args,
            builder: &self.builder,
            env: &self.env,
            inputs: &self.inputs,
            name: &self.name,
            outputs: &self.outputs,
            system: &self.system,
            version: JSON_VERSION,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Derivation {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let j = DerivationJson::deserialize(d)?;
        if j.version != JSON_VERSION {
            return Err(serde::de::Error::custom(format!(
                "derivation JSON version {} is not supported (only {JSON_VERSION})",
                j.version
            )));
        }
        Ok(Derivation {
            args: j.args,
            builder: j.builder,
            env: j.env,
            inputs: j.inputs,
            name: j.name,
            outputs: j.outputs,
            system: j.system,
        })
    }
}

/// The output of `nix derivation show`: derivations by `.drv` path (base name), `"version": 4`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DerivationSet {
    pub derivations: BTreeMap<StorePath, Derivation>,
}

#[derive(Serialize)]
struct DerivationSetRef<'a> {
    derivations: &'a BTreeMap<StorePath, Derivation>,
    version: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DerivationSetJson {
    derivations: BTreeMap<StorePath, Derivation>,
    version: u32,
}

impl Serialize for DerivationSet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        DerivationSetRef {
            derivations: &self.derivations,
            version: JSON_VERSION,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for DerivationSet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let j = DerivationSetJson::deserialize(d)?;
        if j.version != JSON_VERSION {
            return Err(serde::de::Error::custom(format!(
                "derivation JSON version {} is not supported (only {JSON_VERSION})",
                j.version
            )));
        }
        Ok(DerivationSet {
            derivations: j.derivations,
        })
    }
}

/// What can go wrong computing paths of a derivation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DerivationError {
    #[error(transparent)]
    StorePath(#[from] StorePathError),
    #[error(transparent)]
    FixedOutput(#[from] FixedOutputError),
    #[error("derivation {drv:?} has no outputs")]
    NoOutputs { drv: String },
    #[error("derivation {drv:?} mixes output kinds ({first} and {second})")]
    MixedOutputs {
        drv: String,
        first: &'static str,
        second: &'static str,
    },
    #[error("derivation {drv:?}: no modulo hash known for input derivation {input}")]
    UnknownInput { drv: String, input: StorePath },
    #[error("derivation {drv:?}: input derivation {input} has no output {output:?}")]
    NoSuchInputOutput {
        drv: String,
        input: StorePath,
        output: String,
    },
    #[error(
        "derivation {drv:?}: output {output:?} path {actual} differs from computed {expected}"
    )]
    WrongOutputPath {
        drv: String,
        output: String,
        actual: Box<StorePath>,
        expected: Box<StorePath>,
    },
}

impl Derivation {
    /// The `.drv` file contents (ATerm), as Nix writes them.
    pub fn to_aterm(&self, store_dir: &StoreDir) -> Result<String, DerivationError> {
        aterm::write(self, store_dir)
    }

    /// The references of the `.drv` file: input sources and input derivations.
    pub fn references(&self) -> BTreeSet<StorePath> {
        self.inputs
            .srcs
            .iter()
            .chain(self.inputs.drvs.keys())
            .cloned()
            .collect()
    }

    /// Where Nix stores this derivation: the text path of its ATerm named `<name>.drv`, with
    /// [`Derivation::references`] as references.
    pub fn drv_path(&self, store_dir: &StoreDir) -> Result<StorePath, DerivationError> {
        Ok(crate::store_path::make_text_path(
            store_dir,
            &format!("{}.drv", self.name),
            self.to_aterm(store_dir)?,
            &self.references(),
        )?)
    }
}
