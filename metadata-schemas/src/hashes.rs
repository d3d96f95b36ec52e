//! Hashes of files, and the listing of a metadata file (version, length, hashes) in
//! timestamp and snapshot.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

use crate::Version;
use crate::decode::{Decode, Encode, ObjectBuilder, UnknownFields, as_object, as_str, optional, required};
use crate::error::DecodeError;
use crate::hex;
use crate::json::Value;

/// A hash algorithm this crate can compute.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HashAlgorithm {
    /// SHA-256
    Sha256,
    /// SHA-512
    Sha512,
}

impl HashAlgorithm {
    /// The name used in metadata.
    pub fn name(self) -> &'static str {
        match self {
            HashAlgorithm::Sha256 => "sha256",
            HashAlgorithm::Sha512 => "sha512",
        }
    }
}

/// A digest of a known algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Digest {
    /// A SHA-256 digest.
    Sha256([u8; 32]),
    /// A SHA-512 digest.
    Sha512([u8; 64]),
}

impl Digest {
    /// The algorithm.
    pub fn algorithm(&self) -> HashAlgorithm {
        match self {
            Digest::Sha256(_) => HashAlgorithm::Sha256,
            Digest::Sha512(_) => HashAlgorithm::Sha512,
        }
    }

    /// The digest bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Digest::Sha256(d) => d,
            Digest::Sha512(d) => d,
        }
    }

    /// The digest in lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.as_bytes())
    }
}

/// The `hashes` of a file: at least one entry. Digests of known algorithms are parsed;
/// others are kept as text, and cannot be checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hashes {
    known: Vec<Digest>,
    unknown: Vec<(String, String)>,
}

impl Hashes {
    /// Hashes from known digests; `None` if the list is empty or repeats an algorithm.
    pub fn new(digests: Vec<Digest>) -> Option<Self> {
        let mut algorithms: Vec<HashAlgorithm> = digests.iter().map(Digest::algorithm).collect();
        algorithms.sort();
        algorithms.dedup();
        (!digests.is_empty() && algorithms.len() == digests.len())
            .then_some(Hashes { known: digests, unknown: Vec::new() })
    }

    /// Digests of the algorithms this crate computes.
    pub fn known(&self) -> &[Digest] {
        &self.known
    }

    /// Names of the algorithms listed that this crate cannot compute.
    pub fn unknown_algorithms(&self) -> impl Iterator<Item = &str> {
        self.unknown.iter().map(|(name, _)| name.as_str())
    }

    /// The digest for `algorithm`, if listed.
    pub fn get(&self, algorithm: HashAlgorithm) -> Option<&Digest> {
        self.known.iter().find(|d| d.algorithm() == algorithm)
    }

    /// The digest used in consistent-snapshot target names: the first listed in
    /// key order, as python-tuf takes it.
    pub fn first_hex(&self) -> String {
        let first_known = self.known.iter().map(|d| (d.algorithm().name(), d.to_hex()));
        let first_unknown = self.unknown.iter().map(|(a, v)| (a.as_str(), v.clone()));
        first_known.chain(first_unknown).min_by(|a, b| a.0.cmp(b.0)).map(|(_, hex)| hex).unwrap_or_default()
    }
}

impl Decode for Hashes {
    fn decode(value: &Value<'_>) -> Result<Self, DecodeError> {
        let object = as_object(value)?;
        if object.is_empty() {
            return Err(DecodeError::invalid("hashes must list at least one digest"));
        }
        // Exact capacity: one digest per target is the common case, and a default-sized
        // Vec would reserve four (260 bytes per target at 100,000 targets).
        let known = object.iter().filter(|(name, _)| matches!(*name, "sha256" | "sha512")).count();
        let mut hashes = Hashes { known: Vec::with_capacity(known), unknown: Vec::new() };
        for (name, digest) in object.iter() {
            let text = as_str(digest).map_err(|e| e.in_field(name))?;
            let bad = || DecodeError::invalid("digest is not lowercase hex of the algorithm's length").in_field(name);
            match name {
                "sha256" => hashes.known.push(Digest::Sha256(hex::decode_lower_array(text).ok_or_else(bad)?)),
                "sha512" => hashes.known.push(Digest::Sha512(hex::decode_lower_array(text).ok_or_else(bad)?)),
                other => hashes.unknown.push((String::from(other), String::from(text))),
            }
        }
        Ok(hashes)
    }
}

impl Encode for Hashes {
    fn encode(&self) -> Value<'_> {
        let known =
            self.known.iter().map(|d| (Cow::Borrowed(d.algorithm().name()), Value::String(Cow::Owned(d.to_hex()))));
        let unknown = self.unknown.iter().map(|(a, v)| (Cow::Borrowed(a.as_str()), Value::string(v.as_str())));
        Value::Object(known.chain(unknown).collect())
    }
}

/// A file listed in timestamp or snapshot metadata: version, and optionally length
/// and hashes of the metadata file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetaFile {
    /// Version of the listed metadata.
    pub version: Version,
    /// Length of the file in bytes, if given.
    pub length: Option<u64>,
    /// Hashes of the file, if given.
    pub hashes: Option<Hashes>,
    /// Fields this crate does not define.
    pub unknown: UnknownFields,
}

impl MetaFile {
    /// A listing by version only.
    pub fn new(version: Version) -> Self {
        MetaFile { version, length: None, hashes: None, unknown: UnknownFields::default() }
    }
}

impl Decode for MetaFile {
    fn decode(value: &Value<'_>) -> Result<Self, DecodeError> {
        let object = as_object(value)?;
        Ok(MetaFile {
            version: required(object, "version")?,
            length: optional(object, "length")?,
            hashes: optional(object, "hashes")?,
            unknown: UnknownFields::collect(object, &["version", "length", "hashes"]),
        })
    }
}

impl Encode for MetaFile {
    fn encode(&self) -> Value<'_> {
        ObjectBuilder::new()
            .field("version", self.version.encode())
            .optional("length", &self.length)
            .optional("hashes", &self.hashes)
            .finish(&self.unknown)
    }
}
