//! A test driver for the sans-I/O engine: a map of files as the repository, a map
//! as the local cache, and a log of every request.

#![allow(dead_code)]

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use update_verifier::{
    CachedFile, DriveError, Error, FetchRequest, Limits, MetadataIo, Refresh, TargetInfo, TargetSearch, TrustedSet,
    drive,
};

/// A client with an in-memory cache.
pub struct Client {
    pub cache: BTreeMap<String, Vec<u8>>,
    pub requests: Vec<String>,
    pub limits: Limits,
}

/// The cache and request log, with the repository's files for one run.
struct Io<'a> {
    cache: &'a mut BTreeMap<String, Vec<u8>>,
    requests: &'a mut Vec<String>,
    server: &'a BTreeMap<String, Vec<u8>>,
}

impl MetadataIo for Io<'_> {
    type Error = std::convert::Infallible;
    fn read_cached(&mut self, file: &CachedFile) -> Result<Option<Vec<u8>>, Self::Error> {
        Ok(self.cache.get(&file.file_name).cloned())
    }
    fn fetch(&mut self, request: &FetchRequest) -> Result<Option<Vec<u8>>, Self::Error> {
        self.requests.push(request.file_name.clone());
        Ok(self.server.get(&request.file_name).cloned())
    }
    fn store(&mut self, file: &CachedFile, bytes: &[u8]) -> Result<(), Self::Error> {
        self.cache.insert(file.file_name.clone(), bytes.to_vec());
        Ok(())
    }
    fn delete(&mut self, file: &CachedFile) -> Result<(), Self::Error> {
        self.cache.remove(&file.file_name);
        Ok(())
    }
}

fn verification(e: DriveError<std::convert::Infallible>) -> Error {
    match e {
        DriveError::Verification(e) => e,
        DriveError::Io(never) => match never {},
    }
}

impl Client {
    /// A client initialized with a trusted root, as `update-client init` does.
    pub fn new(trusted_root: Vec<u8>) -> Self {
        let mut cache = BTreeMap::new();
        cache.insert("root.json".to_string(), trusted_root);
        Client { cache, requests: Vec::new(), limits: Limits::default() }
    }

    fn io<'a>(&'a mut self, server: &'a BTreeMap<String, Vec<u8>>) -> Io<'a> {
        Io { cache: &mut self.cache, requests: &mut self.requests, server }
    }

    /// Runs a refresh against `server`, persisting as told.
    pub fn refresh(&mut self, server: &BTreeMap<String, Vec<u8>>, now: DateTime<Utc>) -> Result<TrustedSet, Error> {
        let mut refresh = Refresh::new(&self.cache["root.json"], now, self.limits)?;
        drive(&mut refresh, &mut self.io(server)).map_err(verification)?;
        refresh.finish()
    }

    /// Searches the delegations for `path`, loading roles from the cache or `server`.
    pub fn find(
        &mut self,
        trusted: &mut TrustedSet,
        server: &BTreeMap<String, Vec<u8>>,
        path: &str,
    ) -> Result<Option<TargetInfo>, Error> {
        let mut search = TargetSearch::new(trusted, path.into())?;
        drive(&mut search, &mut self.io(server)).map_err(verification)?;
        search.finish()
    }

    /// Refresh, then search.
    pub fn refresh_and_find(
        &mut self,
        server: &BTreeMap<String, Vec<u8>>,
        now: DateTime<Utc>,
        path: &str,
    ) -> Result<Option<TargetInfo>, Error> {
        let mut trusted = self.refresh(server, now)?;
        self.find(&mut trusted, server, path)
    }

    /// The version of a cached role file.
    pub fn cached_version(&self, file: &str) -> Option<u64> {
        let bytes = self.cache.get(file)?;
        let envelope = metadata_schemas::Envelope::parse(bytes).ok()?;
        envelope.signed().as_object()?.get("version")?.as_u64()
    }

    /// Forgets the request log.
    pub fn clear_requests(&mut self) {
        self.requests.clear();
    }
}

/// A fixed reference time for tests.
pub fn now() -> DateTime<Utc> {
    "2030-06-01T12:00:00Z".parse().expect("time")
}

/// `days` after [`now`].
pub fn later(days: i64) -> DateTime<Utc> {
    now() + chrono::Duration::days(days)
}
