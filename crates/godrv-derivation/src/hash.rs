//! Hashes as Nix names and prints them: an algorithm plus a digest, written in SRI form
//! (`sha256-<base64>`) in JSON v4, as bare lowercase hex in the ATerm, and as nix32 in store paths.

use std::fmt;
use std::str::FromStr;

use data_encoding::{BASE64, HEXLOWER};
use sha2::{Digest, Sha256};

/// A hash algorithm Nix knows. godrv only computes sha256, but fixed-output derivations may name
/// any of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HashAlgo {
    Md5,
    Sha1,
    Sha256,
    Sha512,
}

impl HashAlgo {
    /// The name Nix uses (`sha256`), also the JSON v4 `hashAlgo` value.
    pub const fn name(self) -> &'static str {
        match self {
            HashAlgo::Md5 => "md5",
            HashAlgo::Sha1 => "sha1",
            HashAlgo::Sha256 => "sha256",
            HashAlgo::Sha512 => "sha512",
        }
    }

    /// Digest size in bytes.
    pub const fn digest_len(self) -> usize {
        match self {
            HashAlgo::Md5 => 16,
            HashAlgo::Sha1 => 20,
            HashAlgo::Sha256 => 32,
            HashAlgo::Sha512 => 64,
        }
    }
}

impl fmt::Display for HashAlgo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for HashAlgo {
    type Err = HashError;
    fn from_str(s: &str) -> Result<Self, HashError> {
        Ok(match s {
            "md5" => HashAlgo::Md5,
            "sha1" => HashAlgo::Sha1,
            "sha256" => HashAlgo::Sha256,
            "sha512" => HashAlgo::Sha512,
            _ => return Err(HashError::UnknownAlgo(s.to_owned())),
        })
    }
}

/// Why a hash string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    #[error("unknown hash algorithm {0:?}")]
    UnknownAlgo(String),
    #[error("hash {0:?} is not in SRI form (<algo>-<base64>)")]
    NotSri(String),
    #[error("invalid base64 in hash {0:?}")]
    BadBase64(String),
    #[error("{algo} digest must be {expected} bytes, {hash:?} has {actual}")]
    WrongLength {
        hash: String,
        algo: HashAlgo,
        expected: usize,
        actual: usize,
    },
}

/// A digest with its algorithm. [`fmt::Display`] and [`FromStr`] use SRI form.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hash {
    algo: HashAlgo,
    digest: Vec<u8>,
}

impl Hash {
    /// A hash from its digest; fails if the length does not fit the algorithm.
    pub fn new(algo: HashAlgo, digest: Vec<u8>) -> Result<Self, HashError> {
        if digest.len() != algo.digest_len() {
            return Err(HashError::WrongLength {
                hash: HEXLOWER.encode(&digest),
                algo,
                expected: algo.digest_len(),
                actual: digest.len(),
            });
        }
        Ok(Hash { algo, digest })
    }

    /// The sha256 of `data`.
    pub fn sha256(data: impl AsRef<[u8]>) -> Self {
        Hash {
            algo: HashAlgo::Sha256,
            digest: Sha256::digest(data.as_ref()).to_vec(),
        }
    }

    pub fn algo(&self) -> HashAlgo {
        self.algo
    }

    pub fn digest(&self) -> &[u8] {
        &self.digest
    }

    /// Lowercase hex of the digest, without the algorithm (the ATerm form).
    pub fn to_hex(&self) -> String {
        HEXLOWER.encode(&self.digest)
    }

    /// nix32 of the digest, without the algorithm (what `nix-hash --base32` prints).
    pub fn to_nix32(&self) -> String {
        crate::nixbase32::encode(&self.digest)
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.algo, BASE64.encode(&self.digest))
    }
}

impl FromStr for Hash {
    type Err = HashError;
    fn from_str(s: &str) -> Result<Self, HashError> {
        let (algo, b64) = s
            .split_once('-')
            .ok_or_else(|| HashError::NotSri(s.to_owned()))?;
        let algo: HashAlgo = algo.parse()?;
        let digest = BASE64
            .decode(b64.as_bytes())
            .map_err(|_| HashError::BadBase64(s.to_owned()))?;
        Hash::new(algo, digest).map_err(|e| match e {
            HashError::WrongLength {
                algo,
                expected,
                actual,
                ..
            } => HashError::WrongLength {
                hash: s.to_owned(),
                algo,
                expected,
                actual,
            },
            e => e,
        })
    }
}

impl serde::Serialize for Hash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Hash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for HashAlgo {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for HashAlgo {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sri_round_trip() {
        // `echo hi | sha256sum`.
        let h = Hash::sha256("hi\n");
        assert_eq!(
            h.to_hex(),
            "98ea6e4f216f2fb4b69fff9b3a44842c38686ca685f3f55dc48c5d3fb1107be4"
        );
        assert_eq!(h.to_string().parse::<Hash>().unwrap(), h);
        // The fixed-output fixture's hash, as Nix prints it in JSON and in the ATerm.
        let sri = "sha256-SwamOTvHJzqlNnqVN3O2ytrBUtVK5dQZXgPcDRHHHfg=";
        let h: Hash = sri.parse().unwrap();
        assert_eq!(
            h.to_hex(),
            "4b06a6393bc7273aa5367a953773b6cadac152d54ae5d4195e03dc0d11c71df8"
        );
        assert_eq!(h.to_string(), sri);
    }

    #[test]
    fn rejects_bad_sri() {
        assert!(matches!(
            "sha256-AAAA".parse::<Hash>(),
            Err(HashError::WrongLength { .. })
        ));
        assert!(matches!(
            "blake3-AAAA".parse::<Hash>(),
            Err(HashError::UnknownAlgo(_))
        ));
        assert!(matches!(
            "sha256".parse::<Hash>(),
            Err(HashError::NotSri(_))
        ));
    }
}
