//! Trusted metadata kept across update cycles, each role double-buffered: two copies,
//! each a header granule (sequence number, length, CRC of the body, CRC of the header)
//! then the body. A new copy overwrites the older one and its header goes last, so the
//! newest valid copy is always a whole one. Whoever loads a copy checks its signatures
//! again; the CRC only finds torn writes.

use embedded_storage::nor_flash::NorFlash;

use crate::Error;
use crate::crc::{crc32, update};
use crate::device::MAX_WRITE;
use crate::layout::Region;
use crate::record::{ERASED, RECORD_SIZE};

const MAGIC: &[u8; 4] = b"UPTM";
const HEADER: u32 = RECORD_SIZE as u32;

/// One valid copy's header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Header {
    sequence: u64,
    length: u32,
    body_crc: u32,
}

impl Header {
    fn encode(&self) -> [u8; RECORD_SIZE] {
        let mut out = [0u8; RECORD_SIZE];
        out[..4].copy_from_slice(MAGIC);
        out[8..16].copy_from_slice(&self.sequence.to_le_bytes());
        out[16..20].copy_from_slice(&self.length.to_le_bytes());
        out[20..24].copy_from_slice(&self.body_crc.to_le_bytes());
        let crc = crc32(&out[..RECORD_SIZE - 4]);
        out[RECORD_SIZE - 4..].copy_from_slice(&crc.to_le_bytes());
        out
    }

    fn decode(bytes: &[u8; RECORD_SIZE]) -> Option<Header> {
        let crc = u32::from_le_bytes(bytes[RECORD_SIZE - 4..].try_into().ok()?);
        if &bytes[..4] != MAGIC || crc != crc32(&bytes[..RECORD_SIZE - 4]) {
            return None;
        }
        Some(Header {
            sequence: u64::from_le_bytes(bytes[8..16].try_into().ok()?),
            length: u32::from_le_bytes(bytes[16..20].try_into().ok()?),
            body_crc: u32::from_le_bytes(bytes[20..24].try_into().ok()?),
        })
    }
}

/// The newest whole copy: which one and its header.
fn newest<F: NorFlash>(
    flash: &mut F,
    copies: &[Region; 2],
    buffer: &mut [u8],
) -> Result<Option<(usize, Header)>, Error<F::Error>> {
    let mut best: Option<(usize, Header)> = None;
    for (i, region) in copies.iter().enumerate() {
        let mut raw = [0u8; RECORD_SIZE];
        flash.read(region.start, &mut raw).map_err(Error::Flash)?;
        let Some(header) = Header::decode(&raw) else { continue };
        if header.length > region.len - HEADER {
            continue;
        }
        if header.length as usize > buffer.len() {
            return Err(Error::BufferTooSmall);
        }
        let body = &mut buffer[..header.length as usize];
        flash.read(region.start + HEADER, body).map_err(Error::Flash)?;
        if crc32(body) == header.body_crc && best.is_none_or(|(_, b)| header.sequence > b.sequence) {
            best = Some((i, header));
        }
    }
    Ok(best)
}

/// Loads the newest whole copy into `buffer`: its length, or `None` if there is none.
pub fn load<F: NorFlash>(
    flash: &mut F,
    copies: &[Region; 2],
    buffer: &mut [u8],
) -> Result<Option<usize>, Error<F::Error>> {
    let Some((i, header)) = newest(flash, copies, buffer)? else { return Ok(None) };
    // `newest` may have read the other copy last: read the winner again.
    let body = &mut buffer[..header.length as usize];
    flash.read(copies[i].start + HEADER, body).map_err(Error::Flash)?;
    Ok(Some(body.len()))
}

/// Stores `bytes` as the newest copy, over the older one. `scratch` (at least as long
/// as the longest copy) is used to find the newest copy. A cut at any point leaves the
/// previous copy the newest whole one.
pub fn store<F: NorFlash>(
    flash: &mut F,
    copies: &[Region; 2],
    bytes: &[u8],
    scratch: &mut [u8],
) -> Result<(), Error<F::Error>> {
    let (target, sequence) = match newest(flash, copies, scratch)? {
        Some((i, header)) => (1 - i, header.sequence + 1),
        None => (0, 1),
    };
    let region = copies[target];
    if HEADER as usize + bytes.len() > region.len as usize {
        return Err(Error::MetadataTooLarge);
    }
    let used = (HEADER as usize + bytes.len()).div_ceil(F::ERASE_SIZE) * F::ERASE_SIZE;
    flash.erase(region.start, region.start + used as u32).map_err(Error::Flash)?;
    let word = F::WRITE_SIZE;
    let whole = bytes.len() - bytes.len() % word;
    if whole > 0 {
        flash.write(region.start + HEADER, &bytes[..whole]).map_err(Error::Flash)?;
    }
    if whole < bytes.len() {
        let mut tail = [ERASED; MAX_WRITE];
        tail[..bytes.len() - whole].copy_from_slice(&bytes[whole..]);
        flash.write(region.start + HEADER + whole as u32, &tail[..word]).map_err(Error::Flash)?;
    }
    let header = Header { sequence, length: bytes.len() as u32, body_crc: update(0, bytes) };
    flash.write(region.start, &header.encode()).map_err(Error::Flash)
}
