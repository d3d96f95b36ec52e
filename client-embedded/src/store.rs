//! Where an ECU keeps its boot state and trusted metadata, apart from the image slots:
//! [`RawStore`] writes them into regions of the NOR flash itself (the boot-state log and
//! double-buffered metadata copies of [`Layout`]); with the `littlefs` feature,
//! `littlefs::LittleFs` keeps them as files in a littlefs partition of
//! the same flash. Either way a power cut at any moment leaves a state an earlier
//! complete run also produced.

use embedded_storage::nor_flash::NorFlash;

use crate::Error;
use crate::layout::{Layout, LayoutError, MetaRole, Region};
use crate::log::StateLog;
use crate::meta_store;
use crate::record::Record;
use crate::state::BootState;

/// Keeps the boot state and the trusted metadata (never the images).
pub trait Store<F: NorFlash>: Sized {
    /// Checks `layout` (and where the store itself lives) against the flash.
    fn check(layout: &Layout, flash: &F) -> Result<(), LayoutError>;

    /// Factory provisioning: a fresh, empty store (the layout names where it lives).
    fn format(flash: &mut F, layout: &Layout) -> Result<Self, Error<F::Error>>;

    /// Opens a provisioned store and replays the boot state. Reads only.
    fn open(flash: &mut F, layout: &Layout) -> Result<(Self, BootState), Error<F::Error>>;

    /// Adds `record` to the boot state and applies it to `state`. A cut before it lands
    /// leaves the state as it was.
    fn append(&mut self, flash: &mut F, state: &mut BootState, record: Record) -> Result<(), Error<F::Error>>;

    /// Whether the ECU keeps `role` (the image repository's roles only with full
    /// verification).
    fn keeps(&self, role: MetaRole) -> bool;

    /// The newest whole copy of `role` into `buffer`: its length, or `None` if none.
    fn load(&mut self, flash: &mut F, role: MetaRole, buffer: &mut [u8]) -> Result<Option<usize>, Error<F::Error>>;

    /// Keeps `bytes` as the newest copy of `role` (`scratch` as long as the longest
    /// copy). A cut at any point leaves the previous copy the newest whole one.
    fn save(&mut self, flash: &mut F, role: MetaRole, bytes: &[u8], scratch: &mut [u8]) -> Result<(), Error<F::Error>>;
}

/// The boot-state log and metadata copies in regions of the NOR flash (see [`Layout`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawStore {
    log: StateLog,
    metadata: [[Region; 2]; 6],
}

impl<F: NorFlash> Store<F> for RawStore {
    fn check(layout: &Layout, flash: &F) -> Result<(), LayoutError> {
        layout.check(flash.capacity(), F::ERASE_SIZE, F::WRITE_SIZE, F::READ_SIZE)
    }

    fn format(flash: &mut F, layout: &Layout) -> Result<Self, Error<F::Error>> {
        Ok(RawStore { log: StateLog::format(flash, layout.state)?, metadata: layout.metadata })
    }

    fn open(flash: &mut F, layout: &Layout) -> Result<(Self, BootState), Error<F::Error>> {
        let (log, state) = StateLog::open(flash, layout.state)?;
        Ok((RawStore { log, metadata: layout.metadata }, state))
    }

    fn append(&mut self, flash: &mut F, state: &mut BootState, record: Record) -> Result<(), Error<F::Error>> {
        self.log.append(flash, state, record)
    }

    fn keeps(&self, role: MetaRole) -> bool {
        self.metadata[role.index()][0].len > 0
    }

    fn load(&mut self, flash: &mut F, role: MetaRole, buffer: &mut [u8]) -> Result<Option<usize>, Error<F::Error>> {
        meta_store::load(flash, &self.metadata[role.index()], buffer)
    }

    fn save(&mut self, flash: &mut F, role: MetaRole, bytes: &[u8], scratch: &mut [u8]) -> Result<(), Error<F::Error>> {
        meta_store::store(flash, &self.metadata[role.index()], bytes, scratch)
    }
}
