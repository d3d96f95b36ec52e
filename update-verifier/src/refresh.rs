//! The TUF client workflow for the top-level roles (TUF 5.3 to 5.6) as a state
//! machine: it says what to read, fetch or delete, and checks what it is given.
//! The driver owns the network and the disk; this owns every decision.

use alloc::vec::Vec;

use chrono::{DateTime, Utc};
use metadata_schemas::{MetadataType, RoleName};

use crate::files::{Action, CachedFile, FetchRequest, Persist};
use crate::trusted_set::{Source, TimestampUpdate, TrustedSet};
use crate::{Error, Limits, verify};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Root,
    ForgetTimestamp,
    ForgetSnapshot,
    CachedTimestamp,
    Timestamp,
    CachedSnapshot,
    Snapshot,
    CachedTargets,
    Targets,
    Done,
    Failed,
}

/// One refresh of the top-level metadata.
///
/// ```text
/// loop { match refresh.next_action() {
///     Action::ReadCache(file)  => refresh.cached(cache.read(&file.file_name)),
///     Action::Fetch(request)   => match fetch(&request) {   // at most request.max_length bytes
///         Found(bytes)  => if let Persist::Store(file) = refresh.fetched(&bytes)? { cache.write(&file, &bytes) },
///         NotFound      => refresh.not_found()?,
///     },
///     Action::DeleteCache(file) => { cache.delete(&file); refresh.deleted() }
///     Action::Done => break,
/// } }
/// let trusted = refresh.finish()?;
/// ```
#[derive(Debug)]
pub struct Refresh {
    set: TrustedSet,
    stage: Stage,
    rotations_left: u32,
    /// Whether the cached timestamp and snapshot are to be ignored (TUF 5.3.11).
    keys_rotated: bool,
    initial_keys: [Vec<(metadata_schemas::KeyId, Option<metadata_schemas::Key>)>; 2],
    notes: Vec<(RoleName, Error)>,
    /// Why the refresh stopped, when it failed after a file had to be persisted.
    failure: Option<Error>,
}

impl Refresh {
    /// Starts a refresh from the trusted root (the cached `root.json`) at `now`.
    pub fn new(trusted_root: &[u8], now: DateTime<Utc>, limits: Limits) -> Result<Self, Error> {
        let set = TrustedSet::new(trusted_root, now, limits)?;
        let initial_keys = [set.role_keys(MetadataType::Timestamp), set.role_keys(MetadataType::Snapshot)];
        Ok(Refresh {
            rotations_left: limits.max_root_rotations,
            set,
            stage: Stage::Root,
            keys_rotated: false,
            initial_keys,
            notes: Vec::new(),
            failure: None,
        })
    }

    /// The trusted metadata so far.
    pub fn trusted(&self) -> &TrustedSet {
        &self.set
    }

    /// Cached files that were ignored, and why (for logs; each was refetched).
    pub fn notes(&self) -> &[(RoleName, Error)] {
        &self.notes
    }

    /// What the driver must do next.
    pub fn next_action(&self) -> Action {
        let root = self.set.root();
        let consistent = root.consistent_snapshot();
        match self.stage {
            Stage::Root => {
                let version = root.common.version.next().unwrap_or(root.common.version);
                let role = RoleName::root();
                Action::Fetch(FetchRequest {
                    file_name: role.versioned_file_name(version),
                    role,
                    version: Some(version),
                    max_length: self.set.limits().root_max_length,
                })
            }
            Stage::ForgetTimestamp => Action::DeleteCache(CachedFile::of(&RoleName::timestamp())),
            Stage::ForgetSnapshot => Action::DeleteCache(CachedFile::of(&RoleName::snapshot())),
            Stage::CachedTimestamp => Action::ReadCache(CachedFile::of(&RoleName::timestamp())),
            Stage::Timestamp => {
                let role = RoleName::timestamp();
                let max_length = self.set.limits().timestamp_max_length;
                Action::Fetch(FetchRequest { file_name: role.file_name(), role, version: None, max_length })
            }
            Stage::CachedSnapshot => Action::ReadCache(CachedFile::of(&RoleName::snapshot())),
            Stage::Snapshot => match self.set.timestamp() {
                Some(timestamp) => {
                    let listed = &timestamp.snapshot;
                    let max = verify::max_length(listed, self.set.limits().snapshot_max_length);
                    Action::Fetch(FetchRequest::metadata(&RoleName::snapshot(), listed.version, consistent, max))
                }
                None => Action::Done,
            },
            Stage::CachedTargets => Action::ReadCache(CachedFile::of(&RoleName::targets())),
            Stage::Targets => match self.set.snapshot().and_then(|s| s.role_meta(&RoleName::targets())) {
                Some(listed) => {
                    let max = verify::max_length(listed, self.set.limits().targets_max_length);
                    Action::Fetch(FetchRequest::metadata(&RoleName::targets(), listed.version, consistent, max))
                }
                None => Action::Done,
            },
            Stage::Done | Stage::Failed => Action::Done,
        }
    }

    /// The answer to [`Action::ReadCache`]: the cached bytes, if the file exists. A
    /// cached file that no longer verifies is ignored (and noted); the next action
    /// fetches a fresh copy.
    pub fn cached(&mut self, bytes: Option<&[u8]>) {
        let (role, result) = match (self.stage, bytes) {
            (Stage::CachedTimestamp, Some(b)) => {
                (RoleName::timestamp(), self.set.update_timestamp(b, Source::Cache).map(drop))
            }
            (Stage::CachedSnapshot, Some(b)) => {
                (RoleName::snapshot(), self.set.update_snapshot(b, Source::Cache).map(drop))
            }
            (Stage::CachedTargets, Some(b)) => (RoleName::targets(), self.set.update_targets(b).map(drop)),
            (Stage::CachedTimestamp | Stage::CachedSnapshot | Stage::CachedTargets, None) => {
                self.stage = next_stage(self.stage);
                return;
            }
            _ => return,
        };
        match result {
            // A current cached snapshot or targets needs no fetch.
            Ok(()) if self.stage != Stage::CachedTimestamp => self.stage = next_stage(next_stage(self.stage)),
            Ok(()) => self.stage = next_stage(self.stage),
            Err(e) => {
                self.notes.push((role, e));
                self.stage = next_stage(self.stage);
            }
        }
    }

    /// The answer to [`Action::Fetch`]: the bytes received (at most `max_length`).
    /// Says what to persist; an error ends the refresh.
    pub fn fetched(&mut self, bytes: &[u8]) -> Result<Persist, Error> {
        let result = self.accept(bytes);
        if result.is_err() {
            self.stage = Stage::Failed;
        }
        result
    }

    fn accept(&mut self, bytes: &[u8]) -> Result<Persist, Error> {
        match self.stage {
            Stage::Root => {
                self.set.update_root(bytes)?;
                self.rotations_left = self.rotations_left.saturating_sub(1);
                if self.rotations_left == 0 {
                    // The new root is verified and must be persisted even if it fails 5.3.10.
                    if let Err(e) = self.end_root_rotation() {
                        self.failure = Some(e);
                    }
                }
                Ok(Persist::Store(CachedFile::of(&RoleName::root())))
            }
            Stage::Timestamp => {
                let update = self.set.update_timestamp(bytes, Source::Remote)?;
                self.stage = if self.keys_rotated { Stage::Snapshot } else { Stage::CachedSnapshot };
                Ok(match update {
                    TimestampUpdate::Updated => Persist::Store(CachedFile::of(&RoleName::timestamp())),
                    TimestampUpdate::Unchanged => Persist::Nothing,
                })
            }
            Stage::Snapshot => {
                self.set.update_snapshot(bytes, Source::Remote)?;
                self.stage = Stage::CachedTargets;
                Ok(Persist::Store(CachedFile::of(&RoleName::snapshot())))
            }
            Stage::Targets => {
                self.set.update_targets(bytes)?;
                self.stage = Stage::Done;
                Ok(Persist::Store(CachedFile::of(&RoleName::targets())))
            }
            _ => Err(Error::OutOfOrder("no fetch was requested")),
        }
    }

    /// The answer to [`Action::Fetch`] when the repository does not have the file.
    /// Only the next root may be absent: that ends the root rotation (TUF 5.3.3).
    pub fn not_found(&mut self) -> Result<(), Error> {
        match self.stage {
            Stage::Root => {
                self.end_root_rotation()?;
                Ok(())
            }
            Stage::Timestamp | Stage::Snapshot | Stage::Targets => {
                let role = match self.stage {
                    Stage::Timestamp => RoleName::timestamp(),
                    Stage::Snapshot => RoleName::snapshot(),
                    _ => RoleName::targets(),
                };
                self.stage = Stage::Failed;
                Err(Error::Missing { role })
            }
            _ => Err(Error::OutOfOrder("no fetch was requested")),
        }
    }

    /// The answer to [`Action::DeleteCache`].
    pub fn deleted(&mut self) {
        self.stage = match self.stage {
            Stage::ForgetTimestamp => Stage::ForgetSnapshot,
            Stage::ForgetSnapshot => Stage::Timestamp,
            other => other,
        };
    }

    /// TUF 5.3.10 (freeze) and 5.3.11 (fast-forward recovery).
    fn end_root_rotation(&mut self) -> Result<(), Error> {
        if let Err(e) = self.set.check_final_root() {
            self.stage = Stage::Failed;
            return Err(e);
        }
        let now = [self.set.role_keys(MetadataType::Timestamp), self.set.role_keys(MetadataType::Snapshot)];
        self.keys_rotated = now != self.initial_keys;
        self.stage = if self.keys_rotated { Stage::ForgetTimestamp } else { Stage::CachedTimestamp };
        Ok(())
    }

    /// The trusted metadata once [`Action::Done`] is reached, or why the refresh failed.
    pub fn finish(self) -> Result<TrustedSet, Error> {
        match (self.stage, self.failure) {
            (_, Some(failure)) => Err(failure),
            (Stage::Done, None) => Ok(self.set),
            (Stage::Failed, None) => Err(Error::OutOfOrder("the refresh failed")),
            _ => Err(Error::OutOfOrder("the refresh is not complete")),
        }
    }
}

/// The stage after a cache read: the fetch of the same role.
fn next_stage(stage: Stage) -> Stage {
    match stage {
        Stage::CachedTimestamp => Stage::Timestamp,
        Stage::Timestamp => Stage::CachedSnapshot,
        Stage::CachedSnapshot => Stage::Snapshot,
        Stage::Snapshot => Stage::CachedTargets,
        Stage::CachedTargets => Stage::Targets,
        Stage::Targets => Stage::Done,
        other => other,
    }
}
