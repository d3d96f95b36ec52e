//! The director's targets metadata: one image per ECU, for one vehicle.

use crate::TargetPath;
use crate::decode::{Decode, Encode, ObjectBuilder, UnknownFields, as_object, optional, required};
use crate::error::{DecodeError, DecodeErrorKind};
use crate::json::Value;
use crate::targets::{TargetFile, Targets};

use super::{EcuSerial, EncryptionBlock, HardwareId, Vin, in_target};

/// The `custom` of a director target: which ECU installs it, and what protects it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirectorTargetCustom {
    /// The ECU that must install this image.
    pub ecu_identifier: EcuSerial,
    /// The hardware the image is built for.
    pub hardware_identifier: HardwareId,
    /// Anti-rollback counter of the image: never lower than the installed one.
    pub release_counter: u64,
    /// Present when the image is encrypted for this ECU; the target's `length` and
    /// `hashes` are then the plaintext's, the ciphertext's are in the block.
    pub encryption: Option<EncryptionBlock>,
    /// Fields this crate does not define.
    pub unknown: UnknownFields,
}

/// The top-level `custom` of director targets metadata: the vehicle it is for. It is
/// present even when no target is listed, so metadata cannot move between vehicles.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VehicleCustom {
    /// The vehicle identifier.
    pub vin: Vin,
    /// Fields this crate does not define.
    pub unknown: UnknownFields,
}

impl DirectorTargetCustom {
    /// Reads the director fields from a target's `custom`.
    pub fn from_target(path: &TargetPath, target: &TargetFile) -> Result<Self, DecodeError> {
        match &target.custom {
            Some(custom) => Self::decode(custom).map_err(|e| in_target(path, e)),
            None => Err(in_target(path, DecodeError::new(DecodeErrorKind::Missing))),
        }
    }
}

impl Decode for DirectorTargetCustom {
    fn decode(value: &Value<'_>) -> Result<Self, DecodeError> {
        let object = as_object(value)?;
        Ok(DirectorTargetCustom {
            ecu_identifier: required(object, "ecu_identifier")?,
            hardware_identifier: required(object, "hardware_identifier")?,
            release_counter: required(object, "release_counter")?,
            encryption: optional(object, "encryption")?,
            unknown: UnknownFields::collect(
                object,
                &["ecu_identifier", "hardware_identifier", "release_counter", "encryption"],
            ),
        })
    }
}

impl Encode for DirectorTargetCustom {
    fn encode(&self) -> Value<'_> {
        ObjectBuilder::new()
            .field("ecu_identifier", self.ecu_identifier.encode())
            .field("hardware_identifier", self.hardware_identifier.encode())
            .field("release_counter", self.release_counter.encode())
            .optional("encryption", &self.encryption)
            .finish(&self.unknown)
    }
}

impl VehicleCustom {
    /// Reads the vehicle from the top-level `custom` of director targets metadata.
    pub fn from_targets(targets: &Targets) -> Result<Self, DecodeError> {
        match targets.custom() {
            Some(custom) => Self::decode(custom).map_err(|e| e.in_field("custom")),
            None => Err(DecodeError::new(DecodeErrorKind::Missing).in_field("custom")),
        }
    }
}

impl Decode for VehicleCustom {
    fn decode(value: &Value<'_>) -> Result<Self, DecodeError> {
        let object = as_object(value)?;
        Ok(VehicleCustom { vin: required(object, "vin")?, unknown: UnknownFields::collect(object, &["vin"]) })
    }
}

impl Encode for VehicleCustom {
    fn encode(&self) -> Value<'_> {
        ObjectBuilder::new().field("vin", self.vin.encode()).finish(&self.unknown)
    }
}
