//! The factory image is signed like any update: the image repository's `recovery` role,
//! delegated by its top-level targets, lists it for the ECU's hardware. Only then is it
//! recorded, and only if the factory region holds exactly those bytes.

mod common;

use client_embedded::{Device, FactoryImage, FactoryProof, Layout, UpdateError};
use common::{Ecu, FACTORY, Flash, factory_info, identity, now};
use metadata_schemas::json::Value;
use metadata_schemas::{PathSpec, RoleName};
use repo_simulator::RepoSim;

fn layout() -> Layout {
    Layout::contiguous(0, 4096, 64 * 1024, 4096, 16384, false).with_factory(4096, 64 * 1024)
}

fn custom(hardware: &str) -> Value<'static> {
    common::object(vec![
        ("hardware_identifiers", Value::Array(vec![Value::string(hardware.to_string())])),
        ("release_counter", Value::unsigned(1)),
    ])
}

/// An image repository whose `recovery` role (paths `recovery/*/*`) lists the factory
/// image for `hardware`; top-level targets list another copy under `brake/`.
fn images(hardware: &str) -> RepoSim {
    let mut sim = RepoSim::new(now());
    let recovery =
        sim.delegate(&RoleName::targets(), "recovery", PathSpec::Patterns(vec!["recovery/*/*".into()]), true, 1, 1);
    sim.add_target(&recovery, "recovery/brake-hw-a/factory.bin", FACTORY, Some(custom(hardware)));
    sim.add_target(&RoleName::targets(), "brake/factory.bin", FACTORY, Some(custom("brake-hw-a")));
    sim.publish();
    sim
}

fn device(region: &[u8]) -> Device<Flash> {
    let mut flash = Flash::new(layout().end() as usize / 4096);
    flash.program(0, FACTORY);
    flash.program(layout().factory.start as usize, region);
    Device::provision(flash, layout(), FactoryImage { info: factory_info(), name: b"brake/factory.bin" }).unwrap()
}

fn provision(
    sim: &RepoSim,
    device: &mut Device<Flash>,
    path: &str,
) -> Result<(), UpdateError<client_embedded::sim::SimError>> {
    let file = |role: &str| {
        sim.file(
            &RoleName::new(role)
                .unwrap()
                .versioned_file_name(sim.targets[&RoleName::new(role).unwrap()].common.version),
        )
    };
    let snapshot = sim.file(&RoleName::snapshot().versioned_file_name(sim.snapshot.common.version));
    let proof = FactoryProof {
        image_root: &sim.file("1.root.json"),
        timestamp: &sim.file("timestamp.json"),
        snapshot: &snapshot,
        targets: &file("targets"),
        recovery: &file("recovery"),
        path,
        now: now().timestamp() as u64,
    };
    Ecu::provision_factory(device, &identity(), &proof, &mut [0u8; 4096])
}

#[test]
fn a_factory_image_the_recovery_role_signs_for_this_hardware_is_recorded() {
    let sim = images("brake-hw-a");
    let mut device = device(FACTORY);
    provision(&sim, &mut device, "recovery/brake-hw-a/factory.bin").unwrap();
    assert_eq!(device.state().factory.map(|f| f.sha256), Some(factory_info().sha256));
}

#[test]
fn a_factory_image_the_recovery_role_does_not_sign_is_refused() {
    let sim = images("brake-hw-a");
    let mut device = device(FACTORY);
    let err = provision(&sim, &mut device, "brake/factory.bin").unwrap_err();
    assert!(matches!(err, UpdateError::Verification(update_verifier::Error::NotDelegated { .. })), "{err:?}");
    assert_eq!(device.state().factory, None);
}

#[test]
fn a_factory_image_for_other_hardware_is_refused() {
    let sim = images("door-hw");
    let mut device = device(FACTORY);
    let err = provision(&sim, &mut device, "recovery/brake-hw-a/factory.bin").unwrap_err();
    assert!(matches!(err, UpdateError::Verification(update_verifier::Error::WrongHardware { .. })), "{err:?}");
    assert_eq!(device.state().factory, None);
}

#[test]
fn a_factory_region_whose_bytes_differ_from_the_signed_image_is_refused() {
    let sim = images("brake-hw-a");
    let mut other = FACTORY.to_vec();
    other[0] ^= 1;
    let mut device = device(&other);
    let err = provision(&sim, &mut device, "recovery/brake-hw-a/factory.bin").unwrap_err();
    assert!(matches!(err, UpdateError::Device(client_embedded::Error::ImageMismatch)), "{err:?}");
    assert_eq!(device.state().factory, None);
}
