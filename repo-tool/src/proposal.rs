//! Key ceremonies for roles whose keys are offline. A proposal is an ordinary signed
//! metadata document with no (or some) signatures: `sign` adds one on whatever machine
//! holds a key, needing nothing but the file and the key; `merge` combines copies signed
//! separately (refusing copies of different documents); `apply` installs it once it
//! verifies exactly as a client would check it.

use std::path::Path;

use metadata_schemas::json::{self, Value};
use metadata_schemas::{Encode, Envelope, KeyId, MetadataType, RoleName, Root, Signature, Signed, Targets};
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
    let mut signature = signer.sign(&envelope.canonical_signed()).map_err(|e| Error::Key(e.to_string()))?;
    // When, for the audit log's entry of this signature (the holder's clock; unsigned).
    let now = metadata_schemas::UtcTime::new(chrono::Utc::now());
    signature.unknown.0.insert(crate::audit::SIGNED_AT, now.encode().to_owned_value());
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

/// Where a proposal for `role` version `version` goes by default.
pub fn default_path(dir: &Path, role: &RoleName, version: metadata_schemas::Version) -> std::path::PathBuf {
    dir.join(format!("proposals/{role}-v{version}.json"))
}

/// Installs a signed proposal: a root version N+1 (checked by the same engine clients
/// run: a threshold of the current root's keys and of its own), or version N+1 of the
/// targets role `targets_role` signed to the threshold its delegator gives it. Snapshot
/// and timestamp follow.
pub fn apply(repo: &mut Repository, path: &Path, targets_role: &RoleName, keys: &mut KeyRing) -> Result<String, Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let name = path.display().to_string();
    match parse(path, &bytes)?.signed_type() {
        Some("targets") => apply_targets(repo, &name, &bytes, targets_role),
        _ => apply_bytes(repo, &name, &bytes, keys),
    }
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
            let own = authority_of(&proposed.signed, MetadataType::Root);
            for signature in holder_signatures(("root", proposed.signed.common.version), own, &proposed) {
                repo.record(signature);
            }
            repo.stage_root(without_signing_times(proposed))?;
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
        Some("targets") => apply_targets(repo, &name, &bytes, &RoleName::targets()),
        other => Err(Error::Proposal(format!("{name}: cannot apply a {other:?} proposal"))),
    }
}

/// Installs version N+1 of the targets role `role`, signed by a threshold of the keys its
/// delegator (root, for `targets`) trusts for it.
fn apply_targets(repo: &mut Repository, name: &str, bytes: &[u8], role: &RoleName) -> Result<String, Error> {
    let proposed: Signed<Targets> =
        Signed::decode_unverified(bytes).map_err(|source| Error::Metadata { file: name.to_string(), source })?;
    let current = match repo.targets().get(role) {
        Some(md) => md.signed.common.version,
        None => return Err(Error::Usage(format!("--role {role}: the repository has no such targets role"))),
    };
    let proposed_version = proposed.signed.common.version;
    if current.next() != Some(proposed_version) {
        return Err(Error::Proposal(format!(
            "{name} proposes {role} v{proposed_version}, but the repository is at v{current}: stale \
             (or a version of another role: name it with --role)"
        )));
    }
    let authority = repo.authority(role)?;
    let report = check_threshold(authority, &proposed.signatures, &proposed.canonical_signed());
    if !report.is_met() {
        return Err(Error::Threshold { role: role.to_string(), report: Box::new(report) });
    }
    record_holders(repo, role, &proposed)?;
    repo.install_targets(role, without_signing_times(proposed));
    repo.record(AuditEvent::note("apply-targets", format!("{name}: {role} v{proposed_version}")));
    Ok(format!("{role} v{proposed_version} applied"))
}

/// Changes to make in the next root.
#[derive(Debug, Default)]
pub struct RootChange {
    /// Keys to authorize for a role: `(role, key id, key entry)`.
    pub add: Vec<(String, KeyId, metadata_schemas::Key)>,
    /// Key ids to remove from a role.
    pub remove: Vec<(String, KeyId)>,
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
    for (role, prefix) in &change.remove {
        let keys = role_keys(&mut root, role)?;
        let id = resolve_key_id(role, prefix.as_str(), &keys.keyids)?;
        keys.keyids.retain(|k| *k != id);
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
    let used: Vec<KeyId> = [&root.roles.root, &root.roles.targets, &root.roles.snapshot, &root.roles.timestamp]
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

/// The one key id among `candidates` (a role's keys) that `prefix` names: the whole id
/// or a unique prefix of at least 8 hex digits, as every command prints them.
pub fn resolve_key_id(role: &str, prefix: &str, candidates: &[KeyId]) -> Result<KeyId, Error> {
    let prefix = prefix.trim_end_matches('.').to_ascii_lowercase();
    let listed = || candidates.iter().map(|k| k.short().to_string()).collect::<Vec<_>>().join(", ");
    if prefix.len() < 8 || !prefix.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::Usage(format!("{prefix:?}: a key id is 8 or more hex digits ({role} has {})", listed())));
    }
    let found: Vec<&KeyId> = candidates.iter().filter(|k| k.as_str().starts_with(&prefix)).collect();
    match found.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(Error::Usage(format!("{role} has no key {prefix} (its keys: {})", listed()))),
        many => {
            let names: Vec<&str> = many.iter().map(|k| k.as_str()).collect();
            Err(Error::Usage(format!(
                "{prefix} names more than one {role} key ({}): give more digits",
                names.join(", ")
            )))
        }
    }
}

/// Creates the repository `init --offline-root` prepared in `dir` from its root v1,
/// signed by the holders: it must be the very proposal `init` wrote, and meet its own
/// root threshold as a client's first root would. Each holder's signature becomes its
/// own audit entry.
pub fn apply_first_root(dir: &Path, path: &Path) -> Result<String, Error> {
    let _lock = crate::lock::RepoLock::acquire(dir, crate::lock::WAIT)?;
    let pending = dir.join(crate::config::PENDING_FILE);
    if !pending.exists() {
        return Err(Error::Proposal(format!("{}: root v1 was applied already", dir.display())));
    }
    let config = crate::config::RepoConfig::load_file(&pending)?;
    let written = dir.join("proposals/root-v1.json");
    let expected = std::fs::read(&written).map_err(|e| Error::io(&written, e))?;
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if parse(path, &bytes)?.canonical_signed() != parse(&written, &expected)?.canonical_signed() {
        return Err(Error::Proposal(format!(
            "{} is not the root v1 that init wrote ({}): sign that file, unchanged",
            path.display(),
            written.display()
        )));
    }
    let now = chrono::Utc::now();
    TrustedSet::new(&bytes, now, crate::verify::limits())?; // a client's check of its first root
    let root: Signed<Root> = Signed::decode_unverified(&bytes)
        .map_err(|source| Error::Metadata { file: path.display().to_string(), source })?;
    let own = authority_of(&root.signed, MetadataType::Root);
    let ceremony = holder_signatures(("root", root.signed.common.version), own, &root);
    let sources = config
        .key_sources
        .iter()
        .map(|(id, source)| (id.clone(), crate::keys::KeySource::parse(source, dir)))
        .collect();
    let mut keys = KeyRing::new(sources, Vec::new());
    Repository::initialize_signed(dir, config, without_signing_times(root), ceremony, &mut keys)?;
    std::fs::remove_file(&pending).map_err(|e| Error::io(&pending, e))?;
    Ok(format!("root v1 applied: {} created", dir.display()))
}

/// `signed` without the signing times `sign` wrote: they are in the audit log, and
/// clients have no use for them.
pub fn without_signing_times<T>(mut signed: Signed<T>) -> Signed<T> {
    for signature in &mut signed.signatures {
        signature.unknown.0.remove(crate::audit::SIGNED_AT);
    }
    signed
}

/// Records each valid signature on a version of the targets role `role` made off-repo by
/// its holders as its own audit entry.
pub fn record_holders(repo: &mut Repository, role: &RoleName, signed: &Signed<Targets>) -> Result<(), Error> {
    let holders = holder_signatures((role.as_str(), signed.signed.common.version), repo.authority(role)?, signed);
    for signature in holders {
        repo.record(signature);
    }
    Ok(())
}

/// One audit entry per valid signature, by a key of `authority`, on a proposal of `role`
/// signed off-repo by its holders.
fn holder_signatures<T: Encode>(
    (role, version): (&str, metadata_schemas::Version),
    authority: threshold_keys::RoleAuthority<'_>,
    signed: &Signed<T>,
) -> Vec<AuditEvent> {
    let report = check_threshold(authority, &signed.signatures, &signed.canonical_signed());
    report.signed.iter().map(|id| AuditEvent::holder_signature(role, version, id, signed)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_id_prefix_names_one_key_or_is_refused_by_name() {
        let ids = [KeyId::new("83d9cd28aa11"), KeyId::new("83d9cd28bb22"), KeyId::new("ae62d286cc33")];
        assert_eq!(resolve_key_id("root", "ae62d286", &ids).unwrap(), ids[2]);
        assert_eq!(resolve_key_id("root", "AE62D286..", &ids).unwrap(), ids[2], "as printed, any case");
        assert_eq!(resolve_key_id("root", "83d9cd28aa11", &ids).unwrap(), ids[0], "the whole id");
        let ambiguous = resolve_key_id("root", "83d9cd28", &ids).unwrap_err().to_string();
        assert!(ambiguous.contains("more than one root key (83d9cd28aa11, 83d9cd28bb22)"), "{ambiguous}");
        let short = resolve_key_id("root", "83d9", &ids).unwrap_err().to_string();
        assert!(short.contains("8 or more hex digits"), "{short}");
        let none = resolve_key_id("targets", "12345678", &ids).unwrap_err().to_string();
        assert!(none.contains("targets has no key 12345678"), "{none}");
    }
}
