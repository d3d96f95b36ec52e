//! A repository in a local directory (a USB stick, a mounted image), addressed by
//! `file://` URLs or plain paths.

use std::fs::File;
use std::io::Read;
use std::path::PathBuf;

use super::{Transport, TransportError};

/// Reads files from the local file system.
#[derive(Clone, Copy, Debug, Default)]
pub struct DirectoryTransport;

impl Transport for DirectoryTransport {
    fn open(&self, url: &str) -> Result<Box<dyn Read + Send + '_>, TransportError> {
        let path = PathBuf::from(url.strip_prefix("file://").unwrap_or(url));
        match File::open(&path) {
            Ok(file) => Ok(Box::new(file)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(TransportError::NotFound),
            Err(e) => Err(TransportError::Network(format!("{}: {e}", path.display()))),
        }
    }
}
