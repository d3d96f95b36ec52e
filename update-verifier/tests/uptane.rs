//! Uptane 2.1 verification: partial (director targets only) and full (director and
//! image repository agree), one test per check of the Standard.

mod common;

use common::{Client, now};
use metadata_schemas::json::{Object, Value};
use metadata_schemas::uptane::{AttackCode, EcuSerial, HardwareId, Vin};
use metadata_schemas::{RoleName, Version};
use repo_simulator::{RepoSim, expires_in};
use update_verifier::uptane::{EcuIdentity, PartialVerifier, check_against_image_repository};
use update_verifier::{Error, Limits};

const IMAGE: &[u8] = b"firmware image v2 for the brake controller";

fn ecu() -> EcuIdentity {
    EcuIdentity {
        vin: Vin::new("VIN0001").unwrap(),
        serial: EcuSerial::new("brake-ecu-1").unwrap(),
        hardware_id: HardwareId::new("brake-hw-a").unwrap(),
    }
}

fn object(pairs: &[(&'static str, Value<'static>)]) -> Value<'static> {
    let mut o = Object::new();
    for (k, v) in pairs {
        o.insert(*k, v.clone());
    }
    Value::Object(o)
}

fn director_custom(serial: &str, hw: &str, counter: u64) -> Value<'static> {
    object(&[
        ("ecu_identifier", Value::string(serial.to_string())),
        ("hardware_identifier", Value::string(hw.to_string())),
        ("release_counter", Value::unsigned(counter)),
    ])
}

/// A director repository for vehicle `vin` assigning `IMAGE` to the brake ECU.
fn director(vin: &str, counter: u64) -> RepoSim {
    let mut sim = RepoSim::new(now());
    let targets = sim.targets.get_mut(&RoleName::targets()).unwrap();
    targets.unknown.0.insert("custom", object(&[("vin", Value::string(vin.to_string()))]));
    sim.add_target(
        &RoleName::targets(),
        "brake/fw-2.bin",
        IMAGE,
        Some(director_custom("brake-ecu-1", "brake-hw-a", counter)),
    );
    sim.publish();
    sim
}

fn partial(sim: &RepoSim) -> PartialVerifier {
    PartialVerifier::new(&sim.file("1.root.json"), ecu(), now(), Limits::default()).unwrap()
}

fn targets_file(sim: &RepoSim) -> Vec<u8> {
    sim.file(&RoleName::targets().versioned_file_name(sim.targets[&RoleName::targets()].common.version))
}

fn republish_targets(sim: &mut RepoSim) {
    sim.touch(&RoleName::targets());
    sim.publish();
}

#[test]
fn uptane_partial_verification_finds_this_ecus_image() {
    let sim = director("VIN0001", 5);
    let mut verifier = partial(&sim);
    verifier.update_targets(&targets_file(&sim)).unwrap();
    let image = verifier.image(4).unwrap().unwrap();
    assert_eq!(image.path.as_str(), "brake/fw-2.bin");
    assert_eq!(image.custom.release_counter, 5);
    let mut check = update_verifier::TargetVerifier::new(&image.path, &image.file).unwrap();
    check.update(IMAGE).unwrap();
    check.finish().unwrap();
}

#[test]
fn uptane_partial_verification_without_an_image_for_this_ecu_installs_nothing() {
    let mut sim = director("VIN0001", 5);
    let t = sim.targets.get_mut(&RoleName::targets()).unwrap();
    t.targets.clear();
    republish_targets(&mut sim);
    let mut verifier = partial(&sim);
    verifier.update_targets(&targets_file(&sim)).unwrap();
    assert_eq!(verifier.image(0).unwrap(), None);
}

#[test]
fn uptane_check_targets_3_director_targets_must_be_signed_by_the_root_targets_keys() {
    let sim = director("VIN0001", 5);
    let forged = sim.sign(&RoleName::timestamp(), &sim.targets[&RoleName::targets()]);
    let err = partial(&sim).update_targets(&forged).unwrap_err();
    assert!(matches!(err, Error::Unsigned { .. }), "{err}");
    assert_eq!(err.attack_code(), AttackCode::BAD_SIGNATURE);
}

#[test]
fn uptane_check_targets_4_director_targets_rollback_is_refused() {
    let mut sim = director("VIN0001", 5);
    let old = targets_file(&sim);
    republish_targets(&mut sim);
    let mut verifier = partial(&sim);
    verifier.update_targets(&targets_file(&sim)).unwrap();
    let err = verifier.update_targets(&old).unwrap_err();
    assert_eq!(
        err,
        Error::Rollback {
            role: RoleName::targets(),
            trusted: Version::new(3).unwrap(),
            found: Version::new(2).unwrap()
        }
    );
    assert_eq!(err.attack_code(), AttackCode::ROLLBACK);
}

#[test]
fn uptane_check_targets_4_rollback_reference_survives_a_restart() {
    let mut sim = director("VIN0001", 5);
    let old = targets_file(&sim);
    republish_targets(&mut sim);
    let stored = targets_file(&sim);
    let mut rebooted = partial(&sim);
    rebooted.restore_targets(&stored).unwrap();
    assert!(matches!(rebooted.update_targets(&old), Err(Error::Rollback { .. })));
    assert!(matches!(rebooted.image(0), Err(Error::OutOfOrder(_))), "restored metadata is a reference, not an update");
}

#[test]
fn uptane_check_targets_6_expired_director_targets_are_refused() {
    let mut sim = director("VIN0001", 5);
    sim.targets.get_mut(&RoleName::targets()).unwrap().common.expires = expires_in(now(), -1);
    republish_targets(&mut sim);
    let err = partial(&sim).update_targets(&targets_file(&sim)).unwrap_err();
    assert!(matches!(err, Error::Expired { .. }));
    assert_eq!(err.attack_code(), AttackCode::FREEZE);
}

#[test]
fn uptane_check_targets_7_director_targets_must_not_delegate() {
    let mut sim = director("VIN0001", 5);
    sim.delegate(&RoleName::targets(), "sneaky", metadata_schemas::PathSpec::Patterns(vec!["*".into()]), false, 1, 1);
    sim.publish();
    let err = partial(&sim).update_targets(&targets_file(&sim)).unwrap_err();
    assert_eq!(err, Error::DirectorDelegates);
}

#[test]
fn uptane_check_targets_8_each_ecu_is_listed_at_most_once() {
    let mut sim = director("VIN0001", 5);
    sim.add_target(
        &RoleName::targets(),
        "brake/other.bin",
        b"other",
        Some(director_custom("brake-ecu-1", "brake-hw-a", 6)),
    );
    republish_targets(&mut sim);
    let err = partial(&sim).update_targets(&targets_file(&sim)).unwrap_err();
    assert_eq!(err, Error::AmbiguousImages { ecu: ecu().serial });
}

#[test]
fn uptane_verify_image_3_image_for_other_hardware_is_refused() {
    let mut sim = director("VIN0001", 5);
    let t = sim.targets.get_mut(&RoleName::targets()).unwrap();
    t.targets.clear();
    sim.add_target(
        &RoleName::targets(),
        "brake/fw-2.bin",
        IMAGE,
        Some(director_custom("brake-ecu-1", "brake-hw-b", 5)),
    );
    republish_targets(&mut sim);
    let mut verifier = partial(&sim);
    verifier.update_targets(&targets_file(&sim)).unwrap();
    let err = verifier.image(0).unwrap_err();
    assert!(matches!(err, Error::WrongHardware { .. }), "{err}");
    assert_eq!(err.attack_code(), AttackCode::WRONG_TARGET);
}

#[test]
fn uptane_verify_image_5_release_counter_rollback_is_refused() {
    let sim = director("VIN0001", 5);
    let mut verifier = partial(&sim);
    verifier.update_targets(&targets_file(&sim)).unwrap();
    assert!(verifier.image(5).unwrap().is_some(), "the same counter is not a rollback");
    let err = verifier.image(6).unwrap_err();
    assert!(matches!(err, Error::ReleaseCounterRollback { installed: 6, offered: 5, .. }), "{err}");
    assert_eq!(err.attack_code(), AttackCode::ROLLBACK);
}

#[test]
fn director_targets_for_another_vehicle_are_refused() {
    let sim = director("VIN9999", 5);
    let err = partial(&sim).update_targets(&targets_file(&sim)).unwrap_err();
    assert!(matches!(err, Error::WrongVehicle { .. }), "{err}");
}

#[test]
fn director_targets_without_a_vehicle_id_are_refused() {
    let mut sim = director("VIN0001", 5);
    sim.targets.get_mut(&RoleName::targets()).unwrap().unknown = Default::default();
    republish_targets(&mut sim);
    let err = partial(&sim).update_targets(&targets_file(&sim)).unwrap_err();
    assert!(matches!(err, Error::Malformed { .. }), "{err}");
    assert!(err.to_string().contains("custom: missing"), "{err}");
}

#[test]
fn uptane_check_root_partial_verifier_follows_director_root_rotation() {
    let mut sim = director("VIN0001", 5);
    sim.replace_role_keys(&RoleName::targets(), vec![repo_simulator::new_key()], 1);
    sim.publish_root();
    republish_targets(&mut sim);
    let mut verifier = partial(&sim);
    let err = verifier.update_targets(&targets_file(&sim)).unwrap_err();
    assert!(matches!(err, Error::Unsigned { .. }), "old root does not know the new targets key: {err}");
    verifier.update_root(&sim.file("2.root.json")).unwrap();
    verifier.update_targets(&targets_file(&sim)).unwrap();
}

// --- full verification ---

/// An image repository listing `IMAGE` for hardware `hw` with `counter`.
fn image_repo(hw: &str, counter: u64, content: &[u8]) -> RepoSim {
    let mut sim = RepoSim::new(now());
    let custom = object(&[
        ("hardware_identifiers", Value::Array(vec![Value::string("other-hw"), Value::string(hw.to_string())])),
        ("release_counter", Value::unsigned(counter)),
    ]);
    sim.add_target(&RoleName::targets(), "brake/fw-2.bin", content, Some(custom));
    sim.publish();
    sim
}

fn full_check(director_sim: &RepoSim, image_sim: &RepoSim) -> Result<(), Error> {
    let mut director_client = Client::new(director_sim.file("1.root.json"));
    let director = director_client.refresh(&director_sim.files, now())?;
    let director_targets = director.targets().unwrap();
    update_verifier::uptane::check_director_targets(director_targets, &ecu().vin)?;
    let image = update_verifier::uptane::image_for_ecu(director_targets, &ecu(), 0)?.unwrap();
    let mut image_client = Client::new(image_sim.file("1.root.json"));
    let mut images = image_client.refresh(&image_sim.files, now())?;
    let found = image_client.find(&mut images, &image_sim.files, image.path.as_str())?;
    check_against_image_repository(&image, found.as_ref())
}

#[test]
fn uptane_full_verification_accepts_agreeing_repositories() {
    full_check(&director("VIN0001", 5), &image_repo("brake-hw-a", 5, IMAGE)).unwrap();
}

#[test]
fn uptane_full_verification_11_1_image_must_be_in_the_image_repository() {
    let mut images = RepoSim::new(now());
    images.publish();
    let err = full_check(&director("VIN0001", 5), &images).unwrap_err();
    assert!(matches!(err, Error::NotInImageRepository { .. }), "{err}");
    assert_eq!(err.attack_code(), AttackCode::REPOSITORY_MISMATCH);
}

#[test]
fn uptane_full_verification_11_2_1_length_and_hashes_must_match() {
    let err = full_check(&director("VIN0001", 5), &image_repo("brake-hw-a", 5, b"a different image")).unwrap_err();
    assert!(matches!(err, Error::RepositoryMismatch { field: "length" | "hashes", .. }), "{err}");
}

#[test]
fn uptane_full_verification_11_2_2_hardware_identifier_must_match() {
    let err = full_check(&director("VIN0001", 5), &image_repo("brake-hw-z", 5, IMAGE)).unwrap_err();
    assert_eq!(err, Error::RepositoryMismatch { path: "brake/fw-2.bin".into(), field: "hardware identifier" });
}

#[test]
fn uptane_full_verification_11_2_2_release_counter_must_match() {
    let err = full_check(&director("VIN0001", 5), &image_repo("brake-hw-a", 4, IMAGE)).unwrap_err();
    assert_eq!(err, Error::RepositoryMismatch { path: "brake/fw-2.bin".into(), field: "release counter" });
}

#[test]
fn uptane_full_verification_compares_plaintext_of_encrypted_images() {
    // An encrypted entry lists the plaintext's length and hashes, as the image repository
    // does; the ciphertext's are in its encryption block.
    let mut sim = RepoSim::new(now());
    let t = sim.targets.get_mut(&RoleName::targets()).unwrap();
    t.unknown.0.insert("custom", object(&[("vin", Value::string("VIN0001"))]));
    let hex = |byte: &str, n: usize| Value::string(byte.repeat(n));
    let ciphertext_hashes = object(&[("sha256", hex("ab", 32))]);
    let content = object(&[
        ("alg", Value::string("aes-128-ctr")),
        ("iv", hex("01", 16)),
        ("filename", Value::string("brake/fw-2.bin.brake-ecu-1.enc")),
        ("length", Value::unsigned(IMAGE.len() as u64)),
        ("hashes", ciphertext_hashes),
    ]);
    let key = object(&[
        ("alg", Value::string("x25519-hkdf-sha256-a128kw")),
        ("ecu_key_id", hex("cd", 32)),
        ("epk", hex("ef", 32)),
        ("wrapped_cek", hex("12", 24)),
    ]);
    let encryption = object(&[("version", Value::unsigned(1)), ("content", content), ("key", key)]);
    let Value::Object(mut custom) = director_custom("brake-ecu-1", "brake-hw-a", 5) else { unreachable!() };
    custom.insert("encryption", encryption);
    sim.add_target(&RoleName::targets(), "brake/fw-2.bin", IMAGE, Some(Value::Object(custom)));
    sim.publish();
    full_check(&sim, &image_repo("brake-hw-a", 5, IMAGE)).unwrap();
    let err = full_check(&sim, &image_repo("brake-hw-a", 5, b"another plaintext")).unwrap_err();
    assert!(matches!(err, Error::RepositoryMismatch { .. }), "{err}");
}
