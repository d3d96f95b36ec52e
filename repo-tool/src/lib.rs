//! Repositories and key ceremonies for TUF and Uptane image repositories.
//!
//! A working repository is a directory: `repository.json` (lifetimes and where each
//! private key lives), `metadata/` (current metadata of every role, and every root
//! version in `metadata/roots/`), `targets/` (target files by content hash), `keys/`
//! (generated key files, encrypted) and `audit/` (the hash-chained log). Every command
//! stages its changes and commits them at once after verifying the result as a client
//! would; `publish` writes the consistent-snapshot layout a client fetches.

pub mod agent;
pub mod audit;
pub mod bundle;
pub mod changes;
pub mod checklist;
pub mod config;
mod error;
pub mod guards;
pub mod keys;
pub mod layout_publish;
pub mod lock;
pub mod parallel;
pub mod passphrase;
pub mod proposal;
pub mod publish_changes;
pub mod repository;
pub mod show;
pub mod signing;
pub mod store;
pub mod transaction;
pub mod verified_state;
pub mod verify;

pub use error::Error;
pub use repository::Repository;
