//! A primary killed at every step of its decommissioning ends decommissioned all the
//! same: acknowledged once, its keys erased, its trust roots and factory image kept. (The
//! whole vehicle's decommissioning and the director-alone attack are evidence tests, in
//! `evidence.rs`.)

mod harness;

use std::path::Path;
use std::process::{Command, Stdio};

use client_std::primary::{DecommissionOutcome, Primary, PrimaryConfig, Progress};
use harness::{Vehicle, firmware};

/// The steps of a decommissioning cycle after which a kill lands.
fn is_decommission_step(text: &str) -> bool {
    text.starts_with("both repositories command")
        || text.ends_with(": acknowledged and erased its key")
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

#[test]
fn a_primary_killed_at_every_step_of_its_decommissioning_ends_decommissioned() {
    // Seven decommissioning steps: the journal, each secondary's acknowledgement, the
    // director's, two erases, done.
    for cut_after in 1..=7 {
        let mut vehicle = Vehicle::new(firmware());
        vehicle.decommission();
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
        assert_eq!(vehicle.decommission_state(), "decommissioned", "cut after step {cut_after}");
        for (what, ok) in vehicle.erased_and_kept() {
            assert!(ok, "cut after step {cut_after}: {what}");
        }
        for serial in ["brake-1", "wiper-1"] {
            assert!(vehicle.secondary_decommissioned(serial), "cut after step {cut_after}: {serial}");
        }
    }
}
