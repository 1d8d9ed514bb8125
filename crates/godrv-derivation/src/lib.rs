//! Nix derivations as data: nixbase32, store paths, placeholders, JSON v4, ATerm, `.drv` paths.
//!
//! godrv writes one derivation per Go package and registers it with `nix derivation add` (JSON
//! v4 on stdin). To refer to those derivations from each other and to know their paths without
//! asking Nix, this crate reimplements the pieces of Nix involved, each checked against Nix 2.34
//! (fixtures in `tests/fixtures/`):
//!
//! * [`nixbase32`]: Nix's base-32 encoding;
//! * [`hash`]: hashes with SRI (JSON) and hex (ATerm) forms;
//! * [`store_path`]: [`StorePath`], [`StoreDir`] and how Nix makes paths (text, source,
//!   fixed-output, input-addressed output);
//! * [`nar`]: NAR serialization of a file tree, hence the path `nix store add` gives a directory;
//! * [`placeholder`]: `hashPlaceholder` and the upstream placeholder of a content-addressed
//!   dependency;
//! * [`derivation`]: [`Derivation`] in the JSON v4 shape, its ATerm (`.drv` contents), its `.drv`
//!   path, and `hashDerivationModulo` to fill input-addressed output paths.

pub mod derivation;
pub mod hash;
pub mod nar;
pub mod nixbase32;
pub mod placeholder;
pub mod store_path;

pub use derivation::{
    hash_modulo_all, ContentAddressMethod, Derivation, DerivationError, DerivationSet, DrvHash,
    DrvHashKind, DrvInput, Inputs, Output,
};
pub use hash::{Hash, HashAlgo};
pub use placeholder::{dynamic_output_placeholder, hash_placeholder, upstream_placeholder};
pub use store_path::{
    make_fixed_output_path, make_output_path, make_source_path, make_store_path, make_text_path,
    StoreDir, StorePath, StorePathError,
};
