//! Where things live in flash: two image slots, two banks of the boot-state log, and two
//! copies of each stored metadata role. Every region starts and ends on a sector
//! boundary, so erasing one never touches another.

use crate::record::RECORD_SIZE;

/// A byte range of the flash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    /// First byte.
    pub start: u32,
    /// Length in bytes.
    pub len: u32,
}

impl Region {
    /// One past the last byte.
    pub fn end(&self) -> u32 {
        self.start + self.len
    }

    fn overlaps(&self, other: &Region) -> bool {
        self.len > 0 && other.len > 0 && self.start < other.end() && other.start < self.end()
    }
}

/// Metadata roles an ECU keeps between update cycles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetaRole {
    /// The director's root (the trust anchor for partial verification).
    DirectorRoot,
    /// The director's targets, the reference for rollback checks.
    DirectorTargets,
    /// The image repository's root (full verification).
    ImageRoot,
    /// The image repository's timestamp (full verification).
    ImageTimestamp,
    /// The image repository's snapshot (full verification).
    ImageSnapshot,
    /// The image repository's top-level targets (full verification).
    ImageTargets,
}

impl MetaRole {
    /// Every role, in layout order.
    pub const ALL: [MetaRole; 6] = [
        MetaRole::DirectorRoot,
        MetaRole::DirectorTargets,
        MetaRole::ImageRoot,
        MetaRole::ImageTimestamp,
        MetaRole::ImageSnapshot,
        MetaRole::ImageTargets,
    ];

    /// Position in [`MetaRole::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// The flash layout of one ECU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Image slots A and B.
    pub slots: [Region; 2],
    /// The two banks of the boot-state log.
    pub state: [Region; 2],
    /// Two copies of each metadata role, indexed by [`MetaRole::index`]; zero-length
    /// regions for roles the ECU does not keep.
    pub metadata: [[Region; 2]; 6],
    /// The factory image's region (write-protected on the device), or zero-length.
    pub factory: Region,
}

/// Why a layout does not fit a flash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayoutError {
    /// A region does not start and end on a sector boundary.
    Unaligned(Region),
    /// A region runs past the end of the flash.
    OutOfRange(Region),
    /// Two regions share bytes.
    Overlap(Region, Region),
    /// A state bank holds fewer than 64 records (4 KiB), too few for a compacted log
    /// and the appends between compactions.
    StateTooSmall,
    /// The write or read size does not divide a record.
    UnsupportedGeometry,
}

impl Layout {
    /// Regions back to back from `base`: slots of `slot_len`, state banks of
    /// `state_len`, and two copies of `metadata_len` for the director roles (and, with
    /// `full_verification`, the image repository roles); each rounded up to whole
    /// sectors of `erase_size`.
    pub fn contiguous(
        base: u32,
        erase_size: u32,
        slot_len: u32,
        state_len: u32,
        metadata_len: u32,
        full_verification: bool,
    ) -> Layout {
        let mut next = base;
        let mut take = |len: u32| {
            let len = len.div_ceil(erase_size) * erase_size;
            let region = Region { start: next, len };
            next += len;
            region
        };
        let slots = [take(slot_len), take(slot_len)];
        let state = [take(state_len), take(state_len)];
        let empty = Region { start: 0, len: 0 };
        let mut metadata = [[empty; 2]; 6];
        for role in MetaRole::ALL {
            let kept = full_verification || matches!(role, MetaRole::DirectorRoot | MetaRole::DirectorTargets);
            if kept {
                metadata[role.index()] = [take(metadata_len), take(metadata_len)];
            }
        }
        Layout { slots, state, metadata, factory: empty }
    }

    /// This layout with a factory region of `len` bytes (whole sectors of `erase_size`)
    /// after its last region.
    pub fn with_factory(mut self, erase_size: u32, len: u32) -> Layout {
        let start = self.end().div_ceil(erase_size) * erase_size;
        self.factory = Region { start, len: len.div_ceil(erase_size) * erase_size };
        self
    }

    /// Only the two image slots, back to back from `base`, for a store that keeps the
    /// boot state and metadata elsewhere (a littlefs partition).
    pub fn slots_only(base: u32, erase_size: u32, slot_len: u32) -> Layout {
        let len = slot_len.div_ceil(erase_size) * erase_size;
        let empty = Region { start: 0, len: 0 };
        Layout {
            slots: [Region { start: base, len }, Region { start: base + len, len }],
            state: [empty; 2],
            metadata: [[empty; 2]; 6],
            factory: empty,
        }
    }

    /// One past the last byte any region uses.
    pub fn end(&self) -> u32 {
        self.regions().map(|r| r.end()).max().unwrap_or(0)
    }

    /// Whether the ECU keeps the image repository's metadata (full verification).
    pub fn keeps(&self, role: MetaRole) -> bool {
        self.metadata[role.index()][0].len > 0
    }

    fn regions(&self) -> impl Iterator<Item = Region> + '_ {
        let fixed = self.slots.iter().chain(&self.state).chain(self.metadata.iter().flatten());
        fixed.chain(core::iter::once(&self.factory)).copied().filter(|r| r.len > 0)
    }

    /// Checks the layout against a flash of `capacity` bytes with the given sector,
    /// write and read sizes.
    pub fn check(
        &self,
        capacity: usize,
        erase_size: usize,
        write_size: usize,
        read_size: usize,
    ) -> Result<(), LayoutError> {
        self.check_regions(None, capacity, erase_size, write_size, read_size)?;
        if self.state.iter().any(|bank| (bank.len as usize) < 64 * RECORD_SIZE) {
            return Err(LayoutError::StateTooSmall);
        }
        Ok(())
    }

    /// Checks that every region (and `extra`, a file system partition) is whole sectors
    /// inside the flash and that none overlap.
    pub(crate) fn check_regions(
        &self,
        extra: Option<Region>,
        capacity: usize,
        erase_size: usize,
        write_size: usize,
        read_size: usize,
    ) -> Result<(), LayoutError> {
        if RECORD_SIZE % write_size != 0 || RECORD_SIZE % read_size != 0 {
            return Err(LayoutError::UnsupportedGeometry);
        }
        let regions = || self.regions().chain(extra.filter(|r| r.len > 0));
        for region in regions() {
            if region.start as usize % erase_size != 0 || region.len as usize % erase_size != 0 {
                return Err(LayoutError::Unaligned(region));
            }
            if region.end() as usize > capacity {
                return Err(LayoutError::OutOfRange(region));
            }
        }
        for (i, a) in regions().enumerate() {
            if let Some(b) = regions().skip(i + 1).find(|b| a.overlaps(b)) {
                return Err(LayoutError::Overlap(a, b));
            }
        }
        Ok(())
    }
}
