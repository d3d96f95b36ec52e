//! Field types shared by the roles: versions, thresholds, times, spec versions, and
//! the fields every `signed` object has. Each is parsed once into a type that cannot
//! hold an invalid value.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::num::NonZeroU64;

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};

use crate::decode::{Decode, Encode, ObjectBuilder, UnknownFields, as_str, required};
use crate::error::{DecodeError, DecodeErrorKind};
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
            b[range].iter().try_fold(0u32, |acc, &d| d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0')))
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
        let numeric = parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        if !(2..=3).contains(&parts.len()) || !numeric {
            return Err(DecodeError::invalid("spec_version is not of the form MAJOR.MINOR[.PATCH]"));
        }
        if parts[0] != "1" {
            return Err(DecodeError::invalid("unsupported spec_version: only major version 1 is supported"));
        }
        Ok(SpecVersion(String::from(text)))
    }
}

impl Encode for SpecVersion {
    fn encode(&self) -> Value<'_> {
        Value::string(self.0.as_str())
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
        CommonFields { spec_version: SpecVersion::current(), version, expires }
    }

    /// Checks `_type` and reads the common fields of a `signed` object.
    pub fn decode(object: &crate::json::Object<'_>, kind: MetadataType) -> Result<Self, DecodeError> {
        let found: String = required(object, "_type")?;
        if found != kind.name() {
            return Err(
                DecodeError::new(DecodeErrorKind::WrongMetadataType { expected: kind.name(), found }).in_field("_type")
            );
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
