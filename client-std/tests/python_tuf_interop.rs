//! Repositories made by python-tuf at test time (in a venv the test creates), served on
//! 127.0.0.1: `update-client` refreshes and downloads every target; tampered,
//! rolled-back and expired variants are refused with the error that names the check.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{Cli, Repo, Server, assert_failure, assert_success, python};

struct PyRepo {
    name: String,
    dir: PathBuf,
    fixture: serde_json::Value,
}

fn repos() -> Vec<PyRepo> {
    let root = python::repositories();
    let mut out: Vec<PyRepo> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| {
            let dir = e.unwrap().path();
            let fixture = serde_json::from_slice(&std::fs::read(dir.join("fixture.json")).unwrap()).unwrap();
            PyRepo { name: dir.file_name().unwrap().to_string_lossy().into(), dir, fixture }
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(out.len(), 5);
    out
}

/// Every file under `dir`, by path relative to it.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                let rel = path.strip_prefix(base).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

impl PyRepo {
    fn serve(&self) -> Server {
        let server = Server::start();
        server.put_all("metadata/", &files(&self.dir.join("metadata")));
        server.put_all("targets/", &files(&self.dir.join("targets")));
        server
    }

    fn metadata(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.dir.join("metadata").join(name)).unwrap()
    }

    fn variant(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.dir.join("variants").join(name)).unwrap()
    }

    fn targets(&self) -> Vec<String> {
        self.fixture["targets"].as_object().unwrap().keys().cloned().collect()
    }

    fn client(&self) -> Cli {
        let cli = Cli::new();
        assert_success(&cli.init(&self.metadata("1.root.json")));
        cli
    }
}

fn as_repo(server: Server) -> Repo {
    Repo { sim: repo_simulator::RepoSim::new(chrono::Utc::now()), server }
}

#[test]
fn python_tuf_repositories_refresh_and_every_target_downloads() {
    for py in repos() {
        let repo = as_repo(py.serve());
        repo.server.clear_log();
        let cli = py.client();
        let targets = py.targets();
        let names: Vec<&str> = targets.iter().map(String::as_str).collect();
        assert_success(&cli.download(&repo, &names));
        for (path, want) in py.fixture["targets"].as_object().unwrap() {
            let local = cli.td.join(metadata_schemas::percent_encode(path));
            let bytes = std::fs::read(&local).unwrap_or_else(|e| panic!("{} {path}: {e}", py.name));
            assert_eq!(bytes.len() as u64, want["length"].as_u64().unwrap());
            assert_eq!(
                metadata_schemas::hex::encode(&threshold_keys::digest::sha256(&bytes)),
                want["sha256"].as_str().unwrap()
            );
        }
        let roots = py.fixture["root_versions"].as_u64().unwrap();
        assert_eq!(cli.version("root.json"), Some(roots), "{}", py.name);
    }
}

#[test]
fn tampered_python_tuf_metadata_is_refused() {
    for py in repos() {
        // Learn which files a client reads, then tamper with each in turn.
        let clean = as_repo(py.serve());
        let cli = py.client();
        clean.server.clear_log();
        let targets = py.targets();
        let names: Vec<&str> = targets.iter().map(String::as_str).collect();
        assert_success(&cli.download(&clean, &names));
        let read: Vec<String> = clean.metadata_requests().into_iter().filter(|f| f != "1.root.json").collect();
        for file in read {
            let Ok(bytes) = std::fs::read(py.dir.join("metadata").join(&file)) else {
                continue;
            }; // a 404 probe
            let text = String::from_utf8(bytes).unwrap();
            let tampered = text.replacen("\"expires\": \"20", "\"expires\": \"21", 1);
            let repo = as_repo(py.serve());
            repo.server.put(&format!("metadata/{file}"), tampered.into_bytes());
            let stderr = assert_failure(&py.client().download(&repo, &names));
            let caught =
                stderr.contains("signatures") || stderr.contains("listed hash") || stderr.contains("bytes, but");
            assert!(caught, "{} tampered {file}: {stderr}", py.name);
        }
    }
}

#[test]
fn rolled_back_python_tuf_root_is_refused() {
    let py = repos().into_iter().find(|r| r.name == "rotated-root").unwrap();
    let repo = as_repo(py.serve());
    repo.server.put("metadata/3.root.json", py.metadata("2.root.json"));
    let stderr = assert_failure(&py.client().refresh(&repo));
    assert!(stderr.contains("root v2: expected version 3 (rollback, TUF 5.3.5)"), "{stderr}");
}

#[test]
fn rolled_back_python_tuf_timestamp_is_refused() {
    let py = repos().into_iter().find(|r| r.name == "ed25519-delegations").unwrap();
    let repo = as_repo(py.serve());
    let cli = py.client();
    repo.server.put("metadata/timestamp.json", py.variant("timestamp-v2.json"));
    assert_success(&cli.refresh(&repo));
    repo.server.put("metadata/timestamp.json", py.metadata("timestamp.json"));
    let stderr = assert_failure(&cli.refresh(&repo));
    assert!(stderr.contains("timestamp v1: older than trusted version 2 (rollback)"), "{stderr}");
    assert_eq!(cli.version("timestamp.json"), Some(2));
}

#[test]
fn expired_python_tuf_timestamp_is_refused() {
    let py = repos().into_iter().find(|r| r.name == "rsa-hashed-bins").unwrap();
    let repo = as_repo(py.serve());
    repo.server.put("metadata/timestamp.json", py.variant("timestamp-expired.json"));
    let stderr = assert_failure(&py.client().refresh(&repo));
    assert!(stderr.contains("timestamp v2: expired at 2020-01-01T00:00:00Z (freeze)"), "{stderr}");
}
