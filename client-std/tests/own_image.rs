//! The gateway's own image: a new image starts its trial only after a boot into it (a
//! change of the boot id), a restart of the service within the same boot neither starts
//! nor reverts a trial, and an image that fails the health check is not confirmed and
//! is reverted at the next boot.

use std::path::Path;

use client_std::primary::{OwnImage, OwnImageConfig, SlotImage};

fn config(dir: &Path, health_check: &[&str]) -> OwnImageConfig {
    std::fs::write(dir.join("slot-a.bin"), b"gateway firmware 1").unwrap();
    OwnImageConfig {
        slots: [dir.join("slot-a.bin"), dir.join("slot-b.bin")],
        activate: vec![],
        factory_name: "gateway/fw-1.bin".into(),
        boot_id: Some(dir.join("boot_id")),
        health_check: health_check.iter().map(|s| s.to_string()).collect(),
        decryption_secret: None,
        require_encryption: false,
    }
}

fn boot(dir: &Path, config: &OwnImageConfig, id: &str) -> OwnImage {
    std::fs::write(dir.join("boot_id"), format!("{id}\n")).unwrap();
    let mut own = OwnImage::open(config, &dir.join("state")).unwrap();
    own.boot().unwrap();
    own
}

fn install(own: &mut OwnImage) {
    let bytes = b"gateway firmware 2";
    let sha256 = metadata_schemas::hex::encode(&threshold_keys::digest::sha256(bytes));
    let image =
        SlotImage { name: "gateway/fw-2.bin".into(), length: bytes.len() as u64, sha256, installed_at: Some(1) };
    own.install(image, bytes).unwrap();
}

#[test]
fn a_new_own_image_is_confirmed_only_after_a_boot_into_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &[]);
    let mut own = boot(dir.path(), &config, "boot-1");
    install(&mut own);
    // The service restarts (its next cycle) without a reboot: still the old image.
    let mut own = boot(dir.path(), &config, "boot-1");
    assert!(!own.on_trial(), "no trial without a boot");
    assert_eq!(own.running().name, "gateway/fw-1.bin");
    assert!(own.confirm().unwrap(), "nothing to confirm");
    // The gateway reboots into the new image: its trial starts, and survives restarts.
    let own = boot(dir.path(), &config, "boot-2");
    assert!(own.on_trial());
    assert_eq!(own.running().name, "gateway/fw-2.bin");
    let mut own = boot(dir.path(), &config, "boot-2");
    assert!(own.on_trial(), "a restart within the trial boot does not revert it");
    assert!(own.confirm().unwrap());
    let own = boot(dir.path(), &config, "boot-3");
    assert!(!own.on_trial());
    assert_eq!(own.running().name, "gateway/fw-2.bin", "confirmed, it stays");
}

#[test]
fn an_own_image_that_fails_its_health_check_is_not_confirmed_and_reverts_at_the_next_boot() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &["false"]);
    let mut own = boot(dir.path(), &config, "boot-1");
    install(&mut own);
    let mut own = boot(dir.path(), &config, "boot-2");
    assert!(own.on_trial());
    assert!(!own.confirm().unwrap(), "the health check failed");
    assert!(own.on_trial());
    let own = boot(dir.path(), &config, "boot-3");
    assert!(!own.on_trial());
    assert_eq!(own.running().name, "gateway/fw-1.bin", "reverted");
    assert_eq!(own.failed().map(|f| f.name.as_str()), Some("gateway/fw-2.bin"));
}
