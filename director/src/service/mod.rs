//! The director's decisions, independent of HTTP: registering vehicles, assigning
//! images, ingesting manifests, and serving each vehicle's director metadata. Every
//! change is one database transaction, with its vehicle events and audit entries.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use metadata_schemas::{Decode, Encode, json};
use serde::Deserialize;
use serde_json::json;

use crate::assignment::AssignmentState;
use crate::config::{Config, token_hash};
use crate::decommission::DecommissionState::{self, Active};
use crate::encryption::Encryption;
use crate::images::ImageRepository;
use crate::keys::OnlineSigners;
use crate::manifest::{self, Refusal};
use crate::metrics::Metrics;
use crate::repo::{self, RepoError};
use crate::store::{Assignment, Ecu, Store, StoreError, Tx, Vehicle, VehicleFile};

/// Why a request cannot be done.
#[derive(Debug)]
pub enum ServiceError {
    /// The request is invalid (names what).
    Invalid(String),
    /// No such vehicle (or other thing).
    NotFound(String),
    /// Exists already.
    Conflict(String),
    /// A manifest was refused (recorded).
    Refused(Refusal),
    /// Missing or wrong device credentials.
    Unauthorized(String),
    /// The vehicle is decommissioned: its credentials are refused for good.
    Gone(String),
    /// A failure of the director itself.
    Internal(String),
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => ServiceError::Conflict(format!("{what} exists already")),
            other => ServiceError::Internal(other.to_string()),
        }
    }
}

impl From<RepoError> for ServiceError {
    fn from(e: RepoError) -> Self {
        ServiceError::Internal(e.to_string())
    }
}

mod decommission;
mod encryption;
mod offline;
mod sbom;

pub use decommission::{DecommissionProgress, decommission_json};

pub(crate) type Result<T> = std::result::Result<T, ServiceError>;

/// A vehicle to register.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewVehicle {
    /// Vehicle identification number.
    pub vin: String,
    /// The primary ECU's serial (it signs the manifests).
    pub primary_ecu_serial: String,
    /// The vehicle's ECUs.
    pub ecus: Vec<NewEcu>,
    /// Its tags (`beta`, `fleet-7`...).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Its attributes (`region`, `hw_rev`...).
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

/// One ECU of a vehicle to register.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewEcu {
    /// Its serial.
    pub serial: String,
    /// Its hardware identifier.
    pub hardware_id: String,
    /// Its public key, as a TUF key object.
    pub public_key: serde_json::Value,
    /// "partial" (default) or "full".
    #[serde(default = "partial")]
    pub verification: String,
    /// Its X25519 image decryption key (hex), for encrypted images.
    #[serde(default)]
    pub decryption_key: Option<String>,
}

fn partial() -> String {
    "partial".into()
}

/// Images to install: for each listed vehicle, each ECU whose hardware id is a key
/// gets that image repository target.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAssignments {
    /// The vehicles.
    pub vehicles: Vec<String>,
    /// Hardware id to image repository target path.
    pub images: BTreeMap<String, String>,
}

/// What became of a manifest.
#[derive(Debug, PartialEq, Eq)]
pub struct Ingested {
    /// Assignments that this manifest completed (installed) or failed.
    pub resolved: Vec<(String, AssignmentState)>,
    /// Whether new director metadata was issued.
    pub issued: bool,
    /// A signed time attestation carrying the reports' nonces (canonical JSON), when the
    /// director has a time key.
    pub time_attestation: Option<String>,
}

/// The director.
pub struct Director {
    /// The database.
    pub store: Store,
    /// Online keys.
    pub signers: OnlineSigners,
    /// Configuration.
    pub config: Config,
    /// The image repository, if configured.
    pub images: Option<ImageRepository>,
    /// Counters.
    pub metrics: Metrics,
    /// Request rates per client.
    pub limiter: crate::limits::RateLimiter,
    /// Content keys and ciphertexts of encrypted images.
    pub encryption: Encryption,
    stripes: Vec<tokio::sync::Mutex<()>>,
}

/// A failure of the director itself, named.
fn internal(e: impl std::fmt::Display) -> ServiceError {
    ServiceError::Internal(e.to_string())
}

fn now() -> DateTime<Utc> {
    Utc::now()
}

pub(crate) fn valid_name(what: &str, value: &str) -> Result<()> {
    if value.is_empty() || value.len() > 128 || value.chars().any(|c| c.is_control() || c == '/') {
        return Err(ServiceError::Invalid(format!(
            "{what} {value:?}: 1 to 128 characters, no '/' or control characters"
        )));
    }
    Ok(())
}

/// Checks a vin: letters, digits, '-' and '_' (it appears in URLs and device tokens).
pub fn valid_vin(vin: &str) -> Result<()> {
    if vin.is_empty() || vin.len() > 64 || !vin.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(ServiceError::Invalid(format!("vin {vin:?}: 1 to 64 letters, digits, '-' or '_'")));
    }
    Ok(())
}

impl Director {
    /// The director over its parts.
    pub fn new(
        store: Store,
        signers: OnlineSigners,
        config: Config,
        images: Option<ImageRepository>,
        encryption: Encryption,
    ) -> Self {
        Director {
            store,
            signers,
            encryption,
            limiter: crate::limits::RateLimiter::new(config.limits.tracked_clients),
            config,
            images,
            metrics: Metrics::default(),
            stripes: (0..64).map(|_| Default::default()).collect(),
        }
    }

    /// In-process ordering per vehicle (a fixed set of stripes: memory does not grow
    /// with the fleet); the database lock orders across processes.
    pub(crate) async fn ordered(&self, vin: &str) -> tokio::sync::MutexGuard<'_, ()> {
        self.stripes[self.stripe(vin)].lock().await
    }

    /// The stripes of several vehicles, taken in index order so that two callers never
    /// wait on each other in a cycle.
    async fn ordered_all(&self, vins: &[&str]) -> Vec<tokio::sync::MutexGuard<'_, ()>> {
        let mut stripes: Vec<usize> = vins.iter().map(|vin| self.stripe(vin)).collect();
        stripes.sort_unstable();
        stripes.dedup();
        let mut guards = Vec::with_capacity(stripes.len());
        for i in stripes {
            guards.push(self.stripes[i].lock().await);
        }
        guards
    }

    fn stripe(&self, vin: &str) -> usize {
        let hash = vin.bytes().fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(b as usize));
        hash % self.stripes.len()
    }

    /// Adds an administrator token, accepted at once by every director process on this
    /// database; returns the token (only its SHA-256 is stored).
    pub async fn add_admin_token(&self, actor: &str, name: &str, role: crate::config::Role) -> Result<String> {
        valid_name("administrator name", name)?;
        let token = crate::config::new_token();
        let now = now().timestamp();
        let mut tx = self.store.begin().await?;
        tx.insert_admin_token(&token_hash(&token), name, role, now).await?;
        let detail = json!({"name": name, "role": role.as_str()}).to_string();
        tx.audit(actor, "add-admin-token", &detail, now).await?;
        tx.commit().await?;
        Ok(token)
    }

    /// Registers a vehicle with its ECUs and publishes its (empty) director repository;
    /// the device token, shown once.
    pub async fn register(&self, actor: &str, new: NewVehicle) -> Result<String> {
        valid_vin(&new.vin)?;
        valid_name("primary ECU serial", &new.primary_ecu_serial)?;
        let ecus = valid_ecus(&new)?;
        let mut labels = crate::store::Labels { tags: new.tags.clone(), attributes: new.attributes.clone() };
        crate::inventory::valid_labels(&mut labels)?;
        let token = format!("{}:{}", new.vin, crate::config::new_token());
        let now = now();
        let _order = self.ordered(&new.vin).await;
        let mut tx = self.store.begin().await?;
        tx.insert_vehicle(&new.vin, &new.primary_ecu_serial, &token_hash(&token), now.timestamp()).await?;
        tx.set_labels(&new.vin, &labels).await?;
        for ecu in &ecus {
            tx.insert_ecu(&new.vin, ecu).await?;
        }
        for e in &new.ecus {
            let Some(key) = &e.decryption_key else { continue };
            if metadata_schemas::hex::decode_lower_array::<32>(key).is_none() {
                return Err(ServiceError::Invalid(format!("ECU {} decryption_key: 64 lowercase hex digits", e.serial)));
            }
            tx.set_decryption_key(&new.vin, &e.serial, key, now.timestamp()).await?;
        }
        let vehicle =
            tx.lock_vehicle(&new.vin).await?.ok_or_else(|| ServiceError::Internal("vehicle vanished".into()))?;
        repo::publish(&mut tx, &vehicle, &[], &self.signers, &self.config.lifetimes, now).await?;
        let serials: Vec<&str> = ecus.iter().map(|e| e.serial.as_str()).collect();
        let detail = json!({"vin": new.vin, "primary": new.primary_ecu_serial, "ecus": serials}).to_string();
        tx.event(&new.vin, "registered", &detail, now.timestamp()).await?;
        tx.audit(actor, "register-vehicle", &detail, now.timestamp()).await?;
        tx.commit().await?;
        Ok(token)
    }

    /// Assigns images; each vehicle's assignments are issued at once if it has no bundle
    /// outstanding, else queued until its manifest confirms the outstanding one.
    pub async fn assign(&self, actor: &str, request: NewAssignments) -> Result<Vec<Assignment>> {
        if request.vehicles.is_empty() || request.images.is_empty() {
            return Err(ServiceError::Invalid("name at least one vehicle and one hardware id".into()));
        }
        let now = now();
        let entries = self.resolve_images(&request.images, now)?;
        // One transaction for every vehicle named: a request is done whole or not at all.
        let mut vins: Vec<&str> = request.vehicles.iter().map(String::as_str).collect();
        vins.sort_unstable();
        vins.dedup();
        let _order = self.ordered_all(&vins).await;
        let mut tx = self.store.begin().await?;
        let mut created = Vec::new();
        for vin in vins {
            created.extend(self.assign_vehicle(&mut tx, actor, vin, &entries, now).await?);
        }
        tx.commit().await?;
        Ok(created)
    }

    /// Each hardware id's image, checked against the verified image repository:
    /// (target path, canonical target file, release counter).
    pub(crate) fn resolve_images(
        &self,
        images: &BTreeMap<String, String>,
        now: DateTime<Utc>,
    ) -> Result<BTreeMap<String, (String, String, u64)>> {
        let repository =
            self.images.as_ref().ok_or_else(|| ServiceError::Invalid("no image repository is configured".into()))?;
        let mut entries = BTreeMap::new();
        for (hardware, path) in images {
            let info =
                repository.find(path, now).map_err(|e| ServiceError::Invalid(e.to_string()))?.ok_or_else(|| {
                    ServiceError::Invalid(format!("{path}: not in the image repository's verified targets"))
                })?;
            let custom = metadata_schemas::uptane::ImageTargetCustom::from_target(&info.path, &info.file)
                .map_err(|e| ServiceError::Invalid(format!("{path}: {e}")))?;
            if !custom.hardware_identifiers.iter().any(|h| h.as_str() == hardware) {
                return Err(ServiceError::Invalid(format!("{path}: not built for hardware {hardware}")));
            }
            let file = String::from_utf8(json::to_canonical(&info.file.encode())).unwrap_or_default();
            entries.insert(hardware.clone(), (path.clone(), file, custom.release_counter));
        }
        Ok(entries)
    }

    /// Queues (and, when no bundle is outstanding, issues) one vehicle's assignments
    /// inside `tx`.
    pub(crate) async fn assign_vehicle(
        &self,
        tx: &mut Tx,
        actor: &str,
        vin: &str,
        entries: &BTreeMap<String, (String, String, u64)>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Assignment>> {
        let vehicle = tx.lock_vehicle(vin).await?.ok_or_else(|| ServiceError::NotFound(format!("vehicle {vin}")))?;
        if !vehicle.decommission.takes_updates() {
            return Err(ServiceError::Conflict(format!(
                "vehicle {vin} is {}: it takes no new image",
                vehicle.decommission.as_str()
            )));
        }
        let ecus = tx.ecus(vin).await?;
        let existing = tx.assignments(vin).await?;
        let mut added = Vec::new();
        for ecu in &ecus {
            let Some((path, file, counter)) = entries.get(&ecu.hardware_id) else { continue };
            for old in existing.iter().filter(|a| a.serial == ecu.serial && a.state == AssignmentState::Queued) {
                tx.set_assignment_state(&old.id, AssignmentState::Cancelled, None, now.timestamp()).await?;
            }
            let a = Assignment {
                id: crate::config::new_token()[..32].to_string(),
                vin: vin.to_string(),
                serial: ecu.serial.clone(),
                target: path.clone(),
                target_file: file.clone(),
                hardware_id: ecu.hardware_id.clone(),
                release_counter: *counter as i64,
                state: AssignmentState::Queued,
                previous: None,
                created: now.timestamp(),
                updated: now.timestamp(),
                rollout: None, // a rollout names itself on them once they are made
            };
            tx.insert_assignment(&a).await?;
            self.encrypt_for(tx, &a).await?;
            added.push(a);
        }
        if added.is_empty() {
            return Err(ServiceError::Invalid(format!("vehicle {vin} has no ECU with the hardware ids named")));
        }
        let targets: Vec<_> = added.iter().map(|a| json!({"ecu": a.serial, "target": a.target})).collect();
        let detail = json!({"vin": vin, "assignments": targets}).to_string();
        tx.event(vin, "assigned", &detail, now.timestamp()).await?;
        tx.audit(actor, "assign", &detail, now.timestamp()).await?;
        if self.issue_queued(tx, &vehicle, &ecus, now).await? {
            added.iter_mut().for_each(|a| a.state = AssignmentState::Issued);
        }
        Ok(added)
    }

    /// Issues the queued assignments if no bundle is outstanding (partial-bundle safety).
    pub(crate) async fn issue_queued(
        &self,
        tx: &mut Tx,
        vehicle: &Vehicle,
        ecus: &[Ecu],
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let all = tx.assignments(&vehicle.vin).await?;
        if all.iter().any(|a| a.state == AssignmentState::Issued) {
            return Ok(false);
        }
        let queued: Vec<Assignment> = all.into_iter().filter(|a| a.state == AssignmentState::Queued).collect();
        if queued.is_empty() {
            return Ok(false);
        }
        let mut issued = Vec::with_capacity(queued.len());
        for mut a in queued {
            let previous = ecus.iter().find(|e| e.serial == a.serial).and_then(|e| e.installed.clone());
            tx.set_assignment_state(&a.id, AssignmentState::Issued, previous.as_deref(), now.timestamp()).await?;
            a.state = AssignmentState::Issued;
            a.previous = previous;
            issued.push(a);
        }
        let versions = repo::publish(tx, vehicle, &issued, &self.signers, &self.config.lifetimes, now).await?;
        let detail = json!({"targets_version": versions.0, "images": issued.iter().map(|a| json!({"ecu": a.serial, "target": a.target})).collect::<Vec<_>>()});
        tx.event(&vehicle.vin, "issued", &detail.to_string(), now.timestamp()).await?;
        tx.audit(
            "director",
            "sign-metadata",
            &json!({"vin": vehicle.vin, "targets": versions.0, "snapshot": versions.1, "timestamp": versions.2})
                .to_string(),
            now.timestamp(),
        )
        .await?;
        Ok(true)
    }

    /// Cancels a vehicle's queued and issued assignments; issued ones leave its director
    /// targets at once. The number cancelled.
    pub async fn cancel(&self, actor: &str, vin: &str) -> Result<usize> {
        let now = now();
        let _order = self.ordered(vin).await;
        let mut tx = self.store.begin().await?;
        let vehicle = tx.lock_vehicle(vin).await?.ok_or_else(|| ServiceError::NotFound(format!("vehicle {vin}")))?;
        let open: Vec<Assignment> = tx.assignments(vin).await?.into_iter().filter(|a| a.state.is_open()).collect();
        for a in &open {
            tx.set_assignment_state(&a.id, AssignmentState::Cancelled, None, now.timestamp()).await?;
        }
        if open.iter().any(|a| a.state == AssignmentState::Issued) {
            repo::publish(&mut tx, &vehicle, &[], &self.signers, &self.config.lifetimes, now).await?;
        }
        let detail = json!({"vin": vin, "cancelled": open.len()}).to_string();
        tx.event(vin, "cancelled", &detail, now.timestamp()).await?;
        tx.audit(actor, "cancel", &detail, now.timestamp()).await?;
        tx.commit().await?;
        Ok(open.len())
    }

    /// Ingests a manifest: refused ones change nothing but are recorded with the
    /// reason; accepted ones update the inventory and move the vehicle's bundle on.
    /// `token` is the device token's hash when the device authenticated by token (it
    /// is checked against the vehicle read here, saving a query per request).
    pub async fn ingest(&self, vin: &str, token: Option<&str>, bytes: &[u8]) -> Result<Ingested> {
        let now = now();
        let _order = self.ordered(vin).await;
        let mut tx = self.store.begin().await?;
        let (vehicle, ecus, in_rollouts) = match tx.lock_vehicle_with_ecus(vin).await? {
            Some(found) => found,
            None if token.is_some() => return Err(ServiceError::Unauthorized("unknown device token".into())),
            None => return Err(ServiceError::NotFound(format!("vehicle {vin}"))),
        };
        check_token(&vehicle.token_hash, token)?;
        gone(vin, vehicle.decommission)?;
        let clock = manifest::Clock { now: now.timestamp(), max_skew: self.config.max_clock_skew_secs as i64 };
        let accepted = match manifest::check(bytes, &vehicle, &ecus, clock) {
            Ok(accepted) => accepted,
            Err(refusal) => return Err(self.refuse(tx, vin, refusal, now.timestamp()).await),
        };
        self.take_reports(&mut tx, vin, &accepted, clock, now).await?;
        let manifest_text = String::from_utf8_lossy(bytes);
        tx.set_manifest(vin, &manifest_text, now.timestamp(), accepted.latest_time.max(vehicle.reported_time)).await?;
        let resolved = resolve_assignments(&mut tx, vin, &accepted, now.timestamp()).await?;
        if in_rollouts {
            crate::rollouts::follow_rollouts(&mut tx, vin, now.timestamp()).await?;
        }
        let digest = metadata_schemas::hex::encode(&threshold_keys::digest::sha256(bytes));
        tx.audit(
            &format!("vehicle:{vin}"),
            "manifest-accepted",
            &json!({"vin": vin, "sha256": digest}).to_string(),
            now.timestamp(),
        )
        .await?;
        self.take_offline_installs(&mut tx, &vehicle, &accepted.offline_installs, &digest, now).await?;
        if let Some(nonce) = accepted.decommission_ack.as_deref().filter(|_| vehicle.decommission != Active) {
            let ecus: Vec<&str> = accepted
                .reports
                .iter()
                .filter(|r| r.decommission_ack.as_deref() == Some(nonce))
                .map(|r| r.serial.as_str())
                .collect();
            self.take_acknowledgement(&mut tx, &vehicle, (nonce, &ecus), &digest, now.timestamp()).await?;
        }
        let issued =
            if resolved.is_empty() { false } else { self.after_resolved(&mut tx, vin, &resolved, now).await? };
        tx.commit().await?;
        self.metrics.accepted();
        // The manifest is stored: a time key that fails to sign costs the ECUs this
        // cycle's time, not the vehicle its answer.
        let time_attestation = self.time_attestation(&accepted, now).unwrap_or_else(|e| {
            crate::log::error("time-attestation-failed", &[("vin", json!(vin)), ("error", json!(format!("{e:?}")))]);
            None
        });
        Ok(Ingested { resolved, issued, time_attestation })
    }

    /// Records a refused manifest (an event and an audit entry, nothing else) and
    /// answers with the refusal.
    async fn refuse(&self, mut tx: Tx, vin: &str, refusal: Refusal, now: i64) -> ServiceError {
        let detail = json!({"vin": vin, "reason": refusal.label(), "detail": refusal.to_string()}).to_string();
        let recorded = async {
            tx.event(vin, "manifest-refused", &detail, now).await?;
            tx.audit(&format!("vehicle:{vin}"), "manifest-refused", &detail, now).await?;
            tx.commit().await
        };
        if let Err(e) = recorded.await {
            return ServiceError::from(e);
        }
        self.metrics.refused(refusal.label());
        ServiceError::Refused(refusal)
    }

    /// Takes an accepted manifest's reports into the inventory, with the events they
    /// call for: ECUs that did not answer, attacks, announced keys, skewed clocks.
    async fn take_reports(
        &self,
        tx: &mut Tx,
        vin: &str,
        accepted: &manifest::Accepted,
        clock: manifest::Clock,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let updates: Vec<_> = accepted.reports.iter().map(ecu_update).collect();
        tx.update_ecus(vin, &updates).await?;
        if !accepted.missing.is_empty() {
            let detail = json!({"ecus": accepted.missing,
                "what": "no report: the ECU did not answer the primary; its record and assignments stay as they were"});
            tx.event(vin, "ecus-missing", &detail.to_string(), now.timestamp()).await?;
        }
        for r in &accepted.reports {
            if r.attack != 0 {
                let detail = json!({"ecu": r.serial, "attack": r.attack}).to_string();
                tx.event(vin, "attack-reported", &detail, now.timestamp()).await?;
            }
            if let Some(key) = r.decryption_key {
                self.take_announced_key(tx, vin, &r.serial, &key, now).await?;
            }
            if r.skewed {
                let detail = json!({"ecu": r.serial, "max_skew_secs": clock.max_skew,
                    "what": "its clock is ahead of the director's: the report is accepted, its time is not"});
                tx.event(vin, "clock-skew", &detail.to_string(), now.timestamp()).await?;
            }
        }
        Ok(())
    }

    /// After assignments resolved: the next queued bundle is issued, or a failed image
    /// leaves the director targets so the ECU stops retrying it. Whether new director
    /// metadata was signed.
    async fn after_resolved(
        &self,
        tx: &mut Tx,
        vin: &str,
        resolved: &[(String, AssignmentState)],
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let vehicle = tx.lock_vehicle(vin).await?.ok_or_else(|| ServiceError::Internal("vehicle vanished".into()))?;
        let ecus = tx.ecus(vin).await?;
        if self.issue_queued(tx, &vehicle, &ecus, now).await? {
            return Ok(true);
        }
        let still_issued = tx.assignments(vin).await?.iter().any(|a| a.state == AssignmentState::Issued);
        let failed = resolved.iter().any(|(_, s)| *s == AssignmentState::Failed);
        if still_issued || !failed {
            return Ok(false);
        }
        repo::publish(tx, &vehicle, &[], &self.signers, &self.config.lifetimes, now).await?;
        Ok(true)
    }

    /// The director's time, signed with its time key, for the ECUs whose reports carried
    /// a nonce (secure time: an ECU takes a time only with its own fresh nonce).
    fn time_attestation(&self, accepted: &manifest::Accepted, now: DateTime<Utc>) -> Result<Option<String>> {
        let Some(key) = &self.signers.time else { return Ok(None) };
        let nonces: Vec<u64> = accepted.reports.iter().filter_map(|r| r.nonce).collect();
        if nonces.is_empty() {
            return Ok(None);
        }
        let attestation = metadata_schemas::uptane::TimeAttestation {
            time: metadata_schemas::UtcTime::new(now),
            nonces,
            unknown: Default::default(),
        };
        let mut signed = metadata_schemas::Signed::unsigned(attestation);
        let signature = key.sign(&signed.canonical_signed()).map_err(|e| ServiceError::Internal(e.to_string()))?;
        signed.signatures.push(signature);
        Ok(Some(String::from_utf8_lossy(&signed.to_canonical_json()).into_owned()))
    }

    /// A vehicle's inventory, last manifest, status per ECU, director metadata versions
    /// and assignments (the admin API's `GET /vehicles/{vin}`).
    pub async fn status(&self, vin: &str) -> Result<serde_json::Value> {
        let vehicle = self.store.vehicle(vin).await?.ok_or_else(|| ServiceError::NotFound(format!("vehicle {vin}")))?;
        let ecus = self.store.ecus(vin).await?;
        let assignments = self.store.assignments(vin).await?;
        let offline = self.store.offline_installs(vin, 50).await?;
        let parse = |text: Option<&str>| text.and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok());
        let ecus: Vec<serde_json::Value> = ecus
            .iter()
            .map(|e| {
                json!({"serial": e.serial, "hardware_id": e.hardware_id, "verification": e.verification,
                       "report_counter": e.report_counter, "reported_time": e.reported_time,
                       "installed": parse(e.installed.as_deref()), "attack": e.attack,
                       "status": e.status.map(crate::store::EcuStatus::to_json)})
            })
            .collect();
        Ok(json!({
            "vin": vehicle.vin, "primary_ecu_serial": vehicle.primary_serial, "registered": vehicle.registered,
            "decommission": vehicle.decommission.as_str(),
            "ecus": ecus, "last_manifest": parse(vehicle.manifest.as_deref()), "last_manifest_time": vehicle.manifest_time,
            "director": {"targets_version": vehicle.targets_version, "snapshot_version": vehicle.snapshot_version,
                         "timestamp_version": vehicle.timestamp_version, "timestamp_expires": vehicle.timestamp_expires},
            "assignments": assignments.iter().map(assignment_json).collect::<Vec<_>>(),
            "offline_installs": offline,
        }))
    }

    /// Re-signs every vehicle's targets, snapshot and timestamp with the current keys
    /// (after a root rotation), listing what each has issued.
    pub async fn resign_all(&self) -> Result<usize> {
        let vins = self.store.vins().await?;
        for vin in &vins {
            self.resign("director", vin, "new root").await?;
        }
        Ok(vins.len())
    }

    /// Re-signs one vehicle's targets, snapshot and timestamp (new versions, fresh
    /// expiry), listing what it has issued, with `reason` in the audit log; whether the
    /// vehicle exists.
    pub async fn resign(&self, actor: &str, vin: &str, reason: &str) -> Result<bool> {
        let now = now();
        let _order = self.ordered(vin).await;
        let mut tx = self.store.begin().await?;
        let Some(vehicle) = tx.lock_vehicle(vin).await? else { return Ok(false) };
        let issued: Vec<Assignment> =
            tx.assignments(vin).await?.into_iter().filter(|a| a.state == AssignmentState::Issued).collect();
        let versions = repo::publish(&mut tx, &vehicle, &issued, &self.signers, &self.config.lifetimes, now).await?;
        let detail = json!({"vin": vin, "targets": versions.0, "reason": reason}).to_string();
        tx.audit(actor, "sign-metadata", &detail, now.timestamp()).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// A director metadata file of a vehicle, by its TUF file name, for a device that
    /// authenticated with a token (`token`: its hash) or a certificate; a timestamp near
    /// its expiry is re-signed first.
    pub async fn director_file(&self, vin: &str, file: &str, token: Option<&str>) -> Result<Option<String>> {
        let found = self.store.vehicle_file(vin, file).await?;
        let Some(VehicleFile { token_hash, timestamp_expires, decommission, bytes }) = found else {
            return Err(match token {
                Some(_) => ServiceError::Unauthorized("unknown device token".into()),
                None => ServiceError::NotFound(format!("vehicle {vin}")),
            });
        };
        check_token(&token_hash, token)?;
        gone(vin, decommission)?;
        if let Some(version) = file.strip_suffix(".root.json").and_then(|v| v.parse::<i64>().ok()) {
            return Ok(self.store.root(version).await?);
        }
        if file == "root.json" {
            return Ok(self.store.latest_root().await?.map(|(_, bytes)| bytes));
        }
        let now = now();
        if file == "timestamp.json"
            && timestamp_expires - now.timestamp() <= self.config.lifetimes.timestamp_margin as i64
        {
            let _order = self.ordered(vin).await;
            let mut tx = self.store.begin().await?;
            let vehicle =
                tx.lock_vehicle(vin).await?.ok_or_else(|| ServiceError::NotFound(format!("vehicle {vin}")))?;
            if repo::refresh_timestamp(&mut tx, &vehicle, &self.signers, &self.config.lifetimes, now).await? {
                let detail = json!({"vin": vin, "timestamp": vehicle.timestamp_version + 1}).to_string();
                tx.audit("director", "sign-metadata", &detail, now.timestamp()).await?;
            }
            tx.commit().await?;
            return Ok(self.store.metadata(vin, file).await?);
        }
        Ok(bytes)
    }
}

/// A decommissioned vehicle's requests are answered 410 Gone and change nothing.
fn gone(vin: &str, state: DecommissionState) -> Result<()> {
    if state.is_gone() {
        return Err(ServiceError::Gone(format!(
            "vehicle {vin} is {}: its keys and credentials are revoked; provision it again to bring it back",
            state.as_str()
        )));
    }
    Ok(())
}

/// A device token's hash must match the vehicle's (when the device used a token).
fn check_token(stored: &str, token: Option<&str>) -> Result<()> {
    match token {
        Some(hash) if !crate::api::same_digest(stored, hash) => {
            Err(ServiceError::Unauthorized("unknown device token".into()))
        }
        _ => Ok(()),
    }
}

/// An assignment as the admin API shows it.
pub fn assignment_json(a: &Assignment) -> serde_json::Value {
    json!({"id": a.id, "vin": a.vin, "ecu": a.serial, "target": a.target, "hardware_id": a.hardware_id,
           "release_counter": a.release_counter, "state": a.state.as_str(), "created": a.created, "updated": a.updated})
}

/// Whether a report's installed image (canonical JSON) is the assigned one.
/// The ECUs of a registration, checked: serials and hardware ids named well, each once,
/// a verification mode, a public key this director can verify with, the primary among them.
fn valid_ecus(new: &NewVehicle) -> Result<Vec<Ecu>> {
    if new.ecus.is_empty() {
        return Err(ServiceError::Invalid("a vehicle needs at least one ECU".into()));
    }
    let mut ecus = Vec::with_capacity(new.ecus.len());
    for e in &new.ecus {
        valid_name("ECU serial", &e.serial)?;
        valid_name("hardware id", &e.hardware_id)?;
        if ecus.iter().any(|x: &Ecu| x.serial == e.serial) {
            return Err(ServiceError::Invalid(format!("ECU {} listed twice", e.serial)));
        }
        if !matches!(e.verification.as_str(), "partial" | "full") {
            return Err(ServiceError::Invalid(format!("ECU {}: verification is partial or full", e.serial)));
        }
        let text = e.public_key.to_string();
        let value = json::parse(text.as_bytes())
            .map_err(|err| ServiceError::Invalid(format!("ECU {} key: {err}", e.serial)))?;
        let key = <metadata_schemas::Key as Decode>::decode(&value)
            .map_err(|err| ServiceError::Invalid(format!("ECU {} key: {err}", e.serial)))?;
        threshold_keys::PublicKey::from_metadata(&key)
            .map_err(|err| ServiceError::Invalid(format!("ECU {} key: {err}", e.serial)))?;
        let canonical = String::from_utf8(json::to_canonical(&key.encode())).unwrap_or_default();
        ecus.push(Ecu {
            serial: e.serial.clone(),
            hardware_id: e.hardware_id.clone(),
            public_key: canonical,
            verification: e.verification.clone(),
            report_counter: -1,
            reported_time: 0,
            installed: None,
            attack: 0,
            status: None,
        });
    }
    if !ecus.iter().any(|e| e.serial == new.primary_ecu_serial) {
        return Err(ServiceError::Invalid(format!("the primary {} is not among the ECUs", new.primary_ecu_serial)));
    }
    Ok(ecus)
}

/// The ECU row change one accepted report makes.
fn ecu_update(r: &manifest::AcceptedReport) -> crate::store::EcuUpdate<'_> {
    crate::store::EcuUpdate {
        serial: &r.serial,
        counter: r.counter,
        time: r.time,
        installed: &r.installed,
        attack: r.attack,
        boot_state: r.status.as_ref().map(|s| s.boot_state.as_str()),
        install_result: r.status.as_ref().and_then(|s| s.install_result).map(|r| r.code()),
        previous_image: r.status.as_ref().and_then(|s| s.previous_image.as_ref()).map(|p| p.as_str()),
        installed_path: &r.installed_path,
    }
}

/// Moves the vehicle's issued assignments on as its accepted reports say
/// ([`crate::assignment::on_report`]); the ones resolved, by ECU.
async fn resolve_assignments(
    tx: &mut Tx,
    vin: &str,
    accepted: &manifest::Accepted,
    now: i64,
) -> Result<Vec<(String, AssignmentState)>> {
    let mut resolved = Vec::new();
    for a in tx.issued_assignments(vin).await? {
        let Some(report) = accepted.reports.iter().find(|r| r.serial == a.serial) else { continue };
        let wanted = crate::assignment::Image::from_json(Some(&a.target), &a.target_file).ok_or_else(|| {
            ServiceError::Internal(format!("assignment {}: a target entry without length or hashes", a.id))
        })?;
        let outcome = crate::assignment::on_report(&wanted, a.previous.as_deref(), &report.installed, report.attack);
        if outcome == crate::assignment::Outcome::LearnedPrevious {
            tx.set_assignment_state(&a.id, AssignmentState::Issued, Some(&report.installed), now).await?;
        }
        let Some(state) = outcome.state() else { continue };
        tx.set_assignment_state(&a.id, state, None, now).await?;
        let detail = json!({"ecu": a.serial, "target": a.target, "state": state.as_str()}).to_string();
        tx.event(vin, &format!("assignment-{state}"), &detail, now).await?;
        resolved.push((a.serial.clone(), state));
    }
    Ok(resolved)
}
