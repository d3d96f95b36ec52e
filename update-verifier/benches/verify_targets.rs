//! Verifying a signed targets.json of 100,000 targets through the engine (parse,
//! canonicalize, check signatures, decode, version and expiry checks), beside the bare
//! serde_json parse of the same bytes (the floor), and the engine's phases one by one.
//!
//! Run: cargo bench -p update-verifier --bench verify_targets
#![allow(missing_docs)] // criterion_group! generates an undocumented pub fn

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use metadata_schemas::{Digest, Envelope, Hashes, RoleName, TargetFile, TargetPath, Targets, Version, json};
use repo_simulator::RepoSim;
use update_verifier::{Limits, Source, TrustedSet};

const TARGETS: usize = 100_000;

/// A published repository whose top-level targets lists `TARGETS` small files.
fn repository() -> (RepoSim, Vec<u8>) {
    let now = "2030-01-01T00:00:00Z".parse().unwrap();
    let mut sim = RepoSim::new(now);
    let targets = sim.targets.get_mut(&RoleName::targets()).unwrap();
    for i in 0..TARGETS {
        let mut digest = [0u8; 32];
        digest[..8].copy_from_slice(&(i as u64).to_be_bytes());
        let hashes = Hashes::new(vec![Digest::Sha256(digest)]).unwrap();
        targets.targets.insert(
            TargetPath::new(format!("packages/pkg-{i:06}/pkg-{i:06}.tar.gz")),
            TargetFile::new(1024 + i as u64, hashes),
        );
    }
    sim.touch(&RoleName::targets());
    sim.publish();
    let bytes = sim.file(&RoleName::targets().versioned_file_name(Version::new(2).unwrap()));
    (sim, bytes)
}

fn bench(c: &mut Criterion) {
    let (sim, bytes) = repository();
    let now = sim.now;
    let limits = Limits { targets_max_length: 64 << 20, ..Limits::default() };
    let mut base = TrustedSet::new(&sim.file("1.root.json"), now, limits).unwrap();
    base.update_timestamp(&sim.file("timestamp.json"), Source::Remote).unwrap();
    base.update_snapshot(&sim.file("2.snapshot.json"), Source::Remote).unwrap();

    let mut group = c.benchmark_group(format!("targets.json with {TARGETS} targets ({} MB)", bytes.len() / 1_000_000));
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.sample_size(20);
    group.bench_function("floor: serde_json::Value parse", |b| {
        b.iter(|| black_box(serde_json::from_slice::<serde_json::Value>(black_box(&bytes)).unwrap()))
    });
    group.bench_function("full verification (TrustedSet::update_targets)", |b| {
        b.iter(|| {
            let mut set = base.clone();
            black_box(set.update_targets(black_box(&bytes)).unwrap().targets.len())
        })
    });
    group.bench_function("phase: parse to Value", |b| b.iter(|| black_box(json::parse(black_box(&bytes)).unwrap())));
    let envelope = Envelope::parse(&bytes).unwrap();
    group.bench_function("phase: canonicalize", |b| b.iter(|| black_box(envelope.canonical_signed())));
    group.bench_function("phase: decode typed", |b| b.iter(|| black_box(envelope.decode_signed::<Targets>().unwrap())));
    let canonical = envelope.canonical_signed();
    let key = threshold_keys::PublicKey::from_metadata(sim.root.keys.values().next().unwrap()).unwrap();
    let signer = &sim.signers[&RoleName::targets()][0];
    let signature = signer.sign_bytes(&canonical).unwrap();
    let key = threshold_keys::PublicKey::from_metadata(threshold_keys::Signer::public_key(signer)).unwrap_or(key);
    group
        .bench_function("phase: ed25519 verify", |b| b.iter(|| key.verify(black_box(&canonical), &signature).unwrap()));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
