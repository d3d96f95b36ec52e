//! Target files: streamed into a temporary file beside the destination, hashed as they
//! arrive, renamed into place only when the length and every listed hash match. A
//! failed download leaves nothing behind and never touches an existing file.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use metadata_schemas::percent_encode;
use update_verifier::TargetInfo;

use crate::Error;
use crate::metadata_dir::{readable_by_all, sync_dir};
use crate::transport::{Transport, TransportError, read_limited};

/// The stable local file name of a target: its percent-encoded path, one segment.
pub fn local_file_name(info: &TargetInfo) -> String {
    percent_encode(info.path.as_str())
}

/// The path of `info` under `dir` if a file there has the listed length and hashes.
pub fn find_cached_target(info: &TargetInfo, dir: &Path) -> Result<Option<PathBuf>, Error> {
    let path = dir.join(local_file_name(info));
    let file = match File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path, e)),
    };
    let length = file.metadata().map_err(|e| Error::io(&path, e))?.len();
    if length != info.file.length {
        return Ok(None);
    }
    let mut verifier = info.verifier()?;
    let mut reader = BufReader::with_capacity(256 * 1024, file);
    let mut buffer = vec![0u8; 256 * 1024];
    loop {
        let n = reader.read(&mut buffer).map_err(|e| Error::io(&path, e))?;
        if n == 0 {
            break;
        }
        if verifier.update(&buffer[..n]).is_err() {
            return Ok(None);
        }
    }
    Ok(verifier.finish().is_ok().then_some(path))
}

/// Characters kept as they are in a URL path: RFC 3986 unreserved, sub-delims, `:@/`.
fn url_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for &b in path.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Downloads and verifies `info` into `dir`; `progress` sees the bytes received so far.
pub fn download_target(
    transport: &dyn Transport,
    targets_base_url: &str,
    consistent_snapshot: bool,
    info: &TargetInfo,
    dir: &Path,
    progress: &mut dyn FnMut(u64),
) -> Result<PathBuf, Error> {
    let url = format!("{targets_base_url}{}", url_path(&info.url_path(consistent_snapshot)));
    let destination = dir.join(local_file_name(info));
    let mut temp = tempfile::Builder::new()
        .prefix(".download-")
        .permissions(readable_by_all())
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, e))?;
    let mut verifier = info.verifier()?;
    let reader = transport.open(&url).map_err(|source| Error::Transport { url: url.clone(), source })?;
    // Dropping `temp` on any early return deletes the partial file.
    let temp_path = temp.path().to_path_buf();
    stream_verified(reader, 0, info, &mut verifier, temp.as_file_mut(), progress)
        .map_err(|f| f.into_error(info, &url, &temp_path))?;
    verifier.finish()?;
    temp.as_file().sync_all().map_err(|e| Error::io(temp.path(), e))?;
    temp.persist(&destination).map_err(|e| Error::io(&destination, e.error))?;
    sync_dir(dir)?;
    Ok(destination)
}

/// Why streaming a target into a file stopped short.
enum StreamFailure {
    /// The bytes broke the listed length or a hash.
    Verification(update_verifier::Error),
    /// More bytes than listed (endless data).
    TooLong,
    /// The file could not be written.
    Write(std::io::Error),
    /// The source failed.
    Transport(TransportError),
}

impl StreamFailure {
    fn into_error(self, info: &TargetInfo, url: &str, file: &Path) -> Error {
        match self {
            StreamFailure::Verification(e) => e.into(),
            StreamFailure::TooLong => {
                update_verifier::Error::TargetTooLong { path: info.path.clone(), length: info.file.length }.into()
            }
            StreamFailure::Write(e) => Error::io(file, e),
            StreamFailure::Transport(source) => Error::Transport { url: url.to_string(), source },
        }
    }
}

/// Streams `reader` (the target from byte `start`) through `verifier` into `out`, with
/// the one length-limit wrapper; `progress` sees the bytes held so far.
fn stream_verified(
    reader: Box<dyn Read + Send + '_>,
    start: u64,
    info: &TargetInfo,
    verifier: &mut update_verifier::TargetVerifier,
    out: &mut File,
    progress: &mut dyn FnMut(u64),
) -> Result<(), StreamFailure> {
    let mut failure = None;
    let mut held = start;
    let result = read_limited(reader, start, info.file.length, &mut |chunk| {
        if let Err(e) = verifier.update(chunk) {
            failure = Some(StreamFailure::Verification(e));
            return Err(TransportError::TooLong { limit: info.file.length });
        }
        if let Err(e) = out.write_all(chunk) {
            failure = Some(StreamFailure::Write(e));
            return Err(TransportError::Network("write failed".into()));
        }
        held += chunk.len() as u64;
        progress(held);
        Ok(())
    });
    match (failure, result) {
        (Some(failure), _) => Err(failure),
        (None, Ok(_)) => Ok(()),
        (None, Err(TransportError::TooLong { .. })) => Err(StreamFailure::TooLong),
        (None, Err(e)) => Err(StreamFailure::Transport(e)),
    }
}

/// The file an interrupted resumable download of `info` keeps its bytes in.
pub fn partial_file_name(info: &TargetInfo) -> String {
    format!(".partial-{}", local_file_name(info))
}

/// Like [`download_target`], but an interruption keeps the bytes received so far in
/// [`partial_file_name`] and the next call asks only for the rest (an HTTP range). The
/// kept bytes are hashed again on resumption, nothing is renamed into place before the
/// whole file matches, and bytes that fail verification are thrown away, so a bad partial
/// file costs one more download and never installs.
pub fn download_target_resuming(
    transport: &dyn Transport,
    targets_base_url: &str,
    consistent_snapshot: bool,
    info: &TargetInfo,
    dir: &Path,
    progress: &mut dyn FnMut(u64),
) -> Result<PathBuf, Error> {
    let url = format!("{targets_base_url}{}", url_path(&info.url_path(consistent_snapshot)));
    let partial_path = dir.join(partial_file_name(info));
    let discard = |e: Error| {
        let _ = std::fs::remove_file(&partial_path);
        e
    };
    let mut partial = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&partial_path)
        .map_err(|e| Error::io(&partial_path, e))?;
    partial.set_permissions(readable_by_all()).map_err(|e| Error::io(&partial_path, e))?;
    let (mut verifier, kept) = rehash_kept_bytes(info, &mut partial, &partial_path)?;
    let (reader, start) = match transport.open_from(&url, kept) {
        Ok(opened) => opened,
        Err(source @ TransportError::BadRange(_)) => return Err(discard(Error::Transport { url, source })),
        Err(source) => return Err(Error::Transport { url, source }),
    };
    if start != kept {
        // The source starts over: so do we.
        verifier = info.verifier()?;
        partial.set_len(0).map_err(|e| Error::io(&partial_path, e))?;
    }
    partial.seek(SeekFrom::Start(start)).map_err(|e| Error::io(&partial_path, e))?;
    progress(start);
    match stream_verified(reader, start, info, &mut verifier, &mut partial, progress) {
        Ok(()) => {}
        Err(failure @ StreamFailure::Transport(_)) => {
            // Kept for the next attempt; durable so a power cut does not lose it either.
            let _ = partial.sync_data();
            return Err(failure.into_error(info, &url, &partial_path));
        }
        Err(failure @ StreamFailure::Write(_)) => return Err(failure.into_error(info, &url, &partial_path)),
        Err(failure) => return Err(discard(failure.into_error(info, &url, &partial_path))),
    }
    verifier.finish().map_err(|e| discard(e.into()))?;
    partial.sync_all().map_err(|e| Error::io(&partial_path, e))?;
    drop(partial);
    let destination = dir.join(local_file_name(info));
    std::fs::rename(&partial_path, &destination).map_err(|e| Error::io(&destination, e))?;
    sync_dir(dir)?;
    Ok(destination)
}

/// Feeds the bytes a partial file already holds to a fresh verifier: the verifier and
/// the count kept. Bytes beyond the listed length are cut off.
fn rehash_kept_bytes(
    info: &TargetInfo,
    partial: &mut File,
    path: &Path,
) -> Result<(update_verifier::TargetVerifier, u64), Error> {
    let io = |e| Error::io(path, e);
    let length = partial.metadata().map_err(io)?.len();
    if length > info.file.length {
        partial.set_len(0).map_err(io)?;
        return Ok((info.verifier()?, 0));
    }
    let mut verifier = info.verifier()?;
    partial.seek(SeekFrom::Start(0)).map_err(io)?;
    let mut buffer = vec![0u8; 256 * 1024];
    let mut kept = 0u64;
    loop {
        let n = partial.read(&mut buffer).map_err(io)?;
        if n == 0 {
            return Ok((verifier, kept));
        }
        verifier.update(&buffer[..n])?;
        kept += n as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::url_path;

    #[test]
    fn url_paths_keep_slashes_and_escape_the_rest() {
        assert_eq!(url_path("dir/abc.file-1_2~x.tar.gz"), "dir/abc.file-1_2~x.tar.gz");
        assert_eq!(url_path("a b/grüße?#%.txt"), "a%20b/gr%C3%BC%C3%9Fe%3F%23%25.txt");
    }
}
