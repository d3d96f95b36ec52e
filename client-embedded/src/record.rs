//! Boot-state records: fixed 64-byte granules, each written once with one flash write
//! and closed by a CRC-32. A granule that is all erased bytes is free; one that fails its
//! CRC (a write torn by a power cut) is skipped, so every prefix of the log decodes to a
//! state that an earlier, complete sequence of writes also produced.

use crate::crc::crc32;

/// The value of an erased NOR flash byte.
pub const ERASED: u8 = 0xFF;
/// Bytes per record: a multiple of every supported flash write size (1 to 32).
pub const RECORD_SIZE: usize = 64;
/// Longest image target path kept with an installed slot (in [`Record::Name`] pieces).
pub const MAX_NAME: usize = NAME_PIECE * MAX_NAME_PIECES;
/// Name bytes per [`Record::Name`].
pub const NAME_PIECE: usize = 48;
const MAX_NAME_PIECES: usize = 4;

/// One of the two image slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    /// The first slot.
    A,
    /// The second slot.
    B,
}

impl Slot {
    /// The other slot.
    pub fn other(self) -> Slot {
        match self {
            Slot::A => Slot::B,
            Slot::B => Slot::A,
        }
    }

    /// 0 for A, 1 for B.
    pub fn index(self) -> usize {
        self as usize
    }

    fn from_byte(b: u8) -> Option<Slot> {
        match b {
            0 => Some(Slot::A),
            1 => Some(Slot::B),
            _ => None,
        }
    }
}

/// What an installed image is: enough to re-check it before boot and to report it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageInfo {
    /// Image length in bytes.
    pub length: u32,
    /// SHA-256 of the image.
    pub sha256: [u8; 32],
    /// The Uptane release counter the director assigned.
    pub release_counter: u64,
    /// The director targets version that authorized it.
    pub targets_version: u64,
}

/// How far an install into an empty slot got: its first `offset` bytes hold the start
/// of the image with this length and SHA-256, written in an earlier power cycle. Nothing
/// secret: the whole slot is hashed again before the image may boot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Length of the image being installed.
    pub length: u32,
    /// SHA-256 of the image being installed.
    pub sha256: [u8; 32],
    /// Bytes from the slot's start that are written (a sector boundary).
    pub offset: u32,
}

/// A decoded record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Record {
    /// First granule of a bank, written last when the bank is filled: the newest valid
    /// header marks the live bank.
    BankHeader {
        /// Grows with every compaction.
        sequence: u64,
    },
    /// The slot's content is no longer an image: written before the slot is erased.
    Erasing(Slot),
    /// An install into the slot got this far (so a later one can resume).
    Received(Slot, Progress),
    /// A piece of the target path of the image being installed in the slot.
    Name {
        /// The slot.
        slot: Slot,
        /// Piece number, from 0.
        index: u8,
        /// Bytes used in `bytes`.
        len: u8,
        /// The piece.
        bytes: [u8; NAME_PIECE],
    },
    /// The slot holds a complete, verified image that has not run yet.
    Installed(Slot, ImageInfo),
    /// The bootloader is starting the slot's image as a trial: once more after each reset
    /// that came before it confirmed, up to the policy's attempts.
    TrialStarted(Slot),
    /// The running trial image confirmed itself: it becomes the image to boot, and the
    /// anti-rollback floors rise to its counters.
    Confirmed(Slot),
    /// The trial image did not confirm within its attempts.
    Reverted(Slot),
    /// The active image ended in a fault or watchdog reset before the application said
    /// it was healthy.
    Fault(Slot),
    /// The application says the running image is healthy: its fault count starts over.
    Healthy(Slot),
    /// The slot's image is bad (faulted too often, or its bytes no longer hash to the
    /// recorded SHA-256): never booted again.
    Failed(Slot),
    /// The confirmed image the active one replaced becomes the active image again (the
    /// active one failed).
    Restored(Slot),
    /// The slot's confirmed image is no longer the active one (written when a bank is
    /// compacted, for a superseded slot whose successor failed).
    Superseded(Slot),
    /// The factory region holds this image (provisioning): it boots when no slot can,
    /// never becomes a slot's image, and never lowers the floors.
    Factory(ImageInfo),
    /// An offline bundle was accepted: the newest offline targets version (an older
    /// bundle is refused from now on) and its issue time (the time floor rises to it).
    Offline {
        /// The offline targets version.
        targets_version: u64,
        /// Its `issued`, in seconds since the Unix epoch.
        issued: u64,
    },
    /// The application asks for the recovery loader at the next reset (`true`), or
    /// withdraws that (`false`). An [`Record::Installed`] ends it too.
    Recovery(bool),
    /// Anti-rollback floors (written when a bank is compacted).
    Floors {
        /// Lowest release counter that may boot.
        release_counter: u64,
        /// Lowest director targets version whose images may boot.
        targets_version: u64,
    },
    /// The latest trusted time, in seconds since the Unix epoch.
    Time(u64),
    /// The boot epoch, the high half of version-report counters.
    Epoch(u64),
    /// The ECU is decommissioned (both repositories commanded it; it acknowledged the
    /// command with this nonce's SHA-256): its key is erased at every start, and it
    /// answers nothing but who it is.
    Decommissioned {
        /// SHA-256 of the command's nonce.
        nonce_sha256: [u8; 32],
    },
}

const BANK_HEADER: u8 = 0x01;
const ERASING: u8 = 0x10;
const NAME: u8 = 0x11;
const INSTALLED: u8 = 0x12;
const TRIAL_STARTED: u8 = 0x13;
const CONFIRMED: u8 = 0x14;
const REVERTED: u8 = 0x15;
const RECEIVED: u8 = 0x16;
const FAULT: u8 = 0x17;
const HEALTHY: u8 = 0x18;
const FAILED: u8 = 0x19;
const RESTORED: u8 = 0x1A;
const SUPERSEDED: u8 = 0x1B;
const FLOORS: u8 = 0x20;
const TIME: u8 = 0x21;
const EPOCH: u8 = 0x22;
const FACTORY: u8 = 0x23;
const RECOVERY: u8 = 0x24;
const OFFLINE: u8 = 0x25;
const DECOMMISSIONED: u8 = 0x30;

/// What a granule read from flash holds.
#[derive(Debug, PartialEq, Eq)]
pub enum Granule {
    /// Never written since the last erase.
    Free,
    /// Written, but not a valid record (a torn write): skipped.
    Torn,
    /// A valid record.
    Record(Record),
}

impl Record {
    /// The record's 64 bytes.
    pub fn encode(&self) -> [u8; RECORD_SIZE] {
        let mut out = [0u8; RECORD_SIZE];
        let (kind, slot) = match *self {
            Record::BankHeader { sequence } => {
                put_u64(&mut out, 8, sequence);
                (BANK_HEADER, 0)
            }
            Record::Erasing(slot) => (ERASING, slot as u8),
            Record::Name { slot, index, len, bytes } => {
                out[2] = index;
                out[3] = len;
                out[4..4 + NAME_PIECE].copy_from_slice(&bytes);
                (NAME, slot as u8)
            }
            Record::Installed(slot, info) => {
                put_info(&mut out, &info);
                (INSTALLED, slot as u8)
            }
            Record::Factory(info) => {
                put_info(&mut out, &info);
                (FACTORY, 0)
            }
            Record::Recovery(requested) => {
                out[2] = u8::from(requested);
                (RECOVERY, 0)
            }
            Record::Offline { targets_version, issued } => {
                put_u64(&mut out, 8, targets_version);
                put_u64(&mut out, 16, issued);
                (OFFLINE, 0)
            }
            Record::Fault(slot) => (FAULT, slot as u8),
            Record::Healthy(slot) => (HEALTHY, slot as u8),
            Record::Failed(slot) => (FAILED, slot as u8),
            Record::Restored(slot) => (RESTORED, slot as u8),
            Record::Superseded(slot) => (SUPERSEDED, slot as u8),
            Record::Received(slot, progress) => {
                out[8..12].copy_from_slice(&progress.offset.to_le_bytes());
                out[24..56].copy_from_slice(&progress.sha256);
                out[56..60].copy_from_slice(&progress.length.to_le_bytes());
                (RECEIVED, slot as u8)
            }
            Record::TrialStarted(slot) => (TRIAL_STARTED, slot as u8),
            Record::Confirmed(slot) => (CONFIRMED, slot as u8),
            Record::Reverted(slot) => (REVERTED, slot as u8),
            Record::Floors { release_counter, targets_version } => {
                put_u64(&mut out, 8, release_counter);
                put_u64(&mut out, 16, targets_version);
                (FLOORS, 0)
            }
            Record::Time(t) => {
                put_u64(&mut out, 8, t);
                (TIME, 0)
            }
            Record::Epoch(e) => {
                put_u64(&mut out, 8, e);
                (EPOCH, 0)
            }
            Record::Decommissioned { nonce_sha256 } => {
                out[24..56].copy_from_slice(&nonce_sha256);
                (DECOMMISSIONED, 0)
            }
        };
        out[0] = kind;
        out[1] = slot;
        let crc = crc32(&out[..RECORD_SIZE - 4]);
        out[RECORD_SIZE - 4..].copy_from_slice(&crc.to_le_bytes());
        out
    }

    /// Reads a granule.
    pub fn decode(bytes: &[u8; RECORD_SIZE]) -> Granule {
        if bytes.iter().all(|&b| b == ERASED) {
            return Granule::Free;
        }
        let crc = u32::from_le_bytes(bytes[RECORD_SIZE - 4..].try_into().expect("4 bytes"));
        if crc != crc32(&bytes[..RECORD_SIZE - 4]) {
            return Granule::Torn;
        }
        let slot = Slot::from_byte(bytes[1]);
        let record = match (bytes[0], slot) {
            (BANK_HEADER, _) => Record::BankHeader { sequence: get_u64(bytes, 8) },
            (ERASING, Some(s)) => Record::Erasing(s),
            (NAME, Some(slot)) if usize::from(bytes[3]) <= NAME_PIECE && usize::from(bytes[2]) < MAX_NAME_PIECES => {
                let mut piece = [0u8; NAME_PIECE];
                piece.copy_from_slice(&bytes[4..4 + NAME_PIECE]);
                Record::Name { slot, index: bytes[2], len: bytes[3], bytes: piece }
            }
            (INSTALLED, Some(s)) => Record::Installed(s, get_info(bytes)),
            (FACTORY, _) => Record::Factory(get_info(bytes)),
            (RECOVERY, _) if bytes[2] <= 1 => Record::Recovery(bytes[2] == 1),
            (OFFLINE, _) => Record::Offline { targets_version: get_u64(bytes, 8), issued: get_u64(bytes, 16) },
            (FAULT, Some(s)) => Record::Fault(s),
            (HEALTHY, Some(s)) => Record::Healthy(s),
            (FAILED, Some(s)) => Record::Failed(s),
            (RESTORED, Some(s)) => Record::Restored(s),
            (SUPERSEDED, Some(s)) => Record::Superseded(s),
            (RECEIVED, Some(s)) => Record::Received(
                s,
                Progress {
                    offset: u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes")),
                    sha256: bytes[24..56].try_into().expect("32 bytes"),
                    length: u32::from_le_bytes(bytes[56..60].try_into().expect("4 bytes")),
                },
            ),
            (TRIAL_STARTED, Some(s)) => Record::TrialStarted(s),
            (CONFIRMED, Some(s)) => Record::Confirmed(s),
            (REVERTED, Some(s)) => Record::Reverted(s),
            (FLOORS, _) => Record::Floors { release_counter: get_u64(bytes, 8), targets_version: get_u64(bytes, 16) },
            (TIME, _) => Record::Time(get_u64(bytes, 8)),
            (EPOCH, _) => Record::Epoch(get_u64(bytes, 8)),
            (DECOMMISSIONED, _) => Record::Decommissioned { nonce_sha256: bytes[24..56].try_into().expect("32 bytes") },
            _ => return Granule::Torn, // a kind from a newer firmware: ignored, like a torn write
        };
        Granule::Record(record)
    }

    /// The [`Record::Name`] pieces of `name` for `slot` (at most [`MAX_NAME`] bytes).
    pub fn name_pieces(slot: Slot, name: &[u8]) -> impl Iterator<Item = Record> + '_ {
        name.chunks(NAME_PIECE).enumerate().map(move |(i, chunk)| {
            let mut bytes = [0u8; NAME_PIECE];
            bytes[..chunk.len()].copy_from_slice(chunk);
            Record::Name { slot, index: i as u8, len: chunk.len() as u8, bytes }
        })
    }
}

fn put_info(out: &mut [u8; RECORD_SIZE], info: &ImageInfo) {
    put_u64(out, 8, info.release_counter);
    put_u64(out, 16, info.targets_version);
    out[24..56].copy_from_slice(&info.sha256);
    out[56..60].copy_from_slice(&info.length.to_le_bytes());
}

fn get_info(bytes: &[u8; RECORD_SIZE]) -> ImageInfo {
    ImageInfo {
        release_counter: get_u64(bytes, 8),
        targets_version: get_u64(bytes, 16),
        sha256: bytes[24..56].try_into().expect("32 bytes"),
        length: u32::from_le_bytes(bytes[56..60].try_into().expect("4 bytes")),
    }
}

fn put_u64(out: &mut [u8], at: usize, value: u64) {
    out[at..at + 8].copy_from_slice(&value.to_le_bytes());
}

fn get_u64(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn every_record_round_trips_and_a_torn_copy_is_never_valid() {
        let info = ImageInfo { length: 1234, sha256: [7; 32], release_counter: 9, targets_version: 4 };
        let mut records = vec![
            Record::BankHeader { sequence: 3 },
            Record::Erasing(Slot::B),
            Record::Installed(Slot::A, info),
            Record::Received(Slot::B, Progress { length: 9000, sha256: [3; 32], offset: 8192 }),
            Record::TrialStarted(Slot::A),
            Record::Confirmed(Slot::B),
            Record::Reverted(Slot::A),
            Record::Floors { release_counter: 5, targets_version: 6 },
            Record::Time(1_800_000_000),
            Record::Epoch(12),
            Record::Decommissioned { nonce_sha256: [9; 32] },
            Record::Fault(Slot::A),
            Record::Healthy(Slot::B),
            Record::Failed(Slot::A),
            Record::Restored(Slot::B),
            Record::Superseded(Slot::A),
            Record::Factory(info),
            Record::Recovery(true),
            Record::Recovery(false),
            Record::Offline { targets_version: 7, issued: 1_800_000_000 },
        ];
        records.extend(Record::name_pieces(Slot::B, b"ecu/brake/firmware-with-a-rather-long-name-v2.1.bin"));
        for record in records {
            let bytes = record.encode();
            assert_eq!(Record::decode(&bytes), Granule::Record(record));
            for cut in 1..RECORD_SIZE {
                let mut torn = [0xFF; RECORD_SIZE];
                torn[..cut].copy_from_slice(&bytes[..cut]);
                if torn == bytes {
                    continue; // the record ends in erased-looking bytes: this copy is whole
                }
                assert_eq!(Record::decode(&torn), Granule::Torn, "{record:?} cut at {cut}");
            }
        }
        assert_eq!(Record::decode(&[0xFF; RECORD_SIZE]), Granule::Free);
    }
}
