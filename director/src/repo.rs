//! Each vehicle's director repository: targets listing exactly the images issued to its
//! ECUs (with `ecu_identifier`, `hardware_identifier`, `release_counter`) and the vin in
//! the top-level `custom` even when empty; snapshot and timestamp follow; versions only
//! grow. Everything is signed with the online keys and stored in the same transaction
//! as the change that caused it.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use metadata_schemas::json::{self, Object, Value};
use metadata_schemas::{
    CommonFields, Decode, Encode, HashAlgorithm, Hashes, MetaFile, RoleName, Signed, Snapshot, TargetFile, TargetPath,
    Targets, Timestamp, UnknownFields, UtcTime, Version,
};
use threshold_keys::digest;

use crate::config::Lifetimes;
use crate::decommission::DecommissionState;
use crate::keys::{OnlineSigners, SharedSigner};
use crate::store::{Assignment, StoreError, Tx, Vehicle};

/// A failure to sign or store metadata.
#[derive(Debug)]
pub enum RepoError {
    /// A signer failed.
    Sign(String),
    /// A stored image entry could not be read back.
    Corrupt(String),
    /// The store failed.
    Store(StoreError),
}

impl From<StoreError> for RepoError {
    fn from(e: StoreError) -> Self {
        RepoError::Store(e)
    }
}

impl std::fmt::Display for RepoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RepoError::Sign(e) => write!(f, "signing: {e}"),
            RepoError::Corrupt(e) => write!(f, "stored assignment: {e}"),
            RepoError::Store(e) => write!(f, "{e}"),
        }
    }
}

fn sign<T: Encode>(value: T, signer: &SharedSigner) -> Result<String, RepoError> {
    let mut signed = Signed::unsigned(value);
    let signature = signer.sign(&signed.canonical_signed()).map_err(|e| RepoError::Sign(e.to_string()))?;
    signed.signatures.push(signature);
    String::from_utf8(signed.to_pretty_json()).map_err(|e| RepoError::Sign(e.to_string()))
}

fn version(n: i64) -> Version {
    Version::new(n.max(1) as u64).expect("at least 1")
}

fn expires(now: DateTime<Utc>, seconds: u64) -> UtcTime {
    UtcTime::new(now + Duration::seconds(seconds as i64))
}

fn listing(version: Version, bytes: &[u8]) -> MetaFile {
    let mut meta = MetaFile::new(version);
    meta.length = Some(bytes.len() as u64);
    meta.hashes = Hashes::new(vec![digest::digest(HashAlgorithm::Sha256, bytes)]);
    meta
}

/// The director target entry of an assignment: the image repository's length and
/// hashes, with the director's custom fields (and the encryption block for its ECU).
fn director_target(a: &Assignment, encryption: Option<&str>) -> Result<TargetFile, RepoError> {
    let value = json::parse(a.target_file.as_bytes()).map_err(|e| RepoError::Corrupt(e.to_string()))?;
    let image = TargetFile::decode(&value).map_err(|e| RepoError::Corrupt(e.to_string()))?;
    let mut custom = Object::new();
    custom.insert("ecu_identifier", Value::string(a.serial.clone()));
    custom.insert("hardware_identifier", Value::string(a.hardware_id.clone()));
    custom.insert("release_counter", Value::unsigned(a.release_counter as u64));
    if let Some(block) = encryption {
        let block = json::parse(block.as_bytes()).map_err(|e| RepoError::Corrupt(e.to_string()))?;
        custom.insert("encryption", block.to_owned_value());
    }
    let mut file = TargetFile::new(image.length, image.hashes);
    file.custom = Some(Value::Object(custom));
    Ok(file)
}

/// The image repository's `custom.lifecycle` of an assignment's image, if it has one.
fn lifecycle_of(a: &Assignment) -> Result<Option<Value<'static>>, RepoError> {
    let value = json::parse(a.target_file.as_bytes()).map_err(|e| RepoError::Corrupt(e.to_string()))?;
    let image = TargetFile::decode(&value).map_err(|e| RepoError::Corrupt(e.to_string()))?;
    let path = TargetPath::new(a.target.as_str());
    let Ok(custom) = metadata_schemas::uptane::ImageTargetCustom::from_target(&path, &image) else { return Ok(None) };
    Ok(custom.lifecycle().ok().flatten().map(|l| l.encode().to_owned_value()))
}

/// The decommission command the vehicle's targets carry once it is issued (and after:
/// a device that lost power mid-erase reads it again).
async fn decommission_command(tx: &mut Tx, vehicle: &Vehicle) -> Result<Option<Value<'static>>, RepoError> {
    if matches!(vehicle.decommission, DecommissionState::Active | DecommissionState::Requested) {
        return Ok(None);
    }
    let Some(text) = tx.decommission(&vehicle.vin).await?.and_then(|d| d.command) else { return Ok(None) };
    let value = json::parse(text.as_bytes()).map_err(|e| RepoError::Corrupt(e.to_string()))?;
    Ok(Some(value.to_owned_value()))
}

/// Signs and stores new targets, snapshot and timestamp for `vehicle`, listing the
/// `issued` assignments; returns the new versions (targets, snapshot, timestamp).
pub async fn publish(
    tx: &mut Tx,
    vehicle: &Vehicle,
    issued: &[Assignment],
    signers: &OnlineSigners,
    lifetimes: &Lifetimes,
    now: DateTime<Utc>,
) -> Result<(i64, i64, i64), RepoError> {
    let targets_version = vehicle.targets_version + 1;
    let mut targets = Targets::new(CommonFields::new(version(targets_version), expires(now, lifetimes.targets)));
    let mut custom = Object::new();
    custom.insert("vin", Value::string(vehicle.vin.clone()));
    // Each issued image's support period, by hardware id, so an ECU that verifies only
    // the director's metadata (partial verification) learns it too.
    let mut lifecycle = Object::new();
    for a in issued {
        if let Some(reference) = lifecycle_of(a)? {
            lifecycle.insert(a.hardware_id.clone(), reference);
        }
    }
    if !lifecycle.is_empty() {
        custom.insert("lifecycle", Value::Object(lifecycle));
    }
    if let Some(command) = decommission_command(tx, vehicle).await? {
        custom.insert("command", command);
    }
    targets.unknown.0.insert("custom", Value::Object(custom));
    for a in issued {
        let encryption = tx.assignment_encryption(&a.id).await?;
        targets.targets.insert(TargetPath::new(a.target.as_str()), director_target(a, encryption.as_deref())?);
    }
    let targets_bytes = sign(targets, &signers.targets)?;
    tx.put_metadata(&vehicle.vin, &RoleName::targets().versioned_file_name(version(targets_version)), &targets_bytes)
        .await?;

    let snapshot_version = vehicle.snapshot_version + 1;
    let mut meta = BTreeMap::new();
    meta.insert("targets.json".to_string(), listing(version(targets_version), targets_bytes.as_bytes()));
    let snapshot = Snapshot {
        common: CommonFields::new(version(snapshot_version), expires(now, lifetimes.snapshot)),
        meta,
        unknown: UnknownFields::default(),
    };
    let snapshot_bytes = sign(snapshot, &signers.snapshot)?;
    tx.put_metadata(
        &vehicle.vin,
        &RoleName::snapshot().versioned_file_name(version(snapshot_version)),
        &snapshot_bytes,
    )
    .await?;
    let (timestamp_version, expiry) = timestamp(
        tx,
        &vehicle.vin,
        vehicle.timestamp_version + 1,
        snapshot_version,
        &snapshot_bytes,
        signers,
        lifetimes,
        now,
    )
    .await?;
    tx.set_versions(&vehicle.vin, targets_version, snapshot_version, timestamp_version, expiry).await?;
    Ok((targets_version, snapshot_version, timestamp_version))
}

/// Signs and stores a timestamp listing the given snapshot; its version and expiry.
#[allow(clippy::too_many_arguments)]
async fn timestamp(
    tx: &mut Tx,
    vin: &str,
    timestamp_version: i64,
    snapshot_version: i64,
    snapshot_bytes: &str,
    signers: &OnlineSigners,
    lifetimes: &Lifetimes,
    now: DateTime<Utc>,
) -> Result<(i64, i64), RepoError> {
    let expiry = now + Duration::seconds(lifetimes.timestamp as i64);
    let timestamp = Timestamp::new(
        CommonFields::new(version(timestamp_version), UtcTime::new(expiry)),
        listing(version(snapshot_version), snapshot_bytes.as_bytes()),
    );
    tx.put_metadata(vin, "timestamp.json", &sign(timestamp, &signers.timestamp)?).await?;
    Ok((timestamp_version, expiry.timestamp()))
}

/// Re-signs the timestamp (a new version listing the same snapshot) when it expires
/// within the margin; whether it did.
pub async fn refresh_timestamp(
    tx: &mut Tx,
    vehicle: &Vehicle,
    signers: &OnlineSigners,
    lifetimes: &Lifetimes,
    now: DateTime<Utc>,
) -> Result<bool, RepoError> {
    if vehicle.timestamp_expires - now.timestamp() > lifetimes.timestamp_margin as i64 {
        return Ok(false);
    }
    let file = RoleName::snapshot().versioned_file_name(version(vehicle.snapshot_version));
    let Some(snapshot_bytes) = tx_metadata(tx, &vehicle.vin, &file).await? else {
        return Err(RepoError::Corrupt(format!("{}: {file} is missing", vehicle.vin)));
    };
    let (timestamp_version, expiry) = timestamp(
        tx,
        &vehicle.vin,
        vehicle.timestamp_version + 1,
        vehicle.snapshot_version,
        &snapshot_bytes,
        signers,
        lifetimes,
        now,
    )
    .await?;
    tx.set_versions(&vehicle.vin, vehicle.targets_version, vehicle.snapshot_version, timestamp_version, expiry).await?;
    Ok(true)
}

async fn tx_metadata(tx: &mut Tx, vin: &str, file: &str) -> Result<Option<String>, RepoError> {
    Ok(tx.metadata(vin, file).await?)
}
