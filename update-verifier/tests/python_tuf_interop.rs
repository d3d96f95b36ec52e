//! Repositories written by python-tuf (testdata/python-tuf, made by
//! scripts/gen_python_tuf_fixtures.py): accepted as written, every target found through
//! the delegations and its content verified; tampered, rolled-back and expired
//! variants refused with the error that names the check.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use common::Client;
use metadata_schemas::{RoleName, Version};
use update_verifier::{Error, Source, TimestampUpdate};

struct Fixture {
    name: String,
    dir: PathBuf,
    files: BTreeMap<String, Vec<u8>>,
    doc: serde_json::Value,
}

fn fixtures() -> Vec<Fixture> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/python-tuf");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&root).unwrap() {
        let dir = entry.unwrap().path();
        let mut files = BTreeMap::new();
        for f in std::fs::read_dir(dir.join("metadata")).unwrap() {
            let f = f.unwrap();
            files.insert(f.file_name().into_string().unwrap(), std::fs::read(f.path()).unwrap());
        }
        let doc = serde_json::from_slice(&std::fs::read(dir.join("fixture.json")).unwrap()).unwrap();
        out.push(Fixture { name: dir.file_name().unwrap().to_string_lossy().into(), dir, files, doc });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(out.len(), 5, "expected the five python-tuf repositories");
    out
}

impl Fixture {
    fn now(&self) -> DateTime<Utc> {
        self.doc["reference_time"].as_str().unwrap().parse().unwrap()
    }

    fn client(&self) -> Client {
        Client::new(self.files["1.root.json"].clone())
    }

    fn target_content(&self, path: &str, sha256: &str) -> Vec<u8> {
        let (dir, base) = path.rsplit_once('/').map_or(("", path), |(d, b)| (d, b));
        std::fs::read(self.dir.join("targets").join(dir).join(format!("{sha256}.{base}"))).unwrap()
    }

    /// The fixture's files with `file` replaced.
    fn with(&self, file: &str, bytes: Vec<u8>) -> BTreeMap<String, Vec<u8>> {
        let mut files = self.files.clone();
        files.insert(file.to_string(), bytes);
        files
    }
}

/// Changes a value inside `signed` without re-signing: the expiry year of the role.
fn tamper(bytes: &[u8]) -> Vec<u8> {
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let tampered = text.replacen("\"expires\": \"20", "\"expires\": \"21", 1);
    assert_ne!(text, tampered);
    tampered.into_bytes()
}

fn v(n: u64) -> Version {
    Version::new(n).unwrap()
}

#[test]
fn python_tuf_repositories_are_accepted_and_every_target_verifies() {
    for fixture in fixtures() {
        let mut client = fixture.client();
        let mut trusted =
            client.refresh(&fixture.files, fixture.now()).unwrap_or_else(|e| panic!("{}: {e}", fixture.name));
        let roots = fixture.doc["root_versions"].as_u64().unwrap();
        assert_eq!(trusted.root().version().get(), roots, "{}", fixture.name);
        let expected = fixture.doc["targets"].as_object().unwrap();
        assert!(!expected.is_empty());
        for (path, want) in expected {
            let info = client
                .find(&mut trusted, &fixture.files, path)
                .unwrap_or_else(|e| panic!("{} {path}: {e}", fixture.name))
                .unwrap_or_else(|| panic!("{} {path}: not found", fixture.name));
            assert_eq!(info.role.as_str(), want["role"].as_str().unwrap(), "{} {path}", fixture.name);
            assert_eq!(info.file.length, want["length"].as_u64().unwrap());
            let sha256 = want["sha256"].as_str().unwrap();
            let content = fixture.target_content(path, sha256);
            let mut verifier = info.verifier().unwrap();
            for chunk in content.chunks(7) {
                verifier.update(chunk).unwrap();
            }
            verifier.finish().unwrap_or_else(|e| panic!("{} {path}: {e}", fixture.name));
            // The consistent-snapshot URL path is the one python-tuf serves.
            let (dir, base) = path.rsplit_once('/').map_or((None, path.as_str()), |(d, b)| (Some(d), b));
            let expected_url = match dir {
                Some(d) => format!("{d}/{sha256}.{base}"),
                None => format!("{sha256}.{base}"),
            };
            assert_eq!(info.url_path(true), expected_url);
        }
        assert_eq!(client.find(&mut trusted, &fixture.files, "no/such/target").unwrap(), None, "{}", fixture.name);
    }
}

#[test]
fn python_tuf_root_rotated_v1_to_v4_with_two_of_three() {
    let fixture = fixtures().into_iter().find(|f| f.name == "rotated-root").unwrap();
    let mut client = fixture.client();
    let trusted = client.refresh(&fixture.files, fixture.now()).unwrap();
    let root = trusted.root();
    assert_eq!(root.version(), v(4));
    assert_eq!((root.roles.root.keyids.len(), root.roles.root.threshold.get()), (3, 2));
    assert_eq!(&client.requests[..4], ["2.root.json", "3.root.json", "4.root.json", "5.root.json"]);
}

#[test]
fn tampered_python_tuf_metadata_is_refused_with_the_check_that_caught_it() {
    let mut tampered = 0;
    for fixture in fixtures() {
        let now = fixture.now();
        let lists_hashes = fixture.name == "ecdsa-basic";
        let targets: Vec<String> = fixture.doc["targets"].as_object().unwrap().keys().cloned().collect();
        // Only files a client reads can be caught: empty hash bins are never fetched.
        let mut clean = fixture.client();
        let mut trusted = clean.refresh(&fixture.files, now).unwrap();
        for path in &targets {
            clean.find(&mut trusted, &fixture.files, path).unwrap();
        }
        for (file, bytes) in &fixture.files {
            if file == "1.root.json" || !clean.requests.contains(file) {
                continue; // the trust anchor itself, or never read
            }
            let files = fixture.with(file, tamper(bytes));
            let mut client = fixture.client();
            let result = client.refresh(&files, now).and_then(|mut trusted| {
                for path in &targets {
                    client.find(&mut trusted, &files, path)?;
                }
                Ok(())
            });
            let err = result.expect_err(&format!("{}: tampered {file} accepted", fixture.name));
            let ok = match &err {
                Error::Unsigned { .. } => true,
                Error::LengthMismatch { .. } | Error::HashMismatch { .. } => lists_hashes,
                _ => false,
            };
            assert!(ok, "{} tampered {file}: unexpected error {err}", fixture.name);
            tampered += 1;
        }
    }
    assert!(tampered >= 30, "only {tampered} files tampered");
}

#[test]
fn rolled_back_python_tuf_root_is_refused() {
    let fixture = fixtures().into_iter().find(|f| f.name == "rotated-root").unwrap();
    let files = fixture.with("3.root.json", fixture.files["2.root.json"].clone());
    let err = fixture.client().refresh(&files, fixture.now()).unwrap_err();
    assert_eq!(err, Error::RootVersion { expected: v(3), found: v(2) });
}

#[test]
fn expired_python_tuf_metadata_is_refused_as_freeze() {
    let fixture = fixtures().into_iter().find(|f| f.name == "ed25519-delegations").unwrap();
    for (now, role) in
        [("2096-06-01T00:00:00Z", "timestamp"), ("2097-06-01T00:00:00Z", "timestamp"), ("2099-06-01T00:00:00Z", "root")]
    {
        let err = fixture.client().refresh(&fixture.files, now.parse().unwrap()).unwrap_err();
        assert!(matches!(&err, Error::Expired { role: r, .. } if r == &RoleName::new(role).unwrap()), "{now}: {err}");
    }
}

#[test]
fn the_same_python_tuf_timestamp_twice_changes_nothing() {
    let fixture = fixtures().into_iter().find(|f| f.name == "succinct-bins").unwrap();
    let mut set =
        update_verifier::TrustedSet::new(&fixture.files["1.root.json"], fixture.now(), Default::default()).unwrap();
    let timestamp = &fixture.files["timestamp.json"];
    assert_eq!(set.update_timestamp(timestamp, Source::Remote), Ok(TimestampUpdate::Updated));
    assert_eq!(set.update_timestamp(timestamp, Source::Remote), Ok(TimestampUpdate::Unchanged));
}
