//! Manifests: what each ECU reports it runs, and the primary's signed bundle of those
//! reports for the director.

use alloc::collections::BTreeMap;

use crate::decode::{Decode, Encode, ObjectBuilder, UnknownFields, as_object, borrow, optional, required};
use crate::envelope::Envelope;
use crate::error::{DecodeError, DecodeErrorKind};
use crate::json::Value;
use crate::{Hashes, TargetPath, UtcTime};

use super::{EcuSerial, InstallStatus, Vin};

/// The vehicle version manifest's `signed` part, signed by the primary's ECU key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VehicleVersionManifest {
    /// The vehicle.
    pub vin: Vin,
    /// The primary ECU, whose key signs this manifest.
    pub primary_ecu_serial: EcuSerial,
    /// Each ECU's signed version report, kept as received so that its signature can be
    /// checked over exactly those bytes (see [`VehicleVersionManifest::report_envelope`]).
    pub ecu_version_reports: BTreeMap<EcuSerial, Value<'static>>,
    /// Fields this crate does not define.
    pub unknown: UnknownFields,
}

/// An ECU version report's `signed` part, signed by that ECU's key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EcuVersionReport {
    /// The reporting ECU.
    pub ecu_serial: EcuSerial,
    /// The image it runs.
    pub installed_image: InstalledImage,
    /// What the ECU detected in its last update attempt ([`AttackCode::NONE`] if nothing).
    pub attacks_detected: AttackCode,
    /// The latest time the ECU trusts.
    pub latest_time: UtcTime,
    /// A counter that grows with every report, so a report cannot be replayed.
    pub report_counter: u64,
    /// A fresh value for this report that the director's next time attestation must
    /// carry before the ECU takes its time (see [`super::TimeAttestation`]).
    pub nonce: Option<u64>,
    /// The ECU's X25519 image decryption key, announced in its signed report (a new one
    /// is a rotation the director takes, since only the ECU's key signs the report).
    pub decryption_key: Option<[u8; 32]>,
    /// Its boot state and how its last install ended (the report's `custom`).
    pub status: Option<InstallStatus>,
    /// Fields this crate does not define.
    pub unknown: UnknownFields,
}

/// The installed image of an ECU: its target path, length and hashes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstalledImage {
    /// The image's target path.
    pub filepath: TargetPath,
    /// Length in bytes.
    pub length: u64,
    /// Digests of the image.
    pub hashes: Hashes,
    /// Fields this crate does not define.
    pub unknown: UnknownFields,
}

/// What an ECU detected, as a number that fits a small MCU's report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AttackCode(pub u32);

impl AttackCode {
    /// Nothing detected.
    pub const NONE: AttackCode = AttackCode(0);
    /// Metadata or an image older than the trusted one (rollback).
    pub const ROLLBACK: AttackCode = AttackCode(1);
    /// Expired metadata (freeze).
    pub const FREEZE: AttackCode = AttackCode(2);
    /// Metadata not signed by a threshold of trusted keys.
    pub const BAD_SIGNATURE: AttackCode = AttackCode(3);
    /// Metadata that disagrees with other trusted metadata (mix-and-match).
    pub const MIX_AND_MATCH: AttackCode = AttackCode(4);
    /// An image whose length or hash does not match its metadata.
    pub const TAMPERED_IMAGE: AttackCode = AttackCode(5);
    /// More data than the metadata allows (endless data).
    pub const ENDLESS_DATA: AttackCode = AttackCode(6);
    /// An image for other hardware, another ECU or another vehicle.
    pub const WRONG_TARGET: AttackCode = AttackCode(7);
    /// The director and image repository disagree on an image.
    pub const REPOSITORY_MISMATCH: AttackCode = AttackCode(8);
    /// Malformed metadata.
    pub const MALFORMED: AttackCode = AttackCode(9);
    /// Metadata or an image the update needs was not delivered (drop request, partial bundle).
    pub const INCOMPLETE: AttackCode = AttackCode(10);
    /// An image arrived unencrypted for hardware that requires encryption.
    pub const UNENCRYPTED_IMAGE: AttackCode = AttackCode(11);
    /// An image's wrapped content key is not for this ECU, image and release (copied
    /// from another entry, or altered).
    pub const BAD_KEY_WRAP: AttackCode = AttackCode(12);

    /// A short name for logs and reports.
    pub fn name(self) -> &'static str {
        match self.0 {
            0 => "none",
            1 => "rollback",
            2 => "freeze",
            3 => "bad-signature",
            4 => "mix-and-match",
            5 => "tampered-image",
            6 => "endless-data",
            7 => "wrong-target",
            8 => "repository-mismatch",
            9 => "malformed",
            10 => "incomplete",
            11 => "unencrypted-image",
            12 => "bad-key-wrap",
            _ => "unknown",
        }
    }

    /// The code of that name (`none` to `bad-key-wrap`).
    pub fn from_name(name: &str) -> Option<AttackCode> {
        (0..=12).map(AttackCode).find(|code| code.name() == name)
    }
}

impl VehicleVersionManifest {
    /// The envelope of `ecu`'s report, to verify with that ECU's key.
    pub fn report_envelope(&self, ecu: &EcuSerial) -> Result<Envelope<'_>, DecodeError> {
        let value = self.ecu_version_reports.get(ecu).ok_or_else(|| {
            DecodeError::new(DecodeErrorKind::Missing).in_field(ecu.as_str()).in_field("ecu_version_reports")
        })?;
        Envelope::from_value(borrow(value)).map_err(|e| e.in_field(ecu.as_str()).in_field("ecu_version_reports"))
    }
}

impl Decode for VehicleVersionManifest {
    fn decode(value: &Value<'_>) -> Result<Self, DecodeError> {
        let object = as_object(value)?;
        Ok(VehicleVersionManifest {
            vin: required(object, "vin")?,
            primary_ecu_serial: required(object, "primary_ecu_serial")?,
            ecu_version_reports: required(object, "ecu_version_reports")?,
            unknown: UnknownFields::collect(object, &["vin", "primary_ecu_serial", "ecu_version_reports"]),
        })
    }
}

impl Encode for VehicleVersionManifest {
    fn encode(&self) -> Value<'_> {
        ObjectBuilder::new()
            .field("vin", self.vin.encode())
            .field("primary_ecu_serial", self.primary_ecu_serial.encode())
            .field("ecu_version_reports", self.ecu_version_reports.encode())
            .finish(&self.unknown)
    }
}

impl Decode for EcuVersionReport {
    fn decode(value: &Value<'_>) -> Result<Self, DecodeError> {
        let object = as_object(value)?;
        let attacks: u64 = required(object, "attacks_detected")?;
        let attacks = u32::try_from(attacks).map_err(|_| {
            DecodeError::new(DecodeErrorKind::OutOfRange { allowed: "0 to 2^32-1" }).in_field("attacks_detected")
        })?;
        Ok(EcuVersionReport {
            ecu_serial: required(object, "ecu_serial")?,
            installed_image: required(object, "installed_image")?,
            attacks_detected: AttackCode(attacks),
            latest_time: required(object, "latest_time")?,
            report_counter: required(object, "report_counter")?,
            nonce: optional(object, "nonce")?,
            decryption_key: optional::<alloc::string::String>(object, "decryption_key")?
                .map(|hex| {
                    crate::hex::decode_lower_array(&hex).ok_or_else(|| {
                        DecodeError::invalid("64 lowercase hex digits (an X25519 key)").in_field("decryption_key")
                    })
                })
                .transpose()?,
            status: optional(object, "custom")?,
            unknown: UnknownFields::collect(
                object,
                &[
                    "ecu_serial",
                    "installed_image",
                    "attacks_detected",
                    "latest_time",
                    "report_counter",
                    "nonce",
                    "decryption_key",
                    "custom",
                ],
            ),
        })
    }
}

impl Encode for EcuVersionReport {
    fn encode(&self) -> Value<'_> {
        ObjectBuilder::new()
            .field("ecu_serial", self.ecu_serial.encode())
            .field("installed_image", self.installed_image.encode())
            .field("attacks_detected", Value::unsigned(u64::from(self.attacks_detected.0)))
            .field("latest_time", self.latest_time.encode())
            .field("report_counter", self.report_counter.encode())
            .optional("nonce", &self.nonce)
            .optional_value("decryption_key", self.decryption_key.map(|k| Value::string(crate::hex::encode(&k))))
            .optional("custom", &self.status)
            .finish(&self.unknown)
    }
}

impl Decode for InstalledImage {
    fn decode(value: &Value<'_>) -> Result<Self, DecodeError> {
        let object = as_object(value)?;
        Ok(InstalledImage {
            filepath: required(object, "filepath")?,
            length: required(object, "length")?,
            hashes: required(object, "hashes")?,
            unknown: UnknownFields::collect(object, &["filepath", "length", "hashes"]),
        })
    }
}

impl Encode for InstalledImage {
    fn encode(&self) -> Value<'_> {
        ObjectBuilder::new()
            .field("filepath", self.filepath.encode())
            .field("length", self.length.encode())
            .field("hashes", self.hashes.encode())
            .finish(&self.unknown)
    }
}
