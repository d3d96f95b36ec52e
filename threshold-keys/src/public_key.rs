//! Public keys decoded from metadata key entries, and single-signature verification.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use metadata_schemas::{Encode, Key, KeyId, hex, json};

use crate::{backend, der, pem, strict};

/// A public key this crate can verify with. Two entries holding the same key material
/// compare equal, whatever their key ids or key type spellings: that is how the
/// threshold check counts each key once.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PublicKey {
    /// Ed25519 (`ed25519` / `ed25519`): the 32-byte point.
    Ed25519([u8; 32]),
    /// ECDSA on P-256 with SHA-256 (`ecdsa` / `ecdsa-sha2-nistp256`): the uncompressed point.
    EcdsaP256([u8; 65]),
    /// RSASSA-PSS with SHA-256, MGF1-SHA-256 and a 32-byte salt (`rsa` / `rsassa-pss-sha256`).
    RsaPssSha256(RsaKey),
}

/// An RSA public key within the limits both backends accept.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RsaKey {
    /// The DER `RSAPublicKey` (modulus and exponent).
    pub(crate) der: Vec<u8>,
    /// Modulus size in bytes: the length every signature must have.
    pub(crate) modulus_len: usize,
}

/// Why a key entry cannot be used to verify.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    /// A key type and scheme this crate does not implement (it is ignored, not fatal).
    UnsupportedScheme {
        /// The key type.
        keytype: String,
        /// The scheme.
        scheme: String,
    },
    /// `keyval.public` is missing.
    MissingPublicValue,
    /// The public value is malformed or a weak key.
    Malformed(&'static str),
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::UnsupportedScheme { keytype, scheme } => {
                write!(f, "unsupported key type/scheme {keytype}/{scheme}")
            }
            KeyError::MissingPublicValue => f.write_str("keyval.public is missing"),
            KeyError::Malformed(why) => write!(f, "malformed public key: {why}"),
        }
    }
}

impl core::error::Error for KeyError {}

/// Why a signature does not verify.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureError {
    /// Not hex.
    NotHex,
    /// Refused before verification: not canonical, or out of range.
    Malformed(&'static str),
    /// Well-formed, but not a signature by this key over these bytes.
    Invalid,
    /// The crypto backend of this build cannot verify this key type.
    UnsupportedByBackend,
}

impl fmt::Display for SignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignatureError::NotHex => f.write_str("signature is not hex"),
            SignatureError::Malformed(why) => write!(f, "malformed signature: {why}"),
            SignatureError::Invalid => f.write_str("signature does not verify"),
            SignatureError::UnsupportedByBackend => {
                f.write_str("key type not supported by this build's crypto backend")
            }
        }
    }
}

impl core::error::Error for SignatureError {}

impl PublicKey {
    /// Decodes a metadata key entry.
    pub fn from_metadata(key: &Key) -> Result<Self, KeyError> {
        let unsupported = || KeyError::UnsupportedScheme { keytype: key.keytype.clone(), scheme: key.scheme.clone() };
        let public = || key.keyval.public.as_deref().ok_or(KeyError::MissingPublicValue);
        match (key.keytype.as_str(), key.scheme.as_str()) {
            ("ed25519", "ed25519") => {
                let bytes = hex::decode(public()?).ok_or(KeyError::Malformed("Ed25519 key is not hex"))?;
                let point: [u8; 32] =
                    bytes.try_into().map_err(|_| KeyError::Malformed("Ed25519 key is not 32 bytes"))?;
                strict::ed25519_point(&point).map_err(KeyError::Malformed)?;
                Ok(PublicKey::Ed25519(point))
            }
            ("ecdsa" | "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256") => with_spki(public()?, |spki| match spki {
                der::Spki::EcP256(point) => {
                    Ok(PublicKey::EcdsaP256(strict::p256_point(point).map_err(KeyError::Malformed)?))
                }
                der::Spki::Rsa { .. } => Err(KeyError::Malformed("an RSA key listed as ECDSA")),
            }),
            ("rsa", "rsassa-pss-sha256") => with_spki(public()?, |spki| match spki {
                der::Spki::Rsa { rsa_public_key, modulus, exponent } => {
                    strict::rsa_key(modulus, exponent).map_err(KeyError::Malformed)?;
                    Ok(PublicKey::RsaPssSha256(RsaKey { der: rsa_public_key.to_vec(), modulus_len: modulus.len() }))
                }
                der::Spki::EcP256(_) => Err(KeyError::Malformed("an ECDSA key listed as RSA")),
            }),
            _ => Err(unsupported()),
        }
    }

    /// Verifies a hex signature over `message` with this build's default backend.
    pub fn verify_hex(&self, message: &[u8], signature_hex: &str) -> Result<(), SignatureError> {
        let signature = hex::decode(signature_hex).ok_or(SignatureError::NotHex)?;
        self.verify(message, &signature)
    }

    /// Verifies raw signature bytes over `message` with this build's default backend.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), SignatureError> {
        backend::default::verify(self, message, signature)
    }

    /// The encoding rules every backend relies on, for the key (its variants are public,
    /// so it may not have come through [`PublicKey::from_metadata`]) and the signature.
    pub(crate) fn check_encodings(&self, signature: &[u8]) -> Result<(), SignatureError> {
        match self {
            PublicKey::Ed25519(point) => {
                strict::ed25519_point(point).and_then(|()| strict::ed25519_signature(signature).map(drop))
            }
            PublicKey::EcdsaP256(point) => strict::p256_point(point).and_then(|_| strict::p256_signature(signature)),
            PublicKey::RsaPssSha256(key) => (signature.len() == key.modulus_len)
                .then_some(())
                .ok_or("RSA signature length differs from the modulus"),
        }
        .map_err(SignatureError::Malformed)
    }

    /// The metadata entry for this key, written as python-tuf writes it.
    pub fn to_metadata(&self) -> Key {
        match self {
            PublicKey::Ed25519(point) => Key::new("ed25519", "ed25519", hex::encode(point)),
            PublicKey::EcdsaP256(point) => {
                Key::new("ecdsa", "ecdsa-sha2-nistp256", pem::encode(&der::p256_spki(point), "PUBLIC KEY"))
            }
            PublicKey::RsaPssSha256(key) => {
                Key::new("rsa", "rsassa-pss-sha256", pem::encode(&der::rsa_spki(&key.der), "PUBLIC KEY"))
            }
        }
    }
}

/// Decodes a PEM SubjectPublicKeyInfo and hands the parsed view to `f`.
fn with_spki<T>(pem_text: &str, f: impl FnOnce(der::Spki<'_>) -> Result<T, KeyError>) -> Result<T, KeyError> {
    let bytes = pem::decode(pem_text, "PUBLIC KEY").ok_or(KeyError::Malformed("public key is not PEM"))?;
    f(der::parse_spki(&bytes).ok_or(KeyError::Malformed("unsupported or malformed SubjectPublicKeyInfo"))?)
}

/// The default key id of a key entry: the hex SHA-256 of the canonical JSON of
/// `{"keytype", "scheme", "keyval"}`, as securesystemslib computes it.
pub fn default_key_id(key: &Key) -> KeyId {
    let mut object = json::Object::new();
    object.insert("keytype", key.keytype.encode());
    object.insert("scheme", key.scheme.encode());
    object.insert("keyval", key.keyval.encode());
    let canonical = json::to_canonical(&json::Value::Object(object));
    KeyId::new(hex::encode(&crate::digest::sha256(&canonical)))
}
