//! The secondary end to end on a simulated flash: director metadata in, image in, trial
//! boot, confirm, signed version report out; and every refusal the Uptane Standard
//! names, each leaving the running image and the boot state as they were and putting
//! its attack code into the next version report.

mod common;

use chrono::{DateTime, Duration, Utc};
use client_embedded::{Slot, SlotStatus};
use common::*;
use metadata_schemas::RoleName;
use metadata_schemas::uptane::{AttackCode, BootState, InstallResult};
use repo_simulator::RepoSim;

/// Metadata and image in; the first refusal.
fn update(ecu: &mut Ecu, targets: &[u8], image: &[u8], at: DateTime<Utc>) -> Result<bool, String> {
    let scratch = &mut vec![0u8; 16384];
    ecu.start_cycle(at.timestamp() as u64, scratch).map_err(|e| format!("{e:?}"))?;
    let assigned = ecu.put_targets(targets, scratch).map_err(|e| format!("{e:?}"))?;
    ecu.begin_image().map_err(|e| format!("{e:?}"))?;
    for chunk in image.chunks(100) {
        ecu.put_chunk(chunk).map_err(|e| format!("{e:?}"))?;
    }
    ecu.activate().map_err(|e| format!("{e:?}"))?;
    Ok(assigned.is_some())
}

#[test]
fn an_update_installs_boots_as_a_trial_confirms_and_is_reported() {
    let mut director = Director::new();
    let mut ecu = provisioned(&director);
    let first = report(&mut ecu);
    assert_eq!(first.installed_image.filepath.as_str(), "brake/factory.bin");
    let factory = first.status.expect("every report says its boot state");
    assert_eq!((factory.boot_state, factory.install_result), (BootState::Confirmed, None), "nothing installed yet");
    let image = b"brake firmware v2".to_vec();
    let targets = director.assign(&image, "brake-ecu-1", "brake-hw-a", 2);
    assert!(update(&mut ecu, &targets, &image, now()).unwrap());
    let mut ecu = reset(ecu);
    assert!(ecu.on_trial());
    assert_eq!(running_image(&mut ecu), image);
    let trial = report(&mut ecu).status.unwrap();
    assert_eq!(trial.boot_state, BootState::Trial, "written and booted is not yet success");
    assert_eq!(trial.previous_image.as_ref().map(|p| p.as_str()), Some("brake/factory.bin"));
    ecu.confirm().unwrap();
    let confirmed = report(&mut ecu).status.unwrap();
    assert_eq!((confirmed.boot_state, confirmed.install_result), (BootState::Confirmed, Some(InstallResult::Ok)));
    assert_eq!(confirmed.previous_image.as_ref().map(|p| p.as_str()), Some("brake/factory.bin"));
    let mut ecu = reset(ecu);
    assert!(!ecu.on_trial());
    assert_eq!(running_image(&mut ecu), image);
    let last = report(&mut ecu);
    assert_eq!(last.installed_image.filepath.as_str(), "brake/fw-2.bin");
    assert_eq!(last.attacks_detected, AttackCode::NONE);
    assert!(last.report_counter > first.report_counter, "counters grow across boots");
    assert_eq!(ecu.device().state().floors.release_counter, 2);
}

#[test]
fn an_unconfirmed_trial_reverts_and_the_failure_is_in_the_boot_state() {
    let mut director = Director::new();
    let mut ecu = provisioned(&director);
    let image = b"brake firmware v2 that hangs".to_vec();
    let targets = director.assign(&image, "brake-ecu-1", "brake-hw-a", 2);
    update(&mut ecu, &targets, &image, now()).unwrap();
    let mut ecu = reset(ecu); // trial starts
    for run in 2..=3 {
        ecu = reset(ecu); // it hung: the bootloader gives it another run
        assert_eq!(running_image(&mut ecu), image, "trial run {run}");
        assert!(ecu.on_trial());
    }
    let mut ecu = reset(ecu); // three runs, no confirmation: revert
    assert_eq!(running_image(&mut ecu), FACTORY);
    assert_eq!(ecu.device().state().slot(Slot::B).status, SlotStatus::Failed);
    assert_eq!(ecu.device().state().floors.release_counter, 1, "floors rise only at confirmation");
    let mut ecu = ecu;
    let status = report(&mut ecu).status.unwrap();
    assert_eq!(status.boot_state, BootState::Confirmed, "the factory image runs, confirmed");
    assert_eq!(status.install_result, Some(InstallResult::RevertedUnconfirmed), "and the director is told why");
}

/// Runs a refused update and checks that nothing changed but the report.
fn refused(ecu: &mut Ecu, targets: &[u8], image: &[u8], at: DateTime<Utc>, code: AttackCode) {
    let before_image = running_image(ecu);
    let before_state = *ecu.device().state();
    let err = update(ecu, targets, image, at).expect_err("the update must be refused");
    let after = *ecu.device().state();
    assert_eq!(running_image(ecu), before_image, "{err}");
    assert_eq!(after.floors, before_state.floors, "{err}");
    let running = ecu.device().running().unwrap();
    assert_eq!(after.slot(running), before_state.slot(running), "{err}");
    assert_ne!(after.slot(running.other()).status, SlotStatus::Installed, "nothing is pending: {err}");
    assert_eq!(ecu.device().state().find(SlotStatus::Active), Some(running), "the same image stays active");
    let report = report(ecu);
    assert_eq!(report.attacks_detected, code, "{err}");
    assert_eq!(report.status.unwrap().install_result, Some(InstallResult::VerificationFailed(code)), "{err}");
}

#[test]
fn uptane_unsigned_director_targets_are_refused() {
    let mut director = Director::new();
    let mut ecu = provisioned(&director);
    let image = b"image".to_vec();
    let targets = director.assign(&image, "brake-ecu-1", "brake-hw-a", 2);
    let mut envelope: serde_json::Value = serde_json::from_slice(&targets).unwrap();
    envelope["signatures"] = serde_json::json!([]);
    refused(&mut ecu, &serde_json::to_vec(&envelope).unwrap(), &image, now(), AttackCode::BAD_SIGNATURE);
}

#[test]
fn uptane_director_targets_signed_by_the_wrong_key_are_refused() {
    let mut director = Director::new();
    let mut ecu = provisioned(&director);
    let image = b"image".to_vec();
    director.assign(&image, "brake-ecu-1", "brake-hw-a", 2);
    let stranger = repo_simulator::new_key();
    let forged = RepoSim::sign_with(&director.sim.targets[&RoleName::targets()], &[&stranger]);
    refused(&mut ecu, &forged, &image, now(), AttackCode::BAD_SIGNATURE);
}

#[test]
fn uptane_tampered_image_is_refused() {
    let mut director = Director::new();
    let mut ecu = provisioned(&director);
    let targets = director.assign(b"genuine image", "brake-ecu-1", "brake-hw-a", 2);
    refused(&mut ecu, &targets, b"genuine imagE", now(), AttackCode::TAMPERED_IMAGE);
}

#[test]
fn uptane_image_longer_than_listed_is_refused() {
    let mut director = Director::new();
    let mut ecu = provisioned(&director);
    let targets = director.assign(b"genuine image", "brake-ecu-1", "brake-hw-a", 2);
    refused(&mut ecu, &targets, b"genuine image and then some", now(), AttackCode::ENDLESS_DATA);
}

#[test]
fn uptane_rolled_back_director_targets_version_is_refused() {
    let mut director = Director::new();
    let mut ecu = provisioned(&director);
    let old = director.assign(b"image v2", "brake-ecu-1", "brake-hw-a", 2);
    let new = director.assign(b"image v3", "brake-ecu-1", "brake-hw-a", 3);
    update(&mut ecu, &new, b"image v3", now()).unwrap();
    let ecu = reset(ecu);
    let mut ecu = ecu;
    ecu.confirm().unwrap();
    let mut ecu = reset(ecu);
    refused(&mut ecu, &old, b"image v2", now(), AttackCode::ROLLBACK);
}

#[test]
fn uptane_release_counter_rollback_is_refused() {
    let mut director = Director::new();
    let mut ecu = provisioned(&director);
    let targets = director.assign(b"image v3", "brake-ecu-1", "brake-hw-a", 3);
    update(&mut ecu, &targets, b"image v3", now()).unwrap();
    let mut ecu = reset(ecu);
    ecu.confirm().unwrap();
    let mut ecu = reset(ecu);
    let older = director.assign(b"image with counter 2", "brake-ecu-1", "brake-hw-a", 2);
    refused(&mut ecu, &older, b"image with counter 2", now(), AttackCode::ROLLBACK);
}

#[test]
fn uptane_image_for_other_hardware_is_refused() {
    let mut director = Director::new();
    let mut ecu = provisioned(&director);
    let targets = director.assign(b"image", "brake-ecu-1", "wiper-hw", 2);
    refused(&mut ecu, &targets, b"image", now(), AttackCode::WRONG_TARGET);
}

#[test]
fn uptane_image_for_another_ecu_is_refused() {
    let mut director = Director::new();
    let mut ecu = provisioned(&director);
    let targets = director.assign(b"image", "wiper-ecu-1", "brake-hw-a", 2);
    refused(&mut ecu, &targets, b"image", now(), AttackCode::WRONG_TARGET);
}

#[test]
fn uptane_expired_director_targets_are_refused() {
    let mut director = Director::new();
    let mut ecu = provisioned(&director);
    let targets = director.assign(b"image", "brake-ecu-1", "brake-hw-a", 2);
    refused(&mut ecu, &targets, b"image", now() + Duration::days(400), AttackCode::FREEZE);
}

#[test]
fn uptane_replayed_director_targets_after_a_time_rollback_are_refused() {
    let mut director = Director::new();
    let mut ecu = provisioned(&director);
    let targets = director.assign(b"image", "brake-ecu-1", "brake-hw-a", 2);
    // The director attested a time past the metadata's expiry; a primary that now claims
    // an earlier time cannot make expired metadata current again.
    let later = now() + Duration::days(400);
    take_time(&mut ecu, &director, later).unwrap();
    refused(&mut ecu, &targets, b"image", now(), AttackCode::FREEZE);
}

/// A report (its nonce), a cycle, then the director's attestation of `time` for it.
fn take_time(ecu: &mut Ecu, director: &Director, time: DateTime<Utc>) -> Result<(), String> {
    let nonce = report(ecu).nonce.expect("every report carries a nonce");
    let scratch = &mut vec![0u8; 16384];
    ecu.start_cycle(now().timestamp() as u64, scratch).map_err(|e| format!("{e:?}"))?;
    ecu.put_time(&director.attest(time, &[nonce]), scratch).map_err(|e| format!("{e:?}"))
}

#[test]
fn unauthenticated_start_cycle_times_never_become_the_trusted_time() {
    let mut director = Director::new();
    let mut ecu = provisioned(&director);
    take_time(&mut ecu, &director, now()).unwrap();
    let trusted = ecu.trusted_time();
    let scratch = &mut vec![0u8; 16384];
    let year_3000 = DateTime::parse_from_rfc3339("3000-01-01T00:00:00Z").unwrap().timestamp() as u64;
    for claimed in [year_3000, u64::MAX, 0] {
        ecu.start_cycle(claimed, scratch).unwrap();
        assert_eq!(ecu.trusted_time(), trusted, "StartCycle({claimed}) moved the trusted time");
        assert_eq!(report(&mut ecu).latest_time.time().timestamp() as u64, trusted);
    }
    // The year-3000 cycle refused as frozen, but nothing of it was kept: the next
    // cycle at the right time installs the update.
    let image = b"brake firmware v2".to_vec();
    let targets = director.assign(&image, "brake-ecu-1", "brake-hw-a", 2);
    assert!(update(&mut ecu, &targets, &image, DateTime::from_timestamp(year_3000 as i64, 0).unwrap()).is_err());
    assert!(update(&mut ecu, &targets, &image, now()).unwrap());
}

#[test]
fn a_start_cycle_time_of_2_64_minus_1_does_not_wrap_past_expiry_checks() {
    let mut director = Director::new();
    let mut ecu = provisioned(&director);
    let targets = director.assign(b"image", "brake-ecu-1", "brake-hw-a", 2);
    take_time(&mut ecu, &director, now() + Duration::days(400)).unwrap();
    let scratch = &mut vec![0u8; 16384];
    ecu.start_cycle(u64::MAX, scratch).unwrap();
    let err = ecu.put_targets(&targets, scratch).expect_err("expired metadata stays expired");
    assert_eq!(err.attack_code(), AttackCode::FREEZE);
}

#[test]
fn a_time_attestation_is_taken_once_and_time_never_goes_backwards() {
    let director = Director::new();
    let mut ecu = provisioned(&director);
    take_time(&mut ecu, &director, now()).unwrap();
    assert_eq!(ecu.trusted_time(), now().timestamp() as u64);
    // An older time, even freshly attested for this ECU's nonce, does not move time back.
    take_time(&mut ecu, &director, now() - Duration::days(30)).unwrap();
    assert_eq!(ecu.trusted_time(), now().timestamp() as u64);
    // The same attestation again (its nonce used up) is refused.
    let nonce = report(&mut ecu).nonce.unwrap();
    let scratch = &mut vec![0u8; 16384];
    ecu.start_cycle(now().timestamp() as u64, scratch).unwrap();
    let attestation = director.attest(now() + Duration::days(1), &[nonce]);
    ecu.put_time(&attestation, scratch).unwrap();
    ecu.start_cycle(now().timestamp() as u64, scratch).unwrap();
    assert!(ecu.put_time(&attestation, scratch).is_err(), "one attestation answers one report");
}

#[test]
fn a_replayed_time_attestation_without_the_ecus_fresh_nonce_is_refused() {
    let director = Director::new();
    let mut ecu = provisioned(&director);
    let old_nonce = report(&mut ecu).nonce.unwrap();
    let replayed = director.attest(now() + Duration::days(10), &[old_nonce, 42]);
    let fresh = report(&mut ecu).nonce.unwrap();
    assert_ne!(fresh, old_nonce, "every report has its own nonce");
    let scratch = &mut vec![0u8; 16384];
    ecu.start_cycle(now().timestamp() as u64, scratch).unwrap();
    let before = ecu.trusted_time();
    let err = ecu.put_time(&replayed, scratch).expect_err("an attestation for an older report");
    assert_eq!(err.attack_code(), AttackCode::FREEZE);
    assert_eq!(ecu.trusted_time(), before);
    assert_eq!(report(&mut ecu).attacks_detected, AttackCode::FREEZE, "the next report names it");
}

#[test]
fn a_time_attestation_signed_by_another_key_is_refused() {
    let director = Director::new();
    let mut ecu = provisioned(&director);
    let nonce = report(&mut ecu).nonce.unwrap();
    let forged = Director::attest_with(&repo_simulator::new_key(), now() + Duration::days(10), &[nonce]);
    let scratch = &mut vec![0u8; 16384];
    ecu.start_cycle(now().timestamp() as u64, scratch).unwrap();
    let before = ecu.trusted_time();
    let err = ecu.put_time(&forged, scratch).expect_err("not the time key the root names");
    assert_eq!(err.attack_code(), AttackCode::BAD_SIGNATURE);
    assert_eq!(ecu.trusted_time(), before);
    // Garbage is refused the same way, and changes nothing.
    assert!(ecu.put_time(b"{not json", scratch).is_err());
    assert_eq!(ecu.trusted_time(), before);
}

#[test]
fn a_trusted_time_of_2_64_minus_1_kept_by_an_older_version_fails_closed() {
    let mut director = Director::new();
    let mut ecu = provisioned(&director);
    // What an unauthenticated StartCycle(2^64-1) left in the boot state before secure time.
    ecu.device().advance_time(u64::MAX).unwrap();
    let image = b"brake firmware v2".to_vec();
    let targets = director.assign(&image, "brake-ecu-1", "brake-hw-a", 2);
    refused(&mut ecu, &targets, &image, now(), AttackCode::FREEZE);
    let stated = report(&mut ecu).latest_time.time();
    assert_eq!(stated.to_rfc3339(), "9999-12-31T23:59:59+00:00", "the report still reads as a time");
}
