//! image-crypto against an independent implementation of the same scheme in Python
//! `cryptography` (scripts/image_crypto_vectors.py, in the tests' venv): X25519, HKDF
//! with the binding, AES-KW wrap (and unwrap of Python's output), and AES-128-CTR with
//! IVs whose counter carries across 64 bits and wraps at 2^128.

use std::io::Write;
use std::process::{Command, Stdio};

use image_crypto::{Binding, CONTENT_ALG, ContentCipher, ContentKey, EcuDecryptionKey, WrappedKey, unwrap, wrap};
use serde_json::{Value, json};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex<const N: usize>(text: &Value) -> [u8; N] {
    unhex_vec(text).try_into().unwrap()
}

fn unhex_vec(text: &Value) -> Vec<u8> {
    let text = text.as_str().unwrap();
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
}

struct Case {
    ecu_secret: [u8; 32],
    ephemeral: [u8; 32],
    cek: [u8; 16],
    ecu_identifier: &'static str,
    filename: &'static str,
    sha256: [u8; 32],
    release_counter: u64,
    iv: [u8; 16],
    plaintext: Vec<u8>,
}

fn cases() -> Vec<Case> {
    let iv_carry = [0xA5, 1, 2, 3, 4, 5, 6, 7, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE];
    let base = |n: u8, iv: [u8; 16], len: usize| Case {
        ecu_secret: [n; 32],
        ephemeral: [n.wrapping_mul(7).wrapping_add(1); 32],
        cek: [n ^ 0x5A; 16],
        ecu_identifier: "brake-1",
        filename: "brake/fw-2.bin",
        sha256: [n.wrapping_add(3); 32],
        release_counter: u64::from(n) << 40 | 7,
        iv,
        plaintext: (0..len).map(|i| (i * 31 + usize::from(n)) as u8).collect(),
    };
    vec![
        base(1, [0; 16], 1),
        base(2, iv_carry, 100),
        base(3, [0xFF; 16], 70), // the 128-bit counter wraps to zero
        Case { ecu_identifier: "", filename: "a/very/long/path/".repeat(20).leak(), ..base(4, [9; 16], 4096) },
    ]
}

fn python(cases: &[Case]) -> Vec<Value> {
    let input: Vec<Value> = cases
        .iter()
        .map(|c| {
            json!({
                "ecu_secret": hex(&c.ecu_secret), "ephemeral": hex(&c.ephemeral), "cek": hex(&c.cek),
                "ecu_identifier": c.ecu_identifier, "filename": c.filename, "sha256": hex(&c.sha256),
                "release_counter": c.release_counter, "content_alg": CONTENT_ALG, "iv": hex(&c.iv),
                "plaintext": hex(&c.plaintext),
            })
        })
        .collect();
    let script = repo_simulator::python::workspace().join("scripts/image_crypto_vectors.py");
    let mut child = Command::new(repo_simulator::python::python())
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(serde_json::to_string(&input).unwrap().as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "the Python implementation failed");
    serde_json::from_slice(&output.stdout).unwrap()
}

fn binding(c: &Case) -> Binding<'_> {
    Binding {
        ecu_identifier: c.ecu_identifier,
        filename: c.filename,
        plaintext_sha256: &c.sha256,
        release_counter: c.release_counter,
        content_alg: CONTENT_ALG,
        iv: &c.iv,
    }
}

#[test]
fn wrap_unwrap_and_ctr_match_python_cryptography() {
    let cases = cases();
    let expected = python(&cases);
    for (c, want) in cases.iter().zip(&expected) {
        let ecu = EcuDecryptionKey::from_secret(c.ecu_secret);
        assert_eq!(ecu.public(), unhex::<32>(&want["ecu_public"]), "X25519 public key");
        let cek = ContentKey::from_bytes(c.cek);
        let wrapped = wrap(&ecu.public(), &cek, &binding(c), c.ephemeral).unwrap();
        assert_eq!(wrapped.epk, unhex::<32>(&want["epk"]), "ephemeral public key");
        assert_eq!(wrapped.wrapped_cek, unhex::<24>(&want["wrapped_cek"]), "HKDF + AES-KW");
        let theirs = WrappedKey { epk: unhex(&want["epk"]), wrapped_cek: unhex(&want["wrapped_cek"]) };
        assert_eq!(unwrap(&ecu, &theirs, &binding(c)).unwrap(), cek, "unwrap of Python's wrap");
        let mut bytes = c.plaintext.clone();
        ContentCipher::new(&cek, &c.iv).apply(&mut bytes);
        assert_eq!(bytes, unhex_vec(&want["ciphertext"]), "AES-128-CTR, iv {}", hex(&c.iv));
        // And back, from a seek into the middle (a resumed transfer).
        let half = bytes.len() / 2;
        let mut cipher = ContentCipher::new(&cek, &c.iv);
        cipher.seek(half as u64);
        cipher.apply(&mut bytes[half..]);
        assert_eq!(bytes[half..], c.plaintext[half..]);
    }
}
