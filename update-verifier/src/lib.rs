//! The verification engine of TUF 1.0.31 and Uptane 2.1, sans I/O: it is handed bytes
//! and the reference time, and answers with verified metadata or a typed error, and
//! with what to read, fetch (with its length limit) or delete next. It owns no socket,
//! file, clock or runtime, so the Linux client and the microcontroller run the same
//! checks, and the same tests prove both.
//!
//! - [`TrustedSet`]: every TUF check on one repository's metadata (section 5).
//! - [`Refresh`]: the top-level workflow as a state machine a driver runs.
//! - [`TargetSearch`]: the delegation search for one target.
//! - [`TargetVerifier`]: streaming length and hash checks of target content.
//! - [`drive`]: the one loop that runs a session against a driver's [`MetadataIo`].
//! - [`uptane`]: partial and full verification for ECUs.
//!
//! ```
//! use update_verifier::{Action, Error, Limits, Persist, Refresh, TargetSearch};
//! # let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/python-tuf/ecdsa-basic/metadata/");
//! # let read = |name: &str| std::fs::read(format!("{dir}{name}")).ok();
//! # let now = "2030-01-01T00:00:00Z".parse().unwrap();
//! let mut refresh = Refresh::new(&read("1.root.json").unwrap(), now, Limits::default())?;
//! loop {
//!     match refresh.next_action() {
//!         Action::ReadCache(_) => refresh.cached(None), // a fresh client has no cache
//!         Action::Fetch(request) => match read(&request.file_name) {
//!             Some(bytes) => { let _store: Persist = refresh.fetched(&bytes)?; }
//!             None => refresh.not_found()?,
//!         },
//!         Action::DeleteCache(_) => refresh.deleted(),
//!         Action::Done => break,
//!     }
//! }
//! let mut trusted = refresh.finish()?;
//! let search = TargetSearch::new(&mut trusted, "file1.txt".into())?; // listed by targets: no I/O
//! assert_eq!(search.finish()?.unwrap().file.length, 22);
//!
//! // A tampered file is refused with the check that caught it.
//! let mut snapshot = read("1.snapshot.json").unwrap();
//! snapshot[60] ^= 1;
//! let mut refresh = Refresh::new(&read("1.root.json").unwrap(), now, Limits::default())?;
//! refresh.not_found()?;                                         // no 2.root.json
//! refresh.cached(None);                                         // no cached timestamp
//! refresh.fetched(&read("timestamp.json").unwrap())?;
//! refresh.cached(None);                                         // no cached snapshot
//! let err = refresh.fetched(&snapshot).unwrap_err();
//! assert!(matches!(err, Error::HashMismatch { .. }), "{err}");
//! # Ok::<(), Error>(())
//! ```
#![no_std]

extern crate alloc;

mod delegation;
mod driver;
mod error;
mod files;
mod limits;
mod refresh;
mod root_chain;
mod search;
mod target;
mod trusted_set;
pub mod uptane;
mod verified;
mod verify;

pub use delegation::{is_delegated_path, path_matches, roles_for_target};
pub use driver::{DriveError, MetadataIo, Session, drive};
pub use error::{Authority, Error};
pub use files::{Action, CachedFile, FetchRequest, Persist};
pub use limits::Limits;
pub use refresh::Refresh;
pub use search::TargetSearch;
pub use target::{TargetInfo, TargetVerifier};
pub use trusted_set::{Source, TimestampUpdate, TrustedSet};
pub use verified::Verified;

/// Re-exported so drivers name the same time type as the engine.
pub use chrono::{DateTime, Utc};
