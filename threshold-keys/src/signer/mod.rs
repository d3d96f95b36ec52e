//! Signing: one trait for every place a key can live (key files here; PKCS#11 tokens
//! and offline ceremonies build on it in repo-tool and the director).

mod key_file;
#[cfg(feature = "pkcs11")]
mod pkcs11;

pub use key_file::{KeyAlgorithm, KeyFileError, KeyFileSigner, SCRYPT_LOG_N};
#[cfg(feature = "pkcs11")]
pub use pkcs11::{Pkcs11Signer, Pkcs11Uri};

use alloc::string::String;
use core::fmt;

use metadata_schemas::{Key, KeyId, Signature};

/// Something that signs metadata with one key.
pub trait Signer {
    /// The key id signatures are filed under.
    fn key_id(&self) -> &KeyId;

    /// The public key entry to list in metadata.
    fn public_key(&self) -> &Key;

    /// Signs `message` (the canonical bytes of a `signed` object).
    fn sign(&self, message: &[u8]) -> Result<Signature, SignError>;
}

/// A failure to sign.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignError {
    /// The crypto library refused to sign.
    Crypto,
    /// A device (HSM, token) reported an error.
    Device(String),
}

impl fmt::Display for SignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignError::Crypto => f.write_str("the crypto library failed to sign"),
            SignError::Device(e) => write!(f, "signing device error: {e}"),
        }
    }
}

impl std::error::Error for SignError {}
