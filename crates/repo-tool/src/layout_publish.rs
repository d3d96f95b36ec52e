//! `publish`: the consistent-snapshot layout clients fetch, ready for static hosting
//! or a CDN. Content-addressed files first, `timestamp.json` last (atomically), so a
//! mirror never points at a file it does not have yet. Each target's content is checked
//! against its listed length and hash while it is copied.

use std::io::IsTerminal;
use std::path::Path;

use metadata_schemas::RoleName;

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
    crate::verify::verify_repository_state(repo)?;
    let consistent = repo.root.signed.consistent_snapshot();
    let metadata = out.join("metadata");
    let targets_dir = out.join("targets");
    let mut published = Published::default();
    let total: usize = repo.targets.values().map(|md| md.signed.targets.len()).sum();
    let bar = (total >= 1000 && std::io::stderr().is_terminal()).then(|| indicatif::ProgressBar::new(total as u64));
    for md in repo.targets.values() {
        for (path, file) in &md.signed.targets {
            let url_path =
                if consistent { path.hash_prefixed(&file.hashes.first_hex()) } else { path.as_str().to_string() };
            let destination = url_path.split('/').fold(targets_dir.clone(), |p, s| p.join(s));
            if let Some(bar) = &bar {
                bar.inc(1);
            }
            if consistent && std::fs::metadata(&destination).is_ok_and(|m| m.len() == file.length) {
                continue; // content-addressed: the same name is the same bytes
            }
            let source = repo.target_file(path)?;
            let bytes = std::fs::read(&source).map_err(|e| Error::io(&source, e))?;
            let mut verifier = update_verifier::TargetVerifier::new(path, file)?;
            verifier
                .update(&bytes)
                .and_then(|()| verifier.finish())
                .map_err(|e| Error::Corrupt(format!("{}: does not match its metadata ({e})", source.display())))?;
            write_atomically(&destination, &bytes)?;
            published.targets += 1;
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
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
        write(name, pretty(md))?;
    }
    let snapshot = if consistent {
        RoleName::snapshot().versioned_file_name(repo.snapshot.signed.common.version)
    } else {
        "snapshot.json".into()
    };
    write(snapshot, pretty(&repo.snapshot))?;
    write("timestamp.json".into(), pretty(&repo.timestamp))?;
    Ok(published)
}
