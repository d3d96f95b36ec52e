//! A NOR flash in RAM that survives `SCB::sys_reset()`: it lives in `.uninit`, which
//! the startup code neither loads nor zeroes, and QEMU keeps RAM across a system reset.
//! It refuses unaligned access and writes to bytes that are not erased, as NOR does.

use core::mem::MaybeUninit;

use embedded_storage::nor_flash::{ErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash};

const SIZE: usize = 512 * 1024;
const MAGIC: u32 = 0x5550_544E;

/// RAM kept across resets: a provisioning mark, the boot count, the flash bytes.
#[repr(C)]
pub struct Persistent {
    magic: u32,
    boots: u32,
    bytes: [u8; SIZE],
}

#[link_section = ".uninit.persistent"]
static mut PERSISTENT: MaybeUninit<Persistent> = MaybeUninit::uninit();

/// The persistent RAM.
///
/// # Safety
/// Call once per boot (the firmware is single-threaded and uses no interrupts).
pub unsafe fn persistent() -> &'static mut Persistent {
    // Every bit pattern is a valid `Persistent`: plain integers and bytes.
    unsafe { (*core::ptr::addr_of_mut!(PERSISTENT)).assume_init_mut() }
}

impl Persistent {
    /// Whether the first boot provisioned the flash.
    pub fn provisioned(&self) -> bool {
        self.magic == MAGIC
    }

    /// Marks the flash provisioned and starts counting boots.
    pub fn set_provisioned(&mut self) {
        self.magic = MAGIC;
        self.boots = 0;
    }

    /// Counts this boot; the first is 1.
    pub fn next_boot(&mut self) -> u32 {
        self.boots += 1;
        self.boots
    }

    /// Erases the whole flash.
    pub fn erase_all(&mut self) {
        self.bytes.fill(0xFF);
    }

    /// Writes bytes as a factory programmer does.
    pub fn program(&mut self, at: usize, data: &[u8]) {
        self.bytes[at..at + data.len()].copy_from_slice(data);
    }
}

/// The NOR flash view of the persistent RAM.
pub struct RamFlash {
    persistent: &'static mut Persistent,
}

impl RamFlash {
    /// The flash over `persistent`.
    pub fn new(persistent: &'static mut Persistent) -> Self {
        RamFlash { persistent }
    }

    /// The persistent RAM back.
    pub fn into_inner(self) -> &'static mut Persistent {
        self.persistent
    }
}

/// A refused flash access.
#[derive(Debug)]
pub struct FlashError(NorFlashErrorKind);

impl NorFlashError for FlashError {
    fn kind(&self) -> NorFlashErrorKind {
        self.0
    }
}

impl ErrorType for RamFlash {
    type Error = FlashError;
}

impl ReadNorFlash for RamFlash {
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), FlashError> {
        let at = offset as usize;
        let source =
            self.persistent.bytes.get(at..at + bytes.len()).ok_or(FlashError(NorFlashErrorKind::OutOfBounds))?;
        bytes.copy_from_slice(source);
        Ok(())
    }

    fn capacity(&self) -> usize {
        SIZE
    }
}

impl NorFlash for RamFlash {
    const WRITE_SIZE: usize = 8;
    const ERASE_SIZE: usize = 4096;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), FlashError> {
        let (from, to) = (from as usize, to as usize);
        if from % Self::ERASE_SIZE != 0 || to % Self::ERASE_SIZE != 0 {
            return Err(FlashError(NorFlashErrorKind::NotAligned));
        }
        self.persistent.bytes.get_mut(from..to).ok_or(FlashError(NorFlashErrorKind::OutOfBounds))?.fill(0xFF);
        Ok(())
    }

    fn write(&mut self, offset: u32, data: &[u8]) -> Result<(), FlashError> {
        let at = offset as usize;
        if at % Self::WRITE_SIZE != 0 || data.len() % Self::WRITE_SIZE != 0 {
            return Err(FlashError(NorFlashErrorKind::NotAligned));
        }
        let target =
            self.persistent.bytes.get_mut(at..at + data.len()).ok_or(FlashError(NorFlashErrorKind::OutOfBounds))?;
        if target.iter().any(|&b| b != 0xFF) {
            return Err(FlashError(NorFlashErrorKind::Other)); // NOR cannot write a word twice
        }
        target.copy_from_slice(data);
        Ok(())
    }
}
