//! Offline installs a vehicle's primary reports in its next signed manifest: recorded,
//! announced, and the directed images they replaced withdrawn.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::{Director, Result, ServiceError};
use crate::assignment::AssignmentState;
use crate::repo;
use crate::store::{Tx, Vehicle};

impl Director {
    /// Records the offline installs a manifest reports: stored, and one event and one
    /// audit entry each (`installed-offline`, or `offline-install-failed`). An ECU that
    /// installed offline has moved past what the director directed: its open assignments
    /// are withdrawn and the vehicle's targets re-signed without its directed image, so
    /// the primary is not sent back to it (a rollback its ECU would refuse).
    pub(super) async fn take_offline_installs(
        &self,
        tx: &mut Tx,
        vehicle: &Vehicle,
        installs: &[metadata_schemas::uptane::OfflineInstall],
        digest: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let vin = vehicle.vin.as_str();
        let mut moved = Vec::new();
        for install in tx.record_offline_installs(vin, installs, digest, now.timestamp()).await? {
            let kind = if install.failure.is_some() { "offline-install-failed" } else { "installed-offline" };
            let detail = json!({"ecu": install.ecu.as_str(), "image": install.image, "bundle": install.bundle,
                "bundle_version": install.bundle_version, "at": install.at.time().timestamp(),
                "failure": install.failure, "manifest_sha256": digest})
            .to_string();
            tx.event(vin, kind, &detail, now.timestamp()).await?;
            tx.audit(&format!("vehicle:{vin}"), kind, &detail, now.timestamp()).await?;
            if install.failure.is_none() {
                moved.push(install.ecu.as_str().to_string());
            }
        }
        if moved.is_empty() {
            return Ok(());
        }
        let mut still_issued = Vec::new();
        for a in tx.assignments(vin).await? {
            if moved.contains(&a.serial) && a.state.is_open() {
                tx.set_assignment_state(&a.id, AssignmentState::Cancelled, None, now.timestamp()).await?;
                let detail = json!({"ecu": a.serial, "target": a.target, "why": "installed offline"}).to_string();
                tx.event(vin, "assignment-cancelled", &detail, now.timestamp()).await?;
            } else if a.state == AssignmentState::Issued {
                still_issued.push(a);
            }
        }
        let vehicle = tx.lock_vehicle(vin).await?.ok_or_else(|| ServiceError::Internal("vehicle vanished".into()))?;
        repo::publish(tx, &vehicle, &still_issued, &self.signers, &self.config.lifetimes, now).await?;
        Ok(())
    }
}
