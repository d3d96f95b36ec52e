//! A target found in trusted metadata, and the streaming check of its content
//! (TUF 5.7.3): every listed hash of a known algorithm, and the exact length, with the
//! download stopped as soon as it runs past the listed length.

use alloc::string::String;
use alloc::vec::Vec;

use metadata_schemas::{Digest, RoleName, TargetFile, TargetPath};
use threshold_keys::digest::Hasher;

use crate::Error;

/// A target as listed by the role that vouches for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetInfo {
    /// The target path.
    pub path: TargetPath,
    /// Length, hashes and custom data.
    pub file: TargetFile,
    /// The targets role that lists it.
    pub role: RoleName,
}

impl TargetInfo {
    /// The path to append to the targets base URL: `<dir>/<hash>.<name>` with consistent
    /// snapshots (the first listed hash, as python-tuf picks it), the path itself otherwise.
    pub fn url_path(&self, consistent_snapshot: bool) -> String {
        if consistent_snapshot {
            self.path.hash_prefixed(&self.file.hashes.first_hex())
        } else {
            String::from(self.path.as_str())
        }
    }

    /// A verifier for the content of this target.
    pub fn verifier(&self) -> Result<TargetVerifier, Error> {
        TargetVerifier::new(&self.path, &self.file)
    }
}

/// Checks target content as it streams in.
#[derive(Clone)]
pub struct TargetVerifier {
    path: TargetPath,
    length: u64,
    received: u64,
    hashers: Vec<(Digest, Hasher)>,
}

impl core::fmt::Debug for TargetVerifier {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TargetVerifier").field("path", &self.path).field("received", &self.received).finish()
    }
}

impl TargetVerifier {
    /// A verifier for `file`; refused when no listed hash uses a known algorithm.
    pub fn new(path: &TargetPath, file: &TargetFile) -> Result<Self, Error> {
        let hashers: Vec<(Digest, Hasher)> =
            file.hashes.known().iter().map(|d| (*d, Hasher::new(d.algorithm()))).collect();
        if hashers.is_empty() {
            return Err(Error::NoKnownHash { path: path.clone() });
        }
        Ok(TargetVerifier { path: path.clone(), length: file.length, received: 0, hashers })
    }

    /// The most bytes that may still arrive.
    pub fn remaining(&self) -> u64 {
        self.length - self.received
    }

    /// Bytes received so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Adds a chunk; fails at once when it goes past the listed length.
    pub fn update(&mut self, chunk: &[u8]) -> Result<(), Error> {
        if chunk.len() as u64 > self.remaining() {
            return Err(Error::TargetTooLong { path: self.path.clone(), length: self.length });
        }
        self.received += chunk.len() as u64;
        for (_, hasher) in &mut self.hashers {
            hasher.update(chunk);
        }
        Ok(())
    }

    /// Checks the length and every known hash.
    pub fn finish(self) -> Result<(), Error> {
        if self.received != self.length {
            return Err(Error::TargetTooShort { path: self.path, length: self.length, received: self.received });
        }
        for (expected, hasher) in self.hashers {
            if hasher.finish() != expected {
                return Err(Error::TargetHashMismatch { path: self.path, algorithm: expected.algorithm() });
            }
        }
        Ok(())
    }
}
