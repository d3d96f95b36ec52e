//! Key ceremonies for roles whose keys are offline. A proposal is an ordinary signed
//! metadata document with no (or some) signatures: `sign` adds one on whatever machine
//! holds a key, needing nothing but the file and the key; `merge` combines copies signed
//! separately (refusing copies of different documents); `apply` installs it once it
//! verifies exactly as a client would check it.

use std::path::Path;

use metadata_schemas::json::{self, Value};
use metadata_schemas::{Encode, Envelope, MetadataType, RoleName, Root, Signature, Signed, Targets};
use threshold_keys::{Signer, check_threshold};
use update_verifier::TrustedSet;

use crate::audit::AuditEvent;
use crate::keys::KeyRing;
use crate::repository::{authority_of, pretty};
use crate::transaction::write_atomically;
use crate::{Error, Repository};

fn parse<'a>(path: &Path, bytes: &'a [u8]) -> Result<Envelope<'a>, Error> {
    Envelope::parse(bytes).map_err(|source| Error::Metadata { file: path.display().to_string(), source })
}

/// The document of an envelope with these signatures, as a file.
fn document(envelope: &Envelope<'_>, signatures: &[Signature]) -> Vec<u8> {
    let mut object = json::Object::new();
    object.insert("signed", metadata_schemas::decode::borrow(envelope.signed()));
    object.insert("signatures", Value::Array(signatures.iter().map(Encode::encode).collect()));
    let mut bytes = json::to_pretty(&Value::Object(object));
    bytes.push(b'\n');
    bytes
}

/// Adds `signer`'s signature over the proposal's canonical bytes (replacing an older
/// signature by the same key). The proposal's content is never changed.
pub fn sign(path: &Path, signer: &dyn Signer, out: &Path) -> Result<(), Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let envelope = parse(path, &bytes)?;
    let signature = signer.sign(&envelope.canonical_signed()).map_err(|e| Error::Key(e.to_string()))?;
    let mut signatures: Vec<Signature> =
        envelope.signatures.iter().filter(|s| s.keyid != signature.keyid).cloned().collect();
    signatures.push(signature);
    write_atomically(out, &document(&envelope, &signatures))
}

/// Combines signatures from copies of one proposal; fails if they sign different bytes.
pub fn merge(paths: &[&Path]) -> Result<Vec<u8>, Error> {
    let files: Vec<(String, Vec<u8>)> = paths
        .iter()
        .map(|p| std::fs::read(p).map(|b| (p.display().to_string(), b)).map_err(|e| Error::io(p, e)))
        .collect::<Result<_, _>>()?;
    let first_path = Path::new(&files[0].0);
    let first = parse(first_path, &files[0].1)?;
    let canonical = first.canonical_signed();
    let mut signatures: Vec<Signature> = Vec::new();
    for (name, bytes) in &files {
        let envelope = parse(Path::new(name), bytes)?;
        if envelope.canonical_signed() != canonical {
            return Err(Error::Proposal(format!(
                "{name} signs different bytes than {}: not copies of one proposal",
                files[0].0
            )));
        }
        for signature in envelope.signatures {
            if !signatures.iter().any(|s| s.keyid == signature.keyid) {
                signatures.push(signature);
            }
        }
    }
    Ok(document(&first, &signatures))
}

/// Installs a signed proposal: a root version N+1 (checked by the same engine clients
/// run: a threshold of the current root's keys and of its own), or a top-level targets
/// version N+1 signed to root's targets threshold. Snapshot and timestamp follow.
pub fn apply(repo: &mut Repository, path: &Path, keys: &mut KeyRing) -> Result<String, Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    apply_bytes(repo, &path.display().to_string(), &bytes, keys)
}

/// [`apply`] for a proposal held in memory; `name` names it in messages.
pub fn apply_bytes(repo: &mut Repository, name: &str, bytes: &[u8], keys: &mut KeyRing) -> Result<String, Error> {
    let path = Path::new(name);
    let bytes = bytes.to_vec();
    let envelope = parse(path, &bytes)?;
    let name = name.to_string();
    match envelope.signed_type() {
        Some("root") => {
            let proposed: Signed<Root> =
                Signed::decode_unverified(&bytes).map_err(|source| Error::Metadata { file: name.clone(), source })?;
            let current = repo.root.signed.common.version;
            if current.next() != Some(proposed.signed.common.version) {
                return Err(Error::Proposal(format!(
                    "{name} proposes root v{}, but the repository is at v{current}: stale",
                    proposed.signed.common.version
                )));
            }
            let mut set = TrustedSet::new(&pretty(&repo.root), repo.now, crate::verify::limits())?;
            set.update_root(&bytes)?; // the client's own check: both thresholds, version N+1
            let rotated = [MetadataType::Timestamp, MetadataType::Snapshot, MetadataType::Targets]
                .into_iter()
                .filter(|kind| repo.root.signed.role(*kind) != proposed.signed.role(*kind))
                .collect::<Vec<_>>();
            repo.stage_root(proposed)?;
            repo.record(AuditEvent::note("apply-root", format!("{name}: root v{}", repo.root.signed.common.version)));
            if rotated.contains(&MetadataType::Targets) {
                repo.touch_targets(&RoleName::targets())?; // re-sign with the new targets keys
            }
            if !rotated.is_empty() {
                // New keys sign new versions, so clients that dropped their cached
                // timestamp and snapshot (fast-forward recovery) find fresh ones.
                repo.new_snapshot_and_timestamp(keys)?;
            }
            Ok(format!("root v{} applied", repo.root.signed.common.version))
        }
        Some("targets") => {
            let proposed: Signed<Targets> =
                Signed::decode_unverified(&bytes).map_err(|source| Error::Metadata { file: name.clone(), source })?;
            let role = RoleName::targets();
            let current = repo.targets[&role].signed.common.version;
            if current.next() != Some(proposed.signed.common.version) {
                return Err(Error::Proposal(format!(
                    "{name} proposes targets v{}, but the repository is at v{current}: stale",
                    proposed.signed.common.version
                )));
            }
            let report = check_threshold(
                authority_of(&repo.root.signed, MetadataType::Targets),
                &envelope.signatures,
                &envelope.canonical_signed(),
            );
            if !report.is_met() {
                return Err(Error::Threshold { role: role.to_string(), report: Box::new(report) });
            }
            repo.install_targets(&role, proposed);
            repo.record(AuditEvent::note("apply-targets", name));
            Ok(format!("targets v{} applied", current.next().map_or(0, |v| v.get())))
        }
        other => Err(Error::Proposal(format!("{name}: cannot apply a {other:?} proposal"))),
    }
}

/// Changes to make in the next root.
#[derive(Debug, Default)]
pub struct RootChange {
    /// Keys to authorize for a role: `(role, key id, key entry)`.
    pub add: Vec<(String, metadata_schemas::KeyId, metadata_schemas::Key)>,
    /// Key ids to remove from a role.
    pub remove: Vec<(String, metadata_schemas::KeyId)>,
    /// New thresholds.
    pub thresholds: Vec<(String, u64)>,
    /// A lifetime for the new root (default: the configured one).
    pub lifetime: Option<std::time::Duration>,
}

/// The keys of a top-level role in `root`.
fn role_keys<'r>(root: &'r mut Root, role: &str) -> Result<&'r mut metadata_schemas::RoleKeys, Error> {
    Ok(match role {
        "root" => &mut root.roles.root,
        "targets" => &mut root.roles.targets,
        "snapshot" => &mut root.roles.snapshot,
        "timestamp" => &mut root.roles.timestamp,
        other => return Err(Error::Usage(format!("{other}: not a top-level role"))),
    })
}

/// The next root version with `change` applied (unsigned).
pub fn next_root(repo: &Repository, change: &RootChange) -> Result<Root, Error> {
    let mut root = repo.root.signed.clone();
    root.common.version = root.common.version.next().ok_or_else(|| Error::Corrupt("root version overflow".into()))?;
    root.common.expires = match change.lifetime {
        Some(lifetime) => metadata_schemas::UtcTime::new(
            repo.now + chrono::Duration::from_std(lifetime).unwrap_or(chrono::Duration::days(365)),
        ),
        None => repo.expiry("root"),
    };
    for (role, id) in &change.remove {
        let keys = role_keys(&mut root, role)?;
        let before = keys.keyids.len();
        keys.keyids.retain(|k| k != id);
        if keys.keyids.len() == before {
            return Err(Error::Usage(format!("{role} has no key {id}")));
        }
    }
    for (role, id, key) in &change.add {
        root.keys.insert(id.clone(), key.clone());
        let keys = role_keys(&mut root, role)?;
        if !keys.keyids.contains(id) {
            keys.keyids.push(id.clone());
        }
    }
    for (role, n) in &change.thresholds {
        role_keys(&mut root, role)?.threshold = metadata_schemas::Threshold::new(*n)
            .ok_or_else(|| Error::Usage(format!("{role}: threshold must be >= 1")))?;
    }
    // Keys no role uses any more leave the key table.
    let used: Vec<metadata_schemas::KeyId> =
        [&root.roles.root, &root.roles.targets, &root.roles.snapshot, &root.roles.timestamp]
            .iter()
            .flat_map(|r| r.keyids.clone())
            .collect();
    root.keys.retain(|id, _| used.contains(id));
    for (role, keys) in [
        ("root", &root.roles.root),
        ("targets", &root.roles.targets),
        ("snapshot", &root.roles.snapshot),
        ("timestamp", &root.roles.timestamp),
    ] {
        if keys.threshold.get() as usize > keys.keyids.len() {
            return Err(Error::Usage(format!(
                "{role}: threshold {} but only {} key(s): the role could never sign",
                keys.threshold.get(),
                keys.keyids.len()
            )));
        }
    }
    Ok(root)
}
