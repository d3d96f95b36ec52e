//! The updater: a thin driver around the verification engine. It reads and writes the
//! metadata directory and fetches within the limits the engine sets; every decision
//! is the engine's.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use metadata_schemas::RoleName;
use update_verifier::{
    CachedFile, DriveError, FetchRequest, MetadataIo, Refresh, Session, TargetInfo, TargetSearch, TrustedSet, drive,
};

use crate::download;
use crate::metadata_dir::MetadataDir;
use crate::transport::{HttpTransport, Transport, TransportError, fetch_limited};
use crate::{Error, UpdaterConfig};

/// A TUF client for one repository.
pub struct Updater<T: Transport = HttpTransport> {
    config: UpdaterConfig,
    transport: T,
    metadata: MetadataDir,
    trusted: Option<TrustedSet>,
}

impl Updater<HttpTransport> {
    /// An updater fetching over HTTP(S) as configured.
    pub fn new(config: UpdaterConfig) -> Result<Self, Error> {
        let transport = HttpTransport::new(config.timeouts, &config.tls)?;
        Self::with_transport(config, transport)
    }
}

impl<T: Transport> Updater<T> {
    /// An updater fetching through `transport`.
    pub fn with_transport(config: UpdaterConfig, transport: T) -> Result<Self, Error> {
        let metadata = MetadataDir::open(&config.metadata_dir)?;
        Ok(Updater { config, transport, metadata, trusted: None })
    }

    /// The trusted metadata after a refresh.
    pub fn trusted(&self) -> Option<&TrustedSet> {
        self.trusted.as_ref()
    }

    /// Runs the TUF workflow for the top-level roles at the system clock's time.
    pub fn refresh(&mut self) -> Result<(), Error> {
        self.refresh_at(Utc::now())
    }

    /// Runs the TUF workflow at `now`. The local `root.json` is verified before any
    /// request; each file is persisted as soon as it verifies.
    pub fn refresh_at(&mut self, now: DateTime<Utc>) -> Result<(), Error> {
        self.trusted = None;
        let root_file = CachedFile::of(&RoleName::root());
        let root = self.metadata.read(&root_file.file_name)?.ok_or_else(|| {
            Error::Config(format!(
                "{} has no root.json: initialize it with a trusted root",
                self.metadata.path().display()
            ))
        })?;
        let mut refresh = Refresh::new(&root, now, self.config.limits)?;
        self.run(&mut refresh)?;
        for (role, note) in refresh.notes() {
            log::debug!("ignored cached {role}: {note}");
        }
        self.trusted = Some(refresh.finish()?);
        Ok(())
    }

    /// Finds `path` through the delegations (loading roles as needed), if trusted
    /// metadata lists it.
    pub fn get_target_info(&mut self, path: &str) -> Result<Option<TargetInfo>, Error> {
        let mut trusted = self.trusted.take().ok_or(Error::NotRefreshed)?;
        let result = (|| {
            let mut search = TargetSearch::new(&mut trusted, path.into())?;
            self.run(&mut search)?;
            for (role, note) in search.notes() {
                log::debug!("ignored cached {role}: {note}");
            }
            Ok(search.finish()?)
        })();
        self.trusted = Some(trusted);
        result
    }

    /// The verified local copy of `info` in `dir`, if there is one.
    pub fn find_cached_target(&self, info: &TargetInfo, dir: &Path) -> Result<Option<PathBuf>, Error> {
        download::find_cached_target(info, dir)
    }

    /// Downloads `info` into `dir` and verifies it (see [`download::download_target`]).
    pub fn download_target(&self, info: &TargetInfo, dir: &Path) -> Result<PathBuf, Error> {
        self.download_target_with_progress(info, dir, &mut |_| {})
    }

    /// Like [`Updater::download_target`], reporting the bytes received as they arrive.
    pub fn download_target_with_progress(
        &self,
        info: &TargetInfo,
        dir: &Path,
        progress: &mut dyn FnMut(u64),
    ) -> Result<PathBuf, Error> {
        let consistent = self.consistent_snapshot()?;
        download::download_target(&self.transport, &self.config.targets_base_url, consistent, info, dir, progress)
    }

    /// Like [`Updater::download_target_with_progress`], resuming where an interrupted
    /// download stopped (see [`download::download_target_resuming`]).
    pub fn download_target_resuming(
        &self,
        info: &TargetInfo,
        dir: &Path,
        progress: &mut dyn FnMut(u64),
    ) -> Result<PathBuf, Error> {
        let consistent = self.consistent_snapshot()?;
        download::download_target_resuming(
            &self.transport,
            &self.config.targets_base_url,
            consistent,
            info,
            dir,
            progress,
        )
    }

    /// Whether the trusted root asks for hash-prefixed target names.
    fn consistent_snapshot(&self) -> Result<bool, Error> {
        Ok(self.trusted.as_ref().ok_or(Error::NotRefreshed)?.root().consistent_snapshot())
    }

    fn run<S: Session>(&self, session: &mut S) -> Result<(), Error> {
        let mut io =
            Io { transport: &self.transport, base_url: &self.config.metadata_base_url, metadata: &self.metadata };
        drive(session, &mut io).map_err(|e| match e {
            DriveError::Verification(e) => Error::Verification(e),
            DriveError::Io(e) => e,
        })
    }
}

/// The engine's view of this updater's disk and network.
struct Io<'a> {
    transport: &'a dyn Transport,
    base_url: &'a str,
    metadata: &'a MetadataDir,
}

impl MetadataIo for Io<'_> {
    type Error = Error;

    fn read_cached(&mut self, file: &CachedFile) -> Result<Option<Vec<u8>>, Error> {
        self.metadata.read(&file.file_name)
    }

    fn fetch(&mut self, request: &FetchRequest) -> Result<Option<Vec<u8>>, Error> {
        let url = format!("{}{}", self.base_url, request.file_name);
        log::debug!("GET {url} (at most {} bytes)", request.max_length);
        match fetch_limited(self.transport, &url, request.max_length) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(TransportError::NotFound) => {
                log::debug!("{url}: not found");
                Ok(None)
            }
            Err(TransportError::TooLong { limit }) => {
                Err(update_verifier::Error::TooLong { role: request.role.clone(), limit }.into())
            }
            Err(source) => Err(Error::Transport { url, source }),
        }
    }

    fn store(&mut self, file: &CachedFile, bytes: &[u8]) -> Result<(), Error> {
        log::info!("verified {}", file.file_name);
        self.metadata.write(&file.file_name, bytes)
    }

    fn delete(&mut self, file: &CachedFile) -> Result<(), Error> {
        log::info!("deleting {} (its signing keys were rotated)", file.file_name);
        self.metadata.remove(&file.file_name)
    }
}
