//! The local metadata directory: verified files only, each replaced atomically
//! (write a temporary file, fsync, rename, fsync the directory), so a crash leaves
//! either the old file or the new one.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::Error;

/// A directory of trusted metadata files.
#[derive(Clone, Debug)]
pub struct MetadataDir {
    path: PathBuf,
}

impl MetadataDir {
    /// The directory at `path`, which must exist.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, Error> {
        let path = path.into();
        let meta = fs::metadata(&path).map_err(|e| Error::io(&path, e))?;
        if !meta.is_dir() {
            return Err(Error::Config(format!("{} is not a directory", path.display())));
        }
        Ok(MetadataDir { path })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The path of `file_name`, which must be one plain path segment.
    fn file(&self, file_name: &str) -> Result<PathBuf, Error> {
        // The engine percent-encodes names; refusing anything else keeps files inside.
        if file_name.is_empty() || file_name == "." || file_name == ".." || file_name.contains(['/', '\\', '\0']) {
            return Err(Error::Config(format!("refusing metadata file name {file_name:?}")));
        }
        Ok(self.path.join(file_name))
    }

    /// The contents of `file_name`, if it exists.
    pub fn read(&self, file_name: &str) -> Result<Option<Vec<u8>>, Error> {
        let path = self.file(file_name)?;
        match fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(path, e)),
        }
    }

    /// Replaces `file_name` with `bytes` atomically.
    pub fn write(&self, file_name: &str, bytes: &[u8]) -> Result<(), Error> {
        let path = self.file(file_name)?;
        write_atomically(&self.path, &path, bytes)
    }

    /// Deletes `file_name`; a missing file is not an error.
    pub fn remove(&self, file_name: &str) -> Result<(), Error> {
        let path = self.file(file_name)?;
        match fs::remove_file(&path) {
            Ok(()) => sync_dir(&self.path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(path, e)),
        }
    }
}

/// Writes `bytes` to a temporary file in `dir`, syncs it and renames it to `path`.
pub(crate) fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let mut temp = tempfile::Builder::new()
        .prefix(".tmp-")
        .permissions(readable_by_all())
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, e))?;
    temp.write_all(bytes).map_err(|e| Error::io(temp.path(), e))?;
    temp.as_file().sync_all().map_err(|e| Error::io(temp.path(), e))?;
    temp.persist(path).map_err(|e| Error::io(path, e.error))?;
    sync_dir(dir)
}

/// Metadata and targets are public: 0644 (less the umask), not tempfile's 0600.
pub(crate) fn readable_by_all() -> fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    fs::Permissions::from_mode(0o644)
}

/// Makes a rename or removal in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), Error> {
    fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| Error::io(dir, e))
}
