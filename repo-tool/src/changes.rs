//! What each new version of a targets role changed: the targets it added or gave new
//! content, beside the SHA-256 of the role file before and after. `publish` follows
//! these records from the version a published tree already holds to the current one
//! and places only those targets, instead of checking every target listed; any gap in
//! the chain (a role replaced whole, a record missing or unreadable) sends it back to
//! the full check.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use metadata_schemas::decode::{Decode, Encode, ObjectBuilder, UnknownFields, as_object, optional, required};
use metadata_schemas::json::{self, Value};
use metadata_schemas::{DecodeError, RoleName, TargetFile, TargetPath, Version};

/// Where the records live, relative to the repository directory.
pub const DIR: &str = "changes";
/// A version that changes more targets than this records no list: a publish after it
/// checks every target, which costs no more than reading such a list would.
pub const MAX_LISTED: usize = 10_000;

/// One version of one targets role, against the version loaded before it.
#[derive(Clone, Debug, PartialEq)]
pub struct ChangeRecord {
    /// The role file's SHA-256 (hex) before this version, and that version; `None`
    /// for a new role.
    pub from: Option<(Version, String)>,
    /// The role file's SHA-256 (hex) at this version.
    pub to_sha256: String,
    /// Targets added or given new content, or `None` when there were too many to list.
    pub placed: Option<BTreeMap<TargetPath, TargetFile>>,
}

/// The record of `role` at `version`, relative to the repository directory.
pub fn path(role: &RoleName, version: Version) -> PathBuf {
    Path::new(DIR).join(role.versioned_file_name(version))
}

/// The targets of `new` that `old` does not list with the same entry, if at most
/// [`MAX_LISTED`].
pub fn placed(
    old: &BTreeMap<TargetPath, TargetFile>,
    new: &BTreeMap<TargetPath, TargetFile>,
) -> Option<BTreeMap<TargetPath, TargetFile>> {
    let mut changed = BTreeMap::new();
    for (path, file) in new {
        if old.get(path) != Some(file) {
            if changed.len() == MAX_LISTED {
                return None;
            }
            changed.insert(path.clone(), file.clone());
        }
    }
    Some(changed)
}

impl ChangeRecord {
    /// The record's file bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = json::to_pretty(&self.encode());
        bytes.push(b'\n');
        bytes
    }

    /// Reads the record of `role` at `version` in `dir`; `None` if there is none or it
    /// does not decode (the caller then checks everything).
    pub fn load(dir: &Path, role: &RoleName, version: Version) -> Option<ChangeRecord> {
        let bytes = std::fs::read(dir.join(path(role, version))).ok()?;
        ChangeRecord::decode(&json::parse(&bytes).ok()?).ok()
    }
}

impl Encode for ChangeRecord {
    fn encode(&self) -> Value<'_> {
        let mut builder = ObjectBuilder::new()
            .field("_type", Value::string("targets-change"))
            .field("to_sha256", Value::string(self.to_sha256.as_str()));
        if let Some((version, sha256)) = &self.from {
            builder = builder
                .field("from_version", Value::unsigned(version.get()))
                .field("from_sha256", Value::string(sha256.as_str()));
        }
        if let Some(placed) = &self.placed {
            builder = builder.field("placed", placed.encode());
        }
        builder.finish(const { &UnknownFields(json::Object::new()) })
    }
}

impl Decode for ChangeRecord {
    fn decode(value: &Value<'_>) -> Result<Self, DecodeError> {
        let o = as_object(value)?;
        let from_version: Option<Version> = optional(o, "from_version")?;
        let from_sha256: Option<String> = optional(o, "from_sha256")?;
        Ok(ChangeRecord {
            from: from_version.zip(from_sha256),
            to_sha256: required(o, "to_sha256")?,
            placed: optional(o, "placed")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use metadata_schemas::{Digest, Hashes};

    fn file(n: u8) -> TargetFile {
        TargetFile::new(u64::from(n), Hashes::new(vec![Digest::Sha256([n; 32])]).expect("a hash"))
    }

    #[test]
    fn placed_lists_added_and_changed_targets_only() {
        let old: BTreeMap<_, _> = (0..5).map(|n| (TargetPath::new(format!("t{n}")), file(n))).collect();
        let mut new = old.clone();
        new.remove(&TargetPath::new("t1"));
        new.insert(TargetPath::new("t2"), file(20));
        new.insert(TargetPath::new("t9"), file(9));
        let placed = placed(&old, &new).expect("a short list");
        assert_eq!(placed.keys().map(|p| p.as_str()).collect::<Vec<_>>(), ["t2", "t9"]);
        assert_eq!(placed[&TargetPath::new("t2")], file(20));
        let many: BTreeMap<_, _> =
            (0..=MAX_LISTED).map(|n| (TargetPath::new(format!("m{n}")), file((n % 200) as u8))).collect();
        assert_eq!(super::placed(&BTreeMap::new(), &many), None);
    }

    #[test]
    fn records_round_trip() {
        let placed = BTreeMap::from([(TargetPath::new("a/b.bin"), file(3))]);
        for record in [
            ChangeRecord {
                from: Some((Version::ONE, "ab".repeat(32))),
                to_sha256: "cd".repeat(32),
                placed: Some(placed),
            },
            ChangeRecord { from: None, to_sha256: "ef".repeat(32), placed: None },
        ] {
            let bytes = record.to_bytes();
            assert_eq!(ChangeRecord::decode(&json::parse(&bytes).expect("json")).expect("decodes"), record);
        }
    }
}
