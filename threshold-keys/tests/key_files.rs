//! Key files: generation, encryption at rest, and interop with keys python-tuf users hold.

use metadata_schemas::{Key, KeyId};
use threshold_keys::{KeyAlgorithm, KeyFileError, KeyFileSigner, PublicKey, Signer, default_key_id};

fn keys_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/keys")
}

#[test]
fn generated_keys_round_trip_through_encrypted_pem() {
    for algorithm in [KeyAlgorithm::Ed25519, KeyAlgorithm::EcdsaP256] {
        let signer = KeyFileSigner::generate(algorithm).unwrap();
        let pem = signer.to_encrypted_pem(b"s3cret").unwrap();
        assert!(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"));
        let loaded = KeyFileSigner::from_pem(&pem, Some(b"s3cret")).unwrap();
        assert_eq!(loaded.key_id(), signer.key_id());
        let signature = loaded.sign(b"message").unwrap();
        signer.public().verify_hex(b"message", &signature.sig).unwrap();
    }
}

#[test]
fn wrong_passphrase_is_a_clear_error() {
    let signer = KeyFileSigner::generate(KeyAlgorithm::Ed25519).unwrap();
    let pem = signer.to_encrypted_pem(b"right").unwrap();
    assert_eq!(KeyFileSigner::from_pem(&pem, Some(b"wrong")).unwrap_err(), KeyFileError::WrongPassphrase);
    assert_eq!(KeyFileSigner::from_pem(&pem, None).unwrap_err(), KeyFileError::PassphraseRequired);
    assert_eq!(KeyFileSigner::from_pem("not a key", None).unwrap_err(), KeyFileError::NotPem);
}

#[test]
fn python_tuf_key_files_load_and_match_securesystemslib() {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(keys_dir().join("keys.json")).unwrap()).unwrap();
    let passphrase = index["passphrase"].as_str().unwrap().as_bytes();
    for name in ["ecdsa", "ed25519"] {
        let expected = &index["keys"][name];
        let plain = std::fs::read_to_string(keys_dir().join(format!("{name}-plain.pem"))).unwrap();
        let encrypted = std::fs::read_to_string(keys_dir().join(format!("{name}-encrypted.pem"))).unwrap();
        for signer in [
            KeyFileSigner::from_pem(&plain, None).unwrap(),
            KeyFileSigner::from_pem(&encrypted, Some(passphrase)).unwrap(),
        ] {
            // Same key entry and key id as securesystemslib writes.
            let text = expected["key"].to_string();
            let theirs = metadata_schemas::json::parse(text.as_bytes()).unwrap();
            let theirs: Key = metadata_schemas::Decode::decode(&theirs).unwrap();
            assert_eq!(signer.public_key(), &theirs, "{name}");
            assert_eq!(signer.key_id(), &KeyId::new(expected["keyid"].as_str().unwrap()), "{name}");
            assert_eq!(default_key_id(&theirs), *signer.key_id());
            // Their signature verifies with our parse of their key.
            let message = metadata_schemas::hex::decode(expected["message_hex"].as_str().unwrap()).unwrap();
            PublicKey::from_metadata(&theirs).unwrap().verify_hex(&message, expected["sig"].as_str().unwrap()).unwrap();
        }
    }
}
