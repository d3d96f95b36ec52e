//! A rollout as the API, the audit log and `director status` show it: its plan, state,
//! counters per stratum and in all, funnel, failures by code, time to confirm, and what
//! its gate says now.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::{counted_stage, gate_view};
use crate::rollout::admission::PPM;
use crate::rollout::gate::{self, Counters};
use crate::rollout::outcomes;
use crate::rollout::state::RolloutState;
use crate::rollout::window::Windows;
use crate::store::{Rollout, StageCount, counters_at};

/// What a rollout's full standing adds to its counters.
#[derive(Clone, Debug, Default)]
pub struct Outcomes {
    /// Failed, rolled-back and timed-out vehicles by failure code, most first.
    pub failures: Vec<(String, u64)>,
    /// Time from offer to confirmed boot (seconds), at the median and the 90th percentile.
    pub confirm_p50_secs: Option<i64>,
    /// See `confirm_p50_secs`.
    pub confirm_p90_secs: Option<i64>,
}

pub(super) fn decision_text(decision: &gate::Decision) -> String {
    match decision {
        gate::Decision::Hold(hold) => format!("hold: {hold}"),
        gate::Decision::Advance => "advance".into(),
        gate::Decision::Complete => "complete".into(),
        gate::Decision::Pause(reason) => format!("pause: {reason}"),
    }
}

/// A rollout's state as the API shows it.
pub fn rollout_state_json(state: &RolloutState) -> serde_json::Value {
    match state {
        RolloutState::Scheduled { start_at } => json!({"state": "scheduled", "start_at": start_at}),
        RolloutState::Running { stage } => json!({"state": "running", "stage": stage}),
        RolloutState::Paused { stage, cause } => {
            json!({"state": "paused", "stage": stage, "reason": cause.to_string()})
        }
        other => json!({"state": other.kind().as_str()}),
    }
}

fn counters_json(c: &Counters) -> serde_json::Value {
    json!({"admitted": c.admitted, "offered": c.offered, "trial": c.trial, "confirmed": c.confirmed, "failed": c.failed,
           "rolled_back": c.rolled_back, "timed_out": c.timed_out, "attacks": c.attacks, "finished": c.finished()})
}

/// The counters of every stratum at `stage`, summed.
fn totals(counts: &[StageCount], stage: usize) -> Counters {
    counters_at(counts, stage).iter().fold(Counters::default(), |sum, (_, c)| sum.plus(*c))
}

pub(super) fn totals_json(counts: &[StageCount], stage: usize) -> serde_json::Value {
    counters_json(&totals(counts, stage))
}

fn outcomes_json(counts: &[StageCount], stage: usize, o: &Outcomes) -> serde_json::Value {
    let selected = counts.iter().map(|c| c.vehicles).sum();
    let f = outcomes::funnel(selected, &totals(counts, stage));
    let failures: Vec<serde_json::Value> =
        o.failures.iter().map(|(code, n)| json!({"code": code, "vehicles": n})).collect();
    json!({"funnel": {"selected": f.selected, "admitted": f.admitted, "offered": f.offered, "trial": f.trial,
                      "confirmed": f.confirmed},
           "failures": failures,
           "time_to_confirm_secs": {"p50": o.confirm_p50_secs, "p90": o.confirm_p90_secs}})
}

/// A rollout as the API shows it: plan, state, counters per stratum and in all, and
/// what its gate says now.
pub fn rollout_json(r: &Rollout, counts: &[StageCount], outcomes: Option<&Outcomes>, now: i64) -> serde_json::Value {
    let stage = counted_stage(r);
    let strata = counters_at(counts, stage);
    let stages: Vec<serde_json::Value> = (0..r.stages.len())
        .map(|k| json!({"percent": f64::from(r.stages.share(k)) * 100.0 / f64::from(PPM),
                        "soak_hours": r.policies.get(k).map(|p| p.soak_secs as f64 / 3600.0), "manual": r.policies.get(k).map(|p| p.manual)}))
        .collect();
    let gate = matches!(r.state, RolloutState::Running { .. })
        .then(|| decision_text(&gate::evaluate(&gate_view(r, stage, &strata, now))));
    let strata_json: Vec<serde_json::Value> =
        strata.iter().map(|(s, c)| json!({"stratum": s, "counters": counters_json(c)})).collect();
    let offering =
        Windows::parse(&r.windows).is_ok_and(|w| w.open_at(DateTime::from_timestamp(now, 0).unwrap_or_else(Utc::now)));
    let mut out = json!({"id": r.id, "name": r.name, "selector": r.selector, "images": r.images, "salt": r.salt,
           "windows": r.windows, "in_window": offering,
           "status": rollout_state_json(&r.state), "stage_started": r.stage_started, "stages": stages,
           "device_timeout_hours": r.device_timeout_secs as f64 / 3600.0,
           "thresholds": {"success_percent": f64::from(r.thresholds.success_ppm) / 10_000.0,
                          "failure_percent": f64::from(r.thresholds.failure_ppm) / 10_000.0,
                          "rollback_percent": f64::from(r.thresholds.rollback_ppm) / 10_000.0,
                          "min_finished": r.thresholds.min_finished},
           "counters": totals_json(counts, stage), "strata": strata_json, "gate": gate,
           "created": r.created, "updated": r.updated});
    if let Some(o) = outcomes {
        out["outcomes"] = outcomes_json(counts, stage, o);
    }
    out
}
