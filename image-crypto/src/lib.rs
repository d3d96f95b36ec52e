//! Per-ECU image encryption (the Uptane director encrypts, the ECU decrypts):
//!
//! - the image: AES-128-CTR under a random content key (CEK) and IV, the counter the IV
//!   plus the block index (128-bit big-endian), so ciphertext and plaintext have the same
//!   length and any offset decrypts alone (a resumed download, a Range request);
//! - the CEK for one ECU: X25519 between a fresh ephemeral key and the ECU's decryption
//!   key, HKDF-SHA256 into a key-encryption key, AES-128-KW (RFC 3394) around the CEK. The
//!   HKDF input binds the wrapped key to the ECU, the image's file name, its plaintext
//!   SHA-256, its release counter, the content algorithm and the IV ([`Binding`]), so a
//!   wrapped key copied into another ECU's or another image's entry fails AES-KW's
//!   integrity check before one byte is decrypted.
//!
//! `no_std`, no heap; secrets are zeroized when dropped. Randomness comes from the caller
//! (the director), so the crate needs no RNG on the ECU.

#![no_std]

use aes::Aes128;
use aes_kw::KekAes128;
use ctr::cipher::{KeyIvInit, StreamCipher, StreamCipherSeek};
use hkdf::Hkdf;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// The content algorithm's name, as metadata and the binding spell it.
pub const CONTENT_ALG: &str = "aes-128-ctr";
/// The key transport's name.
pub const KEY_ALG: &str = "x25519-hkdf-sha256-a128kw";
/// The HKDF info's label (followed by a zero byte).
const LABEL: &[u8] = b"uptane-image-key/v1\0";

/// Why a key could not be wrapped or unwrapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// AES-KW's integrity check failed: the wrong ECU key, or a wrapped key bound to
    /// another ECU, image, release or IV, or altered.
    Unwrap,
    /// The X25519 exchange gave no secret (a low-order public key).
    WeakKey,
    /// A bound field is longer than 65,535 bytes.
    FieldTooLong,
}

/// A content key: zeroized when dropped.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct ContentKey([u8; 16]);

impl ContentKey {
    /// A content key from 16 random bytes.
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        ContentKey(bytes)
    }

    /// The key's bytes (to keep it encrypted at rest).
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl PartialEq for ContentKey {
    /// Constant-time.
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for ContentKey {}

impl core::fmt::Debug for ContentKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("ContentKey(..)")
    }
}

/// What a wrapped key is bound to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Binding<'a> {
    /// The ECU's serial (`ecu_identifier`).
    pub ecu_identifier: &'a str,
    /// The image's target file name.
    pub filename: &'a str,
    /// The plaintext image's SHA-256.
    pub plaintext_sha256: &'a [u8; 32],
    /// The image's release counter.
    pub release_counter: u64,
    /// The content algorithm ([`CONTENT_ALG`]).
    pub content_alg: &'a str,
    /// The content IV.
    pub iv: &'a [u8; 16],
}

impl Binding<'_> {
    /// Derives the key-encryption key: HKDF-SHA256 over the X25519 secret, salt
    /// `epk || ecu_public`, info the label then each field (variable ones u16-length
    /// prefixed, the counter big-endian).
    fn kek(&self, shared: &[u8; 32], epk: &[u8; 32], ecu_public: &[u8; 32]) -> Result<KekAes128, Error> {
        let prefix = |field: &str| u16::try_from(field.len()).map(u16::to_be_bytes).map_err(|_| Error::FieldTooLong);
        let (ecu_len, file_len, alg_len) =
            (prefix(self.ecu_identifier)?, prefix(self.filename)?, prefix(self.content_alg)?);
        let counter = self.release_counter.to_be_bytes();
        let info: [&[u8]; 10] = [
            LABEL,
            &ecu_len,
            self.ecu_identifier.as_bytes(),
            &file_len,
            self.filename.as_bytes(),
            self.plaintext_sha256,
            &counter,
            &alg_len,
            self.content_alg.as_bytes(),
            self.iv,
        ];
        let mut salt = [0u8; 64];
        salt[..32].copy_from_slice(epk);
        salt[32..].copy_from_slice(ecu_public);
        let mut kek = [0u8; 16];
        let expanded = Hkdf::<Sha256>::new(Some(&salt), shared).expand_multi_info(&info, &mut kek);
        let result = expanded.map(|()| KekAes128::from(kek)).map_err(|_| Error::FieldTooLong);
        kek.zeroize();
        result
    }
}

/// A content key wrapped for one ECU: the ephemeral public key and the AES-KW output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WrappedKey {
    /// The ephemeral X25519 public key.
    pub epk: [u8; 32],
    /// The wrapped content key.
    pub wrapped_cek: [u8; 24],
}

/// An ECU's X25519 decryption key (separate from its signing key): zeroized when dropped.
pub struct EcuDecryptionKey {
    secret: StaticSecret,
    public: PublicKey,
}

impl EcuDecryptionKey {
    /// The key from its 32-byte secret (kept in the ECU's protected storage).
    pub fn from_secret(secret: [u8; 32]) -> Self {
        let secret = StaticSecret::from(secret);
        let public = PublicKey::from(&secret);
        EcuDecryptionKey { secret, public }
    }

    /// The public key, registered with the director.
    pub fn public(&self) -> [u8; 32] {
        self.public.to_bytes()
    }

    /// The key's id in metadata: the SHA-256 of the public key.
    pub fn key_id(&self) -> [u8; 32] {
        key_id(&self.public.to_bytes())
    }
}

/// The id of an ECU decryption public key: its SHA-256.
pub fn key_id(public: &[u8; 32]) -> [u8; 32] {
    Sha256::digest(public).into()
}

/// Wraps `cek` for the ECU whose decryption public key is `ecu_public`, bound to
/// `binding`; `ephemeral` is 32 fresh random bytes, used once.
pub fn wrap(
    ecu_public: &[u8; 32],
    cek: &ContentKey,
    binding: &Binding,
    ephemeral: [u8; 32],
) -> Result<WrappedKey, Error> {
    let ephemeral = StaticSecret::from(ephemeral);
    let epk = PublicKey::from(&ephemeral).to_bytes();
    let shared = ephemeral.diffie_hellman(&PublicKey::from(*ecu_public));
    if !shared.was_contributory() {
        return Err(Error::WeakKey);
    }
    let kek = binding.kek(shared.as_bytes(), &epk, ecu_public)?;
    let mut wrapped_cek = [0u8; 24];
    kek.wrap(&cek.0, &mut wrapped_cek).map_err(|_| Error::Unwrap)?;
    Ok(WrappedKey { epk, wrapped_cek })
}

/// Unwraps the content key the director wrapped for `key` and `binding`.
pub fn unwrap(key: &EcuDecryptionKey, wrapped: &WrappedKey, binding: &Binding) -> Result<ContentKey, Error> {
    let shared = key.secret.diffie_hellman(&PublicKey::from(wrapped.epk));
    if !shared.was_contributory() {
        return Err(Error::WeakKey);
    }
    let kek = binding.kek(shared.as_bytes(), &wrapped.epk, &key.public.to_bytes())?;
    let mut cek = ContentKey([0u8; 16]);
    kek.unwrap(&wrapped.wrapped_cek, &mut cek.0).map_err(|_| Error::Unwrap)?;
    Ok(cek)
}

/// AES-128-CTR over an image, from any offset: the same operation encrypts and decrypts.
pub struct ContentCipher {
    cipher: ctr::Ctr128BE<Aes128>,
}

impl ContentCipher {
    /// The cipher at offset 0.
    pub fn new(cek: &ContentKey, iv: &[u8; 16]) -> Self {
        ContentCipher { cipher: ctr::Ctr128BE::<Aes128>::new(&cek.0.into(), iv.into()) }
    }

    /// Moves to byte `offset` of the image (a resumed transfer).
    pub fn seek(&mut self, offset: u64) {
        self.cipher.seek(offset);
    }

    /// Encrypts or decrypts `bytes` in place, continuing from the current offset.
    pub fn apply(&mut self, bytes: &mut [u8]) {
        self.cipher.apply_keystream(bytes);
    }
}

#[cfg(test)]
mod tests;
