//! Rotating the director's online keys through a new root: root v2 signed offline by
//! the root key moves the timestamp key into a SoftHSM2 token (PKCS#11); the director
//! re-signs every vehicle, and a device follows the root chain and verifies the new
//! signatures. A root that the current root's keys did not sign changes nothing.

mod common;

use std::process::Command;

use common::{Director, Vehicle};
use metadata_schemas::{Root, Signed, Version};
use threshold_keys::{KeyAlgorithm, KeyFileSigner, Pkcs11Signer, Pkcs11Uri, Signer};

const PIN: &str = "97531";

/// A fresh SoftHSM2 token in `dir`; its configuration file.
fn token(dir: &std::path::Path) -> std::path::PathBuf {
    let tokens = dir.join("tokens");
    std::fs::create_dir_all(&tokens).unwrap();
    let conf = dir.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!("directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n", tokens.display()),
    )
    .unwrap();
    let out = Command::new("softhsm2-util")
        .args(["--init-token", "--free", "--label", "director", "--pin", PIN, "--so-pin", "86420"])
        .env("SOFTHSM2_CONF", &conf)
        .output()
        .expect("softhsm2-util (Debian package softhsm2) must be installed");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    conf
}

/// SoftHSM2 reads SOFTHSM2_CONF from the environment, which a test may not set for its
/// own process: this runs the test body in a child process of this test binary.
#[test]
fn online_keys_rotate_into_an_hsm_through_a_new_root() {
    let dir = tempfile::tempdir().unwrap();
    let conf = token(dir.path());
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "rotation_with_the_token", "--nocapture"])
        .env("SOFTHSM2_CONF", &conf)
        .output()
        .unwrap();
    let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && log.contains("1 passed"), "{log}");
}

fn next_root(current: &str, timestamp_key: &dyn Signer, root_key: &dyn Signer) -> Vec<u8> {
    let mut root = Signed::<Root>::decode_unverified(current.as_bytes()).unwrap().signed;
    root.common.version = Version::new(root.common.version.get() + 1).unwrap();
    root.keys.insert(timestamp_key.key_id().clone(), timestamp_key.public_key().clone());
    root.roles.timestamp.keyids = vec![timestamp_key.key_id().clone()];
    let mut signed = Signed::unsigned(root);
    signed.signatures.push(root_key.sign(&signed.canonical_signed()).unwrap());
    signed.to_pretty_json()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by online_keys_rotate_into_an_hsm_through_a_new_root with SOFTHSM2_CONF set"]
async fn rotation_with_the_token() {
    let mut director = Director::start(None, None).await;
    let mut vehicle = Vehicle::new("ROT0001");
    let device = director.register(&vehicle).await;
    director
        .admin_post(
            "/assignments",
            serde_json::json!({"vehicles": ["ROT0001"], "images": {"brake-hw": "brake/fw-2.bin"}}),
        )
        .await;
    assert_eq!(director.check_in(&mut vehicle, &device).await.0, 200);

    let uri = format!("pkcs11:token=director;object=timestamp?pin-value={PIN}");
    let hsm_key = Pkcs11Signer::generate(&Pkcs11Uri::parse(&uri).unwrap(), KeyAlgorithm::Ed25519).unwrap();
    let root_file = std::fs::read_to_string(director.data().join("offline/root-1.pem")).unwrap();
    let root_key = KeyFileSigner::from_pem(&root_file, None).unwrap();
    let (_, v1) = director.service.store.latest_root().await.unwrap().unwrap();

    // A root signed by a stranger is refused, and nothing changes.
    let stranger = KeyFileSigner::generate(KeyAlgorithm::Ed25519).unwrap();
    let forged = next_root(&v1, &hsm_key, &stranger);
    let err = director::setup::import_root(&director.data(), &forged, &[("timestamp".into(), uri.clone())])
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("director root v2"), "{err}");
    assert_eq!(director.service.store.latest_root().await.unwrap().unwrap().0, 1);
    assert_eq!(director::config::Config::load(&director.data()).unwrap().keys.timestamp, "keys/timestamp.pem");

    // A root naming a timestamp key the configuration does not have is refused too.
    let elsewhere = KeyFileSigner::generate(KeyAlgorithm::Ed25519).unwrap();
    let unusable = next_root(&v1, &elsewhere, &root_key);
    let err = director::setup::import_root(&director.data(), &unusable, &[]).await.unwrap_err().to_string();
    assert!(err.contains("timestamp key") && err.contains("not authorized"), "{err}");
    assert_eq!(director.service.store.latest_root().await.unwrap().unwrap().0, 1);

    let v2 = next_root(&v1, &hsm_key, &root_key);
    assert_eq!(director::setup::import_root(&director.data(), &v2, &[("timestamp".into(), uri)]).await.unwrap(), 2);
    director.restart().await;
    let targets = director.director_targets("ROT0001", &device).await;
    assert_eq!(targets.targets.len(), 1, "the vehicle's issued image survives the re-signing");
    let (_, timestamp) = director.director_file("ROT0001", &device, "timestamp.json").await;
    let timestamp: serde_json::Value = serde_json::from_slice(&timestamp).unwrap();
    assert_eq!(timestamp["signatures"][0]["keyid"], hsm_key.key_id().as_str(), "the HSM key signs timestamps now");
    assert_eq!(director.check_in(&mut vehicle, &device).await.0, 200);
}
