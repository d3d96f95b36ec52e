use super::*;

const ECU: [u8; 32] = [0x11; 32];
const EPHEMERAL: [u8; 32] = [0x22; 32];
const SHA: [u8; 32] = [0x33; 32];
const IV: [u8; 16] = [0x44; 16];

fn binding() -> Binding<'static> {
    Binding {
        ecu_identifier: "brake-1",
        filename: "brake/fw-2.bin",
        plaintext_sha256: &SHA,
        release_counter: 2,
        content_alg: CONTENT_ALG,
        iv: &IV,
    }
}

fn cek() -> ContentKey {
    ContentKey::from_bytes([0x55; 16])
}

#[test]
fn a_wrapped_key_unwraps_for_its_ecu_and_binding() {
    let ecu = EcuDecryptionKey::from_secret(ECU);
    let wrapped = wrap(&ecu.public(), &cek(), &binding(), EPHEMERAL).unwrap();
    assert_eq!(unwrap(&ecu, &wrapped, &binding()).unwrap(), cek());
}

#[test]
fn a_wrapped_key_copied_to_another_ecu_or_image_fails_to_unwrap() {
    let ecu = EcuDecryptionKey::from_secret(ECU);
    let wrapped = wrap(&ecu.public(), &cek(), &binding(), EPHEMERAL).unwrap();
    let other_sha = [0x34; 32];
    let other_iv = [0x45; 16];
    let rebound = [
        Binding { ecu_identifier: "brake-2", ..binding() },
        Binding { filename: "brake/fw-3.bin", ..binding() },
        Binding { plaintext_sha256: &other_sha, ..binding() },
        Binding { release_counter: 3, ..binding() },
        Binding { content_alg: "aes-256-ctr", ..binding() },
        Binding { iv: &other_iv, ..binding() },
    ];
    for other in rebound {
        assert_eq!(unwrap(&ecu, &wrapped, &other), Err(Error::Unwrap), "{other:?}");
    }
    let someone_else = EcuDecryptionKey::from_secret([0x12; 32]);
    assert_eq!(unwrap(&someone_else, &wrapped, &binding()), Err(Error::Unwrap));
    let mut altered = wrapped;
    altered.wrapped_cek[5] ^= 1;
    assert_eq!(unwrap(&ecu, &altered, &binding()), Err(Error::Unwrap));
}

#[test]
fn a_low_order_public_key_is_refused() {
    // The all-zero point gives an all-zero shared secret.
    assert_eq!(wrap(&[0; 32], &cek(), &binding(), EPHEMERAL), Err(Error::WeakKey));
    let ecu = EcuDecryptionKey::from_secret(ECU);
    let wrapped = WrappedKey { epk: [0; 32], wrapped_cek: [0; 24] };
    assert_eq!(unwrap(&ecu, &wrapped, &binding()), Err(Error::WeakKey));
}

#[test]
fn ctr_decrypts_from_any_offset_and_carries_into_the_next_counter_block() {
    let plain: [u8; 100] = core::array::from_fn(|i| i as u8);
    // An IV whose low 64 bits are all ones: the counter carries into the high half.
    let iv = [0xAB, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
    let mut whole = plain;
    ContentCipher::new(&cek(), &iv).apply(&mut whole);
    assert_ne!(whole, plain);
    for offset in [0usize, 1, 15, 16, 17, 63, 99] {
        let mut tail = whole;
        let mut cipher = ContentCipher::new(&cek(), &iv);
        cipher.seek(offset as u64);
        cipher.apply(&mut tail[offset..]);
        assert_eq!(tail[offset..], plain[offset..], "offset {offset}");
    }
}

#[test]
fn a_content_key_never_prints() {
    extern crate std;
    assert_eq!(std::format!("{:?}", cek()), "ContentKey(..)");
}
