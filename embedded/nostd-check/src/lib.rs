//! Links the verification path of the no_std crates so that the Cortex-M build
//! compiles (and monomorphizes) every item a secondary uses.
#![no_std]

extern crate alloc;

use update_verifier::uptane::{EcuIdentity, PartialVerifier};
use update_verifier::{Action, DateTime, Limits, Refresh, TargetVerifier, Utc};

/// Partial verification of director targets, then the image's streaming check.
pub fn partial_verification(
    root: &[u8],
    targets: &[u8],
    image: &[u8],
    ecu: EcuIdentity,
    now: DateTime<Utc>,
) -> bool {
    let Ok(mut verifier) = PartialVerifier::new(root, ecu, now, Limits::default()) else {
        return false;
    };
    if verifier.update_targets(targets).is_err() {
        return false;
    }
    let Ok(Some(assigned)) = verifier.image(0) else {
        return false;
    };
    let Ok(mut check) = TargetVerifier::new(&assigned.path, &assigned.file) else {
        return false;
    };
    image.chunks(256).all(|chunk| check.update(chunk).is_ok()) && check.finish().is_ok()
}

/// The first step of a full-verification refresh, as a primary would drive it.
pub fn first_request(root: &[u8], now: DateTime<Utc>) -> Option<u64> {
    match Refresh::new(root, now, Limits::default())
        .ok()?
        .next_action()
    {
        Action::Fetch(request) => Some(request.max_length),
        _ => None,
    }
}

/// An encrypted image's key unwrapped and a chunk decrypted, as an ECU does it.
pub fn decrypt_chunk(
    secret: [u8; 32],
    wrapped: &image_crypto::WrappedKey,
    binding: &image_crypto::Binding,
    offset: u64,
    chunk: &mut [u8],
) -> bool {
    let key = image_crypto::EcuDecryptionKey::from_secret(secret);
    let Ok(cek) = image_crypto::unwrap(&key, wrapped, binding) else {
        return false;
    };
    let mut cipher = image_crypto::ContentCipher::new(&cek, binding.iv);
    cipher.seek(offset);
    cipher.apply(chunk);
    true
}
