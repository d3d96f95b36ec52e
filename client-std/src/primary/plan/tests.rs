use chrono::{TimeZone, Utc};
use metadata_schemas::json::{Object, Value};
use metadata_schemas::{RoleName, TargetFile};
use repo_simulator::RepoSim;
use update_verifier::Limits;
use update_verifier::uptane::PartialVerifier;

use super::*;

const IMAGE: &[u8] = b"brake firmware 2";

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap()
}

fn object(pairs: &[(&'static str, Value<'static>)]) -> Value<'static> {
    let mut o = Object::new();
    for (k, v) in pairs {
        o.insert(*k, v.clone());
    }
    Value::Object(o)
}

fn vin() -> Vin {
    Vin::new("VIN0001").unwrap()
}

/// Verified director targets assigning `IMAGE` (release counter 2) to brake-1.
fn director_targets() -> Verified<Targets> {
    let mut sim = RepoSim::new(now());
    let targets = sim.targets.get_mut(&RoleName::targets()).unwrap();
    targets.unknown.0.insert("custom", object(&[("vin", Value::string("VIN0001".to_string()))]));
    let custom = object(&[
        ("ecu_identifier", Value::string("brake-1".to_string())),
        ("hardware_identifier", Value::string("brake-hw".to_string())),
        ("release_counter", Value::unsigned(2)),
    ]);
    sim.add_target(&RoleName::targets(), "brake/fw-2.bin", IMAGE, Some(custom));
    sim.publish();
    let identity = EcuIdentity {
        vin: vin(),
        serial: EcuSerial::new("brake-1").unwrap(),
        hardware_id: HardwareId::new("brake-hw").unwrap(),
    };
    let mut verifier = PartialVerifier::new(&sim.file("1.root.json"), identity, now(), Limits::default()).unwrap();
    let version = sim.targets[&RoleName::targets()].common.version;
    verifier.update_targets(&sim.file(&RoleName::targets().versioned_file_name(version))).unwrap();
    verifier.targets().unwrap().clone()
}

/// The image repository's entry for `IMAGE` with release counter `counter`.
fn listed(counter: u64) -> TargetInfo {
    let targets = director_targets();
    let director_file = &targets.targets[&TargetPath::from("brake/fw-2.bin")];
    let custom = object(&[
        ("hardware_identifiers", Value::Array(vec![Value::string("brake-hw".to_string())])),
        ("release_counter", Value::unsigned(counter)),
    ]);
    TargetInfo {
        path: "brake/fw-2.bin".into(),
        file: TargetFile { custom: Some(custom), ..director_file.clone() },
        role: RoleName::targets(),
    }
}

fn brake(installed: Option<[u8; 32]>) -> Reported {
    Reported {
        serial: EcuSerial::new("brake-1").unwrap(),
        hardware_id: HardwareId::new("brake-hw"),
        installed_sha256: installed,
        report: Value::Null,
        destination: Destination::Secondary { address: "127.0.0.1:1".into(), full: false },
        release_floor: 0,
    }
}

fn listing(entry: Option<TargetInfo>) -> ImageRepositoryListing {
    BTreeMap::from([(TargetPath::from("brake/fw-2.bin"), entry)])
}

#[test]
fn an_ecu_the_director_directs_gets_its_image_when_both_repositories_agree() {
    let plan = plan(&director_targets(), &vin(), &listing(Some(listed(2))), &brake(None));
    let EcuPlan::Install { image, listed } = plan else { panic!("{plan:?}") };
    assert_eq!(image.path.as_str(), "brake/fw-2.bin");
    assert_eq!(listed.file.length, IMAGE.len() as u64);
}

#[test]
fn an_ecu_that_already_runs_the_image_is_up_to_date() {
    let installed = threshold_keys::digest::sha256(IMAGE);
    let plan = plan(&director_targets(), &vin(), &listing(Some(listed(2))), &brake(Some(installed)));
    assert!(matches!(plan, EcuPlan::UpToDate), "{plan:?}");
}

#[test]
fn an_ecu_the_director_does_not_name_is_up_to_date() {
    let mut wiper = brake(None);
    wiper.serial = EcuSerial::new("wiper-1").unwrap();
    assert!(matches!(plan(&director_targets(), &vin(), &listing(None), &wiper), EcuPlan::UpToDate));
}

#[test]
fn an_image_the_image_repository_does_not_list_is_refused() {
    let plan = plan(&director_targets(), &vin(), &listing(None), &brake(None));
    let EcuPlan::Failed(EcuFailure::ImageRepository(e)) = plan else { panic!("{plan:?}") };
    assert!(matches!(e, update_verifier::Error::NotInImageRepository { .. }), "{e:?}");
}

#[test]
fn an_image_whose_release_counter_differs_between_the_repositories_is_refused() {
    let plan = plan(&director_targets(), &vin(), &listing(Some(listed(3))), &brake(None));
    let EcuPlan::Failed(EcuFailure::ImageRepository(e)) = plan else { panic!("{plan:?}") };
    assert!(matches!(e, update_verifier::Error::RepositoryMismatch { field: "release counter", .. }), "{e:?}");
}

#[test]
fn an_image_repository_that_could_not_be_searched_fails_only_that_ecu() {
    let plan = plan(&director_targets(), &vin(), &BTreeMap::new(), &brake(None));
    assert!(matches!(plan, EcuPlan::Failed(EcuFailure::ImageRepositoryUnavailable)), "{plan:?}");
}

#[test]
fn an_ecu_without_a_hardware_id_cannot_be_planned() {
    let mut silent = brake(None);
    silent.hardware_id = None;
    let plan = plan(&director_targets(), &vin(), &listing(Some(listed(2))), &silent);
    assert!(matches!(plan, EcuPlan::Failed(EcuFailure::BadIdentity)), "{plan:?}");
}

#[test]
fn roots_go_oldest_first_from_the_one_after_the_ecus() {
    assert_eq!(roots_to_send(1, 3).collect::<Vec<_>>(), [2, 3]);
    assert_eq!(roots_to_send(3, 3).count(), 0);
    assert_eq!(roots_to_send(4, 3).count(), 0, "an ECU ahead of the primary gets none");
    assert_eq!(roots_to_send(0, 3).count(), 0, "an unprovisioned ECU gets none");
    assert_eq!(roots_to_send(u64::MAX, u64::MAX).count(), 0);
}
