//! All-or-nothing writes to the working repository. A command stages every file it
//! changes, then commits: the staged files are made durable, a commit record naming them
//! is written atomically, the files are renamed into place, and the record is removed.
//! If the process dies after the record is written, the next command finishes the
//! renames (roll forward); before it, nothing changed. A command that fails writes
//! nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::Error;

const STAGING: &str = ".staging";
const COMMIT: &str = ".commit";

/// Files to replace together.
#[derive(Debug, Default)]
pub struct Transaction {
    /// New contents by path; `None` deletes the file.
    files: BTreeMap<PathBuf, Option<Vec<u8>>>,
}

impl Transaction {
    /// An empty transaction.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stages `bytes` for `path` (relative to the repository directory). A later write
    /// of the same path replaces the earlier one.
    pub fn write(&mut self, path: impl Into<PathBuf>, bytes: Vec<u8>) {
        self.files.insert(path.into(), Some(bytes));
    }

    /// The bytes staged for `path`, if any (`None` also for a staged removal).
    pub fn staged(&self, path: &Path) -> Option<&[u8]> {
        self.files.get(path).and_then(|f| f.as_deref())
    }

    /// Stages the removal of `path` (relative to the repository directory).
    pub fn remove(&mut self, path: impl Into<PathBuf>) {
        self.files.insert(path.into(), None);
    }

    /// Whether anything is staged.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Paths staged so far.
    pub fn paths(&self) -> impl Iterator<Item = &Path> {
        self.files.keys().map(PathBuf::as_path)
    }

    /// Writes everything into `dir` as one change.
    pub fn commit(self, dir: &Path) -> Result<(), Error> {
        if self.files.is_empty() {
            return Ok(());
        }
        recover(dir)?;
        let staging = dir.join(STAGING);
        let _ = fs::remove_dir_all(&staging);
        fs::create_dir_all(&staging).map_err(|e| Error::io(&staging, e))?;
        let mut record = String::new();
        for (i, (path, bytes)) in self.files.iter().enumerate() {
            let Some(bytes) = bytes else {
                record.push_str(&format!("-\t{}\n", path.display()));
                continue;
            };
            let staged = staging.join(i.to_string());
            fs::File::create(&staged).and_then(|mut f| f.write_all(bytes)).map_err(|e| Error::io(&staged, e))?;
            record.push_str(&format!("{i}\t{}\n", path.display()));
        }
        // One filesystem sync makes every staged file durable (100,000 fsyncs would not).
        sync_filesystem(&staging)?;
        write_atomically(&dir.join(COMMIT), record.as_bytes())?;
        recover(dir)
    }
}

/// Finishes a commit interrupted after its record was written; removes leftovers of
/// one interrupted before. Called by every command before it reads the repository.
pub fn recover(dir: &Path) -> Result<(), Error> {
    let record_path = dir.join(COMMIT);
    let staging = dir.join(STAGING);
    let record = match fs::read_to_string(&record_path) {
        Ok(record) => record,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let _ = fs::remove_dir_all(&staging); // staged, never committed: discard
            return Ok(());
        }
        Err(e) => return Err(Error::io(&record_path, e)),
    };
    let mut created = BTreeSet::new();
    for line in record.lines() {
        let (index, target) = line.split_once('\t').ok_or_else(|| Error::Corrupt(format!("{COMMIT}: {line:?}")))?;
        let target = dir.join(target);
        if index == "-" {
            match fs::remove_file(&target) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(&target, e)),
            }
            continue;
        }
        let staged = staging.join(index);
        if !staged.exists() {
            continue; // renamed before the interruption
        }
        if let Some(parent) = target.parent() {
            if created.insert(parent.to_path_buf()) {
                fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
            }
        }
        fs::rename(&staged, &target).map_err(|e| Error::io(&target, e))?;
    }
    sync_filesystem(dir)?; // every rename is durable before the record goes
    fs::remove_file(&record_path).map_err(|e| Error::io(&record_path, e))?;
    sync_dir(dir)?;
    let _ = fs::remove_dir_all(&staging);
    Ok(())
}

/// Replaces one file atomically (temporary file, fsync, rename, directory fsync).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."), // a bare file name
    };
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut temp = tempfile::Builder::new().prefix(".tmp-").tempfile_in(dir).map_err(|e| Error::io(dir, e))?;
    temp.write_all(bytes).and_then(|()| temp.as_file().sync_all()).map_err(|e| Error::io(path, e))?;
    temp.persist(path).map_err(|e| Error::io(path, e.error))?;
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> Result<(), Error> {
    fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| Error::io(dir, e))
}

/// Flushes everything written to the filesystem holding `path`.
fn sync_filesystem(path: &Path) -> Result<(), Error> {
    let dir = fs::File::open(path).map_err(|e| Error::io(path, e))?;
    rustix::fs::syncfs(&dir).map_err(|e| Error::io(path, e.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_commit_replaces_every_file() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a"), b"old a").unwrap();
        let mut t = Transaction::new();
        t.write("a", b"new a".to_vec());
        t.write("sub/b", b"new b".to_vec());
        t.commit(dir.path()).unwrap();
        assert_eq!(fs::read(dir.path().join("a")).unwrap(), b"new a");
        assert_eq!(fs::read(dir.path().join("sub/b")).unwrap(), b"new b");
        assert!(!dir.path().join(STAGING).exists() && !dir.path().join(COMMIT).exists());
    }

    #[test]
    fn an_interrupted_commit_rolls_forward_or_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a"), b"old a").unwrap();
        // Staged but no commit record: the next recovery discards it.
        fs::create_dir_all(dir.path().join(STAGING)).unwrap();
        fs::write(dir.path().join(STAGING).join("0"), b"half").unwrap();
        recover(dir.path()).unwrap();
        assert_eq!(fs::read(dir.path().join("a")).unwrap(), b"old a");
        // A record written, one rename done, one not: recovery finishes it.
        fs::create_dir_all(dir.path().join(STAGING)).unwrap();
        fs::write(dir.path().join(STAGING).join("1"), b"new b").unwrap();
        fs::write(dir.path().join("a"), b"new a").unwrap(); // 0 already renamed
        fs::write(dir.path().join(COMMIT), "0\ta\n1\tb\n").unwrap();
        recover(dir.path()).unwrap();
        assert_eq!(fs::read(dir.path().join("a")).unwrap(), b"new a");
        assert_eq!(fs::read(dir.path().join("b")).unwrap(), b"new b");
        assert!(!dir.path().join(COMMIT).exists());
    }

    #[test]
    fn later_writes_replace_earlier_ones_and_removals_delete() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("gone"), b"x").unwrap();
        let mut t = Transaction::new();
        t.write("a", b"first".to_vec());
        t.write("a", b"second".to_vec());
        t.remove("gone");
        t.commit(dir.path()).unwrap();
        assert_eq!(fs::read(dir.path().join("a")).unwrap(), b"second");
        assert!(!dir.path().join("gone").exists());
    }
}
