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
