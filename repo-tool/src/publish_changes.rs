//! `publish` in proportion to what changed. A published tree records, per targets
//! role, the role file whose every target it holds (`.repo-tool-published.json`).
//! When the repository's files are exactly those the signed record of the last
//! verification covers (so nothing needs verifying again and no role is parsed: the
//! record carries the expiries too), the change records lead from the tree's version
//! of each role to the current one, and only the targets they list are placed. Any
//! gap returns `None`, and the caller publishes in full.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::Utc;
use metadata_schemas::decode::{Decode, Encode, ObjectBuilder, UnknownFields, as_object, required};
use metadata_schemas::json::{self, Value};
use metadata_schemas::{DecodeError, RoleName, Root, Signed, Snapshot, TargetFile, TargetPath, Version};

use crate::changes::ChangeRecord;
use crate::layout_publish::{Checked, MetadataSet, Published, place_targets, write_metadata};
use crate::lock::{RepoLock, WAIT};
use crate::repository::layout;
use crate::store::ContentStore;
use crate::transaction::write_atomically;
use crate::verified_state::{VerifiedState, sha256_hex};
use crate::{Error, config};

/// The record in a published tree.
pub const RECORD: &str = ".repo-tool-published.json";
/// The most versions of one role a publish follows records across.
const MAX_CHAIN: usize = 1000;

/// What a published tree holds: each targets role's file SHA-256 (hex), all of whose
/// targets are in the tree.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PublishedRecord {
    /// By role.
    pub roles: BTreeMap<RoleName, String>,
}

impl PublishedRecord {
    /// The record in `out`, if there is a readable one.
    pub fn load(out: &Path) -> Option<Self> {
        let bytes = std::fs::read(out.join(RECORD)).ok()?;
        PublishedRecord::decode(&json::parse(&bytes).ok()?).ok()
    }

    /// Writes the record into `out`, replacing the last.
    pub fn write(&self, out: &Path) -> Result<(), Error> {
        let mut bytes = json::to_pretty(&self.encode());
        bytes.push(b'\n');
        write_atomically(&out.join(RECORD), &bytes)
    }
}

impl Encode for PublishedRecord {
    fn encode(&self) -> Value<'_> {
        ObjectBuilder::new()
            .field("_type", Value::string("published-tree"))
            .field("roles", self.roles.encode())
            .finish(const { &UnknownFields(json::Object::new()) })
    }
}

impl Decode for PublishedRecord {
    fn decode(value: &Value<'_>) -> Result<Self, DecodeError> {
        Ok(PublishedRecord { roles: required(as_object(value)?, "roles")? })
    }
}

/// Publishes the repository in `dir` into `out` from the change records, if they and
/// the signed record of the last verification cover everything; else `None`.
pub fn publish_changed(dir: &Path, out: &Path) -> Result<Option<Published>, Error> {
    if !dir.join(config::CONFIG_FILE).exists() {
        return Ok(None); // the full path says what is wrong
    }
    let _lock = RepoLock::acquire(dir, WAIT)?;
    crate::transaction::recover(dir)?;
    let Some(plan) = plan(dir, out) else { return Ok(None) };
    let listed: Vec<(&TargetPath, &TargetFile)> = plan.placed.iter().collect();
    let store = ContentStore::new(dir.join(layout::TARGETS));
    let targets = place_targets(&store, &out.join("targets"), &listed, true)?;
    let metadata = write_metadata(dir, out, &plan.set)?;
    Ok(Some(Published { metadata, targets, checked: Checked::Changed(listed.len()) }))
}

/// What to write: the metadata, and the targets the change records name.
struct Plan {
    set: MetadataSet,
    placed: BTreeMap<TargetPath, TargetFile>,
}

fn read(dir: &Path, rel: &str) -> Option<Vec<u8>> {
    std::fs::read(dir.join(layout::METADATA).join(rel)).ok()
}

fn plan(dir: &Path, out: &Path) -> Option<Plan> {
    let root_bytes = read(dir, "root.json")?;
    let root = Signed::<Root>::decode_unverified(&root_bytes).ok()?;
    if !root.signed.consistent_snapshot() {
        return None;
    }
    let verified = VerifiedState::load(dir, &root.signed, &root_bytes)?;
    let (set, versions) = covered_set(dir, &root.signed, &verified)?;
    let published = PublishedRecord::load(out)?;
    let mut placed = BTreeMap::new();
    for ((role, _, bytes), version) in set.roles.iter().zip(versions) {
        follow(dir, role, version, &sha256_hex(bytes), published.roles.get(role)?, &mut placed)?;
    }
    Some(Plan { set, placed })
}

/// The repository's metadata and each role's version, if every file is one the record
/// covers and no role has expired since.
fn covered_set(dir: &Path, root: &Root, verified: &VerifiedState) -> Option<(MetadataSet, Vec<Version>)> {
    let snapshot_bytes = read(dir, "snapshot.json")?;
    let snapshot = Signed::<Snapshot>::decode_unverified(&snapshot_bytes).ok()?;
    let snapshot_name = RoleName::snapshot().versioned_file_name(snapshot.signed.common.version);
    let timestamp = read(dir, "timestamp.json")?;
    let mut roots = Vec::new();
    let mut version = Version::ONE;
    while version <= root.common.version {
        let name = format!("{version}.root.json");
        roots.push((version, std::fs::read(dir.join(layout::ROOTS).join(&name)).ok()?));
        version = version.next()?;
    }
    let mut roles = Vec::new();
    let mut versions = Vec::new();
    for (file, meta) in &snapshot.signed.meta {
        let role = RoleName::new(file.strip_suffix(".json")?)?;
        roles.push((role.clone(), role.versioned_file_name(meta.version), read(dir, &role.file_name())?));
        versions.push(meta.version);
    }
    let named = roots
        .iter()
        .map(|(v, bytes)| (format!("{v}.root.json"), bytes))
        .chain(roles.iter().map(|(_, name, bytes)| (name.clone(), bytes)))
        .chain([(snapshot_name.clone(), &snapshot_bytes), ("timestamp.json".to_string(), &timestamp)]);
    let mut count = 0;
    for (name, bytes) in named {
        count += 1;
        verified.covers(&name, bytes).then_some(())?;
    }
    (count == verified.len()).then_some(())?;
    let checked = std::iter::once(format!("{}.root.json", root.common.version))
        .chain(roles.iter().map(|(_, name, _)| name.clone()))
        .chain([snapshot_name.clone(), "timestamp.json".to_string()]);
    let now = Utc::now();
    for name in checked {
        (!verified.expiries().get(&name)?.is_expired_at(now)).then_some(())?;
    }
    Some((MetadataSet { roots, roles, snapshot: (snapshot_name, snapshot_bytes), timestamp }, versions))
}

/// Adds to `placed` what the records of `role` list from the file the tree holds
/// (`published`) to the current one (`sha256` at `version`); newer entries win.
fn follow(
    dir: &Path,
    role: &RoleName,
    mut version: Version,
    sha256: &str,
    published: &str,
    placed: &mut BTreeMap<TargetPath, TargetFile>,
) -> Option<()> {
    let mut expected = sha256.to_string();
    for _ in 0..MAX_CHAIN {
        if expected == published {
            return Some(());
        }
        let record = ChangeRecord::load(dir, role, version)?;
        (record.to_sha256 == expected).then_some(())?;
        for (path, file) in record.placed? {
            placed.entry(path).or_insert(file);
        }
        (version, expected) = record.from?;
    }
    None
}
