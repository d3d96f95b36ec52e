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
        let path = url.strip_prefix("file://").unwrap_or(url);
        // The name as given first: python-tuf stores role files under their
        // percent-encoded names. Then decoded, as a web server maps a URL to a file
        // (target paths with spaces or non-ASCII characters).
        match open(PathBuf::from(path)) {
            Err(TransportError::NotFound) => match percent_decode(path) {
                Some(decoded) if decoded != path => open(PathBuf::from(decoded)),
                _ => Err(TransportError::NotFound),
            },
            other => other,
        }
    }

    fn open_from(&self, url: &str, offset: u64) -> Result<(Box<dyn Read + Send + '_>, u64), TransportError> {
        let mut reader = self.open(url)?;
        // Skipping by reading keeps one code path for both name forms; local reads are cheap.
        let skipped = std::io::copy(&mut (&mut reader).take(offset), &mut std::io::sink())
            .map_err(|e| TransportError::Network(format!("{url}: {e}")))?;
        if skipped < offset {
            return Err(TransportError::Network(format!("{url}: shorter than the {offset} bytes already received")));
        }
        Ok((reader, offset))
    }
}

fn open(path: PathBuf) -> Result<Box<dyn Read + Send>, TransportError> {
    match File::open(&path) {
        Ok(file) => Ok(Box::new(file)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(TransportError::NotFound),
        Err(e) => Err(TransportError::Network(format!("{}: {e}", path.display()))),
    }
}

/// `%XX` escapes decoded; `None` if the result is not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn escapes_are_decoded() {
        assert_eq!(percent_decode("a%20b/gr%C3%BC%C3%9Fe.txt").as_deref(), Some("a b/grüße.txt"));
        assert_eq!(percent_decode("100%").as_deref(), Some("100%"));
        assert_eq!(percent_decode("%FF"), None);
    }
}
