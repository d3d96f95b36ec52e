//! The driver of decommissioning ([`crate::decommission`] decides): an operator's
//! request, the image repository's agreement read on each evaluation, the command in
//! the vehicle's targets, the device's acknowledgement in its last manifest, and the
//! timeout. Every step is one transaction with its event and audit entry.

use chrono::{DateTime, Utc};
use metadata_schemas::uptane::{DecommissionCommand, EraseItem, Vin, command_path};
use metadata_schemas::{Decode, Encode, UtcTime, json};
use serde_json::json;

use super::{Director, Result, ServiceError, internal, now};
use crate::assignment::AssignmentState;
use crate::decommission::{self, DecommissionState, Step};
use crate::repo;
use crate::store::{Decommission, Tx, Vehicle};

/// At most this many requests are checked against the image repository per evaluation.
const CHECKS_PER_EVALUATION: i64 = 1000;

/// What one evaluation did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DecommissionProgress {
    /// Commands issued (the image repository agreed).
    pub issued: usize,
    /// Vehicles decommissioned unacknowledged (the timeout passed).
    pub timed_out: usize,
}

fn refused(e: decommission::DecommissionError) -> ServiceError {
    match e {
        decommission::DecommissionError::WrongState { .. } => ServiceError::Conflict(e.to_string()),
        other => ServiceError::Invalid(other.to_string()),
    }
}

/// A decommissioning record as the API shows it, with the command the image repository
/// must sign while it waits for it.
pub fn decommission_json(d: &Decommission) -> serde_json::Value {
    let erase: Vec<&str> = d.erase.iter().map(|e| e.as_str()).collect();
    let mut value = json!({
        "vin": d.vin, "state": d.state.as_str(), "actor": d.actor, "reason": d.reason, "nonce": d.nonce,
        "erase": erase, "requested": d.requested, "issued": d.issued, "finished": d.finished,
        "acknowledged_by_manifest": d.manifest_sha256,
    });
    if d.state == DecommissionState::Requested {
        value["image_repository"] = json!(format!(
            "repo-tool decommission REPO --vin {} --nonce {} --erase {} && repo-tool publish REPO ...",
            d.vin,
            d.nonce,
            erase.join(",")
        ));
    }
    value
}

impl Director {
    /// An operator asks to decommission a vehicle: the director picks the nonce, the
    /// vehicle takes no new image and leaves the rollouts that have not started it. The
    /// command goes out once the image repository signs the same one.
    pub async fn request_decommission(
        &self,
        actor: &str,
        vin: &str,
        reason: &str,
        erase: Vec<EraseItem>,
    ) -> Result<Decommission> {
        if reason.trim().is_empty() {
            return Err(ServiceError::Invalid("give the reason for decommissioning (it goes in the audit log)".into()));
        }
        let erase = if erase.is_empty() { EraseItem::ALL.to_vec() } else { sorted(erase) };
        let now = now().timestamp();
        let _order = self.ordered(vin).await;
        let mut tx = self.store.begin().await?;
        let vehicle = tx.lock_vehicle(vin).await?.ok_or_else(|| ServiceError::NotFound(format!("vehicle {vin}")))?;
        let state = decommission::next(vehicle.decommission, Step::Request).map_err(refused)?;
        let record = Decommission {
            vin: vin.to_string(),
            state,
            actor: actor.to_string(),
            reason: reason.to_string(),
            nonce: crate::config::new_token()[..32].to_string(),
            erase,
            command: None,
            requested: now,
            issued: None,
            finished: None,
            manifest_sha256: None,
        };
        tx.put_decommission(&record).await?;
        let withdrawn = tx.withdraw_from_rollouts(vin, now).await?;
        let detail = json!({"vin": vin, "reason": reason, "nonce": record.nonce,
            "erase": record.erase.iter().map(|e| e.as_str()).collect::<Vec<_>>(), "rollouts_withdrawn": withdrawn});
        tx.event(vin, "decommission-requested", &detail.to_string(), now).await?;
        tx.audit(actor, "decommission-request", &detail.to_string(), now).await?;
        tx.commit().await?;
        Ok(record)
    }

    /// Withdraws a request whose command has not gone out.
    pub async fn cancel_decommission(&self, actor: &str, vin: &str) -> Result<()> {
        let now = now().timestamp();
        let _order = self.ordered(vin).await;
        let mut tx = self.store.begin().await?;
        let vehicle = tx.lock_vehicle(vin).await?.ok_or_else(|| ServiceError::NotFound(format!("vehicle {vin}")))?;
        decommission::next(vehicle.decommission, Step::Cancel).map_err(refused)?;
        tx.delete_decommission(vin).await?;
        let detail = json!({"vin": vin}).to_string();
        tx.event(vin, "decommission-cancelled", &detail, now).await?;
        tx.audit(actor, "decommission-cancel", &detail, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A vehicle's decommissioning record.
    pub async fn decommission_status(&self, vin: &str) -> Result<Decommission> {
        self.store.decommission(vin).await?.ok_or_else(|| ServiceError::NotFound(format!("decommissioning of {vin}")))
    }

    /// Issues the commands the image repository now signs too, and times out the ones
    /// no acknowledgement answered (the rollout timer calls this; tests call it with the
    /// time they want).
    pub async fn follow_decommissions(&self, now: DateTime<Utc>) -> Result<DecommissionProgress> {
        let mut progress = DecommissionProgress::default();
        for record in self.store.decommissions_in(DecommissionState::Requested, CHECKS_PER_EVALUATION).await? {
            if self.issue_if_signed(&record, now).await? {
                progress.issued += 1;
            }
        }
        progress.timed_out = self.time_out_decommissions(now.timestamp()).await?;
        Ok(progress)
    }

    /// The image repository's command for the vehicle, if it lists one that verifies.
    fn image_repository_command(&self, vin: &str, now: DateTime<Utc>) -> Result<Option<DecommissionCommand>> {
        let Some(repository) = &self.images else { return Ok(None) };
        let vin = Vin::new(vin).ok_or_else(|| ServiceError::Invalid("empty vin".into()))?;
        let path = command_path(&vin);
        let Some(info) = repository.find(path.as_str(), now).map_err(internal)? else { return Ok(None) };
        let Some(metadata_schemas::Digest::Sha256(sha256)) =
            info.file.hashes.get(metadata_schemas::HashAlgorithm::Sha256)
        else {
            return Err(internal(format!("{path}: the image repository lists no sha256")));
        };
        let bytes = repository.read_target(path.as_str(), sha256).map_err(internal)?;
        let value = json::parse(&bytes).map_err(|e| internal(format!("{path}: {e}")))?;
        DecommissionCommand::decode(&value).map(Some).map_err(|e| internal(format!("{path}: {e}")))
    }

    /// Issues one request's command when the image repository signs an agreeing one;
    /// whether it did. One that disagrees is logged and waits (it may be signed again).
    async fn issue_if_signed(&self, record: &Decommission, now: DateTime<Utc>) -> Result<bool> {
        let Some(signed) = self.image_repository_command(&record.vin, now)? else { return Ok(false) };
        let command = DecommissionCommand {
            vin: signed.vin.clone(),
            nonce: record.nonce.clone(),
            issued: UtcTime::new(now),
            erase: record.erase.clone(),
            unknown: Default::default(),
        };
        let agrees = signed.vin.as_str() == record.vin && command.agrees_with(&signed);
        let _order = self.ordered(&record.vin).await;
        let mut tx = self.store.begin().await?;
        let Some(vehicle) = tx.lock_vehicle(&record.vin).await? else { return Ok(false) };
        let state = match decommission::next(vehicle.decommission, Step::ImageRepositorySigned { agrees }) {
            Ok(state) => state,
            Err(e) => {
                let fields = [("vin", json!(record.vin)), ("error", json!(e.to_string()))];
                crate::log::warn("decommission-not-issued", &fields);
                return Ok(false);
            }
        };
        let text = String::from_utf8(json::to_canonical(&command.encode())).map_err(internal)?;
        let issued = Decommission { state, command: Some(text), issued: Some(now.timestamp()), ..record.clone() };
        tx.put_decommission(&issued).await?;
        self.publish_command(&mut tx, &vehicle, state, now).await?;
        let detail =
            json!({"vin": record.vin, "nonce": record.nonce, "image_repository": command_path(&signed.vin).as_str()});
        tx.event(&record.vin, "decommission-issued", &detail.to_string(), now.timestamp()).await?;
        tx.audit("director", "decommission-issue", &detail.to_string(), now.timestamp()).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Cancels the vehicle's open assignments and signs targets that carry the command
    /// and no image: the device has nothing left to install.
    async fn publish_command(
        &self,
        tx: &mut Tx,
        vehicle: &Vehicle,
        state: DecommissionState,
        now: DateTime<Utc>,
    ) -> Result<()> {
        for a in tx.assignments(&vehicle.vin).await?.iter().filter(|a| a.state.is_open()) {
            tx.set_assignment_state(&a.id, AssignmentState::Cancelled, None, now.timestamp()).await?;
        }
        let vehicle = Vehicle { decommission: state, ..vehicle.clone() };
        let versions = repo::publish(tx, &vehicle, &[], &self.signers, &self.config.lifetimes, now).await?;
        let detail = json!({"vin": vehicle.vin, "targets": versions.0, "reason": "decommission command"});
        tx.audit("director", "sign-metadata", &detail.to_string(), now.timestamp()).await?;
        Ok(())
    }

    /// Takes a manifest's acknowledgement (inside its ingest): the vehicle is
    /// decommissioned and its credentials refused from this transaction on. Another
    /// nonce is recorded as an event and changes nothing.
    pub(super) async fn take_acknowledgement(
        &self,
        tx: &mut Tx,
        vehicle: &Vehicle,
        (nonce, ecus): (&str, &[&str]),
        manifest_sha256: &str,
        now: i64,
    ) -> Result<()> {
        let record = tx.decommission(&vehicle.vin).await?.ok_or_else(|| internal("decommission record vanished"))?;
        let step = Step::Acknowledged { nonce, expected: &record.nonce };
        let state = match decommission::next(vehicle.decommission, step) {
            Ok(state) => state,
            Err(e) => {
                let detail = json!({"vin": vehicle.vin, "error": e.to_string()}).to_string();
                return Ok(tx.event(&vehicle.vin, "decommission-ack-refused", &detail, now).await?);
            }
        };
        let done =
            Decommission { state, finished: Some(now), manifest_sha256: Some(manifest_sha256.to_string()), ..record };
        tx.put_decommission(&done).await?;
        let acknowledged = Acknowledged { manifest_sha256, ecus };
        self.revoked(tx, &vehicle.vin, "decommission-acknowledged", Some(acknowledged), now).await
    }

    /// Times out every issued command older than the timeout, each vehicle in its own
    /// transaction; how many.
    async fn time_out_decommissions(&self, now: i64) -> Result<usize> {
        let cutoff = decommission::timeout_cutoff(now, self.config.decommission_ack_timeout_secs);
        let mut tx = self.store.begin().await?;
        let vins = tx.unacknowledged_before(cutoff).await?;
        tx.commit().await?;
        let mut timed_out = 0;
        for vin in vins {
            let _order = self.ordered(&vin).await;
            let mut tx = self.store.begin().await?;
            let Some(vehicle) = tx.lock_vehicle(&vin).await? else { continue };
            let Some(record) = tx.decommission(&vin).await? else { continue };
            let Ok(state) = decommission::next(vehicle.decommission, Step::TimedOut) else { continue };
            tx.put_decommission(&Decommission { state, finished: Some(now), ..record }).await?;
            self.revoked(&mut tx, &vin, "decommission-timed-out", None, now).await?;
            tx.commit().await?;
            timed_out += 1;
        }
        Ok(timed_out)
    }

    /// The event and audit entry of a vehicle leaving service: its ECU keys and device
    /// credentials are refused from now on (every device request answers 410).
    async fn revoked(
        &self,
        tx: &mut Tx,
        vin: &str,
        kind: &str,
        acknowledged: Option<Acknowledged<'_>>,
        now: i64,
    ) -> Result<()> {
        let ecus = tx.ecus(vin).await?;
        let keys: Vec<String> = ecus.iter().filter_map(|e| key_id(&e.public_key)).collect();
        let mut detail = json!({"vin": vin, "revoked_ecu_keys": keys, "credentials": "refused (410 Gone)"});
        if let Some(Acknowledged { manifest_sha256, ecus }) = acknowledged {
            detail["manifest_sha256"] = json!(manifest_sha256);
            detail["ecus_acknowledged"] = json!(ecus);
        }
        tx.event(vin, kind, &detail.to_string(), now).await?;
        tx.audit("director", kind, &detail.to_string(), now).await?;
        Ok(())
    }
}

/// The manifest that acknowledged a decommissioning, and the ECUs whose own signed
/// reports in it carry the nonce.
struct Acknowledged<'a> {
    manifest_sha256: &'a str,
    ecus: &'a [&'a str],
}

/// An ECU key's id, from its stored TUF key JSON.
fn key_id(public_key: &str) -> Option<String> {
    let value = json::parse(public_key.as_bytes()).ok()?;
    let key = metadata_schemas::Key::decode(&value).ok()?;
    Some(threshold_keys::default_key_id(&key).to_string())
}

/// The erase list in its canonical order, each item once (both repositories must list
/// the same).
fn sorted(mut erase: Vec<EraseItem>) -> Vec<EraseItem> {
    erase.sort();
    erase.dedup();
    erase
}
