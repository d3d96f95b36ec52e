//! A secondary ECU that a real primary updates over the board's UART (the worked example
//! of `client-embedded`'s integrator guide). Each boot:
//!
//! 1. at the first power-on, provision from the factory block (identity, key seed, the
//!    director root and, for full verification, the image repository root, the factory
//!    image into its write-protected region and, unless the block says `factory-only`,
//!    into slot A);
//! 2. the bootloader step: `Device::boot` picks the slot (a trial after an update, a
//!    revert after three trial runs that never confirmed), or with no bootable slot the
//!    factory image;
//! 3. the application (or the factory image): a trial image that starts confirms itself
//!    (its health check is that it runs), then serves the secondary protocol over UART0
//!    until the primary activates a new image (online, or from an offline bundle with
//!    `PutOffline`), and resets into it.
//!
//! A frame cut short (a primary that vanished mid-frame) is dropped after a second of
//! silence, so the next frame starts clean.

#![no_std]
#![no_main]

extern crate alloc;

#[cfg(feature = "littlefs")]
use client_embedded::littlefs::LittleFs;
use client_embedded::protocol::{serve, Framer, Request, Response};
#[cfg(not(feature = "littlefs"))]
use client_embedded::RawStore;
use client_embedded::{Device, Ed25519EcuKey, FactoryImage, ImageInfo, Layout, Secondary};
use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprintln};
#[cfg(feature = "littlefs")]
use littlefs2 as _; // its C library stubs
use metadata_schemas::uptane::AttackCode;
use qemu_firmware::measure;
use qemu_firmware::provisioning::{self, Provisioning};
use qemu_firmware::ram_flash::{self, RamFlash};
use qemu_firmware::uart::Uart;
use update_verifier::Limits;

const SECTOR: u32 = 4096;
/// Image slots (the vehicle tests' images are 48 KiB).
const SLOT: u32 = 64 * 1024;
/// Each stored copy of a metadata role.
#[cfg(not(feature = "littlefs"))]
const METADATA: u32 = 8 * 1024;
/// The longest frame: a 16 KiB image chunk or a metadata file, with room to spare.
const FRAME: usize = 32 * 1024;
/// SysTick ticks of silence that end a partial frame: a second at the board's 25 MHz.
const IDLE_TICKS: u32 = 25_000_000;

#[cfg(not(feature = "littlefs"))]
const STORE_NAME: &str = "raw flash regions";
#[cfg(feature = "littlefs")]
const STORE_NAME: &str = "a littlefs partition";

static mut FRAME_BUFFER: [u8; FRAME] = [0; FRAME];

/// The boot state and metadata in regions of the flash.
#[cfg(not(feature = "littlefs"))]
type Store = RawStore;
/// The boot state and metadata as files in a littlefs partition after the slots (32
/// blocks); full verification.
#[cfg(feature = "littlefs")]
type Store = LittleFs<{ 2 * SLOT }, 32, true>;

type Ecu = Secondary<RamFlash, Ed25519EcuKey, Store>;

#[cfg(not(feature = "littlefs"))]
fn layout(p: &Provisioning) -> Layout {
    Layout::contiguous(0, SECTOR, SLOT, SECTOR, METADATA, p.image_root.is_some()).with_factory(SECTOR, SLOT)
}

/// The slots, the littlefs partition after them (32 blocks), then the factory region.
#[cfg(feature = "littlefs")]
fn layout(_: &Provisioning) -> Layout {
    let mut layout = Layout::slots_only(0, SECTOR, SLOT);
    layout.factory = client_embedded::Region { start: 2 * SLOT + 32 * SECTOR, len: SLOT };
    layout
}

fn fail(what: &str) -> ! {
    hprintln!("FAIL: {}", what);
    debug::exit(debug::EXIT_FAILURE);
    loop {}
}

/// The factory step: the flash erased, the factory image in slot A, the roots stored.
fn provision(persist: &'static mut ram_flash::Persistent, p: &Provisioning) -> &'static mut ram_flash::Persistent {
    persist.erase_all();
    persist.program(layout(p).factory.start as usize, p.factory);
    let info = ImageInfo {
        length: p.factory.len() as u32,
        sha256: threshold_keys::digest::sha256(p.factory),
        release_counter: 0,
        targets_version: 0,
    };
    let provisioned = if p.factory_only {
        Device::<_, Store>::provision_blank_in(RamFlash::new(persist), layout(p))
    } else {
        persist.program(layout(p).slots[0].start as usize, p.factory);
        let factory = FactoryImage { info, name: p.factory_name };
        Device::<_, Store>::provision_in(RamFlash::new(persist), layout(p), factory)
    };
    let Ok(mut device) = provisioned else { fail("provision") };
    let scratch = unsafe { measure::scratch() };
    if device.record_factory(info, scratch).is_err() {
        fail("the factory region");
    }
    if Ecu::provision_root(&mut device, &p.identity, p.director_root, scratch).is_err() {
        fail("the provisioned director root does not verify");
    }
    if let Some(root) = p.image_root {
        if Ecu::provision_image_root(&mut device, root, scratch).is_err() {
            fail("the provisioned image repository root does not verify");
        }
    }
    let persist = device.into_flash().into_inner();
    persist.set_provisioned();
    persist
}

/// The bootloader's decision, then the application's start (a trial confirms itself).
fn start(p: &Provisioning) -> Ecu {
    let mut persist = unsafe { ram_flash::persistent() };
    if !persist.provisioned() {
        hprintln!("first power-on: provisioning from the factory block");
        persist = provision(persist, p);
    }
    let boot = persist.next_boot();
    let Ok(mut device) = Device::<_, Store>::open_in(RamFlash::new(persist), layout(p)) else { fail("open the flash") };
    let Ok(decision) = device.boot(unsafe { measure::scratch() }) else { fail("boot") };
    hprintln!("boot {}: {:?}", boot, decision);
    if !matches!(decision, client_embedded::BootDecision::Boot { .. }) {
        hprintln!("boot {}: no slot can boot; the factory image waits for an image", boot);
    }
    let mut ecu = Secondary::open(device, p.identity.clone(), Ed25519EcuKey::from_seed(&p.seed), Limits::default());
    if let Some(secret) = p.decryption_secret {
        // An ECU provisioned with a decryption key takes encrypted images only.
        ecu = ecu.with_decryption_key(image_crypto::EcuDecryptionKey::from_secret(secret), true);
        hprintln!("boot {}: encrypted images required", boot);
    }
    if ecu.on_trial() {
        if ecu.confirm().is_err() {
            fail("confirm");
        }
        hprintln!("boot {}: the trial image runs; confirmed", boot);
    }
    ecu
}

/// Serves the protocol over the UART; returns when the ECU must reset into a new image.
fn serve_uart(ecu: &mut Ecu, uart: &mut Uart) {
    let buffer = unsafe { &mut *core::ptr::addr_of_mut!(FRAME_BUFFER) };
    let mut framer = Framer::new(buffer);
    let mut out = alloc::vec::Vec::new();
    let mut last = cortex_m::peripheral::SYST::get_current();
    let mut silent = 0u32;
    loop {
        let Some(byte) = uart.try_read() else {
            let now = cortex_m::peripheral::SYST::get_current();
            silent = silent.saturating_add(last.wrapping_sub(now) & 0x00FF_FFFF);
            last = now;
            if silent > IDLE_TICKS && framer.in_frame() {
                framer.discard();
            }
            continue;
        };
        (silent, last) = (0, cortex_m::peripheral::SYST::get_current());
        let (_, Some(frame)) = framer.push(&[byte]) else { continue };
        // A frame that fails its CRC is line noise: no answer; the sender times out.
        let Ok((kind, payload)) = frame else { continue };
        let response = match Request::decode(kind, payload) {
            Ok(request) => serve(ecu, request, unsafe { measure::scratch() }),
            Err(_) => Response::Refused(AttackCode::MALFORMED),
        };
        out.clear();
        response.encode(&mut out);
        uart.write_all(&out);
        if response == Response::Resetting {
            return;
        }
    }
}

#[entry]
fn main() -> ! {
    measure::init();
    let p = match provisioning::read() {
        Ok(p) => p,
        Err(e) => {
            hprintln!("provisioning block at {:#x}: {:?}", provisioning::ADDRESS, e);
            fail("no usable provisioning block (load one with -device loader)")
        }
    };
    let mut ecu = start(&p);
    let mut uart = unsafe { Uart::take() };
    hprintln!("serving the secondary protocol on UART0 (boot state and metadata in {})", STORE_NAME);
    serve_uart(&mut ecu, &mut uart);
    hprintln!("activated: resetting into the new image");
    measure::report();
    cortex_m::peripheral::SCB::sys_reset();
}
