//! The verifier's update sequence: the input is split at NUL bytes into files fed, in
//! order, as root, timestamp, snapshot and targets to a trusted set. Nothing panics, and
//! nothing is trusted unless it is the repository's genuinely signed document for that
//! role (the fuzzer does not hold the repository's keys).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use metadata_schemas::{Envelope, Snapshot, Targets, Timestamp};
use update_verifier::{Limits, Source, TrustedSet};

const DIR: &str = "../testdata/python-tuf/ecdsa-basic/metadata/";
const ROOT: &[u8] = include_bytes!("../../testdata/python-tuf/ecdsa-basic/metadata/1.root.json");
const TIMESTAMP: &[u8] =
    include_bytes!("../../testdata/python-tuf/ecdsa-basic/metadata/timestamp.json");
const SNAPSHOT: &[u8] =
    include_bytes!("../../testdata/python-tuf/ecdsa-basic/metadata/1.snapshot.json");
const TARGETS: &[u8] =
    include_bytes!("../../testdata/python-tuf/ecdsa-basic/metadata/1.targets.json");

/// The genuine documents, decoded once.
fn genuine() -> &'static (Timestamp, Snapshot, Targets) {
    static GENUINE: OnceLock<(Timestamp, Snapshot, Targets)> = OnceLock::new();
    GENUINE.get_or_init(|| {
        let decode = |bytes| Envelope::parse(bytes).expect(DIR);
        (
            decode(TIMESTAMP).decode_signed().expect("timestamp"),
            decode(SNAPSHOT).decode_signed().expect("snapshot"),
            decode(TARGETS).decode_signed().expect("targets"),
        )
    })
}

fuzz_target!(|data: &[u8]| {
    let now = "2030-01-01T00:00:00Z".parse().expect("time");
    let mut set = TrustedSet::new(ROOT, now, Limits::default()).expect("anchor");
    let mut parts = data.split(|&b| b == 0);
    if let Some(bytes) = parts.next() {
        let _ = set.update_root(bytes);
    }
    if let Some(bytes) = parts.next() {
        let _ = set.update_timestamp(bytes, Source::Remote);
    }
    if let Some(bytes) = parts.next() {
        let _ = set.update_snapshot(bytes, Source::Remote);
    }
    if let Some(bytes) = parts.next() {
        let _ = set.update_targets(bytes);
    }
    let (timestamp, snapshot, targets) = genuine();
    assert_eq!(set.root().version().get(), 1, "no second root exists");
    assert!(set.timestamp().is_none_or(|t| t.get() == timestamp));
    assert!(set.snapshot().is_none_or(|s| s.get() == snapshot));
    assert!(set.targets().is_none_or(|t| t.get() == targets));
});
