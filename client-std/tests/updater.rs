//! The `Updater` library: slow and hanging servers are bounded by timeouts, and a
//! stalled download leaves nothing behind.

mod common;

use std::time::Duration;

use client_std::{Error, Timeouts, Updater, UpdaterConfig};
use common::{Fault, Repo};
use metadata_schemas::RoleName;

fn updater(repo: &Repo, dir: &std::path::Path) -> Updater {
    std::fs::write(dir.join("root.json"), repo.sim.file("1.root.json")).unwrap();
    let mut config = UpdaterConfig::new(dir, &repo.metadata_url(), &repo.targets_url());
    config.timeouts =
        Timeouts { connect: Duration::from_secs(2), read: Duration::from_millis(500), ..Timeouts::default() };
    Updater::new(config).unwrap()
}

#[test]
fn a_server_that_stalls_mid_response_is_cut_off_by_the_read_timeout() {
    let repo = Repo::new();
    let dir = tempfile::tempdir().unwrap();
    let mut updater = updater(&repo, dir.path());
    repo.server.fault("metadata/timestamp.json", Fault::Stall(10));
    let err = updater.refresh().unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err}");
    assert!(err.to_string().to_lowercase().contains("timeout"), "{err}");
}

#[test]
fn a_stalled_target_download_keeps_nothing() {
    let mut repo = Repo::new();
    let content = vec![7u8; 100_000];
    repo.sim.add_target(&RoleName::targets(), "big.bin", &content, None);
    repo.sim.publish();
    repo.serve();
    let dir = tempfile::tempdir().unwrap();
    let targets = tempfile::tempdir().unwrap();
    let mut updater = updater(&repo, dir.path());
    updater.refresh().unwrap();
    let info = updater.get_target_info("big.bin").unwrap().unwrap();
    let sha = info.file.hashes.first_hex();
    repo.server.fault(&format!("targets/{sha}.big.bin"), Fault::Stall(50_000));
    let mut seen = 0;
    let err = updater.download_target_with_progress(&info, targets.path(), &mut |n| seen = n).unwrap_err();
    assert!(err.to_string().to_lowercase().contains("timeout"), "{err}");
    assert!(seen > 0 && seen < 100_000, "{seen}");
    assert_eq!(std::fs::read_dir(targets.path()).unwrap().count(), 0, "no partial file remains");
}

#[test]
fn operations_before_a_refresh_are_refused() {
    let repo = Repo::new();
    let dir = tempfile::tempdir().unwrap();
    let mut updater = updater(&repo, dir.path());
    assert!(matches!(updater.get_target_info("x"), Err(Error::NotRefreshed)));
}

fn slow_updater(repo: &Repo, dir: &std::path::Path) -> Updater {
    std::fs::write(dir.join("root.json"), repo.sim.file("1.root.json")).unwrap();
    let mut config = UpdaterConfig::new(dir, &repo.metadata_url(), &repo.targets_url());
    config.timeouts = Timeouts {
        connect: Duration::from_secs(2),
        read: Duration::from_secs(2),
        min_rate: 1000,
        rate_window: Duration::from_secs(1),
    };
    Updater::new(config).unwrap()
}

#[test]
fn slow_retrieval_of_the_timestamp_one_byte_at_a_time_is_cut_off() {
    let repo = Repo::new();
    let dir = tempfile::tempdir().unwrap();
    let mut updater = slow_updater(&repo, dir.path());
    // Each byte comes well within the read timeout, so only the rate can stop it.
    let trickle = Fault::Trickle { interval: Duration::from_millis(100), limit: 100 };
    repo.server.fault("metadata/timestamp.json", trickle);
    let start = std::time::Instant::now();
    let err = updater.refresh().unwrap_err();
    assert!(err.to_string().contains("slow retrieval"), "{err}");
    assert!(start.elapsed() < Duration::from_secs(5), "gave up only after {:?}", start.elapsed());
    assert!(!dir.path().join("timestamp.json").exists(), "nothing was kept");
}

#[test]
fn slow_retrieval_of_a_target_is_cut_off_and_keeps_nothing() {
    let mut repo = Repo::new();
    repo.sim.add_target(&RoleName::targets(), "slow.bin", &[9u8; 10_000], None);
    repo.sim.publish();
    repo.serve();
    let dir = tempfile::tempdir().unwrap();
    let targets = tempfile::tempdir().unwrap();
    let mut updater = slow_updater(&repo, dir.path());
    updater.refresh().unwrap();
    let info = updater.get_target_info("slow.bin").unwrap().unwrap();
    let trickle = Fault::Trickle { interval: Duration::from_millis(50), limit: 200 };
    repo.server.fault(&format!("targets/{}.slow.bin", info.file.hashes.first_hex()), trickle);
    let err = updater.download_target(&info, targets.path()).unwrap_err();
    assert!(err.to_string().contains("slow retrieval"), "{err}");
    assert_eq!(std::fs::read_dir(targets.path()).unwrap().count(), 0, "no partial file remains");
}
