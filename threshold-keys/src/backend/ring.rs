//! The ring backend (hosts).

use ring::digest;
use ring::signature::{ECDSA_P256_SHA256_ASN1, ED25519, RSA_PSS_2048_8192_SHA256, UnparsedPublicKey};

use crate::{PublicKey, SignatureError};

/// Verifies `signature` over `message` with ring.
pub fn verify(key: &PublicKey, message: &[u8], signature: &[u8]) -> Result<(), SignatureError> {
    key.check_encodings(signature)?;
    let verdict = match key {
        PublicKey::Ed25519(point) => UnparsedPublicKey::new(&ED25519, point).verify(message, signature),
        PublicKey::EcdsaP256(point) => {
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, point).verify(message, signature)
        }
        PublicKey::RsaPssSha256(rsa) => {
            UnparsedPublicKey::new(&RSA_PSS_2048_8192_SHA256, &rsa.der).verify(message, signature)
        }
    };
    verdict.map_err(|_| SignatureError::Invalid)
}

/// A running SHA-256 or SHA-512.
#[derive(Clone)]
pub struct Context(digest::Context);

impl Context {
    /// A new SHA-256.
    pub fn sha256() -> Self {
        Context(digest::Context::new(&digest::SHA256))
    }

    /// A new SHA-512.
    pub fn sha512() -> Self {
        Context(digest::Context::new(&digest::SHA512))
    }

    /// Adds data.
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    /// Writes the digest (32 or 64 bytes) into `out`, which must have that length.
    pub fn finish_into(self, out: &mut [u8]) {
        out.copy_from_slice(self.0.finish().as_ref());
    }
}
