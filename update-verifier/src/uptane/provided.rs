//! A search over files handed over rather than fetched: an ECU doing full verification
//! is given the image repository's delegated targets roles by the primary, and the
//! engine's delegation search (the one every client runs) verifies and walks them.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::convert::Infallible;

use metadata_schemas::{RoleName, TargetPath};

use crate::{CachedFile, DriveError, Error, FetchRequest, MetadataIo, TargetInfo, TargetSearch, TrustedSet, drive};

/// Delegated roles by name, as handed over (unverified until the search verifies them).
pub type ProvidedRoles = BTreeMap<RoleName, Vec<u8>>;

struct Provided<'a> {
    roles: &'a ProvidedRoles,
}

impl MetadataIo for Provided<'_> {
    type Error = Infallible;

    fn read_cached(&mut self, _: &CachedFile) -> Result<Option<Vec<u8>>, Infallible> {
        Ok(None)
    }

    fn fetch(&mut self, request: &FetchRequest) -> Result<Option<Vec<u8>>, Infallible> {
        // Longer than allowed is as good as absent; the search then says which role is missing.
        let bytes = self.roles.get(&request.role).filter(|b| b.len() as u64 <= request.max_length);
        Ok(bytes.cloned())
    }

    fn store(&mut self, _: &CachedFile, _: &[u8]) -> Result<(), Infallible> {
        Ok(())
    }

    fn delete(&mut self, _: &CachedFile) -> Result<(), Infallible> {
        Ok(())
    }
}

/// Finds `path` in `trusted` (refreshed up to its top-level targets) through the
/// delegations, reading delegated roles from `roles`: the target info, or `None` when
/// the search ends without it.
pub fn find_target(
    trusted: &mut TrustedSet,
    path: &TargetPath,
    roles: &ProvidedRoles,
) -> Result<Option<TargetInfo>, Error> {
    let mut search = TargetSearch::new(trusted, path.clone())?;
    drive(&mut search, &mut Provided { roles }).map_err(|e| match e {
        DriveError::Verification(e) => e,
        DriveError::Io(never) => match never {},
    })?;
    search.finish()
}
