//! Client-side verification of a whole repository with update-verifier: the root
//! chain from version 1, timestamp, snapshot, targets, every delegated role, and every
//! target reachable through the delegation search (and its content, when asked).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use chrono::{DateTime, Utc};
use metadata_schemas::{DelegatedRoles, RoleName, TargetPath};
use update_verifier::{
    CachedFile, DriveError, FetchRequest, Limits, MetadataIo, Refresh, TargetInfo, TargetSearch, TrustedSet, drive,
};

use crate::Error;
use crate::repository::{Repository, pretty};

/// Limits for verifying one's own repository: large files are expected.
pub fn limits() -> Limits {
    Limits { snapshot_max_length: 1 << 30, targets_max_length: 1 << 30, max_delegations: u32::MAX, ..Limits::default() }
}

/// What verification covered.
#[derive(Debug, Default)]
pub struct Report {
    /// Root versions walked.
    pub root_version: u64,
    /// Every targets role verified, top-level included.
    pub roles: Vec<RoleName>,
    /// Every target and the role the search finds it in.
    pub targets: Vec<TargetInfo>,
    /// Targets listed by a role the search never reaches for them.
    pub shadowed: Vec<TargetPath>,
}

/// Metadata files by published name, served from memory.
struct Files<'a> {
    get: &'a dyn Fn(&str) -> Option<Vec<u8>>,
}

impl MetadataIo for Files<'_> {
    type Error = std::convert::Infallible;
    fn read_cached(&mut self, _: &CachedFile) -> Result<Option<Vec<u8>>, Self::Error> {
        Ok(None)
    }
    fn fetch(&mut self, request: &FetchRequest) -> Result<Option<Vec<u8>>, Self::Error> {
        Ok((self.get)(&request.file_name))
    }
    fn store(&mut self, _: &CachedFile, _: &[u8]) -> Result<(), Self::Error> {
        Ok(())
    }
    fn delete(&mut self, _: &CachedFile) -> Result<(), Self::Error> {
        Ok(())
    }
}

fn engine(e: DriveError<std::convert::Infallible>) -> Error {
    match e {
        DriveError::Verification(e) => Error::Verification(e),
        DriveError::Io(never) => match never {},
    }
}

/// How far a verification goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Depth {
    /// Every metadata file, as a client's refresh and delegation walk check it.
    Metadata,
    /// ...and the delegation search for every target listed (which role a client finds
    /// it in, and which targets it never finds), for the report `verify` prints.
    EveryTarget,
}

/// Verifies a repository whose published files `get` returns by name, from `anchor`.
pub fn verify_files(
    get: &dyn Fn(&str) -> Option<Vec<u8>>,
    anchor: &[u8],
    now: DateTime<Utc>,
    depth: Depth,
) -> Result<(TrustedSet, Report), Error> {
    let mut files = Files { get };
    let mut refresh = Refresh::new(anchor, now, limits())?;
    drive(&mut refresh, &mut files).map_err(engine)?;
    let mut trusted = refresh.finish()?;
    let mut report = Report { root_version: trusted.root().version().get(), ..Report::default() };
    // Every delegated role, breadth-first, verified through its delegator.
    let consistent = trusted.root().consistent_snapshot();
    let mut queue = vec![RoleName::targets()];
    let mut seen = BTreeSet::new();
    let mut paths = BTreeSet::new();
    while let Some(role) = queue.pop() {
        let Some(targets) = trusted.targets_role(&role) else { continue };
        report.roles.push(role.clone());
        if depth == Depth::EveryTarget {
            paths.extend(targets.targets.keys().cloned());
        }
        let children: Vec<RoleName> = match targets.delegations.as_ref().map(|d| &d.roles) {
            Some(DelegatedRoles::List(roles)) => roles.iter().map(|r| r.name.clone()).collect(),
            Some(DelegatedRoles::Succinct(bins)) => (0..bins.bin_count()).map(|i| bins.bin_name(i)).collect(),
            None => Vec::new(),
        };
        for child in children {
            if !seen.insert(child.clone()) {
                continue;
            }
            let listed = trusted.snapshot().and_then(|s| s.role_meta(&child)).map(|m| m.version);
            let version = listed
                .ok_or_else(|| Error::Verification(update_verifier::Error::NotInSnapshot { role: child.clone() }))?;
            let name = if consistent { child.versioned_file_name(version) } else { child.file_name() };
            let bytes = get(&name)
                .ok_or_else(|| Error::Verification(update_verifier::Error::Missing { role: child.clone() }))?;
            trusted.update_delegated_targets(&bytes, &child, &role)?;
            queue.push(child);
        }
    }
    if depth == Depth::Metadata {
        return Ok((trusted, report));
    }
    for path in paths {
        let mut search = TargetSearch::new(&mut trusted, path.clone())?;
        drive(&mut search, &mut files).map_err(engine)?;
        match search.finish()? {
            Some(info) => report.targets.push(info),
            None => report.shadowed.push(path),
        }
    }
    Ok((trusted, report))
}

/// Verifies `files` (from [`state_files`]) from the first root, as a client would.
pub fn verify_state_files(files: &BTreeMap<String, Vec<u8>>, now: DateTime<Utc>) -> Result<Report, Error> {
    let anchor = files.get("1.root.json").ok_or_else(|| Error::Corrupt("no root v1".into()))?;
    let (_, report) = verify_files(&|name| files.get(name).cloned(), anchor, now, Depth::Metadata)?;
    Ok(report)
}

/// Every metadata file of the state a command is about to commit (or has loaded), by
/// the name a client fetches it under: every root version, each targets role, snapshot
/// and timestamp.
pub fn state_files(repo: &Repository) -> Result<BTreeMap<String, Vec<u8>>, Error> {
    let roots = repo.root_history()?;
    let consistent = repo.root.signed.consistent_snapshot();
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for (version, bytes) in &roots {
        files.insert(format!("{version}.root.json"), bytes.clone());
    }
    for (role, md) in repo.targets() {
        let name = if consistent { role.versioned_file_name(md.signed.common.version) } else { role.file_name() };
        files.insert(name, repo.metadata_file(&role.file_name(), || pretty(md)));
    }
    let snapshot_name = if consistent {
        RoleName::snapshot().versioned_file_name(repo.snapshot.signed.common.version)
    } else {
        "snapshot.json".into()
    };
    files.insert(snapshot_name, repo.metadata_file("snapshot.json", || pretty(&repo.snapshot)));
    files.insert("timestamp.json".into(), repo.metadata_file("timestamp.json", || pretty(&repo.timestamp)));
    Ok(files)
}

/// No role of `repo` has expired at `repo.now` (what a client's check of a state whose
/// signatures are known good still finds).
pub fn check_expiry(repo: &Repository) -> Result<(), Error> {
    let top = [
        (RoleName::root(), &repo.root.signed.common),
        (RoleName::timestamp(), &repo.timestamp.signed.common),
        (RoleName::snapshot(), &repo.snapshot.signed.common),
    ];
    let delegated = repo.targets().iter().map(|(role, md)| (role.clone(), &md.signed.common));
    for (role, common) in top.into_iter().chain(delegated) {
        if common.expires.is_expired_at(repo.now) {
            let (version, expires) = (common.version, common.expires);
            return Err(Error::Verification(update_verifier::Error::Expired { role, version, expires }));
        }
    }
    Ok(())
}

/// Verifies a published directory (`metadata/`, `targets/`) from a trusted root, and
/// optionally every target file's length and hashes.
pub fn verify_published(dir: &Path, anchor: &[u8], now: DateTime<Utc>, content: bool) -> Result<Report, Error> {
    let metadata = dir.join("metadata");
    let get = |name: &str| std::fs::read(metadata.join(name)).ok();
    let (trusted, report) = verify_files(&get, anchor, now, Depth::EveryTarget)?;
    if content {
        let consistent = trusted.root().consistent_snapshot();
        for info in &report.targets {
            let path = dir.join("targets").join(info.url_path(consistent));
            let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
            let mut verifier = info.verifier()?;
            verifier.update(&bytes)?;
            verifier.finish()?;
        }
    }
    Ok(report)
}
