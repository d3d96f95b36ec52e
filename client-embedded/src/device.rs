//! The A/B device: boot decision, trial, confirmation, revert, anti-rollback, and
//! streaming a verified image into the inactive slot. Every state change is one record
//! appended to the log; each function says what a power cut during it leaves.

use embedded_storage::nor_flash::NorFlash;
use threshold_keys::digest::Hasher;

use crate::boot::{BootDecision, BootInputs, BootPolicy, Candidate, decide};
use crate::layout::{Layout, MetaRole};
use crate::record::{ERASED, ImageInfo, MAX_NAME, Progress, Record, Slot};
use crate::state::{BootState, SlotStatus};
use crate::store::{RawStore, Store};
use crate::{Error, sha256_of};

/// A factory image for slot A, written by the programmer before provisioning.
#[derive(Clone, Copy, Debug)]
pub struct FactoryImage<'a> {
    /// What the image is.
    pub info: ImageInfo,
    /// Its target path, for version reports.
    pub name: &'a [u8],
}

/// An ECU's flash with its boot state, kept by the store `S` (by default in regions of
/// the flash itself).
pub struct Device<F: NorFlash, S: Store<F> = RawStore> {
    flash: F,
    layout: Layout,
    store: S,
    state: BootState,
    policy: BootPolicy,
}

impl<F: NorFlash> Device<F> {
    /// Factory provisioning: a fresh log whose only image is the factory image in slot A,
    /// confirmed. A cut leaves the device unprovisioned, and provisioning runs again.
    pub fn provision(flash: F, layout: Layout, factory: FactoryImage<'_>) -> Result<Self, Error<F::Error>> {
        Self::provision_in(flash, layout, factory)
    }

    /// Opens a provisioned device (reads only).
    pub fn open(flash: F, layout: Layout) -> Result<Self, Error<F::Error>> {
        Self::open_in(flash, layout)
    }
}

impl<F: NorFlash, S: Store<F>> Device<F, S> {
    /// [`Device::provision`] with the boot state and metadata kept by the store `S`.
    pub fn provision_in(flash: F, layout: Layout, factory: FactoryImage<'_>) -> Result<Self, Error<F::Error>> {
        S::check(&layout, &flash).map_err(Error::Layout)?;
        if factory.name.len() > MAX_NAME {
            return Err(Error::NameTooLong);
        }
        let mut device = Self::provision_blank_in(flash, layout)?;
        for record in Record::name_pieces(Slot::A, factory.name) {
            device.append(record)?;
        }
        device.append(Record::Installed(Slot::A, factory.info))?;
        device.append(Record::TrialStarted(Slot::A))?;
        device.append(Record::Confirmed(Slot::A))?;
        Ok(device)
    }

    /// Factory provisioning of a device whose slots start empty: its first image comes
    /// from the factory region ([`Device::record_factory`]) or the recovery loader. A cut
    /// leaves the device unprovisioned, and provisioning runs again.
    pub fn provision_blank_in(mut flash: F, layout: Layout) -> Result<Self, Error<F::Error>> {
        S::check(&layout, &flash).map_err(Error::Layout)?;
        let store = S::format(&mut flash, &layout)?;
        Ok(Device { flash, layout, store, state: BootState::default(), policy: BootPolicy::default() })
    }

    /// [`Device::open`] with the boot state and metadata kept by the store `S`.
    pub fn open_in(mut flash: F, layout: Layout) -> Result<Self, Error<F::Error>> {
        S::check(&layout, &flash).map_err(Error::Layout)?;
        let (store, state) = S::open(&mut flash, &layout)?;
        Ok(Device { flash, layout, store, state, policy: BootPolicy::default() })
    }

    /// The device with another boot policy (trial attempts, fault resets).
    pub fn with_policy(mut self, policy: BootPolicy) -> Self {
        self.policy = policy.clamped();
        self
    }

    /// Factory provisioning of the factory region: records the image the programmer
    /// wrote there (its signature was checked by whoever calls this), after hashing the
    /// region. One record: a cut leaves the device without a factory image, and
    /// provisioning runs it again.
    pub fn record_factory(&mut self, info: ImageInfo, scratch: &mut [u8]) -> Result<(), Error<F::Error>> {
        let region = self.layout.factory;
        if info.length > region.len {
            return Err(Error::ImageTooLarge);
        }
        if sha256_of(&mut self.flash, region.start, info.length, scratch)? != info.sha256 {
            return Err(Error::ImageMismatch);
        }
        self.append(Record::Factory(info))
    }

    /// Whether the store keeps `role`.
    pub fn keeps(&self, role: MetaRole) -> bool {
        self.store.keeps(role)
    }

    /// The newest whole copy of a metadata role into `buffer`: its length, if any.
    pub fn load_metadata(&mut self, role: MetaRole, buffer: &mut [u8]) -> Result<Option<usize>, Error<F::Error>> {
        self.store.load(&mut self.flash, role, buffer)
    }

    /// Keeps `bytes` as the newest copy of a metadata role (power-cut safe).
    pub fn save_metadata(&mut self, role: MetaRole, bytes: &[u8], scratch: &mut [u8]) -> Result<(), Error<F::Error>> {
        self.store.save(&mut self.flash, role, bytes, scratch)
    }

    /// The boot state.
    pub fn state(&self) -> &BootState {
        &self.state
    }

    /// The layout.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The flash.
    pub fn flash(&mut self) -> &mut F {
        &mut self.flash
    }

    /// Gives the flash back.
    pub fn into_flash(self) -> F {
        self.flash
    }

    /// Appends one record to the boot state.
    pub(crate) fn append(&mut self, record: Record) -> Result<(), Error<F::Error>> {
        self.store.append(&mut self.flash, &mut self.state, record)
    }

    /// [`Device::boot_with`] after a power-on with the recovery pin released.
    pub fn boot(&mut self, scratch: &mut [u8]) -> Result<BootDecision, Error<F::Error>> {
        self.boot_with(&BootInputs::default(), scratch)
    }

    /// The bootloader's decision, made at every reset ([`crate::boot`]): the records it
    /// plans are appended in order, then the caller starts what it says. A cut leaves a
    /// prefix of the records, and the next reset decides again from there.
    pub fn boot_with(&mut self, inputs: &BootInputs, scratch: &mut [u8]) -> Result<BootDecision, Error<F::Error>> {
        let state = self.state;
        let (flash, layout) = (&mut self.flash, &self.layout);
        let plan = decide(&state, inputs, &self.policy, |candidate| {
            let (region, info) = match candidate {
                Candidate::Slot(slot) => (layout.slots[slot.index()], state.slot(slot).info),
                Candidate::Factory => (layout.factory, state.factory),
            };
            let Some(info) = info.filter(|i| i.length <= region.len) else { return Ok(false) };
            Ok(sha256_of(flash, region.start, info.length, scratch)? == info.sha256)
        })?;
        for record in plan.records() {
            self.append(record)?;
        }
        Ok(plan.decision)
    }

    /// Called by the application once it runs well: a fault count left by earlier fault
    /// resets starts over (no write when there is none).
    pub fn healthy(&mut self) -> Result<(), Error<F::Error>> {
        match self.running() {
            Some(slot) if self.state.slot(slot).faults > 0 => self.append(Record::Healthy(slot)),
            _ => Ok(()),
        }
    }

    /// Asks for the recovery loader at the next reset (one record); the install that
    /// completes in it ends it (in its own record, so no cut leaves one without the other).
    pub fn request_recovery(&mut self) -> Result<(), Error<F::Error>> {
        if self.state.recovery_requested { Ok(()) } else { self.append(Record::Recovery(true)) }
    }

    /// The slot an install writes: the one the running image is not in, or, when no
    /// confirmed image runs (the factory image or the recovery loader), a slot that holds
    /// no image that may still boot.
    pub fn staging_slot(&self) -> Result<Slot, Error<F::Error>> {
        if self.state.find(SlotStatus::Trial).is_some() {
            return Err(Error::NotNow("the running image is on trial: confirm it first"));
        }
        if let Some(active) = self.state.find(SlotStatus::Active) {
            return Ok(active.other());
        }
        let spare = |s: &Slot| matches!(self.state.slot(*s).status, SlotStatus::Empty | SlotStatus::Failed);
        Ok([Slot::A, Slot::B].into_iter().find(spare).unwrap_or(Slot::A))
    }

    /// The slot the running image is in: the trial slot if one runs, else the active one.
    pub fn running(&self) -> Option<Slot> {
        self.state.find(SlotStatus::Trial).or_else(|| self.state.find(SlotStatus::Active))
    }

    /// Called by the application once its trial run is healthy: the image becomes the
    /// one to boot and the floors rise to its counters. A cut before the record lands
    /// leaves the trial unconfirmed, so the next reset reverts to the previous image.
    pub fn confirm(&mut self) -> Result<(), Error<F::Error>> {
        let slot = self.state.find(SlotStatus::Trial).ok_or(Error::NotNow("no trial image to confirm"))?;
        self.append(Record::Confirmed(slot))
    }

    /// Records the ECU decommissioned (one record: a power cut leaves it decommissioned
    /// or not, never half).
    pub fn decommission(&mut self, nonce_sha256: [u8; 32]) -> Result<(), Error<F::Error>> {
        if self.state.decommissioned.is_some() { Ok(()) } else { self.append(Record::Decommissioned { nonce_sha256 }) }
    }

    /// Records a newer trusted time (an older one is ignored, without a write).
    pub fn advance_time(&mut self, seconds: u64) -> Result<(), Error<F::Error>> {
        if seconds > self.state.latest_time { self.append(Record::Time(seconds)) } else { Ok(()) }
    }

    /// Records an accepted offline bundle (one record): its offline targets version and
    /// issue time become floors, so an older bundle is refused from now on.
    pub fn accept_offline(&mut self, targets_version: u64, issued: u64) -> Result<(), Error<F::Error>> {
        let state = &self.state;
        if targets_version > state.offline_version || issued > state.latest_time {
            self.append(Record::Offline { targets_version, issued })
        } else {
            Ok(())
        }
    }

    /// Starts a new boot epoch (for version-report counters): one record per boot.
    pub fn next_epoch(&mut self) -> Result<u64, Error<F::Error>> {
        let epoch = self.state.epoch + 1;
        self.append(Record::Epoch(epoch))?;
        Ok(epoch)
    }

    /// Starts writing `info`'s image into the staging slot ([`Device::staging_slot`]):
    /// never while a trial runs, and only for images the floors allow. A cut after this
    /// leaves the staging slot empty and the running image untouched. If an earlier power cycle left part of this same image in the
    /// slot, the install resumes where that part ends ([`Install::received`]).
    pub fn install(&mut self, info: ImageInfo, name: &[u8]) -> Result<Install, Error<F::Error>> {
        self.install_resuming_at(info, name, 1)
    }

    /// [`Device::install`], resuming only at a multiple of `unit` bytes (the chunk size
    /// of an index the sender checks chunks against).
    pub fn install_resuming_at(&mut self, info: ImageInfo, name: &[u8], unit: u32) -> Result<Install, Error<F::Error>> {
        let slot = self.staging_slot()?;
        if !self.state.floors.allow(&info) {
            return Err(Error::Rollback);
        }
        if name.len() > MAX_NAME {
            return Err(Error::NameTooLong);
        }
        if info.length > self.layout.slots[slot.index()].len {
            return Err(Error::ImageTooLarge);
        }
        let mut stored_name = [0u8; MAX_NAME];
        stored_name[..name.len()].copy_from_slice(name);
        let mut install = Install {
            slot,
            info,
            name: stored_name,
            name_len: name.len(),
            pending: [0; MAX_WRITE],
            pending_len: 0,
            written: 0,
            erased_to: 0,
            received: 0,
            hasher: Hasher::new(metadata_schemas::HashAlgorithm::Sha256),
        };
        match self.resumable(slot, &info, unit) {
            0 => self.append(Record::Erasing(slot))?,
            from => self.rehash(&mut install, from)?,
        }
        Ok(install)
    }

    /// Where an install of `info` into `slot` can resume: the recorded progress of this
    /// same image, rounded down to a multiple of both `unit` and the sector; 0 if none.
    fn resumable(&self, slot: Slot, info: &ImageInfo, unit: u32) -> u32 {
        let state = self.state.slot(slot);
        let Some(progress) = state.receiving.filter(|_| state.status == SlotStatus::Empty) else { return 0 };
        if progress.sha256 != info.sha256 || progress.length != info.length || progress.offset > info.length {
            return 0;
        }
        match lcm(unit.max(1), F::ERASE_SIZE as u32) {
            Some(step) => progress.offset - progress.offset % step,
            None => 0,
        }
    }

    /// Takes the first `from` bytes already in the slot into the install, hashing them
    /// as written, so the final check covers what the flash really holds.
    fn rehash(&mut self, install: &mut Install, from: u32) -> Result<(), Error<F::Error>> {
        let start = self.layout.slots[install.slot.index()].start;
        let mut buffer = [0u8; 256];
        let step = buffer.len() - buffer.len() % F::READ_SIZE;
        let mut at = 0;
        while at < from {
            let n = step.min((from - at) as usize);
            self.flash.read(start + at, &mut buffer[..n]).map_err(Error::Flash)?;
            install.hasher.update(&buffer[..n]);
            at += n as u32;
        }
        (install.written, install.erased_to, install.received) = (from, from, from);
        Ok(())
    }

    /// Takes the next bytes of an install: hashed, then written straight from `chunk`
    /// in whole flash words (a partial word waits for the next chunk). More bytes than
    /// the metadata lists are refused before any is written. A cut leaves the slot empty.
    pub fn install_write(&mut self, install: &mut Install, mut chunk: &[u8]) -> Result<(), Error<F::Error>> {
        if u64::from(install.received) + chunk.len() as u64 > u64::from(install.info.length) {
            return Err(Error::EndlessData);
        }
        install.hasher.update(chunk);
        install.received += chunk.len() as u32;
        let word = F::WRITE_SIZE;
        if install.pending_len > 0 {
            let take = chunk.len().min(word - install.pending_len);
            install.pending[install.pending_len..install.pending_len + take].copy_from_slice(&chunk[..take]);
            install.pending_len += take;
            chunk = &chunk[take..];
            if install.pending_len == word {
                let pending = install.pending;
                self.write_words(install, &pending[..word])?;
                install.pending_len = 0;
            }
        }
        let whole = chunk.len() - chunk.len() % word;
        if whole > 0 {
            self.write_words(install, &chunk[..whole])?;
        }
        let rest = &chunk[whole..];
        install.pending[install.pending_len..install.pending_len + rest.len()].copy_from_slice(rest);
        install.pending_len += rest.len();
        Ok(())
    }

    /// Writes whole words at the install's position, erasing each sector first.
    fn write_words(&mut self, install: &mut Install, words: &[u8]) -> Result<(), Error<F::Error>> {
        let region = self.layout.slots[install.slot.index()];
        let end = install.written + words.len() as u32;
        while install.erased_to < end {
            let sector = region.start + install.erased_to;
            self.flash.erase(sector, sector + F::ERASE_SIZE as u32).map_err(Error::Flash)?;
            install.erased_to += F::ERASE_SIZE as u32;
        }
        self.flash.write(region.start + install.written, words).map_err(Error::Flash)?;
        let step = progress_step(F::ERASE_SIZE as u32);
        let (before, after) = (install.written / step, end / step);
        install.written = end;
        if after > before && end < install.info.length {
            // Whole sectors are in place: a resume after a cut starts past them.
            let offset = after * step;
            let progress = Progress { length: install.info.length, sha256: install.info.sha256, offset };
            self.append(Record::Received(install.slot, progress))?;
        }
        Ok(())
    }

    /// Writes the last partial word, then marks the slot installed if the length and
    /// SHA-256 of what arrived match the verified metadata; on a mismatch the slot stays
    /// empty. A cut before the install record lands leaves the slot empty; after it,
    /// the next reset starts the image as a trial.
    pub fn install_finish(&mut self, mut install: Install) -> Result<Slot, Error<F::Error>> {
        if install.received != install.info.length {
            return Err(Error::ImageMismatch);
        }
        if install.hasher.clone().finish().as_bytes() != install.info.sha256 {
            return Err(Error::ImageMismatch);
        }
        if install.pending_len > 0 {
            let mut word = install.pending;
            word[install.pending_len..F::WRITE_SIZE].fill(ERASED);
            self.write_words(&mut install, &word[..F::WRITE_SIZE])?;
        }
        let name = &install.name[..install.name_len];
        for record in Record::name_pieces(install.slot, name) {
            self.store.append(&mut self.flash, &mut self.state, record)?;
        }
        self.append(Record::Installed(install.slot, install.info))?;
        Ok(install.slot)
    }
}

/// Bytes between progress records: whole sectors, at least 4 KiB (so small pages do not
/// fill the log).
fn progress_step(sector: u32) -> u32 {
    sector * 4096u32.div_ceil(sector)
}

/// The least common multiple of two non-zero numbers, if it fits.
fn lcm(a: u32, b: u32) -> Option<u32> {
    let (mut x, mut y) = (a, b);
    while y != 0 {
        (x, y) = (y, x % y);
    }
    (a / x).checked_mul(b)
}

/// The largest flash write size supported.
pub const MAX_WRITE: usize = 32;

/// An image arriving in chunks into the inactive slot; see [`Device::install`].
pub struct Install {
    slot: Slot,
    info: ImageInfo,
    name: [u8; MAX_NAME],
    name_len: usize,
    pending: [u8; MAX_WRITE],
    pending_len: usize,
    written: u32,
    erased_to: u32,
    received: u32,
    hasher: Hasher,
}

impl Install {
    /// The slot being written.
    pub fn slot(&self) -> Slot {
        self.slot
    }

    /// The image being installed.
    pub fn info(&self) -> &ImageInfo {
        &self.info
    }

    /// Bytes received so far (above zero from the start when the install resumed).
    pub fn received(&self) -> u32 {
        self.received
    }
}
