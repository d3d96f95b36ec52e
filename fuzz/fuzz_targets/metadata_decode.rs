//! Decoding any envelope as any role never panics, and a decoded role re-encodes to
//! the canonical bytes it was decoded from.
#![no_main]

use libfuzzer_sys::fuzz_target;
use metadata_schemas::{json, Decode, Encode, Envelope, Root, Snapshot, Targets, Timestamp};

fn check<T: Decode + Encode>(envelope: &Envelope<'_>) {
    if let Ok(typed) = envelope.decode_signed::<T>() {
        assert_eq!(
            json::to_canonical(&typed.encode()),
            envelope.canonical_signed()
        );
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(envelope) = Envelope::parse(data) {
        check::<Root>(&envelope);
        check::<Targets>(&envelope);
        check::<Snapshot>(&envelope);
        check::<Timestamp>(&envelope);
    }
});
