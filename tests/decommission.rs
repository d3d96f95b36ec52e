//! Decommissioning a whole vehicle (director, primary, ecu-sim secondaries): the command
//! goes out once the image repository signs the same one, the primary acknowledges it in
//! a last signed manifest and erases its keys, and the director refuses the vehicle from
//! then on. A primary killed at every step of it ends decommissioned all the same; one
//! that sees the command from the director alone erases nothing.

mod harness;

use std::path::Path;
use std::process::{Command, Stdio};

use client_std::primary::{DecommissionOutcome, Primary, PrimaryConfig, Progress};
use harness::{VIN, Vehicle, evidence, firmware};
use metadata_schemas::uptane::{DecommissionCommand, EraseItem, Vin, command_path};
use metadata_schemas::{Encode, RoleName, UtcTime};

/// Asks the director to decommission the vehicle and has the image repository sign the
/// same command (as `repo-tool decommission` does), then lets the director see it.
fn decommission(vehicle: &mut Vehicle) -> String {
    let request =
        vehicle.admin("POST", &format!("/vehicles/{VIN}/decommission"), serde_json::json!({"reason": "end of life"}));
    let nonce = request["nonce"].as_str().unwrap().to_string();
    let command = DecommissionCommand {
        vin: Vin::new(VIN).unwrap(),
        nonce: nonce.clone(),
        issued: UtcTime::new(chrono::Utc::now()),
        erase: EraseItem::ALL.to_vec(),
        unknown: Default::default(),
    };
    let bytes = metadata_schemas::json::to_canonical(&command.encode());
    vehicle.images.add_target(&RoleName::targets(), command_path(&command.vin).as_str(), &bytes, None);
    vehicle.images.publish();
    vehicle.publish_images();
    let progress = vehicle.runtime.block_on(vehicle.service.follow_decommissions(chrono::Utc::now())).unwrap();
    assert_eq!(progress.issued, 1);
    nonce
}

fn director_state(vehicle: &Vehicle) -> String {
    let record = vehicle.admin("GET", &format!("/vehicles/{VIN}/decommission"), serde_json::Value::Null);
    record["state"].as_str().unwrap().to_string()
}

/// The steps of a decommissioning cycle after which a kill lands.
fn is_decommission_step(text: &str) -> bool {
    text.starts_with("both repositories command")
        || text.starts_with("the director took the decommission")
        || text.starts_with("erased ")
        || text.starts_with("decommissioned:")
}

/// Run by [`killed_after`] in a child process: one cycle that aborts the process (no
/// unwinding, no clean-up) right after its `CUT_AFTER`-th decommissioning step.
#[test]
fn decommission_process() {
    let Ok(path) = std::env::var("PRIMARY_CONFIG") else { return };
    let cut_after: usize = std::env::var("CUT_AFTER").unwrap().parse().unwrap();
    let config = PrimaryConfig::load(Path::new(&path)).unwrap();
    let mut seen = 0;
    let mut primary = Primary::open(config).unwrap().with_observer(move |progress| {
        if let Progress::Step(text) = progress {
            if is_decommission_step(text) {
                seen += 1;
                if seen == cut_after {
                    std::process::abort();
                }
            }
        }
    });
    primary.cycle(chrono::Utc::now()).unwrap();
}

/// Runs a primary's cycle in a child process killed after its `cut_after`-th
/// decommissioning step; whether it was killed.
fn killed_after(vehicle: &Vehicle, cut_after: usize) -> bool {
    let path = vehicle.dir.path().join("primary.json");
    std::fs::write(&path, serde_json::to_vec(&vehicle.config_json()).unwrap()).unwrap();
    let status = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "decommission_process", "--nocapture", "--test-threads=1"])
        .env("PRIMARY_CONFIG", &path)
        .env("CUT_AFTER", cut_after.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    !status.success()
}

/// What a decommissioned primary must have erased and kept.
fn erased_and_kept(vehicle: &Vehicle) -> Vec<(String, bool)> {
    let config = &vehicle.config;
    let journal = client_std::primary::decommission::read_journal(&config.state_dir).unwrap();
    vec![
        ("the primary's ECU key is erased".into(), !config.key.exists()),
        ("the downloads are erased".into(), !config.state_dir.join("downloads").exists()),
        (
            "the journal says done".into(),
            journal.is_some_and(|j| j.stage == client_std::primary::decommission::Stage::Done),
        ),
        ("the trusted director root is kept".into(), config.state_dir.join("director/root.json").exists()),
        ("the trusted image repository root is kept".into(), config.state_dir.join("images/root.json").exists()),
        ("the factory image is kept".into(), std::fs::read(&config.own_image.slots[0]).unwrap() == b"gateway factory"),
    ]
}

#[test]
fn a_whole_vehicle_is_decommissioned_and_refused_afterwards() {
    let mut vehicle = Vehicle::new(firmware());
    vehicle.until_done(2);
    let nonce = decommission(&mut vehicle);
    assert_eq!(director_state(&vehicle), "command_issued");
    let report = vehicle.cycle().unwrap();
    assert_eq!(report.decommission, Some(DecommissionOutcome::Done { nonce: nonce.clone() }), "{:#?}", report.steps);
    let reopened = Primary::open(vehicle.config.clone());
    let refused_again = matches!(reopened, Err(client_std::Error::Decommissioned { .. }));
    let state = director_state(&vehicle);
    let (status, _) = vehicle.admin_call("GET", &format!("/vehicles/{VIN}"), serde_json::Value::Null);
    let events = vehicle.events();
    let acknowledged = events.iter().any(|e| e["kind"] == "decommission-acknowledged");
    let mut checks: Vec<(String, bool)> = vec![
        ("the director holds the vehicle decommissioned".into(), state == "decommissioned"),
        ("the acknowledgement is in the vehicle's events".into(), acknowledged),
        ("the primary runs no more cycles".into(), refused_again),
        ("the vehicle's record stays readable to administrators".into(), status == 200),
    ];
    checks.extend(erased_and_kept(&vehicle));
    let checks: Vec<(&str, bool)> = checks.iter().map(|(w, ok)| (w.as_str(), *ok)).collect();
    evidence(
        "a_whole_vehicle_is_decommissioned_and_refused_afterwards",
        "an end-of-life vehicle is decommissioned: keys and credentials erased, its deactivation logged",
        &checks,
    );
}

#[test]
fn a_primary_killed_at_every_step_of_its_decommissioning_ends_decommissioned() {
    // Five decommissioning steps: the journal, the acknowledgement, two erases, done.
    for cut_after in 1..=5 {
        let mut vehicle = Vehicle::new(firmware());
        decommission(&mut vehicle);
        assert!(killed_after(&vehicle, cut_after), "cut after step {cut_after}: the process was not killed");
        // Power comes back: the primary starts again and finishes the job.
        let outcome = match Primary::open(vehicle.config.clone()) {
            Ok(mut primary) => primary.cycle(chrono::Utc::now()).map(|r| r.decommission),
            Err(e) => Err(e),
        };
        match outcome {
            Ok(Some(DecommissionOutcome::Done { .. })) | Err(client_std::Error::Decommissioned { .. }) => {}
            other => panic!("cut after step {cut_after}: {other:?}"),
        }
        assert_eq!(director_state(&vehicle), "decommissioned", "cut after step {cut_after}");
        for (what, ok) in erased_and_kept(&vehicle) {
            assert!(ok, "cut after step {cut_after}: {what}");
        }
    }
}

#[test]
fn attack_decommission_command_signed_by_the_director_alone_is_refused_by_the_primary() {
    let mut vehicle = Vehicle::new(firmware());
    decommission(&mut vehicle);
    // The image repository's command is gone (never signed, as with a stolen online
    // director key): the director's targets alone carry it.
    let path = command_path(&Vin::new(VIN).unwrap());
    vehicle.images.targets.get_mut(&RoleName::targets()).unwrap().targets.remove(&path);
    vehicle.images.touch(&RoleName::targets());
    vehicle.images.publish();
    vehicle.publish_images();
    let report = vehicle.cycle().unwrap();
    let refused = matches!(report.decommission, Some(DecommissionOutcome::Refused(_)));
    let checks = [
        ("the primary refuses the command", refused),
        ("its key is kept", vehicle.config.key.exists()),
        (
            "no decommissioning journal is written",
            client_std::primary::decommission::read_journal(&vehicle.config.state_dir).unwrap().is_none(),
        ),
        ("the director still waits for an acknowledgement", director_state(&vehicle) == "command_issued"),
    ];
    evidence(
        "attack_decommission_command_signed_by_the_director_alone_is_refused_by_the_primary",
        "one stolen online key cannot decommission a vehicle: both repositories must sign the command",
        &checks,
    );
}
