//! A vehicle on one machine (see `harness`): an assignment installs on all three ECUs in
//! two cycles, and a primary killed at any moment of its cycles leaves every ECU running
//! a verified image and the update still completes.

mod harness;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use client_std::primary::{EcuFailure, EcuOutcome, Primary, PrimaryConfig, Progress};
use harness::{Vehicle, firmware, firmware_in_hash_bins};

const ALL_FW2: [(&str, &str); 3] =
    [("gateway-hw", "gateway/fw-2.bin"), ("brake-hw", "brake/fw-2.bin"), ("wiper-hw", "wiper/fw-2.bin")];

#[test]
fn an_assignment_installs_on_every_ecu_in_two_cycles() {
    let vehicle = Vehicle::new(firmware());
    vehicle.assign(&ALL_FW2);
    let first = vehicle.cycle().unwrap();
    for serial in ["gateway-1", "brake-1", "wiper-1"] {
        assert!(matches!(first.ecus[serial], EcuOutcome::Installing(_)), "{serial}: {:#?}", first);
    }
    // The primary restarts into its trial; the secondaries reset into theirs and confirmed.
    let mut primary = Primary::open(vehicle.config.clone()).unwrap();
    assert!(primary.own_image().on_trial());
    let second = primary.cycle(chrono::Utc::now()).unwrap();
    assert!(second.ecus.values().all(|o| o.is_up_to_date()), "{:?}", second.ecus);
    assert!(!primary.own_image().on_trial(), "a healthy cycle confirms the primary's image");
    assert!(vehicle.running().values().all(|p| p.ends_with("/fw-2.bin")), "{:?}", vehicle.running());
    assert!(vehicle.assignment_states().values().all(|s| s == "installed"), "{:?}", vehicle.assignment_states());
    // Each ECU's signed report says whether its image is confirmed: the secondaries had
    // confirmed before they reported; the primary reported while on trial, then confirmed.
    let said = |status: &serde_json::Value, serial: &str| {
        let ecu = status["ecus"].as_array().unwrap().iter().find(|e| e["serial"] == serial).unwrap();
        let text = |v: &serde_json::Value| v.as_str().map(String::from);
        (text(&ecu["status"]["boot_state"]), text(&ecu["status"]["install_result"]))
    };
    let status = vehicle.status();
    let confirmed_ok = (Some("confirmed".to_string()), Some("ok".to_string()));
    assert_eq!(said(&status, "brake-1"), confirmed_ok, "{status}");
    assert_eq!(said(&status, "wiper-1"), confirmed_ok, "{status}");
    assert_eq!(said(&status, "gateway-1"), (Some("trial".into()), Some("ok".into())), "{status}");
    primary.cycle(chrono::Utc::now()).unwrap();
    assert_eq!(said(&vehicle.status(), "gateway-1"), confirmed_ok);
}

#[test]
fn a_full_verification_secondary_finds_its_image_in_a_hash_binned_image_repository() {
    let vehicle = Vehicle::new(firmware_in_hash_bins());
    assert!(vehicle.images.targets[&metadata_schemas::RoleName::targets()].targets.is_empty(), "all in bins");
    vehicle.assign(&ALL_FW2);
    let reports = vehicle.until_done(4);
    assert!(vehicle.running().values().all(|p| p.ends_with("/fw-2.bin")), "{reports:#?}");
    assert!(vehicle.assignment_states().values().all(|s| s == "installed"), "{:?}", vehicle.assignment_states());
}

#[test]
fn secondaries_follow_director_and_image_repository_root_rotations() {
    let mut vehicle = Vehicle::new(firmware());
    assert_eq!(vehicle.root_versions("brake-1"), (1, 0));
    assert_eq!(vehicle.root_versions("wiper-1"), (1, 1));
    vehicle.rotate_director_keys();
    vehicle.rotate_image_repository_keys();
    vehicle.assign(&ALL_FW2);
    let reports = vehicle.until_done(4);
    assert!(vehicle.running().values().all(|p| p.ends_with("/fw-2.bin")), "{:#?}", reports);
    // Targets signed only by the new keys installed, so each secondary took the new roots.
    assert_eq!(vehicle.root_versions("brake-1"), (2, 0), "partial verification: the director root");
    assert_eq!(vehicle.root_versions("wiper-1"), (2, 2), "full verification: both roots");
}

#[test]
fn one_unauthenticated_start_cycle_frame_cannot_set_an_ecus_time() {
    let mut vehicle = Vehicle::new(firmware());
    vehicle.cycle().unwrap();
    let now = chrono::Utc::now().timestamp();
    let attested = vehicle.trusted_time("brake-1");
    assert!((now - attested).abs() < 120, "the director's attested time was taken: {attested} vs {now}");
    // Someone on the bus sends StartCycle with the year 3000 and with 2^64-1, then the ECU
    // loses power.
    let year_3000 = chrono::DateTime::parse_from_rfc3339("3000-01-01T00:00:00Z").unwrap().timestamp() as u64;
    let address = vehicle.config.secondaries.iter().find(|s| s.serial == "brake-1").unwrap().address.clone();
    for claimed in [year_3000, u64::MAX] {
        let mut link = client_std::primary::link::Link::connect("brake-1", &address).unwrap();
        let _ = link.call(client_embedded::protocol::Request::StartCycle(claimed));
    }
    vehicle.start_sim("brake-1", &[]);
    let after = vehicle.trusted_time("brake-1");
    assert!(after >= attested && after <= chrono::Utc::now().timestamp() + 120, "the ECU now trusts {after}");
    // The vehicle is not locked out: the update installs and the director accepts it.
    vehicle.assign(&ALL_FW2);
    let reports = vehicle.until_done(4);
    assert!(vehicle.running().values().all(|p| p.ends_with("/fw-2.bin")), "{reports:#?}");
    assert!(vehicle.assignment_states().values().all(|s| s == "installed"), "{:?}", vehicle.assignment_states());
}

/// Not a test of its own: the primary's process for `a_primary_killed_at_any_moment...`,
/// which runs this test binary again with PRIMARY_CONFIG set.
#[test]
fn primary_process() {
    let Ok(path) = std::env::var("PRIMARY_CONFIG") else { return };
    let config = PrimaryConfig::load(Path::new(&path)).unwrap();
    for _ in 0..6 {
        let mut primary = Primary::open(config.clone()).unwrap();
        let report = primary.cycle(chrono::Utc::now()).unwrap();
        if report.ecus.values().all(|o| o.is_up_to_date()) && !primary.own_image().on_trial() {
            return;
        }
    }
    panic!("not done after 6 cycles");
}

/// Starts the primary's process on `vehicle` and kills it (SIGKILL) after `after`, or
/// lets it finish; whether it finished on its own.
fn run_primary(vehicle: &Vehicle, after: Option<Duration>) -> bool {
    let path = vehicle.dir.path().join("primary.json");
    std::fs::write(&path, serde_json::to_vec(&vehicle.config_json()).unwrap()).unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "primary_process", "--nocapture", "--test-threads=1"])
        .env("PRIMARY_CONFIG", &path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let Some(after) = after else { return child.wait().unwrap().success() };
    let deadline = Instant::now() + after;
    while Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    false
}

/// Every file under a final name in the primary's downloads is a complete, listed image.
fn downloads_are_verified(vehicle: &Vehicle) -> bool {
    let Ok(entries) = std::fs::read_dir(vehicle.config.state_dir.join("downloads")) else { return true };
    entries.map(|e| e.unwrap()).filter(|e| !e.file_name().to_string_lossy().starts_with('.')).all(|e| {
        let bytes = std::fs::read(e.path()).unwrap();
        vehicle.images.target_files.values().any(|listed| *listed == bytes)
    })
}

#[test]
fn a_primary_killed_at_any_moment_of_its_cycles_leaves_verified_images_and_the_update_completes() {
    // How long an uninterrupted run takes here, so the kills spread over all of it.
    let timed = Vehicle::new(firmware());
    timed.assign(&ALL_FW2);
    let start = Instant::now();
    assert!(run_primary(&timed, None), "the primary's process fails without any kill");
    let whole = start.elapsed();
    let points = 24;
    let mut finished_before_kill = 0;
    for i in 0..points {
        let mut vehicle = Vehicle::new(firmware());
        vehicle.assign(&ALL_FW2);
        let after = whole * i / points;
        if run_primary(&vehicle, Some(after)) {
            finished_before_kill += 1;
        }
        let running = vehicle.running();
        for (serial, image) in &running {
            assert!(
                image.contains("factory") || image.ends_with("/fw-2.bin"),
                "killed after {after:?}: {serial} runs {image:?}"
            );
        }
        assert!(downloads_are_verified(&vehicle), "killed after {after:?}: an unverified download under a final name");
        // The ECUs power-cycle too (a secondary in an unconfirmed trial reverts), then the
        // primary starts again.
        for serial in ["brake-1", "wiper-1"] {
            vehicle.start_sim(serial, &[]);
        }
        let reports = vehicle.until_done(6);
        let last = reports.last().unwrap();
        assert!(last.ecus.values().all(|o| o.is_up_to_date()), "killed after {after:?}: {last:#?}");
        assert!(vehicle.running().values().all(|p| p.ends_with("/fw-2.bin")), "killed after {after:?}");
    }
    eprintln!("{points} kill points over {whole:?}; {finished_before_kill} runs finished before their kill");
    // Timing varies on a shared machine; a quarter of the kills inside a run is enough.
    assert!(points - finished_before_kill >= points / 4, "too few kills landed inside a run");
}

#[test]
fn a_secondary_that_is_off_does_not_stop_the_rest_of_the_vehicle() {
    let mut vehicle = Vehicle::new(firmware());
    vehicle.assign(&ALL_FW2);
    vehicle.sims.remove("brake-1"); // powered off
    let report = vehicle.cycle().unwrap();
    assert!(matches!(&report.ecus["brake-1"], EcuOutcome::Failed(EcuFailure::Unreachable(_))), "{report:#?}");
    for serial in ["gateway-1", "wiper-1"] {
        assert!(matches!(report.ecus[serial], EcuOutcome::Installing(_)), "{serial}: {report:#?}");
    }
    let missing = vehicle.events().into_iter().find(|e| e["kind"] == "ecus-missing");
    assert_eq!(missing.map(|e| e["detail"]["ecus"].clone()), Some(serde_json::json!(["brake-1"])));
    // Powered on again, it catches up.
    vehicle.start_sim("brake-1", &[]);
    let reports = vehicle.until_done(4);
    assert!(vehicle.running().values().all(|p| p.ends_with("/fw-2.bin")), "{reports:#?}");
    assert!(vehicle.assignment_states().values().all(|s| s == "installed"), "{:?}", vehicle.assignment_states());
}

/// The encryption blocks (as JSON) of every director targets version the vehicle has.
fn encryption_blocks(vehicle: &Vehicle) -> Vec<serde_json::Value> {
    let token = vehicle.config.device_token.clone().unwrap();
    let base = format!("{}/api/v1/vehicles/{}/director", vehicle.director_url, harness::VIN);
    vehicle.runtime.block_on(async {
        let client = harness::http_client().build().unwrap();
        let mut blocks = Vec::new();
        for version in 1.. {
            let answer = client.get(format!("{base}/{version}.targets.json")).bearer_auth(&token).send().await.unwrap();
            if !answer.status().is_success() {
                break;
            }
            let targets: serde_json::Value = answer.json().await.unwrap();
            for (_, entry) in targets["signed"]["targets"].as_object().unwrap() {
                if let Some(block) = entry["custom"].get("encryption") {
                    blocks.push(block.clone());
                }
            }
        }
        blocks
    })
}

#[test]
fn attack_same_content_key_and_iv_for_two_plaintexts_never_happens() {
    let vehicle = harness::encrypting_vehicle(harness::BRAKE_DECRYPTION_SECRET);
    vehicle.assign(&[("brake-hw", "brake/fw-2.bin")]);
    vehicle.until_done(4);
    // Another plaintext for the same ECU (the ECU refuses it as a rollback; the director
    // still encrypts it under its own key), then firmware 2 again.
    vehicle.assign(&[("brake-hw", "brake/fw-1.bin")]);
    vehicle.cycle().unwrap();
    vehicle.admin("DELETE", &format!("/assignments/{}", harness::VIN), serde_json::Value::Null);
    vehicle.assign(&[("brake-hw", "brake/fw-2.bin")]);
    vehicle.cycle().unwrap();
    let blocks = encryption_blocks(&vehicle);
    let ivs: std::collections::BTreeSet<_> = blocks.iter().map(|b| b["content"]["iv"].as_str().unwrap()).collect();
    let files: std::collections::BTreeSet<_> =
        blocks.iter().map(|b| b["content"]["filename"].as_str().unwrap()).collect();
    let epks: std::collections::BTreeSet<_> = blocks.iter().map(|b| b["key"]["epk"].as_str().unwrap()).collect();
    assert!(blocks.len() >= 3, "{blocks:#?}");
    assert_eq!(ivs.len(), 2, "one IV per plaintext, never shared: {ivs:?}");
    assert_eq!(files.len(), 2, "each image encrypted once, its ciphertext reused: {files:?}");
    assert_eq!(epks.len(), 3, "each of the three assignments wraps the key afresh: {epks:?}");
}

#[test]
fn attack_ciphertext_of_another_image_served_under_this_entry_is_refused_by_the_primary() {
    let mut vehicle = harness::encrypting_vehicle(harness::BRAKE_DECRYPTION_SECRET);
    // A first image gives the director a ciphertext to serve in place of the next one.
    vehicle.assign(&[("brake-hw", "brake/fw-1.bin")]);
    vehicle.until_done(4);
    // (Its ciphertext, not its chunk index, which lies beside it.)
    let first = std::fs::read_dir(vehicle.dir.path().join("director/ciphertext"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "enc"))
        .unwrap();
    let other = std::fs::read(first).unwrap();
    assert_eq!(other.len(), vehicle.images.target_files["brake/fw-2.bin"].len(), "same length, other content");
    let proxy = harness::proxy::Proxy::start(&vehicle.runtime, &vehicle.director_url);
    vehicle.config.director = format!("{}/api/v1", proxy.url);
    vehicle.config.image_repository = format!("{}/api/v1/repo", proxy.url);
    proxy.set(move |path, body| {
        let swapped = path.contains("/director/targets/") && !body.is_empty();
        harness::proxy::Reply::Body(if swapped { other.clone() } else { body })
    });
    vehicle.assign(&[("brake-hw", "brake/fw-2.bin")]);
    let report = vehicle.cycle().unwrap();
    let outcome = &report.ecus["brake-1"];
    assert!(matches!(outcome, EcuOutcome::Failed(EcuFailure::Delivery(_))), "{outcome:?}");
    assert!(outcome_text(outcome).contains("hash") || outcome_text(outcome).contains("length"), "{outcome:?}");
    assert_eq!(vehicle.running()["brake-1"], "brake/fw-1.bin", "the ECU keeps its image");
    proxy.pass();
    vehicle.until_done(4);
    assert_eq!(vehicle.running()["brake-1"], "brake/fw-2.bin");
}

fn outcome_text(outcome: &EcuOutcome) -> String {
    match outcome {
        EcuOutcome::Failed(why) => why.to_string(),
        other => format!("{other:?}"),
    }
}

#[test]
fn an_ecu_announces_its_decryption_key_in_its_signed_report_and_the_director_takes_it() {
    let mut vehicle = Vehicle::new(firmware());
    vehicle.admin("PUT", "/encryption/brake-hw", serde_json::json!({"policy": "required"}));
    let secret = metadata_schemas::hex::encode(&[0x44; 32]);
    vehicle.start_sim("brake-1", &["--decryption-secret".into(), secret, "--require-encryption".into()]);
    // No key registered by an administrator: the first report announces it.
    vehicle.cycle().unwrap();
    let announced = vehicle.events().iter().any(|e| e["kind"] == "decryption-key" && e["detail"]["ecu"] == "brake-1");
    assert!(announced, "{:#?}", vehicle.events());
    vehicle.assign(&[("brake-hw", "brake/fw-2.bin")]);
    vehicle.until_done(4);
    assert_eq!(vehicle.running()["brake-1"], "brake/fw-2.bin", "encrypted for the announced key");
}

#[test]
fn the_gateways_own_image_comes_encrypted_for_it_and_only_the_slot_holds_the_plaintext() {
    let mut vehicle = Vehicle::new(firmware());
    vehicle.admin("PUT", "/encryption/gateway-hw", serde_json::json!({"policy": "required"}));
    let secret = harness::write(vehicle.dir.path().join("gateway-decryption.key"), "45".repeat(32).as_bytes());
    vehicle.config.own_image.decryption_secret = Some(secret);
    vehicle.cycle().unwrap(); // its signed report announces its decryption key
    vehicle.assign(&[("gateway-hw", "gateway/fw-2.bin")]);
    let first = vehicle.cycle().unwrap();
    assert!(matches!(first.ecus["gateway-1"], EcuOutcome::Installing(_)), "{first:#?}");
    assert!(first.steps.iter().any(|s| s.contains("the ciphertext of gateway/fw-2.bin")), "{:#?}", first.steps);
    vehicle.until_done(4);
    let plaintext = &vehicle.images.target_files["gateway/fw-2.bin"];
    assert_eq!(&std::fs::read(vehicle.dir.path().join("slot-b.bin")).unwrap(), plaintext);
    for entry in std::fs::read_dir(vehicle.config.state_dir.join("downloads")).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(!harness::tap::exposes(&bytes, plaintext), "the download cache holds only ciphertext");
    }
}

#[test]
fn attack_encryption_silently_dropped_for_the_gateways_own_image_is_refused_by_the_gateway() {
    let mut vehicle = Vehicle::new(firmware());
    // The director's policy was turned off; the gateway was built to require encryption.
    vehicle.admin("PUT", "/encryption/gateway-hw", serde_json::json!({"policy": "never"}));
    let secret = harness::write(vehicle.dir.path().join("gateway-decryption.key"), "45".repeat(32).as_bytes());
    vehicle.config.own_image.decryption_secret = Some(secret);
    vehicle.config.own_image.require_encryption = true;
    let slot_b = std::fs::read(vehicle.dir.path().join("slot-b.bin")).ok();
    vehicle.assign(&[("gateway-hw", "gateway/fw-2.bin")]);
    let report = vehicle.cycle().unwrap();
    let outcome = &report.ecus["gateway-1"];
    assert!(outcome_text(outcome).contains("unencrypted"), "{outcome:?}");
    assert_eq!(std::fs::read(vehicle.dir.path().join("slot-b.bin")).ok(), slot_b, "the inactive slot is untouched");
    let mut primary = Primary::open(vehicle.config.clone()).unwrap();
    assert!(!primary.own_image().on_trial(), "nothing to try");
    primary.cycle(chrono::Utc::now()).unwrap();
}

#[test]
fn a_hardware_id_that_requires_encryption_refuses_an_ecu_without_a_decryption_key() {
    let vehicle = Vehicle::new(firmware());
    vehicle.admin("PUT", "/encryption/brake-hw", serde_json::json!({"policy": "required"}));
    let images = serde_json::json!({"vehicles": [harness::VIN], "images": {"brake-hw": "brake/fw-2.bin"}});
    let (status, answer) = vehicle.admin_call("POST", "/assignments", images);
    let why = answer["error"].as_str().unwrap_or_default();
    assert_eq!(status, 400, "{answer}");
    assert!(why.contains("brake-1") && why.contains("decryption-key"), "names the ECU and the fix: {why}");
    assert!(vehicle.assignment_states().is_empty(), "nothing was assigned: {:?}", vehicle.assignment_states());
    let (status, _) = vehicle.admin_call("PUT", "/encryption/brake-hw", serde_json::json!({"policy": "sometimes"}));
    assert_eq!(status, 400, "an unknown policy is refused");
}

#[test]
fn an_encrypted_install_cut_by_a_power_loss_resumes_where_the_ecu_left_off() {
    let mut vehicle = harness::encrypting_vehicle(harness::BRAKE_DECRYPTION_SECRET);
    let secret = metadata_schemas::hex::encode(&harness::BRAKE_DECRYPTION_SECRET);
    let keyed = |extra: &[&str]| -> Vec<String> {
        let base = ["--decryption-secret", &secret, "--require-encryption"];
        base.iter().chain(extra).map(|s| s.to_string()).collect()
    };
    vehicle.assign(&[("brake-hw", "brake/fw-2.bin")]);
    // Power fails some 30 KiB into the 48 KiB image (flash operation 120 of this power-up).
    vehicle.start_sim("brake-1", &keyed(&["--cut-at", "120"]));
    let report = vehicle.cycle().unwrap();
    assert!(matches!(report.ecus["brake-1"], EcuOutcome::Failed(_)), "{:?}", report.ecus["brake-1"]);
    vehicle.start_sim("brake-1", &keyed(&[]));
    assert_eq!(vehicle.running()["brake-1"], "brake-1-factory.bin", "the old image booted");
    let handed = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = handed.clone();
    let mut primary = Primary::open(vehicle.config.clone()).unwrap().with_observer(move |progress| {
        if let Progress::Install { serial: "brake-1", sent, total } = *progress {
            seen.lock().unwrap().push((sent, total));
        }
    });
    let report = primary.cycle(chrono::Utc::now()).unwrap();
    assert!(matches!(report.ecus["brake-1"], EcuOutcome::Installing(_)), "{:?}", report.ecus["brake-1"]);
    let (from, total) = handed.lock().unwrap()[0];
    assert!(from > 0 && from < total && from % 4096 == 0, "resumed at a sector boundary: {from} of {total}");
    eprintln!("the hand-over resumed at byte {from} of {total}");
    vehicle.until_done(4);
    assert_eq!(vehicle.running()["brake-1"], "brake/fw-2.bin", "the resumed image runs");
    assert_eq!(vehicle.installed()["brake-1"], "brake/fw-2.bin");
}
