//! A primary's decommissioning, once both repositories command it
//! ([`update_verifier::uptane::check_decommission`]): a journal saved before each stage
//! (`acknowledging`, `erasing`, `done`) so a power cut at any moment resumes where it
//! stopped; the last signed manifest carrying the nonce; then the listed files erased
//! (overwritten with zeros, synced, removed, the directory synced), each step idempotent.
//! The trust roots, the metadata and the factory image stay, so the device can be
//! provisioned again.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use metadata_schemas::uptane::EraseItem;
use serde::{Deserialize, Serialize};

use super::config::PrimaryConfig;
use super::own_image::write_atomically;
use crate::Error;

const JOURNAL: &str = "decommission.json";

/// Where the decommissioning stands on the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Both repositories command it; the acknowledgement is not taken yet.
    Acknowledging,
    /// The director has the acknowledgement; the files are being erased.
    Erasing,
    /// Erased: the primary runs no more cycles.
    Done,
}

/// The journal, saved atomically in the state directory before each stage begins.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Journal {
    /// The command's nonce (the acknowledgement repeats it).
    pub nonce: String,
    /// What to erase (`keys`, `credentials`, `downloads`).
    pub erase: Vec<String>,
    /// Where it stands.
    pub stage: Stage,
    /// The image repository's signed command, for the secondaries.
    #[serde(default)]
    pub image_command: Option<String>,
}

impl Journal {
    /// The erase items, those this primary does not know left out (the command that
    /// listed them verified; an item unknown here cannot be honoured).
    pub fn items(&self) -> Vec<EraseItem> {
        self.erase.iter().filter_map(|name| EraseItem::parse(name)).collect()
    }
}

/// The journal in `state_dir`, if decommissioning began.
pub fn read_journal(state_dir: &Path) -> Result<Option<Journal>, Error> {
    let path = state_dir.join(JOURNAL);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            Error::Config(format!("{}: {e} (the decommissioning journal; do not edit it)", path.display()))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// Saves the journal (atomically: a cut leaves the old one or the new one).
pub fn write_journal(state_dir: &Path, journal: &Journal) -> Result<(), Error> {
    let bytes = serde_json::to_vec_pretty(journal).map_err(|e| Error::Config(e.to_string()))?;
    write_atomically(&state_dir.join(JOURNAL), &bytes)
}

/// One thing a decommissioned primary erases.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Erasable {
    /// What it is, in words.
    pub what: &'static str,
    /// Where.
    pub path: PathBuf,
    /// A directory (removed whole) rather than a secret file (overwritten first).
    pub directory: bool,
}

/// What the configuration says to erase for `items`, in order.
pub fn erase_plan(config: &PrimaryConfig, items: &[EraseItem]) -> Vec<Erasable> {
    let file = |what, path: &PathBuf| Erasable { what, path: path.clone(), directory: false };
    let mut plan = Vec::new();
    for item in items {
        match item {
            EraseItem::Keys => {
                plan.push(file("the primary's ECU key", &config.key));
                plan.extend(config.own_image.decryption_secret.iter().map(|p| file("the image decryption key", p)));
            }
            EraseItem::Credentials => {
                plan.extend(config.tls.client_key.iter().map(|p| file("the TLS client key", p)));
                plan.extend(config.tls.client_cert.iter().map(|p| file("the TLS client certificate", p)));
            }
            EraseItem::Downloads => plan.push(Erasable {
                what: "the downloaded images",
                path: config.state_dir.join("downloads"),
                directory: true,
            }),
        }
    }
    plan
}

/// Erases one thing; whether anything was there (a second run after a cut finds
/// nothing and goes on).
pub fn erase(item: &Erasable) -> Result<bool, Error> {
    let path = &item.path;
    let exists = std::fs::symlink_metadata(path).map(|_| true).or_else(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Ok(false),
        _ => Err(Error::io(path, e)),
    })?;
    if !exists {
        return Ok(false);
    }
    if item.directory {
        std::fs::remove_dir_all(path).map_err(|e| Error::io(path, e))?;
    } else {
        overwrite(path)?;
        std::fs::remove_file(path).map_err(|e| Error::io(path, e))?;
    }
    sync_parent(path)?;
    Ok(true)
}

/// Zeros over a file's bytes, synced, so its secret is not left in the blocks it held
/// (as far as the file system overwrites in place).
fn overwrite(path: &Path) -> Result<(), Error> {
    let length = std::fs::metadata(path).map_err(|e| Error::io(path, e))?.len();
    let mut file = std::fs::OpenOptions::new().write(true).open(path).map_err(|e| Error::io(path, e))?;
    let zeros = vec![0u8; 64 * 1024];
    let mut left = length;
    while left > 0 {
        let n = left.min(zeros.len() as u64) as usize;
        file.write_all(&zeros[..n]).map_err(|e| Error::io(path, e))?;
        left -= n as u64;
    }
    file.sync_all().map_err(|e| Error::io(path, e))
}

fn sync_parent(path: &Path) -> Result<(), Error> {
    let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) else { return Ok(()) };
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| Error::io(dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(dir: &Path) -> PrimaryConfig {
        let text = serde_json::json!({
            "vin": "V", "serial": "gw", "hardware_id": "gw-hw", "key": dir.join("key.pem"),
            "director": "http://127.0.0.1:1/api/v1", "image_repository": "http://127.0.0.1:1/repo",
            "director_root": dir.join("d.json"), "image_root": dir.join("i.json"), "state_dir": dir.join("state"),
            "tls": {"client_key": dir.join("tls.key"), "client_cert": dir.join("tls.crt")},
            "own_image": {"slots": [dir.join("a"), dir.join("b")], "factory_name": "f",
                          "decryption_secret": dir.join("x25519")},
        });
        serde_json::from_value(text).unwrap()
    }

    #[test]
    fn the_plan_names_every_secret_the_configuration_holds_and_nothing_it_must_keep() {
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path());
        let plan = erase_plan(&config, &EraseItem::ALL);
        let paths: Vec<&Path> = plan.iter().map(|e| e.path.as_path()).collect();
        for name in ["key.pem", "x25519", "tls.key", "tls.crt", "state/downloads"] {
            assert!(paths.contains(&dir.path().join(name).as_path()), "{name}: {paths:?}");
        }
        for kept in ["d.json", "i.json", "a", "b"] {
            assert!(!paths.contains(&dir.path().join(kept).as_path()), "{kept} is kept");
        }
        let keys_only = erase_plan(&config, &[EraseItem::Keys]);
        assert_eq!(keys_only.len(), 2);
    }

    #[test]
    fn erasing_twice_finds_nothing_the_second_time_and_leaves_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("key.pem");
        std::fs::write(&secret, b"-----BEGIN PRIVATE KEY-----").unwrap();
        std::fs::write(dir.path().join("root.json"), b"{}").unwrap();
        let item = Erasable { what: "key", path: secret.clone(), directory: false };
        assert!(erase(&item).unwrap());
        assert!(!secret.exists());
        assert!(!erase(&item).unwrap(), "nothing left to erase");
        assert!(dir.path().join("root.json").exists());
    }

    #[test]
    fn the_journal_round_trips_and_a_damaged_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_journal(dir.path()).unwrap(), None);
        let journal = Journal {
            nonce: "n1".into(),
            erase: vec!["keys".into(), "other".into()],
            stage: Stage::Erasing,
            image_command: None,
        };
        write_journal(dir.path(), &journal).unwrap();
        assert_eq!(read_journal(dir.path()).unwrap(), Some(journal.clone()));
        assert_eq!(journal.items(), vec![EraseItem::Keys]);
        std::fs::write(dir.path().join(JOURNAL), b"{").unwrap();
        let error = read_journal(dir.path()).unwrap_err().to_string();
        assert!(error.contains("decommissioning journal"), "{error}");
    }
}
