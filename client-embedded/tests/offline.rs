//! Offline updates and recovery on the MCU: a bundle carried over the secondary protocol
//! (USB stick, SD card or serial on the primary's side, or the recovery loader's own
//! channel) goes through the same checks as an online update; with both slots corrupted
//! the factory image boots and installs the current image from a bundle; power cuts at
//! every flash operation of that recovery upload leave the factory image or the new
//! trial, and the upload resumes.

mod common;

use chrono::{DateTime, Duration, Utc};
use client_embedded::protocol::{Request, Response, serve};
use client_embedded::sim::Cut;
use client_embedded::{BootDecision, Device, Ed25519EcuKey, FactoryImage, Layout, Secondary, Slot, SlotStatus};
use common::{Director, Ecu, FACTORY, Flash, SEED, factory_info, identity, now};
use metadata_schemas::uptane::AttackCode;
use repo_simulator::offline::OfflineSpec;
use threshold_keys::KeyFileSigner;
use update_verifier::Limits;

const IMAGE: &[u8] = b"brake controller firmware 3, from a bundle on a USB stick";

fn layout() -> Layout {
    Layout::contiguous(0, 4096, 64 * 1024, 4096, 16384, false).with_factory(4096, 64 * 1024)
}

/// A director whose root names an offline key; that key.
fn director() -> (Director, KeyFileSigner) {
    let mut director = Director::new();
    let key = director.sim.add_offline_key();
    (director, key)
}

/// An ECU running the first image from slot A, with the factory image in its region.
fn provisioned(director: &Director) -> Flash {
    let mut flash = Flash::new(layout().end() as usize / 4096);
    flash.program(layout().slots[0].start as usize, FACTORY);
    flash.program(layout().factory.start as usize, FACTORY);
    let factory = FactoryImage { info: factory_info(), name: b"brake/factory.bin" };
    let mut device = Device::provision(flash, layout(), factory).unwrap();
    device.record_factory(factory_info(), &mut [0u8; 256]).unwrap();
    Ecu::provision_root(&mut device, &identity(), &director.root(), &mut vec![0; 16384]).unwrap();
    device.into_flash()
}

/// A reset: the bootloader's decision, and the application (or the factory image, or
/// the recovery loader) opening the secondary.
fn power_up(flash: Flash) -> (BootDecision, Ecu) {
    let mut device = Device::open(flash, layout()).unwrap();
    let decision = device.boot(&mut [0u8; 256]).unwrap();
    (decision, Secondary::open(device, identity(), Ed25519EcuKey::from_seed(&SEED), Limits::default()))
}

/// Sends a request the way the primary (or a recovery tool) does: encoded, framed, served.
fn call(ecu: &mut Ecu, request: Request<'_>) -> Response {
    serve(ecu, request, &mut vec![0u8; 16384])
}

/// Offers a bundle at time `at`, then sends the image and activates it.
fn install(ecu: &mut Ecu, bundle: &(Vec<u8>, Vec<u8>), image: &[u8], at: DateTime<Utc>) -> Response {
    install_from(ecu, bundle, image, at).0
}

/// [`install`], with the offset the image was sent from (above 0 when it resumed).
fn install_from(ecu: &mut Ecu, bundle: &(Vec<u8>, Vec<u8>), image: &[u8], at: DateTime<Utc>) -> (Response, usize) {
    assert_eq!(call(ecu, Request::StartCycle(at.timestamp() as u64)), Response::Ok);
    match call(ecu, Request::PutOffline { snapshot: &bundle.0, targets: &bundle.1 }) {
        Response::Assigned(Some(len)) => assert_eq!(len as usize, image.len()),
        other => return (other, 0),
    }
    let from = match call(ecu, Request::BeginImage) {
        Response::Ok => 0,
        Response::ContinueFrom(at) => at as usize,
        other => return (other, 0),
    };
    for chunk in image[from..].chunks(1000) {
        if let refused @ Response::Refused(_) = call(ecu, Request::ImageChunk(chunk)) {
            return (refused, from);
        }
    }
    (call(ecu, Request::Activate), from)
}

fn spec(counter: u64) -> OfflineSpec {
    OfflineSpec::new(now(), "brake/fw-3.bin", IMAGE, "brake-hw-a", counter)
}

/// Resets into the new image's trial, confirms it, and resets again: it boots confirmed.
fn trial_and_confirm(ecu: Ecu) -> Ecu {
    let (decision, mut ecu) = power_up(ecu.into_device().into_flash());
    assert!(matches!(decision, BootDecision::Boot { trial: true, .. }), "{decision:?}");
    assert_eq!(call(&mut ecu, Request::Confirm), Response::Ok);
    let (decision, ecu) = power_up(ecu.into_device().into_flash());
    assert!(matches!(decision, BootDecision::Boot { trial: false, .. }), "{decision:?}");
    ecu
}

fn running(ecu: &mut Ecu) -> Option<String> {
    let slot = ecu.device().running()?;
    Some(String::from_utf8_lossy(ecu.device().state().slot(slot).name()).into_owned())
}

#[test]
fn a_bundle_over_the_secondary_protocol_installs_runs_as_a_trial_and_confirms() {
    let (director, key) = director();
    let (_, mut ecu) = power_up(provisioned(&director));
    assert_eq!(install(&mut ecu, &spec(3).sign(&key), IMAGE, now()), Response::Resetting);
    let mut ecu = trial_and_confirm(ecu);
    assert_eq!(running(&mut ecu).as_deref(), Some("brake/fw-3.bin"));
    let state = ecu.device().state();
    assert_eq!((state.floors.release_counter, state.offline_version), (3, 1));
    assert_eq!(state.latest_time, now().timestamp() as u64, "the time floor rose to the bundle's issue time");
}

#[test]
fn recovery_when_both_slots_are_corrupted_boots_the_factory_image_which_installs_from_a_bundle() {
    let (director, key) = director();
    let (_, mut ecu) = power_up(provisioned(&director));
    assert_eq!(install(&mut ecu, &spec(2).sign(&key), IMAGE, now()), Response::Resetting);
    let (_, mut ecu) = power_up(ecu.into_device().into_flash());
    assert_eq!(call(&mut ecu, Request::Confirm), Response::Ok);
    // Both slots rot: slot A (the first image, superseded) and slot B (the confirmed one).
    let mut flash = ecu.into_device().into_flash();
    for slot in layout().slots {
        let byte = flash.bytes()[slot.start as usize];
        flash.program(slot.start as usize, &[byte ^ 1]);
    }
    let (decision, mut ecu) = power_up(flash);
    assert_eq!(decision, BootDecision::Factory, "both slots are bad: the factory image");
    assert_eq!(ecu.device().state().slot(Slot::B).status, SlotStatus::Failed);
    assert_eq!(running(&mut ecu), None, "no slot runs");
    let newer = OfflineSpec { version: 2, ..spec(3) };
    assert_eq!(install(&mut ecu, &newer.sign(&key), IMAGE, now()), Response::Resetting);
    let mut ecu = trial_and_confirm(ecu);
    assert_eq!(running(&mut ecu).as_deref(), Some("brake/fw-3.bin"));
    assert_eq!(ecu.device().state().floors.release_counter, 3, "the factory image never lowered the floors");
}

/// Offers `bundle` to a freshly provisioned ECU; the refusal's attack code, and whether
/// the boot state stayed as it was.
fn refused(director: &Director, bundle: &(Vec<u8>, Vec<u8>), image: &[u8], at: DateTime<Utc>) -> (AttackCode, bool) {
    let (_, mut ecu) = power_up(provisioned(director));
    let before = *ecu.device().state();
    let Response::Refused(code) = install(&mut ecu, bundle, image, at) else { panic!("accepted") };
    let (decision, mut after) = power_up(ecu.into_device().into_flash());
    assert_eq!(decision, BootDecision::Boot { slot: Slot::A, trial: false }, "the running image stays");
    let same = after.device().state().slots == before.slots && after.device().state().floors == before.floors;
    (code, same)
}

#[test]
fn bundle_signed_by_a_key_the_root_does_not_delegate_is_refused_by_the_ecu() {
    let (director, _) = director();
    let other = repo_simulator::new_key();
    assert_eq!(refused(&director, &spec(3).sign(&other), IMAGE, now()), (AttackCode::BAD_SIGNATURE, true));
}

#[test]
fn expired_bundle_against_the_ecus_time_floor_is_refused() {
    let (director, key) = director();
    let old = OfflineSpec { issued: now() - Duration::days(60), expires: now() - Duration::days(30), ..spec(3) };
    assert_eq!(refused(&director, &old.sign(&key), IMAGE, now()), (AttackCode::FREEZE, true));
}

#[test]
fn bundle_for_another_hardware_id_or_vin_is_refused_by_the_ecu() {
    let (director, key) = director();
    let other_hardware = OfflineSpec::new(now(), "door/fw-3.bin", IMAGE, "door-hw", 3);
    assert_eq!(refused(&director, &other_hardware.sign(&key), IMAGE, now()), (AttackCode::WRONG_TARGET, true));
    let other_vin = OfflineSpec { allowed_vins: Some(vec!["VIN0002".into()]), ..spec(3) };
    assert_eq!(refused(&director, &other_vin.sign(&key), IMAGE, now()), (AttackCode::WRONG_TARGET, true));
}

#[test]
fn bundle_that_lowers_a_release_counter_is_refused_by_the_ecu() {
    let (director, key) = director();
    // The factory image in slot A runs at release counter 1.
    assert_eq!(refused(&director, &spec(0).sign(&key), IMAGE, now()), (AttackCode::ROLLBACK, true));
}

#[test]
fn bundle_with_a_tampered_image_is_refused_and_the_slot_stays_empty() {
    let (director, key) = director();
    let mut tampered = IMAGE.to_vec();
    tampered[5] ^= 1;
    let (code, _) = refused(&director, &spec(3).sign(&key), &tampered, now());
    assert_eq!(code, AttackCode::TAMPERED_IMAGE);
}

#[test]
fn replayed_older_bundle_after_a_newer_one_is_refused_by_the_ecu_across_resets() {
    let (director, key) = director();
    let (_, mut ecu) = power_up(provisioned(&director));
    let newer = OfflineSpec { version: 5, ..spec(3) };
    assert_eq!(install(&mut ecu, &newer.sign(&key), IMAGE, now()), Response::Resetting);
    let (_, mut ecu) = power_up(ecu.into_device().into_flash());
    assert_eq!(call(&mut ecu, Request::Confirm), Response::Ok);
    let (_, mut ecu) = power_up(ecu.into_device().into_flash());
    let older_image = b"brake firmware 4 from an older bundle with a later counter";
    let mut older = OfflineSpec::new(now(), "brake/fw-4.bin", older_image, "brake-hw-a", 4);
    older.version = 4;
    let Response::Refused(code) = install(&mut ecu, &older.sign(&key), older_image, now()) else { panic!("accepted") };
    assert_eq!(code, AttackCode::ROLLBACK);
}

/// A 9 KiB image (two whole sectors and a part) and its bundle.
fn long_image(key: &KeyFileSigner) -> (Vec<u8>, (Vec<u8>, Vec<u8>)) {
    let image: Vec<u8> = (0..9 * 1024 + 77).map(|i| (i % 251) as u8).collect();
    let bundle = OfflineSpec::new(now(), "brake/fw-3.bin", &image, "brake-hw-a", 3).sign(key);
    (image, bundle)
}

/// Cuts power at every flash operation of an upload of `bundle` into `base`, a device
/// that boots `waiting` (the factory image or the recovery loader). After each cut the
/// ECU boots `waiting` again or the new image as a trial, never anything unverified; the
/// upload started again resumes past the sectors it kept; the image then runs as a
/// trial, confirms, and boots byte for byte. The cut points tried and how many resumed.
fn sweep_upload(base: &Flash, waiting: BootDecision, image: &[u8], bundle: &(Vec<u8>, Vec<u8>)) -> (usize, usize) {
    let clean_ops = {
        let (_, mut ecu) = power_up(base.reboot());
        let before = ecu.device().flash().counters().operations;
        assert_eq!(install(&mut ecu, bundle, image, now()), Response::Resetting);
        ecu.device().flash().counters().operations - before
    };
    let (mut tried, mut resumed) = (0, 0);
    for op in 0..clean_ops {
        for how in [Cut::Before, Cut::Torn] {
            let (_, mut ecu) = power_up(base.reboot());
            let at = ecu.device().flash().counters().operations + op;
            ecu.device().flash().cut_at(at, how);
            assert!(matches!(install(&mut ecu, bundle, image, now()), Response::Refused(_)), "op {op} was cut");
            let (decision, mut ecu) = power_up(ecu.into_device().into_flash().reboot());
            if decision == waiting {
                // The upload starts again, past the sectors it kept.
                let (response, from) = install_from(&mut ecu, bundle, image, now());
                assert_eq!(response, Response::Resetting, "op {op}");
                assert_eq!(from % 4096, 0, "resumes at a sector boundary");
                resumed += usize::from(from > 0);
            } else {
                // The install record had landed: the new image is on trial (the reset in
                // `trial_and_confirm` gives it its second run).
                assert!(matches!(decision, BootDecision::Boot { trial: true, .. }), "op {op} {how:?}: {decision:?}");
            }
            let mut ecu = trial_and_confirm(ecu);
            let slot = ecu.device().running().unwrap();
            let start = layout().slots[slot.index()].start as usize;
            assert_eq!(&ecu.device().flash().bytes()[start..start + image.len()], image, "op {op}: byte for byte");
            tried += 1;
        }
    }
    (tried, resumed)
}

/// Power cut at every flash operation of a factory-image reinstall: with both slots bad,
/// the factory image takes the current image from a bundle (the bundle accepted, the
/// slot erased and written, the install recorded).
#[test]
fn power_cut_during_a_factory_image_reinstall_from_a_bundle_resumes_and_boots_verified() {
    let (director, key) = director();
    let (image, bundle) = long_image(&key);
    let mut flash = provisioned(&director);
    flash.program(layout().slots[0].start as usize, &[FACTORY[0] ^ 1]); // slot A rots: only the factory image is left
    let (decision, ecu) = power_up(flash.reboot());
    assert_eq!(decision, BootDecision::Factory);
    let (tried, resumed) = sweep_upload(&ecu.into_device().into_flash(), BootDecision::Factory, &image, &bundle);
    println!("{tried} cut points in a factory-image reinstall from a bundle; {resumed} resumed above 0");
    assert!(tried > 20 && resumed > 0, "{tried} {resumed}");
}

/// Power cut at every flash operation of a recovery upload: the application asked for
/// the recovery loader, which takes the bundle into the staging slot; the request ends
/// in the install's own record.
#[test]
fn power_cut_during_a_recovery_upload_resumes_and_boots_verified() {
    let (director, key) = director();
    let (image, bundle) = long_image(&key);
    let (_, mut ecu) = power_up(provisioned(&director));
    ecu.device().request_recovery().unwrap();
    let (decision, ecu) = power_up(ecu.into_device().into_flash());
    assert_eq!(decision, BootDecision::Recovery);
    let (tried, resumed) = sweep_upload(&ecu.into_device().into_flash(), BootDecision::Recovery, &image, &bundle);
    println!("{tried} cut points in a recovery upload; {resumed} resumed above 0");
    assert!(tried > 20 && resumed > 0, "{tried} {resumed}");
}
