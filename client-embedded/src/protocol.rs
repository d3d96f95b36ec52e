//! The primary <-> secondary protocol, sans-I/O: length-prefixed frames, so the same
//! bytes travel over TCP in tests and over UART or CAN-TP on a board.
//!
//! A frame is `kind: u8`, `length: u32` (little-endian), `payload`, then a CRC-32 of
//! everything before it. The secondary feeds received bytes to a [`Framer`] (which
//! collects a frame in a caller buffer), hands each [`Request`] to [`serve`], and sends
//! the encoded [`Response`]. The primary uses the same codecs the other way round.

use alloc::vec::Vec;

use embedded_storage::nor_flash::NorFlash;
use metadata_schemas::uptane::AttackCode;

use crate::crc::{crc32, update};
use crate::ecu_key::EcuKey;
use crate::secondary::{Secondary, UpdateError};
use crate::store::Store;

const HEADER: usize = 5;
const TRAILER: usize = 4;

/// What the primary asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request<'a> {
    /// Who the ECU is and what it runs.
    GetInfo,
    /// A signed version report (fresh counter).
    GetVersionReport,
    /// Start an update cycle; the primary's time (seconds since the Unix epoch) can only
    /// make this cycle's expiry checks stricter, and is never kept.
    StartCycle(u64),
    /// A director time attestation answering the ECU's latest version report: the only
    /// way the ECU's trusted time moves.
    PutTime(&'a [u8]),
    /// The versions of the roots this ECU trusts (in a cycle), so the primary can send
    /// the roots it lacks.
    GetRootVersions,
    /// The next director root version.
    PutRoot(&'a [u8]),
    /// Director targets metadata.
    PutTargets(&'a [u8]),
    /// The assigned image starts.
    BeginImage,
    /// The next image bytes.
    ImageChunk(&'a [u8]),
    /// The image is complete: check it and reset into its trial.
    Activate,
    /// The running trial image is healthy.
    Confirm,
    /// Full verification: the image repository's next root version.
    PutImageRoot(&'a [u8]),
    /// Full verification: the image repository's timestamp.
    PutImageTimestamp(&'a [u8]),
    /// Full verification: the image repository's snapshot.
    PutImageSnapshot(&'a [u8]),
    /// Full verification: the image repository's top-level targets (before the
    /// director's targets).
    PutImageTargets(&'a [u8]),
    /// Full verification: one delegated targets role of the image repository on the
    /// path to the assigned image (after its top-level targets, before the director's
    /// targets). Payload: the role name's length (u16, little-endian), the name, the file.
    PutImageDelegation {
        /// The delegated role.
        role: &'a str,
        /// Its metadata file, verified by the delegation search.
        bytes: &'a [u8],
    },
    /// An encrypted image's chunk index (after the director's targets, before the image):
    /// the SHA-256 of every chunk of ciphertext, checked before the chunk is programmed.
    PutChunkIndex(&'a [u8]),
    /// An offline bundle's metadata, in place of director targets (after `StartCycle`,
    /// and for full verification the image repository's metadata). Payload: the offline
    /// snapshot's length (u32, little-endian), the snapshot, the offline targets.
    /// Answered like director targets.
    PutOffline {
        /// The offline snapshot.
        snapshot: &'a [u8],
        /// The offline targets.
        targets: &'a [u8],
    },
    /// Decommission (after this cycle's director targets): the image repository's signed
    /// `decommission/<vin>.json`. Answered with the signed acknowledgement.
    Decommission(&'a [u8]),
}

/// What the secondary answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
    /// Done.
    Ok,
    /// Refused, with the attack code the refusal reports.
    Refused(AttackCode),
    /// ECU serial, hardware id and running image path, separated by newlines.
    Info(Vec<u8>),
    /// A signed ECU version report (canonical JSON).
    VersionReport(Vec<u8>),
    /// Whether the targets assign a new image to this ECU, and its length.
    Assigned(Option<u32>),
    /// The image starts at this offset, above zero: the ECU kept the bytes before it
    /// from an install a power loss cut short. (An image that starts at 0 is [`Response::Ok`].)
    ContinueFrom(u32),
    /// The image is in place: the ECU resets now to start it as a trial.
    Resetting,
    /// The ECU is decommissioned: it answers nothing but [`Request::GetInfo`].
    Decommissioned,
    /// The trusted director root's version and the image repository root's (0 without
    /// full verification).
    RootVersions {
        /// Director root version.
        director: u32,
        /// Image repository root version, or 0.
        images: u32,
    },
}

mod kind {
    pub const GET_INFO: u8 = 0x01;
    pub const GET_VERSION_REPORT: u8 = 0x02;
    pub const START_CYCLE: u8 = 0x03;
    pub const PUT_ROOT: u8 = 0x04;
    pub const PUT_TARGETS: u8 = 0x05;
    pub const BEGIN_IMAGE: u8 = 0x06;
    pub const IMAGE_CHUNK: u8 = 0x07;
    pub const ACTIVATE: u8 = 0x08;
    pub const CONFIRM: u8 = 0x09;
    pub const PUT_IMAGE_ROOT: u8 = 0x0A;
    pub const PUT_IMAGE_TIMESTAMP: u8 = 0x0B;
    pub const PUT_IMAGE_SNAPSHOT: u8 = 0x0C;
    pub const PUT_IMAGE_TARGETS: u8 = 0x0D;
    pub const GET_ROOT_VERSIONS: u8 = 0x0E;
    pub const PUT_TIME: u8 = 0x0F;
    pub const PUT_IMAGE_DELEGATION: u8 = 0x10;
    pub const PUT_CHUNK_INDEX: u8 = 0x11;
    pub const DECOMMISSION: u8 = 0x12;
    pub const PUT_OFFLINE: u8 = 0x13;
    pub const OK: u8 = 0x80;
    pub const REFUSED: u8 = 0x81;
    pub const INFO: u8 = 0x82;
    pub const VERSION_REPORT: u8 = 0x83;
    pub const ASSIGNED: u8 = 0x84;
    pub const RESETTING: u8 = 0x85;
    pub const ROOT_VERSIONS: u8 = 0x86;
    pub const CONTINUE_FROM: u8 = 0x87;
    pub const DECOMMISSIONED: u8 = 0x88;
}

/// A frame that cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// Its length exceeds the receive buffer.
    TooLong(u32),
    /// Its CRC does not match (a corrupted or misaligned stream).
    BadCrc,
    /// An unknown kind or a payload of the wrong size.
    Malformed,
}

/// A whole frame: its kind and payload.
pub type Frame<'a> = (u8, &'a [u8]);

/// Collects one frame at a time in a caller-provided buffer.
pub struct Framer<'b> {
    buffer: &'b mut [u8],
    filled: usize,
}

impl<'b> Framer<'b> {
    /// A framer over `buffer` (frames up to its length are accepted).
    pub fn new(buffer: &'b mut [u8]) -> Self {
        Framer { buffer, filled: 0 }
    }

    /// Takes bytes from `input`; returns how many it used and, once a frame is whole,
    /// its kind and payload (valid until the next call). After an error the framer
    /// starts over with the next byte.
    pub fn push(&mut self, input: &[u8]) -> (usize, Option<Result<Frame<'_>, FrameError>>) {
        let mut used = 0;
        while used < input.len() {
            let need = self.needed();
            if need > self.buffer.len() {
                let len = u32::from_le_bytes(self.buffer[1..5].try_into().expect("4 bytes"));
                self.filled = 0;
                return (used, Some(Err(FrameError::TooLong(len))));
            }
            let take = (need - self.filled).min(input.len() - used);
            self.buffer[self.filled..self.filled + take].copy_from_slice(&input[used..used + take]);
            self.filled += take;
            used += take;
            if self.filled == self.needed() && self.filled >= HEADER + TRAILER {
                let total = self.filled;
                self.filled = 0;
                let body = total - TRAILER;
                let crc = u32::from_le_bytes(self.buffer[body..total].try_into().expect("4 bytes"));
                if crc != crc32(&self.buffer[..body]) {
                    return (used, Some(Err(FrameError::BadCrc)));
                }
                return (used, Some(Ok((self.buffer[0], &self.buffer[HEADER..body]))));
            }
        }
        (used, None)
    }

    /// Whether part of a frame is waiting for the rest.
    pub fn in_frame(&self) -> bool {
        self.filled > 0
    }

    /// Drops a partial frame. On a serial line, where no connection ends when a sender
    /// vanishes mid-frame, a silence is the point to start over.
    pub fn discard(&mut self) {
        self.filled = 0;
    }

    /// Bytes the current frame needs in all (the header first).
    fn needed(&self) -> usize {
        if self.filled < HEADER {
            return HEADER;
        }
        let len = u32::from_le_bytes(self.buffer[1..5].try_into().expect("4 bytes")) as usize;
        HEADER.saturating_add(len).saturating_add(TRAILER)
    }
}

/// Appends a frame to `out`.
pub fn encode_frame(kind: u8, payload: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    out.push(kind);
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(payload);
    let crc = update(0, &out[start..]);
    out.extend_from_slice(&crc.to_le_bytes());
}

impl<'a> Request<'a> {
    /// Decodes a frame's kind and payload.
    pub fn decode(kind: u8, payload: &'a [u8]) -> Result<Self, FrameError> {
        let empty = |r| if payload.is_empty() { Ok(r) } else { Err(FrameError::Malformed) };
        match kind {
            kind::GET_INFO => empty(Request::GetInfo),
            kind::GET_VERSION_REPORT => empty(Request::GetVersionReport),
            kind::START_CYCLE => {
                Ok(Request::StartCycle(u64::from_le_bytes(payload.try_into().map_err(|_| FrameError::Malformed)?)))
            }
            kind::GET_ROOT_VERSIONS => empty(Request::GetRootVersions),
            kind::PUT_ROOT => Ok(Request::PutRoot(payload)),
            kind::PUT_TARGETS => Ok(Request::PutTargets(payload)),
            kind::PUT_TIME => Ok(Request::PutTime(payload)),
            kind::BEGIN_IMAGE => empty(Request::BeginImage),
            kind::IMAGE_CHUNK => Ok(Request::ImageChunk(payload)),
            kind::ACTIVATE => empty(Request::Activate),
            kind::CONFIRM => empty(Request::Confirm),
            kind::PUT_IMAGE_ROOT => Ok(Request::PutImageRoot(payload)),
            kind::PUT_IMAGE_TIMESTAMP => Ok(Request::PutImageTimestamp(payload)),
            kind::PUT_IMAGE_SNAPSHOT => Ok(Request::PutImageSnapshot(payload)),
            kind::PUT_IMAGE_TARGETS => Ok(Request::PutImageTargets(payload)),
            kind::PUT_CHUNK_INDEX => Ok(Request::PutChunkIndex(payload)),
            kind::DECOMMISSION => Ok(Request::Decommission(payload)),
            kind::PUT_OFFLINE => {
                let (len, rest) = payload.split_first_chunk::<4>().ok_or(FrameError::Malformed)?;
                let len = usize::try_from(u32::from_le_bytes(*len)).map_err(|_| FrameError::Malformed)?;
                let (snapshot, targets) = rest.split_at_checked(len).ok_or(FrameError::Malformed)?;
                Ok(Request::PutOffline { snapshot, targets })
            }
            kind::PUT_IMAGE_DELEGATION => {
                let (len, rest) = payload.split_first_chunk::<2>().ok_or(FrameError::Malformed)?;
                let (role, bytes) =
                    rest.split_at_checked(usize::from(u16::from_le_bytes(*len))).ok_or(FrameError::Malformed)?;
                let role = core::str::from_utf8(role).map_err(|_| FrameError::Malformed)?;
                Ok(Request::PutImageDelegation { role, bytes })
            }
            _ => Err(FrameError::Malformed),
        }
    }

    /// Appends the request's frame to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let (k, payload): (u8, &[u8]) = match self {
            Request::GetInfo => (kind::GET_INFO, &[]),
            Request::GetVersionReport => (kind::GET_VERSION_REPORT, &[]),
            Request::StartCycle(t) => return encode_frame(kind::START_CYCLE, &t.to_le_bytes(), out),
            Request::GetRootVersions => (kind::GET_ROOT_VERSIONS, &[]),
            Request::PutRoot(b) => (kind::PUT_ROOT, b),
            Request::PutTargets(b) => (kind::PUT_TARGETS, b),
            Request::BeginImage => (kind::BEGIN_IMAGE, &[]),
            Request::ImageChunk(b) => (kind::IMAGE_CHUNK, b),
            Request::Activate => (kind::ACTIVATE, &[]),
            Request::Confirm => (kind::CONFIRM, &[]),
            Request::PutImageRoot(b) => (kind::PUT_IMAGE_ROOT, b),
            Request::PutImageTimestamp(b) => (kind::PUT_IMAGE_TIMESTAMP, b),
            Request::PutImageSnapshot(b) => (kind::PUT_IMAGE_SNAPSHOT, b),
            Request::PutImageTargets(b) => (kind::PUT_IMAGE_TARGETS, b),
            Request::PutTime(b) => (kind::PUT_TIME, b),
            Request::PutChunkIndex(b) => (kind::PUT_CHUNK_INDEX, b),
            Request::Decommission(b) => (kind::DECOMMISSION, b),
            Request::PutOffline { snapshot, targets } => {
                let mut payload = Vec::with_capacity(4 + snapshot.len() + targets.len());
                payload.extend_from_slice(&(snapshot.len() as u32).to_le_bytes());
                payload.extend_from_slice(snapshot);
                payload.extend_from_slice(targets);
                return encode_frame(kind::PUT_OFFLINE, &payload, out);
            }
            Request::PutImageDelegation { role, bytes } => {
                let mut payload = Vec::with_capacity(2 + role.len() + bytes.len());
                payload.extend_from_slice(&(role.len().min(u16::MAX as usize) as u16).to_le_bytes());
                payload.extend_from_slice(role.as_bytes());
                payload.extend_from_slice(bytes);
                return encode_frame(kind::PUT_IMAGE_DELEGATION, &payload, out);
            }
        };
        encode_frame(k, payload, out)
    }
}

impl Response {
    /// Appends the response's frame to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Response::Ok => encode_frame(kind::OK, &[], out),
            Response::Refused(code) => encode_frame(kind::REFUSED, &code.0.to_le_bytes(), out),
            Response::Info(b) => encode_frame(kind::INFO, b, out),
            Response::VersionReport(b) => encode_frame(kind::VERSION_REPORT, b, out),
            Response::Assigned(None) => encode_frame(kind::ASSIGNED, &[], out),
            Response::Assigned(Some(len)) => encode_frame(kind::ASSIGNED, &len.to_le_bytes(), out),
            Response::Resetting => encode_frame(kind::RESETTING, &[], out),
            Response::ContinueFrom(offset) => encode_frame(kind::CONTINUE_FROM, &offset.to_le_bytes(), out),
            Response::Decommissioned => encode_frame(kind::DECOMMISSIONED, &[], out),
            Response::RootVersions { director, images } => {
                let mut payload = [0u8; 8];
                payload[..4].copy_from_slice(&director.to_le_bytes());
                payload[4..].copy_from_slice(&images.to_le_bytes());
                encode_frame(kind::ROOT_VERSIONS, &payload, out)
            }
        }
    }

    /// Decodes a frame's kind and payload.
    pub fn decode(kind: u8, payload: &[u8]) -> Result<Self, FrameError> {
        let word = |p: &[u8]| p.try_into().map(u32::from_le_bytes).map_err(|_| FrameError::Malformed);
        match kind {
            kind::OK if payload.is_empty() => Ok(Response::Ok),
            kind::REFUSED => Ok(Response::Refused(AttackCode(word(payload)?))),
            kind::INFO => Ok(Response::Info(payload.to_vec())),
            kind::VERSION_REPORT => Ok(Response::VersionReport(payload.to_vec())),
            kind::ASSIGNED if payload.is_empty() => Ok(Response::Assigned(None)),
            kind::ASSIGNED => Ok(Response::Assigned(Some(word(payload)?))),
            kind::RESETTING if payload.is_empty() => Ok(Response::Resetting),
            kind::CONTINUE_FROM => Ok(Response::ContinueFrom(word(payload)?)),
            kind::DECOMMISSIONED if payload.is_empty() => Ok(Response::Decommissioned),
            kind::ROOT_VERSIONS if payload.len() == 8 => {
                Ok(Response::RootVersions { director: word(&payload[..4])?, images: word(&payload[4..])? })
            }
            _ => Err(FrameError::Malformed),
        }
    }
}

/// Serves one request. `scratch` holds stored metadata while it is checked again (at
/// least the longest metadata). After [`Response::Resetting`] the caller resets the MCU.
pub fn serve<F: NorFlash, K: EcuKey, S: Store<F>>(
    secondary: &mut Secondary<F, K, S>,
    request: Request<'_>,
    scratch: &mut [u8],
) -> Response {
    let refused = |e: UpdateError<F::Error>| {
        let code = e.attack_code();
        // A refusal that is no attack (a flash fault, a message out of order) still
        // needs a non-zero answer: report it as incomplete.
        Response::Refused(if code == AttackCode::NONE { AttackCode::INCOMPLETE } else { code })
    };
    let done = |r: Result<(), UpdateError<F::Error>>| r.map_or_else(refused, |()| Response::Ok);
    if secondary.is_decommissioned() && request != Request::GetInfo {
        return Response::Decommissioned;
    }
    match request {
        Request::GetInfo => Response::Info(secondary.info()),
        Request::GetVersionReport => secondary.version_report().map_or_else(refused, Response::VersionReport),
        Request::StartCycle(now) => done(secondary.start_cycle(now, scratch)),
        Request::PutTime(bytes) => done(secondary.put_time(bytes, scratch)),
        Request::GetRootVersions => secondary
            .root_versions()
            .map_or_else(refused, |(director, images)| Response::RootVersions { director, images }),
        Request::PutRoot(bytes) => done(secondary.put_root(bytes, scratch)),
        Request::PutTargets(bytes) => match secondary.put_targets(bytes, scratch) {
            Ok(assigned) => Response::Assigned(assigned.map(|a| a.info.length)),
            Err(e) => refused(e),
        },
        Request::PutOffline { snapshot, targets } => match secondary.put_offline(snapshot, targets) {
            Ok(assigned) => Response::Assigned(assigned.map(|a| a.info.length)),
            Err(e) => refused(e),
        },
        Request::BeginImage => match secondary.begin_image() {
            Ok(0) => Response::Ok,
            Ok(from) => Response::ContinueFrom(from),
            Err(e) => refused(e),
        },
        Request::ImageChunk(bytes) => done(secondary.put_chunk(bytes)),
        Request::Activate => secondary.activate().map_or_else(refused, |()| Response::Resetting),
        Request::Confirm => done(secondary.confirm()),
        Request::PutImageRoot(bytes) => done(secondary.put_image_root(bytes, scratch)),
        Request::PutImageTimestamp(bytes) => done(secondary.put_image_timestamp(bytes, scratch)),
        Request::PutImageSnapshot(bytes) => done(secondary.put_image_snapshot(bytes, scratch)),
        Request::PutImageTargets(bytes) => done(secondary.put_image_targets(bytes, scratch)),
        Request::PutImageDelegation { role, bytes } => done(secondary.put_image_delegation(role, bytes)),
        Request::PutChunkIndex(bytes) => done(secondary.put_chunk_index(bytes)),
        Request::Decommission(bytes) => secondary.decommission(bytes).map_or_else(refused, Response::VersionReport),
    }
}
