//! The verifier's update sequence: the input is split into files that are fed, in
//! order, as root, timestamp, snapshot and targets to a trusted set. Nothing panics,
//! and nothing unsigned is ever trusted (the trust anchor's keys are not the fuzzer's).
#![no_main]

use libfuzzer_sys::fuzz_target;
use update_verifier::{Limits, Source, TrustedSet};

const ROOT: &[u8] = include_bytes!("../../testdata/python-tuf/ecdsa-basic/metadata/1.root.json");

fuzz_target!(|data: &[u8]| {
    let now = "2030-01-01T00:00:00Z".parse().expect("time");
    let mut set = TrustedSet::new(ROOT, now, Limits::default()).expect("anchor");
    let mut parts = data.split(|&b| b == 0);
    let (root, timestamp, snapshot, targets) =
        (parts.next(), parts.next(), parts.next(), parts.next());
    if let Some(bytes) = root {
        let _ = set.update_root(bytes);
    }
    if let Some(bytes) = timestamp {
        let _ = set.update_timestamp(bytes, Source::Remote);
    }
    if let Some(bytes) = snapshot {
        let _ = set.update_snapshot(bytes, Source::Remote);
    }
    if let Some(bytes) = targets {
        let _ = set.update_targets(bytes);
    }
    // The fuzzer cannot sign with the repository's keys: nothing it wrote is trusted.
    assert_eq!(set.root().version().get(), 1);
    assert!(set.timestamp().is_none() && set.snapshot().is_none() && set.targets().is_none());
});
