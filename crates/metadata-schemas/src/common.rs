//! Field types shared by the roles: versions, thresholds, expiry, names, paths, hashes.
//! Each is parsed once into a type that cannot hold an invalid value.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::num::NonZeroU64;

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};

use crate::decode::{
    Decode, Encode, MapKey, ObjectBuilder, UnknownFields, as_object, as_str, optional, required,
};
use crate::error::{DecodeError, DecodeErrorKind};
use crate::hex;
use crate::json::Value;

/// A metadata version: an integer of at least 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(NonZeroU64);

impl Version {
    /// Version 1.
    pub const ONE: Version = Version(NonZeroU64::MIN);

    /// `n` as a version, if it is at least 1.
    pub fn new(n: u64) -> Option<Self> {
        NonZeroU64::new(n).map(Version)
    }

    /// The number.
    pub fn get(self) -> u64 {
        self.0.get()
    }

    /// The next version, if it does not overflow.
    pub fn next(self) -> Option<Self> {
        self.0.checked_add(1).map(Version)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Decode for Version {
    fn decode(value: &Value<'_>) -> Result<Self, DecodeError> {
        Version::new(positive(value)?).ok_or_else(|| out_of_range("1 to 2^64-1"))
    }
}

impl Encode for Version {
    fn encode(&self) -> Value<'_> {
        Value::unsigned(self.get())
    }
}

/// An integer meant to be at least 1: a wrong type stays a type error.
fn positive(value: &Value<'_>) -> Result<u64, DecodeError> {
    u64::decode(value).map_err(|e| match e.kind {
        DecodeErrorKind::OutOfRange { .. } => out_of_range("1 to 2^64-1"),
        _ => e,
    })
}

fn out_of_range(allowed: &'static str) -> DecodeError {
    DecodeError::new(DecodeErrorKind::OutOfRange { allowed })
}

/// How many distinct keys must sign: at least 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Threshold(NonZeroU64);

impl Threshold {
    /// `n` as a threshold, if it is at least 1.
    pub fn new(n: u64) -> Option<Self> {
        NonZeroU64::new(n).map(Threshold)
    }

    /// The number.
    pub fn get(self) -> u64 {
        self.0.get()
    }
}

impl Decode for Threshold {
    fn decode(value: &Value<'_>) -> Result<Self, DecodeError> {
        Threshold::new(positive(value)?).ok_or_else(|| out_of_range("1 to 2^64-1"))
    }
}

impl Encode for Threshold {
    fn encode(&self) -> Value<'_> {
        Value::unsigned(self.get())
    }
}

/// A time in UTC, written `YYYY-MM-DDTHH:MM:SSZ` as the specification requires (expiry
/// of metadata, the latest time an ECU trusts).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UtcTime(DateTime<Utc>);

impl UtcTime {
    /// An expiry at `time`, truncated to whole seconds (the format has no fractions).
    pub fn new(time: DateTime<Utc>) -> Self {
        UtcTime(time.with_nanosecond(0).unwrap_or(time))
    }

    /// The time.
    pub fn time(&self) -> DateTime<Utc> {
        self.0
    }

    /// Whether metadata with this expiry is expired at `now` (TUF: expired once
    /// `now` reaches the expiry).
    pub fn is_expired_at(&self, now: DateTime<Utc>) -> bool {
        now >= self.0
    }

    /// Parses exactly `YYYY-MM-DDTHH:MM:SSZ`.
    pub fn parse(text: &str) -> Option<Self> {
        let b = text.as_bytes();
        if b.len() != 20
            || b[4] != b'-'
            || b[7] != b'-'
            || b[10] != b'T'
            || b[13] != b':'
            || b[16] != b':'
            || b[19] != b'Z'
        {
            return None;
        }
        let num = |range: core::ops::Range<usize>| -> Option<u32> {
            b[range].iter().try_fold(0u32, |acc, &d| {
                d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0'))
            })
        };
        let year = i32::try_from(num(0..4)?).ok()?;
        let date = NaiveDate::from_ymd_opt(year, num(5..7)?, num(8..10)?)?;
        let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if year == 0 || second > 59 {
            return None; // Python's datetime has neither year 0 nor leap seconds.
        }
        Some(UtcTime(date.and_hms_opt(hour, minute, second)?.and_utc()))
    }
}

impl fmt::Display for UtcTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.0;
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            t.year(),
            t.month(),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        )
    }
}

impl Decode for UtcTime {
    fn decode(value: &Value<'_>) -> Result<Self, DecodeError> {
        UtcTime::parse(as_str(value)?)
            .ok_or_else(|| DecodeError::invalid("not a UTC time of the form YYYY-MM-DDTHH:MM:SSZ"))
    }
}

impl Encode for UtcTime {
    fn encode(&self) -> Value<'_> {
        Value::String(Cow::Owned(alloc::format!("{self}")))
    }
}

/// The `spec_version` of a document: `1.x` or `1.x.y` (major version 1 only).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SpecVersion(String);

impl SpecVersion {
    /// The version this crate writes.
    pub fn current() -> Self {
        SpecVersion(String::from("1.0.31"))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Decode for SpecVersion {
    fn decode(value: &Value<'_>) -> Result<Self, DecodeError> {
        let text = as_str(value)?;
        let parts: Vec<&str> = text.split('.').collect();
        let numeric = parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        if !(2..=3).contains(&parts.len()) || !numeric {
            return Err(DecodeError::invalid(
                "spec_version is not of the form MAJOR.MINOR[.PATCH]",
            ));
        }
        if parts[0] != "1" {
            return Err(DecodeError::invalid(
                "unsupported spec_version: only major version 1 is supported",
            ));
        }
        Ok(SpecVersion(String::from(text)))
    }
}

impl Encode for SpecVersion {
    fn encode(&self) -> Value<'_> {
        Value::string(self.0.as_str())
    }
}

macro_rules! string_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl core::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl Decode for $name {
            fn decode(value: &Value<'_>) -> Result<Self, DecodeError> {
                <$name as MapKey>::from_key(as_str(value)?)
            }
        }

        impl Encode for $name {
            fn encode(&self) -> Value<'_> {
                Value::string(self.0.as_str())
            }
        }
    };
}

string_newtype!(
    /// A key id: in TUF, the hex SHA-256 of the key's canonical JSON, but any string is
    /// accepted (python-tuf does not check it); identity comes from the key itself.
    KeyId
);

impl KeyId {
    /// A key id from text.
    pub fn new(text: impl Into<String>) -> Self {
        KeyId(text.into())
    }

    /// The first 8 characters, for messages ("9f3c1a2b..").
    pub fn short(&self) -> &str {
        let end = self
            .0
            .char_indices()
            .nth(8)
            .map_or(self.0.len(), |(i, _)| i);
        &self.0[..end]
    }
}

impl MapKey for KeyId {
    fn from_key(key: &str) -> Result<Self, DecodeError> {
        Ok(KeyId(String::from(key)))
    }
    fn as_key(&self) -> &str {
        &self.0
    }
}

string_newtype!(
    /// A role name: a top-level role or a delegated role; never empty.
    RoleName
);

impl RoleName {
    /// The root role.
    pub fn root() -> Self {
        RoleName(String::from("root"))
    }
    /// The top-level targets role.
    pub fn targets() -> Self {
        RoleName(String::from("targets"))
    }
    /// The snapshot role.
    pub fn snapshot() -> Self {
        RoleName(String::from("snapshot"))
    }
    /// The timestamp role.
    pub fn timestamp() -> Self {
        RoleName(String::from("timestamp"))
    }

    /// A role name from text, if it is not empty.
    pub fn new(text: impl Into<String>) -> Option<Self> {
        let text = text.into();
        (!text.is_empty()).then_some(RoleName(text))
    }

    /// Whether this names one of the four top-level roles.
    pub fn is_top_level(&self) -> bool {
        matches!(
            self.0.as_str(),
            "root" | "targets" | "snapshot" | "timestamp"
        )
    }

    /// The file name of this role's metadata (`<name>.json`), with the name
    /// percent-encoded so that it can never leave the metadata directory.
    pub fn file_name(&self) -> String {
        let mut out = percent_encode(&self.0);
        out.push_str(".json");
        out
    }

    /// The consistent-snapshot file name `<version>.<name>.json`.
    pub fn versioned_file_name(&self, version: Version) -> String {
        alloc::format!("{version}.{}", self.file_name())
    }
}

impl MapKey for RoleName {
    fn from_key(key: &str) -> Result<Self, DecodeError> {
        RoleName::new(key).ok_or_else(|| DecodeError::invalid("role name is empty"))
    }
    fn as_key(&self) -> &str {
        &self.0
    }
}

/// Percent-encodes every byte except `A-Z a-z 0-9 _ . - ~`, so that the result is one
/// safe path segment.
pub fn percent_encode(text: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(text.len());
    for &b in text.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
    out
}

string_newtype!(
    /// A target path: a URL path relative to the targets base URL, as listed in targets
    /// metadata. Any string is a valid entry; [`TargetPath::file_path_segments`] checks
    /// it before it becomes a file name.
    TargetPath
);

/// Why a target path cannot be used as a relative file path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnsafePath {
    /// The path is empty.
    Empty,
    /// The path starts with `/`.
    Absolute,
    /// A segment is `..` or `.`.
    DotSegment,
    /// Two slashes in a row, or a trailing slash.
    EmptySegment,
    /// A backslash, NUL or other control character.
    ForbiddenCharacter,
}

impl fmt::Display for UnsafePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UnsafePath::Empty => "the path is empty",
            UnsafePath::Absolute => "the path is absolute",
            UnsafePath::DotSegment => "the path has a '.' or '..' segment",
            UnsafePath::EmptySegment => "the path has an empty segment",
            UnsafePath::ForbiddenCharacter => "the path has a backslash or control character",
        })
    }
}

impl TargetPath {
    /// A target path from text.
    pub fn new(text: impl Into<String>) -> Self {
        TargetPath(text.into())
    }

    /// The `/`-separated segments of this path if it is safe to join under a directory:
    /// relative, with no `..`, `.` or empty segment, and no backslash or control character.
    pub fn file_path_segments(&self) -> Result<Vec<&str>, UnsafePath> {
        if self.0.is_empty() {
            return Err(UnsafePath::Empty);
        }
        if self.0.starts_with('/') {
            return Err(UnsafePath::Absolute);
        }
        if self.0.chars().any(|c| c == '\\' || c.is_control()) {
            return Err(UnsafePath::ForbiddenCharacter);
        }
        let segments: Vec<&str> = self.0.split('/').collect();
        if segments.iter().any(|s| s.is_empty()) {
            return Err(UnsafePath::EmptySegment);
        }
        if segments.iter().any(|s| *s == ".." || *s == ".") {
            return Err(UnsafePath::DotSegment);
        }
        Ok(segments)
    }

    /// The consistent-snapshot URL path `<dirname>/<hexdigest>.<basename>`.
    pub fn hash_prefixed(&self, digest_hex: &str) -> String {
        match self.0.rsplit_once('/') {
            Some((dir, base)) => alloc::format!("{dir}/{digest_hex}.{base}"),
            None => alloc::format!("{digest_hex}.{}", self.0),
        }
    }
}

impl From<&str> for TargetPath {
    fn from(text: &str) -> Self {
        TargetPath(String::from(text))
    }
}

impl From<String> for TargetPath {
    fn from(text: String) -> Self {
        TargetPath(text)
    }
}

impl MapKey for TargetPath {
    fn from_key(key: &str) -> Result<Self, DecodeError> {
        Ok(TargetPath(String::from(key)))
    }
    fn as_key(&self) -> &str {
        &self.0
    }
}

/// A hash algorithm this crate can compute.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HashAlgorithm {
    /// SHA-256
    Sha256,
    /// SHA-512
    Sha512,
}

impl HashAlgorithm {
    /// The name used in metadata.
    pub fn name(self) -> &'static str {
        match self {
            HashAlgorithm::Sha256 => "sha256",
            HashAlgorithm::Sha512 => "sha512",
        }
    }
}

/// A digest of a known algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Digest {
    /// A SHA-256 digest.
    Sha256([u8; 32]),
    /// A SHA-512 digest.
    Sha512([u8; 64]),
}

impl Digest {
    /// The algorithm.
    pub fn algorithm(&self) -> HashAlgorithm {
        match self {
            Digest::Sha256(_) => HashAlgorithm::Sha256,
            Digest::Sha512(_) => HashAlgorithm::Sha512,
        }
    }

    /// The digest bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Digest::Sha256(d) => d,
            Digest::Sha512(d) => d,
        }
    }

    /// The digest in lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.as_bytes())
    }
}

/// The `hashes` of a file: at least one entry. Digests of known algorithms are parsed;
/// others are kept as text, and cannot be checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hashes {
    known: Vec<Digest>,
    unknown: Vec<(String, String)>,
}

impl Hashes {
    /// Hashes from known digests; `None` if the list is empty or repeats an algorithm.
    pub fn new(digests: Vec<Digest>) -> Option<Self> {
        let mut algorithms: Vec<HashAlgorithm> = digests.iter().map(Digest::algorithm).collect();
        algorithms.sort();
        algorithms.dedup();
        (!digests.is_empty() && algorithms.len() == digests.len()).then_some(Hashes {
            known: digests,
            unknown: Vec::new(),
        })
    }

    /// Digests of the algorithms this crate computes.
    pub fn known(&self) -> &[Digest] {
        &self.known
    }

    /// Names of the algorithms listed that this crate cannot compute.
    pub fn unknown_algorithms(&self) -> impl Iterator<Item = &str> {
        self.unknown.iter().map(|(name, _)| name.as_str())
    }

    /// The digest for `algorithm`, if listed.
    pub fn get(&self, algorithm: HashAlgorithm) -> Option<&Digest> {
        self.known.iter().find(|d| d.algorithm() == algorithm)
    }

    /// The digest used in consistent-snapshot target names: the first listed in
    /// key order, as python-tuf takes it.
    pub fn first_hex(&self) -> String {
        let first_known = self
            .known
            .iter()
            .map(|d| (d.algorithm().name(), d.to_hex()));
        let first_unknown = self.unknown.iter().map(|(a, v)| (a.as_str(), v.clone()));
        first_known
            .chain(first_unknown)
            .min_by(|a, b| a.0.cmp(b.0))
            .map(|(_, hex)| hex)
            .unwrap_or_default()
    }
}

impl Decode for Hashes {
    fn decode(value: &Value<'_>) -> Result<Self, DecodeError> {
        let object = as_object(value)?;
        if object.is_empty() {
            return Err(DecodeError::invalid("hashes must list at least one digest"));
        }
        let mut hashes = Hashes {
            known: Vec::new(),
            unknown: Vec::new(),
        };
        for (name, digest) in object.iter() {
            let text = as_str(digest).map_err(|e| e.in_field(name))?;
            let bad = || {
                DecodeError::invalid("digest is not lowercase hex of the algorithm's length")
                    .in_field(name)
            };
            match name {
                "sha256" => hashes.known.push(Digest::Sha256(
                    hex::decode_lower_array(text).ok_or_else(bad)?,
                )),
                "sha512" => hashes.known.push(Digest::Sha512(
                    hex::decode_lower_array(text).ok_or_else(bad)?,
                )),
                other => hashes
                    .unknown
                    .push((String::from(other), String::from(text))),
            }
        }
        Ok(hashes)
    }
}

impl Encode for Hashes {
    fn encode(&self) -> Value<'_> {
        let known = self.known.iter().map(|d| {
            (
                Cow::Borrowed(d.algorithm().name()),
                Value::String(Cow::Owned(d.to_hex())),
            )
        });
        let unknown = self
            .unknown
            .iter()
            .map(|(a, v)| (Cow::Borrowed(a.as_str()), Value::string(v.as_str())));
        Value::Object(known.chain(unknown).collect())
    }
}

/// A file listed in timestamp or snapshot metadata: version, and optionally length
/// and hashes of the metadata file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetaFile {
    /// Version of the listed metadata.
    pub version: Version,
    /// Length of the file in bytes, if given.
    pub length: Option<u64>,
    /// Hashes of the file, if given.
    pub hashes: Option<Hashes>,
    /// Fields this crate does not define.
    pub unknown: UnknownFields,
}

impl MetaFile {
    /// A listing by version only.
    pub fn new(version: Version) -> Self {
        MetaFile {
            version,
            length: None,
            hashes: None,
            unknown: UnknownFields::default(),
        }
    }
}

impl Decode for MetaFile {
    fn decode(value: &Value<'_>) -> Result<Self, DecodeError> {
        let object = as_object(value)?;
        Ok(MetaFile {
            version: required(object, "version")?,
            length: optional(object, "length")?,
            hashes: optional(object, "hashes")?,
            unknown: UnknownFields::collect(object, &["version", "length", "hashes"]),
        })
    }
}

impl Encode for MetaFile {
    fn encode(&self) -> Value<'_> {
        ObjectBuilder::new()
            .field("version", self.version.encode())
            .optional("length", &self.length)
            .optional("hashes", &self.hashes)
            .finish(&self.unknown)
    }
}

/// The four kinds of TUF metadata.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MetadataType {
    /// root
    Root,
    /// targets (top-level or delegated)
    Targets,
    /// snapshot
    Snapshot,
    /// timestamp
    Timestamp,
}

impl MetadataType {
    /// The `_type` value.
    pub fn name(self) -> &'static str {
        match self {
            MetadataType::Root => "root",
            MetadataType::Targets => "targets",
            MetadataType::Snapshot => "snapshot",
            MetadataType::Timestamp => "timestamp",
        }
    }
}

/// The fields every role's `signed` object has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommonFields {
    /// The specification version the document follows.
    pub spec_version: SpecVersion,
    /// The document's version.
    pub version: Version,
    /// When the document stops being trusted.
    pub expires: UtcTime,
}

impl CommonFields {
    /// Field names, for collecting unknown fields.
    pub const NAMES: [&'static str; 4] = ["_type", "spec_version", "version", "expires"];

    /// Fields of a new document.
    pub fn new(version: Version, expires: UtcTime) -> Self {
        CommonFields {
            spec_version: SpecVersion::current(),
            version,
            expires,
        }
    }

    /// Checks `_type` and reads the common fields of a `signed` object.
    pub fn decode(
        object: &crate::json::Object<'_>,
        kind: MetadataType,
    ) -> Result<Self, DecodeError> {
        let found: String = required(object, "_type")?;
        if found != kind.name() {
            return Err(DecodeError::new(DecodeErrorKind::WrongMetadataType {
                expected: kind.name(),
                found,
            })
            .in_field("_type"));
        }
        Ok(CommonFields {
            spec_version: required(object, "spec_version")?,
            version: required(object, "version")?,
            expires: required(object, "expires")?,
        })
    }

    /// The members of a `signed` object that are neither common fields nor in `specific`.
    pub fn unknown_fields(object: &crate::json::Object<'_>, specific: &[&str]) -> UnknownFields {
        let mut unknown = UnknownFields::collect(object, specific);
        for name in Self::NAMES {
            unknown.0.remove(name);
        }
        unknown
    }

    /// Starts the `signed` object of a document of `kind`.
    pub fn encode(&self, kind: MetadataType) -> ObjectBuilder<'_> {
        ObjectBuilder::new()
            .field("_type", Value::string(kind.name()))
            .field("spec_version", self.spec_version.encode())
            .field("version", self.version.encode())
            .field("expires", self.expires.encode())
    }
}

/// Declares a non-empty string identifier type with JSON encoding.
#[macro_export]
#[doc(hidden)]
macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(alloc::string::String);

        impl $name {
            /// An identifier from text, if it is not empty.
            pub fn new(text: impl Into<alloc::string::String>) -> Option<Self> {
                let text = text.into();
                (!text.is_empty()).then_some($name(text))
            }

            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl core::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl $crate::decode::MapKey for $name {
            fn from_key(key: &str) -> Result<Self, $crate::error::DecodeError> {
                $name::new(key).ok_or_else(|| $crate::error::DecodeError::invalid("identifier is empty"))
            }
            fn as_key(&self) -> &str {
                &self.0
            }
        }

        impl $crate::decode::Decode for $name {
            fn decode(value: &$crate::json::Value<'_>) -> Result<Self, $crate::error::DecodeError> {
                <$name as $crate::decode::MapKey>::from_key($crate::decode::as_str(value)?)
            }
        }

        impl $crate::decode::Encode for $name {
            fn encode(&self) -> $crate::json::Value<'_> {
                $crate::json::Value::string(self.0.as_str())
            }
        }
    };
}

/// What the four role types share, for code that handles any of them.
pub trait RoleMetadata: Decode + Encode {
    /// The `_type` of this role.
    const TYPE: MetadataType;

    /// Version, expiry and spec version.
    fn common(&self) -> &CommonFields;
}

macro_rules! role_metadata {
    ($t:ty, $kind:expr) => {
        impl RoleMetadata for $t {
            const TYPE: MetadataType = $kind;
            fn common(&self) -> &CommonFields {
                &self.common
            }
        }
    };
}

role_metadata!(crate::root::Root, MetadataType::Root);
role_metadata!(crate::targets::Targets, MetadataType::Targets);
role_metadata!(crate::snapshot::Snapshot, MetadataType::Snapshot);
role_metadata!(crate::timestamp::Timestamp, MetadataType::Timestamp);
