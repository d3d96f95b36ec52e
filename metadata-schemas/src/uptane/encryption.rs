//! The `encryption` block of a director target (per ECU): how the image the ECU
//! downloads is encrypted and the content key wrapped for it. The target's own `length`
//! and `hashes` stay the plaintext's (equal to the image repository's); the
//! ciphertext's are in `content`. Every algorithm is named and checked: an unknown one
//! is refused, never guessed.

use alloc::string::String;

use crate::decode::{Decode, Encode, ObjectBuilder, UnknownFields, as_object, as_str, optional, required};
use crate::error::DecodeError;
use crate::json::Value;
use crate::{Hashes, TargetPath, hex};

/// The block's format version this crate reads.
pub const ENCRYPTION_VERSION: u64 = 1;

/// How one image is encrypted for one ECU.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncryptionBlock {
    /// The ciphertext: algorithm, IV, file name, length and hashes.
    pub content: EncryptedContent,
    /// The content key, wrapped for the ECU.
    pub key: WrappedContentKey,
    /// Optional: a signed index of the ciphertext's chunk hashes.
    pub chunks: Option<ChunkIndex>,
    /// Fields this crate does not define.
    pub unknown: UnknownFields,
}

/// The content encryption algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContentAlgorithm {
    /// AES-128 in CTR mode, the counter the IV plus the block index (128-bit big-endian).
    Aes128Ctr,
}

/// The key transport algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyAlgorithm {
    /// X25519 with an ephemeral key, HKDF-SHA256 over the binding, AES-128-KW.
    X25519HkdfSha256A128Kw,
}

/// The ciphertext the ECU downloads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncryptedContent {
    /// The algorithm.
    pub alg: ContentAlgorithm,
    /// The IV.
    pub iv: [u8; 16],
    /// The ciphertext's file name in the director's targets.
    pub filename: TargetPath,
    /// The ciphertext's length.
    pub length: u64,
    /// The ciphertext's hashes.
    pub hashes: Hashes,
    /// Fields this crate does not define.
    pub unknown: UnknownFields,
}

/// The content key wrapped for one ECU's decryption key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrappedContentKey {
    /// The algorithm.
    pub alg: KeyAlgorithm,
    /// The SHA-256 of the ECU's X25519 public key the key is wrapped for.
    pub ecu_key_id: [u8; 32],
    /// The ephemeral X25519 public key.
    pub epk: [u8; 32],
    /// The AES-KW output.
    pub wrapped_cek: [u8; 24],
    /// Fields this crate does not define.
    pub unknown: UnknownFields,
}

/// The hashes of every `size` bytes of ciphertext, in a file of their own (raw SHA-256
/// digests back to back), so an ECU can check each chunk before it programs flash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChunkIndex {
    /// Bytes per chunk: a multiple of 16 from 16 to 1 MiB.
    pub size: u32,
    /// The index file: name, length and hashes.
    pub index: IndexFile,
    /// Fields this crate does not define.
    pub unknown: UnknownFields,
}

/// A file the block names: its target name, length and hashes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexFile {
    /// Its name in the director's targets.
    pub filename: TargetPath,
    /// Its length.
    pub length: u64,
    /// Its hashes.
    pub hashes: Hashes,
    /// Fields this crate does not define.
    pub unknown: UnknownFields,
}

impl ContentAlgorithm {
    /// The name in metadata.
    pub fn name(self) -> &'static str {
        match self {
            ContentAlgorithm::Aes128Ctr => "aes-128-ctr",
        }
    }
}

impl KeyAlgorithm {
    /// The name in metadata.
    pub fn name(self) -> &'static str {
        match self {
            KeyAlgorithm::X25519HkdfSha256A128Kw => "x25519-hkdf-sha256-a128kw",
        }
    }
}

impl Decode for ContentAlgorithm {
    fn decode(value: &Value<'_>) -> Result<Self, DecodeError> {
        match as_str(value)? {
            "aes-128-ctr" => Ok(ContentAlgorithm::Aes128Ctr),
            _ => Err(DecodeError::invalid("the content algorithm must be aes-128-ctr")),
        }
    }
}

impl Decode for KeyAlgorithm {
    fn decode(value: &Value<'_>) -> Result<Self, DecodeError> {
        match as_str(value)? {
            "x25519-hkdf-sha256-a128kw" => Ok(KeyAlgorithm::X25519HkdfSha256A128Kw),
            _ => Err(DecodeError::invalid("the key algorithm must be x25519-hkdf-sha256-a128kw")),
        }
    }
}

/// A fixed-length byte string as lowercase hex.
fn hex_field<const N: usize>(object: &crate::json::Object<'_>, name: &str) -> Result<[u8; N], DecodeError> {
    let text: String = required(object, name)?;
    hex::decode_lower_array(&text)
        .ok_or_else(|| DecodeError::invalid("not lowercase hex of the field's length").in_field(name))
}

impl Decode for EncryptionBlock {
    fn decode(value: &Value<'_>) -> Result<Self, DecodeError> {
        let object = as_object(value)?;
        let version: u64 = required(object, "version")?;
        if version != ENCRYPTION_VERSION {
            return Err(DecodeError::invalid("the encryption block's version must be 1").in_field("version"));
        }
        Ok(EncryptionBlock {
            content: required(object, "content")?,
            key: required(object, "key")?,
            chunks: optional(object, "chunks")?,
            unknown: UnknownFields::collect(object, &["version", "content", "key", "chunks"]),
        })
    }
}

impl Decode for EncryptedContent {
    fn decode(value: &Value<'_>) -> Result<Self, DecodeError> {
        let object = as_object(value)?;
        Ok(EncryptedContent {
            alg: required(object, "alg")?,
            iv: hex_field(object, "iv")?,
            filename: required(object, "filename")?,
            length: required(object, "length")?,
            hashes: required(object, "hashes")?,
            unknown: UnknownFields::collect(object, &["alg", "iv", "filename", "length", "hashes"]),
        })
    }
}

impl Decode for WrappedContentKey {
    fn decode(value: &Value<'_>) -> Result<Self, DecodeError> {
        let object = as_object(value)?;
        Ok(WrappedContentKey {
            alg: required(object, "alg")?,
            ecu_key_id: hex_field(object, "ecu_key_id")?,
            epk: hex_field(object, "epk")?,
            wrapped_cek: hex_field(object, "wrapped_cek")?,
            unknown: UnknownFields::collect(object, &["alg", "ecu_key_id", "epk", "wrapped_cek"]),
        })
    }
}

impl Decode for ChunkIndex {
    fn decode(value: &Value<'_>) -> Result<Self, DecodeError> {
        let object = as_object(value)?;
        let size: u64 = required(object, "size")?;
        if !(16..=1 << 20).contains(&size) || size % 16 != 0 {
            return Err(DecodeError::invalid("a multiple of 16 from 16 to 1048576").in_field("size"));
        }
        let hash_alg: String = required(object, "hash_alg")?;
        if hash_alg != "sha256" {
            return Err(DecodeError::invalid("chunk hashes must be sha256").in_field("hash_alg"));
        }
        Ok(ChunkIndex {
            size: size as u32,
            index: required(object, "index")?,
            unknown: UnknownFields::collect(object, &["size", "hash_alg", "index"]),
        })
    }
}

impl Decode for IndexFile {
    fn decode(value: &Value<'_>) -> Result<Self, DecodeError> {
        let object = as_object(value)?;
        Ok(IndexFile {
            filename: required(object, "filename")?,
            length: required(object, "length")?,
            hashes: required(object, "hashes")?,
            unknown: UnknownFields::collect(object, &["filename", "length", "hashes"]),
        })
    }
}

impl Encode for EncryptionBlock {
    fn encode(&self) -> Value<'_> {
        ObjectBuilder::new()
            .field("version", Value::unsigned(ENCRYPTION_VERSION))
            .field("content", self.content.encode())
            .field("key", self.key.encode())
            .optional("chunks", &self.chunks)
            .finish(&self.unknown)
    }
}

impl Encode for EncryptedContent {
    fn encode(&self) -> Value<'_> {
        ObjectBuilder::new()
            .field("alg", Value::string(self.alg.name()))
            .field("iv", Value::string(hex::encode(&self.iv)))
            .field("filename", self.filename.encode())
            .field("length", self.length.encode())
            .field("hashes", self.hashes.encode())
            .finish(&self.unknown)
    }
}

impl Encode for WrappedContentKey {
    fn encode(&self) -> Value<'_> {
        ObjectBuilder::new()
            .field("alg", Value::string(self.alg.name()))
            .field("ecu_key_id", Value::string(hex::encode(&self.ecu_key_id)))
            .field("epk", Value::string(hex::encode(&self.epk)))
            .field("wrapped_cek", Value::string(hex::encode(&self.wrapped_cek)))
            .finish(&self.unknown)
    }
}

impl Encode for ChunkIndex {
    fn encode(&self) -> Value<'_> {
        ObjectBuilder::new()
            .field("size", Value::unsigned(u64::from(self.size)))
            .field("hash_alg", Value::string("sha256"))
            .field("index", self.index.encode())
            .finish(&self.unknown)
    }
}

impl Encode for IndexFile {
    fn encode(&self) -> Value<'_> {
        ObjectBuilder::new()
            .field("filename", self.filename.encode())
            .field("length", self.length.encode())
            .field("hashes", self.hashes.encode())
            .finish(&self.unknown)
    }
}

#[cfg(test)]
mod tests;
