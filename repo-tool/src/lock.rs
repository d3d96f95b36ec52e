//! One command at a time on a working repository: an exclusive `flock` on
//! `<repo>/.lock`, held for the command's whole run and released by the kernel when the
//! process ends, however it ends. A second command waits a bounded time, then fails.

use std::fs::File;
use std::path::Path;
use std::time::{Duration, Instant};

use rustix::fs::{FlockOperation, flock};

use crate::Error;

/// The lock file, inside the repository directory.
pub const LOCK_FILE: &str = ".lock";

/// How long a command waits for another to finish.
pub const WAIT: Duration = Duration::from_secs(30);

/// The held lock; dropping it (or the process ending) releases it.
#[derive(Debug)]
pub struct RepoLock {
    _file: File,
}

impl RepoLock {
    /// Takes the lock on the repository in `dir`, waiting at most `wait`.
    pub fn acquire(dir: &Path, wait: Duration) -> Result<RepoLock, Error> {
        let path = dir.join(LOCK_FILE);
        // Created empty once (`init` makes it) and never written: a lock, not content.
        // A read-only repository is locked through a read-only descriptor.
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .or_else(|_| File::open(&path))
            .map_err(|e| Error::io(&path, e))?;
        let start = Instant::now();
        loop {
            match flock(&file, FlockOperation::NonBlockingLockExclusive) {
                Ok(()) => break,
                Err(rustix::io::Errno::WOULDBLOCK) if start.elapsed() < wait => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(rustix::io::Errno::WOULDBLOCK) => {
                    return Err(Error::Usage(format!(
                        "{}: another repo-tool command has held this repository for {} s; \
                         wait for it to finish, then run this command again",
                        dir.display(),
                        wait.as_secs()
                    )));
                }
                Err(e) => return Err(Error::io(&path, e.into())),
            }
        }
        Ok(RepoLock { _file: file })
    }
}
