//! Flash wear of one update, measured on the simulated NOR flash: bytes written and
//! sectors erased to verify and store director targets, stream the image, start its
//! trial and confirm it, relative to the image size.
//! `cargo run --release -p client-embedded --features sim --example flash_wear`

#[path = "../tests/common/mod.rs"]
mod common;

use client_embedded::sim::Counters;
use common::{Director, Ecu, now, provisioned, reset};

fn main() {
    println!("4 KiB sectors, 8-byte words; one update = metadata + image + trial start + confirm");
    println!(
        "{:>10} {:>14} {:>10} {:>16} {:>10} {:>12}",
        "image", "bytes written", "x image", "sectors erased", "x image", "of which image"
    );
    for size in [16 * 1024, 64 * 1024 + 123, 256 * 1024, 1024 * 1024] {
        let mut director = Director::new();
        let ecu = provisioned(&director);
        let image: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
        let targets = director.assign(&image, "brake-ecu-1", "brake-hw-a", 2);
        let (ecu, metadata) = measured(ecu, |ecu| {
            let scratch = &mut vec![0u8; 16384];
            ecu.start_cycle(now().timestamp() as u64, scratch).unwrap();
            ecu.put_targets(&targets, scratch).unwrap();
        });
        let (ecu, install) = measured(ecu, |ecu| {
            ecu.begin_image().unwrap();
            for chunk in image.chunks(1024) {
                ecu.put_chunk(chunk).unwrap();
            }
            ecu.activate().unwrap();
        });
        let mut ecu = ecu;
        let before_reset = ecu.device().flash().counters();
        let mut ecu = reset(ecu);
        let after_reset = ecu.device().flash().counters();
        let trial = Counters {
            operations: after_reset.operations - before_reset.operations,
            bytes_written: after_reset.bytes_written - before_reset.bytes_written,
            sectors_erased: after_reset.sectors_erased - before_reset.sectors_erased,
        };
        let (_, confirm) = measured(ecu, |ecu| ecu.confirm().unwrap());
        let total = Counters {
            operations: 0,
            bytes_written: metadata.bytes_written + install.bytes_written + trial.bytes_written + confirm.bytes_written,
            sectors_erased: metadata.sectors_erased
                + install.sectors_erased
                + trial.sectors_erased
                + confirm.sectors_erased,
        };
        let image_sectors = (size as f64 / 4096.0).ceil();
        println!(
            "{:>10} {:>14} {:>10.3} {:>16} {:>10.3} {:>12}",
            size,
            total.bytes_written,
            total.bytes_written as f64 / size as f64,
            total.sectors_erased,
            total.sectors_erased as f64 / image_sectors,
            format!("{}/{}", install.bytes_written, install.sectors_erased),
        );
    }
}

/// Runs `step` and returns what it wrote and erased.
fn measured(mut ecu: Ecu, step: impl FnOnce(&mut Ecu)) -> (Ecu, Counters) {
    let before = ecu.device().flash().counters();
    step(&mut ecu);
    let after = ecu.device().flash().counters();
    let counters = Counters {
        operations: after.operations - before.operations,
        bytes_written: after.bytes_written - before.bytes_written,
        sectors_erased: after.sectors_erased - before.sectors_erased,
    };
    (ecu, counters)
}
