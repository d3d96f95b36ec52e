//! Decoding any JSON as a director target's `encryption` block never panics, and a
//! decoded block re-encodes to the canonical bytes it was decoded from.
#![no_main]

use libfuzzer_sys::fuzz_target;
use metadata_schemas::uptane::EncryptionBlock;
use metadata_schemas::{json, Decode, Encode};

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = json::parse(data) {
        if let Ok(block) = EncryptionBlock::decode(&value) {
            assert_eq!(json::to_canonical(&block.encode()), json::to_canonical(&value));
        }
    }
});
