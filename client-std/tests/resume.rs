//! Resumed downloads (`download_target_resuming`): kept bytes are hashed again, only the
//! rest is asked for, and nothing that fails verification is kept or renamed into place.

use std::io::Read;
use std::sync::Mutex;

use client_std::download::{download_target_resuming, partial_file_name};
use client_std::{DirectoryTransport, Error, Transport, TransportError};
use metadata_schemas::{Digest, Hashes, RoleName, TargetFile, TargetPath};
use update_verifier::TargetInfo;

const CONTENT_LENGTH: usize = 100_000;

fn content() -> Vec<u8> {
    (0..CONTENT_LENGTH).map(|i| (i * 7 % 251) as u8).collect()
}

fn info(bytes: &[u8]) -> TargetInfo {
    let digest = Digest::Sha256(threshold_keys::digest::sha256(bytes));
    TargetInfo {
        path: TargetPath::new("ecu/fw.bin"),
        file: TargetFile::new(bytes.len() as u64, Hashes::new(vec![digest]).unwrap()),
        role: RoleName::targets(),
    }
}

/// Serves `bytes` from any offset, failing after `cut_after` bytes of a response; logs
/// each request's offset.
struct FlakyNetwork {
    bytes: Vec<u8>,
    cut_after: Mutex<Option<usize>>,
    honours_ranges: bool,
    offsets: Mutex<Vec<u64>>,
}

struct CutReader {
    bytes: std::io::Cursor<Vec<u8>>,
    left: Option<usize>,
}

impl Read for CutReader {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let want = match self.left {
            Some(0) => return Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "connection reset")),
            Some(left) => buffer.len().min(left),
            None => buffer.len(),
        };
        let n = self.bytes.read(&mut buffer[..want])?;
        if let Some(left) = &mut self.left {
            *left -= n;
        }
        Ok(n)
    }
}

impl Transport for FlakyNetwork {
    fn open(&self, url: &str) -> Result<Box<dyn Read + Send + '_>, TransportError> {
        Ok(self.open_from(url, 0)?.0)
    }

    fn open_from(&self, _: &str, offset: u64) -> Result<(Box<dyn Read + Send + '_>, u64), TransportError> {
        self.offsets.lock().unwrap().push(offset);
        let start = if self.honours_ranges { offset } else { 0 };
        let bytes = self.bytes[start as usize..].to_vec();
        let left = self.cut_after.lock().unwrap().take();
        Ok((Box::new(CutReader { bytes: std::io::Cursor::new(bytes), left }), start))
    }
}

fn network(bytes: Vec<u8>, cut_after: Option<usize>, honours_ranges: bool) -> FlakyNetwork {
    FlakyNetwork { bytes, cut_after: Mutex::new(cut_after), honours_ranges, offsets: Mutex::new(Vec::new()) }
}

fn download(transport: &dyn Transport, info: &TargetInfo, dir: &std::path::Path) -> Result<std::path::PathBuf, Error> {
    download_target_resuming(transport, "http://repo/targets/", false, info, dir, &mut |_| {})
}

#[test]
fn an_interrupted_download_resumes_from_the_bytes_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, info) = (content(), info(&content()));
    let net = network(bytes.clone(), Some(40_000), true);
    let first = download(&net, &info, dir.path());
    assert!(matches!(first, Err(Error::Transport { .. })), "{first:?}");
    assert_eq!(std::fs::read(dir.path().join(partial_file_name(&info))).unwrap(), &bytes[..40_000]);
    assert!(!dir.path().join("ecu%2Ffw.bin").exists(), "nothing under the final name");
    let mut seen = Vec::new();
    let path = download_target_resuming(&net, "http://repo/targets/", false, &info, dir.path(), &mut |n| seen.push(n))
        .unwrap();
    assert_eq!(std::fs::read(path).unwrap(), bytes);
    assert_eq!(*net.offsets.lock().unwrap(), [0, 40_000]);
    assert_eq!(seen.first(), Some(&40_000), "progress starts at the bytes kept");
    assert!(!dir.path().join(partial_file_name(&info)).exists());
}

#[test]
fn altered_kept_bytes_fail_the_hash_are_thrown_away_and_the_next_download_starts_over() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, info) = (content(), info(&content()));
    let mut altered = bytes[..30_000].to_vec();
    altered[10] ^= 1;
    std::fs::write(dir.path().join(partial_file_name(&info)), &altered).unwrap();
    let net = network(bytes.clone(), None, true);
    let error = download(&net, &info, dir.path()).unwrap_err();
    assert!(error.to_string().contains("hash"), "{error}");
    assert!(!dir.path().join(partial_file_name(&info)).exists(), "altered bytes are not kept");
    assert!(!dir.path().join("ecu%2Ffw.bin").exists());
    let path = download(&net, &info, dir.path()).unwrap();
    assert_eq!(std::fs::read(path).unwrap(), bytes);
    assert_eq!(*net.offsets.lock().unwrap(), [30_000, 0]);
}

#[test]
fn a_kept_file_longer_than_the_target_starts_over() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, info) = (content(), info(&content()));
    std::fs::write(dir.path().join(partial_file_name(&info)), vec![0u8; CONTENT_LENGTH + 1]).unwrap();
    let net = network(bytes.clone(), None, true);
    assert_eq!(std::fs::read(download(&net, &info, dir.path()).unwrap()).unwrap(), bytes);
    assert_eq!(*net.offsets.lock().unwrap(), [0]);
}

#[test]
fn a_source_that_ignores_ranges_is_read_from_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, info) = (content(), info(&content()));
    std::fs::write(dir.path().join(partial_file_name(&info)), &bytes[..50_000]).unwrap();
    let net = network(bytes.clone(), None, false);
    assert_eq!(std::fs::read(download(&net, &info, dir.path()).unwrap()).unwrap(), bytes);
}

#[test]
fn endless_data_on_resumption_is_refused_and_not_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, info) = (content(), info(&content()));
    std::fs::write(dir.path().join(partial_file_name(&info)), &bytes[..50_000]).unwrap();
    let mut longer = bytes.clone();
    longer.extend_from_slice(&[0; 1000]);
    let error = download(&network(longer, None, true), &info, dir.path()).unwrap_err();
    assert!(error.to_string().contains("endless data"), "{error}");
    assert!(!dir.path().join(partial_file_name(&info)).exists());
}

#[test]
fn a_local_directory_resumes_too() {
    let dir = tempfile::tempdir().unwrap();
    let repo = tempfile::tempdir().unwrap();
    let (bytes, info) = (content(), info(&content()));
    std::fs::create_dir_all(repo.path().join("ecu")).unwrap();
    std::fs::write(repo.path().join("ecu/fw.bin"), &bytes).unwrap();
    std::fs::write(dir.path().join(partial_file_name(&info)), &bytes[..12_345]).unwrap();
    let base = format!("{}/", repo.path().display());
    let path = download_target_resuming(&DirectoryTransport, &base, false, &info, dir.path(), &mut |_| {}).unwrap();
    assert_eq!(std::fs::read(path).unwrap(), bytes);
}
