//! TUF 1.0 and Uptane 2.1 metadata: typed roles, the JSON value model they are read
//! from, and a canonical JSON encoder byte-identical to securesystemslib's.
//!
//! `no_std` with `alloc`. Reading metadata is parse, verify, decode: parse the bytes into
//! an [`Envelope`], check signatures over [`Envelope::canonical_signed`] (threshold-keys
//! does that), then decode the typed role from the very value that was verified.
//! Unknown fields are kept, so a decoded and re-encoded document still verifies.
//!
//! ```
//! use metadata_schemas::{Envelope, Timestamp, Error};
//!
//! let bytes = br#"{"signatures": [], "signed": {"_type": "timestamp",
//!   "expires": "2030-01-01T00:00:00Z", "meta": {"snapshot.json": {"version": 7}},
//!   "spec_version": "1.0.31", "version": 12, "x-note": "kept"}}"#;
//! let envelope = Envelope::parse(bytes)?;
//! assert_eq!(
//!     envelope.canonical_signed(),
//!     br#"{"_type":"timestamp","expires":"2030-01-01T00:00:00Z","meta":{"snapshot.json":{"version":7}},"spec_version":"1.0.31","version":12,"x-note":"kept"}"#
//! );
//! // ... verify the signatures over those bytes, then:
//! let timestamp: Timestamp = envelope.decode_signed()?;
//! assert_eq!(timestamp.snapshot.version.get(), 7);
//!
//! // Malformed input is a typed error that says where, never a panic.
//! let err = Envelope::parse(br#"{"signed": {"version": 1.5}, "signatures": []}"#).unwrap_err();
//! assert_eq!(err.to_string(), "malformed JSON: floating-point number (TUF metadata allows integers only) at byte 24");
//! # Ok::<(), Error>(())
//! ```
#![no_std]

extern crate alloc;

pub mod common;
pub mod decode;
pub mod delegation;
pub mod envelope;
pub mod error;
pub mod hashes;
pub mod hex;
pub mod json;
pub mod key;
pub mod names;
pub mod root;
pub mod snapshot;
pub mod targets;
pub mod timestamp;
pub mod uptane;

pub use common::{CommonFields, MetadataType, RoleMetadata, SpecVersion, Threshold, UtcTime, Version};
pub use decode::{Decode, Encode, UnknownFields};
pub use delegation::{DelegatedRole, DelegatedRoles, Delegations, PathSpec, SuccinctRoles};
pub use envelope::{Envelope, Signature, Signed};
pub use error::{DecodeError, DecodeErrorKind, Error, JsonError, JsonErrorKind};
pub use hashes::{Digest, HashAlgorithm, Hashes, MetaFile};
pub use key::{Key, KeyVal};
pub use names::{KeyId, RoleName, TargetPath, UnsafePath, percent_encode};
pub use root::{RoleKeys, Root, TopLevelRoles};
pub use snapshot::Snapshot;
pub use targets::{TargetFile, Targets};
pub use timestamp::Timestamp;
