//! Offline updates on a whole vehicle: a bundle on a USB stick updates the gateway and
//! both secondaries with the checks of an online update, the next online cycle tells the
//! director, which shows the vehicle as installed offline; bundles that must not install
//! change nothing.

#[path = "harness/mod.rs"]
mod harness;

use chrono::{Duration, Utc};
use client_std::primary::{EcuOutcome, Primary};
use harness::{Vehicle, firmware, offline_bundle, offline_updates_key};
use repo_simulator::offline::OfflineSpec;

const ALL_FW2: [&str; 3] = ["gateway/fw-2.bin", "brake/fw-2.bin", "wiper/fw-2.bin"];

fn spec(version: u64) -> OfflineSpec {
    let mut spec = OfflineSpec::new(Utc::now(), "unused", b"", "unused", 0);
    spec.version = version;
    spec
}

fn apply(vehicle: &Vehicle, bundle: &std::path::Path) -> Result<client_std::primary::CycleReport, client_std::Error> {
    Primary::open(vehicle.config.clone())?.offline(bundle, Utc::now())
}

#[test]
fn an_offline_bundle_updates_every_ecu_and_the_journal_reaches_the_director() {
    let vehicle = Vehicle::new(firmware());
    let key = offline_updates_key(&vehicle);
    let bundle = offline_bundle(&vehicle, "usb", &ALL_FW2, spec(1), &key);
    let report = apply(&vehicle, &bundle).unwrap();
    for serial in ["gateway-1", "brake-1", "wiper-1"] {
        assert!(matches!(report.ecus[serial], EcuOutcome::Installing(_)), "{serial}: {report:#?}");
    }
    // The next start of the primary (its own trial) and the ECUs' resets, then online.
    let reports = vehicle.until_done(4);
    let last = reports.last().unwrap();
    assert!(last.ecus.values().all(|o| o.is_up_to_date()), "{last:#?}");
    assert!(vehicle.running().values().all(|p| p.ends_with("/fw-2.bin")), "{:?}", vehicle.running());
    let status = vehicle.status();
    let installs = status["offline_installs"].as_array().unwrap();
    assert_eq!(installs.len(), 3, "{status:#}");
    assert!(installs.iter().all(|i| i["bundle"] == "bundle-1" && i["failure"].is_null()), "{installs:#?}");
    let events = vehicle.events();
    assert_eq!(events.iter().filter(|e| e["kind"] == "installed-offline").count(), 3, "{events:#?}");
    // Uploaded once: the journal is empty after the director took it.
    vehicle.cycle().unwrap();
    assert_eq!(vehicle.status()["offline_installs"].as_array().unwrap().len(), 3);
}

#[test]
fn offline_updates_are_off_unless_the_configuration_enables_them() {
    let mut vehicle = Vehicle::new(firmware());
    let key = offline_updates_key(&vehicle);
    let bundle = offline_bundle(&vehicle, "usb", &ALL_FW2, spec(1), &key);
    vehicle.config.offline.enabled = false;
    let err = apply(&vehicle, &bundle).unwrap_err();
    assert!(matches!(err, client_std::Error::OfflineDisabled), "{err}");
    assert!(err.to_string().contains("\"offline\": {\"enabled\": true}"), "{err}");
    assert!(vehicle.running().values().all(|p| p.contains("factory")));
}

#[test]
fn a_replayed_older_bundle_after_a_newer_one_is_refused_by_the_gateway() {
    let vehicle = Vehicle::new(firmware());
    let key = offline_updates_key(&vehicle);
    let newer = offline_bundle(&vehicle, "newer", &["brake/fw-2.bin"], spec(5), &key);
    assert!(matches!(apply(&vehicle, &newer).unwrap().ecus["brake-1"], EcuOutcome::Installing(_)));
    let older = offline_bundle(&vehicle, "older", &["brake/fw-1.bin"], spec(4), &key);
    let err = apply(&vehicle, &older).unwrap_err();
    assert!(matches!(err, client_std::Error::Verification(update_verifier::Error::Rollback { .. })), "{err}");
}

#[test]
fn a_bundle_signed_by_a_key_the_root_does_not_delegate_or_expired_changes_nothing() {
    let vehicle = Vehicle::new(firmware());
    let stranger = repo_simulator::new_key();
    let bundle = offline_bundle(&vehicle, "forged", &ALL_FW2, spec(1), &stranger);
    let err = apply(&vehicle, &bundle).unwrap_err();
    assert!(matches!(err, client_std::Error::Verification(update_verifier::Error::Unsigned { .. })), "{err}");
    let key = offline_updates_key(&vehicle);
    let mut old = spec(2);
    (old.issued, old.expires) = (Utc::now() - Duration::days(60), Utc::now() - Duration::days(1));
    let expired = offline_bundle(&vehicle, "expired", &ALL_FW2, old, &key);
    let err = apply(&vehicle, &expired).unwrap_err();
    assert!(matches!(err, client_std::Error::Verification(update_verifier::Error::Expired { .. })), "{err}");
    let state = &vehicle.config.state_dir;
    assert!(!state.join("offline-floor.json").exists() && !state.join("offline-journal.json").exists());
    assert!(vehicle.running().values().all(|p| p.contains("factory")));
}

#[test]
fn a_bundle_for_another_vehicle_or_with_a_tampered_image_installs_nothing_and_the_director_is_told() {
    let vehicle = Vehicle::new(firmware());
    let key = offline_updates_key(&vehicle);
    let mut elsewhere = spec(1);
    elsewhere.allowed_vins = Some(vec!["ANOTHER-VIN".into()]);
    let bundle = offline_bundle(&vehicle, "elsewhere", &ALL_FW2, elsewhere, &key);
    let report = apply(&vehicle, &bundle).unwrap();
    assert!(report.ecus.values().all(|o| matches!(o, EcuOutcome::Failed(_))), "{report:#?}");
    let tampered = offline_bundle(&vehicle, "tampered", &["brake/fw-2.bin"], spec(2), &key);
    let image = tampered.join("targets/brake/fw-2.bin");
    let mut bytes = std::fs::read(&image).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&image, bytes).unwrap();
    let report = apply(&vehicle, &tampered).unwrap();
    let EcuOutcome::Failed(why) = &report.ecus["brake-1"] else { panic!("{report:#?}") };
    assert!(why.to_string().contains("brake/fw-2.bin"), "{why}");
    assert!(vehicle.running().values().all(|p| p.contains("factory")), "{:?}", vehicle.running());
    vehicle.cycle().unwrap();
    let installs = vehicle.status()["offline_installs"].as_array().unwrap().clone();
    assert_eq!(installs.len(), 4, "{installs:#?}");
    assert!(installs.iter().all(|i| i["failure"].is_string()), "{installs:#?}");
}

#[test]
fn after_an_offline_install_the_director_stops_directing_the_image_it_replaced() {
    let mut vehicle = Vehicle::new(firmware());
    vehicle.assign(&[
        ("gateway-hw", "gateway/fw-2.bin"),
        ("brake-hw", "brake/fw-2.bin"),
        ("wiper-hw", "wiper/fw-2.bin"),
    ]);
    vehicle.until_done(6);
    // Firmware 3 for the wiper, released to the image repository and carried on a USB stick.
    let wiper3 = harness::image_bytes("wiper firmware 3");
    harness::add_images(
        &mut vehicle.images,
        &metadata_schemas::RoleName::targets(),
        &[("wiper/fw-3.bin", "wiper-hw", 3, &wiper3)],
    );
    vehicle.images.publish();
    vehicle.publish_images();
    let key = offline_updates_key(&vehicle);
    let bundle = offline_bundle(&vehicle, "usb", &["wiper/fw-3.bin"], spec(1), &key);
    assert!(matches!(apply(&vehicle, &bundle).unwrap().ecus["wiper-1"], EcuOutcome::Installing(_)));
    let reports = vehicle.until_done(4);
    let last = reports.last().unwrap();
    assert!(last.ecus.values().all(|o| o.is_up_to_date()), "the director no longer directs wiper/fw-2.bin: {last:#?}");
    assert_eq!(vehicle.running()["wiper-1"], "wiper/fw-3.bin");
    assert_eq!(vehicle.running()["brake-1"], "brake/fw-2.bin");
}

#[test]
fn attack_a_bundle_carrying_a_forged_director_root_never_replaces_the_trusted_one() {
    let vehicle = Vehicle::new(firmware());
    let key = offline_updates_key(&vehicle);
    let trusted = vehicle.config.state_dir.join("director/root.json");
    vehicle.cycle().unwrap();
    let before = std::fs::read(&trusted).unwrap();
    // A forged root of the trusted version, and one claiming to be the next version.
    let mut forger = repo_simulator::RepoSim::new(Utc::now());
    forger.add_offline_key();
    let bundle = offline_bundle(&vehicle, "same-version", &["brake/fw-2.bin"], spec(1), &key);
    std::fs::write(bundle.join("director/1.root.json"), forger.file("1.root.json")).unwrap();
    apply(&vehicle, &bundle).unwrap();
    assert_eq!(std::fs::read(&trusted).unwrap(), before, "the bundle's copy of root v1 is not taken");
    let rotation = offline_bundle(&vehicle, "rotation", &["brake/fw-2.bin"], spec(2), &key);
    forger.publish_root();
    std::fs::write(rotation.join("director/2.root.json"), forger.file("2.root.json")).unwrap();
    let err = apply(&vehicle, &rotation).unwrap_err();
    assert!(matches!(err, client_std::Error::Verification(update_verifier::Error::Unsigned { .. })), "{err}");
    assert_eq!(std::fs::read(&trusted).unwrap(), before);
}

#[test]
fn the_gateway_refuses_its_own_firmware_below_its_release_floor_online_and_offline() {
    let vehicle = Vehicle::new(firmware());
    vehicle.assign(&[("gateway-hw", "gateway/fw-2.bin")]);
    vehicle.until_done(4);
    assert_eq!(vehicle.running()["gateway-1"], "gateway/fw-2.bin");
    // Offline: a bundle signed by the offline key the root names, carrying firmware 1.
    let key = offline_updates_key(&vehicle);
    let bundle = offline_bundle(&vehicle, "old", &["gateway/fw-1.bin"], spec(1), &key);
    let report = apply(&vehicle, &bundle).unwrap();
    let EcuOutcome::Failed(why) = &report.ecus["gateway-1"] else { panic!("{report:#?}") };
    assert!(why.to_string().contains("release counter") || why.to_string().contains("rollback"), "{why}");
    // Online: the director assigns firmware 1 again.
    vehicle.assign(&[("gateway-hw", "gateway/fw-1.bin")]);
    let report = vehicle.cycle().unwrap();
    assert!(matches!(report.ecus["gateway-1"], EcuOutcome::Failed(_)), "{report:#?}");
    assert_eq!(vehicle.running()["gateway-1"], "gateway/fw-2.bin");
}

/// The gateway's offline install in a process of its own (the kill test's child): runs
/// only when OFFLINE_CONFIG and OFFLINE_BUNDLE name a configuration and a bundle.
#[test]
fn offline_process() {
    let (Ok(config), Ok(bundle)) = (std::env::var("OFFLINE_CONFIG"), std::env::var("OFFLINE_BUNDLE")) else { return };
    let config = client_std::primary::PrimaryConfig::load(std::path::Path::new(&config)).unwrap();
    Primary::open(config).unwrap().offline(std::path::Path::new(&bundle), Utc::now()).unwrap();
}

/// Runs the offline install as a process, killed after `after` if given; whether it ended by itself.
fn run_offline(vehicle: &Vehicle, bundle: &std::path::Path, after: Option<std::time::Duration>) -> bool {
    use std::process::{Command, Stdio};
    let path = vehicle.dir.path().join("primary.json");
    std::fs::write(&path, serde_json::to_vec(&vehicle.config_json()).unwrap()).unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "offline_process", "--nocapture", "--test-threads=1"])
        .env("OFFLINE_CONFIG", &path)
        .env("OFFLINE_BUNDLE", bundle)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let Some(after) = after else { return child.wait().unwrap().success() };
    let deadline = std::time::Instant::now() + after;
    while std::time::Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    false
}

#[test]
fn a_gateway_killed_at_any_moment_of_an_offline_install_leaves_verified_images_and_the_bundle_applied_again_completes()
{
    let timed = Vehicle::new(firmware());
    let key = offline_updates_key(&timed);
    let bundle = offline_bundle(&timed, "usb", &ALL_FW2, spec(1), &key);
    let start = std::time::Instant::now();
    assert!(run_offline(&timed, &bundle, None), "the offline process fails without any kill");
    let whole = start.elapsed();
    let points = 12;
    let mut landed = 0;
    for i in 0..points {
        let mut vehicle = Vehicle::new(firmware());
        let key = offline_updates_key(&vehicle);
        let bundle = offline_bundle(&vehicle, "usb", &ALL_FW2, spec(1), &key);
        let after = whole * i / points;
        landed += usize::from(!run_offline(&vehicle, &bundle, Some(after)));
        for (serial, image) in vehicle.running() {
            assert!(
                image.contains("factory") || image.ends_with("/fw-2.bin"),
                "killed after {after:?}: {serial} runs {image:?}"
            );
        }
        // The ECUs power-cycle, and the technician applies the same bundle again.
        for serial in ["brake-1", "wiper-1"] {
            vehicle.start_sim(serial, &[]);
        }
        let report = apply(&vehicle, &bundle).unwrap();
        assert!(
            report.ecus.values().all(|o| matches!(o, EcuOutcome::Installing(_) | EcuOutcome::UpToDate)),
            "killed after {after:?}: {report:#?}"
        );
        let reports = vehicle.until_done(4);
        assert!(reports.last().unwrap().ecus.values().all(|o| o.is_up_to_date()), "killed after {after:?}");
        assert!(
            vehicle.running().values().all(|p| p.ends_with("/fw-2.bin")),
            "killed after {after:?}: {:?}",
            vehicle.running()
        );
    }
    eprintln!("{points} kill points over {whole:?}; {landed} landed inside the offline install");
    assert!(landed >= points as usize / 4, "too few kills landed inside the run");
}
