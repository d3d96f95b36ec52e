//! The boot decision, made at every reset: a pure function of the boot state, why the
//! MCU reset, whether recovery was asked for, and which images hash correctly. It answers
//! with the records to append (each one state step, so a power cut between two leaves a
//! state the next reset decides from again) and what to start.
//!
//! | # | condition | action |
//! |---|---|---|
//! | 1 | recovery requested (pin held, or the application's flag) | recovery loader |
//! | 2 | a slot is on trial or installed | count the attempt; after the policy's attempts, mark it failed and go on; else boot it as a trial |
//! | 3 | the active image faulted (fault or watchdog reset) before it said healthy, the policy's times in a row | mark it failed, go on |
//! | 4 | the active image hashes correctly and the floors allow it | boot it |
//! | 5 | the superseded image hashes correctly and the floors allow it | make it active again and boot it |
//! | 6 | the factory image hashes correctly | boot the factory image (never above the floors' concern: it only installs) |
//! | 7 | nothing | recovery loader |

use crate::record::{Record, Slot};
use crate::state::{BootState, MAX_COUNT, SlotStatus};

/// Why the MCU reset, as its reset-cause register tells.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ResetCause {
    /// Power-on or brown-out.
    #[default]
    PowerOn,
    /// The software asked for it (after an install, say).
    Software,
    /// A hard fault, lockup or watchdog: the running image did not keep itself alive.
    Fault,
}

/// What the bootloader knows at a reset besides the boot state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BootInputs {
    /// Why the MCU reset.
    pub cause: ResetCause,
    /// The recovery pin is held (or the recovery button pressed).
    pub recovery_pin: bool,
}

/// How many chances an image gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BootPolicy {
    /// Trial runs before an unconfirmed image is reverted (1 to [`MAX_COUNT`]).
    pub trial_attempts: u8,
    /// Fault resets in a row, before the application said healthy, that mark the active
    /// image failed (1 to [`MAX_COUNT`]).
    pub fault_resets: u8,
}

impl Default for BootPolicy {
    fn default() -> Self {
        BootPolicy { trial_attempts: 3, fault_resets: 5 }
    }
}

impl BootPolicy {
    /// The policy with both counts within 1 and [`MAX_COUNT`] (what the log can count).
    pub fn clamped(self) -> BootPolicy {
        BootPolicy {
            trial_attempts: self.trial_attempts.clamp(1, MAX_COUNT),
            fault_resets: self.fault_resets.clamp(1, MAX_COUNT),
        }
    }
}

/// An image the bootloader may start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Candidate {
    /// A slot's image.
    Slot(Slot),
    /// The factory region's image.
    Factory,
}

/// What the bootloader starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BootDecision {
    /// Jump to the image in `slot`; `trial` while it has not confirmed.
    Boot {
        /// The slot to start.
        slot: Slot,
        /// Whether this is a trial run.
        trial: bool,
    },
    /// Start the factory image: it installs a current image into a slot, then resets.
    Factory,
    /// Start the recovery loader: it takes an offline bundle over a secondary channel.
    Recovery,
}

/// The most records one decision appends.
pub const MAX_PLAN_RECORDS: usize = 5;

/// A decision and the records to append before acting on it, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BootPlan {
    records: [Option<Record>; MAX_PLAN_RECORDS],
    /// What to start once the records are written.
    pub decision: BootDecision,
}

impl BootPlan {
    /// The records to append, in order.
    pub fn records(&self) -> impl Iterator<Item = Record> + '_ {
        self.records.iter().flatten().copied()
    }
}

/// The decision on a working copy of the state: each record is applied as it is planned.
struct Planner<'a, E, V: FnMut(Candidate) -> Result<bool, E>> {
    state: BootState,
    records: [Option<Record>; MAX_PLAN_RECORDS],
    len: usize,
    valid: &'a mut V,
}

impl<E, V: FnMut(Candidate) -> Result<bool, E>> Planner<'_, E, V> {
    fn emit(&mut self, record: Record) {
        self.state.apply(&record);
        self.records[self.len] = Some(record);
        self.len += 1;
    }

    /// Allowed by the floors, and its bytes hash to the recorded SHA-256.
    fn bootable(&mut self, slot: Slot) -> Result<bool, E> {
        match self.state.slot(slot).info {
            Some(info) if self.state.floors.allow(&info) => (self.valid)(Candidate::Slot(slot)),
            _ => Ok(false),
        }
    }

    fn done(self, decision: BootDecision) -> BootPlan {
        BootPlan { records: self.records, decision }
    }
}

/// The decision at a reset. `valid` hashes a candidate's bytes against the recorded
/// SHA-256 (called only for candidates the decision reaches).
pub fn decide<E>(
    state: &BootState,
    inputs: &BootInputs,
    policy: &BootPolicy,
    mut valid: impl FnMut(Candidate) -> Result<bool, E>,
) -> Result<BootPlan, E> {
    let policy = policy.clamped();
    let mut plan = Planner { state: *state, records: [None; MAX_PLAN_RECORDS], len: 0, valid: &mut valid };
    if inputs.recovery_pin || state.recovery_requested {
        return Ok(plan.done(BootDecision::Recovery));
    }
    if let Some(slot) = try_trial(&mut plan, &policy)? {
        return Ok(plan.done(BootDecision::Boot { slot, trial: true }));
    }
    if let Some(slot) = plan.state.find(SlotStatus::Active) {
        if inputs.cause == ResetCause::Fault {
            plan.emit(Record::Fault(slot));
        }
        // Checked at every reset, so a cut between the two records still ends failed.
        if plan.state.slot(slot).faults >= policy.fault_resets || !plan.bootable(slot)? {
            plan.emit(Record::Failed(slot));
        } else {
            return Ok(plan.done(BootDecision::Boot { slot, trial: false }));
        }
    }
    if let Some(slot) = plan.state.find(SlotStatus::Superseded) {
        if plan.bootable(slot)? {
            plan.emit(Record::Restored(slot));
            return Ok(plan.done(BootDecision::Boot { slot, trial: false }));
        }
    }
    if plan.state.factory.is_some() && (plan.valid)(Candidate::Factory)? {
        return Ok(plan.done(BootDecision::Factory));
    }
    Ok(plan.done(BootDecision::Recovery))
}

/// Row 2: the slot to boot as a trial, if one is on trial or installed and has
/// attempts left; a trial out of attempts is reverted, an image that no longer hashes
/// correctly is marked failed.
fn try_trial<E, V: FnMut(Candidate) -> Result<bool, E>>(
    plan: &mut Planner<'_, E, V>,
    policy: &BootPolicy,
) -> Result<Option<Slot>, E> {
    if let Some(slot) = plan.state.find(SlotStatus::Trial) {
        if plan.state.slot(slot).attempts >= policy.trial_attempts || !plan.bootable(slot)? {
            plan.emit(Record::Reverted(slot));
        } else {
            plan.emit(Record::TrialStarted(slot));
            return Ok(Some(slot));
        }
    }
    if let Some(slot) = plan.state.find(SlotStatus::Installed) {
        if plan.bootable(slot)? {
            plan.emit(Record::TrialStarted(slot));
            return Ok(Some(slot));
        }
        plan.emit(Record::Failed(slot));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::ImageInfo;
    use alloc::vec::Vec;

    const INFO: ImageInfo = ImageInfo { length: 10, sha256: [1; 32], release_counter: 5, targets_version: 5 };
    const OLD: ImageInfo = ImageInfo { length: 10, sha256: [2; 32], release_counter: 4, targets_version: 4 };

    /// A state with these slot statuses, attempts and faults, and a factory image.
    fn state(statuses: [SlotStatus; 2], attempts: u8, faults: u8, factory: bool) -> BootState {
        let mut state = BootState::default();
        state.floors.release_counter = 5;
        state.floors.targets_version = 5;
        for (i, status) in statuses.into_iter().enumerate() {
            let slot = &mut state.slots[i];
            slot.status = status;
            slot.info = (status != Empty).then_some(if status == Superseded { OLD } else { INFO });
            slot.attempts = if status == Trial { attempts } else { 0 };
            slot.faults = if status == Active { faults } else { 0 };
        }
        state.factory = factory.then_some(OLD);
        state
    }

    /// Decides with every candidate valid except those in `bad`.
    fn plan(state: &BootState, inputs: BootInputs, bad: &[Candidate]) -> BootPlan {
        let result: Result<BootPlan, ()> = decide(state, &inputs, &BootPolicy::default(), |c| Ok(!bad.contains(&c)));
        result.unwrap()
    }

    fn records(plan: &BootPlan) -> Vec<Record> {
        plan.records().collect()
    }

    const FAULT: BootInputs = BootInputs { cause: ResetCause::Fault, recovery_pin: false };
    use SlotStatus::*;

    #[test]
    fn row_1_the_recovery_pin_or_the_applications_flag_starts_the_recovery_loader_and_writes_nothing() {
        let pin = BootInputs { recovery_pin: true, ..Default::default() };
        let p = plan(&state([Active, Installed], 0, 0, true), pin, &[]);
        assert_eq!((p.decision, records(&p)), (BootDecision::Recovery, Vec::new()));
        let mut flagged = state([Active, Empty], 0, 0, true);
        flagged.recovery_requested = true;
        assert_eq!(plan(&flagged, BootInputs::default(), &[]).decision, BootDecision::Recovery);
    }

    #[test]
    fn row_2_a_trial_is_counted_and_reverted_after_its_attempts() {
        let p = plan(&state([Active, Installed], 0, 0, true), BootInputs::default(), &[]);
        assert_eq!(p.decision, BootDecision::Boot { slot: Slot::B, trial: true });
        assert_eq!(records(&p), [Record::TrialStarted(Slot::B)]);
        for attempts in 1..3 {
            let p = plan(&state([Active, Trial], attempts, 0, true), FAULT, &[]);
            assert_eq!(p.decision, BootDecision::Boot { slot: Slot::B, trial: true }, "attempt {}", attempts + 1);
        }
        let p = plan(&state([Active, Trial], 3, 0, true), BootInputs::default(), &[]);
        assert_eq!(p.decision, BootDecision::Boot { slot: Slot::A, trial: false });
        assert_eq!(records(&p), [Record::Reverted(Slot::B)]);
        // An installed image whose bytes changed never runs.
        let p = plan(&state([Active, Installed], 0, 0, true), BootInputs::default(), &[Candidate::Slot(Slot::B)]);
        assert_eq!(
            (p.decision, records(&p)),
            (BootDecision::Boot { slot: Slot::A, trial: false }, [Record::Failed(Slot::B)].to_vec())
        );
    }

    #[test]
    fn row_3_five_fault_resets_in_a_row_mark_the_active_image_failed() {
        let p = plan(&state([Active, Superseded], 3, 3, true), FAULT, &[]);
        assert_eq!(
            (p.decision, records(&p)),
            (BootDecision::Boot { slot: Slot::A, trial: false }, [Record::Fault(Slot::A)].to_vec())
        );
        let p = plan(&state([Active, Empty], 0, 4, true), FAULT, &[]);
        assert_eq!(records(&p), [Record::Fault(Slot::A), Record::Failed(Slot::A)]);
        assert_eq!(p.decision, BootDecision::Factory, "the superseded slot is gone: the factory image");
        // Resets that are not faults do not count.
        let p = plan(&state([Active, Empty], 0, 4, true), BootInputs::default(), &[]);
        assert_eq!((p.decision, records(&p)), (BootDecision::Boot { slot: Slot::A, trial: false }, Vec::new()));
    }

    #[test]
    fn rows_4_and_5_the_active_image_boots_else_the_superseded_one_becomes_active_again() {
        let p = plan(&state([Active, Superseded], 0, 0, true), BootInputs::default(), &[]);
        assert_eq!((p.decision, records(&p)), (BootDecision::Boot { slot: Slot::A, trial: false }, Vec::new()));
        let mut allowed = state([Active, Superseded], 0, 0, true);
        allowed.floors.release_counter = 4;
        allowed.floors.targets_version = 4;
        let p = plan(&allowed, BootInputs::default(), &[Candidate::Slot(Slot::A)]);
        assert_eq!(p.decision, BootDecision::Boot { slot: Slot::B, trial: false });
        assert_eq!(records(&p), [Record::Failed(Slot::A), Record::Restored(Slot::B)]);
    }

    #[test]
    fn rows_6_and_7_with_both_slots_bad_the_factory_image_boots_else_the_recovery_loader() {
        let bad = [Candidate::Slot(Slot::A), Candidate::Slot(Slot::B)];
        let p = plan(&state([Active, Superseded], 0, 0, true), BootInputs::default(), &bad);
        assert_eq!(p.decision, BootDecision::Factory);
        let all_bad = [bad[0], bad[1], Candidate::Factory];
        let p = plan(&state([Active, Superseded], 0, 0, true), BootInputs::default(), &all_bad);
        assert_eq!(p.decision, BootDecision::Recovery);
        let p = plan(&state([Failed, Empty], 0, 0, false), BootInputs::default(), &[]);
        assert_eq!((p.decision, records(&p)), (BootDecision::Recovery, Vec::new()));
    }

    /// Every combination of slot statuses, attempts, faults, reset causes, validity and
    /// factory image: the decision boots only what may boot, falls to the factory image
    /// and the recovery loader only when nothing else can, and a power cut after any
    /// prefix of its records leads the next power-on to a decision as good.
    #[test]
    fn every_combination_of_states_decides_safely_and_every_prefix_of_its_records_too() {
        let statuses = [Empty, Installed, Trial, Active, Superseded, Failed];
        let candidates = [Candidate::Slot(Slot::A), Candidate::Slot(Slot::B), Candidate::Factory];
        let mut checked = 0;
        for a in statuses {
            for b in statuses {
                let pair = [a, b];
                let count = |s| pair.iter().filter(|x| **x == s).count();
                let pending = count(Trial) + count(Installed);
                if count(Active) > 1 || count(Superseded) > 1 || pending > 1 {
                    continue; // no sequence of records makes these
                }
                for attempts in 1..=3 {
                    for faults in 0..5 {
                        for cause in [ResetCause::PowerOn, ResetCause::Software, ResetCause::Fault] {
                            for factory in [false, true] {
                                for bad_mask in 0..8u8 {
                                    let bad: Vec<Candidate> =
                                        (0..3).filter(|i| bad_mask & (1 << i) != 0).map(|i| candidates[i]).collect();
                                    let start = state(pair, attempts, faults, factory);
                                    check(&start, BootInputs { cause, recovery_pin: false }, &bad);
                                    checked += 1;
                                }
                            }
                        }
                    }
                }
            }
        }
        assert!(checked > 5000, "{checked}");
    }

    fn check(start: &BootState, inputs: BootInputs, bad: &[Candidate]) {
        let p = plan(start, inputs, bad);
        let mut end = *start;
        for record in p.records() {
            end.apply(&record);
        }
        let ok = |slot: Slot| {
            !bad.contains(&Candidate::Slot(slot)) && end.slot(slot).info.is_some_and(|i| end.floors.allow(&i))
        };
        match p.decision {
            BootDecision::Boot { slot, trial: true } => {
                assert!(ok(slot) && end.slot(slot).status == Trial && end.slot(slot).attempts <= 3, "{start:?} {p:?}");
            }
            BootDecision::Boot { slot, trial: false } => {
                assert!(ok(slot) && end.slot(slot).status == Active && end.slot(slot).faults < 5, "{start:?} {p:?}");
            }
            BootDecision::Factory | BootDecision::Recovery => {
                for slot in [Slot::A, Slot::B] {
                    let status = end.slot(slot).status;
                    let could = matches!(status, Active | Superseded | Installed | Trial) && ok(slot);
                    assert!(!could, "{slot:?} could boot: {start:?} {p:?}");
                }
                let factory = end.factory.is_some() && !bad.contains(&Candidate::Factory);
                assert_eq!(p.decision == BootDecision::Factory, factory, "{start:?} {p:?}");
            }
        }
        assert!(end.floors == start.floors, "a boot decision never moves the floors");
        // A cut after any prefix: the next power-on boots something as trusted.
        let records: Vec<Record> = p.records().collect();
        for cut in 0..records.len() {
            if inputs.cause == ResetCause::Fault
                && !records[..cut].contains(&Record::Fault(Slot::A))
                && !records[..cut].contains(&Record::Fault(Slot::B))
            {
                continue; // the fault was lost with the power: the next reset is a power-on
            }
            let mut left = *start;
            for record in &records[..cut] {
                left.apply(record);
            }
            let again = plan(&left, BootInputs::default(), bad);
            let kind = |d: BootDecision| match d {
                BootDecision::Boot { slot, .. } => Some(slot),
                _ => None,
            };
            assert_eq!(kind(again.decision), kind(p.decision), "cut after {cut} of {records:?} from {start:?}");
        }
    }
}
