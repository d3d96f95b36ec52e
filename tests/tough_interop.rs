//! The same python-tuf repositories read by tough (awslabs) and by our client give the
//! same target info: the same paths, lengths, hashes and custom data.

use std::path::{Path, PathBuf};

use client_std::{DirectoryTransport, Updater, UpdaterConfig};
use repo_simulator::peers;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/python-tuf").join(name).canonicalize().unwrap()
}

fn file_url(dir: &Path) -> String {
    format!("file://{}/", dir.display())
}

/// Every target tough sees, as (path, length, sha256 hex, custom JSON).
fn with_tough(repo: &Path) -> Vec<(String, u64, String, serde_json::Value)> {
    let listed = peers::tough_list(
        &repo.join("metadata/1.root.json"),
        &file_url(&repo.join("metadata")),
        &file_url(&repo.join("targets")),
    )
    .unwrap_or_else(|e| panic!("tough cannot load {}: {e}", repo.display()));
    listed
        .into_iter()
        .map(|t| {
            let name = t["name"].as_str().unwrap().to_string();
            (name, t["length"].as_u64().unwrap(), t["sha256"].as_str().unwrap().to_string(), t["custom"].clone())
        })
        .collect()
}

/// The same, from our client (each path resolved through the delegation search).
fn with_client(repo: &Path, paths: &[String]) -> Vec<(String, u64, String, serde_json::Value)> {
    let work = tempfile::tempdir().unwrap();
    std::fs::copy(repo.join("metadata/1.root.json"), work.path().join("root.json")).unwrap();
    let metadata_url = format!("{}/", repo.join("metadata").display());
    let config = UpdaterConfig::new(work.path(), &metadata_url, "");
    let mut updater = Updater::with_transport(config, DirectoryTransport).unwrap();
    updater.refresh().unwrap();
    paths
        .iter()
        .map(|path| {
            let info = updater.get_target_info(path).unwrap().unwrap_or_else(|| panic!("{path} not found"));
            let sha256 = info.file.hashes.get(metadata_schemas::HashAlgorithm::Sha256).unwrap().to_hex();
            let custom = match &info.file.custom {
                Some(value) => serde_json::from_slice(&metadata_schemas::json::to_canonical(value)).unwrap(),
                None => serde_json::json!({}),
            };
            (path.clone(), info.file.length, sha256, custom)
        })
        .collect()
}

#[test]
fn tough_and_update_client_agree_on_every_target() {
    // Every fixture but succinct-bins: tough 0.24 does not implement TAP 15 succinct
    // delegations ("missing field `roles`").
    for name in ["ecdsa-basic", "ed25519-delegations", "rsa-hashed-bins", "rotated-root"] {
        let repo = fixture(name);
        let theirs = with_tough(&repo);
        assert!(!theirs.is_empty(), "{name}");
        let paths: Vec<String> = theirs.iter().map(|t| t.0.clone()).collect();
        let ours = with_client(&repo, &paths);
        assert_eq!(ours, theirs, "{name}");
    }
}
