//! Where bytes come from. A transport only opens streams; [`fetch_limited`] is the one
//! place that enforces length limits, so no transport can forget them.

mod file;
mod http;
mod rate;

use std::fmt;
use std::io::Read;

pub use file::DirectoryTransport;
pub use http::HttpTransport;
pub use rate::{MinimumRate, RateWindow, TooSlow};

/// A source of files by URL: HTTP(S), a directory on a USB stick, a CAN gateway...
pub trait Transport {
    /// Opens `url` for reading. A missing file is [`TransportError::NotFound`].
    fn open(&self, url: &str) -> Result<Box<dyn Read + Send + '_>, TransportError>;

    /// Opens `url` from byte `offset` to resume a download: the stream and the offset it
    /// really starts at, which is 0 where the source cannot skip ahead.
    fn open_from(&self, url: &str, offset: u64) -> Result<(Box<dyn Read + Send + '_>, u64), TransportError> {
        let _ = offset;
        Ok((self.open(url)?, 0))
    }
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn open(&self, url: &str) -> Result<Box<dyn Read + Send + '_>, TransportError> {
        (**self).open(url)
    }

    fn open_from(&self, url: &str, offset: u64) -> Result<(Box<dyn Read + Send + '_>, u64), TransportError> {
        (**self).open_from(url, offset)
    }
}

/// Why a fetch failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum TransportError {
    /// The server or medium does not have the file (HTTP 404 or 403).
    NotFound,
    /// More bytes than allowed (endless data); reading stopped.
    TooLong {
        /// The most bytes allowed.
        limit: u64,
    },
    /// An HTTP status other than success or not-found.
    Status(u16),
    /// Connection, TLS, timeout or read failure.
    Network(String),
    /// A resumed download's range was answered with other bytes than asked for.
    BadRange(String),
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransportError::NotFound => f.write_str("not found"),
            TransportError::TooLong { limit } => {
                write!(f, "more than {limit} bytes (endless data): stopped reading")
            }
            TransportError::Status(code) => write!(f, "HTTP status {code}"),
            TransportError::Network(why) => write!(f, "{why}"),
            TransportError::BadRange(answer) => write!(f, "a resumed download was answered with {answer}"),
        }
    }
}

impl std::error::Error for TransportError {}

/// Fetches `url`, reading at most `max_length` bytes: one byte more and the fetch
/// stops with [`TransportError::TooLong`].
pub fn fetch_limited(transport: &dyn Transport, url: &str, max_length: u64) -> Result<Vec<u8>, TransportError> {
    // Reserving the limit costs no memory until written (pages are touched lazily) and
    // spares a growing buffer's copies, which for large files doubled the peak.
    let mut out = Vec::with_capacity(usize::try_from(max_length).unwrap_or(usize::MAX).min(1 << 30));
    stream_limited(transport, url, max_length, &mut |chunk| {
        out.extend_from_slice(chunk);
        Ok(())
    })?;
    Ok(out)
}

/// Streams `url` in chunks into `sink`, at most `max_length` bytes in all. A sink
/// error ends the stream and is returned as is.
pub fn stream_limited(
    transport: &dyn Transport,
    url: &str,
    max_length: u64,
    sink: &mut dyn FnMut(&[u8]) -> Result<(), TransportError>,
) -> Result<u64, TransportError> {
    read_limited(transport.open(url)?, 0, max_length, sink)
}

/// Streams `reader`, whose first byte is byte `start` of a file of at most `max_length`
/// bytes, into `sink`: the file's length so far when the stream ends.
pub fn read_limited(
    reader: Box<dyn Read + Send + '_>,
    start: u64,
    max_length: u64,
    sink: &mut dyn FnMut(&[u8]) -> Result<(), TransportError>,
) -> Result<u64, TransportError> {
    if start > max_length {
        return Err(TransportError::TooLong { limit: max_length });
    }
    // One byte past the limit is enough to know the limit was broken.
    let mut reader = reader.take(max_length - start + 1);
    let mut buffer = vec![0u8; 64 * 1024];
    let mut total = start;
    loop {
        let n = match reader.read(&mut buffer) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(TransportError::Network(e.to_string())),
        };
        total += n as u64;
        if total > max_length {
            return Err(TransportError::TooLong { limit: max_length });
        }
        sink(&buffer[..n])?;
    }
}
