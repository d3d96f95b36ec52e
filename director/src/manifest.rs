//! Checking a vehicle version manifest (Uptane "Directing installation"): signed by the
//! primary's ECU key; a report from the primary and from every ECU that answered it (an
//! absent one is noted, not refused), none unknown, each signed by that ECU's own key; report counters growing (no replay); reported times never going
//! back, and a time further ahead of the director's clock than the allowed skew marked,
//! not trusted. A pure function of the manifest and the stored inventory, so the refusal
//! reason is exact and nothing is written for a refused manifest.

use metadata_schemas::uptane::{EcuSerial, EcuVersionReport, VehicleVersionManifest};
use metadata_schemas::{Decode, Encode, Envelope, Key, KeyId, json};
use threshold_keys::{check_signed_by, default_key_id};

use crate::store::{Ecu, Vehicle};

/// Why a manifest is refused; the label is the metrics reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Not JSON, or not a manifest.
    Malformed(String),
    /// For another vehicle, or another primary.
    WrongVehicle(String),
    /// A signature that does not verify with the expected key.
    BadSignature(String),
    /// No report from the primary itself.
    MissingEcu(String),
    /// A report from an ECU the inventory does not have.
    UnknownEcu(String),
    /// A report counter not greater than the last accepted one.
    Replay(String),
    /// A reported time older than the last accepted one.
    TimeRollback(String),
}

impl Refusal {
    /// The reason's short name.
    pub fn label(&self) -> &'static str {
        match self {
            Refusal::Malformed(_) => "malformed",
            Refusal::WrongVehicle(_) => "wrong-vehicle",
            Refusal::BadSignature(_) => "bad-signature",
            Refusal::MissingEcu(_) => "missing-ecu",
            Refusal::UnknownEcu(_) => "unknown-ecu",
            Refusal::Replay(_) => "replay",
            Refusal::TimeRollback(_) => "time-rollback",
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (Refusal::Malformed(m)
        | Refusal::WrongVehicle(m)
        | Refusal::BadSignature(m)
        | Refusal::MissingEcu(m)
        | Refusal::UnknownEcu(m)
        | Refusal::Replay(m)
        | Refusal::TimeRollback(m)) = self;
        write!(f, "{}: {m}", self.label())
    }
}

/// One accepted ECU report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcceptedReport {
    /// The ECU.
    pub serial: String,
    /// Its report counter.
    pub counter: i64,
    /// Its latest trusted time (Unix seconds).
    pub time: i64,
    /// The installed image (canonical JSON: filepath, length, hashes).
    pub installed: String,
    /// Its path.
    pub installed_path: String,
    /// The attack code it reports.
    pub attack: i64,
    /// Its boot state and last install's result, if it says.
    pub status: Option<metadata_schemas::uptane::InstallStatus>,
    /// The nonce the next time attestation must carry for this ECU.
    pub nonce: Option<u64>,
    /// The decommission nonce this ECU's own signed report acknowledges, if any.
    pub decommission_ack: Option<String>,
    /// Its time is further ahead of the director's than the allowed skew: it is not
    /// taken as the ECU's reported time (so one bad clock cannot lock the vehicle out).
    pub skewed: bool,
    /// The image decryption key its signed report announces.
    pub decryption_key: Option<[u8; 32]>,
}

/// An accepted manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    /// Every ECU's report, by serial.
    pub reports: Vec<AcceptedReport>,
    /// The latest time any ECU reported.
    pub latest_time: i64,
    /// Inventory ECUs (never the primary) without a report: they did not answer the
    /// primary in this cycle; their records stay as they were.
    pub missing: Vec<String>,
    /// The decommission nonce this signed manifest acknowledges (its `custom`), if any.
    pub decommission_ack: Option<String>,
    /// The offline installs it reports (its `custom.offline_installs`), each for an ECU
    /// of the inventory.
    pub offline_installs: Vec<metadata_schemas::uptane::OfflineInstall>,
}

/// The offline installs a manifest's `custom` reports: each one well-formed and for an
/// ECU of the vehicle's inventory.
fn offline_installs(
    custom: Option<&json::Value<'_>>,
    ecus: &[Ecu],
) -> Result<Vec<metadata_schemas::uptane::OfflineInstall>, Refusal> {
    use metadata_schemas::Decode;
    let field = metadata_schemas::uptane::OFFLINE_INSTALLS_FIELD;
    let Some(json::Value::Object(custom)) = custom else { return Ok(Vec::new()) };
    let Some(listed) = custom.get(field) else { return Ok(Vec::new()) };
    let installs = Vec::<metadata_schemas::uptane::OfflineInstall>::decode(listed)
        .map_err(|e| Refusal::Malformed(format!("custom.{field}: {e}")))?;
    if let Some(unknown) = installs.iter().find(|i| !ecus.iter().any(|e| e.serial == i.ecu.as_str())) {
        return Err(Refusal::UnknownEcu(format!("an offline install names ECU {}, not in the inventory", unknown.ecu)));
    }
    Ok(installs)
}

fn parse_key(ecu: &Ecu) -> Result<(KeyId, Key), Refusal> {
    let value = json::parse(ecu.public_key.as_bytes())
        .map_err(|e| Refusal::Malformed(format!("key of {}: {e}", ecu.serial)))?;
    let key = Key::decode(&value).map_err(|e| Refusal::Malformed(format!("key of {}: {e}", ecu.serial)))?;
    Ok((default_key_id(&key), key))
}

/// Whether `envelope` is signed by `ecu`'s key (the one threshold function, threshold 1).
fn signed_by(envelope: &Envelope<'_>, ecu: &Ecu) -> Result<bool, Refusal> {
    let (id, key) = parse_key(ecu)?;
    Ok(check_signed_by(&id, &key, &envelope.signatures, &envelope.canonical_signed()).is_met())
}

/// The director's clock and how far ahead of it an ECU's reported time may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Clock {
    /// Now (Unix seconds).
    pub now: i64,
    /// The largest skew accepted (seconds).
    pub max_skew: i64,
}

impl Clock {
    /// The latest report time taken as true.
    fn limit(&self) -> i64 {
        self.now.saturating_add(self.max_skew)
    }
}

/// Checks `bytes` as `vehicle`'s manifest against its inventory `ecus` at `clock`.
pub fn check(bytes: &[u8], vehicle: &Vehicle, ecus: &[Ecu], clock: Clock) -> Result<Accepted, Refusal> {
    let manifest = check_manifest(bytes, vehicle, ecus)?;
    let mut reports = Vec::with_capacity(ecus.len());
    let mut missing = Vec::new();
    for ecu in ecus {
        let serial = EcuSerial::new(ecu.serial.clone()).ok_or_else(|| Refusal::Malformed("empty serial".into()))?;
        let envelope = match manifest.report_envelope(&serial) {
            Ok(envelope) => envelope,
            // An ECU that is off or unreachable must not stop the rest of the vehicle.
            Err(_) if ecu.serial != vehicle.primary_serial => {
                missing.push(ecu.serial.clone());
                continue;
            }
            Err(_) => return Err(Refusal::MissingEcu(format!("no report from the primary {}", ecu.serial))),
        };
        reports.push(check_report(&envelope, ecu, clock)?);
    }
    let latest_time = reports.iter().map(|r| r.time).max().unwrap_or(0).max(0);
    let decommission_ack = metadata_schemas::uptane::acknowledged_nonce(manifest.unknown.get("custom"));
    let offline_installs = offline_installs(manifest.unknown.get("custom"), ecus)?;
    Ok(Accepted { reports, latest_time, missing, decommission_ack, offline_installs })
}

/// The manifest itself: signed by the vehicle's primary, for this vehicle and primary,
/// and reporting only ECUs of its inventory.
fn check_manifest(bytes: &[u8], vehicle: &Vehicle, ecus: &[Ecu]) -> Result<VehicleVersionManifest, Refusal> {
    let envelope = Envelope::parse(bytes).map_err(|e| Refusal::Malformed(e.to_string()))?;
    let primary = ecus
        .iter()
        .find(|e| e.serial == vehicle.primary_serial)
        .ok_or_else(|| Refusal::Malformed(format!("the inventory lacks the primary {}", vehicle.primary_serial)))?;
    if !signed_by(&envelope, primary)? {
        return Err(Refusal::BadSignature(format!("the manifest is not signed by the primary {}", primary.serial)));
    }
    let manifest: VehicleVersionManifest = envelope.decode_signed().map_err(|e| Refusal::Malformed(e.to_string()))?;
    if manifest.vin.as_str() != vehicle.vin {
        return Err(Refusal::WrongVehicle(format!("manifest for {}, not {}", manifest.vin.as_str(), vehicle.vin)));
    }
    if manifest.primary_ecu_serial.as_str() != vehicle.primary_serial {
        let given = manifest.primary_ecu_serial.as_str();
        return Err(Refusal::WrongVehicle(format!("primary {given} is not {}", vehicle.primary_serial)));
    }
    if let Some(unknown) = manifest.ecu_version_reports.keys().find(|s| !ecus.iter().any(|e| e.serial == s.as_str())) {
        return Err(Refusal::UnknownEcu(format!("no ECU {} in the inventory", unknown.as_str())));
    }
    Ok(manifest)
}

/// One ECU's report: signed by its key, filed under its serial, a counter above the last
/// one taken, and a time not before the last one (a time ahead beyond the skew is
/// accepted but not taken: the last one stands).
fn check_report(envelope: &Envelope<'_>, ecu: &Ecu, clock: Clock) -> Result<AcceptedReport, Refusal> {
    if !signed_by(envelope, ecu)? {
        return Err(Refusal::BadSignature(format!("the report of {} is not signed by its key", ecu.serial)));
    }
    let report: EcuVersionReport =
        envelope.decode_signed().map_err(|e| Refusal::Malformed(format!("{}: {e}", ecu.serial)))?;
    if report.ecu_serial.as_str() != ecu.serial {
        let from = report.ecu_serial.as_str();
        return Err(Refusal::WrongVehicle(format!("the report filed under {} is from {from}", ecu.serial)));
    }
    let counter = i64::try_from(report.report_counter)
        .map_err(|_| Refusal::Malformed(format!("{}: counter too large", ecu.serial)))?;
    if counter <= ecu.report_counter {
        return Err(Refusal::Replay(format!("{}: counter {counter} after {}", ecu.serial, ecu.report_counter)));
    }
    let time = report.latest_time.time().timestamp();
    // A stored time beyond the skew (kept before this check existed) is no reference.
    let reference = if ecu.reported_time > clock.limit() { 0 } else { ecu.reported_time };
    let skewed = time > clock.limit();
    if !skewed && time < reference {
        return Err(Refusal::TimeRollback(format!("{}: time {time} before {reference}", ecu.serial)));
    }
    let installed = String::from_utf8(json::to_canonical(&report.installed_image.encode())).unwrap_or_default();
    Ok(AcceptedReport {
        serial: ecu.serial.clone(),
        counter,
        time: if skewed { reference } else { time },
        installed,
        installed_path: report.installed_image.filepath.as_str().to_string(),
        attack: i64::from(report.attacks_detected.0),
        status: report.status.clone(),
        nonce: report.nonce,
        skewed,
        decryption_key: report.decryption_key,
        decommission_ack: metadata_schemas::uptane::ack_nonce(report.unknown.get(metadata_schemas::uptane::ACK_FIELD)),
    })
}
