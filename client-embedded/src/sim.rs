//! A simulated NOR flash for host tests: erase-before-write, write and erase alignment
//! and the erased value are enforced; operations, erases and bytes are counted; and power
//! can be cut before any write or erase, or in the middle of one (a prefix of a write
//! lands, part of a sector is erased). After a cut every operation fails until the bytes
//! are taken into a new flash with [`SimFlash::reboot`].

extern crate std;

use std::vec;
use std::vec::Vec;

use embedded_storage::nor_flash::{ErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash};

use crate::record::ERASED;

/// How power is cut at the chosen operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cut {
    /// Before the operation touches the flash.
    Before,
    /// Halfway: the first half of a write's bytes land; the first half of an erase's
    /// range is erased.
    Torn,
}

/// What the simulated flash refuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SimError {
    /// Power is off (cut earlier).
    PowerCut,
    /// An offset or length not aligned to the write or erase size.
    Unaligned,
    /// Outside the flash.
    OutOfBounds,
    /// A write to bytes that are not erased: NOR flash cannot do it.
    NotErased,
}

impl NorFlashError for SimError {
    fn kind(&self) -> NorFlashErrorKind {
        match self {
            SimError::Unaligned => NorFlashErrorKind::NotAligned,
            SimError::OutOfBounds => NorFlashErrorKind::OutOfBounds,
            SimError::PowerCut | SimError::NotErased => NorFlashErrorKind::Other,
        }
    }
}

/// Counts of what changed the flash.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Writes and erases started (the possible cut points).
    pub operations: u64,
    /// Sectors erased.
    pub sectors_erased: u64,
    /// Bytes written.
    pub bytes_written: u64,
}

/// A NOR flash of `W`-byte words and `E`-byte sectors, held in memory.
#[derive(Clone, Debug)]
pub struct SimFlash<const W: usize, const E: usize> {
    bytes: Vec<u8>,
    counters: Counters,
    cut: Option<(u64, Cut)>,
    powered: bool,
}

impl<const W: usize, const E: usize> SimFlash<W, E> {
    /// An erased flash of `sectors` sectors.
    pub fn new(sectors: usize) -> Self {
        SimFlash { bytes: vec![ERASED; sectors * E], counters: Counters::default(), cut: None, powered: true }
    }

    /// Cuts power at operation number `operation` (counting from 0 in this power cycle).
    pub fn cut_at(&mut self, operation: u64, how: Cut) {
        self.cut = Some((operation, how));
    }

    /// Whether power was cut.
    pub fn is_cut(&self) -> bool {
        !self.powered
    }

    /// Counts so far in this power cycle.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// The raw bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Writes bytes directly, as a factory programmer does (no checks, not counted).
    pub fn program(&mut self, offset: usize, data: &[u8]) {
        self.bytes[offset..offset + data.len()].copy_from_slice(data);
    }

    /// The next power cycle: the same bytes, fresh counters, no cut pending.
    pub fn reboot(&self) -> Self {
        SimFlash { bytes: self.bytes.clone(), counters: Counters::default(), cut: None, powered: true }
    }

    /// Starts an operation: `Ok(None)` to run it whole, `Ok(Some(Cut::Torn))` to tear it.
    fn start(&mut self) -> Result<Option<Cut>, SimError> {
        if !self.powered {
            return Err(SimError::PowerCut);
        }
        let index = self.counters.operations;
        self.counters.operations += 1;
        match self.cut {
            Some((at, how)) if at == index => {
                self.powered = false;
                match how {
                    Cut::Before => Err(SimError::PowerCut),
                    Cut::Torn => Ok(Some(Cut::Torn)),
                }
            }
            _ => Ok(None),
        }
    }
}

impl<const W: usize, const E: usize> ErrorType for SimFlash<W, E> {
    type Error = SimError;
}

impl<const W: usize, const E: usize> ReadNorFlash for SimFlash<W, E> {
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), SimError> {
        if !self.powered {
            return Err(SimError::PowerCut);
        }
        let start = offset as usize;
        let source = self.bytes.get(start..start + bytes.len()).ok_or(SimError::OutOfBounds)?;
        bytes.copy_from_slice(source);
        Ok(())
    }

    fn capacity(&self) -> usize {
        self.bytes.len()
    }
}

impl<const W: usize, const E: usize> NorFlash for SimFlash<W, E> {
    const WRITE_SIZE: usize = W;
    const ERASE_SIZE: usize = E;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), SimError> {
        let (from, to) = (from as usize, to as usize);
        if from % E != 0 || to % E != 0 || from > to {
            return Err(SimError::Unaligned);
        }
        if to > self.bytes.len() {
            return Err(SimError::OutOfBounds);
        }
        let torn = self.start()?;
        let end = if torn.is_some() { from + (to - from) / 2 } else { to };
        self.bytes[from..end].fill(ERASED);
        self.counters.sectors_erased += ((to - from) / E) as u64;
        if torn.is_some() { Err(SimError::PowerCut) } else { Ok(()) }
    }

    fn write(&mut self, offset: u32, data: &[u8]) -> Result<(), SimError> {
        let start = offset as usize;
        if start % W != 0 || data.len() % W != 0 {
            return Err(SimError::Unaligned);
        }
        let target = self.bytes.get(start..start + data.len()).ok_or(SimError::OutOfBounds)?;
        if target.iter().any(|&b| b != ERASED) {
            return Err(SimError::NotErased);
        }
        let torn = self.start()?;
        let len = if torn.is_some() { data.len() / 2 } else { data.len() };
        self.bytes[start..start + len].copy_from_slice(&data[..len]);
        self.counters.bytes_written += data.len() as u64;
        if torn.is_some() { Err(SimError::PowerCut) } else { Ok(()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nor_rules_are_enforced() {
        let mut flash = SimFlash::<4, 4096>::new(2);
        assert_eq!(flash.write(1, &[0; 4]), Err(SimError::Unaligned));
        assert_eq!(flash.write(0, &[0; 3]), Err(SimError::Unaligned));
        assert_eq!(flash.erase(0, 100), Err(SimError::Unaligned));
        assert_eq!(flash.write(8192, &[0; 4]), Err(SimError::OutOfBounds));
        flash.write(0, &[1, 2, 3, 4]).unwrap();
        assert_eq!(flash.write(0, &[1, 2, 3, 4]), Err(SimError::NotErased), "a word is never written twice");
        flash.erase(0, 4096).unwrap();
        flash.write(0, &[5, 6, 7, 8]).unwrap();
        assert_eq!(flash.counters(), Counters { operations: 3, sectors_erased: 1, bytes_written: 8 });
    }

    #[test]
    fn cuts_stop_the_flash_and_torn_operations_land_half() {
        let mut flash = SimFlash::<1, 4096>::new(2);
        flash.cut_at(1, Cut::Torn);
        flash.write(0, &[0; 8]).unwrap();
        assert_eq!(flash.write(8, &[1; 8]), Err(SimError::PowerCut));
        assert_eq!(flash.read(0, &mut [0; 1]), Err(SimError::PowerCut));
        let mut next = flash.reboot();
        let mut got = [0u8; 8];
        next.read(8, &mut got).unwrap();
        assert_eq!(got, [1, 1, 1, 1, 0xFF, 0xFF, 0xFF, 0xFF]);
        next.program(4096, &[9; 4]);
        next.cut_at(0, Cut::Torn);
        assert_eq!(next.erase(0, 8192), Err(SimError::PowerCut));
        let after = next.reboot();
        assert!(after.bytes()[..4096].iter().all(|&b| b == 0xFF));
        assert_eq!(&after.bytes()[4096..4100], &[9; 4], "the second half of the range is untouched");
    }
}
