//! The store's queries for the dashboard's pages: how recently the fleet checked in,
//! recent attack reports, the soonest-expiring director timestamp, a vehicle's rollouts,
//! the audit log's newest entries, and a word looked up across the inventory.

use sqlx::Row;

use super::{AuditEntry, Event, Result, Store};
use crate::rollout::vehicle::VehicleState;

/// How many vehicles last checked in when.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct SeenCounts {
    /// In the last 24 hours.
    pub day: u64,
    /// In the last 7 days, not the last 24 hours.
    pub week: u64,
    /// Before that.
    pub older: u64,
    /// Never.
    pub never: u64,
}

/// An attack an ECU reported (an `attack-reported` event).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct AttackReport {
    /// The vehicle.
    pub vin: String,
    /// When (Unix seconds).
    pub time: i64,
    /// The event's detail (JSON: the ECU and the attack code).
    pub detail: String,
}

/// A rollout a vehicle belongs to, and where it stands in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Membership {
    /// The rollout.
    pub rollout: String,
    /// Its name.
    pub name: String,
    /// The vehicle's stratum.
    pub stratum: String,
    /// The stage that admits it.
    pub stage: usize,
    /// Where it stands.
    pub state: VehicleState,
    /// Why it failed, if it did.
    pub failure_code: Option<String>,
}

impl Store {
    /// How many vehicles checked in within a day, a week, before, or never, at `now`.
    pub async fn seen_counts(&self, now: i64) -> Result<SeenCounts> {
        let row = sqlx::query(
            "SELECT CAST(COALESCE(SUM(CASE WHEN manifest_time >= $1 THEN 1 ELSE 0 END), 0) AS BIGINT) AS day, \
             CAST(COALESCE(SUM(CASE WHEN manifest_time < $1 AND manifest_time >= $2 THEN 1 ELSE 0 END), 0) AS BIGINT) AS week, \
             CAST(COALESCE(SUM(CASE WHEN manifest_time < $2 AND manifest_time > 0 THEN 1 ELSE 0 END), 0) AS BIGINT) AS older, \
             CAST(COALESCE(SUM(CASE WHEN manifest_time = 0 THEN 1 ELSE 0 END), 0) AS BIGINT) AS never FROM vehicles",
        )
        .bind(now - 86_400)
        .bind(now - 7 * 86_400)
        .fetch_one(&self.read)
        .await?;
        let n = |name: &str| row.try_get::<i64, _>(name).map(|v| v as u64);
        Ok(SeenCounts { day: n("day")?, week: n("week")?, older: n("older")?, never: n("never")? })
    }

    /// The newest attack reports since `since`, newest first.
    pub async fn attack_reports(&self, since: i64, limit: i64) -> Result<Vec<AttackReport>> {
        let rows = sqlx::query(
            "SELECT vin, time, detail FROM events WHERE kind = 'attack-reported' AND time >= $1 \
             ORDER BY time DESC LIMIT $2",
        )
        .bind(since)
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AttackReport { vin: r.try_get("vin")?, time: r.try_get("time")?, detail: r.try_get("detail")? })
            })
            .collect()
    }

    /// The vehicle whose director timestamp expires first, and when.
    pub async fn soonest_timestamp_expiry(&self) -> Result<Option<(String, i64)>> {
        let row = sqlx::query(
            "SELECT vin, timestamp_expires FROM vehicles WHERE timestamp_expires > 0 \
             ORDER BY timestamp_expires LIMIT 1",
        )
        .fetch_optional(&self.read)
        .await?;
        row.map(|r| Ok((r.try_get("vin")?, r.try_get("timestamp_expires")?))).transpose()
    }

    /// The rollouts that selected `vin`, newest first.
    pub async fn memberships(&self, vin: &str) -> Result<Vec<Membership>> {
        let rows = sqlx::query(
            "SELECT rv.rollout, r.name, rv.stratum, rv.stage, rv.state, rv.failure_code FROM rollout_vehicles rv \
             JOIN rollouts r ON r.id = rv.rollout WHERE rv.vin = $1 ORDER BY r.created DESC",
        )
        .bind(vin)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                let name: String = r.try_get("state")?;
                let state = VehicleState::parse(&name)
                    .ok_or_else(|| super::StoreError::Corrupt(format!("rollout vehicle state {name:?}")))?;
                Ok(Membership {
                    rollout: r.try_get("rollout")?,
                    name: r.try_get("name")?,
                    stratum: r.try_get("stratum")?,
                    stage: r.try_get::<i64, _>("stage")? as usize,
                    state,
                    failure_code: r.try_get("failure_code")?,
                })
            })
            .collect()
    }

    /// The audit log's last entry's position (0: empty).
    pub async fn audit_head(&self) -> Result<i64> {
        let row = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS head FROM audit").fetch_one(&self.read).await?;
        Ok(row.try_get("head")?)
    }

    /// The entry at `seq`, if any.
    pub async fn audit_entry(&self, seq: i64) -> Result<Option<AuditEntry>> {
        Ok(self.audit(seq - 1, 1).await?.into_iter().next())
    }

    /// Up to `limit` VINs a word names: a VIN starting with it, or a vehicle with an ECU of
    /// that serial, hardware id or image, or with that tag.
    pub async fn search_vins(&self, word: &str, limit: i64) -> Result<Vec<String>> {
        let rows = sqlx::query(
            // Each branch stops at the limit along its own index (VIN order), so a word that
            // names the whole fleet (a hardware id, a tag) costs no more than a rare one.
            "SELECT vin FROM (SELECT vin FROM vehicles WHERE substr(vin, 1, CAST($1 AS INTEGER)) = $2 \
                              ORDER BY vin LIMIT $3) AS by_vin \
             UNION SELECT vin FROM (SELECT vin FROM ecus WHERE serial = $2 ORDER BY vin LIMIT $3) AS by_serial \
             UNION SELECT vin FROM (SELECT vin FROM ecus WHERE hardware_id = $2 ORDER BY vin LIMIT $3) AS by_hw \
             UNION SELECT vin FROM (SELECT vin FROM ecus WHERE installed_path = $2 ORDER BY vin LIMIT $3) AS by_image \
             UNION SELECT vin FROM (SELECT vin FROM vehicle_tags WHERE tag = $2 ORDER BY vin LIMIT $3) AS by_tag \
             ORDER BY vin LIMIT $3",
        )
        .bind(word.chars().count() as i64)
        .bind(word)
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(|r| Ok(r.try_get("vin")?)).collect()
    }

    /// A vehicle's newest events, newest first.
    pub async fn recent_events(&self, vin: &str, limit: i64) -> Result<Vec<Event>> {
        let rows = sqlx::query("SELECT seq, time, kind, detail FROM events WHERE vin = $1 ORDER BY seq DESC LIMIT $2")
            .bind(vin)
            .bind(limit)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(super::event_row).collect()
    }

    /// The newest audit entries an actor made, newest first (a vehicle's accepted
    /// manifests are `vehicle:VIN`'s `manifest-accepted` entries).
    pub async fn audit_by(&self, actor: &str, limit: i64) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT seq, time, actor, action, detail, prev_hash, hash FROM audit WHERE actor = $1 \
             ORDER BY seq DESC LIMIT $2",
        )
        .bind(actor)
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(super::audit_row).collect()
    }
}
