//! Store paths and how Nix computes them.
//!
//! A store path is `<store dir>/<hash part>-<name>`: the hash part is 32 nix32 characters (160
//! bits), the name is 1–211 characters of `[A-Za-z0-9+-._?=]` that is not `.`/`..` (alone or
//! followed by `-`). [`StorePath`] holds the hash part and name without the store directory, which
//! is how JSON v4 writes them; [`StoreDir`] supplies the directory when an absolute path is needed
//! (the ATerm, `env`, fingerprints).
//!
//! Every store path is made the same way ([`make_store_path`]):
//!
//! ```text
//! fingerprint = "<type>:sha256:<hex sha256 of inner>:<store dir>:<name>"
//! hash part   = nix32(compress_hash(sha256(fingerprint), 20))
//! ```
//!
//! where `compress_hash` XORs the digest into 20 bytes, and `type` says what the inner hash is of:
//!
//! | function | type | inner hash |
//! |---|---|---|
//! | [`make_text_path`] (`.drv` files, `builtins.toFile`) | `text` + `:<ref>` per reference | sha256 of the contents |
//! | [`make_source_path`] (`nix store add`, `./dir` in Nix) | `source` + `:<ref>` per reference | sha256 of the NAR |
//! | [`make_fixed_output_path`], other methods | `output:out` | sha256 of `fixed:out:<method prefix><algo>:<hex>:` |
//! | [`make_output_path`] (input-addressed outputs) | `output:<output>` | `hashDerivationModulo` |

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

use crate::derivation::ContentAddressMethod;
use crate::hash::{Hash, HashAlgo};
use crate::nixbase32;

/// Characters in a store path hash part.
pub const HASH_PART_LEN: usize = 32;
/// Longest name Nix accepts.
pub const MAX_NAME_LEN: usize = 211;

/// Why a store path or name was rejected. Each variant names the offending value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorePathError {
    #[error("{0:?} is not in the store directory {1:?}")]
    NotInStore(String, String),
    #[error("store path base name {0:?} has no '-' after a 32-character hash part")]
    MissingDash(String),
    #[error("invalid hash part {0:?} (must be 32 nix32 characters)")]
    BadHashPart(String),
    #[error("store path name is empty")]
    EmptyName,
    #[error("store path name {name:?} is longer than {MAX_NAME_LEN} characters")]
    NameTooLong { name: String },
    #[error("store path name {name:?} has invalid character {character:?}")]
    BadNameChar { name: String, character: char },
    #[error("store path name {0:?} is reserved ('.' or '..')")]
    DotName(String),
    #[error("store directory {0:?} must be absolute and not end in '/'")]
    BadStoreDir(String),
}

/// The store directory, `/nix/store` unless a test or an unusual store says otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StoreDir(String);

impl StoreDir {
    /// A store directory other than `/nix/store`.
    pub fn new(dir: impl Into<String>) -> Result<Self, StorePathError> {
        let dir = dir.into();
        if !dir.starts_with('/') || (dir.len() > 1 && dir.ends_with('/')) {
            return Err(StorePathError::BadStoreDir(dir));
        }
        Ok(StoreDir(dir))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `<dir>/<hash>-<name>`.
    pub fn display_path(&self, path: &StorePath) -> String {
        format!("{}/{}", self.0, path)
    }

    /// Parse an absolute path directly inside this store directory (no trailing components).
    pub fn parse_path(&self, path: &str) -> Result<StorePath, StorePathError> {
        let base = path
            .strip_prefix(self.0.as_str())
            .and_then(|rest| rest.strip_prefix('/'))
            .ok_or_else(|| StorePathError::NotInStore(path.to_owned(), self.0.clone()))?;
        base.parse()
    }
}

impl Default for StoreDir {
    fn default() -> Self {
        StoreDir("/nix/store".to_owned())
    }
}

impl fmt::Display for StoreDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A store path without its directory: a 32-character nix32 hash part and a name.
///
/// [`fmt::Display`] and [`FromStr`] use the base name `<hash>-<name>` (the JSON v4 form); use
/// [`StorePath::to_absolute`] or [`StoreDir::display_path`] for `/nix/store/<hash>-<name>`.
/// Ordering is that of the base name, which is also Nix's.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StorePath {
    hash_part: String,
    name: String,
}

impl StorePath {
    /// A store path from a 20-byte digest and a name.
    pub fn from_digest(digest: [u8; 20], name: &str) -> Result<Self, StorePathError> {
        validate_name(name)?;
        Ok(StorePath {
            hash_part: nixbase32::encode(&digest),
            name: name.to_owned(),
        })
    }

    /// Parse `/nix/store/<hash>-<name>`.
    pub fn from_absolute_path(path: &str) -> Result<Self, StorePathError> {
        StoreDir::default().parse_path(path)
    }

    /// The 32-character nix32 hash part.
    pub fn hash_part(&self) -> &str {
        &self.hash_part
    }

    /// The 20 bytes the hash part encodes.
    pub fn digest(&self) -> [u8; 20] {
        let bytes = nixbase32::decode(&self.hash_part).expect("validated hash part");
        bytes.try_into().expect("validated hash part length")
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `/nix/store/<hash>-<name>`.
    pub fn to_absolute(&self) -> String {
        StoreDir::default().display_path(self)
    }
}

impl fmt::Display for StorePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.hash_part, self.name)
    }
}

impl FromStr for StorePath {
    type Err = StorePathError;
    /// Parse a base name `<hash>-<name>`.
    fn from_str(base: &str) -> Result<Self, StorePathError> {
        let (hash_part, name) = match (base.get(..HASH_PART_LEN), base.get(HASH_PART_LEN..)) {
            (Some(h), Some(rest)) if rest.starts_with('-') => (h, &rest[1..]),
            _ => return Err(StorePathError::MissingDash(base.to_owned())),
        };
        if nixbase32::decode(hash_part).is_err() {
            return Err(StorePathError::BadHashPart(hash_part.to_owned()));
        }
        validate_name(name)?;
        Ok(StorePath {
            hash_part: hash_part.to_owned(),
            name: name.to_owned(),
        })
    }
}

impl serde::Serialize for StorePath {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for StorePath {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Check a store path name against Nix's rules.
pub fn validate_name(name: &str) -> Result<(), StorePathError> {
    if name.is_empty() {
        return Err(StorePathError::EmptyName);
    }
    if name.len() > MAX_NAME_LEN {
        return Err(StorePathError::NameTooLong {
            name: name.to_owned(),
        });
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "+-._?=".contains(*c)))
    {
        return Err(StorePathError::BadNameChar {
            name: name.to_owned(),
            character: c,
        });
    }
    let dot = |rest: &str| rest.is_empty() || rest.starts_with('-');
    if let Some(rest) = name.strip_prefix("..").or_else(|| name.strip_prefix('.')) {
        if dot(rest) {
            return Err(StorePathError::DotName(name.to_owned()));
        }
    }
    Ok(())
}

/// XOR-fold a digest into `N` bytes (Nix's `compressHash`).
pub fn compress_hash<const N: usize>(digest: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    for (i, b) in digest.iter().enumerate() {
        out[i % N] ^= b;
    }
    out
}

/// Nix's `makeStorePath`: the store path of kind `path_type` (e.g. `text:/nix/store/…`,
/// `source`, `output:out`) whose inner sha256 digest is `inner`.
pub fn make_store_path(
    store_dir: &StoreDir,
    path_type: &str,
    inner: &[u8; 32],
    name: &str,
) -> Result<StorePath, StorePathError> {
    validate_name(name)?;
    let fingerprint = format!(
        "{path_type}:sha256:{}:{store_dir}:{name}",
        data_encoding::HEXLOWER.encode(inner)
    );
    StorePath::from_digest(compress_hash(&Sha256::digest(fingerprint)), name)
}

/// `type` followed by `:<absolute path>` for every reference, in order (Nix's `makeType`).
fn type_with_refs(store_dir: &StoreDir, ty: &str, refs: &BTreeSet<StorePath>) -> String {
    let mut s = ty.to_owned();
    for r in refs {
        s.push(':');
        s.push_str(&store_dir.display_path(r));
    }
    s
}

/// The path of a text file added with references (`builtins.toFile`, a `.drv`): type `text`.
pub fn make_text_path(
    store_dir: &StoreDir,
    name: &str,
    contents: impl AsRef<[u8]>,
    refs: &BTreeSet<StorePath>,
) -> Result<StorePath, StorePathError> {
    let inner: [u8; 32] = Sha256::digest(contents.as_ref()).into();
    make_store_path(
        store_dir,
        &type_with_refs(store_dir, "text", refs),
        &inner,
        name,
    )
}

/// The path of a file system object added by NAR hash (`nix store add`, `./dir` in a Nix
/// expression): type `source`. `nar_sha256` is the sha256 of its NAR (see [`crate::nar`]).
pub fn make_source_path(
    store_dir: &StoreDir,
    name: &str,
    nar_sha256: &[u8; 32],
    refs: &BTreeSet<StorePath>,
) -> Result<StorePath, StorePathError> {
    make_store_path(
        store_dir,
        &type_with_refs(store_dir, "source", refs),
        nar_sha256,
        name,
    )
}

/// Why a fixed-output path cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FixedOutputError {
    #[error(transparent)]
    StorePath(#[from] StorePathError),
    #[error("content address method {method} with hash {hash} cannot have references")]
    RefsNotAllowed {
        method: ContentAddressMethod,
        hash: Hash,
    },
    #[error("text content addressing needs a sha256 hash, got {0}")]
    TextNeedsSha256(Hash),
    #[error("git content addressing is not supported")]
    Git,
}

/// Nix's `makeFixedOutputPath`: where a content-addressed object with this method and hash lives.
///
/// `nar` + sha256 is a source path, `text` (sha256 only) a text path; anything else (`flat`, or
/// `nar` with another algorithm) is `output:out` over `fixed:out:<prefix><algo>:<hex>:` and allows
/// no references.
pub fn make_fixed_output_path(
    store_dir: &StoreDir,
    name: &str,
    method: ContentAddressMethod,
    hash: &Hash,
    refs: &BTreeSet<StorePath>,
) -> Result<StorePath, FixedOutputError> {
    match (method, hash.algo()) {
        (ContentAddressMethod::Nar, HashAlgo::Sha256) => {
            let digest: [u8; 32] = hash.digest().try_into().expect("sha256 length");
            Ok(make_source_path(store_dir, name, &digest, refs)?)
        }
        (ContentAddressMethod::Text, HashAlgo::Sha256) => {
            let digest: [u8; 32] = hash.digest().try_into().expect("sha256 length");
            Ok(make_store_path(
                store_dir,
                &type_with_refs(store_dir, "text", refs),
                &digest,
                name,
            )?)
        }
        (ContentAddressMethod::Text, _) => Err(FixedOutputError::TextNeedsSha256(hash.clone())),
        (ContentAddressMethod::Git, _) => Err(FixedOutputError::Git),
        (ContentAddressMethod::Flat | ContentAddressMethod::Nar, algo) => {
            if !refs.is_empty() {
                return Err(FixedOutputError::RefsNotAllowed {
                    method,
                    hash: hash.clone(),
                });
            }
            let inner: [u8; 32] = Sha256::digest(format!(
                "fixed:out:{}{algo}:{}:",
                method.aterm_prefix(),
                hash.to_hex()
            ))
            .into();
            Ok(make_store_path(store_dir, "output:out", &inner, name)?)
        }
    }
}

/// `<drv name>` for output `out`, else `<drv name>-<output>` (Nix's `outputPathName`).
pub fn output_path_name(drv_name: &str, output: &str) -> String {
    if output == "out" {
        drv_name.to_owned()
    } else {
        format!("{drv_name}-{output}")
    }
}

/// The path of input-addressed output `output` of a derivation named `drv_name` whose
/// `hashDerivationModulo` is `drv_hash` (Nix's `makeOutputPath`).
pub fn make_output_path(
    store_dir: &StoreDir,
    output: &str,
    drv_hash: &[u8; 32],
    drv_name: &str,
) -> Result<StorePath, StorePathError> {
    make_store_path(
        store_dir,
        &format!("output:{output}"),
        drv_hash,
        &output_path_name(drv_name, output),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display() {
        let abs = "/nix/store/d3v2zgdgmw8a1ja7d098isx4mdd7jf0g-x";
        let p = StorePath::from_absolute_path(abs).unwrap();
        assert_eq!(p.hash_part(), "d3v2zgdgmw8a1ja7d098isx4mdd7jf0g");
        assert_eq!(p.name(), "x");
        assert_eq!(p.to_string(), "d3v2zgdgmw8a1ja7d098isx4mdd7jf0g-x");
        assert_eq!(p.to_absolute(), abs);
        assert_eq!(StorePath::from_digest(p.digest(), "x").unwrap(), p);
        let other = StoreDir::new("/gnu/store").unwrap();
        assert_eq!(
            other.parse_path("/gnu/store/d3v2zgdgmw8a1ja7d098isx4mdd7jf0g-x"),
            Ok(p.clone())
        );
        assert_eq!(
            other.display_path(&p),
            "/gnu/store/d3v2zgdgmw8a1ja7d098isx4mdd7jf0g-x"
        );
    }

    #[test]
    fn rejects_bad_paths() {
        use StorePathError::*;
        let parse = StorePath::from_absolute_path;
        assert!(matches!(
            parse("/tmp/d3v2zgdgmw8a1ja7d098isx4mdd7jf0g-x"),
            Err(NotInStore(..))
        ));
        assert!(matches!(
            parse("/nix/store/d3v2zgdgmw8a1ja7d098isx4mdd7jf0g-x/bin"),
            Err(BadNameChar { character: '/', .. })
        ));
        assert!(matches!(
            parse("/nix/store/d3v2zgdgmw8a1ja7d098isx4mdd7jf0gx"),
            Err(MissingDash(_))
        ));
        assert!(matches!(parse("/nix/store/short-x"), Err(MissingDash(_))));
        assert!(matches!(
            parse("/nix/store/e3v2zgdgmw8a1ja7d098isx4mdd7jf0g-x"),
            Err(BadHashPart(_))
        ));
        assert!(matches!(
            parse("/nix/store/d3v2zgdgmw8a1ja7d098isx4mdd7jf0g-"),
            Err(EmptyName)
        ));
        assert!(StoreDir::new("nix/store").is_err());
        assert!(StoreDir::new("/nix/store/").is_err());
    }

    #[test]
    fn name_rules() {
        // Checked with Nix 2.34: `builtins.toFile NAME "x"` accepts the first list, rejects the second.
        for ok in [
            "x",
            "a-b_c.d+e?f=g",
            ".x",
            "..x",
            "x.drv",
            &"a".repeat(MAX_NAME_LEN),
        ] {
            assert_eq!(validate_name(ok), Ok(()), "{ok}");
        }
        for bad in [
            ".",
            "..",
            ".-",
            ".-x",
            "..-x",
            "a b",
            "é",
            "a/b",
            &"a".repeat(MAX_NAME_LEN + 1),
        ] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ordering_is_base_name_order() {
        let a: StorePath = "0000000000000000000000000000000z-b".parse().unwrap();
        let b: StorePath = "00000000000000000000000000000010-a".parse().unwrap();
        assert!(a < b);
        assert!(a.to_string() < b.to_string());
    }

    #[test]
    fn text_paths() {
        // Nix 2.34: builtins.toFile ".x" "x", builtins.toFile "..x" "x".
        let dir = StoreDir::default();
        let none = BTreeSet::new();
        assert_eq!(
            make_text_path(&dir, ".x", "x", &none)
                .unwrap()
                .to_absolute(),
            "/nix/store/1x49d9g8znzikskxdsx7k6kk2qzcdrps-.x"
        );
        assert_eq!(
            make_text_path(&dir, "..x", "x", &none)
                .unwrap()
                .to_absolute(),
            "/nix/store/jrxdf6hfv4ikxwp1z6kip16056w02i18-..x"
        );
    }

    #[test]
    fn fixed_output_paths() {
        let dir = StoreDir::default();
        let none = BTreeSet::new();
        // tests/fixtures/fod: flat sha256, recursive sha256, recursive sha1.
        let h: Hash = "sha256-EFUdrtf6Rn0LWIJufrmg8q99aT3jGfLvd1//zaJEufY="
            .parse()
            .unwrap();
        assert_eq!(
            make_fixed_output_path(&dir, "flat", ContentAddressMethod::Flat, &h, &none)
                .unwrap()
                .to_string(),
            "hpgkmjn6dmvi3f1hgnsnxgni2qkii4jd-flat"
        );
        let h: Hash = "sha256-EFUdrtf6Rn0LWIJufrmg8q99aT3jGfLvd1//zaJEufY="
            .parse()
            .unwrap();
        assert_eq!(
            make_fixed_output_path(&dir, "nar", ContentAddressMethod::Nar, &h, &none)
                .unwrap()
                .to_string(),
            "mg1iydbk4s8yb13sph1x390982c3chpf-nar"
        );
        let h: Hash = "sha1-+/XVxDghcUi+rRWYcpXD08RHhZw=".parse().unwrap();
        assert_eq!(
            make_fixed_output_path(&dir, "sha1", ContentAddressMethod::Nar, &h, &none)
                .unwrap()
                .to_string(),
            "7bsjzr20khgs91hqd9m7mxp7llrfp0yc-sha1"
        );
        let refs = BTreeSet::from(["7bsjzr20khgs91hqd9m7mxp7llrfp0yc-sha1".parse().unwrap()]);
        assert!(matches!(
            make_fixed_output_path(&dir, "sha1", ContentAddressMethod::Nar, &h, &refs),
            Err(FixedOutputError::RefsNotAllowed { .. })
        ));
    }
}
