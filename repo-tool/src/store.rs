//! The content store: target files kept under their SHA-256, `targets/<aa>/<sha256>`.
//!
//! The name is the content, so files are written in place rather than staged: a command
//! that fails later leaves at most an unreferenced file; the commit's filesystem sync
//! makes a file durable before any metadata names it; a file cut short by a crash has
//! the wrong length, so the next `add` rewrites it, and it never passes `publish`, which
//! checks every hash.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use metadata_schemas::{HashAlgorithm, Hashes};
use threshold_keys::digest::Hasher;

use crate::Error;

/// Files up to this size are read whole; larger ones are streamed through the hasher.
const READ_WHOLE: u64 = 1 << 20;
const CHUNK: usize = 1 << 20;

/// One file put into the store.
pub struct Stored {
    /// Its length in bytes.
    pub length: u64,
    /// Its hashes, SHA-256 first.
    pub hashes: Hashes,
    /// Whether this call created the stored file (rather than finding it there).
    pub created: bool,
}

/// The content-addressed target store of one repository.
pub struct ContentStore {
    dir: PathBuf,
}

impl ContentStore {
    /// The store rooted at `dir` (the repository's `targets/`).
    pub fn new(dir: PathBuf) -> Self {
        ContentStore { dir }
    }

    /// Where the content with these hashes is kept.
    pub fn path(&self, hashes: &Hashes) -> Result<PathBuf, Error> {
        let digest =
            hashes.get(HashAlgorithm::Sha256).ok_or_else(|| Error::Corrupt("a target without a sha256".into()))?;
        let hex = digest.to_hex();
        Ok(self.dir.join(&hex[..2]).join(hex))
    }

    /// Copies `file` into the store.
    pub fn add_file(&self, file: &Path) -> Result<Stored, Error> {
        let mut source = std::fs::File::open(file).map_err(|e| Error::io(file, e))?;
        let size = source.metadata().map_err(|e| Error::io(file, e))?.len();
        if size <= READ_WHOLE {
            let mut bytes = Vec::with_capacity(size as usize);
            source.read_to_end(&mut bytes).map_err(|e| Error::io(file, e))?;
            self.add_bytes(&bytes)
        } else {
            self.add_stream(file, source)
        }
    }

    /// Stores `bytes`.
    pub fn add_bytes(&self, bytes: &[u8]) -> Result<Stored, Error> {
        let hashes = sha256(|h| h.update(bytes));
        let path = self.path(&hashes)?;
        let length = bytes.len() as u64;
        // One exclusive create both claims the name and tells whether it was free. Two
        // targets with the same content may arrive at once (adds run in parallel): the
        // second finds the name taken, also right after making the shard directory.
        let create = || std::fs::OpenOptions::new().write(true).create_new(true).open(&path);
        let mut attempt = create();
        if matches!(&attempt, Err(e) if e.kind() == std::io::ErrorKind::NotFound) {
            create_parent(&path)?;
            attempt = create();
        }
        let mut file = match attempt {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                if has_length(&path, length) {
                    return Ok(Stored { length, hashes, created: false });
                }
                std::fs::File::create(&path).map_err(|e| Error::io(&path, e))? // cut short earlier: rewrite
            }
            Err(e) => return Err(Error::io(&path, e)),
        };
        file.write_all(bytes).map_err(|e| Error::io(&path, e))?;
        Ok(Stored { length, hashes, created: true })
    }

    /// Removes content this command stored before it failed, and shard directories
    /// left empty, so the repository is as it was.
    pub fn discard(&self, stored: &[Stored]) {
        for item in stored.iter().filter(|s| s.created) {
            if let Ok(path) = self.path(&item.hashes) {
                let _ = std::fs::remove_file(&path);
                let _ = path.parent().map(std::fs::remove_dir); // fails, as it should, if not empty
            }
        }
        let _ = std::fs::remove_dir(&self.dir);
    }

    /// Streams a large file into a temporary name while hashing it, then renames it to
    /// its content name: memory stays at one chunk whatever the image size.
    fn add_stream(&self, file: &Path, mut source: std::fs::File) -> Result<Stored, Error> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let temp = self.dir.join(format!(".incoming-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed)));
        create_parent(&temp)?;
        let result = (|| {
            let mut out = std::fs::File::create(&temp).map_err(|e| Error::io(&temp, e))?;
            let mut hasher = Hasher::new(HashAlgorithm::Sha256);
            let mut buffer = vec![0; CHUNK];
            let mut length = 0u64;
            loop {
                let n = source.read(&mut buffer).map_err(|e| Error::io(file, e))?;
                if n == 0 {
                    break;
                }
                hasher.update(&buffer[..n]);
                out.write_all(&buffer[..n]).map_err(|e| Error::io(&temp, e))?;
                length += n as u64;
            }
            let hashes = Hashes::new(vec![hasher.finish()]).expect("one digest");
            let path = self.path(&hashes)?;
            let created = !has_length(&path, length);
            if created {
                create_parent(&path)?;
                std::fs::rename(&temp, &path).map_err(|e| Error::io(&path, e))?;
            }
            Ok(Stored { length, hashes, created })
        })();
        let _ = std::fs::remove_file(&temp); // gone already after a rename
        result
    }
}

fn sha256(feed: impl FnOnce(&mut Hasher)) -> Hashes {
    let mut hasher = Hasher::new(HashAlgorithm::Sha256);
    feed(&mut hasher);
    Hashes::new(vec![hasher.finish()]).expect("one digest")
}

fn has_length(path: &Path, length: u64) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.len() == length)
}

fn create_parent(path: &Path) -> Result<(), Error> {
    let dir = path.parent().expect("store files live in a directory");
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))
}
