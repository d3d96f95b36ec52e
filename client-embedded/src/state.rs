//! The boot state: what each slot holds and may do, the anti-rollback floors, the
//! latest trusted time. It is a pure function of the records replayed in order, so the
//! state after a power cut is the state of the records that made it to flash.

use crate::record::{ImageInfo, MAX_NAME, NAME_PIECE, Progress, Record, Slot};

/// What a slot holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlotStatus {
    /// No image (erased, being written, or never used).
    Empty,
    /// A verified image that has not run yet: the next boot tries it.
    Installed,
    /// The image booted once as a trial and has not confirmed yet.
    Trial,
    /// The confirmed image: the one to boot.
    Active,
    /// Confirmed once, since replaced by the other slot's image.
    Superseded,
    /// A trial that did not confirm, or an image that faulted too often or whose bytes
    /// changed: never booted again.
    Failed,
}

/// One slot's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotState {
    /// What the slot holds.
    pub status: SlotStatus,
    /// The image, unless the slot is empty.
    pub info: Option<ImageInfo>,
    /// While the slot is empty: how far an install into it got.
    pub receiving: Option<Progress>,
    /// Trial runs started (while on trial).
    pub attempts: u8,
    /// Fault or watchdog resets since the application last said healthy (while active).
    pub faults: u8,
    name: [u8; MAX_NAME],
    name_len: usize,
}

impl SlotState {
    const EMPTY: SlotState = SlotState {
        status: SlotStatus::Empty,
        info: None,
        receiving: None,
        attempts: 0,
        faults: 0,
        name: [0; MAX_NAME],
        name_len: 0,
    };

    /// The image's target path (empty if unknown).
    pub fn name(&self) -> &[u8] {
        &self.name[..self.name_len]
    }
}

/// Anti-rollback floors: an image below either never boots.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Floors {
    /// Lowest release counter that may boot.
    pub release_counter: u64,
    /// Lowest director targets version whose images may boot.
    pub targets_version: u64,
}

impl Floors {
    /// Whether `info` is at or above both floors.
    pub fn allow(&self, info: &ImageInfo) -> bool {
        info.release_counter >= self.release_counter && info.targets_version >= self.targets_version
    }

    fn raise(&mut self, release_counter: u64, targets_version: u64) {
        self.release_counter = self.release_counter.max(release_counter);
        self.targets_version = self.targets_version.max(targets_version);
    }
}

/// The whole boot state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BootState {
    /// Slots A and B.
    pub slots: [SlotState; 2],
    /// Anti-rollback floors.
    pub floors: Floors,
    /// The latest trusted time (seconds since the Unix epoch).
    pub latest_time: u64,
    /// The boot epoch (high half of version-report counters).
    pub epoch: u64,
    /// Decommissioned, with the SHA-256 of the command's nonce: it never goes back.
    pub decommissioned: Option<[u8; 32]>,
    /// The image in the factory region, if the layout has one.
    pub factory: Option<ImageInfo>,
    /// The application asked for the recovery loader.
    pub recovery_requested: bool,
    /// The newest offline targets version accepted (0 before the first bundle).
    pub offline_version: u64,
}

/// The most trial attempts and fault resets the boot state counts (and a snapshot keeps).
pub const MAX_COUNT: u8 = 5;

impl Default for BootState {
    fn default() -> Self {
        BootState {
            slots: [SlotState::EMPTY; 2],
            floors: Floors::default(),
            latest_time: 0,
            epoch: 0,
            decommissioned: None,
            factory: None,
            recovery_requested: false,
            offline_version: 0,
        }
    }
}

impl BootState {
    /// The slot's state.
    pub fn slot(&self, slot: Slot) -> &SlotState {
        &self.slots[slot.index()]
    }

    /// The slot whose status is `status`, if any (A first).
    pub fn find(&self, status: SlotStatus) -> Option<Slot> {
        [Slot::A, Slot::B].into_iter().find(|s| self.slot(*s).status == status)
    }

    /// Applies one record. Records that do not fit the current state (a trial start
    /// for an empty slot, say) change nothing.
    pub fn apply(&mut self, record: &Record) {
        match *record {
            Record::BankHeader { .. } => {}
            Record::Erasing(slot) => self.slots[slot.index()] = SlotState::EMPTY,
            Record::Name { slot, index, len, ref bytes } => {
                let state = &mut self.slots[slot.index()];
                let at = usize::from(index) * NAME_PIECE;
                if state.status == SlotStatus::Empty && at == state.name_len && at + usize::from(len) <= MAX_NAME {
                    state.name[at..at + usize::from(len)].copy_from_slice(&bytes[..usize::from(len)]);
                    state.name_len += usize::from(len);
                }
            }
            Record::Received(slot, progress) => {
                let state = &mut self.slots[slot.index()];
                if state.status == SlotStatus::Empty {
                    state.receiving = Some(progress);
                }
            }
            Record::Installed(slot, info) => {
                let state = &mut self.slots[slot.index()];
                if state.status == SlotStatus::Empty {
                    state.status = SlotStatus::Installed;
                    state.info = Some(info);
                    state.receiving = None;
                    // A recovery install that completes ends the recovery asked for, in the same record.
                    self.recovery_requested = false;
                }
            }
            Record::TrialStarted(slot) => {
                let state = &mut self.slots[slot.index()];
                if matches!(state.status, SlotStatus::Installed | SlotStatus::Trial) {
                    state.status = SlotStatus::Trial;
                    state.attempts = state.attempts.saturating_add(1).min(MAX_COUNT);
                }
            }
            Record::Confirmed(slot) => {
                if self.slot(slot).status == SlotStatus::Trial {
                    let other = &mut self.slots[slot.other().index()];
                    if other.status == SlotStatus::Active {
                        other.status = SlotStatus::Superseded;
                    }
                    let state = &mut self.slots[slot.index()];
                    state.status = SlotStatus::Active;
                    state.faults = 0;
                    if let Some(info) = state.info {
                        self.floors.raise(info.release_counter, info.targets_version);
                    }
                }
            }
            Record::Reverted(slot) => self.transition(slot, SlotStatus::Trial, SlotStatus::Failed),
            Record::Fault(slot) => {
                let state = &mut self.slots[slot.index()];
                if state.status == SlotStatus::Active {
                    state.faults = state.faults.saturating_add(1).min(MAX_COUNT);
                }
            }
            Record::Healthy(slot) => self.slots[slot.index()].faults = 0,
            Record::Failed(slot) => {
                let state = &mut self.slots[slot.index()];
                if state.status != SlotStatus::Empty {
                    state.status = SlotStatus::Failed;
                }
            }
            Record::Restored(slot) => {
                if self.slot(slot.other()).status != SlotStatus::Active {
                    self.transition(slot, SlotStatus::Superseded, SlotStatus::Active);
                }
            }
            Record::Superseded(slot) => self.transition(slot, SlotStatus::Active, SlotStatus::Superseded),
            Record::Factory(info) => self.factory = Some(info),
            Record::Recovery(requested) => self.recovery_requested = requested,
            Record::Offline { targets_version, issued } => {
                self.offline_version = self.offline_version.max(targets_version);
                self.latest_time = self.latest_time.max(issued);
            }
            Record::Floors { release_counter, targets_version } => self.floors.raise(release_counter, targets_version),
            Record::Time(t) => self.latest_time = self.latest_time.max(t),
            Record::Epoch(e) => self.epoch = self.epoch.max(e),
            Record::Decommissioned { nonce_sha256 } => {
                self.decommissioned.get_or_insert(nonce_sha256);
            }
        }
    }

    fn transition(&mut self, slot: Slot, from: SlotStatus, to: SlotStatus) {
        let state = &mut self.slots[slot.index()];
        if state.status == from {
            state.status = to;
        }
    }

    /// Records that rebuild this state from nothing, for compacting the log (at most
    /// [`BootState::SNAPSHOT_RECORDS`]). A superseded slot comes first and is marked
    /// superseded by its own record, so it stays so whatever the other slot holds.
    pub fn snapshot(&self, mut emit: impl FnMut(Record)) {
        let order = match self.slot(Slot::B).status {
            SlotStatus::Superseded => [Slot::B, Slot::A],
            _ => [Slot::A, Slot::B],
        };
        for slot in order {
            let state = self.slot(slot);
            let Some(info) = state.info else {
                if let Some(progress) = state.receiving {
                    emit(Record::Received(slot, progress));
                }
                continue;
            };
            for piece in Record::name_pieces(slot, state.name()) {
                emit(piece);
            }
            emit(Record::Installed(slot, info));
            match state.status {
                SlotStatus::Empty | SlotStatus::Installed => {}
                SlotStatus::Trial => {
                    for _ in 0..state.attempts.max(1) {
                        emit(Record::TrialStarted(slot));
                    }
                }
                SlotStatus::Active => {
                    emit(Record::TrialStarted(slot));
                    emit(Record::Confirmed(slot));
                    for _ in 0..state.faults {
                        emit(Record::Fault(slot));
                    }
                }
                SlotStatus::Superseded => {
                    emit(Record::TrialStarted(slot));
                    emit(Record::Confirmed(slot));
                    emit(Record::Superseded(slot));
                }
                SlotStatus::Failed => {
                    emit(Record::TrialStarted(slot));
                    emit(Record::Reverted(slot));
                }
            }
        }
        let Floors { release_counter, targets_version } = self.floors;
        emit(Record::Floors { release_counter, targets_version });
        emit(Record::Time(self.latest_time));
        emit(Record::Epoch(self.epoch));
        if let Some(nonce_sha256) = self.decommissioned {
            emit(Record::Decommissioned { nonce_sha256 });
        }
        if let Some(info) = self.factory {
            emit(Record::Factory(info));
        }
        if self.recovery_requested {
            emit(Record::Recovery(true));
        }
        if self.offline_version > 0 {
            emit(Record::Offline { targets_version: self.offline_version, issued: 0 });
        }
    }

    /// The most records [`BootState::snapshot`] emits: per slot its name, the install,
    /// trial attempts or confirmation, and faults; then seven single records.
    /// (An empty slot being received emits one record, fewer than an installed one.)
    pub const SNAPSHOT_RECORDS: usize = 2 * (MAX_NAME / NAME_PIECE + 2 + 2 * MAX_COUNT as usize) + 7;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{ImageInfo, Progress, Slot};
    use alloc::vec::Vec;

    /// What a state means to the device (name bytes count only for a slot with an image).
    fn meaning(state: &BootState) -> impl PartialEq + core::fmt::Debug {
        let slots: Vec<_> = state
            .slots
            .iter()
            .map(|s| {
                let name = if s.info.is_some() { s.name().to_vec() } else { Vec::new() };
                let attempts = if s.status == SlotStatus::Trial { s.attempts } else { 0 };
                let faults = if s.status == SlotStatus::Active { s.faults } else { 0 };
                (s.status, s.info, s.receiving, attempts, faults, name)
            })
            .collect();
        let rest = (
            state.latest_time,
            state.epoch,
            state.decommissioned,
            state.factory,
            state.recovery_requested,
            state.offline_version,
        );
        (slots, state.floors, rest)
    }

    fn alphabet() -> Vec<Record> {
        let info = |n: u8| ImageInfo {
            length: 100 + u32::from(n),
            sha256: [n; 32],
            release_counter: u64::from(n),
            targets_version: u64::from(n),
        };
        let mut records = Vec::new();
        for slot in [Slot::A, Slot::B] {
            records.extend(Record::name_pieces(slot, b"ecu/brake/fw.bin"));
            records.extend([
                Record::Erasing(slot),
                Record::Received(slot, Progress { length: 105, sha256: [5; 32], offset: 4096 }),
                Record::Installed(slot, info(if slot == Slot::A { 3 } else { 4 })),
                Record::TrialStarted(slot),
                Record::Confirmed(slot),
                Record::Reverted(slot),
                Record::Fault(slot),
                Record::Healthy(slot),
                Record::Failed(slot),
                Record::Restored(slot),
                Record::Superseded(slot),
            ]);
        }
        records.extend([
            Record::Floors { release_counter: 2, targets_version: 2 },
            Record::Time(77),
            Record::Epoch(3),
            Record::Factory(info(1)),
            Record::Recovery(true),
            Record::Recovery(false),
            Record::Offline { targets_version: 2, issued: 90 },
            Record::Decommissioned { nonce_sha256: [8; 32] },
        ]);
        records
    }

    /// Every state that some sequence of records reaches is rebuilt exactly by its
    /// snapshot, within [`BootState::SNAPSHOT_RECORDS`] records.
    #[test]
    fn a_snapshot_of_any_reachable_state_replays_to_the_same_state() {
        let alphabet = alphabet();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut most = 0;
        for _ in 0..20_000 {
            let mut state = BootState::default();
            for _ in 0..40 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                state.apply(&alphabet[(seed % alphabet.len() as u64) as usize]);
                let mut records = Vec::new();
                state.snapshot(|r| records.push(r));
                most = most.max(records.len());
                assert!(records.len() <= BootState::SNAPSHOT_RECORDS, "{} records for {state:?}", records.len());
                let mut replayed = BootState::default();
                for record in &records {
                    replayed.apply(record);
                }
                assert_eq!(meaning(&replayed), meaning(&state), "{records:?}");
            }
        }
        assert!(most > 12, "the sequences reach rich states ({most} records)");
    }
}
