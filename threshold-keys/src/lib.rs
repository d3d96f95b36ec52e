//! Public keys, key ids, hashing and THE threshold check for TUF metadata, with
//! signers for the tools that write metadata.
//!
//! `no_std`. Verification runs on ring (feature `ring`, the default, for hosts) or on
//! pure-Rust RustCrypto (feature `rustcrypto`, for bare metal); a differential test
//! holds both to the same verdicts. Key files and signing need `std`.
//!
//! Every signature check in the project goes through [`check_threshold`]: it counts
//! distinct keys, ignores unknown key ids and unsupported schemes, and returns a
//! [`ThresholdReport`] that a client treats as pass/fail and a ceremony tool prints.
//!
//! ```
//! # #[cfg(feature = "std")] {
//! use std::collections::BTreeMap;
//! use metadata_schemas::{KeyId, Threshold};
//! use threshold_keys::{check_threshold, KeyAlgorithm, KeyFileSigner, RoleAuthority, Signer};
//!
//! let alice = KeyFileSigner::generate(KeyAlgorithm::Ed25519).unwrap();
//! let bob = KeyFileSigner::generate(KeyAlgorithm::EcdsaP256).unwrap();
//! let keys: BTreeMap<KeyId, _> = [&alice, &bob]
//!     .iter()
//!     .map(|s| (s.key_id().clone(), s.public_key().clone()))
//!     .collect();
//! let keyids = vec![alice.key_id().clone(), bob.key_id().clone()];
//! let authority = RoleAuthority { keys: &keys, keyids: &keyids, threshold: Threshold::new(2).unwrap() };
//!
//! let message = b"canonical bytes of a signed object";
//! let both = [alice.sign(message).unwrap(), bob.sign(message).unwrap()];
//! assert!(check_threshold(authority, &both, message).is_met());
//!
//! // One signature short: the report says who is missing.
//! let report = check_threshold(authority, &both[..1], message);
//! assert!(!report.is_met());
//! assert_eq!(report.to_string(), format!("1 of 2 signatures, missing key {}..", bob.key_id().short()));
//! # }
//! ```
#![no_std]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod backend;
mod der;
pub mod digest;
mod pem;
mod public_key;
mod strict;
mod threshold;

#[cfg(feature = "std")]
pub mod signer;

pub use public_key::{KeyError, PublicKey, RsaKey, SignatureError, default_key_id};
#[cfg(feature = "std")]
pub use signer::{KeyAlgorithm, KeyFileError, KeyFileSigner, SCRYPT_LOG_N, SignError, Signer};
#[cfg(feature = "pkcs11")]
pub use signer::{Pkcs11Signer, Pkcs11Uri};
pub use threshold::{KeyProblem, RoleAuthority, ThresholdReport, check_signed_by, check_threshold};
