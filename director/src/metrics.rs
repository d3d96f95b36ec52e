//! Counters for `/api/v1/admin/metrics` (Prometheus text format): requests by route
//! and status, manifests accepted and refused by reason; assignments by state come from
//! the database when scraped.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// The director's counters. Keys are bounded (route templates, status codes, refusal
/// reasons), so memory does not grow with the number of vehicles.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    accepted: AtomicU64,
    refused: Mutex<BTreeMap<&'static str, u64>>,
}

impl Metrics {
    /// Counts a request to a route template with its status.
    pub fn request(&self, route: &'static str, status: u16) {
        *self.requests.lock().expect("metrics lock").entry((route, status)).or_default() += 1;
    }

    /// Counts an accepted manifest.
    pub fn accepted(&self) {
        self.accepted.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a refused manifest by reason.
    pub fn refused(&self, reason: &'static str) {
        *self.refused.lock().expect("metrics lock").entry(reason).or_default() += 1;
    }

    /// The Prometheus text, with `assignments` (state, count) from the database.
    pub fn render(&self, assignments: &[(crate::assignment::AssignmentState, i64)]) -> String {
        let mut out = String::new();
        out.push_str("# HELP director_requests_total HTTP requests by route and status.\n");
        out.push_str("# TYPE director_requests_total counter\n");
        for ((route, status), n) in self.requests.lock().expect("metrics lock").iter() {
            let _ = writeln!(out, "director_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}");
        }
        out.push_str("# HELP director_manifests_total Vehicle version manifests by outcome and reason.\n");
        out.push_str("# TYPE director_manifests_total counter\n");
        let _ = writeln!(
            out,
            "director_manifests_total{{outcome=\"accepted\",reason=\"\"}} {}",
            self.accepted.load(Ordering::Relaxed)
        );
        for (reason, n) in self.refused.lock().expect("metrics lock").iter() {
            let _ = writeln!(out, "director_manifests_total{{outcome=\"refused\",reason=\"{reason}\"}} {n}");
        }
        out.push_str("# HELP director_assignments Assignments by state.\n");
        out.push_str("# TYPE director_assignments gauge\n");
        for (state, n) in assignments {
            let _ = writeln!(out, "director_assignments{{state=\"{state}\"}} {n}");
        }
        out
    }
}

/// Label values as Prometheus's text format quotes them.
fn label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// The fleet's adoption and the rollouts' standing, in Prometheus text: ECUs per
/// hardware id and image; each rollout's state; and the vehicles of each rollout that is
/// not over, by stage, stratum and state, and by failure code.
pub fn render_fleet(adoption: &[crate::store::ImageCount], rollouts: &[RolloutStanding]) -> String {
    let mut out = String::new();
    render_adoption(&mut out, adoption);
    render_rollouts(&mut out, rollouts);
    out
}

fn render_adoption(out: &mut String, adoption: &[crate::store::ImageCount]) {
    out.push_str(
        "# HELP director_fleet_image_ecus ECUs of each hardware id on each image (confirmed: boot confirmed).\n",
    );
    out.push_str("# TYPE director_fleet_image_ecus gauge\n");
    for c in adoption {
        let image = label(c.image.as_deref().unwrap_or(""));
        let hw = label(&c.hardware_id);
        let _ = writeln!(
            out,
            "director_fleet_image_ecus{{hardware_id=\"{hw}\",image=\"{image}\",confirmed=\"false\"}} {}",
            c.ecus - c.confirmed
        );
        let _ = writeln!(
            out,
            "director_fleet_image_ecus{{hardware_id=\"{hw}\",image=\"{image}\",confirmed=\"true\"}} {}",
            c.confirmed
        );
    }
}

fn render_rollouts(out: &mut String, rollouts: &[RolloutStanding]) {
    out.push_str("# HELP director_rollout_state 1 for the state each rollout is in.\n");
    out.push_str("# TYPE director_rollout_state gauge\n");
    for RolloutStanding { rollout: r, .. } in rollouts {
        let _ = writeln!(
            out,
            "director_rollout_state{{rollout=\"{}\",state=\"{}\"}} 1",
            label(&r.id),
            r.state.kind().as_str()
        );
    }
    out.push_str(
        "# HELP director_rollout_vehicles Vehicles of each rollout by the stage that admits them, stratum and state.\n",
    );
    out.push_str("# TYPE director_rollout_vehicles gauge\n");
    for RolloutStanding { rollout: r, counts, .. } in rollouts.iter().filter(|s| !s.rollout.state.is_final()) {
        for c in counts {
            let _ = writeln!(
                out,
                "director_rollout_vehicles{{rollout=\"{}\",stage=\"{}\",stratum=\"{}\",state=\"{}\"}} {}",
                label(&r.id),
                c.stage,
                label(&c.stratum),
                c.state.as_str(),
                c.vehicles
            );
        }
    }
    out.push_str(
        "# HELP director_rollout_failures Vehicles of each rollout that failed, rolled back or timed out, by code.\n",
    );
    out.push_str("# TYPE director_rollout_failures gauge\n");
    for RolloutStanding { rollout: r, failures, .. } in rollouts.iter().filter(|s| !s.rollout.state.is_final()) {
        for (code, n) in failures {
            let _ =
                writeln!(out, "director_rollout_failures{{rollout=\"{}\",code=\"{}\"}} {n}", label(&r.id), label(code));
        }
    }
}

/// A rollout with what its metrics show: its counts by stage, stratum and state, and
/// its failures by code (both empty for a rollout that is over).
pub struct RolloutStanding {
    /// The rollout.
    pub rollout: crate::store::Rollout,
    /// Its vehicles by stratum, stage and state.
    pub counts: Vec<crate::store::StageCount>,
    /// Its failures by code.
    pub failures: Vec<(String, u64)>,
}
