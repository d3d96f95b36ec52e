//! The pure-Rust RustCrypto backend (bare metal): ed25519-dalek with strict
//! verification, p256, sha2. RSA is not available here.

use p256::ecdsa::signature::Verifier as _;
use sha2::Digest as _;

use crate::{PublicKey, SignatureError, strict};

/// Verifies `signature` over `message` with RustCrypto.
pub fn verify(key: &PublicKey, message: &[u8], signature: &[u8]) -> Result<(), SignatureError> {
    key.check_encodings(signature)?;
    match key {
        PublicKey::Ed25519(point) => {
            let key = ed25519_dalek::VerifyingKey::from_bytes(point).map_err(|_| SignatureError::Invalid)?;
            let bytes = strict::ed25519_signature(signature).map_err(SignatureError::Malformed)?;
            let signature = ed25519_dalek::Signature::from_bytes(bytes);
            // Strict: no small-order keys or R, S reduced; the same cofactorless check as ring.
            key.verify_strict(message, &signature).map_err(|_| SignatureError::Invalid)
        }
        PublicKey::EcdsaP256(point) => {
            let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(|_| SignatureError::Invalid)?;
            let signature = p256::ecdsa::Signature::from_der(signature).map_err(|_| SignatureError::Invalid)?;
            key.verify(message, &signature).map_err(|_| SignatureError::Invalid)
        }
        PublicKey::RsaPssSha256(_) => Err(SignatureError::UnsupportedByBackend),
    }
}

/// A running SHA-256 or SHA-512.
#[derive(Clone)]
pub enum Context {
    /// SHA-256
    Sha256(sha2::Sha256),
    /// SHA-512
    Sha512(sha2::Sha512),
}

impl Context {
    /// A new SHA-256.
    pub fn sha256() -> Self {
        Context::Sha256(sha2::Sha256::new())
    }

    /// A new SHA-512.
    pub fn sha512() -> Self {
        Context::Sha512(sha2::Sha512::new())
    }

    /// Adds data.
    pub fn update(&mut self, data: &[u8]) {
        match self {
            Context::Sha256(h) => h.update(data),
            Context::Sha512(h) => h.update(data),
        }
    }

    /// Writes the digest (32 or 64 bytes) into `out`, which must have that length.
    pub fn finish_into(self, out: &mut [u8]) {
        match self {
            Context::Sha256(h) => out.copy_from_slice(&h.finalize()),
            Context::Sha512(h) => out.copy_from_slice(&h.finalize()),
        }
    }
}
