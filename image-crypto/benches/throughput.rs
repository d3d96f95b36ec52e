//! What encrypting costs on the host: AES-128-CTR over a 16 MiB image (the director
//! encrypts each image once), and one wrap and one unwrap of a content key (per ECU and
//! assignment).
//!
//! Run: cargo bench -p image-crypto --bench throughput
#![allow(missing_docs)] // criterion_group! generates an undocumented pub fn

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use image_crypto::{Binding, CONTENT_ALG, ContentCipher, ContentKey, EcuDecryptionKey, unwrap, wrap};

fn binding<'a>(sha: &'a [u8; 32], iv: &'a [u8; 16]) -> Binding<'a> {
    Binding {
        ecu_identifier: "brake-1",
        filename: "brake/fw-2.bin",
        plaintext_sha256: sha,
        release_counter: 2,
        content_alg: CONTENT_ALG,
        iv,
    }
}

fn ctr(c: &mut Criterion) {
    let mut image = vec![0x5Au8; 16 << 20];
    let cek = ContentKey::from_bytes([7; 16]);
    let mut group = c.benchmark_group("aes-128-ctr");
    group.throughput(Throughput::Bytes(image.len() as u64));
    group.sample_size(10);
    group.bench_function("16 MiB", |b| {
        b.iter(|| ContentCipher::new(&cek, &[1; 16]).apply(std::hint::black_box(&mut image)))
    });
    group.finish();
}

fn key_wrap(c: &mut Criterion) {
    let ecu = EcuDecryptionKey::from_secret([0x42; 32]);
    let (sha, iv) = ([3; 32], [4; 16]);
    let cek = ContentKey::from_bytes([7; 16]);
    let wrapped = wrap(&ecu.public(), &cek, &binding(&sha, &iv), [9; 32]).unwrap();
    c.bench_function("wrap for one ECU", |b| b.iter(|| wrap(&ecu.public(), &cek, &binding(&sha, &iv), [9; 32])));
    c.bench_function("unwrap", |b| b.iter(|| unwrap(&ecu, &wrapped, &binding(&sha, &iv))));
}

criterion_group!(benches, ctr, key_wrap);
criterion_main!(benches);
