//! A hardware id's support period, published by the image repository as a signed target
//! (`lifecycle/<hardware_id>.json`, OpenEoX-style fields) and referenced from each image
//! target's `custom.lifecycle`, so every client (full or partial verification) can tell
//! its users how long security updates come: supported, ending (at most
//! [`ENDING_DAYS`] left) or ended.

use alloc::string::String;

use crate::decode::{Decode, Encode, ObjectBuilder, UnknownFields, as_object, optional, required};
use crate::error::DecodeError;
use crate::json::Value;
use crate::{TargetPath, UtcTime};

use super::HardwareId;

/// Under this many days of security support left, a hardware id's support is ending.
pub const ENDING_DAYS: i64 = 180;

/// The content of a lifecycle target: one hardware id's support period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LifecycleRecord {
    /// The hardware it covers.
    pub hardware_identifier: HardwareId,
    /// This record's version (a new one replaces the old).
    pub version: u64,
    /// When the product became available.
    pub general_availability: Option<UtcTime>,
    /// When it stops being sold.
    pub end_of_sales: Option<UtcTime>,
    /// When security updates stop: the support period the CRA has declared.
    pub end_of_security_support: UtcTime,
    /// When it is no longer supported at all.
    pub end_of_life: Option<UtcTime>,
    /// Where users read about it.
    pub notice_url: Option<String>,
    /// No further release comes (the final metadata set).
    pub final_release: Option<bool>,
    /// Fields this crate does not define.
    pub unknown: UnknownFields,
}

const RECORD_FIELDS: [&str; 8] = [
    "hardware_identifier",
    "version",
    "general_availability",
    "end_of_sales",
    "end_of_security_support",
    "end_of_life",
    "notice_url",
    "final_release",
];

impl Decode for LifecycleRecord {
    fn decode(value: &Value<'_>) -> Result<Self, DecodeError> {
        let object = as_object(value)?;
        Ok(LifecycleRecord {
            hardware_identifier: required(object, "hardware_identifier")?,
            version: required(object, "version")?,
            general_availability: optional(object, "general_availability")?,
            end_of_sales: optional(object, "end_of_sales")?,
            end_of_security_support: required(object, "end_of_security_support")?,
            end_of_life: optional(object, "end_of_life")?,
            notice_url: optional(object, "notice_url")?,
            final_release: optional(object, "final_release")?,
            unknown: UnknownFields::collect(object, &RECORD_FIELDS),
        })
    }
}

impl Encode for LifecycleRecord {
    fn encode(&self) -> Value<'_> {
        ObjectBuilder::new()
            .field("hardware_identifier", self.hardware_identifier.encode())
            .field("version", self.version.encode())
            .optional("general_availability", &self.general_availability)
            .optional("end_of_sales", &self.end_of_sales)
            .field("end_of_security_support", self.end_of_security_support.encode())
            .optional("end_of_life", &self.end_of_life)
            .optional("notice_url", &self.notice_url)
            .optional("final_release", &self.final_release)
            .finish(&self.unknown)
    }
}

/// An image target's `custom.lifecycle`: the record that covers it and the date it
/// declares, so a client that has not fetched the record still knows the date.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LifecycleRef {
    /// The lifecycle target's path.
    pub record: TargetPath,
    /// Its `end_of_security_support`.
    pub end_of_security_support: UtcTime,
    /// Its `final_release`: no further release comes for this hardware.
    pub final_release: Option<bool>,
    /// Fields this crate does not define.
    pub unknown: UnknownFields,
}

impl Decode for LifecycleRef {
    fn decode(value: &Value<'_>) -> Result<Self, DecodeError> {
        let object = as_object(value)?;
        Ok(LifecycleRef {
            record: required(object, "record")?,
            end_of_security_support: required(object, "end_of_security_support")?,
            final_release: optional(object, "final_release")?,
            unknown: UnknownFields::collect(object, &["record", "end_of_security_support", "final_release"]),
        })
    }
}

impl LifecycleRef {
    /// The reference director targets carry for `hardware_id` (top-level
    /// `custom.lifecycle`, copied by the director from the image repository), if any.
    pub fn in_director_targets(targets: &crate::Targets, hardware_id: &HardwareId) -> Option<LifecycleRef> {
        let map = targets.custom()?.as_object()?.get("lifecycle")?.as_object()?;
        LifecycleRef::decode(map.get(hardware_id.as_str())?).ok()
    }

    /// Whether the record says no further release comes.
    pub fn is_final(&self) -> bool {
        self.final_release == Some(true)
    }
}

impl Encode for LifecycleRef {
    fn encode(&self) -> Value<'_> {
        ObjectBuilder::new()
            .field("record", self.record.encode())
            .field("end_of_security_support", self.end_of_security_support.encode())
            .optional("final_release", &self.final_release)
            .finish(&self.unknown)
    }
}

/// Where a hardware id's security support stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SupportState {
    /// More than [`ENDING_DAYS`] left.
    Supported,
    /// Ending: this many whole days left (at most [`ENDING_DAYS`]).
    Ending {
        /// Whole days left.
        days_left: i64,
    },
    /// Past its end: no further security update comes.
    Ended,
}

impl SupportState {
    /// Its name, as reports and `--json` outputs carry it.
    pub fn as_str(self) -> &'static str {
        match self {
            SupportState::Supported => "supported",
            SupportState::Ending { .. } => "ending",
            SupportState::Ended => "ended",
        }
    }
}

/// Where support that ends at `end` (Unix seconds) stands at `now` (Unix seconds).
pub fn support_state(end: i64, now: i64) -> SupportState {
    if now >= end {
        return SupportState::Ended;
    }
    let days_left = (end - now) / 86_400;
    if days_left < ENDING_DAYS { SupportState::Ending { days_left } } else { SupportState::Supported }
}

/// Whether a new record moves the end of security support earlier than the one before
/// (accepted, since it is signed, but users must be warned).
pub fn moved_earlier(before: &LifecycleRecord, after: &LifecycleRecord) -> bool {
    after.end_of_security_support.time() < before.end_of_security_support.time()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;

    #[test]
    fn support_is_ending_within_its_last_180_days_and_ended_from_its_end() {
        let end = 1_000 * DAY;
        assert_eq!(support_state(end, end - 181 * DAY), SupportState::Supported);
        assert_eq!(support_state(end, end - 180 * DAY), SupportState::Supported, "exactly 180 days left");
        assert_eq!(support_state(end, end - 180 * DAY + 1), SupportState::Ending { days_left: 179 });
        assert_eq!(support_state(end, end - 1), SupportState::Ending { days_left: 0 });
        assert_eq!(support_state(end, end), SupportState::Ended);
        assert_eq!(support_state(end, end + 10 * DAY), SupportState::Ended);
        for now in (0..2_000).map(|d| d * DAY / 2) {
            let state = support_state(end, now);
            assert_eq!(state == SupportState::Ended, now >= end, "{now}");
        }
    }

    #[test]
    fn a_record_round_trips_through_its_json_and_keeps_unknown_fields() {
        let text = br#"{"end_of_life":"2033-12-31T00:00:00Z","end_of_security_support":"2031-12-31T00:00:00Z","hardware_identifier":"brake-hw","notice_url":"https://example.com/eol","version":2,"x-vendor":1}"#;
        let value = crate::json::parse(text).unwrap();
        let record = LifecycleRecord::decode(&value).unwrap();
        assert_eq!(record.hardware_identifier.as_str(), "brake-hw");
        assert_eq!(record.version, 2);
        assert_eq!(record.final_release, None);
        assert_eq!(crate::json::to_canonical(&record.encode()), text.to_vec());
        let missing = crate::json::parse(br#"{"hardware_identifier":"brake-hw","version":1}"#).unwrap();
        let error = alloc::format!("{}", LifecycleRecord::decode(&missing).unwrap_err());
        assert!(error.contains("end_of_security_support"), "{error}");
    }

    #[test]
    fn a_date_moved_earlier_is_told_apart_from_one_moved_later() {
        let record = |end: &str| LifecycleRecord {
            hardware_identifier: HardwareId::new("brake-hw").unwrap(),
            version: 1,
            general_availability: None,
            end_of_sales: None,
            end_of_security_support: UtcTime::parse(end).unwrap(),
            end_of_life: None,
            notice_url: None,
            final_release: None,
            unknown: UnknownFields::default(),
        };
        let (early, late) = (record("2030-01-01T00:00:00Z"), record("2031-01-01T00:00:00Z"));
        assert!(moved_earlier(&late, &early));
        assert!(!moved_earlier(&early, &late));
        assert!(!moved_earlier(&early, &early));
    }
}
