//! `publish`: the consistent-snapshot layout clients fetch, ready for static hosting
//! or a CDN. Target files first (hard-linked from the content store when possible, each
//! checked against its listed length and hash), one filesystem sync, then metadata with
//! `timestamp.json` last, so a mirror never points at a file it does not have yet.

use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use metadata_schemas::{RoleName, TargetFile, TargetPath};

use crate::repository::pretty;
use crate::transaction::write_atomically;
use crate::{Error, Repository};

/// What `publish` wrote.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Published {
    /// Metadata files written.
    pub metadata: usize,
    /// Target files written (unchanged ones are skipped).
    pub targets: usize,
}

/// Publishes `repo` into `out`.
pub fn publish(repo: &Repository, out: &Path) -> Result<Published, Error> {
    repo.verify_to_publish()?;
    let consistent = repo.root.signed.consistent_snapshot();
    let metadata = out.join("metadata");
    let targets_dir = out.join("targets");
    let listed: Vec<_> = repo.targets.values().flat_map(|md| &md.signed.targets).collect();
    let mut destinations = Vec::with_capacity(listed.len());
    let mut directories = std::collections::BTreeSet::new();
    for (path, file) in &listed {
        let url_path =
            if consistent { path.hash_prefixed(&file.hashes.first_hex()) } else { path.as_str().to_string() };
        let destination = url_path.split('/').fold(targets_dir.clone(), |p, s| p.join(s));
        directories.insert(destination.parent().expect("under targets/").to_path_buf());
        destinations.push(destination);
    }
    for dir in &directories {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let store = repo.store();
    let jobs: Vec<_> = listed.iter().zip(&destinations).collect();
    let placed = crate::parallel::map("publishing", &jobs, |((path, file), destination)| {
        if consistent && std::fs::metadata(destination).is_ok_and(|m| m.len() == file.length) {
            return Ok(false); // content-addressed: the same name is the same bytes
        }
        place(&store.path(&file.hashes)?, path, file, destination)?;
        Ok(true)
    })?;
    let mut published = Published { metadata: 0, targets: placed.iter().filter(|&&p| p).count() };
    if published.targets > 0 {
        let sync = std::fs::File::open(&targets_dir).map_err(|e| Error::io(&targets_dir, e))?;
        rustix::fs::syncfs(&sync).map_err(|e| Error::io(&targets_dir, e.into()))?;
    }
    let mut write = |name: String, bytes: Vec<u8>| -> Result<(), Error> {
        write_atomically(&metadata.join(name), &bytes)?;
        published.metadata += 1;
        Ok(())
    };
    for (version, bytes) in repo.root_history()? {
        write(format!("{version}.root.json"), bytes)?;
    }
    for (role, md) in &repo.targets {
        let name = if consistent { role.versioned_file_name(md.signed.common.version) } else { role.file_name() };
        write(name, repo.metadata_file(&role.file_name(), || pretty(md)))?;
    }
    let snapshot = if consistent {
        RoleName::snapshot().versioned_file_name(repo.snapshot.signed.common.version)
    } else {
        "snapshot.json".into()
    };
    write(snapshot, repo.metadata_file("snapshot.json", || pretty(&repo.snapshot)))?;
    write("timestamp.json".into(), repo.metadata_file("timestamp.json", || pretty(&repo.timestamp)))?;
    publish_audit_log(repo.dir(), out)?;
    Ok(published)
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
