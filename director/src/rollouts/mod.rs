//! Staged rollouts, for operators: a preview, a rollout made from a selector and images,
//! commands that move it (each audited with its reason and the counters at that moment),
//! and the evaluation a timer runs: each offered vehicle's standing refreshed, the gate
//! asked, and the vehicles a running stage admits offered the update. Every decision is
//! one of [`crate::rollout`]'s pure functions; this only drives them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;

use crate::assignment::AssignmentState;
use crate::rollout::admission::{self, Admission, Candidate, Stages};
use crate::rollout::gate::{self, Counters, StagePolicy, StageView, Thresholds};
use crate::rollout::outcomes;
use crate::rollout::state::{self, Command, RolloutState, StateKind};
use crate::rollout::vehicle::{self, Failure, Seen, VehicleState};
use crate::rollout::window::Windows;
use crate::service::{Director, Result, ServiceError, valid_name};
use crate::store::{Rollout, Tx, counters_at};

mod view;
pub use view::{Outcomes, rollout_json, rollout_state_json};
use view::{decision_text, totals_json};

/// Vehicles offered the update per evaluation of one rollout (the rest next time).
const OFFERS_PER_EVALUATION: i64 = 500;

/// One stage of a new rollout.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewStage {
    /// The share of the selected vehicles it admits, cumulative, in per cent.
    pub percent: f64,
    /// Hours it runs before its gate may advance.
    #[serde(default)]
    pub soak_hours: f64,
    /// Only an operator advances it.
    #[serde(default)]
    pub manual: bool,
}

/// A rollout to create (or preview).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRollout {
    /// Its name, for people.
    pub name: String,
    /// Which vehicles (empty: all that have an ECU of the images' hardware ids).
    #[serde(default)]
    pub selector: String,
    /// Each hardware id's image (an image repository target path).
    pub images: BTreeMap<String, String>,
    /// The stages (default: 1% with a manual gate, 10%, 50%, 100%; soak 24/24/48 h).
    #[serde(default)]
    pub stages: Option<Vec<NewStage>>,
    /// Success share needed to advance, in per cent (95).
    #[serde(default)]
    pub success_percent: Option<f64>,
    /// Failure share that pauses, in per cent (2).
    #[serde(default)]
    pub failure_percent: Option<f64>,
    /// Rollback share that pauses, in per cent (1).
    #[serde(default)]
    pub rollback_percent: Option<f64>,
    /// Finished vehicles before a share decides (20).
    #[serde(default)]
    pub min_finished: Option<u64>,
    /// Hours after its offer before a vehicle that checked in since times out (72).
    #[serde(default)]
    pub device_timeout_hours: Option<f64>,
    /// Attributes that, with the hardware ids, make a stratum (default `hw_rev`, `region`).
    #[serde(default)]
    pub strata: Option<Vec<String>>,
    /// The salt that picks the canaries, as a preview returned it (default: a new one).
    #[serde(default)]
    pub salt: Option<String>,
    /// When offers may go out: `Mon-Fri 01:00-05:00` (UTC), several joined by `,`
    /// (default: any time).
    #[serde(default)]
    pub windows: String,
}

fn ppm(what: &str, percent: f64) -> Result<u32> {
    if !(0.0..=100.0).contains(&percent) {
        return Err(ServiceError::Invalid(format!("{what}: {percent}% is not between 0 and 100")));
    }
    Ok((percent * 10_000.0).round() as u32)
}

fn hours(h: f64) -> i64 {
    (h * 3600.0).round() as i64
}

/// The stages and their policies a request asks for.
fn stages_of(request: &NewRollout) -> Result<(Stages, Vec<StagePolicy>)> {
    let default = [(1.0, 24.0, true), (10.0, 24.0, false), (50.0, 48.0, false), (100.0, 0.0, false)];
    let asked: Vec<(f64, f64, bool)> = match &request.stages {
        Some(stages) => stages.iter().map(|s| (s.percent, s.soak_hours, s.manual)).collect(),
        None => default.to_vec(),
    };
    let shares = asked.iter().map(|(p, _, _)| ppm("a stage", *p)).collect::<Result<Vec<_>>>()?;
    let stages = Stages::new(shares).map_err(|e| ServiceError::Invalid(e.to_string()))?;
    let policies =
        asked.iter().map(|(_, soak, manual)| StagePolicy { soak_secs: hours(*soak), manual: *manual }).collect();
    Ok((stages, policies))
}

fn thresholds_of(request: &NewRollout) -> Result<Thresholds> {
    let d = Thresholds::default();
    let or = |asked: Option<f64>, what: &str, default: u32| asked.map(|p| ppm(what, p)).unwrap_or(Ok(default));
    Ok(Thresholds {
        success_ppm: or(request.success_percent, "success_percent", d.success_ppm)?,
        failure_ppm: or(request.failure_percent, "failure_percent", d.failure_ppm)?,
        rollback_ppm: or(request.rollback_percent, "rollback_percent", d.rollback_ppm)?,
        min_finished: request.min_finished.unwrap_or(d.min_finished),
    })
}

/// A vehicle's stratum: the rollout's hardware ids it has, then each stratum attribute.
fn stratum(
    row: &crate::store::InventoryRow,
    images: &BTreeMap<String, String>,
    attributes: &[String],
) -> Option<String> {
    let mut hardware: Vec<&str> =
        row.ecus.iter().map(|e| e.hardware_id.as_str()).filter(|h| images.contains_key(*h)).collect();
    hardware.sort_unstable();
    hardware.dedup();
    if hardware.is_empty() {
        return None;
    }
    let mut parts = vec![hardware.join("+")];
    parts.extend(attributes.iter().map(|a| row.labels.attributes.get(a).cloned().unwrap_or_else(|| "-".into())));
    Some(parts.join("/"))
}

/// A rollout's plan as planned, for the preview and the audit log.
fn plan_summary(plan: &[Admission], stages: &Stages) -> serde_json::Value {
    let mut strata: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for a in plan {
        let per_stage = strata.entry(&a.stratum).or_insert_with(|| vec![0; stages.len()]);
        per_stage[a.stage] += 1;
    }
    let strata: Vec<serde_json::Value> =
        strata.iter().map(|(name, per_stage)| json!({"stratum": name, "admitted_by_stage": per_stage})).collect();
    json!({"vehicles": plan.len(), "strata": strata})
}

impl Director {
    /// The vehicles a rollout would select, with their strata.
    async fn candidates(&self, request: &NewRollout) -> Result<Vec<Candidate>> {
        let selector = crate::selector::parse(&request.selector).map_err(|e| ServiceError::Invalid(e.to_string()))?;
        let attributes = request.strata.clone().unwrap_or_else(|| vec!["hw_rev".into(), "region".into()]);
        let mut candidates = Vec::new();
        let mut after = String::new();
        // A vehicle being decommissioned takes no new image.
        let leaving = self.store.decommissioning_vins().await?;
        loop {
            let page = self.list_vehicles(&selector, &after, 1000).await?;
            for row in page.vehicles.iter().filter(|row| !leaving.contains(&row.vin)) {
                if let Some(stratum) = stratum(row, &request.images, &attributes) {
                    candidates.push(Candidate { vin: row.vin.clone(), stratum });
                }
            }
            match page.next {
                Some(next) => after = next,
                None => return Ok(candidates),
            }
        }
    }

    /// A rollout's plan without making it: who each stage would admit, per stratum, and
    /// the first stage's vehicles, for the salt returned (give it to `create` to keep it).
    pub async fn preview_rollout(&self, request: &NewRollout) -> Result<serde_json::Value> {
        let (stages, _) = stages_of(request)?;
        self.resolve_images(&request.images, Utc::now())?;
        let salt = request.salt.clone().unwrap_or_else(|| crate::config::new_token()[..32].to_string());
        let plan = admission::plan(salt.as_bytes(), &self.candidates(request).await?, &stages);
        let first: Vec<&str> = plan.iter().filter(|a| a.stage == 0).map(|a| a.vin.as_str()).take(1000).collect();
        Ok(json!({"salt": salt, "plan": plan_summary(&plan, &stages), "first_stage": first}))
    }

    /// Makes a rollout (a draft: `start` or `schedule` it).
    pub async fn create_rollout(&self, actor: &str, request: NewRollout) -> Result<Rollout> {
        valid_name("rollout name", &request.name)?;
        if request.images.is_empty() {
            return Err(ServiceError::Invalid("a rollout needs an image for at least one hardware id".into()));
        }
        let (stages, policies) = stages_of(&request)?;
        Windows::parse(&request.windows).map_err(|e| ServiceError::Invalid(e.to_string()))?;
        let now = Utc::now();
        self.resolve_images(&request.images, now)?;
        let salt = request.salt.clone().unwrap_or_else(|| crate::config::new_token()[..32].to_string());
        let plan = admission::plan(salt.as_bytes(), &self.candidates(&request).await?, &stages);
        if plan.is_empty() {
            return Err(ServiceError::Invalid(
                "the selector takes no vehicle with an ECU of these hardware ids".into(),
            ));
        }
        let rollout = Rollout {
            id: crate::config::new_token()[..16].to_string(),
            name: request.name.clone(),
            selector: request.selector.clone(),
            windows: request.windows.clone(),
            salt,
            stages,
            policies,
            thresholds: thresholds_of(&request)?,
            device_timeout_secs: hours(request.device_timeout_hours.unwrap_or(72.0)),
            images: request.images.clone(),
            state: RolloutState::Draft,
            stage_started: 0,
            created: now.timestamp(),
            updated: now.timestamp(),
        };
        let mut tx = self.store.begin().await?;
        tx.insert_rollout(&rollout, &plan).await?;
        let detail = json!({"rollout": rollout.id, "name": rollout.name, "selector": rollout.selector,
                            "images": rollout.images, "plan": plan_summary(&plan, &rollout.stages)});
        tx.audit(actor, "rollout-create", &detail.to_string(), now.timestamp()).await?;
        tx.commit().await?;
        Ok(rollout)
    }

    /// A rollout with its counters per stratum, and what its gate says now.
    pub async fn rollout_status(&self, id: &str) -> Result<serde_json::Value> {
        let rollout = self.store.rollout(id).await?.ok_or_else(|| ServiceError::NotFound(format!("rollout {id}")))?;
        let counts = self.store.rollout_counts(id).await?;
        let outcomes = self.rollout_outcomes(id).await?;
        Ok(rollout_json(&rollout, &counts, Some(&outcomes), Utc::now().timestamp()))
    }

    /// A rollout's failures by code and its time to confirm.
    async fn rollout_outcomes(&self, id: &str) -> Result<Outcomes> {
        let confirmed = self.store.rollout_confirmed_count(id).await?;
        let at = |percent| async move {
            match outcomes::percentile_rank(confirmed, percent) {
                Some(rank) => self.store.rollout_confirm_secs_at(id, rank).await,
                None => Ok(None),
            }
        };
        Ok(Outcomes {
            failures: self.store.rollout_failures(id).await?,
            confirm_p50_secs: at(50).await?,
            confirm_p90_secs: at(90).await?,
        })
    }

    /// Applies an operator's command to a rollout, with their reason.
    pub async fn command_rollout(&self, actor: &str, id: &str, command: Command, reason: &str) -> Result<Rollout> {
        let now = Utc::now().timestamp();
        let mut tx = self.store.begin().await?;
        let mut rollout = tx.lock_rollout(id).await?.ok_or_else(|| ServiceError::NotFound(format!("rollout {id}")))?;
        let name = command.name();
        let next = state::next(&rollout.state, command, rollout.stages.len())
            .map_err(|e| ServiceError::Conflict(e.to_string()))?;
        if next_stage_started(&rollout.state, &next) {
            rollout.stage_started = now;
        }
        tx.set_rollout_state(id, &next, rollout.stage_started, now).await?;
        rollout.state = next;
        let counts = tx.rollout_counts(id).await?;
        let detail = json!({"rollout": id, "reason": reason, "state": rollout_state_json(&rollout.state),
                            "counters": totals_json(&counts, counted_stage(&rollout))});
        tx.audit(actor, &format!("rollout-{name}"), &detail.to_string(), now).await?;
        tx.commit().await?;
        if rollout.state == RolloutState::Aborted {
            self.withdraw(&rollout, now).await?;
        }
        Ok(rollout)
    }

    /// Evaluates every rollout due: scheduled ones whose time came start; running ones
    /// have their vehicles refreshed, their gate asked, and new vehicles offered.
    pub async fn evaluate_rollouts(&self, now: DateTime<Utc>) -> Result<usize> {
        let due = self.store.rollouts(Some(StateKind::Scheduled)).await?;
        for r in due
            .iter()
            .filter(|r| matches!(r.state, RolloutState::Scheduled { start_at } if start_at <= now.timestamp()))
        {
            self.command_rollout("director", &r.id, Command::Start, "its scheduled time came").await?;
        }
        let running = self.store.rollouts(Some(StateKind::Running)).await?;
        let mut failed = Vec::new();
        for r in &running {
            // One rollout that cannot go on (its image expired, say) holds up no other.
            if let Err(e) = self.evaluate_rollout(&r.id, now.timestamp()).await {
                failed.push(format!("rollout {}: {e:?}", r.id));
            }
        }
        match failed.is_empty() {
            true => Ok(running.len()),
            false => Err(ServiceError::Internal(failed.join("; "))),
        }
    }

    /// One running rollout's evaluation.
    async fn evaluate_rollout(&self, id: &str, now: i64) -> Result<()> {
        let mut tx = self.store.begin().await?;
        let Some(rollout) = tx.lock_rollout(id).await? else { return Ok(()) };
        let RolloutState::Running { stage } = rollout.state else { return Ok(()) };
        tx.time_out_rollout_vehicles(id, vehicle::timeout_cutoff(now, rollout.device_timeout_secs), now).await?;
        let counts = tx.rollout_counts(id).await?;
        let strata = counters_at(&counts, stage);
        let decision = gate::evaluate(&gate_view(&rollout, stage, &strata, now));
        let next = state::next(&rollout.state, Command::Gate(decision.clone()), rollout.stages.len())
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        if next != rollout.state {
            let started = if next_stage_started(&rollout.state, &next) { now } else { rollout.stage_started };
            tx.set_rollout_state(id, &next, started, now).await?;
            let detail = json!({"rollout": id, "decision": decision_text(&decision), "state": rollout_state_json(&next),
                                "counters": totals_json(&counts, stage)});
            tx.audit("director", "rollout-gate", &detail.to_string(), now).await?;
        }
        tx.commit().await?;
        let windows = Windows::parse(&rollout.windows).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let at = DateTime::from_timestamp(now, 0).unwrap_or_else(Utc::now);
        match next {
            RolloutState::Running { stage } if windows.open_at(at) => self.offer(&rollout, stage, now).await,
            _ => Ok(()), // outside its maintenance windows: no offer goes out
        }
    }

    /// Offers the update to vehicles the running stages admit and that have no offer yet.
    async fn offer(&self, rollout: &Rollout, stage: usize, now: i64) -> Result<()> {
        let mut tx = self.store.begin().await?;
        let vins = tx.rollout_vins(&rollout.id, VehicleState::Eligible, stage, OFFERS_PER_EVALUATION).await?;
        tx.commit().await?;
        if vins.is_empty() {
            return Ok(());
        }
        let at = DateTime::from_timestamp(now, 0).unwrap_or_else(Utc::now);
        let entries = self.resolve_images(&rollout.images, at)?;
        let actor = format!("rollout:{}", rollout.id);
        for (vin, _) in vins {
            let _order = self.ordered(&vin).await;
            let mut tx = self.store.begin().await?;
            if !tx.move_rollout_vehicle(&rollout.id, &vin, VehicleState::Eligible, VehicleState::Offered, now).await? {
                continue; // another director process offered it first
            }
            match self.assign_vehicle(&mut tx, &actor, &vin, &entries, at).await {
                Ok(made) => {
                    tx.tag_assignments(&rollout.id, &made.iter().map(|a| a.id.clone()).collect::<Vec<_>>()).await?;
                    tx.commit().await?;
                }
                Err(e) => self.offer_failed(rollout, &vin, &e, now).await?,
            }
        }
        Ok(())
    }

    /// A vehicle the update could not be assigned to: counted as failed, with the reason.
    async fn offer_failed(&self, rollout: &Rollout, vin: &str, error: &ServiceError, now: i64) -> Result<()> {
        let mut tx = self.store.begin().await?;
        let failed = vehicle::Standing { state: VehicleState::Failed, failure: Some(Failure::OfferFailed) };
        tx.move_rollout_vehicle(&rollout.id, vin, VehicleState::Eligible, failed, now).await?;
        let detail = json!({"rollout": rollout.id, "vin": vin, "error": format!("{error:?}")}).to_string();
        tx.event(vin, "rollout-offer-failed", &detail, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// After an abort: the vehicles offered that have not started lose the assignment, and
    /// so do the ones that failed or went back from it (they would try it again).
    async fn withdraw(&self, rollout: &Rollout, now: i64) -> Result<()> {
        for from in [VehicleState::Offered, VehicleState::RolledBack, VehicleState::Failed] {
            let mut tx = self.store.begin().await?;
            let vins = tx.rollout_vins(&rollout.id, from, usize::MAX >> 1, i64::MAX).await?;
            tx.commit().await?;
            for (vin, offered_at) in vins {
                self.withdraw_one(rollout, (&vin, offered_at), from, now).await?;
            }
        }
        Ok(())
    }

    /// [`Director::withdraw`] for one vehicle.
    async fn withdraw_one(
        &self,
        rollout: &Rollout,
        (vin, offered_at): (&str, i64),
        from: VehicleState,
        now: i64,
    ) -> Result<()> {
        let _order = self.ordered(vin).await;
        let mut tx = self.store.begin().await?;
        if from == VehicleState::Offered {
            let (ecus, last_seen) = tx.rollout_assignments(&rollout.id, vin).await?;
            let seen = Seen { offered_at, last_seen, now, timeout_secs: rollout.device_timeout_secs };
            let standing = vehicle::standing(&ecus, seen);
            if !matches!(standing.state, VehicleState::Offered | VehicleState::RolledBack | VehicleState::Failed) {
                // It has started (or finished): it keeps its update, counted as it stands.
                tx.move_rollout_vehicle(&rollout.id, vin, from, standing, now).await?;
                return Ok(tx.commit().await?);
            }
            let to = if standing.state == VehicleState::Offered { VehicleState::Withdrawn.into() } else { standing };
            tx.move_rollout_vehicle(&rollout.id, vin, from, to, now).await?;
        }
        // Only this rollout's: what an operator assigned by hand, or another rollout, stays.
        let own = |a: &crate::store::Assignment| a.state.is_open() && a.rollout.as_deref() == Some(rollout.id.as_str());
        for a in tx.assignments(vin).await?.into_iter().filter(own) {
            tx.set_assignment_state(&a.id, AssignmentState::Cancelled, None, now).await?;
        }
        let vehicle = tx.lock_vehicle(vin).await?.ok_or_else(|| ServiceError::NotFound(format!("vehicle {vin}")))?;
        // A bundle queued behind the withdrawn one goes out now; else the targets lose it.
        let ecus = tx.ecus(vin).await?;
        if !self.issue_queued(&mut tx, &vehicle, &ecus, Utc::now()).await? {
            crate::repo::publish(&mut tx, &vehicle, &[], &self.signers, &self.config.lifetimes, Utc::now()).await?;
        }
        Ok(tx.commit().await?)
    }
}

impl Director {
    /// The fleet's standing, for `director status`: adoption now, and every rollout that
    /// was not cancelled with its counters and outcomes, newest first.
    pub async fn fleet_status(&self) -> Result<serde_json::Value> {
        let adoption = crate::inventory::adoption_json(&self.store.adoption().await?);
        let mut rollouts = Vec::new();
        for r in self.store.rollouts(None).await? {
            if r.state != RolloutState::Cancelled {
                rollouts.push(self.rollout_status(&r.id).await?);
            }
        }
        Ok(json!({"adoption": adoption, "rollouts": rollouts}))
    }

    /// Records the adoption sample of the period `now` falls in, unless a process
    /// already has; whether this call took it.
    pub async fn sample_adoption(&self, now: i64) -> Result<bool> {
        let at = outcomes::sample_at(now, self.config.adoption_sample_secs);
        if self.store.has_adoption_sample(at).await? {
            return Ok(false);
        }
        let counts = self.store.adoption().await?;
        let mut tx = self.store.begin().await?;
        tx.record_adoption(at, &counts).await?;
        tx.commit().await?;
        Ok(true)
    }
}

/// Evaluates the rollouts every `rollout_interval_secs`, and samples the fleet's
/// adoption once per `adoption_sample_secs`, for as long as the director serves (a
/// failed evaluation is logged and tried again next time).
pub async fn evaluate_every(director: std::sync::Arc<Director>) {
    let period = std::time::Duration::from_secs(director.config.rollout_interval_secs.max(1));
    let mut ticks = tokio::time::interval(period);
    loop {
        ticks.tick().await;
        if let Err(e) = director.evaluate_rollouts(Utc::now()).await {
            crate::log::error("rollout-evaluation-failed", &[("error", json!(format!("{e:?}")))]);
        }
        if let Err(e) = director.sample_adoption(Utc::now().timestamp()).await {
            crate::log::error("adoption-sample-failed", &[("error", json!(format!("{e:?}")))]);
        }
        if let Err(e) = director.follow_decommissions(Utc::now()).await {
            crate::log::error("decommission-follow-failed", &[("error", json!(format!("{e:?}")))]);
        }
        if let Err(e) = director.watch_support_periods(Utc::now().timestamp()).await {
            crate::log::error("support-period-watch-failed", &[("error", json!(format!("{e:?}")))]);
        }
    }
}

/// After a vehicle's manifest is taken (in its transaction): where it stands in each
/// rollout that offered it the update, so the counters are kept as manifests arrive and
/// an evaluation reads them, never re-deriving them.
pub(crate) async fn follow_rollouts(tx: &mut Tx, vin: &str, now: i64) -> Result<()> {
    for open in tx.open_rollouts_of(vin).await? {
        // It checks in now: `now` is its last check-in.
        let seen = Seen { offered_at: open.offered_at, last_seen: now, now, timeout_secs: open.timeout_secs };
        let standing = vehicle::standing(&open.ecus, seen);
        if standing.state != open.state {
            tx.move_rollout_vehicle(&open.rollout, vin, open.state, standing, now).await?;
        }
    }
    Ok(())
}

/// What the gate sees of `rollout` running `stage` at `now`.
fn gate_view<'a>(rollout: &Rollout, stage: usize, strata: &'a [(String, Counters)], now: i64) -> StageView<'a> {
    StageView {
        last: stage + 1 == rollout.stages.len(),
        started_at: rollout.stage_started,
        now,
        policy: rollout.policies[stage],
        thresholds: rollout.thresholds,
        strata,
    }
}

/// Whether the move from `before` to `after` starts a stage (its soak counts from then).
fn next_stage_started(before: &RolloutState, after: &RolloutState) -> bool {
    match (before, after) {
        (RolloutState::Running { stage: a }, RolloutState::Running { stage: b }) => a != b,
        (RolloutState::Paused { .. }, _) => false,
        (_, RolloutState::Running { .. }) => true,
        _ => false,
    }
}

/// The stage whose admissions the counters cover: the current one, or every stage once
/// the rollout has ended.
fn counted_stage(rollout: &Rollout) -> usize {
    match rollout.state {
        RolloutState::Running { stage } | RolloutState::Paused { stage, .. } => stage,
        RolloutState::Completed | RolloutState::Aborted => rollout.stages.len() - 1,
        _ => 0,
    }
}
