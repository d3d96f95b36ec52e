//! Offline updates (USB stick, SD card, serial): the Uptane PURE-2 layout with our
//! extensions. The director's online metadata is replaced by an offline snapshot and
//! offline targets, signed by the offline keys the director root names in
//! `x-offline-updates`; the image repository's metadata and the images travel with them.
//!
//! Offline targets list images by hardware, not by ECU (a bundle serves a fleet): each
//! target's `custom` is the image repository's (`hardware_identifiers`,
//! `release_counter`). The top-level `custom` says when the bundle was issued, which
//! vehicles and ECUs may take it, and in which order hardware installs.

use alloc::string::String;
use alloc::vec::Vec;

use crate::UtcTime;
use crate::decode::{Decode, Encode, ObjectBuilder, UnknownFields, as_object, optional, required};
use crate::error::{DecodeError, DecodeErrorKind};
use crate::json::Value;
use crate::root::{RoleKeys, Root};
use crate::targets::Targets;

use super::{EcuSerial, HardwareId, Vin};

/// The director root field naming the offline keys and their threshold.
pub const OFFLINE_ROLE_FIELD: &str = "x-offline-updates";

/// The field of a vehicle manifest's `custom` that carries the journal of offline installs.
pub const OFFLINE_INSTALLS_FIELD: &str = "offline_installs";

/// One offline install, as the primary reports it in its next signed manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfflineInstall {
    /// The ECU.
    pub ecu: EcuSerial,
    /// The image's target path (empty when the bundle was refused for this ECU).
    pub image: String,
    /// The bundle's name.
    pub bundle: String,
    /// Its offline targets version.
    pub bundle_version: u64,
    /// When.
    pub at: UtcTime,
    /// `None` when it was installed (it starts as a trial), else why it failed.
    pub failure: Option<String>,
    /// Fields this crate does not define.
    pub unknown: UnknownFields,
}

const INSTALL_FIELDS: [&str; 7] = ["ecu", "image", "bundle", "bundle_version", "at", "result", "reason"];

impl Decode for OfflineInstall {
    fn decode(value: &Value<'_>) -> Result<Self, DecodeError> {
        let object = as_object(value)?;
        let result: String = required(object, "result")?;
        let failure = match result.as_str() {
            "installing" => None,
            "failed" => Some(optional(object, "reason")?.unwrap_or_default()),
            _ => return Err(DecodeError::invalid("result is installing or failed").in_field("result")),
        };
        Ok(OfflineInstall {
            ecu: required(object, "ecu")?,
            image: required(object, "image")?,
            bundle: required(object, "bundle")?,
            bundle_version: required(object, "bundle_version")?,
            at: required(object, "at")?,
            failure,
            unknown: UnknownFields::collect(object, &INSTALL_FIELDS),
        })
    }
}

impl Encode for OfflineInstall {
    fn encode(&self) -> Value<'_> {
        let result = if self.failure.is_some() { "failed" } else { "installing" };
        ObjectBuilder::new()
            .field("ecu", self.ecu.encode())
            .field("image", self.image.encode())
            .field("bundle", self.bundle.encode())
            .field("bundle_version", self.bundle_version.encode())
            .field("at", self.at.encode())
            .field("result", Value::string(result))
            .optional("reason", &self.failure)
            .finish(&self.unknown)
    }
}

/// Where each part of a bundle lives, relative to its directory.
pub mod bundle_paths {
    /// The offline snapshot.
    pub const OFFLINE_SNAPSHOT: &str = "offline/snapshot.json";
    /// The offline targets.
    pub const OFFLINE_TARGETS: &str = "offline/targets.json";
    /// Director root versions (`<N>.root.json`), so a device that trusts an older one
    /// can follow the rotations.
    pub const DIRECTOR: &str = "director";
    /// The image repository's metadata: roots by version, timestamp, snapshot, targets
    /// and delegated roles by name.
    pub const IMAGE_REPOSITORY: &str = "image";
    /// The images, by target path.
    pub const TARGETS: &str = "targets";
}

/// The offline keys and threshold the director root names, if it takes offline updates.
pub fn offline_role(root: &Root) -> Result<Option<RoleKeys>, DecodeError> {
    root.unknown
        .get(OFFLINE_ROLE_FIELD)
        .map(|value| RoleKeys::decode(value).map_err(|e| e.in_field(OFFLINE_ROLE_FIELD)))
        .transpose()
}

/// The top-level `custom` of offline targets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfflineCustom {
    /// The bundle's name, for reports and the director's view.
    pub name: String,
    /// When it was issued: a device raises its time floor to this once it accepts it.
    pub issued: UtcTime,
    /// Only these vehicles may install it (any, when absent).
    pub allowed_vins: Option<Vec<Vin>>,
    /// Only these ECUs may install it (any, when absent).
    pub allowed_ecu_identifiers: Option<Vec<EcuSerial>>,
    /// Hardware in the order it installs; hardware not named goes last.
    pub install_order: Vec<HardwareId>,
    /// Fields this crate does not define.
    pub unknown: UnknownFields,
}

const CUSTOM_FIELDS: [&str; 5] = ["name", "issued", "allowed_vins", "allowed_ecu_identifiers", "install_order"];

impl OfflineCustom {
    /// Reads the top-level `custom` of offline targets.
    pub fn from_targets(targets: &Targets) -> Result<Self, DecodeError> {
        match targets.custom() {
            Some(custom) => Self::decode(custom).map_err(|e| e.in_field("custom")),
            None => Err(DecodeError::new(DecodeErrorKind::Missing).in_field("custom")),
        }
    }

    /// Whether `vin` may install the bundle.
    pub fn allows_vehicle(&self, vin: &Vin) -> bool {
        self.allowed_vins.as_ref().is_none_or(|vins| vins.contains(vin))
    }

    /// Whether the ECU `serial` may install the bundle.
    pub fn allows_ecu(&self, serial: &EcuSerial) -> bool {
        self.allowed_ecu_identifiers.as_ref().is_none_or(|ecus| ecus.contains(serial))
    }

    /// Where `hardware` comes in the install order (unnamed hardware last).
    pub fn install_rank(&self, hardware: &HardwareId) -> usize {
        self.install_order.iter().position(|h| h == hardware).unwrap_or(self.install_order.len())
    }
}

impl Decode for OfflineCustom {
    fn decode(value: &Value<'_>) -> Result<Self, DecodeError> {
        let object = as_object(value)?;
        let name: String = required(object, "name")?;
        if name.is_empty() {
            return Err(DecodeError::invalid("the bundle's name is empty").in_field("name"));
        }
        Ok(OfflineCustom {
            name,
            issued: required(object, "issued")?,
            allowed_vins: optional(object, "allowed_vins")?,
            allowed_ecu_identifiers: optional(object, "allowed_ecu_identifiers")?,
            install_order: optional(object, "install_order")?.unwrap_or_default(),
            unknown: UnknownFields::collect(object, &CUSTOM_FIELDS),
        })
    }
}

impl Encode for OfflineCustom {
    fn encode(&self) -> Value<'_> {
        ObjectBuilder::new()
            .field("name", self.name.encode())
            .field("issued", self.issued.encode())
            .optional("allowed_vins", &self.allowed_vins)
            .optional("allowed_ecu_identifiers", &self.allowed_ecu_identifiers)
            .field("install_order", self.install_order.encode())
            .finish(&self.unknown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offline_custom_round_trips_and_an_absent_allow_list_allows_everyone() {
        let text = r#"{"allowed_vins":["VIN1"],"install_order":["gateway","brake"],"issued":"2026-12-01T00:00:00Z","name":"fw-2026-12"}"#;
        let value = crate::json::parse(text.as_bytes()).unwrap();
        let custom = OfflineCustom::decode(&value).unwrap();
        assert_eq!(crate::json::to_canonical(&custom.encode()), text.as_bytes());
        assert!(
            custom.allows_vehicle(&Vin::new("VIN1").unwrap()) && !custom.allows_vehicle(&Vin::new("VIN2").unwrap())
        );
        assert!(custom.allows_ecu(&EcuSerial::new("any").unwrap()));
        assert_eq!(custom.install_rank(&HardwareId::new("brake").unwrap()), 1);
        assert_eq!(custom.install_rank(&HardwareId::new("door").unwrap()), 2);
    }

    #[test]
    fn an_offline_install_round_trips_and_names_its_result() {
        let installed = r#"{"at":"2026-12-01T00:00:00Z","bundle":"usb","bundle_version":7,"ecu":"brake-1","image":"brake/fw-3.bin","result":"installing"}"#;
        let failed = r#"{"at":"2026-12-01T00:00:00Z","bundle":"usb","bundle_version":7,"ecu":"wiper-1","image":"","reason":"refused","result":"failed"}"#;
        for text in [installed, failed] {
            let install = OfflineInstall::decode(&crate::json::parse(text.as_bytes()).unwrap()).unwrap();
            assert_eq!(crate::json::to_canonical(&install.encode()), text.as_bytes());
        }
        let unknown =
            r#"{"at":"2026-12-01T00:00:00Z","bundle":"usb","bundle_version":7,"ecu":"x","image":"","result":"maybe"}"#;
        assert!(OfflineInstall::decode(&crate::json::parse(unknown.as_bytes()).unwrap()).is_err());
    }

    #[test]
    fn a_bundle_without_a_name_or_issue_time_is_refused() {
        for text in [r#"{"issued":"2026-12-01T00:00:00Z","name":""}"#, r#"{"name":"b"}"#] {
            let value = crate::json::parse(text.as_bytes()).unwrap();
            assert!(OfflineCustom::decode(&value).is_err(), "{text}");
        }
    }
}
