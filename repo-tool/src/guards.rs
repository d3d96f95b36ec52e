//! What `targets add` refuses unless told: a published path given other content
//! (`--replace`), and a release counter below the highest one already listed for one of
//! its hardware ids (`--allow-rollback`: clients that ran the higher one refuse it, and
//! the repository says so in the audit log). Pure: over the targets already listed and
//! the ones being added.

use std::collections::BTreeMap;

use metadata_schemas::uptane::ImageTargetCustom;
use metadata_schemas::{Decode, TargetFile, TargetPath};

use crate::Error;

/// What the operator allowed.
#[derive(Clone, Copy, Debug, Default)]
pub struct Allowed {
    /// A listed path may get other content.
    pub replace: bool,
    /// A release counter may go below the highest listed for its hardware.
    pub rollback: bool,
}

/// A rollback the operator allowed, for the audit log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rollback {
    /// The target added.
    pub path: TargetPath,
    /// Its hardware id.
    pub hardware_id: String,
    /// Its release counter.
    pub counter: u64,
    /// The highest counter listed before for that hardware id, and by which target.
    pub highest: (u64, TargetPath),
}

impl std::fmt::Display for Rollback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (highest, by) = &self.highest;
        write!(f, "{} has release counter {} for {}, below {highest} ({by})", self.path, self.counter, self.hardware_id)
    }
}

/// The hardware ids and release counter of an Uptane target (`None` for a plain TUF
/// target, which has no counter to roll back).
fn uptane(file: &TargetFile) -> Option<(Vec<String>, u64)> {
    let custom = ImageTargetCustom::decode(file.custom.as_ref()?).ok()?;
    let ids = custom.hardware_identifiers.iter().map(|id| id.as_str().to_string()).collect();
    Some((ids, custom.release_counter))
}

/// Checks `added` against `listed` (every target the repository lists now); the
/// rollbacks allowed, to record.
pub fn check(
    listed: &BTreeMap<&TargetPath, &TargetFile>,
    added: &[(&TargetPath, &TargetFile)],
    allowed: Allowed,
) -> Result<Vec<Rollback>, Error> {
    for (path, file) in added {
        if let Some(old) = listed.get(path) {
            let same = old.length == file.length && old.hashes == file.hashes;
            if !same && !allowed.replace {
                return Err(Error::Usage(format!(
                    "{path} is listed with other content ({} bytes, {}): add --replace to replace it, \
                     or give the new content a new path",
                    old.length,
                    old.hashes.first_hex()
                )));
            }
        }
    }
    let mut highest: BTreeMap<String, (u64, TargetPath)> = BTreeMap::new();
    for (path, file) in listed {
        let Some((ids, counter)) = uptane(file) else { continue };
        for id in ids {
            if highest.get(&id).is_none_or(|(c, _)| counter > *c) {
                highest.insert(id, (counter, (*path).clone()));
            }
        }
    }
    let mut rollbacks = Vec::new();
    for (path, file) in added {
        let Some((ids, counter)) = uptane(file) else { continue };
        for id in ids {
            let Some((top, by)) = highest.get(&id).filter(|(top, _)| counter < *top) else { continue };
            let rollback = Rollback { path: (*path).clone(), hardware_id: id, counter, highest: (*top, by.clone()) };
            if !allowed.rollback {
                return Err(Error::Usage(format!(
                    "{rollback}: ECUs that ran the higher one refuse it; add --allow-rollback to list it anyway"
                )));
            }
            rollbacks.push(rollback);
        }
    }
    Ok(rollbacks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use metadata_schemas::json::Value;
    use metadata_schemas::{Digest, Hashes};

    fn file(byte: u8, hw: &str, counter: u64) -> TargetFile {
        let mut file = TargetFile::new(3, Hashes::new(vec![Digest::Sha256([byte; 32])]).unwrap());
        let mut custom = metadata_schemas::json::Object::new();
        custom.insert("hardware_identifiers", Value::Array(vec![Value::string(hw.to_string())]));
        custom.insert("release_counter", Value::unsigned(counter));
        file.custom = Some(Value::Object(custom));
        file
    }

    #[test]
    fn new_content_under_a_listed_path_needs_replace() {
        let (path, old, new) = (TargetPath::new("brake/fw.bin"), file(1, "brake-hw", 7), file(2, "brake-hw", 8));
        let listed = BTreeMap::from([(&path, &old)]);
        let refused = check(&listed, &[(&path, &new)], Allowed::default()).unwrap_err().to_string();
        assert!(
            refused.contains("brake/fw.bin is listed with other content") && refused.contains("--replace"),
            "{refused}"
        );
        assert!(check(&listed, &[(&path, &old)], Allowed::default()).is_ok(), "the same content again is fine");
        let allowed = Allowed { replace: true, ..Allowed::default() };
        assert!(check(&listed, &[(&path, &new)], allowed).is_ok());
    }

    #[test]
    fn a_lower_release_counter_for_a_hardware_id_needs_allow_rollback_and_is_reported() {
        let (v7, v3) = (TargetPath::new("brake/fw-7.bin"), TargetPath::new("brake/fw-3.bin"));
        let (listed_file, added_file) = (file(1, "brake-hw", 7), file(2, "brake-hw", 3));
        let listed = BTreeMap::from([(&v7, &listed_file)]);
        let refused = check(&listed, &[(&v3, &added_file)], Allowed::default()).unwrap_err().to_string();
        assert!(refused.contains("release counter 3 for brake-hw, below 7 (brake/fw-7.bin)"), "{refused}");
        let rollbacks =
            check(&listed, &[(&v3, &added_file)], Allowed { rollback: true, ..Allowed::default() }).unwrap();
        assert_eq!(rollbacks.len(), 1);
        let other = file(2, "wiper-hw", 3);
        assert!(
            check(&listed, &[(&v3, &other)], Allowed::default()).is_ok(),
            "another hardware id has its own counter"
        );
    }
}
