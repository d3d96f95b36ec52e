//! The same python-tuf repositories read by tough (awslabs) and by our client give the
//! same target info: the same paths, lengths, hashes and custom data.

use std::path::{Path, PathBuf};

use client_std::{DirectoryTransport, Updater, UpdaterConfig};
use tough::{ExpirationEnforcement, FilesystemTransport, RepositoryLoader};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/python-tuf").join(name).canonicalize().unwrap()
}

fn file_url(dir: &Path) -> url::Url {
    url::Url::from_directory_path(dir).unwrap()
}

/// Every target tough sees, as (path, length, sha256 hex, custom JSON).
async fn with_tough(repo: &Path) -> Vec<(String, u64, String, serde_json::Value)> {
    let root = std::fs::read(repo.join("metadata/1.root.json")).unwrap();
    let loaded = RepositoryLoader::new(&root, file_url(&repo.join("metadata")), file_url(&repo.join("targets")))
        .transport(FilesystemTransport)
        .expiration_enforcement(ExpirationEnforcement::Safe)
        .load()
        .await
        .unwrap_or_else(|e| panic!("tough cannot load {}: {e}", repo.display()));
    let mut out: Vec<_> = loaded
        .all_targets()
        .map(|(name, target)| {
            let custom = serde_json::to_value(&target.custom).unwrap();
            (name.raw().to_string(), target.length, hex(&target.hashes.sha256), custom)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn hex(bytes: &[u8]) -> String {
    metadata_schemas::hex::encode(bytes)
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

#[tokio::test]
async fn tough_and_update_client_agree_on_every_target() {
    // Every fixture but succinct-bins: tough 0.24 does not implement TAP 15 succinct
    // delegations ("missing field `roles`").
    for name in ["ecdsa-basic", "ed25519-delegations", "rsa-hashed-bins", "rotated-root"] {
        let repo = fixture(name);
        let theirs = with_tough(&repo).await;
        assert!(!theirs.is_empty(), "{name}");
        let paths: Vec<String> = theirs.iter().map(|t| t.0.clone()).collect();
        let ours = with_client(&repo, &paths);
        assert_eq!(ours, theirs, "{name}");
    }
}
