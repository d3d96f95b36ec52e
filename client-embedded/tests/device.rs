//! The A/B device's refusals: an image that does not match its metadata, one longer
//! than listed, one below the anti-rollback floors, an install during a trial; and a
//! corrupted slot is never booted; an install cut short resumes, and what it kept is
//! hashed again.

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

/// 9 KiB: two whole sectors and a part.
fn long_image(version: u8) -> Vec<u8> {
    (0..9 * 1024u32).map(|i| (i % 251) as u8 ^ version).collect()
}

/// Installs the first `cut` bytes of `image`, then loses power (the device is dropped
/// without finishing); the device after the next power-up.
fn cut_short(image: &[u8], cut: usize) -> Device<Flash> {
    let mut device = device();
    let mut install = device.install(info(image, 6), b"fw-6.bin").unwrap();
    device.install_write(&mut install, &image[..cut]).unwrap();
    let layout = *device.layout();
    Device::open(device.into_flash().reboot(), layout).unwrap()
}

#[test]
fn an_install_cut_short_resumes_after_the_last_whole_sector_and_boots_byte_for_byte() {
    let image = long_image(6);
    let mut device = cut_short(&image, 8192 + 100);
    let mut install = device.install(info(&image, 6), b"fw-6.bin").unwrap();
    assert_eq!(install.received(), 8192, "the two whole sectors are kept");
    device.install_write(&mut install, &image[8192..]).unwrap();
    device.install_finish(install).unwrap();
    assert_eq!(boots(&mut device), BootDecision::Boot { slot: Slot::B, trial: true });
    let start = device.layout().slots[1].start as usize;
    assert_eq!(&device.flash().bytes()[start..start + image.len()], &image[..]);
}

#[test]
fn another_image_never_resumes_what_an_install_cut_short_left() {
    let image = long_image(6);
    let mut device = cut_short(&image, 8192 + 100);
    let other = long_image(7);
    let install = device.install(info(&other, 6), b"fw-6b.bin").unwrap();
    assert_eq!(install.received(), 0, "a different image starts from its first byte");
}

#[test]
fn a_slot_altered_while_an_install_was_cut_short_is_caught_when_it_resumes() {
    let image = long_image(6);
    let device = cut_short(&image, 8192 + 100);
    let (layout, mut flash) = (*device.layout(), device.into_flash());
    let start = layout.slots[1].start as usize;
    let mut first = flash.bytes()[start..start + 4].to_vec();
    first[0] ^= 0x80;
    flash.program(start, &first); // someone with the flash in hand, between the two power-ups
    let mut device = Device::open(flash, layout).unwrap();
    let mut install = device.install(info(&image, 6), b"fw-6.bin").unwrap();
    assert_eq!(install.received(), 8192);
    device.install_write(&mut install, &image[8192..]).unwrap();
    assert!(matches!(device.install_finish(install), Err(Error::ImageMismatch)), "the kept part is hashed again");
    assert_eq!(device.state().slot(Slot::B).status, SlotStatus::Empty);
    assert_eq!(boots(&mut device), BootDecision::Boot { slot: Slot::A, trial: false });
}
