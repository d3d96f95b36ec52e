//! The gateway's own image: a new image starts its trial only after a boot into it (a
//! change of the boot id), a restart of the service within the same boot neither starts
//! nor reverts a trial, an image that fails the health check is not confirmed and is
//! reverted after its three trial boots, and with both slots corrupted the rescue slot
//! runs, from which a current image installs and confirms.

use std::path::Path;

use client_std::primary::{OwnImage, OwnImageConfig, RescueSlot, SlotImage};

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
        trial_attempts: 3,
        rescue: None,
    }
}

fn boot(dir: &Path, config: &OwnImageConfig, id: &str) -> OwnImage {
    std::fs::write(dir.join("boot_id"), format!("{id}\n")).unwrap();
    let mut own = OwnImage::open(config, &dir.join("state")).unwrap();
    own.boot().unwrap();
    own
}

fn install(own: &mut OwnImage) {
    install_named(own, "gateway/fw-2.bin", b"gateway firmware 2");
}

fn install_named(own: &mut OwnImage, name: &str, bytes: &[u8]) {
    let sha256 = metadata_schemas::hex::encode(&threshold_keys::digest::sha256(bytes));
    let image =
        SlotImage { name: name.into(), length: bytes.len() as u64, sha256, installed_at: Some(1), release_counter: 2 };
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
fn an_own_image_that_fails_its_health_check_is_not_confirmed_and_reverts_after_its_trial_boots() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &["false"]);
    let mut own = boot(dir.path(), &config, "boot-1");
    install(&mut own);
    for run in 2..=4 {
        let mut own = boot(dir.path(), &config, &format!("boot-{run}"));
        assert!(own.on_trial(), "trial boot {}", run - 1);
        assert_eq!(own.running().name, "gateway/fw-2.bin");
        assert!(!own.confirm().unwrap(), "the health check failed");
        assert!(own.on_trial());
    }
    let own = boot(dir.path(), &config, "boot-5");
    assert!(!own.on_trial());
    assert_eq!(own.running().name, "gateway/fw-1.bin", "reverted");
    assert_eq!(own.failed().map(|f| f.name.as_str()), Some("gateway/fw-2.bin"));
}

#[test]
fn with_both_slots_corrupted_the_rescue_slot_runs_and_an_image_installed_from_it_confirms() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path(), &[]);
    std::fs::write(dir.path().join("rescue.bin"), b"gateway rescue system").unwrap();
    config.rescue = Some(RescueSlot { slot: dir.path().join("rescue.bin"), name: "gateway/rescue.bin".into() });
    let mut own = boot(dir.path(), &config, "boot-1");
    install(&mut own);
    let mut own = boot(dir.path(), &config, "boot-2");
    assert!(own.confirm().unwrap());
    // Both slots rot.
    for slot in &config.slots {
        let mut bytes = std::fs::read(slot).unwrap();
        bytes[3] ^= 1;
        std::fs::write(slot, bytes).unwrap();
    }
    let mut own = boot(dir.path(), &config, "boot-3");
    assert!(own.in_rescue(), "both slots bad: the rescue image runs");
    assert_eq!(own.running().name, "gateway/rescue.bin");
    install_named(&mut own, "gateway/fw-3.bin", b"gateway firmware 3, from a USB stick");
    let mut own = boot(dir.path(), &config, "boot-4");
    assert!(own.on_trial());
    assert_eq!(own.running().name, "gateway/fw-3.bin");
    assert!(own.confirm().unwrap());
    let own = boot(dir.path(), &config, "boot-5");
    assert!(!own.in_rescue() && !own.on_trial());
    assert_eq!(own.running().name, "gateway/fw-3.bin", "the recovered image stays");
    assert_eq!(std::fs::read(dir.path().join("rescue.bin")).unwrap(), b"gateway rescue system", "never written");
}

#[test]
fn a_corrupted_active_image_gives_way_to_the_other_slots_confirmed_image() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &[]);
    let mut own = boot(dir.path(), &config, "boot-1");
    install(&mut own);
    let mut own = boot(dir.path(), &config, "boot-2");
    assert!(own.confirm().unwrap());
    let active = &config.slots[1];
    let mut bytes = std::fs::read(active).unwrap();
    bytes[0] ^= 1;
    std::fs::write(active, bytes).unwrap();
    let own = boot(dir.path(), &config, "boot-3");
    assert_eq!(own.running().name, "gateway/fw-1.bin", "back to the previous intact image");
    assert!(!own.in_rescue());
}
