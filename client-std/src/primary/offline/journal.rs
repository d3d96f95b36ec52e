//! What the gateway keeps about offline bundles: the floor the next bundle is judged
//! against (the newest offline targets version accepted and the newest signed time seen),
//! and the journal of offline installs, uploaded in the next signed vehicle manifest.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::primary::own_image::write_atomically;

/// The floor file.
const FLOOR: &str = "offline-floor.json";
/// The journal file.
const JOURNAL: &str = "offline-journal.json";

/// The floor: a bundle older than `targets_version`, or expired at `time`, is refused.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Floor {
    /// Unix seconds.
    pub time: i64,
    /// The newest offline targets version accepted.
    pub targets_version: u64,
}

/// How one offline install ended on the gateway's side.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case", tag = "result")]
pub enum OfflineResult {
    /// Installed (the gateway's own slot) or handed over (a secondary): it starts as a
    /// trial, and the next online report says whether it confirmed.
    Installing,
    /// It could not be installed.
    Failed {
        /// Why.
        reason: String,
    },
}

/// One journal entry: what a bundle did for one ECU.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct JournalEntry {
    /// The ECU.
    pub ecu: String,
    /// The image's target path.
    pub image: String,
    /// The bundle's name.
    pub bundle: String,
    /// Its offline targets version.
    pub bundle_version: u64,
    /// When (Unix seconds).
    pub at: i64,
    /// How it ended.
    #[serde(flatten)]
    pub result: OfflineResult,
}

fn read<T: for<'de> Deserialize<'de> + Default>(path: &Path) -> Result<T, Error> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| Error::Config(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(T::default()),
        Err(e) => Err(Error::io(path, e)),
    }
}

fn write<T: Serialize>(path: &Path, value: &T) -> Result<(), Error> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| Error::Config(e.to_string()))?;
    write_atomically(path, &bytes)
}

/// The floor kept in `state_dir` (zero before the first bundle).
pub fn read_floor(state_dir: &Path) -> Result<Floor, Error> {
    read(&state_dir.join(FLOOR))
}

/// Keeps `floor` (replaced atomically).
pub fn write_floor(state_dir: &Path, floor: &Floor) -> Result<(), Error> {
    write(&state_dir.join(FLOOR), floor)
}

/// The journal entries not yet uploaded.
pub fn read_journal(state_dir: &Path) -> Result<Vec<JournalEntry>, Error> {
    read(&state_dir.join(JOURNAL))
}

/// Appends `entries` to the journal.
pub fn append(state_dir: &Path, entries: &[JournalEntry]) -> Result<(), Error> {
    let mut journal = read_journal(state_dir)?;
    journal.extend_from_slice(entries);
    write(&state_dir.join(JOURNAL), &journal)
}

/// The manifest `custom` that reports `journal` (`None` when it is empty).
pub fn manifest_custom(journal: &[JournalEntry]) -> Option<metadata_schemas::json::Value<'static>> {
    use metadata_schemas::Encode;
    use metadata_schemas::uptane::{EcuSerial, OFFLINE_INSTALLS_FIELD, OfflineInstall};
    if journal.is_empty() {
        return None;
    }
    let installs = journal
        .iter()
        .filter_map(|e| {
            Some(OfflineInstall {
                ecu: EcuSerial::new(e.ecu.as_str())?,
                image: e.image.clone(),
                bundle: e.bundle.clone(),
                bundle_version: e.bundle_version,
                at: metadata_schemas::UtcTime::new(chrono::DateTime::from_timestamp(e.at, 0)?),
                failure: match &e.result {
                    OfflineResult::Installing => None,
                    OfflineResult::Failed { reason } => Some(reason.clone()),
                },
                unknown: Default::default(),
            })
        })
        .map(|install| install.encode().into_owned())
        .collect();
    let mut custom = metadata_schemas::json::Object::new();
    custom.insert(OFFLINE_INSTALLS_FIELD, metadata_schemas::json::Value::Array(installs));
    Some(metadata_schemas::json::Value::Object(custom))
}

/// Drops the first `uploaded` entries (the director accepted them).
pub fn drop_uploaded(state_dir: &Path, uploaded: usize) -> Result<(), Error> {
    let journal = read_journal(state_dir)?;
    write(&state_dir.join(JOURNAL), &journal.get(uploaded..).unwrap_or_default())
}
