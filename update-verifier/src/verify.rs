//! The one path from bytes to verified metadata: parse, canonicalize `signed` as
//! received, check the threshold, then decode the typed role from the same value.

use metadata_schemas::json::ParseOptions;
use metadata_schemas::{Envelope, MetaFile, RoleMetadata, RoleName};
use threshold_keys::{RoleAuthority, check_threshold, digest};

use crate::{Authority, Error, Limits};

/// A parsed envelope with its canonical `signed` bytes.
pub(crate) struct Parsed<'a> {
    pub(crate) envelope: Envelope<'a>,
    pub(crate) canonical: alloc::vec::Vec<u8>,
}

/// Parses `bytes` as metadata for `role`, refusing more than `max_length` bytes.
pub(crate) fn parse<'a>(
    bytes: &'a [u8],
    role: &RoleName,
    max_length: u64,
    limits: &Limits,
) -> Result<Parsed<'a>, Error> {
    if bytes.len() as u64 > max_length {
        return Err(Error::TooLong { role: role.clone(), limit: max_length });
    }
    let options = ParseOptions { max_depth: limits.max_json_depth };
    let envelope =
        Envelope::parse_with(bytes, options).map_err(|source| Error::Malformed { role: role.clone(), source })?;
    let canonical = envelope.canonical_signed();
    Ok(Parsed { envelope, canonical })
}

impl Parsed<'_> {
    /// Checks that a threshold of `authority`'s keys signed; `signer` names whose keys
    /// they are, for the error.
    pub(crate) fn check_signatures(
        &self,
        role: &RoleName,
        signer: Authority,
        authority: RoleAuthority<'_>,
    ) -> Result<(), Error> {
        let report = check_threshold(authority, &self.envelope.signatures, &self.canonical);
        if report.is_met() {
            Ok(())
        } else {
            Err(Error::Unsigned { role: role.clone(), authority: signer, report: alloc::boxed::Box::new(report) })
        }
    }

    /// Decodes the typed role, dropping the canonical bytes first (they can be as large
    /// as the file). Call only after the signatures were checked.
    pub(crate) fn into_decoded<T: RoleMetadata>(self, role: &RoleName) -> Result<T, Error> {
        drop(self.canonical);
        self.envelope.into_decoded().map_err(|e| Error::Malformed { role: role.clone(), source: e.into() })
    }

    /// Decodes the typed role, keeping the canonical bytes for another signature check.
    pub(crate) fn decode<T: RoleMetadata>(&self, role: &RoleName) -> Result<T, Error> {
        self.envelope.decode_signed().map_err(|e| Error::Malformed { role: role.clone(), source: e.into() })
    }
}

/// The most bytes to accept for a file listed by `meta` (its length, when given).
pub(crate) fn max_length(meta: &MetaFile, default: u64) -> u64 {
    meta.length.unwrap_or(default)
}

/// Checks `bytes` against the length and hashes that `meta` lists, if any
/// (TUF 5.5.2, 5.6.2: safe before signatures, since `meta` is already trusted).
pub(crate) fn check_listed_length_and_hashes(role: &RoleName, meta: &MetaFile, bytes: &[u8]) -> Result<(), Error> {
    if let Some(expected) = meta.length {
        if bytes.len() as u64 != expected {
            return Err(Error::LengthMismatch { role: role.clone(), expected, found: bytes.len() as u64 });
        }
    }
    if let Some(hashes) = &meta.hashes {
        for listed in hashes.known() {
            if digest::digest(listed.algorithm(), bytes) != *listed {
                return Err(Error::HashMismatch { role: role.clone(), algorithm: listed.algorithm() });
            }
        }
    }
    Ok(())
}
