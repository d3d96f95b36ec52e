//! Malformed input is a typed error, never a panic: truncations, byte flips and
//! structural mutations of real metadata, fed to every entry point.

mod common;

use std::collections::BTreeMap;

use common::{Client, now};
use metadata_schemas::RoleName;
use repo_simulator::RepoSim;
use update_verifier::{Error, Limits, Source, TrustedSet};

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    match rng.below(6) {
        0 => out.truncate(rng.below(out.len() + 1)),
        1 => {
            let i = rng.below(out.len());
            out[i] ^= 1 << rng.below(8);
        }
        2 => {
            let i = rng.below(out.len());
            out[i] = b"{}[]\",:0123456789-.eE\\u \x00\xff"[rng.below(24)];
        }
        3 => {
            let (a, b) = (rng.below(out.len()), rng.below(out.len()));
            let (lo, hi) = (a.min(b), a.max(b));
            let chunk = out[lo..hi].to_vec();
            out.splice(hi..hi, chunk);
        }
        4 => {
            let i = rng.below(out.len());
            out.splice(i..i, b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[".iter().copied());
        }
        _ => {
            let i = rng.below(out.len());
            out.splice(i..i, b"99999999999999999999999999999".iter().copied());
        }
    }
    out
}

#[test]
fn mutated_metadata_never_panics_the_engine() {
    let mut sim = RepoSim::new(now());
    sim.delegate(&RoleName::targets(), "a", metadata_schemas::PathSpec::Patterns(vec!["*".into()]), false, 1, 1);
    sim.publish();
    // Mutate only files a client reads, so that every mutation is seen.
    let mut clean = Client::new(sim.file("1.root.json"));
    clean.refresh_and_find(&sim.files, now(), "x").unwrap();
    let files: Vec<(String, Vec<u8>)> =
        sim.files.iter().filter(|(k, _)| clean.requests.contains(k)).map(|(k, v)| (k.clone(), v.clone())).collect();
    assert_eq!(files.len(), 4, "timestamp, snapshot, targets, a");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut refused = 0;
    for round in 0..600 {
        let (name, bytes) = &files[round % files.len()];
        let mutated = mutate(&mut rng, bytes);
        // Every parser entry point, directly...
        let _ = metadata_schemas::Envelope::parse(&mutated);
        let _ = TrustedSet::new(&mutated, now(), Limits::default());
        let mut set = TrustedSet::new(&sim.file("1.root.json"), now(), Limits::default()).unwrap();
        let _ = set.update_root(&mutated);
        let _ = set.update_timestamp(&mutated, Source::Remote);
        // ...and through a whole refresh and search, with the file replaced on the server.
        let mut server: BTreeMap<String, Vec<u8>> = sim.files.clone();
        server.insert(name.clone(), mutated.clone());
        let mut client = Client::new(sim.file("1.root.json"));
        if client.refresh_and_find(&server, now(), "x").is_err() {
            refused += 1;
        }
    }
    assert!(refused > 450, "most mutations must be refused, {refused} of 600 were");
}

#[test]
fn deep_nesting_is_a_typed_error() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let err = TrustedSet::new(deep.as_bytes(), now(), Limits::default()).unwrap_err();
    let Error::Malformed { source, .. } = err else { panic!("{err}") };
    assert!(source.to_string().contains("nesting too deep"), "{source}");
}

#[test]
fn wrong_metadata_type_is_a_typed_error() {
    let sim = RepoSim::new(now());
    let mut set = TrustedSet::new(&sim.file("1.root.json"), now(), Limits::default()).unwrap();
    // A validly signed snapshot served as timestamp (same key for both in this test).
    let bytes = sim.sign(&RoleName::timestamp(), &sim.snapshot);
    let err = set.update_timestamp(&bytes, Source::Remote).unwrap_err();
    assert!(err.to_string().contains("metadata type is \"snapshot\", expected \"timestamp\""), "{err}");
}

#[test]
fn invalid_utf8_and_huge_numbers_are_typed_errors() {
    let sim = RepoSim::new(now());
    let mut set = TrustedSet::new(&sim.file("1.root.json"), now(), Limits::default()).unwrap();
    for input in [&b"{\"signed\": \"\xff\"}"[..], b"{\"signed\": {}, \"signatures\": [], \"x\": 1e999}"] {
        assert!(matches!(set.update_timestamp(input, Source::Remote), Err(Error::Malformed { .. })));
    }
    let text = String::from_utf8(sim.file("timestamp.json"))
        .unwrap()
        .replace("\"version\": 1", "\"version\": 184467440737095516160");
    let err = set.update_timestamp(text.as_bytes(), Source::Remote).unwrap_err();
    assert!(matches!(err, Error::Unsigned { .. } | Error::Malformed { .. }), "{err}");
}
