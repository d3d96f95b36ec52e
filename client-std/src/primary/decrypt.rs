//! The primary's own encrypted image: the content key unwrapped with the gateway's
//! decryption key and bound to it, the ciphertext decrypted, and the plaintext checked
//! against the length and hashes the director (and the image repository) list, before
//! a byte reaches the inactive slot. Secondaries' images are never decrypted here.

use image_crypto::{Binding, ContentCipher, EcuDecryptionKey, WrappedKey};
use metadata_schemas::uptane::EcuSerial;
use metadata_schemas::{Digest, HashAlgorithm};
use update_verifier::TargetVerifier;
use update_verifier::uptane::DirectorImage;

use crate::Error;

/// Why the primary could not decrypt its own image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecryptError {
    /// The image is encrypted and the configuration names no `own_image.decryption_secret`.
    NoKey,
    /// The content key is wrapped for another decryption key.
    NotForThisKey,
    /// The wrapped key does not unwrap for this ECU, image, release and IV.
    Unwrap,
    /// The entry lists no SHA-256 for the plaintext.
    NoSha256,
    /// The image comes unencrypted and `own_image.require_encryption` is set.
    Unencrypted,
}

impl std::fmt::Display for DecryptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DecryptError::NoKey => "the primary's own image is encrypted: set own_image.decryption_secret",
            DecryptError::NotForThisKey => "the image's key is wrapped for another decryption key",
            DecryptError::Unwrap => "the image's key does not unwrap for this ECU and image (bad-key-wrap)",
            DecryptError::NoSha256 => "the image's entry lists no sha256",
            DecryptError::Unencrypted => {
                "the primary's own image came unencrypted and own_image.require_encryption is set (unencrypted-image)"
            }
        })
    }
}

/// What the gateway decrypts its own images with.
pub struct OwnDecryption<'a> {
    /// Its decryption key, if configured.
    pub key: Option<&'a EcuDecryptionKey>,
    /// Whether an unencrypted image is refused.
    pub required: bool,
}

/// `ciphertext` (already checked against the block's hashes) decrypted for `serial`
/// with `own.key`, and verified against `image`'s plaintext length and hashes.
pub fn decrypt_own(
    own: OwnDecryption<'_>,
    serial: &EcuSerial,
    image: &DirectorImage,
    mut ciphertext: Vec<u8>,
) -> Result<Vec<u8>, Error> {
    let Some(block) = &image.custom.encryption else {
        return if own.required { Err(Error::Decrypt(DecryptError::Unencrypted)) } else { Ok(ciphertext) };
    };
    let key = own.key;
    let key = key.ok_or(Error::Decrypt(DecryptError::NoKey))?;
    if block.key.ecu_key_id != key.key_id() {
        return Err(Error::Decrypt(DecryptError::NotForThisKey));
    }
    let Some(Digest::Sha256(sha256)) = image.file.hashes.get(HashAlgorithm::Sha256) else {
        return Err(Error::Decrypt(DecryptError::NoSha256));
    };
    let binding = Binding {
        ecu_identifier: serial.as_str(),
        filename: image.path.as_str(),
        plaintext_sha256: sha256,
        release_counter: image.custom.release_counter,
        content_alg: block.content.alg.name(),
        iv: &block.content.iv,
    };
    let wrapped = WrappedKey { epk: block.key.epk, wrapped_cek: block.key.wrapped_cek };
    let cek = image_crypto::unwrap(key, &wrapped, &binding).map_err(|_| Error::Decrypt(DecryptError::Unwrap))?;
    ContentCipher::new(&cek, &block.content.iv).apply(&mut ciphertext);
    let mut check = TargetVerifier::new(&image.path, &image.file)?;
    check.update(&ciphertext)?;
    check.finish()?;
    Ok(ciphertext)
}
