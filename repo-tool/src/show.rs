//! What a proposal changes, in lines a key holder reads before signing: the version and
//! expiry, each role's keys added and removed (by id) and its threshold old and new, the
//! targets added, removed and changed with their hashes and release counters; and whose
//! signatures it already carries. Compared against the version before it when that is
//! at hand (the repository, or a published file), else everything shows as new.

use std::collections::BTreeMap;

use metadata_schemas::uptane::ImageTargetCustom;
use metadata_schemas::{
    Decode, Digest, Envelope, HashAlgorithm, KeyId, MetadataType, Root, Signed, TargetFile, Targets,
};
use threshold_keys::check_threshold;

use crate::Error;
use crate::repository::authority_of;

/// The lines describing the proposal `bytes` (named `name`), against `before` (the
/// role's current signed document) if given.
pub fn describe(name: &str, bytes: &[u8], before: Option<&[u8]>) -> Result<Vec<String>, Error> {
    let metadata = |source| Error::Metadata { file: name.to_string(), source };
    let envelope = Envelope::parse(bytes).map_err(metadata)?;
    match envelope.signed_type() {
        Some("root") => {
            let proposed: Signed<Root> = Signed::decode_unverified(bytes).map_err(metadata)?;
            let old = before.map(Signed::<Root>::decode_unverified).transpose().map_err(metadata)?;
            Ok(root_lines(&proposed, old.as_ref().map(|o| &o.signed)))
        }
        Some("targets") => {
            let proposed: Signed<Targets> = Signed::decode_unverified(bytes).map_err(metadata)?;
            let old = before.map(Signed::<Targets>::decode_unverified).transpose().map_err(metadata)?;
            Ok(targets_lines(&proposed.signed, old.as_ref().map(|o| &o.signed)))
        }
        other => Err(Error::Proposal(format!("{name}: a {other:?} document is not a proposal to show"))),
    }
}

fn root_lines(proposed: &Signed<Root>, old: Option<&Root>) -> Vec<String> {
    let root = &proposed.signed;
    let mut lines = vec![header("root", root.common.version.get(), old.map(|o| o.common.version.get()))];
    lines.push(format!("  expires {}", root.common.expires.time().to_rfc3339()));
    use MetadataType::*;
    for (name, kind) in [("root", Root), ("targets", Targets), ("snapshot", Snapshot), ("timestamp", Timestamp)] {
        let new = root.role(kind);
        let was = old.map(|o| o.role(kind));
        let threshold = match was {
            Some(was) if was.threshold != new.threshold => {
                format!("threshold {} (was {})", new.threshold.get(), was.threshold.get())
            }
            _ => format!("threshold {}", new.threshold.get()),
        };
        let keys = key_changes(&new.keyids, was.map(|w| w.keyids.as_slice()));
        lines.push(format!("  {name:<9} {threshold}; keys {keys}"));
    }
    let message = proposed.canonical_signed();
    let report = check_threshold(authority_of(root, Root), &proposed.signatures, &message);
    let signed: Vec<&str> = report.signed.iter().map(KeyId::short).collect();
    lines.push(format!("  signed so far by {} of {} needed: {}", signed.len(), report.threshold, list(&signed)));
    lines
}

fn header(role: &str, version: u64, old: Option<u64>) -> String {
    match old {
        Some(old) => format!("{role} v{version} (replacing v{old})"),
        None => format!("{role} v{version}"),
    }
}

/// `a1b2c3d4, +e5f6a7b8 (added), -c9d0e1f2 (removed)`.
fn key_changes(new: &[KeyId], old: Option<&[KeyId]>) -> String {
    let mut parts = Vec::new();
    for id in new {
        let added = old.is_some_and(|o| !o.contains(id));
        parts.push(if added { format!("+{} (added)", id.short()) } else { id.short().to_string() });
    }
    for id in old.unwrap_or_default().iter().filter(|id| !new.contains(id)) {
        parts.push(format!("-{} (removed)", id.short()));
    }
    list(&parts)
}

fn list<S: AsRef<str>>(items: &[S]) -> String {
    if items.is_empty() { "none".into() } else { items.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(", ") }
}

fn targets_lines(proposed: &Targets, old: Option<&Targets>) -> Vec<String> {
    let mut lines = vec![header("targets", proposed.common.version.get(), old.map(|o| o.common.version.get()))];
    lines.push(format!("  expires {}", proposed.common.expires.time().to_rfc3339()));
    let empty = BTreeMap::new();
    let before = old.map_or(&empty, |o| &o.targets);
    for (path, file) in &proposed.targets {
        match before.get(path) {
            None => lines.push(format!("  + {path}: {}", target(file))),
            Some(was) if was != file => lines.push(format!("  ~ {path}: {} (was {})", target(file), target(was))),
            Some(_) => {}
        }
    }
    for (path, was) in before.iter().filter(|(p, _)| !proposed.targets.contains_key(*p)) {
        lines.push(format!("  - {path}: {}", target(was)));
    }
    if lines.len() == 2 {
        lines.push("  no target changes".into());
    }
    lines
}

/// `1024 bytes, sha256 9f86d081.., release counter 7`.
fn target(file: &TargetFile) -> String {
    let sha256 = match file.hashes.get(HashAlgorithm::Sha256) {
        Some(Digest::Sha256(d)) => metadata_schemas::hex::encode(d),
        _ => "none".into(),
    };
    let custom = file.custom.as_ref().and_then(|c| ImageTargetCustom::decode(c).ok());
    let counter = custom.map_or(String::new(), |c| format!(", release counter {}", c.release_counter));
    format!("{} bytes, sha256 {}{counter}", file.length, &sha256)
}
