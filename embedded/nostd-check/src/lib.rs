//! Links the verification path of the no_std crates so that the Cortex-M build
//! compiles every item it uses.
#![no_std]

extern crate alloc;

use metadata_schemas::Envelope;
use threshold_keys::{check_threshold, RoleAuthority};

/// Parses an envelope and checks it against a role, as a secondary would.
pub fn verify_signed(bytes: &[u8], authority: RoleAuthority<'_>) -> bool {
    match Envelope::parse(bytes) {
        Ok(envelope) => check_threshold(authority, &envelope.signatures, &envelope.canonical_signed()).is_met(),
        Err(_) => false,
    }
}
