//! The trusted metadata of one repository and every TUF check on the way in
//! (TUF 1.0.31 section 5, after python-tuf's TrustedMetadataSet). No I/O: bytes in,
//! verified metadata or a typed error out. [`crate::Refresh`] drives it in order.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use chrono::{DateTime, Utc};
use metadata_schemas::{Key, KeyId, MetadataType, RoleMetadata, RoleName, Root, Snapshot, Targets, Timestamp};
use threshold_keys::RoleAuthority;

use crate::root_chain;
use crate::verify::{self, check_listed_length_and_hashes};
use crate::{Authority, Error, Limits, Verified};

/// Where bytes come from: the local cache (verified in an earlier refresh) or the
/// repository.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// Read back from local storage.
    Cache,
    /// Fetched from the repository now.
    Remote,
}

/// What [`TrustedSet::update_timestamp`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimestampUpdate {
    /// A newer timestamp is now trusted.
    Updated,
    /// The same version as the trusted one: nothing changed (TUF 5.4.3.1).
    Unchanged,
}

/// A verified targets role and the role that delegated to it.
#[derive(Clone, Debug)]
struct TrustedTargets {
    targets: Verified<Targets>,
    delegator: RoleName,
}

/// The trusted metadata of one repository at one reference time.
#[derive(Clone, Debug)]
pub struct TrustedSet {
    now: DateTime<Utc>,
    limits: Limits,
    root: Verified<Root>,
    timestamp: Option<Verified<Timestamp>>,
    snapshot: Option<Verified<Snapshot>>,
    targets: BTreeMap<RoleName, TrustedTargets>,
}

impl TrustedSet {
    /// Starts from a trusted root (TUF 5.2): it must be signed by a threshold of its own
    /// root keys. Its expiry does not matter yet (TUF 5.3.10 checks the final root).
    pub fn new(root: &[u8], now: DateTime<Utc>, limits: Limits) -> Result<Self, Error> {
        let root = root_chain::verify_trusted_root(root, &limits)?;
        Ok(TrustedSet { now, limits, root, timestamp: None, snapshot: None, targets: BTreeMap::new() })
    }

    /// A copy holding the top-level roles only: a delegation search from it loads every
    /// delegated role it visits (to learn which roles those are).
    pub fn without_delegated_roles(&self) -> TrustedSet {
        let mut copy = self.clone();
        copy.targets.retain(|role, _| *role == RoleName::targets());
        copy
    }

    /// The reference time of this refresh.
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The trusted root.
    pub fn root(&self) -> &Verified<Root> {
        &self.root
    }

    /// The trusted timestamp, if loaded.
    pub fn timestamp(&self) -> Option<&Verified<Timestamp>> {
        self.timestamp.as_ref()
    }

    /// The trusted snapshot, if loaded.
    pub fn snapshot(&self) -> Option<&Verified<Snapshot>> {
        self.snapshot.as_ref()
    }

    /// The trusted top-level targets, if loaded.
    pub fn targets(&self) -> Option<&Verified<Targets>> {
        self.targets_role(&RoleName::targets())
    }

    /// A trusted targets role (top-level or delegated), if loaded.
    pub fn targets_role(&self, role: &RoleName) -> Option<&Verified<Targets>> {
        self.targets.get(role).map(|t| &t.targets)
    }

    /// Whether `role` is loaded, verified through `delegator`.
    pub fn has_targets_role(&self, role: &RoleName, delegator: &RoleName) -> bool {
        self.targets.get(role).is_some_and(|t| &t.delegator == delegator)
    }

    /// Verifies root version N+1 (TUF 5.3.4, 5.3.5): signed by a threshold of the trusted
    /// root's keys and of its own, version exactly N+1. Expiry is checked later (5.3.10).
    pub fn update_root(&mut self, bytes: &[u8]) -> Result<&Verified<Root>, Error> {
        if self.timestamp.is_some() {
            return Err(Error::OutOfOrder("root cannot change once timestamp is loaded"));
        }
        self.root = root_chain::verify_next_root(&self.root, bytes, &self.limits)?;
        Ok(&self.root)
    }

    /// TUF 5.3.10: the final root must not be expired.
    pub fn check_final_root(&self) -> Result<(), Error> {
        check_expiry(&RoleName::root(), &*self.root, self.now)
    }

    /// Verifies a timestamp (TUF 5.4): signatures, no rollback of its version or of the
    /// snapshot version it lists, not expired. A cached timestamp is kept as the
    /// reference for rollback checks even when it has expired.
    pub fn update_timestamp(&mut self, bytes: &[u8], source: Source) -> Result<TimestampUpdate, Error> {
        if self.snapshot.is_some() {
            return Err(Error::OutOfOrder("timestamp cannot change once snapshot is loaded"));
        }
        self.check_final_root()?;
        let role = RoleName::timestamp();
        let parsed = verify::parse(bytes, &role, self.limits.timestamp_max_length, &self.limits)?;
        parsed.check_signatures(&role, Authority::TrustedRoot, authority(&self.root, MetadataType::Timestamp))?;
        let new: Timestamp = parsed.into_decoded(&role)?;
        if let Some(trusted) = &self.timestamp {
            let (trusted_version, found) = (trusted.common.version, new.common.version);
            if found < trusted_version {
                return Err(Error::Rollback { role, trusted: trusted_version, found });
            }
            if found == trusted_version {
                return Ok(TimestampUpdate::Unchanged);
            }
            if new.snapshot.version < trusted.snapshot.version {
                return Err(Error::Rollback {
                    role: RoleName::snapshot(),
                    trusted: trusted.snapshot.version,
                    found: new.snapshot.version,
                });
            }
        }
        let expired = check_expiry(&role, &new, self.now);
        if source == Source::Cache || expired.is_ok() {
            self.timestamp = Some(Verified::new(new));
        }
        expired.map(|()| TimestampUpdate::Updated)
    }

    /// Verifies a snapshot (TUF 5.5): length and hashes listed in timestamp (for fetched
    /// files), signatures, no targets role removed or rolled back against the trusted
    /// snapshot, version as listed in timestamp, not expired. A cached snapshot that
    /// fails only the last two checks stays as the reference for rollback checks.
    pub fn update_snapshot(&mut self, bytes: &[u8], source: Source) -> Result<&Verified<Snapshot>, Error> {
        if !self.targets.is_empty() {
            return Err(Error::OutOfOrder("snapshot cannot change once targets are loaded"));
        }
        let timestamp = self.timestamp.as_ref().ok_or(Error::OutOfOrder("snapshot needs a trusted timestamp"))?;
        check_expiry(&RoleName::timestamp(), &**timestamp, self.now)?;
        let listed = &timestamp.snapshot;
        let role = RoleName::snapshot();
        let max = verify::max_length(listed, self.limits.snapshot_max_length);
        let parsed = verify::parse(bytes, &role, max, &self.limits)?;
        if source == Source::Remote {
            check_listed_length_and_hashes(&role, listed, bytes)?;
        }
        parsed.check_signatures(&role, Authority::TrustedRoot, authority(&self.root, MetadataType::Snapshot))?;
        let new: Snapshot = parsed.into_decoded(&role)?;
        if let Some(trusted) = &self.snapshot {
            for (file, trusted_meta) in &trusted.meta {
                let role = role_of_meta_file(file);
                let new_meta = new.meta.get(file).ok_or_else(|| Error::RoleRemoved { role: role.clone() })?;
                if new_meta.version < trusted_meta.version {
                    return Err(Error::Rollback { role, trusted: trusted_meta.version, found: new_meta.version });
                }
            }
        }
        let current = check_expiry(&role, &new, self.now).and_then(|()| check_listed_version(&role, &new, listed));
        if source == Source::Cache || current.is_ok() {
            self.snapshot = Some(Verified::new(new));
        }
        current?;
        self.snapshot.as_ref().ok_or(Error::OutOfOrder("snapshot"))
    }

    /// Checks that the trusted snapshot is current: listed by timestamp, not expired.
    fn check_final_snapshot(&self) -> Result<&Verified<Snapshot>, Error> {
        let snapshot = self.snapshot.as_ref().ok_or(Error::OutOfOrder("targets need a trusted snapshot"))?;
        let timestamp = self.timestamp.as_ref().ok_or(Error::OutOfOrder("targets need a trusted timestamp"))?;
        check_expiry(&RoleName::snapshot(), &**snapshot, self.now)?;
        check_listed_version(&RoleName::snapshot(), &**snapshot, &timestamp.snapshot)?;
        Ok(snapshot)
    }

    /// Verifies the top-level targets (TUF 5.6).
    pub fn update_targets(&mut self, bytes: &[u8]) -> Result<&Verified<Targets>, Error> {
        self.update_delegated_targets(bytes, &RoleName::targets(), &RoleName::root())
    }

    /// Verifies a targets role reached through `delegator` (TUF 5.6, 5.6.7): listed in
    /// snapshot with matching length, hashes and version; signed by a threshold of the
    /// keys the delegator names for it; not expired. Cached and fetched files pass the
    /// same checks, so a cached role is verified against the delegation it is reached
    /// through now.
    pub fn update_delegated_targets(
        &mut self,
        bytes: &[u8],
        role: &RoleName,
        delegator: &RoleName,
    ) -> Result<&Verified<Targets>, Error> {
        let snapshot = self.check_final_snapshot()?;
        let listed = snapshot.role_meta(role).ok_or_else(|| Error::NotInSnapshot { role: role.clone() })?;
        let max = verify::max_length(listed, self.limits.targets_max_length);
        let parsed = verify::parse(bytes, role, max, &self.limits)?;
        check_listed_length_and_hashes(role, listed, bytes)?;
        let keys = self.delegation_authority(role, delegator)?;
        let signer = if delegator == &RoleName::root() {
            Authority::TrustedRoot
        } else {
            Authority::Delegator(delegator.clone())
        };
        parsed.check_signatures(role, signer, keys)?;
        let new: Targets = parsed.into_decoded(role)?;
        check_listed_version(role, &new, listed)?;
        check_expiry(role, &new, self.now)?;
        let trusted = TrustedTargets { targets: Verified::new(new), delegator: delegator.clone() };
        let entry = match self.targets.entry(role.clone()) {
            alloc::collections::btree_map::Entry::Occupied(mut e) => {
                e.insert(trusted);
                e.into_mut()
            }
            alloc::collections::btree_map::Entry::Vacant(e) => e.insert(trusted),
        };
        Ok(&entry.targets)
    }

    /// The keys and threshold `delegator` sets for `role`.
    fn delegation_authority(&self, role: &RoleName, delegator: &RoleName) -> Result<RoleAuthority<'_>, Error> {
        if delegator == &RoleName::root() {
            if role != &RoleName::targets() {
                return Err(Error::NotDelegated { role: role.clone(), delegator: delegator.clone() });
            }
            return Ok(authority(&self.root, MetadataType::Targets));
        }
        let parent = self.targets_role(delegator).ok_or(Error::OutOfOrder("the delegator is not loaded"))?;
        let not_delegated = || Error::NotDelegated { role: role.clone(), delegator: delegator.clone() };
        let delegations = parent.delegations.as_ref().ok_or_else(not_delegated)?;
        let (keyids, threshold) = delegations.find_role(role).ok_or_else(not_delegated)?;
        Ok(RoleAuthority { keys: &delegations.keys, keyids, threshold })
    }

    /// The keys of a top-level role as the trusted root lists them, for detecting a
    /// rotation (TUF 5.3.11).
    pub fn role_keys(&self, kind: MetadataType) -> Vec<(KeyId, Option<Key>)> {
        role_keys(&self.root, kind)
    }
}

/// The authority root gives a top-level role.
pub(crate) fn authority(root: &Root, kind: MetadataType) -> RoleAuthority<'_> {
    let role = root.role(kind);
    RoleAuthority { keys: &root.keys, keyids: &role.keyids, threshold: role.threshold }
}

pub(crate) fn role_keys(root: &Root, kind: MetadataType) -> Vec<(KeyId, Option<Key>)> {
    let mut keys: Vec<(KeyId, Option<Key>)> =
        root.role(kind).keyids.iter().map(|id| (id.clone(), root.keys.get(id).cloned())).collect();
    keys.sort_by(|a, b| a.0.cmp(&b.0));
    keys
}

/// Expired once `now` reaches the expiry.
pub(crate) fn check_expiry<T: RoleMetadata>(role: &RoleName, metadata: &T, now: DateTime<Utc>) -> Result<(), Error> {
    let common = metadata.common();
    if common.expires.is_expired_at(now) {
        return Err(Error::Expired { role: role.clone(), version: common.version, expires: common.expires });
    }
    Ok(())
}

/// The version must be the one the referring metadata lists (TUF 5.5.4, 5.6.4).
fn check_listed_version<T: RoleMetadata>(
    role: &RoleName,
    metadata: &T,
    listed: &metadata_schemas::MetaFile,
) -> Result<(), Error> {
    let found = metadata.common().version;
    if found != listed.version {
        let listed_by = if T::TYPE == MetadataType::Snapshot { RoleName::timestamp() } else { RoleName::snapshot() };
        return Err(Error::VersionMismatch { role: role.clone(), found, listed: listed.version, listed_by });
    }
    Ok(())
}

/// The role a snapshot `meta` entry (`<role>.json`) is about.
fn role_of_meta_file(file: &str) -> RoleName {
    let name = file.strip_suffix(".json").unwrap_or(file);
    RoleName::new(name).unwrap_or_else(RoleName::targets)
}
