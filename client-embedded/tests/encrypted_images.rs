//! Encrypted images on the ECU: the content key unwrapped with the ECU's decryption key
//! and bound to it, the ciphertext decrypted on its way into the slot, the plaintext's
//! length and SHA-256 checked before the image may boot. One test per attack of the
//! design's table that the ECU itself catches.

mod common;

use client_embedded::UpdateError;
use common::{Director, Ecu, FACTORY, now, provisioned, reset, running_image};
use image_crypto::EcuDecryptionKey;
use metadata_schemas::uptane::AttackCode;

const ECU_SECRET: [u8; 32] = [0x42; 32];

fn key() -> EcuDecryptionKey {
    EcuDecryptionKey::from_secret(ECU_SECRET)
}

fn image(n: u8) -> Vec<u8> {
    (0..9000u32).map(|i| (i as u8).wrapping_mul(n).wrapping_add(n)).collect()
}

/// An ECU that requires encryption, with its decryption key.
fn ecu(director: &Director) -> Ecu {
    provisioned(director).with_decryption_key(key(), true)
}

fn scratch() -> Vec<u8> {
    vec![0u8; 16384]
}

/// Verifies `targets` and streams `wire`; the result of activation (or of the first
/// step that failed).
fn install(ecu: &mut Ecu, targets: &[u8], wire: &[u8]) -> Result<(), UpdateError<client_embedded::sim::SimError>> {
    let scratch = &mut scratch();
    ecu.start_cycle(now().timestamp() as u64, scratch)?;
    ecu.put_targets(targets, scratch)?.ok_or(UpdateError::NoImageAssigned)?;
    ecu.begin_image()?;
    for chunk in wire.chunks(1000) {
        ecu.put_chunk(chunk)?;
    }
    ecu.activate()
}

/// A reset into the trial, confirmed; the ECU again with its key.
fn boot_and_confirm(ecu: Ecu) -> Ecu {
    let mut ecu = reset(ecu).with_decryption_key(key(), true);
    assert!(ecu.on_trial());
    ecu.confirm().unwrap();
    ecu
}

#[test]
fn an_encrypted_image_is_decrypted_into_the_slot_and_boots() {
    let mut director = Director::new();
    let (targets, ciphertext) =
        director.assign_encrypted(&image(2), ("brake-ecu-1", "brake-hw-a", 2), &key().public(), "brake-ecu-1");
    assert_ne!(ciphertext, image(2));
    assert!(!ciphertext.windows(64).any(|w| image(2).windows(64).any(|p| p == w)), "no plaintext window in transit");
    let mut ecu = ecu(&director);
    install(&mut ecu, &targets, &ciphertext).unwrap();
    let mut ecu = boot_and_confirm(ecu);
    assert_eq!(running_image(&mut ecu), image(2), "the slot holds the plaintext, byte for byte");
}

#[test]
fn attack_wrapped_key_copied_from_another_ecus_entry_is_refused() {
    let mut director = Director::new();
    // The key was wrapped for brake-ecu-2's entry, then copied into brake-ecu-1's.
    let (targets, ciphertext) =
        director.assign_encrypted(&image(2), ("brake-ecu-1", "brake-hw-a", 2), &key().public(), "brake-ecu-2");
    let mut ecu = ecu(&director);
    assert!(matches!(install(&mut ecu, &targets, &ciphertext), Err(UpdateError::KeyWrap)));
    assert_eq!(ecu.attack(), AttackCode::BAD_KEY_WRAP);
    assert_eq!(running_image(&mut reset(ecu)), FACTORY, "the old image stays");
}

#[test]
fn a_secondary_with_the_wrong_decryption_key_refuses_and_keeps_its_image() {
    let mut director = Director::new();
    let other = EcuDecryptionKey::from_secret([0x43; 32]);
    let (targets, ciphertext) =
        director.assign_encrypted(&image(2), ("brake-ecu-1", "brake-hw-a", 2), &other.public(), "brake-ecu-1");
    let mut ecu = ecu(&director);
    assert!(matches!(install(&mut ecu, &targets, &ciphertext), Err(UpdateError::KeyWrap)));
    assert_eq!(running_image(&mut reset(ecu)), FACTORY);
}

#[test]
fn attack_encryption_silently_dropped_is_refused_for_hardware_that_requires_it() {
    let mut director = Director::new();
    let targets = director.assign(&image(2), "brake-ecu-1", "brake-hw-a", 2);
    let mut ecu = ecu(&director);
    assert!(matches!(install(&mut ecu, &targets, &image(2)), Err(UpdateError::Unencrypted)));
    assert_eq!(ecu.attack(), AttackCode::UNENCRYPTED_IMAGE);
    // An ECU that does not require encryption takes it.
    let mut lenient = provisioned(&director).with_decryption_key(key(), false);
    install(&mut lenient, &targets, &image(2)).unwrap();
}

#[test]
fn an_encrypted_image_for_an_ecu_without_a_decryption_key_is_refused() {
    let mut director = Director::new();
    let (targets, ciphertext) =
        director.assign_encrypted(&image(2), ("brake-ecu-1", "brake-hw-a", 2), &key().public(), "brake-ecu-1");
    let mut ecu = provisioned(&director);
    assert!(matches!(install(&mut ecu, &targets, &ciphertext), Err(UpdateError::NoDecryptionKey)));
}

#[test]
fn attack_ciphertext_of_another_image_served_under_this_entry_is_refused() {
    let mut director = Director::new();
    let (_, other_ciphertext) =
        director.assign_encrypted(&image(3), ("brake-ecu-1", "brake-hw-a", 3), &key().public(), "brake-ecu-1");
    let (targets, _) =
        director.assign_encrypted(&image(2), ("brake-ecu-1", "brake-hw-a", 4), &key().public(), "brake-ecu-1");
    let mut ecu = ecu(&director);
    let mut served = other_ciphertext;
    served.truncate(image(2).len());
    let result = install(&mut ecu, &targets, &served);
    assert!(matches!(result, Err(UpdateError::Device(client_embedded::Error::ImageMismatch))), "{result:?}");
    assert_eq!(ecu.attack(), AttackCode::TAMPERED_IMAGE);
    assert_eq!(running_image(&mut reset(ecu)), FACTORY);
}

#[test]
fn attack_old_targets_replayed_with_an_old_encryption_block_are_refused() {
    let mut director = Director::new();
    let (old_targets, old_ciphertext) =
        director.assign_encrypted(&image(2), ("brake-ecu-1", "brake-hw-a", 2), &key().public(), "brake-ecu-1");
    let (targets, ciphertext) =
        director.assign_encrypted(&image(3), ("brake-ecu-1", "brake-hw-a", 3), &key().public(), "brake-ecu-1");
    let mut ecu = ecu(&director);
    install(&mut ecu, &targets, &ciphertext).unwrap();
    let mut ecu = boot_and_confirm(ecu);
    let result = install(&mut ecu, &old_targets, &old_ciphertext);
    assert!(result.as_ref().is_err_and(|e| e.attack_code() == AttackCode::ROLLBACK), "{result:?}");
    assert_eq!(running_image(&mut ecu), image(3));
}

#[test]
fn attack_lower_release_counter_in_an_encrypted_entry_is_refused() {
    let mut director = Director::new();
    let (targets, ciphertext) =
        director.assign_encrypted(&image(3), ("brake-ecu-1", "brake-hw-a", 3), &key().public(), "brake-ecu-1");
    let mut ecu = ecu(&director);
    install(&mut ecu, &targets, &ciphertext).unwrap();
    let mut ecu = boot_and_confirm(ecu);
    // Newer targets (a higher version), an older release.
    let (lower, lower_ciphertext) =
        director.assign_encrypted(&image(2), ("brake-ecu-1", "brake-hw-a", 2), &key().public(), "brake-ecu-1");
    let result = install(&mut ecu, &lower, &lower_ciphertext);
    assert!(result.as_ref().is_err_and(|e| e.attack_code() == AttackCode::ROLLBACK), "{result:?}");
}

/// Verifies `targets`, hands the chunk index over and streams `wire` in 1000-byte
/// pieces; how many pieces went in before the first refusal, and the refusal.
fn install_chunked(
    ecu: &mut Ecu,
    targets: &[u8],
    index: &[u8],
    wire: &[u8],
) -> (usize, Result<(), UpdateError<client_embedded::sim::SimError>>) {
    let scratch = &mut scratch();
    let prepared = ecu
        .start_cycle(now().timestamp() as u64, scratch)
        .and_then(|()| ecu.put_targets(targets, scratch).map(|_| ()))
        .and_then(|()| ecu.put_chunk_index(index))
        .and_then(|()| ecu.begin_image());
    if let Err(e) = prepared {
        return (0, Err(e));
    }
    for (n, piece) in wire.chunks(1000).enumerate() {
        if let Err(e) = ecu.put_chunk(piece) {
            return (n, Err(e));
        }
    }
    (wire.len().div_ceil(1000), ecu.activate())
}

#[test]
fn an_image_with_a_chunk_index_installs_and_a_tampered_chunk_is_refused_before_it_is_programmed() {
    let mut director = Director::new();
    let (targets, ciphertext, index) =
        director.assign_encrypted_chunked(&image(2), ("brake-ecu-1", "brake-hw-a", 2), &key().public(), 4096);
    assert_eq!(index.len(), 3 * 32, "9000 bytes: three chunks");
    let mut ecu = ecu(&director);
    let (_, result) = install_chunked(&mut ecu, &targets, &index, &ciphertext);
    result.unwrap();
    let mut ecu = boot_and_confirm(ecu);
    assert_eq!(running_image(&mut ecu), image(2));

    // One byte flipped in the second chunk: refused as soon as that chunk is whole,
    // before any of it is decrypted or written, and attack code tampered-image.
    let (targets, mut ciphertext, index) =
        director.assign_encrypted_chunked(&image(3), ("brake-ecu-1", "brake-hw-a", 3), &key().public(), 4096);
    ciphertext[5000] ^= 1;
    let (pieces, result) = install_chunked(&mut ecu, &targets, &index, &ciphertext);
    assert!(matches!(result, Err(UpdateError::Device(client_embedded::Error::ImageMismatch))), "{result:?}");
    assert_eq!(pieces, 8, "refused with the piece that completed chunk 2 (bytes 4096..8192)");
    assert_eq!(ecu.attack(), AttackCode::TAMPERED_IMAGE);
}

#[test]
fn a_chunk_index_that_is_not_the_one_the_targets_name_is_refused_and_the_image_waits_for_it() {
    let mut director = Director::new();
    let (targets, _, mut index) =
        director.assign_encrypted_chunked(&image(2), ("brake-ecu-1", "brake-hw-a", 2), &key().public(), 4096);
    let mut ecu = ecu(&director);
    let scratch = &mut scratch();
    ecu.start_cycle(now().timestamp() as u64, scratch).unwrap();
    ecu.put_targets(&targets, scratch).unwrap();
    assert!(matches!(ecu.begin_image(), Err(UpdateError::OutOfOrder(_))), "the index comes first");
    index[0] ^= 1;
    assert!(matches!(ecu.put_chunk_index(&index), Err(UpdateError::Device(client_embedded::Error::ImageMismatch))));
    assert!(matches!(ecu.put_chunk_index(&index[..64]), Err(UpdateError::Device(_))), "a short index");
}
