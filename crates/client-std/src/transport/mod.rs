//! Where bytes come from. A transport only opens streams; [`fetch_limited`] is the one
//! place that enforces length limits, so no transport can forget them.

mod file;
mod http;

use std::fmt;
use std::io::Read;

pub use file::DirectoryTransport;
pub use http::HttpTransport;

/// A source of files by URL: HTTP(S), a directory on a USB stick, a CAN gateway...
pub trait Transport {
    /// Opens `url` for reading. A missing file is [`TransportError::NotFound`].
    fn open(&self, url: &str) -> Result<Box<dyn Read + Send + '_>, TransportError>;
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn open(&self, url: &str) -> Result<Box<dyn Read + Send + '_>, TransportError> {
        (**self).open(url)
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
    let reader = transport.open(url)?;
    // One byte past the limit is enough to know the limit was broken.
    let mut reader = reader.take(max_length.saturating_add(1));
    let mut buffer = vec![0u8; 64 * 1024];
    let mut total = 0u64;
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
