//! The version reports a cycle starts from: the primary's own (signed here) and each
//! secondary's (asked for over the protocol), and the signed vehicle version manifest
//! built from them.

use chrono::{DateTime, Utc};
use client_embedded::protocol::{Request, Response};
use metadata_schemas::json;
use metadata_schemas::uptane::{
    AttackCode, EcuSerial, EcuVersionReport, HardwareId, InstalledImage, VehicleVersionManifest, Vin,
};
use metadata_schemas::{Digest, Encode, Envelope, HashAlgorithm, Hashes, Signed, TargetPath, UnknownFields, UtcTime};
use threshold_keys::{KeyFileSigner, Signer};

use super::config::SecondaryConfig;
use super::failure::SecondaryProblem;
use super::link::Link;
use super::own_image::SlotImage;
use super::plan::{Destination, Reported};
use crate::Error;

/// Who the primary is.
pub(super) struct Identity {
    pub vin: Vin,
    pub serial: EcuSerial,
    pub hardware_id: HardwareId,
}

/// The primary's own report for `running` (whose image may not go below
/// `release_floor`), signed with `key`: report `counter`, and its image decryption key if
/// it has one.
pub(super) fn own_report(
    identity: &Identity,
    key: &KeyFileSigner,
    (running, status, release_floor): (&SlotImage, metadata_schemas::uptane::InstallStatus, u64),
    (counter, decryption_key): (u64, Option<[u8; 32]>),
    now: DateTime<Utc>,
) -> Result<Reported, Error> {
    let digest = metadata_schemas::hex::decode_lower_array::<32>(&running.sha256)
        .ok_or_else(|| Error::Config("own image state: its sha256 is not 64 lowercase hex digits".into()))?;
    let report = EcuVersionReport {
        ecu_serial: identity.serial.clone(),
        installed_image: InstalledImage {
            filepath: TargetPath::new(running.name.as_str()),
            length: running.length,
            hashes: Hashes::new(vec![Digest::Sha256(digest)]).expect("one digest"),
            unknown: UnknownFields::default(),
        },
        attacks_detected: AttackCode::NONE,
        latest_time: UtcTime::new(now),
        report_counter: counter,
        nonce: None,
        decryption_key,
        status: Some(status),
        unknown: UnknownFields::default(),
    };
    let mut signed = Signed::unsigned(report);
    signed.signatures.push(key.sign(&signed.canonical_signed()).map_err(Error::Sign)?);
    Ok(Reported {
        serial: identity.serial.clone(),
        hardware_id: Some(identity.hardware_id.clone()),
        installed_sha256: Some(digest),
        report: signed.encode().to_owned_value(),
        destination: Destination::Own,
        release_floor,
    })
}

/// Asks the secondary `config` for its information and its signed report.
pub(super) fn secondary_report(config: &SecondaryConfig) -> Result<Reported, Error> {
    let mut link = Link::connect(&config.serial, &config.address)?;
    let Response::Info(info) = link.call(Request::GetInfo)? else {
        return Err(link.error(SecondaryProblem::Unexpected("its information")));
    };
    let info = String::from_utf8_lossy(&info).into_owned();
    let Response::VersionReport(bytes) = link.call(Request::GetVersionReport)? else {
        return Err(link.error(SecondaryProblem::Unexpected("a version report")));
    };
    let report = json::parse(&bytes).map_err(|_| link.error(SecondaryProblem::Unexpected("a JSON version report")))?;
    let serial =
        EcuSerial::new(config.serial.as_str()).ok_or_else(|| Error::Config("a secondary's serial is empty".into()))?;
    Ok(Reported {
        serial,
        hardware_id: info.lines().nth(1).and_then(HardwareId::new),
        installed_sha256: installed_sha256(&bytes),
        report: report.to_owned_value(),
        destination: Destination::Secondary { address: config.address.clone(), full: config.full_verification },
        release_floor: 0,
    })
}

/// A secondary's signed report as received (its decommission acknowledgement), for the
/// manifest; the director checks its signature.
pub(super) fn parse_report(serial: &str, bytes: &[u8]) -> Result<Reported, Error> {
    let report = json::parse(bytes).map_err(|e| Error::Config(format!("{serial}'s report: {e}")))?;
    let serial = EcuSerial::new(serial).ok_or_else(|| Error::Config("a secondary's serial is empty".into()))?;
    Ok(Reported {
        serial,
        hardware_id: None,
        installed_sha256: installed_sha256(bytes),
        report: report.to_owned_value(),
        destination: Destination::Own, // never delivered to: it only goes in the manifest
        release_floor: 0,
    })
}

/// The SHA-256 a report says is installed (read, not verified).
fn installed_sha256(report: &[u8]) -> Option<[u8; 32]> {
    let report = Envelope::parse(report).ok()?.decode_signed::<EcuVersionReport>().ok()?;
    match report.installed_image.hashes.get(HashAlgorithm::Sha256) {
        Some(Digest::Sha256(d)) => Some(*d),
        _ => None,
    }
}

/// The vehicle version manifest of `ecus`, signed with `key`, as canonical JSON.
/// `custom`, when given, goes in the signed part (a decommission acknowledgement).
pub(super) fn signed_manifest(
    identity: &Identity,
    ecus: &[Reported],
    key: &KeyFileSigner,
    custom: Option<json::Value<'static>>,
) -> Result<Vec<u8>, Error> {
    let mut unknown = UnknownFields::default();
    if let Some(custom) = custom {
        unknown.0.insert("custom", custom);
    }
    let manifest = VehicleVersionManifest {
        vin: identity.vin.clone(),
        primary_ecu_serial: identity.serial.clone(),
        ecu_version_reports: ecus.iter().map(|e| (e.serial.clone(), e.report.clone())).collect(),
        unknown,
    };
    let mut signed = Signed::unsigned(manifest);
    signed.signatures.push(key.sign(&signed.canonical_signed()).map_err(Error::Sign)?);
    Ok(signed.to_canonical_json())
}
