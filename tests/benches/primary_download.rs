//! The primary's download throughput for its own image, in the clear and encrypted:
//! a whole vehicle (director, primary, secondaries) on 127.0.0.1, a 32 MiB gateway
//! image, timed from the primary's own progress events. Encrypted, the primary fetches
//! the director's ciphertext (checking its length and hash as it streams), then unwraps
//! the content key, decrypts and checks the plaintext before it writes the slot.
//! Rounds alternate the two modes, so both see the same machine load.
//!
//! Run: `cargo bench -p tests --bench primary_download`

#[path = "../harness/mod.rs"]
mod harness;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use client_std::primary::{Primary, Progress};
use harness::Vehicle;

const MIB: usize = 1024 * 1024;
const IMAGE: usize = 32 * MIB;
const ROUNDS: usize = 5;

/// The usual firmware, plus a 32 MiB gateway image.
fn firmware() -> repo_simulator::RepoSim {
    let big: Vec<u8> = (0..IMAGE as u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let mut list = harness::firmware_list();
    list.push(("gateway/big.bin", "gateway-hw", 3, big));
    let entries: Vec<_> = list.iter().map(|(path, hw, counter, b)| (*path, *hw, *counter, b.as_slice())).collect();
    harness::images(&entries)
}

/// What one cycle took: the download (first byte to last) and from its end to the
/// image in the slot (decryption, checks, the slot written and read back).
struct Timing {
    download: Duration,
    install: Duration,
}

fn round(encrypted: bool) -> Timing {
    let mut vehicle = Vehicle::new(firmware());
    if encrypted {
        vehicle.admin("PUT", "/encryption/gateway-hw", serde_json::json!({"policy": "required"}));
        let secret = harness::write(vehicle.dir.path().join("gateway-decryption.key"), "45".repeat(32).as_bytes());
        vehicle.config.own_image.decryption_secret = Some(secret);
        vehicle.cycle().unwrap(); // the signed report announces the decryption key
    }
    vehicle.assign(&[("gateway-hw", "gateway/big.bin")]);
    let marks: Arc<Mutex<Vec<(Instant, bool)>>> = Arc::default();
    let seen = marks.clone();
    let mut primary = Primary::open(vehicle.config.clone()).unwrap().with_observer(move |progress| {
        let done = match *progress {
            Progress::Download { serial: "gateway-1", received, total, .. } => received == total,
            Progress::Step(text) if text.contains("installed into the inactive slot") => true,
            _ => return,
        };
        seen.lock().unwrap().push((Instant::now(), done));
    });
    primary.cycle(chrono::Utc::now()).unwrap();
    let marks = marks.lock().unwrap();
    let first = marks.first().expect("a download").0;
    let downloaded = marks.iter().find(|m| m.1).expect("the download ends").0;
    let installed = marks.iter().rev().find(|m| m.1).expect("the image is installed").0;
    let slot = std::fs::read(vehicle.dir.path().join("slot-b.bin")).unwrap();
    assert_eq!(slot.len(), IMAGE, "the plaintext is in the slot");
    Timing { download: downloaded - first, install: installed - downloaded }
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` lists benches; this one only runs under `cargo bench`
    }
    let (mut plain, mut encrypted) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        plain.push(round(false));
        encrypted.push(round(true));
    }
    let rate = |d: Duration| IMAGE as f64 / MIB as f64 / d.as_secs_f64();
    for (name, timings) in [("in the clear", &plain), ("encrypted", &encrypted)] {
        let download = median(timings.iter().map(|t| t.download).collect());
        let install = median(timings.iter().map(|t| t.install).collect());
        println!(
            "{name:>12}: download {download:?} ({:.0} MiB/s), then to the slot {install:?}; median of {ROUNDS}",
            rate(download)
        );
    }
    let ratio = |f: fn(&Timing) -> Duration| {
        median(encrypted.iter().map(f).collect()).as_secs_f64() / median(plain.iter().map(f).collect()).as_secs_f64()
    };
    println!("encrypted / clear: download x{:.2}, to the slot x{:.2}", ratio(|t| t.download), ratio(|t| t.install));
}
