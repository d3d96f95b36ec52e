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
    config.timeouts = Timeouts { connect: Duration::from_secs(2), read: Duration::from_millis(500) };
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
