//! Any input either fails to parse with a typed error, or parses to a value whose
//! canonical form parses back to the same value and re-canonicalizes to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use metadata_schemas::json;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = json::parse(data) {
        let canonical = json::to_canonical(&value);
        // Canonical JSON may hold raw control characters, which strict JSON refuses;
        // the pretty form escapes them and must round-trip.
        let pretty = json::to_pretty(&value);
        let back = json::parse(&pretty).expect("pretty output parses");
        assert_eq!(back, value);
        assert_eq!(json::to_canonical(&back), canonical);
    }
});
