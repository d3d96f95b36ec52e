//! The store's part of decommissioning: one row per vehicle that an operator asked to
//! decommission, its state mirrored in `vehicles.decommission` so every device request
//! reads it with the vehicle.

use metadata_schemas::uptane::EraseItem;
use sqlx::Row;

use super::{Result, Store, StoreError, Tx};
use crate::decommission::DecommissionState;

/// A vehicle's decommissioning record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decommission {
    /// The vehicle.
    pub vin: String,
    /// Where it stands.
    pub state: DecommissionState,
    /// Who asked.
    pub actor: String,
    /// Why.
    pub reason: String,
    /// The nonce the director chose; the image repository's command and the device's
    /// acknowledgement carry it.
    pub nonce: String,
    /// What the device erases.
    pub erase: Vec<EraseItem>,
    /// The command as the director signs it (canonical JSON), once issued.
    pub command: Option<String>,
    /// When it was asked (Unix seconds).
    pub requested: i64,
    /// When the command was issued.
    pub issued: Option<i64>,
    /// When it was decommissioned (acknowledged or timed out).
    pub finished: Option<i64>,
    /// The SHA-256 of the manifest that acknowledged it.
    pub manifest_sha256: Option<String>,
}

const COLUMNS: &str = "vin, state, actor, reason, nonce, erase, command, requested, issued, finished, manifest_sha256";

fn erase_list(items: &[EraseItem]) -> String {
    items.iter().map(|i| i.as_str()).collect::<Vec<_>>().join(",")
}

fn row(r: &sqlx::any::AnyRow) -> Result<Decommission> {
    let state: String = r.try_get("state")?;
    let erase: String = r.try_get("erase")?;
    let erase = erase
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| EraseItem::parse(s).ok_or_else(|| StoreError::Corrupt(format!("erase item {s:?}"))))
        .collect::<Result<Vec<_>>>()?;
    Ok(Decommission {
        vin: r.try_get("vin")?,
        state: DecommissionState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("decommission state {state:?}")))?,
        actor: r.try_get("actor")?,
        reason: r.try_get("reason")?,
        nonce: r.try_get("nonce")?,
        erase,
        command: r.try_get("command")?,
        requested: r.try_get("requested")?,
        issued: r.try_get("issued")?,
        finished: r.try_get("finished")?,
        manifest_sha256: r.try_get("manifest_sha256")?,
    })
}

impl Store {
    /// A vehicle's decommissioning record, if an operator asked for one.
    pub async fn decommission(&self, vin: &str) -> Result<Option<Decommission>> {
        let sql = format!("SELECT {COLUMNS} FROM decommissions WHERE vin = $1");
        let found = sqlx::query(&sql).bind(vin).fetch_optional(&self.read).await?;
        found.as_ref().map(row).transpose()
    }

    /// Every vehicle an operator asked to decommission, in any state (few: a rollout
    /// leaves them out).
    pub async fn decommissioning_vins(&self) -> Result<std::collections::HashSet<String>> {
        let rows = sqlx::query("SELECT vin FROM decommissions").fetch_all(&self.read).await?;
        rows.iter().map(|r| Ok(r.try_get("vin")?)).collect()
    }

    /// The records in `state`, oldest request first, at most `limit`.
    pub async fn decommissions_in(&self, state: DecommissionState, limit: i64) -> Result<Vec<Decommission>> {
        let sql = format!("SELECT {COLUMNS} FROM decommissions WHERE state = $1 ORDER BY requested, vin LIMIT $2");
        let rows = sqlx::query(&sql).bind(state.as_str()).bind(limit).fetch_all(&self.read).await?;
        rows.iter().map(row).collect()
    }
}

impl Tx {
    /// A vehicle's decommissioning record, read in this transaction.
    pub async fn decommission(&mut self, vin: &str) -> Result<Option<Decommission>> {
        let sql = format!("SELECT {COLUMNS} FROM decommissions WHERE vin = $1");
        let found = sqlx::query(&sql).bind(vin).fetch_optional(&mut *self.tx).await?;
        found.as_ref().map(row).transpose()
    }

    /// Writes a record (new or changed) and mirrors its state on the vehicle.
    pub async fn put_decommission(&mut self, d: &Decommission) -> Result<()> {
        sqlx::query("DELETE FROM decommissions WHERE vin = $1").bind(&d.vin).execute(&mut *self.tx).await?;
        let sql =
            format!("INSERT INTO decommissions ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)");
        sqlx::query(&sql)
            .bind(&d.vin)
            .bind(d.state.as_str())
            .bind(&d.actor)
            .bind(&d.reason)
            .bind(&d.nonce)
            .bind(erase_list(&d.erase))
            .bind(&d.command)
            .bind(d.requested)
            .bind(d.issued)
            .bind(d.finished)
            .bind(&d.manifest_sha256)
            .execute(&mut *self.tx)
            .await?;
        self.set_decommission_state(&d.vin, d.state).await
    }

    /// Removes a withdrawn request; the vehicle is active again.
    pub async fn delete_decommission(&mut self, vin: &str) -> Result<()> {
        sqlx::query("DELETE FROM decommissions WHERE vin = $1").bind(vin).execute(&mut *self.tx).await?;
        self.set_decommission_state(vin, DecommissionState::Active).await
    }

    async fn set_decommission_state(&mut self, vin: &str, state: DecommissionState) -> Result<()> {
        sqlx::query("UPDATE vehicles SET decommission = $1 WHERE vin = $2")
            .bind(state.as_str())
            .bind(vin)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Takes the vehicle out of every rollout that has not offered it the update, or has
    /// offered it and it has not started: withdrawn, not failed, so no gate counts it.
    pub async fn withdraw_from_rollouts(&mut self, vin: &str, now: i64) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE rollout_vehicles SET state = 'withdrawn', finished_at = $1 \
             WHERE vin = $2 AND state IN ('eligible', 'offered')",
        )
        .bind(now)
        .bind(vin)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected())
    }

    /// The vehicles whose command was issued before `cutoff` and never acknowledged.
    pub async fn unacknowledged_before(&mut self, cutoff: i64) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT vin FROM decommissions WHERE state = $1 AND issued < $2 ORDER BY vin")
            .bind(DecommissionState::Issued.as_str())
            .bind(cutoff)
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(|r| Ok(r.try_get("vin")?)).collect()
    }
}
