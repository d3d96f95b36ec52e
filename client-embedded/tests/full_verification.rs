//! Full verification on the secondary (Uptane full_verification): the image repository's
//! root, timestamp, snapshot and targets are verified and kept across cycles, and the
//! director's image must be the one the image repository lists.

mod common;

use client_embedded::sim::SimFlash;
use client_embedded::{Device, Ed25519EcuKey, FactoryImage, ImageInfo, Layout, Secondary};
use common::{Director, FACTORY, SEED, identity, now};
use metadata_schemas::RoleName;
use metadata_schemas::json::{Object, Value};
use metadata_schemas::uptane::AttackCode;
use repo_simulator::RepoSim;
use update_verifier::Limits;

type Flash = SimFlash<8, 4096>;
type Ecu = Secondary<Flash, Ed25519EcuKey>;

fn layout() -> Layout {
    Layout::contiguous(0, 4096, 65536, 4096, 16384, true)
}

/// An image repository listing `content` as `path` for brake-hw-a with `counter`.
fn image_repository(path: &str, content: &[u8], counter: u64) -> RepoSim {
    let mut sim = RepoSim::new(now());
    let mut custom = Object::new();
    custom.insert("hardware_identifiers", Value::Array(vec![Value::string("brake-hw-a")]));
    custom.insert("release_counter", Value::unsigned(counter));
    sim.add_target(&RoleName::targets(), path, content, Some(Value::Object(custom)));
    sim.publish();
    sim
}

fn files(sim: &RepoSim) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let snapshot = sim.file(&RoleName::snapshot().versioned_file_name(sim.snapshot.common.version));
    let targets = sim.file(&RoleName::targets().versioned_file_name(sim.targets[&RoleName::targets()].common.version));
    (sim.file("timestamp.json"), snapshot, targets)
}

fn provisioned(director: &Director, images: &RepoSim) -> Ecu {
    let mut flash = Flash::new(layout().end() as usize / 4096);
    flash.program(0, FACTORY);
    let info = ImageInfo {
        length: FACTORY.len() as u32,
        sha256: threshold_keys::digest::sha256(FACTORY),
        release_counter: 1,
        targets_version: 0,
    };
    let mut device = Device::provision(flash, layout(), FactoryImage { info, name: b"factory" }).unwrap();
    let scratch = &mut vec![0u8; 16384];
    Ecu::provision_root(&mut device, &identity(), &director.root(), scratch).unwrap();
    Ecu::provision_image_root(&mut device, &images.file("1.root.json"), scratch).unwrap();
    device.boot(&mut [0u8; 256]).unwrap();
    Secondary::open(device, identity(), Ed25519EcuKey::from_seed(&SEED), Limits::default())
}

/// Image repository metadata, then director targets and the image; the first refusal.
fn update(ecu: &mut Ecu, images: &RepoSim, director_targets: &[u8], image: &[u8]) -> Result<(), AttackCode> {
    let scratch = &mut vec![0u8; 16384];
    let (timestamp, snapshot, targets) = files(images);
    if ecu.start_cycle(now().timestamp() as u64, scratch).is_err() {
        return Err(ecu.attack());
    }
    let accepted = ecu.put_image_timestamp(&timestamp, scratch).is_ok()
        && ecu.put_image_snapshot(&snapshot, scratch).is_ok()
        && ecu.put_image_targets(&targets, scratch).is_ok()
        && ecu.put_targets(director_targets, scratch).is_ok();
    if !accepted {
        return Err(ecu.attack());
    }
    let ok = ecu.begin_image().is_ok() && image.chunks(100).all(|c| ecu.put_chunk(c).is_ok()) && ecu.activate().is_ok();
    if ok { Ok(()) } else { Err(ecu.attack()) }
}

#[test]
fn uptane_full_verification_installs_when_both_repositories_agree() {
    let image = b"brake firmware v2";
    let mut director = Director::new();
    let images = image_repository("brake/fw-2.bin", image, 2);
    let mut ecu = provisioned(&director, &images);
    let targets = director.assign(image, "brake-ecu-1", "brake-hw-a", 2);
    update(&mut ecu, &images, &targets, image).unwrap();
}

#[test]
fn uptane_full_verification_11_1_image_missing_from_the_image_repository_is_refused() {
    let image = b"brake firmware v2";
    let mut director = Director::new();
    let images = image_repository("brake/other.bin", image, 2);
    let mut ecu = provisioned(&director, &images);
    let targets = director.assign(image, "brake-ecu-1", "brake-hw-a", 2);
    assert_eq!(update(&mut ecu, &images, &targets, image), Err(AttackCode::REPOSITORY_MISMATCH));
}

#[test]
fn uptane_full_verification_11_2_director_and_image_repository_must_agree_on_the_hashes() {
    let mut director = Director::new();
    let images = image_repository("brake/fw-2.bin", b"what the image repository signed", 2);
    let mut ecu = provisioned(&director, &images);
    let targets = director.assign(b"what the director says instead!!", "brake-ecu-1", "brake-hw-a", 2);
    let result = update(&mut ecu, &images, &targets, b"what the director says instead!!");
    assert_eq!(result, Err(AttackCode::REPOSITORY_MISMATCH));
}

#[test]
fn uptane_full_verification_image_repository_rollback_is_refused_across_cycles() {
    let image = b"brake firmware v2";
    let mut director = Director::new();
    let mut images = image_repository("brake/fw-2.bin", image, 2);
    let old = files(&images);
    images.publish(); // timestamp v2, snapshot v2
    let mut ecu = provisioned(&director, &images);
    let targets = director.assign(image, "brake-ecu-1", "brake-hw-a", 2);
    update(&mut ecu, &images, &targets, image).unwrap();
    let scratch = &mut vec![0u8; 16384];
    ecu.start_cycle(now().timestamp() as u64, scratch).unwrap();
    assert!(ecu.put_image_timestamp(&old.0, scratch).is_err(), "the kept timestamp is the rollback reference");
    assert_eq!(ecu.attack(), AttackCode::ROLLBACK);
}

/// An image repository that lists `content` as `path` only in a delegated role `bin`
/// (as hash bins do); the delegated role's published file.
fn delegated_repository(path: &str, content: &[u8]) -> (RepoSim, Vec<u8>) {
    let mut sim = RepoSim::new(now());
    let spec = metadata_schemas::PathSpec::Patterns(vec!["brake/*".into()]);
    let bin = sim.delegate(&RoleName::targets(), "brake-bin", spec, true, 1, 1);
    let mut custom = Object::new();
    custom.insert("hardware_identifiers", Value::Array(vec![Value::string("brake-hw-a")]));
    custom.insert("release_counter", Value::unsigned(2));
    sim.add_target(&bin, path, content, Some(Value::Object(custom)));
    sim.publish();
    let file = sim.file(&bin.versioned_file_name(sim.targets[&bin].common.version));
    (sim, file)
}

/// `update` with the delegated role handed over after the top-level targets.
fn update_delegated(
    ecu: &mut Ecu,
    images: &RepoSim,
    role: &[u8],
    targets: &[u8],
    image: &[u8],
) -> Result<(), AttackCode> {
    let scratch = &mut vec![0u8; 16384];
    let (timestamp, snapshot, top) = files(images);
    ecu.start_cycle(now().timestamp() as u64, scratch).unwrap();
    let accepted = ecu.put_image_timestamp(&timestamp, scratch).is_ok()
        && ecu.put_image_snapshot(&snapshot, scratch).is_ok()
        && ecu.put_image_targets(&top, scratch).is_ok()
        && ecu.put_image_delegation("brake-bin", role).is_ok()
        && ecu.put_targets(targets, scratch).is_ok();
    if !accepted {
        return Err(ecu.attack());
    }
    let ok = ecu.begin_image().is_ok() && image.chunks(100).all(|c| ecu.put_chunk(c).is_ok()) && ecu.activate().is_ok();
    if ok { Ok(()) } else { Err(ecu.attack()) }
}

#[test]
fn uptane_full_verification_finds_the_image_through_the_image_repositorys_delegations() {
    let image = b"brake firmware v2";
    let mut director = Director::new();
    let (images, role) = delegated_repository("brake/fw-2.bin", image);
    let mut ecu = provisioned(&director, &images);
    let targets = director.assign(image, "brake-ecu-1", "brake-hw-a", 2);
    update_delegated(&mut ecu, &images, &role, &targets, image).unwrap();
}

#[test]
fn uptane_full_verification_a_delegated_role_not_signed_by_its_delegator_is_refused() {
    let image = b"brake firmware v2";
    let mut director = Director::new();
    let (images, role) = delegated_repository("brake/fw-2.bin", image);
    let mut ecu = provisioned(&director, &images);
    let targets = director.assign(image, "brake-ecu-1", "brake-hw-a", 2);
    // The same role signed by a key the top-level targets do not delegate to.
    let mut forged: serde_json::Value = serde_json::from_slice(&role).unwrap();
    let text = serde_json::to_string(&forged["signed"]).unwrap();
    let signed = metadata_schemas::json::parse(text.as_bytes()).unwrap();
    let key = repo_simulator::new_key();
    let signature = threshold_keys::Signer::sign(&key, &metadata_schemas::json::to_canonical(&signed)).unwrap();
    forged["signatures"] = serde_json::json!([{"keyid": signature.keyid.as_str(), "sig": signature.sig}]);
    let forged = serde_json::to_vec(&forged).unwrap();
    let result = update_delegated(&mut ecu, &images, &forged, &targets, image);
    assert_eq!(result, Err(AttackCode::BAD_SIGNATURE));
    // Without the role the image cannot be found at all.
    let result = update(&mut ecu, &images, &targets, image);
    assert_eq!(result, Err(AttackCode::INCOMPLETE));
}
