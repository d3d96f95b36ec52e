//! ring and RustCrypto must agree on every verdict: valid, tampered, non-canonical and
//! adversarial inputs. Inputs that break the shared encoding rules are refused before
//! either backend runs; the interesting vectors are those that pass the rules, such as
//! mixed-order Ed25519 keys and signatures that only a cofactored verifier would accept.

use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use metadata_schemas::{HashAlgorithm, Key};
use p256::ecdsa::signature::Signer as _;
use sha2::{Digest as _, Sha256, Sha512};
use threshold_keys::backend::{ring, rustcrypto};
use threshold_keys::{PublicKey, SignatureError};

struct Vector {
    name: String,
    key: PublicKey,
    message: Vec<u8>,
    signature: Vec<u8>,
}

fn seed(label: &str, i: u32) -> [u8; 32] {
    Sha256::new().chain_update(label).chain_update(i.to_be_bytes()).finalize().into()
}

fn ed25519_key(point: [u8; 32]) -> Option<PublicKey> {
    PublicKey::from_metadata(&Key::new("ed25519", "ed25519", metadata_schemas::hex::encode(&point))).ok()
}

/// Signs with an explicit scalar `a`, nonce point `big_r` and public encoding `a_enc`,
/// the way an attacker crafting edge cases would.
fn ed25519_sign(a: Scalar, r: Scalar, big_r: EdwardsPoint, a_enc: [u8; 32], message: &[u8]) -> Vec<u8> {
    let r_enc = big_r.compress().to_bytes();
    let k = Scalar::from_hash(Sha512::new().chain_update(r_enc).chain_update(a_enc).chain_update(message));
    let s = r + k * a;
    [r_enc, s.to_bytes()].concat()
}

fn ed25519_vectors() -> Vec<Vector> {
    let mut vectors = Vec::new();
    for i in 0..48u32 {
        let a = Scalar::from_bytes_mod_order(seed("ed-a", i));
        let r = Scalar::from_bytes_mod_order(seed("ed-r", i));
        let message = seed("ed-m", i).to_vec();
        let public = ED25519_BASEPOINT_POINT * a;
        let torsion = EIGHT_TORSION[1 + (i as usize % 7)];
        let honest = ed25519_sign(a, r, ED25519_BASEPOINT_POINT * r, public.compress().to_bytes(), &message);
        let key = ed25519_key(public.compress().to_bytes()).expect("honest key");
        vectors.push(Vector {
            name: format!("ed25519 valid {i}"),
            key: key.clone(),
            message: message.clone(),
            signature: honest.clone(),
        });
        let mut tampered = honest.clone();
        tampered[5] ^= 1;
        vectors.push(Vector {
            name: format!("ed25519 tampered R {i}"),
            key: key.clone(),
            message: message.clone(),
            signature: tampered,
        });
        let mut tampered = honest.clone();
        tampered[40] ^= 4;
        vectors.push(Vector {
            name: format!("ed25519 tampered S {i}"),
            key: key.clone(),
            message: message.clone(),
            signature: tampered,
        });
        vectors.push(Vector {
            name: format!("ed25519 other message {i}"),
            key: key.clone(),
            message: b"other".to_vec(),
            signature: honest.clone(),
        });
        // Non-canonical S (S + L): refused by the shared rules.
        let s = Scalar::from_bytes_mod_order(honest[32..].try_into().unwrap());
        let mut s_plus_l = s.to_bytes();
        let l = Scalar::ZERO - Scalar::ONE; // L - 1
        let mut carry = 1u16;
        for (byte, lb) in s_plus_l.iter_mut().zip(l.to_bytes()) {
            let sum = u16::from(*byte) + u16::from(lb) + carry;
            *byte = sum as u8;
            carry = sum >> 8;
        }
        vectors.push(Vector {
            name: format!("ed25519 S+L {i}"),
            key: key.clone(),
            message: message.clone(),
            signature: [&honest[..32], &s_plus_l[..]].concat(),
        });
        // Mixed-order key A' = aB + T: cofactorless verifiers accept only when kT = 0.
        let mixed = (public + torsion).compress().to_bytes();
        if let Some(mixed_key) = ed25519_key(mixed) {
            let signature = ed25519_sign(a, r, ED25519_BASEPOINT_POINT * r, mixed, &message);
            vectors.push(Vector {
                name: format!("ed25519 mixed-order key {i}"),
                key: mixed_key,
                message: message.clone(),
                signature,
            });
        }
        // R with a torsion component: only a cofactored verifier would accept.
        let signature =
            ed25519_sign(a, r, ED25519_BASEPOINT_POINT * r + torsion, public.compress().to_bytes(), &message);
        vectors.push(Vector {
            name: format!("ed25519 torsioned R {i}"),
            key: key.clone(),
            message: message.clone(),
            signature,
        });
        // Random 32 bytes as a key: often not a curve point at all.
        if let Some(random_key) = ed25519_key(seed("ed-random", i)) {
            vectors.push(Vector {
                name: format!("ed25519 random key {i}"),
                key: random_key,
                message: message.clone(),
                signature: honest,
            });
        }
    }
    vectors
}

fn p256_vectors() -> Vec<Vector> {
    let mut vectors = Vec::new();
    for i in 0..48u32 {
        let signing = p256::ecdsa::SigningKey::from_bytes(&seed("p256", i).into()).unwrap();
        let point: [u8; 65] = signing.verifying_key().to_encoded_point(false).as_bytes().try_into().unwrap();
        let key = PublicKey::EcdsaP256(point);
        let message = seed("p256-m", i).to_vec();
        let signature: p256::ecdsa::Signature = signing.sign(&message);
        let (r, s) = signature.split_scalars();
        let low = p256::ecdsa::Signature::from_scalars(r, s).unwrap();
        let high = p256::ecdsa::Signature::from_scalars(r, -*s).unwrap();
        for (label, sig) in [("low-S", low), ("high-S", high)] {
            let der = sig.to_der().as_bytes().to_vec();
            vectors.push(Vector {
                name: format!("p256 valid {label} {i}"),
                key: key.clone(),
                message: message.clone(),
                signature: der.clone(),
            });
            let mut tampered = der.clone();
            let last = tampered.len() - 1;
            tampered[last] ^= 0x10;
            vectors.push(Vector {
                name: format!("p256 tampered {label} {i}"),
                key: key.clone(),
                message: message.clone(),
                signature: tampered,
            });
            vectors.push(Vector {
                name: format!("p256 other message {label} {i}"),
                key: key.clone(),
                message: b"x".to_vec(),
                signature: der,
            });
        }
        // Non-minimal DER: an extra leading zero on r.
        let der = low.to_der().as_bytes().to_vec();
        let r_len = usize::from(der[3]);
        let mut padded = vec![0x30, der[1] + 1, 0x02, der[3] + 1, 0x00];
        padded.extend_from_slice(&der[4..4 + r_len]);
        padded.extend_from_slice(&der[4 + r_len..]);
        vectors.push(Vector {
            name: format!("p256 non-minimal DER {i}"),
            key: key.clone(),
            message: message.clone(),
            signature: padded,
        });
        // A point off the curve.
        let mut off_curve = point;
        off_curve[64] ^= 1;
        vectors.push(Vector {
            name: format!("p256 off-curve key {i}"),
            key: PublicKey::EcdsaP256(off_curve),
            message: message.clone(),
            signature: low.to_der().as_bytes().to_vec(),
        });
    }
    vectors
}

#[test]
fn ring_and_rustcrypto_agree_on_every_vector() {
    let vectors: Vec<Vector> = ed25519_vectors().into_iter().chain(p256_vectors()).collect();
    let mut accepted = 0;
    let mut decided_by_backends = 0;
    for v in &vectors {
        let by_ring = ring::verify(&v.key, &v.message, &v.signature);
        let by_rustcrypto = rustcrypto::verify(&v.key, &v.message, &v.signature);
        assert_eq!(by_ring, by_rustcrypto, "{}", v.name);
        accepted += usize::from(by_ring.is_ok());
        decided_by_backends += usize::from(!matches!(by_ring, Err(SignatureError::Malformed(_))));
        if v.name.contains("valid") {
            assert_eq!(by_ring, Ok(()), "{}", v.name);
        }
        if v.name.contains("tampered") || v.name.contains("other message") || v.name.contains("torsioned R") {
            assert!(by_ring.is_err(), "{}", v.name);
        }
    }
    assert!(vectors.len() > 600, "{} vectors", vectors.len());
    assert!(accepted >= 48 * 3, "accepted {accepted}");
    assert!(decided_by_backends > vectors.len() / 2, "most vectors must reach both backends");
}

#[test]
fn mixed_order_keys_reach_both_backends() {
    // The interesting Ed25519 vectors are not stopped by the shared rules.
    let mixed: Vec<Vector> = ed25519_vectors().into_iter().filter(|v| v.name.contains("mixed-order")).collect();
    assert!(mixed.len() >= 40);
    for v in &mixed {
        assert_ne!(
            ring::verify(&v.key, &v.message, &v.signature).err().map(|e| matches!(e, SignatureError::Malformed(_))),
            Some(true),
            "{}",
            v.name
        );
    }
}

#[test]
fn identity_key_forgery_is_refused_by_both() {
    // With A = identity, [S]B - kA = [S]B, so (R = [S]B, S) "verifies" any message
    // under a cofactorless check that lets the key through. Built directly, bypassing
    // from_metadata, to show the rule sits in front of both backends.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let s = Scalar::from_bytes_mod_order(seed("forge", 0));
    let signature = [(ED25519_BASEPOINT_POINT * s).compress().to_bytes(), s.to_bytes()].concat();
    let key = PublicKey::Ed25519(identity);
    for message in [&b"install me"[..], b"anything at all"] {
        assert!(matches!(ring::verify(&key, message, &signature), Err(SignatureError::Malformed(_))));
        assert!(matches!(rustcrypto::verify(&key, message, &signature), Err(SignatureError::Malformed(_))));
    }
}

#[test]
fn small_order_list_is_exactly_the_torsion_subgroup() {
    let mut expected: Vec<[u8; 32]> = EIGHT_TORSION
        .iter()
        .map(|p| {
            let mut y = p.compress().to_bytes();
            y[31] &= 0x7f;
            y
        })
        .collect();
    expected.sort();
    expected.dedup();
    assert_eq!(expected.len(), 5);
    for y in &expected {
        for sign in [0u8, 0x80] {
            let mut encoding = *y;
            encoding[31] |= sign;
            assert!(ed25519_key(encoding).is_none(), "small-order point accepted: {encoding:02x?}");
            if let Some(point) = CompressedEdwardsY(encoding).decompress() {
                assert!(point.is_small_order());
            }
        }
    }
}

#[test]
fn digests_agree_between_backends() {
    for len in [0usize, 1, 55, 56, 63, 64, 65, 111, 112, 127, 128, 129, 1000, 100_000] {
        let data: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
        for algorithm in [HashAlgorithm::Sha256, HashAlgorithm::Sha512] {
            let (mut a, mut b) = match algorithm {
                HashAlgorithm::Sha256 => (ring::Context::sha256(), rustcrypto::Context::sha256()),
                HashAlgorithm::Sha512 => (ring::Context::sha512(), rustcrypto::Context::sha512()),
            };
            for chunk in data.chunks(37) {
                a.update(chunk);
                b.update(chunk);
            }
            let size = if algorithm == HashAlgorithm::Sha256 { 32 } else { 64 };
            let (mut da, mut db) = (vec![0u8; size], vec![0u8; size]);
            a.finish_into(&mut da);
            b.finish_into(&mut db);
            assert_eq!(da, db, "{algorithm:?} of {len} bytes");
        }
    }
}

#[test]
fn rsa_is_reported_unsupported_by_rustcrypto_not_invalid() {
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/python-tuf/rsa-hashed-bins/metadata/1.root.json");
    let bytes = std::fs::read(fixture).unwrap();
    let envelope = metadata_schemas::Envelope::parse(&bytes).unwrap();
    let root: metadata_schemas::Root = envelope.decode_signed().unwrap();
    let signature = &envelope.signatures[0];
    let key = PublicKey::from_metadata(&root.keys[&signature.keyid]).unwrap();
    let message = envelope.canonical_signed();
    let sig = metadata_schemas::hex::decode(&signature.sig).unwrap();
    assert_eq!(ring::verify(&key, &message, &sig), Ok(()));
    assert_eq!(rustcrypto::verify(&key, &message, &sig), Err(SignatureError::UnsupportedByBackend));
}
