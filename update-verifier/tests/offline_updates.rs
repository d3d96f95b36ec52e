//! Offline updates: an offline bundle's snapshot and targets against the trusted director
//! root and the device's floor, one test per attack the design names.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use metadata_schemas::json::{Object, Value};
use metadata_schemas::uptane::{AttackCode, EcuSerial, HardwareId, OFFLINE_ROLE_FIELD, OfflineCustom, Vin};
use metadata_schemas::{
    CommonFields, Encode, Hashes, MetaFile, RoleKeys, RoleName, Snapshot, TargetFile, TargetPath, Targets, Threshold,
    UnknownFields, UtcTime, Version,
};
use repo_simulator::{RepoSim, new_key};
use threshold_keys::{KeyFileSigner, Signer, digest};
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

/// A director repository whose root names `offline` as its offline-updates key.
fn director_with_offline_key(offline: &KeyFileSigner) -> RepoSim {
    let mut sim = RepoSim::new(now());
    sim.root.keys.insert(offline.key_id().clone(), offline.public_key().clone());
    let role = RoleKeys {
        keyids: vec![offline.key_id().clone()],
        threshold: Threshold::new(1).unwrap(),
        unknown: UnknownFields::default(),
    };
    sim.root.unknown.0.insert(OFFLINE_ROLE_FIELD, role.encode().into_owned());
    sim.publish_root();
    sim
}

/// What one bundle says: its version, issue time, expiry, image counter, allow-lists.
struct BundleSpec {
    version: u64,
    issued: DateTime<Utc>,
    expires: DateTime<Utc>,
    release_counter: u64,
    hardware: &'static str,
    allowed_vins: Option<Vec<&'static str>>,
    allowed_ecus: Option<Vec<&'static str>>,
}

impl Default for BundleSpec {
    fn default() -> Self {
        BundleSpec {
            version: 1,
            issued: now(),
            expires: now() + Duration::days(30),
            release_counter: 3,
            hardware: "brake-hw-a",
            allowed_vins: None,
            allowed_ecus: None,
        }
    }
}

/// The offline snapshot and targets of `spec`, signed by `signer`.
fn bundle(spec: &BundleSpec, signer: &KeyFileSigner) -> (Vec<u8>, Vec<u8>) {
    let common = CommonFields::new(Version::new(spec.version).unwrap(), UtcTime::new(spec.expires));
    let mut targets = Targets::new(common.clone());
    let hashes = Hashes::new(vec![digest::digest(metadata_schemas::HashAlgorithm::Sha256, IMAGE)]).unwrap();
    let mut file = TargetFile::new(IMAGE.len() as u64, hashes);
    let mut custom = Object::new();
    custom.insert("hardware_identifiers", Value::Array(vec![Value::string(spec.hardware)]));
    custom.insert("release_counter", Value::unsigned(spec.release_counter));
    file.custom = Some(Value::Object(custom));
    targets.targets.insert(TargetPath::new("brake/fw-3.bin"), file);
    let custom = OfflineCustom {
        name: "usb-2026-12".into(),
        issued: UtcTime::new(spec.issued),
        allowed_vins: spec.allowed_vins.as_ref().map(|v| v.iter().map(|s| Vin::new(*s).unwrap()).collect()),
        allowed_ecu_identifiers: spec
            .allowed_ecus
            .as_ref()
            .map(|v| v.iter().map(|s| EcuSerial::new(*s).unwrap()).collect()),
        install_order: vec![HardwareId::new("brake-hw-a").unwrap()],
        unknown: UnknownFields::default(),
    };
    targets.unknown.0.insert("custom", custom.encode().into_owned());
    let targets = RepoSim::sign_with(&targets, &[signer]);
    let mut meta = BTreeMap::new();
    meta.insert("targets.json".to_string(), MetaFile::new(Version::new(spec.version).unwrap()));
    let snapshot = Snapshot { common, meta, unknown: UnknownFields::default() };
    (RepoSim::sign_with(&snapshot, &[signer]), targets)
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
    let offline = new_key();
    let director = director_with_offline_key(&offline);
    let bundle = verify(&director, &bundle(&BundleSpec::default(), &offline), &floor()).unwrap();
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
    let director = director_with_offline_key(&new_key());
    let err = verify(&director, &bundle(&BundleSpec::default(), &new_key()), &floor()).unwrap_err();
    assert!(matches!(err, Error::Unsigned { ref role, .. } if role.as_str() == "offline-snapshot"), "{err}");
    assert_eq!(err.attack_code(), AttackCode::BAD_SIGNATURE);
    // Nor does the director's online targets key sign offline bundles.
    let online = repo_simulator::clone_signer(&director.signers[&RoleName::targets()][0]);
    let err = verify(&director, &bundle(&BundleSpec::default(), &online), &floor()).unwrap_err();
    assert!(matches!(err, Error::Unsigned { .. }), "{err}");
}

#[test]
fn a_director_root_without_offline_keys_takes_no_offline_bundle() {
    let director = RepoSim::new(now());
    let signer = repo_simulator::clone_signer(&director.signers[&RoleName::root()][0]);
    let err = verify(&director, &bundle(&BundleSpec::default(), &signer), &floor()).unwrap_err();
    assert_eq!(err, Error::NoOfflineRole);
    assert!(err.to_string().contains("x-offline-updates"), "{err}");
}

#[test]
fn replayed_older_bundle_after_a_newer_one_is_refused() {
    let offline = new_key();
    let director = director_with_offline_key(&offline);
    let newer =
        verify(&director, &bundle(&BundleSpec { version: 5, ..Default::default() }, &offline), &floor()).unwrap();
    let floor = newer.raised(&floor());
    // The older bundle is still within its expiry: only the version floor refuses it.
    let older = bundle(&BundleSpec { version: 4, issued: now() - Duration::days(1), ..Default::default() }, &offline);
    let err = verify(&director, &older, &floor).unwrap_err();
    assert!(matches!(err, Error::Rollback { ref role, .. } if role.as_str() == "offline-targets"), "{err}");
    assert_eq!(err.attack_code(), AttackCode::ROLLBACK);
    // The same bundle again is accepted (a retry after a power cut).
    verify(&director, &bundle(&BundleSpec { version: 5, ..Default::default() }, &offline), &floor).unwrap();
}

#[test]
fn expired_bundle_against_the_time_floor_is_refused() {
    let offline = new_key();
    let director = director_with_offline_key(&offline);
    let spec =
        BundleSpec { issued: now() - Duration::days(40), expires: now() - Duration::days(10), ..Default::default() };
    let err = verify(&director, &bundle(&spec, &offline), &floor()).unwrap_err();
    assert!(matches!(err, Error::Expired { .. }), "{err}");
    assert_eq!(err.attack_code(), AttackCode::FREEZE);
    // A device whose floor is older (it was offline for months) still takes it.
    let old_floor = OfflineFloor { time: now() - Duration::days(20), targets_version: 0 };
    verify(&director, &bundle(&spec, &offline), &old_floor).unwrap();
}

#[test]
fn bundle_for_another_vin_or_ecu_is_refused_and_one_for_other_hardware_assigns_nothing() {
    let offline = new_key();
    let director = director_with_offline_key(&offline);
    let spec = BundleSpec { allowed_vins: Some(vec!["VIN0002"]), ..Default::default() };
    let other_vin = verify(&director, &bundle(&spec, &offline), &floor()).unwrap();
    let err = offline_image_for_ecu(&other_vin, &ecu(), 0).unwrap_err();
    assert!(matches!(err, Error::OfflineNotForVehicle { .. }), "{err}");
    assert_eq!(err.attack_code(), AttackCode::WRONG_TARGET);

    let spec = BundleSpec {
        allowed_vins: Some(vec!["VIN0001"]),
        allowed_ecus: Some(vec!["door-ecu-1"]),
        ..Default::default()
    };
    let other_ecu = verify(&director, &bundle(&spec, &offline), &floor()).unwrap();
    assert!(matches!(offline_image_for_ecu(&other_ecu, &ecu(), 0), Err(Error::OfflineNotForEcu { .. })));

    let other_hardware =
        verify(&director, &bundle(&BundleSpec { hardware: "door-hw", ..Default::default() }, &offline), &floor())
            .unwrap();
    assert_eq!(offline_image_for_ecu(&other_hardware, &ecu(), 0).unwrap(), None);
}

#[test]
fn bundle_that_lowers_a_release_counter_is_refused() {
    let offline = new_key();
    let director = director_with_offline_key(&offline);
    let bundle =
        verify(&director, &bundle(&BundleSpec { release_counter: 3, ..Default::default() }, &offline), &floor())
            .unwrap();
    let err = offline_image_for_ecu(&bundle, &ecu(), 4).unwrap_err();
    assert!(matches!(err, Error::ReleaseCounterRollback { installed: 4, offered: 3, .. }), "{err}");
    assert_eq!(err.attack_code(), AttackCode::ROLLBACK);
}

#[test]
fn offline_targets_that_the_offline_snapshot_does_not_list_are_refused() {
    let offline = new_key();
    let director = director_with_offline_key(&offline);
    let (snapshot, _) = bundle(&BundleSpec { version: 2, ..Default::default() }, &offline);
    let (_, targets) = bundle(&BundleSpec { version: 3, ..Default::default() }, &offline);
    let err = verify(&director, &(snapshot, targets), &floor()).unwrap_err();
    assert!(matches!(err, Error::VersionMismatch { .. }), "{err}");
    assert_eq!(err.attack_code(), AttackCode::MIX_AND_MATCH);
}

#[test]
fn bundle_with_a_tampered_image_is_refused() {
    let offline = new_key();
    let director = director_with_offline_key(&offline);
    let bundle = verify(&director, &bundle(&BundleSpec::default(), &offline), &floor()).unwrap();
    let image = offline_image_for_ecu(&bundle, &ecu(), 0).unwrap().unwrap();
    let mut tampered = IMAGE.to_vec();
    tampered[7] ^= 1;
    let mut check = TargetVerifier::new(&image.path, &image.file).unwrap();
    check.update(&tampered).unwrap();
    let err = check.finish().unwrap_err();
    assert_eq!(err.attack_code(), AttackCode::TAMPERED_IMAGE, "{err}");
}
