//! What a full-verification secondary needs to find its image in a delegated image
//! repository: the delegated targets roles the delegation search visits for the image's
//! path, in order, as the primary verified and cached them. The ECU runs the same search
//! over them (`update_verifier::uptane::find_target`).

use metadata_schemas::{RoleName, TargetPath};
use update_verifier::{CachedFile, DriveError, FetchRequest, MetadataIo, TargetSearch, TrustedSet, drive};

use crate::{Error, MetadataDir};

/// Reads the cache and notes every role it hands out; fetches nothing.
struct Recorder<'a> {
    cache: &'a MetadataDir,
    seen: Vec<(RoleName, Vec<u8>)>,
}

impl MetadataIo for Recorder<'_> {
    type Error = Error;

    fn read_cached(&mut self, file: &CachedFile) -> Result<Option<Vec<u8>>, Error> {
        let bytes = self.cache.read(&file.file_name)?;
        if let Some(bytes) = &bytes {
            self.seen.push((file.role.clone(), bytes.clone()));
        }
        Ok(bytes)
    }

    fn fetch(&mut self, _: &FetchRequest) -> Result<Option<Vec<u8>>, Error> {
        Ok(None) // the primary's own search just cached every role it visits
    }

    fn store(&mut self, _: &CachedFile, _: &[u8]) -> Result<(), Error> {
        Ok(())
    }

    fn delete(&mut self, _: &CachedFile) -> Result<(), Error> {
        Ok(())
    }
}

/// The delegated roles the search for `path` visits in `trusted` (refreshed), read from
/// `cache`, in the order the search visits them.
pub fn on_path(
    trusted: &TrustedSet,
    cache: &MetadataDir,
    path: &TargetPath,
) -> Result<Vec<(RoleName, Vec<u8>)>, Error> {
    let mut trusted = trusted.without_delegated_roles();
    let mut recorder = Recorder { cache, seen: Vec::new() };
    let mut search = TargetSearch::new(&mut trusted, path.clone())?;
    drive(&mut search, &mut recorder).map_err(|e| match e {
        DriveError::Verification(e) => Error::from(e),
        DriveError::Io(e) => e,
    })?;
    search.finish()?;
    Ok(recorder.seen)
}
