//! A secondary ECU under QEMU (Cortex-M4, mps2-an386). Its "flash" is RAM that survives
//! `SCB::sys_reset()`, so each boot continues where the last one stopped:
//!
//! 1. first power-on: provision the first image in slot A, the factory image in its own
//!    region, and the director root; boot slot A, then verify director targets v2 and
//!    install image v2; reset;
//! 2. to 4. the bootloader starts v2 as a trial three times; the application never
//!    confirms; reset;
//! 5. the bootloader reverts to slot A (v2 is marked failed); then slot A's bytes rot,
//!    so both slots are bad; reset;
//! 6. the bootloader finds slot A corrupt and starts the factory image, which verifies
//!    director targets v3 (20 ECUs listed, for the figure), then takes image v3 from an
//!    offline bundle (offline snapshot and targets signed by the offline key the director
//!    root names) into a slot; reset;
//! 7. v3 runs as a trial and confirms; reset;
//! 8. v3 boots as the confirmed image: report the figures and exit 0.
//!
//! Any other outcome exits 1. The fixtures (signed metadata and images) come from
//! `cargo run -p client-embedded --example qemu_fixtures -- DIR`, built in via FIXTURES.

#![no_std]
#![no_main]

use client_embedded::{
    BootDecision, Device, Ed25519EcuKey, FactoryImage, ImageInfo, Layout, Secondary, Slot, SlotStatus,
};
use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprintln};
use metadata_schemas::uptane::{EcuSerial, HardwareId, Vin};
use update_verifier::uptane::EcuIdentity;
use update_verifier::Limits;

use qemu_firmware::ram_flash::RamFlash;
use qemu_firmware::{measure, ram_flash};

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!(env!("FIXTURES"), "/", $name))
    };
}

const ROOT: &[u8] = fixture!("root.json");
const FACTORY: &[u8] = fixture!("factory.bin");
const TARGETS_V2: &[u8] = fixture!("targets-v2.json");
const TARGETS_V3: &[u8] = fixture!("targets-v3.json");
const IMAGE_V2: &[u8] = fixture!("image-v2.bin");
const IMAGE_V3: &[u8] = fixture!("image-v3.bin");
const OFFLINE_SNAPSHOT_V3: &[u8] = fixture!("offline-snapshot-v3.json");
const OFFLINE_TARGETS_V3: &[u8] = fixture!("offline-targets-v3.json");
const NOW: &[u8] = fixture!("now.txt");

const SECTOR: u32 = 4096;

fn layout() -> Layout {
    Layout::contiguous(0, SECTOR, 32 * 1024, SECTOR, 8 * 1024, false).with_factory(SECTOR, 32 * 1024)
}

fn factory_info() -> ImageInfo {
    ImageInfo {
        length: FACTORY.len() as u32,
        sha256: threshold_keys::digest::sha256(FACTORY),
        release_counter: 1,
        targets_version: 0,
    }
}

fn identity() -> EcuIdentity {
    EcuIdentity {
        vin: Vin::new("VIN0001").unwrap(),
        serial: EcuSerial::new("brake-ecu-1").unwrap(),
        hardware_id: HardwareId::new("brake-hw-a").unwrap(),
    }
}

fn now() -> u64 {
    core::str::from_utf8(NOW).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0)
}

fn check(ok: bool, what: &str) {
    if !ok {
        hprintln!("FAIL: {}", what);
        debug::exit(debug::EXIT_FAILURE);
    }
}

/// Verifies `targets`, then streams `image` in 512-byte chunks and activates it.
fn update(secondary: &mut Secondary<RamFlash, Ed25519EcuKey>, targets: &[u8], image: &[u8], label: &str) {
    let scratch = unsafe { measure::scratch() };
    check(secondary.start_cycle(now(), scratch).is_ok(), "start cycle");
    let (assigned, ticks) = measure::ticks(|| secondary.put_targets(targets, scratch));
    hprintln!("verify director targets {}: {} instructions", label, measure::instructions(ticks));
    check(matches!(assigned, Ok(Some(_))), "an image is assigned");
    check(secondary.begin_image().is_ok(), "begin image");
    for chunk in image.chunks(512) {
        check(secondary.put_chunk(chunk).is_ok(), "image chunk");
    }
    check(secondary.activate().is_ok(), "activate");
}

/// Measures verifying director targets with 20 ECUs, then installs `image` from an
/// offline bundle: its offline snapshot and targets verified, the image streamed.
fn recover_from_bundle(secondary: &mut Secondary<RamFlash, Ed25519EcuKey>, image: &[u8]) {
    let scratch = unsafe { measure::scratch() };
    check(secondary.start_cycle(now(), scratch).is_ok(), "start cycle");
    let (assigned, ticks) = measure::ticks(|| secondary.put_targets(TARGETS_V3, scratch));
    hprintln!("verify director targets v3 (20 ECUs): {} instructions", measure::instructions(ticks));
    check(matches!(assigned, Ok(Some(_))), "targets v3 assign an image");
    check(secondary.start_cycle(now(), scratch).is_ok(), "start cycle");
    let (assigned, ticks) = measure::ticks(|| secondary.put_offline(OFFLINE_SNAPSHOT_V3, OFFLINE_TARGETS_V3));
    hprintln!("verify an offline bundle (offline snapshot + targets): {} instructions", measure::instructions(ticks));
    check(matches!(assigned, Ok(Some(_))), "the bundle has v3 for this ECU");
    check(secondary.begin_image().is_ok(), "begin image");
    for chunk in image.chunks(512) {
        check(secondary.put_chunk(chunk).is_ok(), "image chunk");
    }
    check(secondary.activate().is_ok(), "activate");
}

/// The encrypted-image path's cost: one unwrap (X25519, HKDF, AES-KW) and AES-128-CTR
/// over 4 KiB, in instructions. Not inlined: its buffers stay out of `main`'s frame.
#[inline(never)]
fn measure_decryption() {
    let key = image_crypto::EcuDecryptionKey::from_secret([0x42; 32]);
    let (sha, iv) = ([0x33; 32], [0x44; 16]);
    let binding = image_crypto::Binding {
        ecu_identifier: "brake-ecu-1",
        filename: "brake/fw-3.bin",
        plaintext_sha256: &sha,
        release_counter: 3,
        content_alg: image_crypto::CONTENT_ALG,
        iv: &iv,
    };
    let cek = image_crypto::ContentKey::from_bytes([0x55; 16]);
    let Ok(wrapped) = image_crypto::wrap(&key.public(), &cek, &binding, [0x66; 32]) else {
        return check(false, "wrap");
    };
    let (unwrapped, ticks) = measure::ticks(|| image_crypto::unwrap(&key, &wrapped, &binding));
    check(unwrapped.as_ref() == Ok(&cek), "unwrap");
    hprintln!("unwrap the content key (X25519 + HKDF + AES-KW): {} instructions", measure::instructions(ticks));
    let mut sector = [0u8; 4096];
    let mut cipher = image_crypto::ContentCipher::new(&cek, &iv);
    let ((), ticks) = measure::ticks(|| cipher.apply(&mut sector));
    let per_byte = measure::instructions(ticks) / sector.len() as u64;
    hprintln!("AES-128-CTR decrypt: {} instructions per byte", per_byte);
}

/// Flips a bit of slot A's image (its first byte is the factory image's), as bit rot or
/// a failing flash cell would.
fn rot_slot_a(secondary: Secondary<RamFlash, Ed25519EcuKey>) {
    let persist = secondary.into_device().into_flash().into_inner();
    persist.program(layout().slots[0].start as usize, &[FACTORY[0] ^ 1]);
}

#[entry]
fn main() -> ! {
    measure::init();
    let mut persist = unsafe { ram_flash::persistent() };
    if !persist.provisioned() {
        hprintln!("boot 1: provisioning the factory image and the director root");
        persist.erase_all();
        persist.program(layout().slots[0].start as usize, FACTORY);
        persist.program(layout().factory.start as usize, FACTORY);
        let factory = FactoryImage { info: factory_info(), name: b"brake/factory.bin" };
        let mut device = Device::provision(RamFlash::new(persist), layout(), factory).unwrap();
        let scratch = unsafe { measure::scratch() };
        check(device.record_factory(factory_info(), scratch).is_ok(), "factory region");
        check(Secondary::<_, Ed25519EcuKey>::provision_root(&mut device, &identity(), ROOT, scratch).is_ok(), "root");
        persist = device.into_flash().into_inner();
        persist.set_provisioned();
    }
    let boot = persist.next_boot();
    let mut device = Device::open(RamFlash::new(persist), layout()).unwrap();
    let decision = device.boot(unsafe { measure::scratch() }).unwrap();
    hprintln!("boot {}: {:?}", boot, decision);
    let key = Ed25519EcuKey::from_seed(&[7; 32]);
    let mut secondary = Secondary::open(device, identity(), key, Limits::default());
    match boot {
        1 => {
            check(decision == BootDecision::Boot { slot: Slot::A, trial: false }, "factory image boots");
            update(&mut secondary, TARGETS_V2, IMAGE_V2, "v2 (1 ECU)");
        }
        2..=4 => {
            check(decision == BootDecision::Boot { slot: Slot::B, trial: true }, "v2 runs as a trial");
            hprintln!("boot {}: v2 trial run {} does not confirm; resetting", boot, boot - 1);
        }
        5 => {
            check(decision == BootDecision::Boot { slot: Slot::A, trial: false }, "reverted to slot A");
            check(secondary.device().state().slot(Slot::B).status == SlotStatus::Failed, "v2 recorded as failed");
            rot_slot_a(secondary);
            hprintln!("boot 5: slot A's bytes rotted: both slots are bad");
        }
        6 => {
            check(decision == BootDecision::Factory, "both slots bad: the factory image boots");
            check(secondary.device().state().slot(Slot::A).status == SlotStatus::Failed, "slot A recorded as failed");
            recover_from_bundle(&mut secondary, IMAGE_V3);
        }
        7 => {
            check(matches!(decision, BootDecision::Boot { trial: true, .. }), "v3 starts as a trial");
            check(secondary.confirm().is_ok(), "confirm");
            hprintln!("boot 7: v3 confirmed");
        }
        8 => {
            check(matches!(decision, BootDecision::Boot { trial: false, .. }), "v3 boots confirmed");
            let report = secondary.version_report().unwrap_or_default();
            check(report.windows(14).any(|w| w == b"brake/fw-3.bin"), "the report names v3");
            check(secondary.device().state().floors.release_counter == 3, "floors at v3");
            measure_decryption();
            measure::report();
            check(secondary.device().state().offline_version == 1, "the bundle's version is the offline floor");
            hprintln!("PASS: three unconfirmed trial runs reverted; both slots bad -> factory image -> v3 from an offline bundle, trial, confirmed");
            debug::exit(debug::EXIT_SUCCESS);
        }
        _ => check(false, "unexpected boot"),
    }
    measure::report();
    cortex_m::peripheral::SCB::sys_reset();
}
