//! What the driver is asked to do: read, fetch or delete a metadata file. File names
//! are final here (percent-encoded, versioned for consistent snapshots), so no driver
//! builds one itself.

use alloc::string::String;

use metadata_schemas::{RoleName, Version};

/// A metadata file in the local cache: `root.json`, `timestamp.json`, `snapshot.json`,
/// `targets.json` or `<percent-encoded role>.json`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CachedFile {
    /// The role.
    pub role: RoleName,
    /// The file name under the metadata directory (one path segment).
    pub file_name: String,
}

impl CachedFile {
    /// The cache file of `role`.
    pub fn of(role: &RoleName) -> Self {
        CachedFile { role: role.clone(), file_name: role.file_name() }
    }
}

/// A file to fetch from the repository.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchRequest {
    /// The role.
    pub role: RoleName,
    /// The version asked for, when the file name carries one.
    pub version: Option<Version>,
    /// The file name to append to the metadata base URL (already percent-encoded).
    pub file_name: String,
    /// Read no more than this many bytes (endless data).
    pub max_length: u64,
}

impl FetchRequest {
    /// `<version>.<role>.json` with consistent snapshots, `<role>.json` without.
    pub(crate) fn metadata(role: &RoleName, version: Version, consistent: bool, max_length: u64) -> Self {
        let file_name = if consistent { role.versioned_file_name(version) } else { role.file_name() };
        FetchRequest { role: role.clone(), version: consistent.then_some(version), file_name, max_length }
    }
}

/// What the driver must do next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Read this file from the cache, then answer with `cached(Some(bytes))` or `cached(None)`.
    ReadCache(CachedFile),
    /// Fetch this file, then answer with `fetched(bytes)` or `not_found()`.
    Fetch(FetchRequest),
    /// Delete this file from the cache, then answer with `deleted()`.
    DeleteCache(CachedFile),
    /// Nothing more to do.
    Done,
}

/// What to keep after bytes were fed in with `fetched`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Persist {
    /// The bytes verified: write them, exactly as received, to this cache file.
    Store(CachedFile),
    /// Nothing to write (the same timestamp as the trusted one).
    Nothing,
}
