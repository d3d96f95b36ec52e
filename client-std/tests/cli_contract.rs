//! `update-client` against the common TUF client contract (shared/TUF-CLIENT-CLI.md):
//! the commands, exit codes, exact requests, and what may be on disk afterwards.

mod common;

use common::{Cli, Fault, Repo, assert_failure, assert_success};
use metadata_schemas::{RoleName, Version};

const FIRMWARE: &[u8] = b"firmware image, version 2\n";

fn repo_with_target() -> Repo {
    let mut repo = Repo::new();
    repo.sim.add_target(&RoleName::targets(), "fw/app.bin", FIRMWARE, None);
    repo.sim.publish();
    repo.serve();
    repo
}

/// Publishes new content for `fw/app.bin`.
fn republish(repo: &mut Repo, content: &[u8]) {
    repo.sim.add_target(&RoleName::targets(), "fw/app.bin", content, None);
    repo.sim.publish();
    repo.serve();
}

fn initialized(repo: &Repo) -> Cli {
    let cli = Cli::new();
    assert_success(&cli.init(&repo.sim.file("1.root.json")));
    repo.server.clear_log();
    cli
}

#[test]
fn init_copies_the_trusted_root_and_makes_no_request() {
    let repo = Repo::new();
    let cli = Cli::new();
    assert_success(&cli.init(&repo.sim.file("1.root.json")));
    assert_eq!(std::fs::read(cli.md.join("root.json")).unwrap(), repo.sim.file("1.root.json"));
    assert_eq!(cli.md_files(), ["root.json"]);
    assert!(repo.server.log().is_empty());
}

#[test]
fn first_refresh_makes_exactly_the_needed_requests() {
    let repo = Repo::new();
    let cli = initialized(&repo);
    assert_success(&cli.refresh(&repo));
    assert_eq!(repo.metadata_requests(), ["2.root.json", "timestamp.json", "1.snapshot.json", "1.targets.json"]);
    assert_eq!(cli.md_files(), ["root.json", "snapshot.json", "targets.json", "timestamp.json"]);
}

#[test]
fn refresh_with_nothing_new_fetches_only_root_and_timestamp() {
    let repo = Repo::new();
    let cli = initialized(&repo);
    assert_success(&cli.refresh(&repo));
    repo.server.clear_log();
    assert_success(&cli.refresh(&repo));
    assert_eq!(repo.metadata_requests(), ["2.root.json", "timestamp.json"]);
}

#[test]
fn local_root_not_signed_by_its_own_keys_fails_before_any_request() {
    let repo = Repo::new();
    let cli = Cli::new();
    let mut root = repo.sim.root.clone();
    root.common.version = Version::new(1).unwrap();
    let unsigned = metadata_schemas::Signed::unsigned(root).to_pretty_json();
    assert_success(&cli.init(&unsigned));
    repo.server.clear_log();
    let stderr = assert_failure(&cli.refresh(&repo));
    assert!(stderr.contains("root: 0 of 1 signatures"), "{stderr}");
    assert!(repo.server.log().is_empty(), "{:?}", repo.server.log());
}

#[test]
fn download_verifies_and_stores_under_a_stable_name() {
    let repo = repo_with_target();
    let cli = initialized(&repo);
    assert_success(&cli.download(&repo, &["fw/app.bin"]));
    assert_eq!(cli.td_files(), ["fw%2Fapp.bin"]);
    assert_eq!(std::fs::read(cli.td.join("fw%2Fapp.bin")).unwrap(), FIRMWARE);
    let sha = metadata_schemas::hex::encode(&threshold_keys::digest::sha256(FIRMWARE));
    assert_eq!(repo.target_requests(), [format!("fw/{sha}.app.bin")], "hash-prefixed with consistent snapshots");
}

#[test]
fn a_target_already_present_and_valid_is_not_downloaded_again() {
    let repo = repo_with_target();
    let cli = initialized(&repo);
    assert_success(&cli.download(&repo, &["fw/app.bin"]));
    repo.server.clear_log();
    assert_success(&cli.download(&repo, &["fw/app.bin"]));
    assert!(repo.target_requests().is_empty());
}

#[test]
fn changed_target_content_overwrites_the_local_file() {
    let mut repo = repo_with_target();
    let cli = initialized(&repo);
    assert_success(&cli.download(&repo, &["fw/app.bin"]));
    republish(&mut repo, b"version 3");
    assert_success(&cli.download(&repo, &["fw/app.bin"]));
    assert_eq!(std::fs::read(cli.td.join("fw%2Fapp.bin")).unwrap(), b"version 3");
}

#[test]
fn malicious_target_leaves_nothing_behind_and_keeps_the_old_file() {
    let mut repo = repo_with_target();
    let cli = initialized(&repo);
    assert_success(&cli.download(&repo, &["fw/app.bin"]));
    republish(&mut repo, b"version 3");
    let sha = metadata_schemas::hex::encode(&threshold_keys::digest::sha256(b"version 3"));
    repo.server.put(&format!("targets/fw/{sha}.app.bin"), b"evil!!!!!".to_vec()); // same length
    let stderr = assert_failure(&cli.download(&repo, &["fw/app.bin"]));
    assert!(stderr.contains("target fw/app.bin: sha256 differs"), "{stderr}");
    assert_eq!(cli.td_files(), ["fw%2Fapp.bin"], "no temporary file remains");
    assert_eq!(std::fs::read(cli.td.join("fw%2Fapp.bin")).unwrap(), FIRMWARE, "old file untouched");
}

#[test]
fn endless_target_data_is_cut_off_and_nothing_is_kept() {
    let repo = repo_with_target();
    let cli = initialized(&repo);
    let sha = metadata_schemas::hex::encode(&threshold_keys::digest::sha256(FIRMWARE));
    repo.server.fault(&format!("targets/fw/{sha}.app.bin"), Fault::Endless);
    let stderr = assert_failure(&cli.download(&repo, &["fw/app.bin"]));
    assert!(stderr.contains("endless data"), "{stderr}");
    assert!(cli.td_files().is_empty());
}

#[test]
fn truncated_target_is_refused_and_nothing_is_kept() {
    let repo = repo_with_target();
    let cli = initialized(&repo);
    let sha = metadata_schemas::hex::encode(&threshold_keys::digest::sha256(FIRMWARE));
    repo.server.fault(&format!("targets/fw/{sha}.app.bin"), Fault::Truncate(5));
    assert_failure(&cli.download(&repo, &["fw/app.bin"]));
    assert!(cli.td_files().is_empty());
}

#[test]
fn unknown_target_fails_and_stops_at_the_first_failure() {
    let repo = repo_with_target();
    let cli = initialized(&repo);
    let stderr = assert_failure(&cli.download(&repo, &["missing.bin", "fw/app.bin"]));
    assert!(stderr.contains("missing.bin"), "{stderr}");
    assert!(cli.td_files().is_empty(), "the second target is not attempted");
}

#[test]
fn endless_metadata_is_cut_off() {
    let repo = Repo::new();
    let cli = initialized(&repo);
    repo.server.fault("metadata/timestamp.json", Fault::Endless);
    let stderr = assert_failure(&cli.refresh(&repo));
    assert!(stderr.contains("timestamp: longer than 16384 bytes"), "{stderr}");
    assert_eq!(cli.md_files(), ["root.json"]);
}

#[test]
fn server_errors_and_unreachable_servers_exit_1() {
    let repo = Repo::new();
    let cli = initialized(&repo);
    repo.server.fault("metadata/timestamp.json", Fault::Status(500));
    let stderr = assert_failure(&cli.refresh(&repo));
    assert!(stderr.contains("HTTP status 500"), "{stderr}");
    let out = cli.run(&["--metadata-url", "http://127.0.0.1:9/", "--metadata-dir", common::s(&cli.md), "refresh"]);
    assert_failure(&out);
}

#[test]
fn usage_errors_exit_1_and_help_exits_0() {
    let cli = Cli::new();
    assert_failure(&cli.run(&[]));
    assert_failure(&cli.run(&["--metadata-dir"]));
    assert_failure(&cli.run(&["frobnicate"]));
    assert_failure(&cli.run(&["--metadata-dir", common::s(&cli.md), "refresh"])); // no --metadata-url
    let help = cli.run(&["--help"]);
    assert_success(&help);
    let text = String::from_utf8_lossy(&help.stdout);
    for command in ["init TRUSTED_ROOT_FILE", "refresh", "download", "--target-name"] {
        assert!(text.contains(command), "{text}");
    }
}

#[test]
fn options_may_come_in_any_order() {
    let repo = repo_with_target();
    let cli = initialized(&repo);
    let (murl, turl) = (repo.metadata_url(), repo.targets_url());
    let out = cli.run(&[
        "--target-name",
        "fw/app.bin",
        "download",
        "--target-dir",
        common::s(&cli.td),
        "--metadata-dir",
        common::s(&cli.md),
        "--target-base-url",
        &turl,
        "--metadata-url",
        &murl,
    ]);
    assert_success(&out);
    assert_eq!(cli.td_files(), ["fw%2Fapp.bin"]);
}

#[test]
fn a_bad_snapshot_leaves_the_new_root_and_timestamp_trusted() {
    let mut repo = Repo::new();
    let cli = initialized(&repo);
    assert_success(&cli.refresh(&repo));
    repo.sim.publish_root();
    repo.sim.publish();
    repo.serve();
    let text = String::from_utf8(repo.sim.file("2.snapshot.json")).unwrap().replacen(
        "\"expires\": \"20",
        "\"expires\": \"21",
        1,
    );
    repo.server.put("metadata/2.snapshot.json", text.into_bytes());
    let stderr = assert_failure(&cli.refresh(&repo));
    assert!(stderr.contains("snapshot: 0 of 1 signatures"), "{stderr}");
    assert_eq!(
        (cli.version("root.json"), cli.version("timestamp.json"), cli.version("snapshot.json")),
        (Some(2), Some(2), Some(1))
    );
}

#[test]
fn an_expired_new_root_is_persisted_then_the_refresh_fails() {
    let mut repo = Repo::new();
    let cli = initialized(&repo);
    repo.sim.root.common.expires = repo_simulator::expires_in(chrono::Utc::now(), -1);
    repo.sim.publish_root();
    repo.serve();
    let stderr = assert_failure(&cli.refresh(&repo));
    assert!(stderr.contains("root v2: expired"), "{stderr}");
    assert_eq!(cli.version("root.json"), Some(2));
}

#[test]
fn metadata_directory_never_holds_unverified_or_temporary_files() {
    let repo = repo_with_target();
    let cli = initialized(&repo);
    let current = RoleName::targets().versioned_file_name(repo.sim.targets[&RoleName::targets()].common.version);
    repo.server.put(&format!("metadata/{current}"), b"{\"garbage\": true}".to_vec());
    assert_failure(&cli.refresh(&repo));
    assert_eq!(cli.md_files(), ["root.json", "snapshot.json", "timestamp.json"]);
}

#[test]
fn slow_retrieval_one_byte_at_a_time_ends_the_client_with_a_failure() {
    let repo = Repo::new();
    let cli = initialized(&repo);
    let trickle = Fault::Trickle { interval: std::time::Duration::from_millis(100), limit: 200 };
    repo.server.fault("metadata/timestamp.json", trickle);
    let start = std::time::Instant::now();
    let args = ["--min-rate", "1000", "--rate-window", "1", "--metadata-url", &repo.metadata_url()];
    let out = cli.run(&[&args[..], &["--metadata-dir", common::s(&cli.md), "refresh"]].concat());
    let stderr = assert_failure(&out);
    assert!(stderr.contains("slow retrieval"), "{stderr}");
    assert!(start.elapsed() < std::time::Duration::from_secs(10), "ran {:?}", start.elapsed());
    assert_eq!(cli.md_files(), ["root.json"]);
}
