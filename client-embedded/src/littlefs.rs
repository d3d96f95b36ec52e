//! The `littlefs` store: the boot state and the trusted metadata as files of a littlefs
//! partition on the same NOR flash as the image slots, for ECUs that already keep a
//! littlefs file system there (the application's own files can share it; this store
//! uses the directory `uptane/`). The slots stay raw flash: the bootloader reads them
//! in place.
//!
//! Every change writes a whole new file under a temporary name and renames it over the
//! old one, which littlefs commits atomically: a power cut leaves the old file or the
//! new one. The boot state is one file of records that replays to the state
//! ([`BootState::snapshot`]), rewritten at every change.
//!
//! The partition is `BLOCKS` erase blocks from byte `START` of the flash; `FULL` keeps
//! the image repository's roles too (full verification). littlefs's caches are 256 bytes,
//! so the flash's erase size must be a multiple of 256 and its write size divide 256.

use embedded_storage::nor_flash::NorFlash;
use littlefs2::consts::{U1, U256};
use littlefs2::fs::Filesystem;
use littlefs2::io::{Error as FsError, Result as FsResult};
use littlefs2::path;
use littlefs2::path::Path;

use crate::Error;
use crate::layout::{Layout, LayoutError, MetaRole, Region};
use crate::record::{Granule, RECORD_SIZE, Record};
use crate::state::BootState;
use crate::store::Store;

/// The littlefs2 crate this store uses, for the application's own use of the partition
/// (see [`LittleFs::with`]).
pub use littlefs2;

/// littlefs's read and program cache (per cache; a mount uses three).
const CACHE: usize = 256;

/// The boot state and metadata in a littlefs partition (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LittleFs<const START: u32, const BLOCKS: usize, const FULL: bool>;

const STATE: &Path = path!("uptane/state");
const STATE_NEW: &Path = path!("uptane/state.new");
const NEW: &Path = path!("uptane/metadata.new");

fn file_of(role: MetaRole) -> &'static Path {
    match role {
        MetaRole::DirectorRoot => path!("uptane/director-root"),
        MetaRole::DirectorTargets => path!("uptane/director-targets"),
        MetaRole::ImageRoot => path!("uptane/image-root"),
        MetaRole::ImageTimestamp => path!("uptane/image-timestamp"),
        MetaRole::ImageSnapshot => path!("uptane/image-snapshot"),
        MetaRole::ImageTargets => path!("uptane/image-targets"),
    }
}

/// The partition as littlefs's block device; a flash error is kept to be returned as
/// itself (littlefs only sees an I/O error).
pub struct Partition<'a, F: NorFlash, const START: u32, const BLOCKS: usize> {
    flash: &'a mut F,
    fault: Option<F::Error>,
}

impl<F: NorFlash, const START: u32, const BLOCKS: usize> Partition<'_, F, START, BLOCKS> {
    fn at(off: usize) -> u32 {
        START + off as u32
    }

    fn fail(&mut self, e: F::Error) -> FsError {
        self.fault = Some(e);
        FsError::IO
    }
}

impl<F: NorFlash, const START: u32, const BLOCKS: usize> littlefs2::driver::Storage
    for Partition<'_, F, START, BLOCKS>
{
    const READ_SIZE: usize = F::READ_SIZE;
    const WRITE_SIZE: usize = F::WRITE_SIZE;
    const BLOCK_SIZE: usize = F::ERASE_SIZE;
    const BLOCK_COUNT: usize = BLOCKS;
    type CACHE_SIZE = U256;
    type LOOKAHEAD_SIZE = U1;

    fn read(&mut self, off: usize, buf: &mut [u8]) -> FsResult<usize> {
        self.flash.read(Self::at(off), buf).map_err(|e| self.fail(e))?;
        Ok(buf.len())
    }

    fn write(&mut self, off: usize, data: &[u8]) -> FsResult<usize> {
        self.flash.write(Self::at(off), data).map_err(|e| self.fail(e))?;
        Ok(data.len())
    }

    fn erase(&mut self, off: usize, len: usize) -> FsResult<usize> {
        self.flash.erase(Self::at(off), Self::at(off + len)).map_err(|e| self.fail(e))?;
        Ok(len)
    }
}

impl<const START: u32, const BLOCKS: usize, const FULL: bool> LittleFs<START, BLOCKS, FULL> {
    /// The partition's bytes.
    pub fn region<F: NorFlash>() -> Region {
        Region { start: START, len: (BLOCKS * F::ERASE_SIZE) as u32 }
    }

    /// Mounts the partition and runs `f` on the file system (the application's own files
    /// live here too, outside `uptane/`); a flash error comes back as itself, a file
    /// system error as [`Error::FileSystem`].
    pub fn with<F: NorFlash, R>(
        flash: &mut F,
        f: impl FnOnce(&Filesystem<'_, Partition<'_, F, START, BLOCKS>>) -> FsResult<R>,
    ) -> Result<R, Error<F::Error>> {
        let mut partition = Partition::<F, START, BLOCKS> { flash, fault: None };
        let result = Filesystem::mount_and_then(&mut partition, f);
        match (result, partition.fault.take()) {
            (_, Some(fault)) => Err(Error::Flash(fault)),
            (Ok(value), None) => Ok(value),
            (Err(e), None) => Err(Error::FileSystem(e.code())),
        }
    }

    /// Writes `contents` under `temporary`, then renames it over `path` (atomic).
    fn replace<S: littlefs2::driver::Storage>(
        fs: &Filesystem<'_, S>,
        temporary: &Path,
        path: &Path,
        contents: impl FnOnce(&littlefs2::fs::File<'_, '_, S>) -> FsResult<()>,
    ) -> FsResult<()> {
        fs.create_file_and_then(temporary, contents)?;
        fs.rename(temporary, path)
    }

    fn write_state<S: littlefs2::driver::Storage>(fs: &Filesystem<'_, S>, state: &BootState) -> FsResult<()> {
        Self::replace(fs, STATE_NEW, STATE, |file| {
            let mut result = Ok(());
            state.snapshot(|record| {
                if result.is_ok() {
                    result = littlefs2::io::Write::write_all(file, &record.encode());
                }
            });
            result
        })
    }
}

impl<F: NorFlash, const START: u32, const BLOCKS: usize, const FULL: bool> Store<F> for LittleFs<START, BLOCKS, FULL> {
    fn check(layout: &Layout, flash: &F) -> Result<(), LayoutError> {
        if F::ERASE_SIZE % CACHE != 0 || CACHE % F::WRITE_SIZE != 0 || CACHE % F::READ_SIZE != 0 {
            return Err(LayoutError::UnsupportedGeometry);
        }
        layout.check_regions(Some(Self::region::<F>()), flash.capacity(), F::ERASE_SIZE, F::WRITE_SIZE, F::READ_SIZE)
    }

    /// Formats the partition if it holds no file system (an existing one, with the
    /// application's files, is kept), then starts an empty boot state and drops any
    /// metadata of an earlier provisioning.
    fn format(flash: &mut F, _: &Layout) -> Result<Self, Error<F::Error>> {
        let mut partition = Partition::<F, START, BLOCKS> { flash, fault: None };
        if !Filesystem::is_mountable(&mut partition) {
            let formatted = Filesystem::format(&mut partition);
            if let Some(fault) = partition.fault.take() {
                return Err(Error::Flash(fault));
            }
            formatted.map_err(|e| Error::FileSystem(e.code()))?;
        }
        Self::with(flash, |fs| {
            fs.create_dir_all(path!("uptane"))?;
            for role in MetaRole::ALL {
                match fs.remove(file_of(role)) {
                    Ok(()) | Err(FsError::NO_SUCH_ENTRY) => {}
                    Err(e) => return Err(e),
                }
            }
            Self::write_state(fs, &BootState::default())
        })?;
        Ok(LittleFs)
    }

    fn open(flash: &mut F, _: &Layout) -> Result<(Self, BootState), Error<F::Error>> {
        let replayed = Self::with(flash, |fs| {
            let mut state = BootState::default();
            let found = fs.open_file_and_then(STATE, |file| {
                let mut granule = [0u8; RECORD_SIZE];
                while littlefs2::io::Read::read(file, &mut granule)? == RECORD_SIZE {
                    if let Granule::Record(record) = Record::decode(&granule) {
                        state.apply(&record);
                    }
                }
                Ok(())
            });
            match found {
                Ok(()) => Ok(Some(state)),
                Err(FsError::NO_SUCH_ENTRY) => Ok(None),
                Err(e) => Err(e),
            }
        });
        match replayed {
            Ok(Some(state)) => Ok((LittleFs, state)),
            // No file system, or one without the boot state: never provisioned.
            Ok(None) | Err(Error::FileSystem(_)) => Err(Error::NotProvisioned),
            Err(e) => Err(e),
        }
    }

    fn append(&mut self, flash: &mut F, state: &mut BootState, record: Record) -> Result<(), Error<F::Error>> {
        let mut next = *state;
        next.apply(&record);
        Self::with(flash, |fs| Self::write_state(fs, &next))?;
        *state = next;
        Ok(())
    }

    fn keeps(&self, role: MetaRole) -> bool {
        FULL || matches!(role, MetaRole::DirectorRoot | MetaRole::DirectorTargets)
    }

    fn load(&mut self, flash: &mut F, role: MetaRole, buffer: &mut [u8]) -> Result<Option<usize>, Error<F::Error>> {
        let loaded = Self::with(flash, |fs| match fs.metadata(file_of(role)) {
            Err(FsError::NO_SUCH_ENTRY) => Ok(None),
            Err(e) => Err(e),
            Ok(found) if found.len() > buffer.len() => Ok(Some(Err(Error::BufferTooSmall))),
            Ok(found) => fs.open_file_and_then(file_of(role), |file| {
                let len = found.len();
                let read = littlefs2::io::Read::read(file, &mut buffer[..len])?;
                Ok(Some(if read == len { Ok(len) } else { Err(Error::FileSystem(FsError::CORRUPTION.code())) }))
            }),
        })?;
        loaded.transpose()
    }

    fn save(&mut self, flash: &mut F, role: MetaRole, bytes: &[u8], _: &mut [u8]) -> Result<(), Error<F::Error>> {
        if !Store::<F>::keeps(self, role) {
            return Err(Error::MetadataTooLarge);
        }
        Self::with(flash, |fs| {
            Self::replace(fs, NEW, file_of(role), |file| littlefs2::io::Write::write_all(file, bytes))
        })
    }
}
