//! The one loop that runs a [`Refresh`] or a [`TargetSearch`] against storage and a
//! repository. Drivers implement [`MetadataIo`]; every decision stays in the engine.

use alloc::vec::Vec;
use core::fmt;

use crate::files::{Action, CachedFile, FetchRequest, Persist};
use crate::{Error, Refresh, TargetSearch};

/// A verification session that asks for files: a refresh or a target search.
pub trait Session {
    /// What to do next.
    fn next_action(&self) -> Action;
    /// Answers [`Action::ReadCache`].
    fn cached(&mut self, bytes: Option<&[u8]>) -> Result<(), Error>;
    /// Answers [`Action::Fetch`] with the bytes received.
    fn fetched(&mut self, bytes: &[u8]) -> Result<Persist, Error>;
    /// Answers [`Action::Fetch`] when the repository does not have the file.
    fn not_found(&mut self) -> Result<(), Error>;
    /// Answers [`Action::DeleteCache`].
    fn deleted(&mut self);
}

impl Session for Refresh {
    fn next_action(&self) -> Action {
        Refresh::next_action(self)
    }
    fn cached(&mut self, bytes: Option<&[u8]>) -> Result<(), Error> {
        Refresh::cached(self, bytes);
        Ok(())
    }
    fn fetched(&mut self, bytes: &[u8]) -> Result<Persist, Error> {
        Refresh::fetched(self, bytes)
    }
    fn not_found(&mut self) -> Result<(), Error> {
        Refresh::not_found(self)
    }
    fn deleted(&mut self) {
        Refresh::deleted(self);
    }
}

impl Session for TargetSearch<'_> {
    fn next_action(&self) -> Action {
        TargetSearch::next_action(self)
    }
    fn cached(&mut self, bytes: Option<&[u8]>) -> Result<(), Error> {
        TargetSearch::cached(self, bytes)
    }
    fn fetched(&mut self, bytes: &[u8]) -> Result<Persist, Error> {
        TargetSearch::fetched(self, bytes)
    }
    fn not_found(&mut self) -> Result<(), Error> {
        TargetSearch::not_found(self)
    }
    fn deleted(&mut self) {}
}

/// Local storage and a repository, as a driver provides them.
pub trait MetadataIo {
    /// The driver's own failures (network, disk).
    type Error;
    /// The cached file, if it exists.
    fn read_cached(&mut self, file: &CachedFile) -> Result<Option<Vec<u8>>, Self::Error>;
    /// The file from the repository, at most `request.max_length` bytes (`None`: not found).
    fn fetch(&mut self, request: &FetchRequest) -> Result<Option<Vec<u8>>, Self::Error>;
    /// Writes verified bytes, exactly as received, atomically.
    fn store(&mut self, file: &CachedFile, bytes: &[u8]) -> Result<(), Self::Error>;
    /// Deletes a cached file (no error if it is absent).
    fn delete(&mut self, file: &CachedFile) -> Result<(), Self::Error>;
}

/// Why a driven session stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum DriveError<E> {
    /// The engine refused something.
    Verification(Error),
    /// The driver's storage or transport failed.
    Io(E),
}

impl<E> From<Error> for DriveError<E> {
    fn from(e: Error) -> Self {
        DriveError::Verification(e)
    }
}

impl<E: fmt::Display> fmt::Display for DriveError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DriveError::Verification(e) => write!(f, "{e}"),
            DriveError::Io(e) => write!(f, "{e}"),
        }
    }
}

/// Runs `session` to [`Action::Done`].
pub fn drive<S: Session, IO: MetadataIo>(session: &mut S, io: &mut IO) -> Result<(), DriveError<IO::Error>> {
    loop {
        match session.next_action() {
            Action::ReadCache(file) => {
                let bytes = io.read_cached(&file).map_err(DriveError::Io)?;
                session.cached(bytes.as_deref())?;
            }
            Action::Fetch(request) => match io.fetch(&request).map_err(DriveError::Io)? {
                Some(bytes) => {
                    if let Persist::Store(file) = session.fetched(&bytes)? {
                        io.store(&file, &bytes).map_err(DriveError::Io)?;
                    }
                }
                None => session.not_found()?,
            },
            Action::DeleteCache(file) => {
                io.delete(&file).map_err(DriveError::Io)?;
                session.deleted();
            }
            Action::Done => return Ok(()),
        }
    }
}
