//! Offline updates: an offline bundle's snapshot and targets against the trusted director
//! root and the device's floor, one test per attack the design names.

use chrono::{DateTime, Duration, Utc};
use metadata_schemas::RoleName;
use metadata_schemas::uptane::{AttackCode, EcuSerial, HardwareId, Vin};
use repo_simulator::offline::OfflineSpec;
use repo_simulator::{RepoSim, new_key};
use threshold_keys::KeyFileSigner;
use update_verifier::uptane::{
    EcuIdentity, OfflineBundle, OfflineFloor, offline_image_for_ecu, verify_offline_metadata,
};
use update_verifier::{Error, Limits, TargetVerifier};

const IMAGE: &[u8] = b"brake controller firmware 3, installed from a USB stick";

fn now() -> DateTime<Utc> {
    "2026-12-01T00:00:00Z".parse().unwrap()
}

fn ecu() -> EcuIdentity {
    EcuIdentity {
        vin: Vin::new("VIN0001").unwrap(),
        serial: EcuSerial::new("brake-ecu-1").unwrap(),
        hardware_id: HardwareId::new("brake-hw-a").unwrap(),
    }
}

/// A director repository whose root names an offline-updates key; that key.
fn director_with_offline_key() -> (RepoSim, KeyFileSigner) {
    let mut sim = RepoSim::new(now());
    let key = sim.add_offline_key();
    (sim, key)
}

/// A bundle of `IMAGE` as brake firmware 3 for brake-hw-a, version 1, issued now.
fn spec() -> OfflineSpec {
    OfflineSpec::new(now(), "brake/fw-3.bin", IMAGE, "brake-hw-a", 3)
}

fn floor() -> OfflineFloor {
    OfflineFloor { time: now(), targets_version: 0 }
}

fn verify(
    director: &RepoSim,
    (snapshot, targets): &(Vec<u8>, Vec<u8>),
    floor: &OfflineFloor,
) -> Result<OfflineBundle, Error> {
    verify_offline_metadata(&director.root, snapshot, targets, floor, &Limits::default())
}

#[test]
fn an_offline_bundle_signed_by_the_delegated_key_gives_this_ecu_its_image_and_raises_the_floor() {
    let (director, offline) = director_with_offline_key();
    let bundle = verify(&director, &spec().sign(&offline), &floor()).unwrap();
    let image = offline_image_for_ecu(&bundle, &ecu(), 2).unwrap().unwrap();
    assert_eq!(image.path.as_str(), "brake/fw-3.bin");
    assert_eq!((image.custom.release_counter, image.custom.ecu_identifier.as_str()), (3, "brake-ecu-1"));
    let mut check = TargetVerifier::new(&image.path, &image.file).unwrap();
    check.update(IMAGE).unwrap();
    check.finish().unwrap();
    let later = OfflineFloor { time: now() - Duration::days(3), targets_version: 0 };
    assert_eq!(bundle.raised(&later), OfflineFloor { time: now(), targets_version: 1 });
}

#[test]
fn offline_bundle_signed_by_a_key_the_root_does_not_delegate_is_refused() {
    let (director, _) = director_with_offline_key();
    let err = verify(&director, &spec().sign(&new_key()), &floor()).unwrap_err();
    assert!(matches!(err, Error::Unsigned { ref role, .. } if role.as_str() == "offline-snapshot"), "{err}");
    assert_eq!(err.attack_code(), AttackCode::BAD_SIGNATURE);
    // Nor does the director's online targets key sign offline bundles.
    let online = repo_simulator::clone_signer(&director.signers[&RoleName::targets()][0]);
    let err = verify(&director, &spec().sign(&online), &floor()).unwrap_err();
    assert!(matches!(err, Error::Unsigned { .. }), "{err}");
}

#[test]
fn a_director_root_without_offline_keys_takes_no_offline_bundle() {
    let director = RepoSim::new(now());
    let signer = repo_simulator::clone_signer(&director.signers[&RoleName::root()][0]);
    let err = verify(&director, &spec().sign(&signer), &floor()).unwrap_err();
    assert_eq!(err, Error::NoOfflineRole);
    assert!(err.to_string().contains("x-offline-updates"), "{err}");
}

#[test]
fn replayed_older_bundle_after_a_newer_one_is_refused() {
    let (director, offline) = director_with_offline_key();
    let newer = verify(&director, &OfflineSpec { version: 5, ..spec() }.sign(&offline), &floor()).unwrap();
    let floor = newer.raised(&floor());
    // The older bundle is still within its expiry: only the version floor refuses it.
    let older = OfflineSpec { version: 4, issued: now() - Duration::days(1), ..spec() }.sign(&offline);
    let err = verify(&director, &older, &floor).unwrap_err();
    assert!(matches!(err, Error::Rollback { ref role, .. } if role.as_str() == "offline-targets"), "{err}");
    assert_eq!(err.attack_code(), AttackCode::ROLLBACK);
    // The same bundle again is accepted (a retry after a power cut).
    verify(&director, &OfflineSpec { version: 5, ..spec() }.sign(&offline), &floor).unwrap();
}

#[test]
fn expired_bundle_against_the_time_floor_is_refused() {
    let (director, offline) = director_with_offline_key();
    let spec = OfflineSpec { issued: now() - Duration::days(40), expires: now() - Duration::days(10), ..spec() };
    let err = verify(&director, &spec.sign(&offline), &floor()).unwrap_err();
    assert!(matches!(err, Error::Expired { .. }), "{err}");
    assert_eq!(err.attack_code(), AttackCode::FREEZE);
    // A device whose floor is older (it was offline for months) still takes it.
    let old_floor = OfflineFloor { time: now() - Duration::days(20), targets_version: 0 };
    verify(&director, &spec.sign(&offline), &old_floor).unwrap();
}

#[test]
fn bundle_for_another_vin_or_ecu_is_refused_and_one_for_other_hardware_assigns_nothing() {
    let (director, offline) = director_with_offline_key();
    let other = OfflineSpec { allowed_vins: Some(vec!["VIN0002".into()]), ..spec() };
    let other_vin = verify(&director, &other.sign(&offline), &floor()).unwrap();
    let err = offline_image_for_ecu(&other_vin, &ecu(), 0).unwrap_err();
    assert!(matches!(err, Error::OfflineNotForVehicle { .. }), "{err}");
    assert_eq!(err.attack_code(), AttackCode::WRONG_TARGET);

    let other = OfflineSpec {
        allowed_vins: Some(vec!["VIN0001".into()]),
        allowed_ecus: Some(vec!["door-ecu-1".into()]),
        ..spec()
    };
    let other_ecu = verify(&director, &other.sign(&offline), &floor()).unwrap();
    assert!(matches!(offline_image_for_ecu(&other_ecu, &ecu(), 0), Err(Error::OfflineNotForEcu { .. })));

    let door = OfflineSpec::new(now(), "door/fw-3.bin", IMAGE, "door-hw", 3);
    let other_hardware = verify(&director, &door.sign(&offline), &floor()).unwrap();
    assert_eq!(offline_image_for_ecu(&other_hardware, &ecu(), 0).unwrap(), None);
}

#[test]
fn bundle_that_lowers_a_release_counter_is_refused() {
    let (director, offline) = director_with_offline_key();
    let bundle = verify(&director, &spec().sign(&offline), &floor()).unwrap();
    let err = offline_image_for_ecu(&bundle, &ecu(), 4).unwrap_err();
    assert!(matches!(err, Error::ReleaseCounterRollback { installed: 4, offered: 3, .. }), "{err}");
    assert_eq!(err.attack_code(), AttackCode::ROLLBACK);
}

#[test]
fn offline_targets_that_the_offline_snapshot_does_not_list_are_refused() {
    let (director, offline) = director_with_offline_key();
    let (snapshot, _) = OfflineSpec { version: 2, ..spec() }.sign(&offline);
    let (_, targets) = OfflineSpec { version: 3, ..spec() }.sign(&offline);
    let err = verify(&director, &(snapshot, targets), &floor()).unwrap_err();
    assert!(matches!(err, Error::VersionMismatch { .. }), "{err}");
    assert_eq!(err.attack_code(), AttackCode::MIX_AND_MATCH);
}

#[test]
fn bundle_with_a_tampered_image_is_refused() {
    let (director, offline) = director_with_offline_key();
    let bundle = verify(&director, &spec().sign(&offline), &floor()).unwrap();
    let image = offline_image_for_ecu(&bundle, &ecu(), 0).unwrap().unwrap();
    let mut tampered = IMAGE.to_vec();
    tampered[7] ^= 1;
    let mut check = TargetVerifier::new(&image.path, &image.file).unwrap();
    check.update(&tampered).unwrap();
    let err = check.finish().unwrap_err();
    assert_eq!(err.attack_code(), AttackCode::TAMPERED_IMAGE, "{err}");
}

#[test]
fn an_expired_director_root_takes_no_offline_bundle() {
    let (mut director, offline) = director_with_offline_key();
    director.root.common.expires = metadata_schemas::UtcTime::new(now() - Duration::days(1));
    let err = verify(&director, &spec().sign(&offline), &floor()).unwrap_err();
    assert!(matches!(err, Error::Expired { ref role, .. } if role.as_str() == "root"), "{err}");
    assert_eq!(err.attack_code(), AttackCode::FREEZE);
}
