//! The store's part of staged rollouts: a rollout with its stages and images, the
//! vehicles it selected, and the counts the gate decides on. Rows are read into the
//! typed values of [`crate::rollout`]; a name this director does not write is corrupt.

use std::collections::BTreeMap;

use sqlx::Row;

use super::{Backend, Result, Store, StoreError, Tx};
use crate::assignment::AssignmentState;
use crate::rollout::admission::{Admission, Stages};
use crate::rollout::gate::{Counters, StagePolicy, Thresholds};
use crate::rollout::state::{PauseCause, RolloutState, StateKind};
use crate::rollout::vehicle::{AssignedEcu, Failure, Standing, VehicleState};
use metadata_schemas::uptane::InstallResult;

/// How many of a rollout's vehicles of one stratum, admitted by one stage, stand in one
/// state, and how many of those refused an attack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageCount {
    /// The stratum.
    pub stratum: String,
    /// The stage that admits them.
    pub stage: usize,
    /// Where they stand.
    pub state: VehicleState,
    /// How many.
    pub vehicles: u64,
    /// How many of them failed on an attack.
    pub attacks: u64,
}

/// A rollout as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rollout {
    /// Its id.
    pub id: String,
    /// Its name, for people.
    pub name: String,
    /// The selector that chose its vehicles.
    pub selector: String,
    /// Its maintenance windows, as written (see [`crate::rollout::window`]).
    pub windows: String,
    /// Its salt (hex), which picks its canaries.
    pub salt: String,
    /// Cumulative shares of the stages.
    pub stages: Stages,
    /// Each stage's soak and manual gate.
    pub policies: Vec<StagePolicy>,
    /// The thresholds of every gate.
    pub thresholds: Thresholds,
    /// Seconds after an offer before a vehicle that checked in since counts as timed out.
    pub device_timeout_secs: i64,
    /// Each hardware id's image path.
    pub images: BTreeMap<String, String>,
    /// Where it is.
    pub state: RolloutState,
    /// When its current stage started (Unix seconds).
    pub stage_started: i64,
    /// Created and last changed (Unix seconds).
    pub created: i64,
    /// Last change.
    pub updated: i64,
}

const ROLLOUT: &str = "SELECT id, name, selector, windows, salt, success_ppm, failure_ppm, rollback_ppm, min_finished, \
     device_timeout_secs, state, stage, stage_started, start_at, paused_by, pause_reason, created, updated FROM rollouts";

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{what} {value:?}"))
}

/// The typed state of a rollout row.
fn state(r: &sqlx::any::AnyRow) -> Result<RolloutState> {
    let name: String = r.try_get("state")?;
    let stage = r.try_get::<i64, _>("stage")? as usize;
    Ok(match StateKind::parse(&name).ok_or_else(|| corrupt("rollout state", &name))? {
        StateKind::Draft => RolloutState::Draft,
        StateKind::Scheduled => RolloutState::Scheduled { start_at: r.try_get("start_at")? },
        StateKind::Running => RolloutState::Running { stage },
        StateKind::Paused => {
            let by: Option<String> = r.try_get("paused_by")?;
            let reason: String = r.try_get::<Option<String>, _>("pause_reason")?.unwrap_or_default();
            let cause = match by.as_deref() {
                Some("gate") => PauseCause::Gate(reason),
                Some("operator") => PauseCause::Operator(reason),
                other => return Err(corrupt("pause cause", other.unwrap_or("none"))),
            };
            RolloutState::Paused { stage, cause }
        }
        StateKind::Completed => RolloutState::Completed,
        StateKind::Aborted => RolloutState::Aborted,
        StateKind::Cancelled => RolloutState::Cancelled,
    })
}

/// A rollout row without its stages and images.
fn rollout(r: &sqlx::any::AnyRow) -> Result<Rollout> {
    let ppm = |name: &str| -> Result<u32> { Ok(r.try_get::<i64, _>(name)? as u32) };
    Ok(Rollout {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        selector: r.try_get("selector")?,
        windows: r.try_get("windows")?,
        salt: r.try_get("salt")?,
        stages: Stages::default(),
        policies: Vec::new(),
        thresholds: Thresholds {
            success_ppm: ppm("success_ppm")?,
            failure_ppm: ppm("failure_ppm")?,
            rollback_ppm: ppm("rollback_ppm")?,
            min_finished: r.try_get::<i64, _>("min_finished")? as u64,
        },
        device_timeout_secs: r.try_get("device_timeout_secs")?,
        images: BTreeMap::new(),
        state: state(r)?,
        stage_started: r.try_get("stage_started")?,
        created: r.try_get("created")?,
        updated: r.try_get("updated")?,
    })
}

/// The state's columns: name, stage, start time, who paused it and why.
fn state_columns(state: &RolloutState) -> (&'static str, i64, i64, Option<&'static str>, Option<String>) {
    let kind = state.kind().as_str();
    match state {
        RolloutState::Scheduled { start_at } => (kind, 0, *start_at, None, None),
        RolloutState::Running { stage } => (kind, *stage as i64, 0, None, None),
        RolloutState::Paused { stage, cause: PauseCause::Gate(why) } => {
            (kind, *stage as i64, 0, Some("gate"), Some(why.clone()))
        }
        RolloutState::Paused { stage, cause: PauseCause::Operator(why) } => {
            (kind, *stage as i64, 0, Some("operator"), Some(why.clone()))
        }
        _ => (kind, 0, 0, None, None),
    }
}

/// A rollout row with its stages and images (`lock`: a `FOR UPDATE` suffix, or empty).
async fn load(conn: &mut sqlx::AnyConnection, id: &str, lock: &str) -> Result<Option<Rollout>> {
    let row = sqlx::query(&format!("{ROLLOUT} WHERE id = $1{lock}")).bind(id).fetch_optional(&mut *conn).await?;
    let Some(row) = row else { return Ok(None) };
    let mut found = rollout(&row)?;
    let stages =
        sqlx::query("SELECT share_ppm, soak_secs, manual FROM rollout_stages WHERE rollout = $1 ORDER BY stage")
            .bind(id)
            .fetch_all(&mut *conn)
            .await?;
    let mut shares = Vec::new();
    for s in &stages {
        shares.push(s.try_get::<i64, _>("share_ppm")? as u32);
        found
            .policies
            .push(StagePolicy { soak_secs: s.try_get("soak_secs")?, manual: s.try_get::<i64, _>("manual")? != 0 });
    }
    found.stages = Stages::new(shares).map_err(|e| StoreError::Corrupt(format!("rollout {id} stages: {e}")))?;
    let images = sqlx::query("SELECT hardware_id, target FROM rollout_images WHERE rollout = $1").bind(id);
    for row in images.fetch_all(&mut *conn).await? {
        found.images.insert(row.try_get("hardware_id")?, row.try_get("target")?);
    }
    Ok(Some(found))
}

/// Counts of a rollout's vehicles by stratum, stage and state.
async fn counts(conn: &mut sqlx::AnyConnection, id: &str) -> Result<Vec<StageCount>> {
    let rows = sqlx::query(
        "SELECT stratum, stage, state, COUNT(*) AS n, CAST(SUM(attack) AS BIGINT) AS attacks FROM rollout_vehicles \
         WHERE rollout = $1 GROUP BY stratum, stage, state ORDER BY stratum, stage, state",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            let name: String = r.try_get("state")?;
            let state = VehicleState::parse(&name).ok_or_else(|| corrupt("rollout vehicle state", &name))?;
            Ok(StageCount {
                stratum: r.try_get("stratum")?,
                stage: r.try_get::<i64, _>("stage")? as usize,
                state,
                vehicles: r.try_get::<i64, _>("n")? as u64,
                attacks: r.try_get::<i64, _>("attacks")? as u64,
            })
        })
        .collect()
}

impl Store {
    /// Every rollout (in one state, if given), newest first, without stages and images.
    pub async fn rollouts(&self, only: Option<StateKind>) -> Result<Vec<Rollout>> {
        let rows = match only {
            Some(kind) => {
                sqlx::query(&format!("{ROLLOUT} WHERE state = $1 ORDER BY created DESC, id"))
                    .bind(kind.as_str())
                    .fetch_all(&self.read)
                    .await?
            }
            None => sqlx::query(&format!("{ROLLOUT} ORDER BY created DESC, id")).fetch_all(&self.read).await?,
        };
        rows.iter().map(rollout).collect()
    }

    /// Counts of a rollout's vehicles by stratum, stage and state.
    pub async fn rollout_counts(&self, id: &str) -> Result<Vec<StageCount>> {
        counts(&mut *self.read.acquire().await?, id).await
    }

    /// A rollout, with its stages and images.
    pub async fn rollout(&self, id: &str) -> Result<Option<Rollout>> {
        load(&mut *self.read.acquire().await?, id, "").await
    }

    /// A page of a rollout's vehicles (in one state, if given), in VIN order.
    pub async fn rollout_vehicles(
        &self,
        id: &str,
        only: Option<VehicleState>,
        after: &str,
        limit: i64,
    ) -> Result<Vec<(String, String, usize, VehicleState)>> {
        let rows = sqlx::query(
            "SELECT vin, stratum, stage, state FROM rollout_vehicles WHERE rollout = $1 AND vin > $2 \
             AND ($3 = '' OR state = $3) ORDER BY vin LIMIT $4",
        )
        .bind(id)
        .bind(after)
        .bind(only.map(VehicleState::as_str).unwrap_or(""))
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                let name: String = r.try_get("state")?;
                let state = VehicleState::parse(&name).ok_or_else(|| corrupt("rollout vehicle state", &name))?;
                Ok((r.try_get("vin")?, r.try_get("stratum")?, r.try_get::<i64, _>("stage")? as usize, state))
            })
            .collect()
    }
}

/// The gate's counters per stratum for a rollout at `stage`: the vehicles its stages so
/// far admitted (offered the update or about to be), by where they stand.
pub fn counters_at(counts: &[StageCount], stage: usize) -> Vec<(String, Counters)> {
    let mut strata: BTreeMap<String, Counters> = BTreeMap::new();
    for count in counts {
        let c = strata.entry(count.stratum.clone()).or_default();
        if count.stage > stage {
            continue;
        }
        let (state, n) = (&count.state, &count.vehicles);
        c.admitted += n;
        c.attacks += count.attacks;
        if *state == VehicleState::Eligible {
            continue;
        }
        match state {
            VehicleState::Offered | VehicleState::Withdrawn | VehicleState::Eligible => {}
            VehicleState::Trial => c.trial += n,
            VehicleState::Confirmed => c.confirmed += n,
            VehicleState::Failed => c.failed += n,
            VehicleState::RolledBack => c.rolled_back += n,
            VehicleState::TimedOut => c.timed_out += n,
        }
        if *state != VehicleState::Withdrawn {
            c.offered += n;
        }
    }
    strata.into_iter().collect()
}

impl Tx {
    /// A rollout, with its stages and images; locked until the transaction ends
    /// (PostgreSQL), so one director process evaluates it at a time.
    pub async fn lock_rollout(&mut self, id: &str) -> Result<Option<Rollout>> {
        let lock = if self.backend == Backend::Postgres { " FOR UPDATE" } else { "" };
        load(&mut self.tx, id, lock).await
    }

    /// [`Store::rollout_counts`], as this transaction sees them.
    pub async fn rollout_counts(&mut self, id: &str) -> Result<Vec<StageCount>> {
        counts(&mut self.tx, id).await
    }

    /// Stores a new rollout and the plan of its vehicles.
    pub async fn insert_rollout(&mut self, r: &Rollout, plan: &[Admission]) -> Result<()> {
        let (state, stage, start_at, _, _) = state_columns(&r.state);
        sqlx::query(
            "INSERT INTO rollouts (id, name, selector, salt, success_ppm, failure_ppm, rollback_ppm, min_finished, \
             device_timeout_secs, state, stage, stage_started, start_at, created, updated, windows) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, $12, $13, $13, $14)",
        )
        .bind(&r.id)
        .bind(&r.name)
        .bind(&r.selector)
        .bind(&r.salt)
        .bind(i64::from(r.thresholds.success_ppm))
        .bind(i64::from(r.thresholds.failure_ppm))
        .bind(i64::from(r.thresholds.rollback_ppm))
        .bind(r.thresholds.min_finished as i64)
        .bind(r.device_timeout_secs)
        .bind(state)
        .bind(stage)
        .bind(start_at)
        .bind(r.created)
        .bind(&r.windows)
        .execute(&mut *self.tx)
        .await?;
        self.insert_stages_and_images(r).await?;
        self.insert_plan(&r.id, plan).await
    }

    /// A new rollout's stages and images.
    async fn insert_stages_and_images(&mut self, r: &Rollout) -> Result<()> {
        for (k, policy) in r.policies.iter().enumerate() {
            sqlx::query(
                "INSERT INTO rollout_stages (rollout, stage, share_ppm, soak_secs, manual) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&r.id)
            .bind(k as i64)
            .bind(i64::from(r.stages.share(k)))
            .bind(policy.soak_secs)
            .bind(i64::from(policy.manual))
            .execute(&mut *self.tx)
            .await?;
        }
        for (hardware, target) in &r.images {
            sqlx::query("INSERT INTO rollout_images (rollout, hardware_id, target) VALUES ($1, $2, $3)")
                .bind(&r.id)
                .bind(hardware)
                .bind(target)
                .execute(&mut *self.tx)
                .await?;
        }
        Ok(())
    }

    /// A new rollout's vehicles, each eligible, 400 to a statement.
    async fn insert_plan(&mut self, id: &str, plan: &[Admission]) -> Result<()> {
        for chunk in plan.chunks(400) {
            let rows: Vec<String> = (0..chunk.len())
                .map(|i| format!("($1, ${}, ${}, ${}, ${}, 'eligible')", 2 + i * 4, 3 + i * 4, 4 + i * 4, 5 + i * 4))
                .collect();
            let sql = format!(
                "INSERT INTO rollout_vehicles (rollout, vin, stratum, bucket, stage, state) VALUES {}",
                rows.join(", ")
            );
            let mut query = sqlx::query(&sql).bind(id);
            for a in chunk {
                query = query.bind(&a.vin).bind(&a.stratum).bind(i64::from(a.bucket)).bind(a.stage as i64);
            }
            query.execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    /// Records a rollout's new state (and when its stage started).
    pub async fn set_rollout_state(
        &mut self,
        id: &str,
        state: &RolloutState,
        stage_started: i64,
        now: i64,
    ) -> Result<()> {
        let (kind, stage, start_at, by, reason) = state_columns(state);
        sqlx::query(
            "UPDATE rollouts SET state = $1, stage = $2, start_at = $3, paused_by = $4, pause_reason = $5, \
             stage_started = $6, updated = $7 WHERE id = $8",
        )
        .bind(kind)
        .bind(stage)
        .bind(start_at)
        .bind(by)
        .bind(reason)
        .bind(stage_started)
        .bind(now)
        .bind(id)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Up to `limit` VINs of a rollout in `state` admitted by stages up to `stage`.
    pub async fn rollout_vins(
        &mut self,
        id: &str,
        state: VehicleState,
        stage: usize,
        limit: i64,
    ) -> Result<Vec<(String, i64)>> {
        let rows = sqlx::query(
            "SELECT vin, offered_at FROM rollout_vehicles WHERE rollout = $1 AND state = $2 AND stage <= $3 ORDER BY vin LIMIT $4",
        )
        .bind(id)
        .bind(state.as_str())
        .bind(stage as i64)
        .bind(limit)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter().map(|r| Ok((r.try_get("vin")?, r.try_get("offered_at")?))).collect()
    }

    /// Moves one rollout vehicle from `from` to where it stands now, with its failure
    /// code and (once confirmed) its time from offer to confirmation; whether it was in
    /// `from` (another process may have moved it first).
    pub async fn move_rollout_vehicle(
        &mut self,
        id: &str,
        vin: &str,
        from: VehicleState,
        to: impl Into<Standing>,
        now: i64,
    ) -> Result<bool> {
        let to = to.into();
        let done = sqlx::query(
            "UPDATE rollout_vehicles SET state = $1, \
             offered_at = CASE WHEN $1 = 'offered' THEN $2 ELSE offered_at END, \
             finished_at = CASE WHEN $1 = 'offered' OR $1 = 'trial' THEN finished_at ELSE $2 END, \
             confirm_secs = CASE WHEN $1 = 'confirmed' THEN $2 - offered_at ELSE NULL END, \
             failure_code = $3, attack = $4 \
             WHERE rollout = $5 AND vin = $6 AND state = $7",
        )
        .bind(to.state.as_str())
        .bind(now)
        .bind(to.failure.map(Failure::code))
        .bind(i64::from(to.failure.is_some_and(Failure::is_attack)))
        .bind(id)
        .bind(vin)
        .bind(from.as_str())
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Every vehicle of a rollout offered (or on trial) longer than its device timeout
    /// that checked in since its offer: timed out, all in one statement.
    pub async fn time_out_rollout_vehicles(&mut self, id: &str, cutoff: i64, now: i64) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE rollout_vehicles SET state = 'timed_out', finished_at = $1, failure_code = $2, attack = 0 \
             WHERE rollout = $3 AND state IN ('offered', 'trial') AND offered_at < $4 \
             AND EXISTS (SELECT 1 FROM vehicles v WHERE v.vin = rollout_vehicles.vin \
                         AND v.manifest_time > rollout_vehicles.offered_at)",
        )
        .bind(now)
        .bind(Failure::Timeout.code())
        .bind(id)
        .bind(cutoff)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected())
    }

    /// The rollouts this vehicle is offered in (or on trial in), each with the vehicle's
    /// assignments from it: in one query, as it runs on every manifest.
    pub async fn open_rollouts_of(&mut self, vin: &str) -> Result<Vec<OpenRollout>> {
        let rows = sqlx::query(
            "SELECT rv.rollout, rv.state AS standing, rv.offered_at, r.device_timeout_secs, \
             a.serial, a.state, a.target, e.boot_state, e.install_result, e.previous_image, e.attack \
             FROM rollout_vehicles rv JOIN rollouts r ON r.id = rv.rollout \
             LEFT JOIN assignments a ON a.rollout = rv.rollout AND a.vin = rv.vin \
             LEFT JOIN ecus e ON e.vin = a.vin AND e.serial = a.serial \
             WHERE rv.vin = $1 AND rv.state IN ('offered', 'trial') ORDER BY rv.rollout, a.serial, a.created DESC",
        )
        .bind(vin)
        .fetch_all(&mut *self.tx)
        .await?;
        let mut open: Vec<(OpenRollout, BTreeMap<String, AssignedEcu>)> = Vec::new();
        for r in &rows {
            let rollout: String = r.try_get("rollout")?;
            if open.last().is_none_or(|(o, _)| o.rollout != rollout) {
                let name: String = r.try_get("standing")?;
                let state = VehicleState::parse(&name).ok_or_else(|| corrupt("rollout vehicle state", &name))?;
                let (offered_at, timeout_secs) = (r.try_get("offered_at")?, r.try_get("device_timeout_secs")?);
                open.push((
                    OpenRollout { rollout, state, offered_at, timeout_secs, ecus: Vec::new() },
                    BTreeMap::new(),
                ));
            }
            let newest = &mut open.last_mut().expect("pushed above").1;
            if let Some(serial) = r.try_get::<Option<String>, _>("serial")? {
                if let std::collections::btree_map::Entry::Vacant(place) = newest.entry(serial) {
                    place.insert(assigned_ecu(r)?);
                }
            }
        }
        Ok(open.into_iter().map(|(o, ecus)| OpenRollout { ecus: ecus.into_values().collect(), ..o }).collect())
    }

    /// Names the rollout that made these assignments.
    pub async fn tag_assignments(&mut self, rollout: &str, ids: &[String]) -> Result<()> {
        for id in ids {
            sqlx::query("UPDATE assignments SET rollout = $1 WHERE id = $2")
                .bind(rollout)
                .bind(id)
                .execute(&mut *self.tx)
                .await?;
        }
        Ok(())
    }

    /// The assignments a rollout made for a vehicle (the newest per ECU), each with its
    /// ECU's boot state; and when the vehicle last checked in.
    pub async fn rollout_assignments(&mut self, rollout: &str, vin: &str) -> Result<(Vec<AssignedEcu>, i64)> {
        let rows = sqlx::query(
            "SELECT a.serial, a.state, a.target, e.boot_state, e.install_result, e.previous_image, e.attack \
             FROM assignments a \
             JOIN ecus e ON e.vin = a.vin AND e.serial = a.serial \
             WHERE a.rollout = $1 AND a.vin = $2 ORDER BY a.serial, a.created DESC",
        )
        .bind(rollout)
        .bind(vin)
        .fetch_all(&mut *self.tx)
        .await?;
        let mut newest: BTreeMap<String, AssignedEcu> = BTreeMap::new();
        for r in &rows {
            let serial: String = r.try_get("serial")?;
            if let std::collections::btree_map::Entry::Vacant(place) = newest.entry(serial) {
                place.insert(assigned_ecu(r)?); // rows come newest first per ECU
            }
        }
        let seen = sqlx::query("SELECT manifest_time FROM vehicles WHERE vin = $1")
            .bind(vin)
            .fetch_optional(&mut *self.tx)
            .await?;
        let last_seen = seen.map(|r| r.try_get("manifest_time")).transpose()?.unwrap_or(0);
        Ok((newest.into_values().collect(), last_seen))
    }
}

/// A rollout a vehicle is offered in (or on trial in), with its assignments from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenRollout {
    /// The rollout.
    pub rollout: String,
    /// Where the vehicle stands in it.
    pub state: VehicleState,
    /// When it was offered the update.
    pub offered_at: i64,
    /// The rollout's device timeout.
    pub timeout_secs: i64,
    /// The newest assignment per ECU the rollout made for it, with its ECU's report.
    pub ecus: Vec<AssignedEcu>,
}

/// An assignment row joined with its ECU's report, as the rollout judges it.
fn assigned_ecu(r: &sqlx::any::AnyRow) -> Result<AssignedEcu> {
    let name: String = r.try_get("state")?;
    let state = AssignmentState::parse(&name).ok_or_else(|| corrupt("assignment state", &name))?;
    let boot: Option<String> = r.try_get("boot_state")?;
    let boot_state = boot.as_deref().and_then(metadata_schemas::uptane::BootState::parse);
    let result: Option<String> = r.try_get("install_result")?;
    let result = result.as_deref().and_then(InstallResult::parse);
    let left: Option<String> = r.try_get("previous_image")?;
    let target: String = r.try_get("target")?;
    // It went back from this assignment's image, not from an older one.
    let reverted = result == Some(InstallResult::RevertedUnconfirmed) && left.as_deref() == Some(target.as_str());
    let attack = r.try_get::<Option<i64>, _>("attack")?.unwrap_or(0) != 0;
    Ok(AssignedEcu { state, boot_state, reverted, result, attack })
}
