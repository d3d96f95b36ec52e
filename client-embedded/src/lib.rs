//! An Uptane secondary for microcontrollers: it verifies its update with
//! [`update_verifier`], streams the image into the inactive slot of an A/B flash, and
//! runs trial boot, confirmation, automatic revert and anti-rollback, so that no power
//! cut at any moment leaves it without a verified image to boot.
//!
//! Generic over [`embedded_storage::nor_flash::NorFlash`]; `no_std`, and no heap in the
//! flash path (buffers come from the caller). The boot state is an append-only log of
//! 64-byte records ([`record`]), replayed into a [`BootState`]; every state change is one
//! record, so every prefix of the log is a state the device could have been in.
//!
//! Integrating it into a firmware (features, flash layout, memory, what the bootloader
//! and the application call, factory provisioning, the protocol over a UART): see
//! [`guide`].
//!
//! ```
//! use client_embedded::{BootDecision, Device, FactoryImage, ImageInfo, Layout, Slot};
//! use client_embedded::sim::SimFlash;
//!
//! let factory = b"factory firmware";
//! let layout = Layout::contiguous(0, 4096, 8192, 4096, 4096, false);
//! let mut flash = SimFlash::<4, 4096>::new(layout.end() as usize / 4096);
//! flash.program(0, factory);
//! let info = ImageInfo {
//!     length: factory.len() as u32,
//!     sha256: threshold_keys::digest::sha256(factory),
//!     release_counter: 1,
//!     targets_version: 1,
//! };
//! let mut device = Device::provision(flash, layout, FactoryImage { info, name: b"fw-1.bin" }).unwrap();
//! let mut scratch = [0u8; 256];
//! assert_eq!(device.boot(&mut scratch).unwrap(), BootDecision::Boot { slot: Slot::A, trial: false });
//! ```

#![no_std]

extern crate alloc;

pub mod boot;
mod chunks;
pub mod crc;
mod device;
pub mod ecu_key;
#[cfg(feature = "sim")]
pub mod ecu_sim;
pub mod guide;
pub mod layout;
#[cfg(feature = "littlefs")]
pub mod littlefs;
mod log;
pub mod meta_store;
pub mod protocol;
pub mod record;
pub mod secondary;
#[cfg(feature = "sim")]
pub mod sim;
pub mod state;
pub mod store;

use embedded_storage::nor_flash::NorFlash;
use threshold_keys::digest::Hasher;

pub use boot::{BootDecision, BootInputs, BootPolicy, ResetCause};
pub use device::{Device, FactoryImage, Install, MAX_WRITE};
pub use ecu_key::{EcuKey, Ed25519EcuKey};
pub use layout::{Layout, LayoutError, MetaRole, Region};
pub use record::{ImageInfo, Progress, Slot};
pub use secondary::{Assignment, FactoryProof, Secondary, UpdateError};
pub use state::{BootState, Floors, SlotStatus};
pub use store::{RawStore, Store};

/// Why an operation failed. `E` is the flash driver's error.
#[derive(Debug)]
pub enum Error<E> {
    /// The flash failed (in the simulator: power was cut).
    Flash(E),
    /// The layout does not fit the flash.
    Layout(LayoutError),
    /// No valid boot-state log: the device was never provisioned.
    NotProvisioned,
    /// The operation does not fit the device's state.
    NotNow(&'static str),
    /// The image is below the anti-rollback floors.
    Rollback,
    /// The image does not fit its slot.
    ImageTooLarge,
    /// More image bytes than the metadata lists.
    EndlessData,
    /// The image's length or SHA-256 differs from the metadata.
    ImageMismatch,
    /// A target path longer than the boot state keeps.
    NameTooLong,
    /// Metadata larger than its flash region.
    MetadataTooLarge,
    /// A caller's buffer is too small for what it must hold.
    BufferTooSmall,
    /// The littlefs store failed: littlefs's error code (negative, as in `lfs.h`).
    FileSystem(i32),
}

/// The SHA-256 of `length` bytes of flash from `start`, read through `scratch`.
pub fn sha256_of<F: NorFlash>(
    flash: &mut F,
    start: u32,
    length: u32,
    scratch: &mut [u8],
) -> Result<[u8; 32], Error<F::Error>> {
    let mut hasher = Hasher::new(metadata_schemas::HashAlgorithm::Sha256);
    let step = scratch.len() - scratch.len() % F::READ_SIZE;
    if step == 0 {
        return Err(Error::NotNow("scratch buffer smaller than the read size"));
    }
    let mut at = 0;
    while at < length {
        let n = step.min((length - at) as usize);
        let padded = n.div_ceil(F::READ_SIZE) * F::READ_SIZE;
        flash.read(start + at, &mut scratch[..padded]).map_err(Error::Flash)?;
        hasher.update(&scratch[..n]);
        at += n as u32;
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(hasher.finish().as_bytes());
    Ok(out)
}
