//! The boot-state log on flash: records appended one granule at a time into the live
//! bank; when it is full the state is written compacted into the other bank, whose header
//! goes last. The live bank is the one with the newest valid header, so a cut anywhere in
//! a compaction leaves the old bank live and whole.

use embedded_storage::nor_flash::NorFlash;

use crate::Error;
use crate::layout::Region;
use crate::record::{Granule, RECORD_SIZE, Record};
use crate::state::BootState;

/// The open log: where the next record goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StateLog {
    banks: [Region; 2],
    live: usize,
    sequence: u64,
    next: u32,
}

impl StateLog {
    /// Erases both banks and starts an empty log (factory provisioning).
    /// A cut leaves no valid header, and provisioning starts again.
    pub fn format<F: NorFlash>(flash: &mut F, banks: [Region; 2]) -> Result<StateLog, Error<F::Error>> {
        for bank in &banks {
            flash.erase(bank.start, bank.end()).map_err(Error::Flash)?;
        }
        write_granule(flash, banks[0].start, &Record::BankHeader { sequence: 1 })?;
        Ok(StateLog { banks, live: 0, sequence: 1, next: banks[0].start + RECORD_SIZE as u32 })
    }

    /// Opens the log and replays it into a fresh state. Reads only.
    pub fn open<F: NorFlash>(flash: &mut F, banks: [Region; 2]) -> Result<(StateLog, BootState), Error<F::Error>> {
        let mut best: Option<(usize, u64)> = None;
        for (i, bank) in banks.iter().enumerate() {
            if let Granule::Record(Record::BankHeader { sequence }) = read_granule(flash, bank.start)? {
                if best.is_none_or(|(_, s)| sequence > s) {
                    best = Some((i, sequence));
                }
            }
        }
        let (live, sequence) = best.ok_or(Error::NotProvisioned)?;
        let bank = banks[live];
        let mut state = BootState::default();
        let mut at = bank.start + RECORD_SIZE as u32;
        while at < bank.end() {
            match read_granule(flash, at)? {
                Granule::Free => break, // appends are in order: everything after is free too
                Granule::Torn => {}
                Granule::Record(record) => state.apply(&record),
            }
            at += RECORD_SIZE as u32;
        }
        Ok((StateLog { banks, live, sequence, next: at }, state))
    }

    /// Appends `record` and applies it to `state`. A cut before the write completes
    /// leaves the state as it was (a torn granule is skipped on replay).
    pub fn append<F: NorFlash>(
        &mut self,
        flash: &mut F,
        state: &mut BootState,
        record: Record,
    ) -> Result<(), Error<F::Error>> {
        if self.next >= self.banks[self.live].end() {
            self.compact(flash, state)?;
        }
        write_granule(flash, self.next, &record)?;
        self.next += RECORD_SIZE as u32;
        state.apply(&record);
        Ok(())
    }

    /// Writes `state` into the other bank and makes it live. A cut before its header is
    /// written leaves the current bank live; the snapshot replays to the same state.
    fn compact<F: NorFlash>(&mut self, flash: &mut F, state: &BootState) -> Result<(), Error<F::Error>> {
        let target = 1 - self.live;
        let bank = self.banks[target];
        flash.erase(bank.start, bank.end()).map_err(Error::Flash)?;
        let mut at = bank.start + RECORD_SIZE as u32;
        let mut result = Ok(());
        state.snapshot(|record| {
            if result.is_ok() {
                result = write_granule(flash, at, &record);
                at += RECORD_SIZE as u32;
            }
        });
        result?;
        write_granule(flash, bank.start, &Record::BankHeader { sequence: self.sequence + 1 })?;
        self.live = target;
        self.sequence += 1;
        self.next = at;
        Ok(())
    }
}

fn read_granule<F: NorFlash>(flash: &mut F, at: u32) -> Result<Granule, Error<F::Error>> {
    let mut bytes = [0u8; RECORD_SIZE];
    flash.read(at, &mut bytes).map_err(Error::Flash)?;
    Ok(Record::decode(&bytes))
}

fn write_granule<F: NorFlash>(flash: &mut F, at: u32, record: &Record) -> Result<(), Error<F::Error>> {
    flash.write(at, &record.encode()).map_err(Error::Flash)
}
