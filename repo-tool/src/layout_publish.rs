//! `publish`: the consistent-snapshot layout clients fetch, ready for static hosting
//! or a CDN. Target files first (hard-linked from the content store when possible, each
//! checked against its listed length and hash), one filesystem sync, then metadata with
//! `timestamp.json` last, so a mirror never points at a file it does not have yet.

use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use metadata_schemas::{RoleName, TargetFile, TargetPath, Version};

use crate::repository::pretty;
use crate::store::ContentStore;
use crate::transaction::write_atomically;
use crate::verified_state::sha256_hex;
use crate::{Error, Repository};

/// What `publish` wrote.
#[derive(Debug, PartialEq, Eq)]
pub struct Published {
    /// Metadata files written.
    pub metadata: usize,
    /// Target files written (unchanged ones are skipped).
    pub targets: usize,
    /// Targets checked against the tree: every one listed, or those changed since.
    pub checked: Checked,
}

/// Which targets a publish looked at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checked {
    /// Every target listed (this many).
    All(usize),
    /// Those the change records list since the tree's last publish (this many).
    Changed(usize),
}

/// Publishes `repo` into `out`, checking every target listed.
pub fn publish(repo: &Repository, out: &Path) -> Result<Published, Error> {
    repo.verify_to_publish()?;
    let consistent = repo.root.signed.consistent_snapshot();
    let listed: Vec<_> = repo.targets().values().flat_map(|md| &md.signed.targets).collect();
    let targets = place_targets(&repo.store(), &out.join("targets"), &listed, consistent)?;
    let roles = repo
        .targets()
        .iter()
        .map(|(role, md)| {
            let name = if consistent { role.versioned_file_name(md.signed.common.version) } else { role.file_name() };
            (role.clone(), name, repo.metadata_file(&role.file_name(), || pretty(md)))
        })
        .collect();
    let snapshot = if consistent {
        RoleName::snapshot().versioned_file_name(repo.snapshot.signed.common.version)
    } else {
        "snapshot.json".into()
    };
    let set = MetadataSet {
        roots: repo.root_history()?,
        roles,
        snapshot: (snapshot, repo.metadata_file("snapshot.json", || pretty(&repo.snapshot))),
        timestamp: repo.metadata_file("timestamp.json", || pretty(&repo.timestamp)),
    };
    let metadata = write_metadata(repo.dir(), out, &set)?;
    Ok(Published { metadata, targets, checked: Checked::All(listed.len()) })
}

/// Every metadata file a publish writes.
pub struct MetadataSet {
    /// Every root version, oldest first.
    pub roots: Vec<(Version, Vec<u8>)>,
    /// Each targets role, its published name and its file.
    pub roles: Vec<(RoleName, String, Vec<u8>)>,
    /// The snapshot's published name and file.
    pub snapshot: (String, Vec<u8>),
    /// `timestamp.json`.
    pub timestamp: Vec<u8>,
}

/// Places every target of `listed` under `targets_dir` that is not there yet, then
/// syncs the filesystem once; the number placed.
pub fn place_targets(
    store: &ContentStore,
    targets_dir: &Path,
    listed: &[(&TargetPath, &TargetFile)],
    consistent: bool,
) -> Result<usize, Error> {
    let mut destinations = Vec::with_capacity(listed.len());
    let mut directories = std::collections::BTreeSet::new();
    for (path, file) in listed {
        let url_path =
            if consistent { path.hash_prefixed(&file.hashes.first_hex()) } else { path.as_str().to_string() };
        let destination = url_path.split('/').fold(targets_dir.to_path_buf(), |p, s| p.join(s));
        directories.insert(destination.parent().expect("under targets/").to_path_buf());
        destinations.push(destination);
    }
    for dir in &directories {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let jobs: Vec<_> = listed.iter().zip(&destinations).collect();
    let placed = crate::parallel::map("publishing", &jobs, |((path, file), destination)| {
        if consistent && std::fs::metadata(destination).is_ok_and(|m| m.len() == file.length) {
            return Ok(false); // content-addressed: the same name is the same bytes
        }
        place(&store.path(&file.hashes)?, path, file, destination)?;
        Ok(true)
    })?;
    let placed = placed.iter().filter(|&&p| p).count();
    if placed > 0 {
        let sync = std::fs::File::open(targets_dir).map_err(|e| Error::io(targets_dir, e))?;
        rustix::fs::syncfs(&sync).map_err(|e| Error::io(targets_dir, e.into()))?;
    }
    Ok(placed)
}

/// Writes `set` into `out/metadata` (timestamp last), the audit log beside it, and the
/// record of what `out` now holds; the number of metadata files written.
pub fn write_metadata(dir: &Path, out: &Path, set: &MetadataSet) -> Result<usize, Error> {
    let metadata = out.join("metadata");
    let mut written = 0;
    let mut write = |name: &str, bytes: &[u8]| -> Result<(), Error> {
        write_atomically(&metadata.join(name), bytes)?;
        written += 1;
        Ok(())
    };
    for (version, bytes) in &set.roots {
        write(&format!("{version}.root.json"), bytes)?;
    }
    for (_, name, bytes) in &set.roles {
        write(name, bytes)?;
    }
    write(&set.snapshot.0, &set.snapshot.1)?;
    write("timestamp.json", &set.timestamp)?;
    publish_audit_log(dir, out)?;
    let roles = set.roles.iter().map(|(role, _, bytes)| (role.clone(), sha256_hex(bytes))).collect();
    crate::publish_changes::PublishedRecord { roles }.write(out)?;
    Ok(written)
}

/// The audit log and its signed head, beside the metadata, so an assessor holding only
/// the published tree can check them (`audit verify --published`).
fn publish_audit_log(dir: &Path, out: &Path) -> Result<(), Error> {
    for name in [crate::audit::LOG, crate::audit::HEAD] {
        let from = dir.join(name);
        match std::fs::read(&from) {
            Ok(bytes) => write_atomically(&out.join(name), &bytes)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {} // an offline audit key's unsigned head
            Err(e) => return Err(Error::io(&from, e)),
        }
    }
    Ok(())
}

/// Puts a target at `destination`, checked against the metadata first: a hard link to
/// the store when it shares the filesystem (the name appears with its whole content at
/// once), else a checked copy renamed into place.
fn place(source: &Path, path: &TargetPath, file: &TargetFile, destination: &Path) -> Result<(), Error> {
    let corrupt = |at: &Path, e: Error| Error::Corrupt(format!("{}: does not match its metadata ({e})", at.display()));
    check(source, path, file).map_err(|e| corrupt(source, e))?;
    let linked = std::fs::hard_link(source, destination);
    if linked.is_ok() {
        return Ok(());
    }
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = destination.parent().expect("under targets/");
    let temp = dir.join(format!(".tmp-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed)));
    // A name taken by an older file is replaced atomically; another filesystem gets a copy.
    let result = if linked.is_err_and(|e| e.kind() == std::io::ErrorKind::AlreadyExists)
        && std::fs::hard_link(source, &temp).is_ok()
    {
        Ok(())
    } else {
        std::fs::copy(source, &temp)
            .map_err(|e| Error::io(source, e))
            .and_then(|_| check(&temp, path, file).map_err(|e| corrupt(source, e)))
    }
    .and_then(|()| std::fs::rename(&temp, destination).map_err(|e| Error::io(destination, e)));
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

/// Streams a file through the verifier clients use.
fn check(placed: &Path, path: &TargetPath, file: &TargetFile) -> Result<(), Error> {
    let mut verifier = update_verifier::TargetVerifier::new(path, file)?;
    let mut input = std::fs::File::open(placed).map_err(|e| Error::io(placed, e))?;
    let mut buffer = vec![0; (file.length as usize).clamp(1, 1 << 20)];
    loop {
        let n = input.read(&mut buffer).map_err(|e| Error::io(placed, e))?;
        if n == 0 {
            break;
        }
        verifier.update(&buffer[..n])?;
    }
    Ok(verifier.finish()?)
}
