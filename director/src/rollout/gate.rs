//! The gate between stages: whether a running stage holds, advances, completes or pauses,
//! as a pure function of the rollout's counters (per stratum), the time, and the stage's
//! policy. Success is a confirmed boot, never an image merely written; a vehicle that
//! went silent after its offer counts as finished (timed out), one never seen does not.

use std::fmt;

use super::admission::{PPM, Share};

/// What happened so far to the vehicles a rollout admitted (in one stratum, or in all).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Admitted by the stages so far.
    pub admitted: u64,
    /// Offered the update (it reached their director metadata).
    pub offered: u64,
    /// Installed and running it on trial, not yet confirmed.
    pub trial: u64,
    /// Booted it and confirmed it.
    pub confirmed: u64,
    /// Reported a failure (download, verification, install).
    pub failed: u64,
    /// Reverted to their previous image by themselves.
    pub rolled_back: u64,
    /// Checked in after the offer, then said nothing within the device timeout.
    pub timed_out: u64,
    /// Reported an attack (a verification failure naming one).
    pub attacks: u64,
}

impl Counters {
    /// Vehicles whose outcome is known: confirmed, failed, rolled back or timed out.
    pub fn finished(&self) -> u64 {
        self.confirmed + self.failed + self.rolled_back + self.timed_out
    }

    /// The sum of two sets of counters.
    pub fn plus(self, other: Counters) -> Counters {
        Counters {
            admitted: self.admitted + other.admitted,
            offered: self.offered + other.offered,
            trial: self.trial + other.trial,
            confirmed: self.confirmed + other.confirmed,
            failed: self.failed + other.failed,
            rolled_back: self.rolled_back + other.rolled_back,
            timed_out: self.timed_out + other.timed_out,
            attacks: self.attacks + other.attacks,
        }
    }
}

/// The thresholds every stage of a rollout shares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Thresholds {
    /// Confirmed / admitted needed to advance (95% by default).
    pub success_ppm: u32,
    /// Failed / finished above which the rollout pauses (2%).
    pub failure_ppm: u32,
    /// Rolled back / finished above which it pauses (1%).
    pub rollback_ppm: u32,
    /// Finished vehicles (in the stratum, or overall) before a share decides anything.
    pub min_finished: u64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds { success_ppm: 950_000, failure_ppm: 20_000, rollback_ppm: 10_000, min_finished: 20 }
    }
}

/// One stage's own rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StagePolicy {
    /// How long the stage runs before it may advance (seconds).
    pub soak_secs: i64,
    /// A person advances it (`advance` by hand); the gate never does.
    pub manual: bool,
}

/// A running stage, as the gate sees it.
#[derive(Clone, Copy, Debug)]
pub struct StageView<'a> {
    /// Whether it is the last stage (its success completes the rollout).
    pub last: bool,
    /// When it started (Unix seconds).
    pub started_at: i64,
    /// Now (Unix seconds).
    pub now: i64,
    /// Its rules.
    pub policy: StagePolicy,
    /// The rollout's thresholds.
    pub thresholds: Thresholds,
    /// Counters per stratum.
    pub strata: &'a [(String, Counters)],
}

/// Why a stage goes on as it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Hold {
    /// Its soak time has not passed.
    Soaking {
        /// Seconds left.
        remaining_secs: i64,
    },
    /// Too few vehicles finished for a share to mean anything.
    TooFewFinished {
        /// Finished so far.
        finished: u64,
        /// Needed.
        needed: u64,
    },
    /// Not enough confirmed boots yet.
    BelowSuccess {
        /// Confirmed / admitted (ppm).
        rate_ppm: u32,
        /// Needed (ppm).
        needed_ppm: u32,
    },
    /// A manual gate: an operator advances it.
    AwaitingApproval,
}

/// Which share passed its threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Measure {
    /// Failed / finished.
    Failure,
    /// Rolled back / finished.
    Rollback,
}

/// Why the gate paused a rollout, in words an operator reads in the audit log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PauseReason {
    /// Vehicles reported an attack.
    Attack {
        /// How many.
        count: u64,
    },
    /// A share passed its threshold, in one stratum or over the whole stage.
    Exceeded {
        /// Which share.
        measure: Measure,
        /// The stratum (`None`: all of them together).
        stratum: Option<String>,
        /// The share (ppm).
        rate_ppm: u32,
        /// Its threshold (ppm).
        threshold_ppm: u32,
        /// Finished vehicles it is a share of.
        finished: u64,
    },
}

impl fmt::Display for PauseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PauseReason::Attack { count } => write!(f, "{count} vehicle(s) reported an attack"),
            PauseReason::Exceeded { measure, stratum, rate_ppm, threshold_ppm, finished } => {
                let what = match measure {
                    Measure::Failure => "failure rate",
                    Measure::Rollback => "rollback rate",
                };
                let place = match stratum {
                    Some(s) => format!("in stratum {s}"),
                    None => "over all strata".into(),
                };
                write!(f, "{what} {} > {} {place} after {finished} finished", Share(*rate_ppm), Share(*threshold_ppm))
            }
        }
    }
}

impl fmt::Display for Hold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Hold::Soaking { remaining_secs } => write!(f, "soaking: {remaining_secs} s to go"),
            Hold::TooFewFinished { finished, needed } => write!(f, "{finished} finished, {needed} needed to decide"),
            Hold::BelowSuccess { rate_ppm, needed_ppm } => {
                write!(f, "{} confirmed, {} needed", Share(*rate_ppm), Share(*needed_ppm))
            }
            Hold::AwaitingApproval => f.write_str("a manual gate: advance it by hand"),
        }
    }
}

/// What the gate decides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Stay in this stage.
    Hold(Hold),
    /// Move to the next stage.
    Advance,
    /// The last stage succeeded: the rollout is complete.
    Complete,
    /// Stop admitting and offering.
    Pause(PauseReason),
}

/// `part / whole` in ppm (0 for an empty whole).
fn rate(part: u64, whole: u64) -> u32 {
    if whole == 0 { 0 } else { (u128::from(part) * u128::from(PPM) / u128::from(whole)) as u32 }
}

/// Whether `part / whole` is strictly above `threshold_ppm` (exact, no rounding).
fn above(part: u64, whole: u64, threshold_ppm: u32) -> bool {
    u128::from(part) * u128::from(PPM) > u128::from(threshold_ppm) * u128::from(whole)
}

/// The first share past its threshold: failures before rollbacks, each stratum (in
/// order) before all of them together; only where enough vehicles finished.
fn exceeded(view: &StageView<'_>, total: Counters) -> Option<PauseReason> {
    let t = view.thresholds;
    let scopes = view.strata.iter().map(|(s, c)| (Some(s.clone()), *c)).chain(std::iter::once((None, total)));
    let scopes: Vec<(Option<String>, Counters)> = scopes.collect();
    for (measure, threshold_ppm) in [(Measure::Failure, t.failure_ppm), (Measure::Rollback, t.rollback_ppm)] {
        for (stratum, c) in &scopes {
            let part = match measure {
                Measure::Failure => c.failed,
                Measure::Rollback => c.rolled_back,
            };
            let finished = c.finished();
            if finished >= t.min_finished && finished > 0 && above(part, finished, threshold_ppm) {
                let rate_ppm = rate(part, finished);
                return Some(PauseReason::Exceeded {
                    measure,
                    stratum: stratum.clone(),
                    rate_ppm,
                    threshold_ppm,
                    finished,
                });
            }
        }
    }
    None
}

/// The gate's decision for a running stage.
pub fn evaluate(view: &StageView<'_>) -> Decision {
    let total = view.strata.iter().fold(Counters::default(), |sum, (_, c)| sum.plus(*c));
    if total.attacks > 0 {
        return Decision::Pause(PauseReason::Attack { count: total.attacks });
    }
    if let Some(reason) = exceeded(view, total) {
        return Decision::Pause(reason);
    }
    let remaining_secs = view.started_at + view.policy.soak_secs - view.now;
    if remaining_secs > 0 {
        return Decision::Hold(Hold::Soaking { remaining_secs });
    }
    let needed = view.thresholds.min_finished.min(total.admitted);
    if total.finished() < needed || total.admitted == 0 {
        return Decision::Hold(Hold::TooFewFinished { finished: total.finished(), needed: needed.max(1) });
    }
    let needed_ppm = view.thresholds.success_ppm;
    if u128::from(total.confirmed) * u128::from(PPM) < u128::from(needed_ppm) * u128::from(total.admitted) {
        return Decision::Hold(Hold::BelowSuccess { rate_ppm: rate(total.confirmed, total.admitted), needed_ppm });
    }
    if view.policy.manual {
        return Decision::Hold(Hold::AwaitingApproval);
    }
    if view.last { Decision::Complete } else { Decision::Advance }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3600;

    fn view<'a>(strata: &'a [(String, Counters)], now: i64, manual: bool, last: bool) -> StageView<'a> {
        StageView {
            last,
            started_at: 0,
            now,
            policy: StagePolicy { soak_secs: 24 * HOUR, manual },
            thresholds: Thresholds::default(),
            strata,
        }
    }

    fn counters(admitted: u64, confirmed: u64, failed: u64, rolled_back: u64, timed_out: u64) -> Counters {
        Counters { admitted, offered: admitted, confirmed, failed, rolled_back, timed_out, ..Counters::default() }
    }

    /// The design's rules, written out independently of `evaluate`.
    fn oracle(strata: &[(String, Counters)], now: i64, manual: bool, last: bool) -> &'static str {
        let t = Thresholds::default();
        let total = strata.iter().fold(Counters::default(), |s, (_, c)| s.plus(*c));
        let over = |c: &Counters| {
            let f = c.finished();
            f >= t.min_finished && f > 0 && (c.failed * 100 > 2 * f || c.rolled_back * 100 > f)
        };
        if total.attacks > 0 || strata.iter().any(|(_, c)| over(c)) || over(&total) {
            return "pause";
        }
        let ready = now >= 24 * HOUR
            && total.admitted > 0
            && total.finished() >= t.min_finished.min(total.admitted)
            && total.confirmed * 100 >= 95 * total.admitted;
        match (ready, manual, last) {
            (false, _, _) | (true, true, _) => "hold",
            (true, false, true) => "complete",
            (true, false, false) => "advance",
        }
    }

    fn kind(decision: &Decision) -> &'static str {
        match decision {
            Decision::Hold(_) => "hold",
            Decision::Advance => "advance",
            Decision::Complete => "complete",
            Decision::Pause(_) => "pause",
        }
    }

    #[test]
    fn the_gate_agrees_with_the_design_on_every_small_stage() {
        let mut seen = std::collections::BTreeMap::new();
        for admitted in [0u64, 1, 5, 19, 20, 21, 40, 100] {
            let steps = [0, 1, 2, admitted / 2, admitted.saturating_sub(2), admitted.saturating_sub(1), admitted];
            for confirmed in steps {
                for failed in [0u64, 1, 2, 3] {
                    for rolled_back in [0u64, 1, 2] {
                        for timed_out in [0u64, 1] {
                            if confirmed + failed + rolled_back + timed_out > admitted {
                                continue;
                            }
                            for (now, manual, last) in [
                                (HOUR, false, false),
                                (25 * HOUR, false, false),
                                (25 * HOUR, true, false),
                                (25 * HOUR, false, true),
                            ] {
                                let one = counters(admitted, confirmed, failed, rolled_back, timed_out);
                                let strata = vec![("brake/A/EU".to_string(), one)];
                                let decision = evaluate(&view(&strata, now, manual, last));
                                let expected = oracle(&strata, now, manual, last);
                                assert_eq!(
                                    kind(&decision),
                                    expected,
                                    "{one:?} at {now} manual {manual} last {last}: {decision:?}"
                                );
                                *seen.entry(expected).or_insert(0) += 1;
                            }
                        }
                    }
                }
            }
        }
        assert_eq!(seen.len(), 4, "every decision occurs: {seen:?}");
    }

    #[test]
    fn one_bad_stratum_pauses_the_rollout_and_is_named() {
        let good = counters(200, 200, 0, 0, 0);
        let bad = counters(41, 0, 1, 0, 24); // 25 finished, 1 failed: 4%
        let strata = vec![("brake/A/EU".to_string(), good), ("brake/B/EU".to_string(), bad)];
        let decision = evaluate(&view(&strata, 25 * HOUR, false, false));
        let Decision::Pause(reason) = decision else { panic!("{decision:?}") };
        assert_eq!(reason.to_string(), "failure rate 4% > 2% in stratum brake/B/EU after 25 finished");
    }

    #[test]
    fn a_failure_rate_reads_as_the_design_writes_it() {
        let strata = vec![(
            "rev-B/EU".to_string(),
            Counters { failed: 3, confirmed: 122, admitted: 125, ..Counters::default() },
        )];
        let Decision::Pause(reason) = evaluate(&view(&strata, 0, false, false)) else { panic!() };
        assert_eq!(reason.to_string(), "failure rate 2.4% > 2% in stratum rev-B/EU after 125 finished");
    }

    #[test]
    fn an_image_written_but_not_confirmed_is_not_success() {
        let trial = Counters { admitted: 100, offered: 100, trial: 100, ..Counters::default() };
        let strata = vec![("s".to_string(), trial)];
        let decision = evaluate(&view(&strata, 100 * HOUR, false, false));
        assert_eq!(decision, Decision::Hold(Hold::TooFewFinished { finished: 0, needed: 20 }));
    }

    #[test]
    fn vehicles_that_went_silent_count_as_finished_and_hold_success_back() {
        let strata = vec![("s".to_string(), counters(100, 90, 0, 0, 10))];
        let decision = evaluate(&view(&strata, 25 * HOUR, false, false));
        assert_eq!(decision, Decision::Hold(Hold::BelowSuccess { rate_ppm: 900_000, needed_ppm: 950_000 }));
        assert_eq!(decision_text(&decision), "90% confirmed, 95% needed");
    }

    #[test]
    fn an_attack_pauses_at_once_whatever_the_counts() {
        let strata = vec![("s".to_string(), Counters { admitted: 1, attacks: 1, ..Counters::default() })];
        assert_eq!(evaluate(&view(&strata, 0, false, false)), Decision::Pause(PauseReason::Attack { count: 1 }));
    }

    #[test]
    fn a_small_stage_decides_once_all_of_it_finished() {
        let strata = vec![("s".to_string(), counters(3, 3, 0, 0, 0))];
        assert_eq!(evaluate(&view(&strata, 25 * HOUR, false, false)), Decision::Advance);
        let strata = vec![("s".to_string(), counters(3, 2, 0, 0, 0))];
        assert!(matches!(
            evaluate(&view(&strata, 25 * HOUR, false, false)),
            Decision::Hold(Hold::TooFewFinished { .. })
        ));
    }

    fn decision_text(decision: &Decision) -> String {
        match decision {
            Decision::Hold(hold) => hold.to_string(),
            Decision::Pause(reason) => reason.to_string(),
            other => format!("{other:?}"),
        }
    }
}
