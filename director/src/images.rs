//! The image repository repo-tool publishes: verified with update-verifier from the
//! trusted image root before any assignment names one of its targets, and served as
//! static files.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use metadata_schemas::TargetPath;
use update_verifier::{
    CachedFile, DriveError, FetchRequest, Limits, MetadataIo, Refresh, TargetInfo, TargetSearch, drive,
};

/// A published image repository and the root the director trusts for it.
pub struct ImageRepository {
    dir: PathBuf,
    root: Vec<u8>,
}

/// Published metadata files, read from `metadata/` by name.
struct Files<'a> {
    dir: &'a Path,
}

impl MetadataIo for Files<'_> {
    type Error = std::io::Error;
    fn read_cached(&mut self, _: &CachedFile) -> Result<Option<Vec<u8>>, Self::Error> {
        Ok(None)
    }
    fn fetch(&mut self, request: &FetchRequest) -> Result<Option<Vec<u8>>, Self::Error> {
        match std::fs::read(self.dir.join("metadata").join(&request.file_name)) {
            Ok(bytes) if bytes.len() as u64 <= request.max_length => Ok(Some(bytes)),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
    fn store(&mut self, _: &CachedFile, _: &[u8]) -> Result<(), Self::Error> {
        Ok(())
    }
    fn delete(&mut self, _: &CachedFile) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// Why the image repository (or one of its targets) cannot be used.
#[derive(Debug)]
pub enum ImageRepoError {
    /// Its trusted root does not start a verification.
    Root(update_verifier::Error),
    /// Its metadata does not verify, or could not be read.
    Metadata(DriveError<std::io::Error>),
    /// Its metadata verified, but the refresh did not finish.
    Refresh(update_verifier::Error),
    /// A target's search through the delegations failed.
    Target {
        /// The target path.
        path: String,
        /// What the verifier said.
        reason: String,
    },
    /// No file in `targets/` has the listed SHA-256.
    Missing(String),
}

impl std::fmt::Display for ImageRepoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImageRepoError::Root(e) => write!(f, "image repository root: {e}"),
            ImageRepoError::Metadata(DriveError::Verification(e)) => write!(f, "image repository: {e}"),
            ImageRepoError::Metadata(DriveError::Io(e)) => write!(f, "image repository: {e}"),
            ImageRepoError::Refresh(e) => write!(f, "image repository: {e}"),
            ImageRepoError::Target { path, reason } => write!(f, "{path}: {reason}"),
            ImageRepoError::Missing(path) => {
                write!(f, "{path}: no file in the image repository's targets with the listed sha256")
            }
        }
    }
}

impl ImageRepository {
    /// The repository published in `dir`, trusted from `root`.
    pub fn open(dir: &Path, root: &Path) -> Result<Self, crate::setup::SetupError> {
        let root = std::fs::read(root).map_err(crate::setup::io(root))?;
        Ok(ImageRepository { dir: dir.to_path_buf(), root })
    }

    /// The published directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The bytes of the image at `path` whose SHA-256 is `sha256`: the consistent-snapshot
    /// name (`<sha256>.<name>`) or the plain one, checked against the hash.
    pub fn read_target(&self, path: &str, sha256: &[u8; 32]) -> Result<Vec<u8>, ImageRepoError> {
        let target = TargetPath::new(path);
        let hex = metadata_schemas::hex::encode(sha256);
        for name in [target.hash_prefixed(&hex), path.to_string()] {
            if let Ok(bytes) = std::fs::read(self.dir.join("targets").join(&name)) {
                if threshold_keys::digest::sha256(&bytes) == *sha256 {
                    return Ok(bytes);
                }
            }
        }
        Err(ImageRepoError::Missing(path.to_string()))
    }

    /// The repository's top-level metadata, verified as a client would at `now`.
    pub fn trusted(&self, now: DateTime<Utc>) -> Result<update_verifier::TrustedSet, ImageRepoError> {
        let limits = Limits { snapshot_max_length: 1 << 30, targets_max_length: 1 << 30, ..Limits::default() };
        let mut files = Files { dir: &self.dir };
        let mut refresh = Refresh::new(&self.root, now, limits).map_err(ImageRepoError::Root)?;
        drive(&mut refresh, &mut files).map_err(ImageRepoError::Metadata)?;
        refresh.finish().map_err(ImageRepoError::Refresh)
    }

    /// Verifies the repository as a client would and looks `path` up through its
    /// delegations: the target's entry, or `None` if the repository does not list it.
    pub fn find(&self, path: &str, now: DateTime<Utc>) -> Result<Option<TargetInfo>, ImageRepoError> {
        let mut trusted = self.trusted(now)?;
        let mut files = Files { dir: &self.dir };
        let target =
            |e: &dyn std::fmt::Display| ImageRepoError::Target { path: path.to_string(), reason: e.to_string() };
        let mut search = TargetSearch::new(&mut trusted, TargetPath::new(path)).map_err(|e| target(&e))?;
        drive(&mut search, &mut files).map_err(ImageRepoError::Metadata)?;
        search.finish().map_err(|e| target(&e))
    }
}
