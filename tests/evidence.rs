//! The evidence a manufacturer must show, one test each, on a whole vehicle (director,
//! primary, two `ecu-sim` secondaries). Each test records what it checked in
//! `target/evidence/`; `scripts/evidence-report` writes them up as Markdown and JSON.

mod harness;

use client_std::primary::EcuOutcome;
use client_std::primary::Primary;
use harness::pki::Pki;
use harness::proxy::{Proxy, Reply};
use harness::{Vehicle, evidence, firmware};
use metadata_schemas::RoleName;
use metadata_schemas::uptane::AttackCode;

const ALL_FW2: [(&str, &str); 3] =
    [("gateway-hw", "gateway/fw-2.bin"), ("brake-hw", "brake/fw-2.bin"), ("wiper-hw", "wiper/fw-2.bin")];

fn all(map: &std::collections::BTreeMap<String, String>, value: &str) -> bool {
    map.values().all(|v| v == value)
}

#[test]
fn evidence_valid_signed_update_is_installed_and_confirmed() {
    let vehicle = Vehicle::new(firmware());
    vehicle.assign(&ALL_FW2);
    let reports = vehicle.until_done(4);
    let installed = vehicle.installed();
    let status = vehicle.status();
    let hashes_match = status["ecus"].as_array().unwrap().iter().all(|e| {
        let path = e["installed"]["filepath"].as_str().unwrap();
        let listed = &vehicle.images.targets[&RoleName::targets()].targets[&metadata_schemas::TargetPath::new(path)];
        let digest = listed.hashes.first_hex();
        e["installed"]["hashes"]["sha256"] == digest.as_str() && e["installed"]["length"] == listed.length
    });
    evidence(
        "valid_signed_update_is_installed_and_confirmed",
        "A valid signed update is downloaded, installed and confirmed; the installed image's version and hashes match the metadata and the director shows it.",
        &[
            ("every ECU reports firmware 2 to the director", installed.values().all(|p| p.ends_with("/fw-2.bin"))),
            ("every ECU itself says it runs firmware 2", vehicle.running() == installed),
            ("the reported hashes and lengths are those the image repository signed", hashes_match),
            ("the director marks every assignment installed", all(&vehicle.assignment_states(), "installed")),
            (
                "the primary confirmed its own new image",
                std::fs::read(vehicle.dir.path().join("slot-b.bin")).unwrap()
                    == vehicle.images.target_files["gateway/fw-2.bin"],
            ),
            ("done within 4 cycles", reports.len() <= 4),
        ],
    );
}

#[test]
fn evidence_rollback_to_an_older_release_counter_is_refused() {
    let vehicle = Vehicle::new(firmware());
    vehicle.assign(&ALL_FW2);
    vehicle.until_done(4);
    vehicle.assign(&[("brake-hw", "brake/fw-1.bin")]);
    let report = vehicle.cycle().unwrap();
    let refused =
        matches!(&report.ecus["brake-1"], EcuOutcome::Failed(why) if why.refused_with() == Some(AttackCode::ROLLBACK));
    vehicle.cycle().unwrap(); // the next version report carries the attack code
    let reported =
        vehicle.status()["ecus"].as_array().unwrap().iter().any(|e| e["serial"] == "brake-1" && e["attack"] == 1);
    evidence(
        "rollback_to_an_older_release_counter_is_refused",
        "A rollback to an older version or release counter is refused.",
        &[
            ("the brake ECU refuses firmware 1 after firmware 2 (release counter rollback)", refused),
            ("its next version report tells the director (attack code 1, rollback)", reported),
            ("the director fails the assignment", vehicle.assignment_state("brake-1", "brake/fw-1.bin") == "failed"),
            ("the brake ECU still runs firmware 2", vehicle.running()["brake-1"] == "brake/fw-2.bin"),
        ],
    );
}

#[test]
fn evidence_an_image_that_never_confirms_is_reverted() {
    let mut vehicle = Vehicle::new(firmware());
    vehicle.start_sim("brake-1", &["--no-confirm".into()]);
    vehicle.assign(&[("brake-hw", "brake/fw-2.bin")]);
    let first = vehicle.cycle().unwrap();
    let handed_over = matches!(first.ecus["brake-1"], EcuOutcome::Installing(_));
    // The trial image runs but never confirms: it gets three runs, then the next
    // power-up reverts it.
    let mut retried = true;
    for _ in 2..=3 {
        vehicle.start_sim("brake-1", &["--no-confirm".into()]);
        retried &= vehicle.running()["brake-1"] == "brake/fw-2.bin";
    }
    vehicle.start_sim("brake-1", &["--no-confirm".into()]);
    let after_power_up = vehicle.running()["brake-1"].clone();
    vehicle.cycle().unwrap();
    evidence(
        "an_image_that_never_confirms_is_reverted",
        "A new image that never confirms is reverted automatically.",
        &[
            ("firmware 2 was handed to the brake ECU", handed_over),
            ("an unconfirmed trial gets three runs (a power cut during a trial is not a failure)", retried),
            (
                "after the unconfirmed trial, the brake ECU runs its previous image again",
                after_power_up == "brake-1-factory.bin",
            ),
            ("its next version report tells the director so", vehicle.installed()["brake-1"] == "brake-1-factory.bin"),
        ],
    );
}

#[test]
fn evidence_power_loss_during_installation_leaves_a_verified_image() {
    let mut vehicle = Vehicle::new(firmware());
    vehicle.assign(&[("brake-hw", "brake/fw-2.bin")]);
    let mut booted_verified = true;
    let mut cuts = Vec::new();
    // Power cut at several flash operations of the installation (the trial of a pseudo-random
    // sequence), each followed by a power-up that must boot a verified image.
    for cut in [1u64, 3, 5, 8, 13, 21] {
        vehicle.start_sim("brake-1", &["--cut-at".into(), cut.to_string()]);
        let _ = vehicle.cycle();
        vehicle.start_sim("brake-1", &[]);
        let running = vehicle.running()["brake-1"].clone();
        booted_verified &= running == "brake-1-factory.bin" || running == "brake/fw-2.bin";
        cuts.push(cut);
        if vehicle.cycle().is_err() {
            booted_verified = false;
        }
        let running = vehicle.running()["brake-1"].clone();
        booted_verified &= running == "brake-1-factory.bin" || running == "brake/fw-2.bin";
        if running == "brake/fw-2.bin" {
            break;
        }
    }
    vehicle.until_done(4);
    evidence(
        "power_loss_during_installation_leaves_a_verified_image",
        "Power lost at random points during installation (ecu-sim killed and restarted) always leaves a verified image booting.",
        &[
            ("after every cut the ECU booted its old or its new verified image", booted_verified),
            ("the update still completes afterwards", vehicle.running()["brake-1"] == "brake/fw-2.bin"),
        ],
    );
}

#[test]
fn evidence_a_man_in_the_middle_altering_images_is_refused() {
    let mut vehicle = Vehicle::new(firmware());
    let proxy = Proxy::start(&vehicle.runtime, &vehicle.director_url);
    vehicle.config.director = format!("{}/api/v1", proxy.url);
    vehicle.config.image_repository = format!("{}/api/v1/repo", proxy.url);
    proxy.set(|path, mut body| {
        if path.contains("/repo/targets/") && !body.is_empty() {
            body[0] ^= 0x01; // one bit flipped in every image
        }
        Reply::Body(body)
    });
    vehicle.assign(&ALL_FW2);
    let report = vehicle.cycle().unwrap();
    let refused = report
        .ecus
        .values()
        .all(|o| matches!(o, EcuOutcome::Failed(why) if why.to_string().contains("hash") || why.to_string().contains("sha256")));
    let untouched = vehicle.running().values().all(|p| p.contains("factory"));
    proxy.pass();
    vehicle.until_done(4);
    evidence(
        "a_man_in_the_middle_altering_images_is_refused",
        "A man-in-the-middle proxy that alters bytes is detected and refused.",
        &[
            ("every altered image is refused for its hash", refused),
            ("no ECU installed an altered image", untouched),
            (
                "once the proxy stops, the genuine update installs",
                vehicle.running().values().all(|p| p.ends_with("/fw-2.bin")),
            ),
        ],
    );
}

#[test]
fn evidence_stale_director_metadata_is_detected_as_a_freeze() {
    let vehicle = Vehicle::new(firmware());
    vehicle.assign(&ALL_FW2);
    // The director's timestamp lives a day; a primary whose clock is two days on sees the
    // (replayed) metadata as what it is: stale.
    let later = chrono::Utc::now() + chrono::Duration::days(2);
    let result = vehicle.cycle_at(later);
    let freeze = matches!(&result, Err(e) if e.to_string().contains("expired"));
    evidence(
        "stale_director_metadata_is_detected_as_a_freeze",
        "A director that replays stale metadata (freeze) is detected.",
        &[
            ("the cycle stops with an expired-metadata error", freeze),
            ("nothing was installed", vehicle.running().values().all(|p| p.contains("factory"))),
        ],
    );
}

#[test]
fn evidence_mixed_metadata_from_different_times_is_refused() {
    let mut vehicle = Vehicle::new(firmware());
    vehicle.assign(&[("brake-hw", "brake/fw-2.bin")]);
    let proxy = Proxy::start(&vehicle.runtime, &vehicle.director_url);
    vehicle.config.director = format!("{}/api/v1", proxy.url);
    vehicle.config.image_repository = format!("{}/api/v1/repo", proxy.url);
    // Serve the first snapshot (version 1) under the name of the current one (version 2).
    let first_snapshot = {
        let url = format!("{}/api/v1/vehicles/{}/director/1.snapshot.json", vehicle.director_url, harness::VIN);
        let token = vehicle.config.device_token.clone().unwrap();
        vehicle.runtime.block_on(async {
            harness::http_client()
                .build()
                .unwrap()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap()
                .to_vec()
        })
    };
    proxy.set(move |path, body| {
        if path.ends_with("/director/2.snapshot.json") {
            Reply::Body(first_snapshot.clone())
        } else {
            Reply::Body(body)
        }
    });
    let result = vehicle.cycle();
    let refused = matches!(&result, Err(e) if e.to_string().contains("snapshot"));
    evidence(
        "mixed_metadata_from_different_times_is_refused",
        "Mixed metadata from different times (mix-and-match) is refused.",
        &[
            ("a timestamp naming snapshot v2 with snapshot v1's bytes is refused", refused),
            ("nothing was installed", vehicle.running().values().all(|p| p.contains("factory"))),
        ],
    );
}

#[test]
fn evidence_an_ecu_swapped_for_an_unknown_one_is_reported() {
    let mut vehicle = Vehicle::new(firmware());
    vehicle.assign(&ALL_FW2);
    vehicle.start_sim_as("wiper-1", "wiper-9"); // another ECU where wiper-1 was
    vehicle.config.secondaries[1].serial = "wiper-9".into();
    let result = vehicle.cycle();
    let refused =
        matches!(&result, Err(e) if e.to_string().contains("unknown-ecu") || e.to_string().contains("no ECU wiper-9"));
    let recorded =
        vehicle.events().iter().any(|e| e["kind"] == "manifest-refused" && e["detail"]["reason"] == "unknown-ecu");
    evidence(
        "an_ecu_swapped_for_an_unknown_one_is_reported",
        "An ECU swapped for an unknown one is reported.",
        &[
            ("the director refuses the manifest naming the unknown ECU", refused),
            ("the refusal and its reason are in the vehicle's events", recorded),
            ("nothing was installed", vehicle.running().values().all(|p| p.is_empty() || p.contains("factory"))),
        ],
    );
}

#[test]
fn evidence_a_network_interruption_during_download_is_resumed_and_never_installs_a_partial_image() {
    let mut vehicle = Vehicle::new(firmware());
    let proxy = Proxy::start(&vehicle.runtime, &vehicle.director_url);
    vehicle.config.director = format!("{}/api/v1", proxy.url);
    vehicle.config.image_repository = format!("{}/api/v1/repo", proxy.url);
    // The first download of each image is cut halfway; the wiper's half is also altered.
    let cut_once = std::sync::Mutex::new(std::collections::BTreeSet::new());
    proxy.set(move |path, mut body| {
        if !path.contains("/repo/targets/") || !cut_once.lock().unwrap().insert(path.to_string()) {
            return Reply::Body(body);
        }
        if path.contains("wiper") {
            body[0] ^= 0x01;
        }
        let half = body.len() / 2;
        Reply::CutAfter(body, half)
    });
    vehicle.assign(&ALL_FW2);
    let cut = vehicle.cycle().unwrap();
    let downloads = vehicle.config.state_dir.join("downloads");
    let files = || -> Vec<String> {
        std::fs::read_dir(&downloads).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect()
    };
    let after_cut = files();
    let resumed = vehicle.cycle().unwrap();
    let ranges: Vec<_> = proxy.requests().into_iter().filter(|r| r.path.contains("/repo/targets/")).collect();
    // Served under consistent-snapshot names: `brake/<sha256>.fw-2.bin`.
    let is_fw2 = |path: &str, ecu: &str| path.contains(&format!("/targets/{ecu}/")) && path.ends_with(".fw-2.bin");
    let asked_for_rest = [("gateway", "gateway/fw-2.bin"), ("brake", "brake/fw-2.bin")].iter().all(|(ecu, image)| {
        // Bytes still in flight when the connection dropped are lost, so at most half.
        let half = vehicle.images.target_files[*image].len() / 2;
        ranges.iter().any(|r| {
            let from =
                r.range.as_deref().and_then(|r| r.strip_prefix("bytes=")?.strip_suffix('-')?.parse::<usize>().ok());
            is_fw2(&r.path, ecu) && from.is_some_and(|from| from > 0 && from <= half)
        })
    });
    let altered_refused =
        matches!(&resumed.ecus["wiper-1"], EcuOutcome::Failed(why) if why.to_string().contains("hash"));
    let wiper_discarded = !files().iter().any(|f| f.starts_with(".partial") && f.contains("wiper"));
    vehicle.until_done(4);
    let wiper_started_over = ranges.len()
        < proxy.requests().iter().filter(|r| r.path.contains("/repo/targets/")).count()
        && proxy.requests().iter().rev().find(|r| is_fw2(&r.path, "wiper")).is_some_and(|r| r.range.is_none());
    evidence(
        "a_network_interruption_during_download_is_resumed_and_never_installs_a_partial_image",
        "A network interruption during download is resumed or retried and never installs a partial image.",
        &[
            (
                "every download cut off by the network fails its cycle",
                cut.ecus.values().all(|o| matches!(o, EcuOutcome::Failed(_))),
            ),
            (
                "the bytes received are kept aside, under no final name",
                after_cut.len() == 3 && after_cut.iter().all(|f| f.starts_with(".partial-")),
            ),
            (
                "nothing was installed from the cut-off downloads",
                cut.ecus.values().all(|o| !matches!(o, EcuOutcome::Installing(_))),
            ),
            ("the next cycle asks only for the missing bytes (a Range request from what was kept)", asked_for_rest),
            ("a resumed image whose kept bytes were altered fails its hash and is not installed", altered_refused),
            ("its kept bytes are thrown away", wiper_discarded),
            ("the download after that starts from byte 0", wiper_started_over),
            ("every ECU ends up running firmware 2", vehicle.running().values().all(|p| p.ends_with("/fw-2.bin"))),
        ],
    );
}

#[test]
fn evidence_unsigned_or_wrongly_signed_image_metadata_is_refused() {
    let mut vehicle = Vehicle::new(firmware());
    vehicle.assign(&ALL_FW2);
    // The image repository's targets are re-signed by a key its root does not trust.
    let stranger = repo_simulator::new_key();
    let forged = repo_simulator::RepoSim::sign_with(&vehicle.images.targets[&RoleName::targets()], &[&stranger]);
    let version = vehicle.images.targets[&RoleName::targets()].common.version;
    vehicle.images.files.insert(RoleName::targets().versioned_file_name(version), forged);
    vehicle.publish_images();
    let wrong_key = vehicle.cycle();
    let refused_wrong =
        matches!(&wrong_key, Err(e) if e.to_string().contains("signature") || e.to_string().contains("signed"));
    // And with its signatures removed altogether.
    let mut unsigned: serde_json::Value =
        serde_json::from_slice(&vehicle.images.file(&RoleName::targets().versioned_file_name(version))).unwrap();
    unsigned["signatures"] = serde_json::json!([]);
    vehicle
        .images
        .files
        .insert(RoleName::targets().versioned_file_name(version), serde_json::to_vec(&unsigned).unwrap());
    vehicle.publish_images();
    let no_signature = vehicle.cycle();
    let refused_unsigned =
        matches!(&no_signature, Err(e) if e.to_string().contains("signature") || e.to_string().contains("signed"));
    evidence(
        "unsigned_or_wrongly_signed_image_metadata_is_refused",
        "An unsigned image is refused; an image signed with the wrong key is refused.",
        &[
            ("image metadata signed by an untrusted key is refused", refused_wrong),
            ("image metadata without signatures is refused", refused_unsigned),
            ("nothing was installed", vehicle.running().values().all(|p| p.contains("factory"))),
        ],
    );
}

#[test]
fn evidence_director_and_image_repository_over_tls_with_certificate_verification() {
    let pki_dir = tempfile::tempdir().unwrap();
    let ca = Pki::new("vehicle backend CA");
    let tls = ca.server(pki_dir.path());
    let vehicle = Vehicle::with_tls(firmware(), Some((tls, ca.write_ca(pki_dir.path(), "ca.pem"))));
    vehicle.assign(&ALL_FW2);
    let now = chrono::Utc::now();
    let cycle_with = |config: client_std::primary::PrimaryConfig| Primary::open(config).and_then(|mut p| p.cycle(now));

    let mut other_ca = vehicle.config.clone();
    other_ca.tls.ca_bundle = Some(Pki::new("another CA").write_ca(pki_dir.path(), "other-ca.pem"));
    let unknown_issuer = cycle_with(other_ca);
    let mut other_name = vehicle.config.clone();
    other_name.director = other_name.director.replace("127.0.0.1", "localhost");
    other_name.image_repository = other_name.image_repository.replace("127.0.0.1", "localhost");
    let wrong_name = cycle_with(other_name);
    let mut plain = vehicle.config.clone();
    plain.director = plain.director.replace("https://", "http://");
    plain.image_repository = plain.image_repository.replace("https://", "http://");
    let plain_http = cycle_with(plain);
    let untouched = vehicle.running().values().all(|p| p.contains("factory"));

    vehicle.until_done(4);
    let failed_with = |result: &Result<_, client_std::Error>, words: &[&str]| {
        result.as_ref().err().is_some_and(|e| words.iter().any(|w| e.to_string().contains(w)))
    };
    evidence(
        "director_and_image_repository_over_tls_with_certificate_verification",
        "The director and image repository over TLS with certificate verification.",
        &[
            (
                "the director and image repository are served over https",
                vehicle.config.director.starts_with("https://")
                    && vehicle.config.image_repository.starts_with("https://"),
            ),
            (
                "a primary that does not trust the server's CA refuses to talk to it",
                failed_with(&unknown_issuer, &["UnknownIssuer", "certificate"]),
            ),
            (
                "a certificate that does not name the host reached is refused",
                failed_with(&wrong_name, &["NotValidForName", "certificate"]),
            ),
            ("plain HTTP to the TLS listener gets nowhere", plain_http.is_err()),
            ("nothing was installed over an unverified connection", untouched),
            (
                "with the right CA the update installs on every ECU",
                vehicle.running().values().all(|p| p.ends_with("/fw-2.bin")),
            ),
        ],
    );
}

#[test]
fn evidence_ecus_take_time_only_from_the_director_and_a_forged_time_changes_nothing() {
    let mut vehicle = Vehicle::new(firmware());
    vehicle.cycle().unwrap();
    let now = chrono::Utc::now().timestamp();
    let attested = vehicle.trusted_time("brake-1");
    // Someone on the bus claims the year 3000, then the ECU loses power.
    let year_3000 = chrono::DateTime::parse_from_rfc3339("3000-01-01T00:00:00Z").unwrap().timestamp() as u64;
    let address = vehicle.config.secondaries.iter().find(|s| s.serial == "brake-1").unwrap().address.clone();
    let mut link = client_std::primary::link::Link::connect("brake-1", &address).unwrap();
    let _ = link.call(client_embedded::protocol::Request::StartCycle(year_3000));
    drop(link);
    vehicle.start_sim("brake-1", &[]);
    let after = vehicle.trusted_time("brake-1");
    vehicle.assign(&ALL_FW2);
    vehicle.until_done(4);
    evidence(
        "ecus_take_time_only_from_the_director",
        "ECUs take their time only from signed director time attestations carrying their own nonce; an unauthenticated time never sticks.",
        &[
            ("after one cycle the ECU trusts the director's attested time", (now - attested).abs() < 120),
            ("a year-3000 time sent to the ECU's port and a power cycle leave its time as it was", after == attested),
            (
                "the vehicle then installs and confirms firmware 2",
                vehicle.running().values().all(|p| p.ends_with("/fw-2.bin")),
            ),
            (
                "the director records every assignment installed",
                vehicle.assignment_states().values().all(|s| s == "installed"),
            ),
        ],
    );
}

#[test]
fn evidence_the_device_does_not_expose_firmware_images_in_cleartext_on_the_network() {
    let mut vehicle = harness::encrypting_vehicle(harness::BRAKE_DECRYPTION_SECRET);
    // Every byte from the director to the primary, and from the primary to the brake ECU.
    let proxy = Proxy::start(&vehicle.runtime, &vehicle.director_url);
    vehicle.config.director = format!("{}/api/v1", proxy.url);
    vehicle.config.image_repository = format!("{}/api/v1/repo", proxy.url);
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let recorder = received.clone();
    proxy.set(move |_, body| {
        recorder.lock().unwrap().extend_from_slice(&body);
        Reply::Body(body)
    });
    let brake = vehicle.config.secondaries.iter_mut().find(|s| s.serial == "brake-1").unwrap();
    let tap = harness::tap::Tap::start(&brake.address);
    brake.address = tap.address.clone();

    vehicle.assign(&ALL_FW2);
    let reports = vehicle.until_done(4);
    let brake_image = &vehicle.images.target_files["brake/fw-2.bin"];
    let wiper_image = &vehicle.images.target_files["wiper/fw-2.bin"];
    let from_director = received.lock().unwrap().clone();
    let to_brake = tap.sent();
    evidence(
        "the_device_does_not_expose_firmware_images_in_cleartext_on_the_network",
        "An image encrypted for its ECU crosses the director -> primary and primary -> secondary links only as ciphertext: no 64-byte window of its plaintext appears in either stream, and the ECU decrypts, verifies and installs it.",
        &[
            ("the brake ECU runs firmware 2, decrypted and verified", vehicle.running()["brake-1"] == "brake/fw-2.bin"),
            ("the director marks it installed", vehicle.assignment_state("brake-1", "brake/fw-2.bin") == "installed"),
            (
                "its director targets carried an encryption block",
                from_director.windows(25).any(|w| w == b"x25519-hkdf-sha256-a128kw"),
            ),
            (
                "no plaintext window from the director to the primary",
                !harness::tap::exposes(&from_director, brake_image),
            ),
            ("no plaintext window from the primary to the brake ECU", !harness::tap::exposes(&to_brake, brake_image)),
            (
                "the recorder sees cleartext where it is sent (the wiper's image)",
                harness::tap::exposes(&from_director, wiper_image),
            ),
            ("the recorder saw the brake ECU's whole transfer", to_brake.len() > brake_image.len()),
            ("done within 4 cycles", reports.len() <= 4),
        ],
    );
}

#[test]
fn evidence_a_secondary_with_the_wrong_decryption_key_refuses_and_keeps_its_image() {
    // The director holds another key for the brake ECU than the one the ECU has.
    let vehicle = harness::encrypting_vehicle([0x43; 32]);
    vehicle.assign(&[("brake-hw", "brake/fw-2.bin")]);
    let report = vehicle.cycle().unwrap();
    let refused = matches!(&report.ecus["brake-1"], EcuOutcome::Failed(why) if why.refused_with() == Some(AttackCode::BAD_KEY_WRAP));
    vehicle.cycle().unwrap(); // the next version report carries the attack code
    let reported =
        vehicle.status()["ecus"].as_array().unwrap().iter().any(|e| e["serial"] == "brake-1" && e["attack"] == 12);
    evidence(
        "a_secondary_with_the_wrong_decryption_key_refuses_and_keeps_its_image",
        "An ECU whose decryption key is not the one the director wrapped the image's key for refuses the image before writing it (bad-key-wrap), keeps its image, and reports the refusal.",
        &[
            ("the brake ECU refused with bad-key-wrap", refused),
            ("it still runs its factory image", vehicle.running()["brake-1"].contains("factory")),
            ("the director sees the attack code in its report", reported),
        ],
    );
}

#[test]
fn evidence_a_whole_vehicle_is_decommissioned_and_refused_afterwards() {
    let mut vehicle = Vehicle::new(firmware());
    vehicle.until_done(2);
    let nonce = vehicle.decommission();
    assert_eq!(vehicle.decommission_state(), "command_issued");
    let report = vehicle.cycle().unwrap();
    assert_eq!(
        report.decommission,
        Some(client_std::primary::DecommissionOutcome::Done { nonce: nonce.clone() }),
        "{:#?}",
        report.steps
    );
    let reopened = Primary::open(vehicle.config.clone());
    let refused_again = matches!(reopened, Err(client_std::Error::Decommissioned { .. }));
    let state = vehicle.decommission_state();
    let (status, _) = vehicle.admin_call("GET", &format!("/vehicles/{}", harness::VIN), serde_json::Value::Null);
    let events = vehicle.events();
    let acknowledged = events.iter().any(|e| e["kind"] == "decommission-acknowledged");
    let mut checks: Vec<(String, bool)> = vec![
        ("the director holds the vehicle decommissioned".into(), state == "decommissioned"),
        ("the acknowledgement is in the vehicle's events".into(), acknowledged),
        ("the primary runs no more cycles".into(), refused_again),
        ("the vehicle's record stays readable to administrators".into(), status == 200),
    ];
    checks.extend(vehicle.erased_and_kept());
    for serial in ["brake-1", "wiper-1"] {
        let done = vehicle.secondary_decommissioned(serial);
        checks.push((format!("{serial} acknowledged, erased its key and answers as decommissioned"), done));
    }
    let acked = events.iter().find(|e| e["kind"] == "decommission-acknowledged").map(|e| e["detail"].to_string());
    checks.push((
        "the secondaries' signed acknowledgements reached the director".into(),
        acked.is_some_and(|d| d.contains("brake-1") && d.contains("wiper-1")),
    ));
    let checks: Vec<(&str, bool)> = checks.iter().map(|(w, ok)| (w.as_str(), *ok)).collect();
    evidence(
        "a_whole_vehicle_is_decommissioned_and_refused_afterwards",
        "an end-of-life vehicle is decommissioned: keys and credentials erased, its deactivation logged",
        &checks,
    );
}

#[test]
fn evidence_attack_decommission_command_signed_by_the_director_alone_is_refused_by_the_primary() {
    let mut vehicle = Vehicle::new(firmware());
    vehicle.decommission();
    // The image repository's command is gone (never signed, as with a stolen online
    // director key): the director's targets alone carry it.
    let path = metadata_schemas::uptane::command_path(&metadata_schemas::uptane::Vin::new(harness::VIN).unwrap());
    vehicle.images.targets.get_mut(&RoleName::targets()).unwrap().targets.remove(&path);
    vehicle.images.touch(&RoleName::targets());
    vehicle.images.publish();
    vehicle.publish_images();
    let report = vehicle.cycle().unwrap();
    let refused = matches!(report.decommission, Some(client_std::primary::DecommissionOutcome::Refused(_)));
    let checks = [
        ("the primary refuses the command", refused),
        (
            "the secondaries keep their keys",
            !vehicle.secondary_decommissioned("brake-1") && !vehicle.secondary_decommissioned("wiper-1"),
        ),
        ("its key is kept", vehicle.config.key.exists()),
        (
            "no decommissioning journal is written",
            client_std::primary::decommission::read_journal(&vehicle.config.state_dir).unwrap().is_none(),
        ),
        ("the director still waits for an acknowledgement", vehicle.decommission_state() == "command_issued"),
    ];
    evidence(
        "attack_decommission_command_signed_by_the_director_alone_is_refused_by_the_primary",
        "one stolen online key cannot decommission a vehicle: both repositories must sign the command",
        &checks,
    );
}

#[test]
fn evidence_a_security_update_is_delivered_and_its_users_are_told() {
    use metadata_schemas::json::{Object, Value};
    let mut images = firmware();
    let targets = images.targets.get_mut(&RoleName::targets()).unwrap();
    let file = targets.targets.get_mut(&metadata_schemas::TargetPath::new("gateway/fw-2.bin")).unwrap();
    let Some(Value::Object(custom)) = file.custom.as_mut() else { panic!("the image has custom") };
    // As `repo-tool targets add --advisory` and `repo-tool lifecycle set` write them.
    custom.insert("security", Value::Bool(true));
    custom.insert("advisories", Value::Array(vec![Value::string("CVE-2026-0042".to_string())]));
    let mut lifecycle = Object::new();
    lifecycle.insert("record", Value::string("lifecycle/gateway-hw.json".to_string()));
    lifecycle.insert("end_of_security_support", Value::string("2031-12-31T00:00:00Z".to_string()));
    custom.insert("lifecycle", Value::Object(lifecycle));
    images.touch(&RoleName::targets());
    images.publish();
    let vehicle = Vehicle::new(images);
    vehicle.assign(&ALL_FW2);
    let first = vehicle.cycle().unwrap();
    let told = first.notices.get("gateway-1").map(|n| n.words()).unwrap_or_default();
    let reports = vehicle.until_done(4);
    let status = client_std::primary::status::status(&vehicle.config, chrono::Utc::now().timestamp()).unwrap();
    let shown = status.lines().join("\n");
    evidence(
        "a_security_update_is_delivered_and_its_users_are_told",
        "Updates are delivered and users informed: the primary says which update it installs, that it is a security update and which advisory it fixes, and how long the hardware's security support lasts.",
        &[
            (
                "the cycle that installs it names it a security update with its advisory",
                told.contains("a security update: CVE-2026-0042"),
            ),
            ("and the hardware's end of security support", told.contains("security support until 2031-12-31")),
            (
                "the update is installed and confirmed on every ECU",
                reports.last().is_some_and(|r| r.ecus.values().all(|o| o.is_up_to_date())),
            ),
            (
                "update-client status shows the support period offline",
                shown.contains("gateway-hw: security support until 2031-12-31"),
            ),
        ],
    );
}

#[test]
fn evidence_recovery_when_both_slots_are_corrupted() {
    let mut vehicle = Vehicle::new(firmware());
    vehicle.assign(&[("brake-hw", "brake/fw-2.bin")]);
    vehicle.until_done(4);
    let updated = vehicle.running()["brake-1"] == "brake/fw-2.bin";
    // Both of brake-1's slots rot while it is off: the factory image and firmware 2.
    vehicle.sims.remove("brake-1");
    let flash = vehicle.dir.path().join("brake-1.flash");
    let layout = client_embedded::ecu_sim::flash_layout(131072, false);
    let mut bytes = std::fs::read(&flash).unwrap();
    for slot in layout.slots {
        bytes[slot.start as usize + 10] ^= 0x40;
    }
    std::fs::write(&flash, bytes).unwrap();
    vehicle.start_sim("brake-1", &[]);
    let no_slot_runs = vehicle.running()["brake-1"].is_empty();
    // A service technician brings the current firmware on a USB stick.
    let key = harness::offline_updates_key(&vehicle);
    let spec = repo_simulator::offline::OfflineSpec::new(chrono::Utc::now(), "-", b"", "-", 0);
    let bundle = harness::offline_bundle(&vehicle, "usb", &["brake/fw-2.bin"], spec, &key);
    let report = Primary::open(vehicle.config.clone()).unwrap().offline(&bundle, chrono::Utc::now()).unwrap();
    let handed_over = matches!(report.ecus["brake-1"], EcuOutcome::Installing(_));
    let reports = vehicle.until_done(4);
    let confirmed = reports.last().is_some_and(|r| r.ecus.values().all(|o| o.is_up_to_date()));
    let recovered = vehicle.running()["brake-1"] == "brake/fw-2.bin";
    let told = vehicle.status()["offline_installs"].as_array().is_some_and(|i| i.iter().any(|i| i["ecu"] == "brake-1"));
    evidence(
        "recovery_when_both_slots_are_corrupted",
        "a device whose both slots are corrupted is not bricked: it boots its factory image and is recovered \
         with a signed offline bundle, with the same checks as an online update",
        &[
            ("brake-1 ran firmware 2 before its slots were corrupted", updated),
            ("with both slots corrupted, no slot runs: the factory image boots and serves the protocol", no_slot_runs),
            ("the offline bundle's image was verified and handed over", handed_over),
            ("it ran as a trial and confirmed: every ECU is up to date", confirmed),
            ("brake-1 runs firmware 2 again", recovered),
            ("the next online manifest told the director it was installed offline", told),
        ],
    );
}
