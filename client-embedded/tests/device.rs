//! The A/B device's refusals: an image that does not match its metadata, one longer
//! than listed, one below the anti-rollback floors, an install during a trial; and a
//! corrupted slot is never booted.

use client_embedded::sim::SimFlash;
use client_embedded::{BootDecision, Device, Error, FactoryImage, ImageInfo, Layout, Slot, SlotStatus};

type Flash = SimFlash<4, 4096>;

fn info(bytes: &[u8], counter: u64) -> ImageInfo {
    ImageInfo {
        length: bytes.len() as u32,
        sha256: threshold_keys::digest::sha256(bytes),
        release_counter: counter,
        targets_version: counter,
    }
}

fn device() -> Device<Flash> {
    let layout = Layout::contiguous(0, 4096, 16384, 4096, 4096, false);
    let mut flash = Flash::new(layout.end() as usize / 4096);
    flash.program(0, b"factory image");
    Device::provision(flash, layout, FactoryImage { info: info(b"factory image", 5), name: b"fw-5.bin" }).unwrap()
}

fn boots(device: &mut Device<Flash>) -> BootDecision {
    device.boot(&mut [0u8; 64]).unwrap()
}

#[test]
fn a_tampered_image_is_not_installed_and_the_old_one_keeps_booting() {
    let mut device = device();
    let mut install = device.install(info(b"new image v6", 6), b"fw-6.bin").unwrap();
    device.install_write(&mut install, b"new image v7").unwrap();
    assert!(matches!(device.install_finish(install), Err(Error::ImageMismatch)));
    assert_eq!(device.state().slot(Slot::B).status, SlotStatus::Empty);
    assert_eq!(boots(&mut device), BootDecision::Boot { slot: Slot::A, trial: false });
}

#[test]
fn more_bytes_than_listed_are_refused_before_they_are_written() {
    let mut device = device();
    let before = device.flash().counters().bytes_written;
    let mut install = device.install(info(b"short", 6), b"fw-6.bin").unwrap();
    assert!(matches!(device.install_write(&mut install, b"shorter"), Err(Error::EndlessData)));
    assert!(matches!(device.install_finish(install), Err(Error::ImageMismatch)), "nothing was taken");
    let written = device.flash().counters().bytes_written - before;
    assert_eq!(written, 64, "only the erasing record was written ({written} bytes)");
}

#[test]
fn an_image_below_the_release_counter_floor_is_refused() {
    let mut device = device();
    assert!(matches!(device.install(info(b"old image", 4), b"fw-4.bin"), Err(Error::Rollback)));
}

#[test]
fn no_install_while_a_trial_runs_and_confirm_needs_a_trial() {
    let mut device = device();
    assert!(matches!(device.confirm(), Err(Error::NotNow(_))));
    let mut install = device.install(info(b"image v6", 6), b"fw-6.bin").unwrap();
    device.install_write(&mut install, b"image v6").unwrap();
    device.install_finish(install).unwrap();
    assert_eq!(boots(&mut device), BootDecision::Boot { slot: Slot::B, trial: true });
    assert!(matches!(device.install(info(b"image v7", 7), b"fw-7.bin"), Err(Error::NotNow(_))));
}

#[test]
fn a_corrupted_slot_is_never_booted() {
    let mut device = device();
    let mut install = device.install(info(b"image v6", 6), b"fw-6.bin").unwrap();
    device.install_write(&mut install, b"image v6").unwrap();
    device.install_finish(install).unwrap();
    let start = device.layout().slots[1].start as usize;
    let mut flash = device.into_flash();
    let mut bytes = flash.bytes()[start..start + 8].to_vec();
    bytes[0] ^= 1;
    flash.program(start, &bytes); // bit rot after the install
    let layout = Layout::contiguous(0, 4096, 16384, 4096, 4096, false);
    let mut device = Device::open(flash, layout).unwrap();
    assert_eq!(boots(&mut device), BootDecision::Boot { slot: Slot::A, trial: false });
}
