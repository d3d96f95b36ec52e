//! A TUF client for hosts: it drives the `update-verifier` engine over HTTP(S) (ureq
//! with rustls, certificate verification on), keeps a directory of verified metadata
//! (atomic writes, nothing unverified ever written), and downloads targets into a
//! temporary file that is renamed into place only once length and hashes match.
//!
//! ```
//! use client_std::{DirectoryTransport, Updater, UpdaterConfig};
//! # let repo = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/python-tuf/ed25519-delegations");
//! # let work = tempfile::tempdir().unwrap();
//! # let (md, td) = (work.path().join("md"), work.path().join("td"));
//! # std::fs::create_dir_all(&md).unwrap();
//! # std::fs::create_dir_all(&td).unwrap();
//! # std::fs::copy(format!("{repo}/metadata/1.root.json"), md.join("root.json")).unwrap();
//! // `md` holds a trusted root.json; the repository is a directory (it could be https://).
//! let config = UpdaterConfig::new(&md, &format!("{repo}/metadata/"), &format!("{repo}/targets/"));
//! let mut updater = Updater::with_transport(config, DirectoryTransport)?;
//! updater.refresh()?;
//! let info = updater.get_target_info("a/deep.txt")?.expect("listed by a delegated role");
//! let path = updater.download_target(&info, &td)?;
//! assert_eq!(std::fs::read(path)?, b"listed by role-a1\n");
//!
//! // A target nobody signed for is not found, not guessed.
//! assert!(updater.get_target_info("not/listed.bin")?.is_none());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod config;
pub mod download;
mod error;
mod metadata_dir;
pub mod primary;
pub mod transport;
mod updater;

pub use config::{ClientIdentity, Timeouts, TlsOptions, UpdaterConfig};
pub use error::Error;
pub use metadata_dir::MetadataDir;
pub use transport::{DirectoryTransport, HttpTransport, Transport, TransportError};
pub use updater::Updater;
