//! The secondary's decommissioning on a simulated flash: the command both repositories
//! sign is acknowledged with a signed report carrying the nonce, recorded in one flash
//! record, and the key erased, at every start after too; one the image repository signs
//! differently is refused as an attack and changes nothing; a power cut before or in the
//! middle of every flash operation leaves the ECU decommissioned or not, never half, and
//! a second try finishes the job.

mod common;

use client_embedded::protocol::{Request, Response, serve};
use client_embedded::sim::Cut;
use common::*;
use metadata_schemas::RoleName;
use metadata_schemas::uptane::{AttackCode, DecommissionCommand, EraseItem, Vin, ack_nonce};
use metadata_schemas::{Encode, UtcTime};

const NONCE: &str = "5f0c3b9a7d1e4f2a8b6c0d9e3f1a2b4c";

fn command(nonce: &str) -> DecommissionCommand {
    DecommissionCommand {
        vin: Vin::new("VIN0001").unwrap(),
        nonce: nonce.into(),
        issued: UtcTime::new(now()),
        erase: EraseItem::ALL.to_vec(),
        unknown: Default::default(),
    }
}

/// Director targets carrying the decommission command, and no image.
fn commanding(director: &mut Director) -> Vec<u8> {
    let targets = director.sim.targets.get_mut(&RoleName::targets()).unwrap();
    targets.targets.clear();
    let custom = object(vec![
        ("vin", metadata_schemas::json::Value::string("VIN0001")),
        ("command", command(NONCE).encode().to_owned_value()),
    ]);
    targets.unknown.0.insert("custom", custom);
    director.sim.touch(&RoleName::targets());
    director.sim.publish();
    director.targets()
}

fn image_command(nonce: &str) -> Vec<u8> {
    metadata_schemas::json::to_canonical(&command(nonce).encode())
}

/// A cycle with the commanding targets, then the decommission request.
fn decommission(ecu: &mut Ecu, targets: &[u8], image_command: &[u8]) -> Result<Vec<u8>, String> {
    let scratch = &mut vec![0u8; 16384];
    ecu.start_cycle(now().timestamp() as u64, scratch).map_err(|e| format!("{e:?}"))?;
    assert_eq!(ecu.put_targets(targets, scratch).map_err(|e| format!("{e:?}"))?, None, "no image assigned");
    ecu.decommission(image_command).map_err(|e| format!("{e:?}"))
}

#[test]
fn a_decommission_both_repositories_sign_is_acknowledged_recorded_and_the_key_erased() {
    let mut director = Director::new();
    let mut ecu = provisioned(&director);
    let before = report(&mut ecu);
    let targets = commanding(&mut director);
    let ack = decommission(&mut ecu, &targets, &image_command(NONCE)).unwrap();
    // The acknowledgement is a version report signed with the key, before it was erased.
    let envelope = metadata_schemas::Envelope::parse(&ack).unwrap();
    let signed: metadata_schemas::uptane::EcuVersionReport = envelope.decode_signed().unwrap();
    assert_eq!(ack_nonce(signed.unknown.get("decommission_ack")).as_deref(), Some(NONCE));
    assert!(signed.report_counter > before.report_counter);
    let key = client_embedded::Ed25519EcuKey::from_seed(&SEED);
    let id = client_embedded::EcuKey::key_id(&key).clone();
    let check =
        threshold_keys::check_signed_by(&id, key.public_key(), &envelope.signatures, &envelope.canonical_signed());
    assert!(check.is_met(), "signed by the ECU key");

    assert!(ecu.is_decommissioned());
    assert!(ecu.version_report().is_err(), "an erased key signs nothing");
    let mut ecu = reset(ecu);
    assert!(ecu.is_decommissioned(), "the flash record outlives the reset");
    let scratch = &mut vec![0u8; 16384];
    assert_eq!(serve(&mut ecu, Request::GetVersionReport, scratch), Response::Decommissioned);
    assert_eq!(serve(&mut ecu, Request::StartCycle(0), scratch), Response::Decommissioned);
    assert!(matches!(serve(&mut ecu, Request::GetInfo, scratch), Response::Info(_)), "it still says who it is");
    assert_eq!(running_image(&mut ecu), FACTORY, "the factory image is kept");
}

#[test]
fn attack_decommission_the_image_repository_signs_with_another_nonce_is_refused_by_the_secondary() {
    let mut director = Director::new();
    let mut ecu = provisioned(&director);
    let targets = commanding(&mut director);
    let refused = decommission(&mut ecu, &targets, &image_command("a-nonce-of-another-decommissioning"));
    assert!(refused.is_err(), "{refused:?}");
    assert!(!ecu.is_decommissioned());
    let next = report(&mut ecu); // the key still signs
    assert_eq!(next.attacks_detected, AttackCode::REPOSITORY_MISMATCH);
    let garbage = decommission(&mut ecu, &targets, b"{");
    assert!(garbage.is_err() && !ecu.is_decommissioned());
}

#[test]
fn a_power_cut_at_every_flash_operation_of_a_decommissioning_leaves_it_whole_or_undone() {
    let mut director = Director::new();
    let base = provisioned(&director).into_device().into_flash();
    let targets = commanding(&mut director);
    // The operations one decommissioning takes, uncut.
    let mut whole = boot(base.reboot());
    let start = whole.device().flash().counters().operations;
    decommission(&mut whole, &targets, &image_command(NONCE)).unwrap();
    let operations = whole.device().flash().counters().operations - start;
    assert!(operations >= 1, "at least its record is written");
    for operation in 0..operations {
        for how in [Cut::Before, Cut::Torn] {
            let mut ecu = boot(base.reboot());
            let start = ecu.device().flash().counters().operations;
            ecu.device().flash().cut_at(start + operation, how);
            let cut = decommission(&mut ecu, &targets, &image_command(NONCE));
            let mut ecu = boot(ecu.into_device().into_flash().reboot()); // power comes back
            if !ecu.is_decommissioned() {
                assert!(cut.is_err(), "op {operation} {how:?}: not recorded, so not acknowledged");
                report(&mut ecu); // the key is whole
                decommission(&mut ecu, &targets, &image_command(NONCE)).unwrap();
                let ecu = reset(ecu);
                assert!(ecu.is_decommissioned(), "op {operation} {how:?}: the second try finishes");
            }
        }
    }
}
