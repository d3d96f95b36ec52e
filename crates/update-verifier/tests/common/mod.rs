//! A test driver for the sans-I/O engine: a map of files as the repository, a map
//! as the local cache, and a log of every request.

#![allow(dead_code)]

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use update_verifier::{
    Action, Error, Limits, Persist, Refresh, TargetInfo, TargetSearch, TrustedSet,
};

/// A client with an in-memory cache.
pub struct Client {
    pub cache: BTreeMap<String, Vec<u8>>,
    pub requests: Vec<String>,
    pub limits: Limits,
}

impl Client {
    /// A client initialized with a trusted root, as `update-client init` does.
    pub fn new(trusted_root: Vec<u8>) -> Self {
        let mut cache = BTreeMap::new();
        cache.insert("root.json".to_string(), trusted_root);
        Client {
            cache,
            requests: Vec::new(),
            limits: Limits::default(),
        }
    }

    /// Runs a refresh against `server`, persisting as told.
    pub fn refresh(
        &mut self,
        server: &BTreeMap<String, Vec<u8>>,
        now: DateTime<Utc>,
    ) -> Result<TrustedSet, Error> {
        let mut refresh = Refresh::new(&self.cache["root.json"], now, self.limits)?;
        loop {
            match refresh.next_action() {
                Action::ReadCache(file) => {
                    refresh.cached(self.cache.get(&file.file_name).map(Vec::as_slice))
                }
                Action::Fetch(request) => {
                    self.requests.push(request.file_name.clone());
                    match server.get(&request.file_name) {
                        Some(bytes) => {
                            if let Persist::Store(file) = refresh.fetched(bytes)? {
                                self.cache.insert(file.file_name, bytes.clone());
                            }
                        }
                        None => refresh.not_found()?,
                    }
                }
                Action::DeleteCache(file) => {
                    self.cache.remove(&file.file_name);
                    refresh.deleted();
                }
                Action::Done => break,
            }
        }
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
        loop {
            match search.next_action() {
                Action::ReadCache(file) => {
                    search.cached(self.cache.get(&file.file_name).map(Vec::as_slice))?
                }
                Action::Fetch(request) => {
                    self.requests.push(request.file_name.clone());
                    match server.get(&request.file_name) {
                        Some(bytes) => {
                            if let Persist::Store(file) = search.fetched(bytes)? {
                                self.cache.insert(file.file_name, bytes.clone());
                            }
                        }
                        None => search.not_found()?,
                    }
                }
                Action::DeleteCache(_) => unreachable!("searches never delete"),
                Action::Done => return Ok(search.outcome().cloned()),
            }
        }
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
