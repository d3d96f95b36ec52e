//! Where one vehicle of a rollout stands, from the assignments the rollout gave it and
//! what its ECUs' reports say: success is every assigned ECU running its image and
//! confirmed, never merely written; a vehicle that checked in after its offer and then
//! went silent past the device timeout has timed out; one never seen has not. A vehicle
//! that failed carries the reason as a code, so a rollout counts failures by code.

use metadata_schemas::uptane::{BootState, InstallResult};

use crate::assignment::AssignmentState;

/// A rollout vehicle's state, as stored and counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum VehicleState {
    /// Selected, in a stage not reached yet.
    Eligible,
    /// Its stage is reached: the update is assigned to it.
    Offered,
    /// Every assigned ECU runs the image, not all confirmed yet.
    Trial,
    /// Every assigned ECU runs the image, confirmed.
    Confirmed,
    /// An assigned ECU failed (an attack reported, or neither image running).
    Failed,
    /// An assigned ECU went back to its old image, the new one unconfirmed.
    RolledBack,
    /// Checked in after its offer, then nothing finished within the device timeout.
    TimedOut,
    /// The rollout was aborted before the vehicle started.
    Withdrawn,
}

impl VehicleState {
    /// Every state.
    pub const ALL: [VehicleState; 8] = [
        VehicleState::Eligible,
        VehicleState::Offered,
        VehicleState::Trial,
        VehicleState::Confirmed,
        VehicleState::Failed,
        VehicleState::RolledBack,
        VehicleState::TimedOut,
        VehicleState::Withdrawn,
    ];

    /// Its name.
    pub fn as_str(self) -> &'static str {
        match self {
            VehicleState::Eligible => "eligible",
            VehicleState::Offered => "offered",
            VehicleState::Trial => "trial",
            VehicleState::Confirmed => "confirmed",
            VehicleState::Failed => "failed",
            VehicleState::RolledBack => "rolled_back",
            VehicleState::TimedOut => "timed_out",
            VehicleState::Withdrawn => "withdrawn",
        }
    }

    /// The state of that name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Whether its outcome is known (it counts as finished).
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            VehicleState::Confirmed | VehicleState::Failed | VehicleState::RolledBack | VehicleState::TimedOut
        )
    }
}

/// One assignment a rollout gave the vehicle, with what its ECU last said of its boot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AssignedEcu {
    /// The assignment's state.
    pub state: AssignmentState,
    /// The ECU's boot state, if its reports say.
    pub boot_state: Option<BootState>,
    /// The ECU says it went back from this assignment's image, unconfirmed (its last
    /// install ended `reverted_unconfirmed` with this image as the one it left). The
    /// assignment stays issued, so a vehicle whose trial a power cut ended tries again;
    /// the rollout counts the rollback all the same.
    pub reverted: bool,
    /// How the ECU's last install ended, as it reported.
    pub result: Option<InstallResult>,
    /// The ECU's report counted attacks.
    pub attack: bool,
}

/// Why a vehicle of a rollout did not confirm the update.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// What the device reported (`download_failed`, `verification_failed:<attack>`, ...).
    Reported(InstallResult),
    /// Its report counted attacks without naming one.
    UnnamedAttack,
    /// It runs neither the image it had nor the one assigned, and said nothing more.
    UnexpectedImage,
    /// It checked in after its offer, then finished nothing within the device timeout.
    Timeout,
    /// The director could not assign it the update (the reason is in its events).
    OfferFailed,
}

impl Failure {
    /// Its code, as stored and shown.
    pub fn code(self) -> String {
        match self {
            Failure::Reported(result) => result.code(),
            Failure::UnnamedAttack => "verification_failed".into(),
            Failure::UnexpectedImage => "unexpected_image".into(),
            Failure::Timeout => InstallResult::Timeout.code(),
            Failure::OfferFailed => "offer_failed".into(),
        }
    }

    /// Whether it is a device refusing an attack (which pauses a rollout at once).
    pub fn is_attack(self) -> bool {
        matches!(self, Failure::Reported(InstallResult::VerificationFailed(_)) | Failure::UnnamedAttack)
    }
}

/// Where an offered vehicle stands, and why it failed if it did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Standing {
    /// Its state.
    pub state: VehicleState,
    /// Why it failed, rolled back or timed out.
    pub failure: Option<Failure>,
}

/// What the vehicle's check-ins tell of it since its offer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seen {
    /// When it was offered the update (Unix seconds).
    pub offered_at: i64,
    /// When its last manifest was accepted (Unix seconds; 0: never).
    pub last_seen: i64,
    /// Now.
    pub now: i64,
    /// The device timeout (seconds).
    pub timeout_secs: i64,
}

/// The state of an offered vehicle, from its assignments and check-ins.
pub fn state_of(ecus: &[AssignedEcu], seen: Seen) -> VehicleState {
    standing(ecus, seen).state
}

/// Where an offered vehicle stands, from its assignments and check-ins, with the failure.
pub fn standing(ecus: &[AssignedEcu], seen: Seen) -> Standing {
    let failed = |state, failure| Standing { state, failure: Some(failure) };
    if ecus.iter().any(|e| e.reverted) {
        return failed(VehicleState::RolledBack, Failure::Reported(InstallResult::RevertedUnconfirmed));
    }
    if let Some(ecu) = ecus.iter().find(|e| e.state == AssignmentState::Failed) {
        return failed(VehicleState::Failed, failure_of(ecu));
    }
    let installed = !ecus.is_empty() && ecus.iter().all(|e| e.state == AssignmentState::Installed);
    if installed && ecus.iter().all(|e| e.boot_state == Some(BootState::Confirmed)) {
        return Standing { state: VehicleState::Confirmed, failure: None };
    }
    if timed_out(seen) {
        return failed(VehicleState::TimedOut, Failure::Timeout);
    }
    Standing { state: if installed { VehicleState::Trial } else { VehicleState::Offered }, failure: None }
}

/// Whether a vehicle not finished has timed out: it checked in after its offer (strictly
/// after: a check-in in the very second of the offer may have preceded it), and the
/// device timeout has passed since the offer.
pub fn timed_out(seen: Seen) -> bool {
    seen.last_seen > seen.offered_at && seen.now - seen.offered_at > seen.timeout_secs
}

/// The latest offer time a vehicle not finished can have at `now` and not time out: the
/// same rule as [`timed_out`], for a query over many vehicles at once.
pub fn timeout_cutoff(now: i64, timeout_secs: i64) -> i64 {
    now - timeout_secs
}

impl From<VehicleState> for Standing {
    fn from(state: VehicleState) -> Self {
        Standing { state, failure: None }
    }
}

/// Why an ECU whose assignment failed failed.
fn failure_of(ecu: &AssignedEcu) -> Failure {
    match ecu.result {
        Some(result) if result != InstallResult::Ok => Failure::Reported(result),
        _ if ecu.attack => Failure::UnnamedAttack,
        _ => Failure::UnexpectedImage,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;

    fn ecu(state: AssignmentState, boot_state: Option<BootState>) -> AssignedEcu {
        AssignedEcu { state, boot_state, reverted: false, result: None, attack: false }
    }

    fn reverted() -> AssignedEcu {
        AssignedEcu {
            state: AssignmentState::Issued,
            boot_state: Some(BootState::Confirmed),
            reverted: true,
            result: Some(InstallResult::RevertedUnconfirmed),
            attack: false,
        }
    }

    fn seen(last_seen: i64, now: i64) -> Seen {
        Seen { offered_at: 1_000, last_seen, now, timeout_secs: 3 * DAY }
    }

    #[test]
    fn success_is_every_ecu_running_its_image_and_confirmed() {
        use AssignmentState::{Installed, Issued};
        use BootState::{Confirmed, Trial};
        let fresh = seen(2_000, 2_000);
        assert_eq!(
            state_of(&[ecu(Installed, Some(Confirmed)), ecu(Installed, Some(Confirmed))], fresh),
            VehicleState::Confirmed
        );
        assert_eq!(
            state_of(&[ecu(Installed, Some(Confirmed)), ecu(Installed, Some(Trial))], fresh),
            VehicleState::Trial
        );
        assert_eq!(
            state_of(&[ecu(Installed, None)], fresh),
            VehicleState::Trial,
            "a report that does not say is no confirmation"
        );
        assert_eq!(state_of(&[ecu(Installed, Some(Confirmed)), ecu(Issued, None)], fresh), VehicleState::Offered);
        assert_eq!(state_of(&[], fresh), VehicleState::Offered);
    }

    #[test]
    fn a_rollback_or_a_failure_of_any_ecu_is_the_vehicles() {
        use AssignmentState::{Failed, Installed};
        let fresh = seen(2_000, 2_000);
        let confirmed = ecu(Installed, Some(BootState::Confirmed));
        assert_eq!(state_of(&[confirmed, reverted()], fresh), VehicleState::RolledBack);
        assert_eq!(state_of(&[confirmed, ecu(Failed, None)], fresh), VehicleState::Failed);
        assert_eq!(state_of(&[ecu(Failed, None), reverted()], fresh), VehicleState::RolledBack);
    }

    #[test]
    fn only_a_vehicle_seen_after_its_offer_times_out() {
        let pending = [ecu(AssignmentState::Issued, None)];
        assert_eq!(
            state_of(&pending, seen(0, 1_000 + 10 * DAY)),
            VehicleState::Offered,
            "never seen: reported, not counted"
        );
        assert_eq!(
            state_of(&pending, seen(500, 1_000 + 10 * DAY)),
            VehicleState::Offered,
            "seen only before the offer"
        );
        assert_eq!(state_of(&pending, seen(1_500, 1_000 + 3 * DAY)), VehicleState::Offered, "within the timeout");
        assert_eq!(state_of(&pending, seen(1_500, 1_001 + 3 * DAY)), VehicleState::TimedOut);
        let trial = [ecu(AssignmentState::Installed, Some(BootState::Trial))];
        assert_eq!(
            state_of(&trial, seen(1_500, 1_001 + 3 * DAY)),
            VehicleState::TimedOut,
            "a trial that never confirms"
        );
    }

    #[test]
    fn a_failure_carries_the_code_the_device_reported_and_attacks_are_told_apart() {
        use metadata_schemas::uptane::AttackCode;
        let fresh = seen(2_000, 2_000);
        let failed = |result, attack| AssignedEcu { result, attack, ..ecu(AssignmentState::Failed, None) };
        let attack = AttackCode::from_name("freeze").expect("an attack name");
        let cases = [
            (failed(Some(InstallResult::DownloadFailed), false), "download_failed", false),
            (failed(Some(InstallResult::VerificationFailed(attack)), true), "verification_failed:freeze", true),
            (failed(None, true), "verification_failed", true),
            (failed(Some(InstallResult::Ok), true), "verification_failed", true),
            (failed(None, false), "unexpected_image", false),
            (reverted(), "reverted_unconfirmed", false),
        ];
        for (ecu, code, is_attack) in cases {
            let s = standing(&[ecu], fresh);
            let failure = s.failure.expect("a failure");
            assert_eq!((failure.code().as_str(), failure.is_attack()), (code, is_attack), "{ecu:?}");
        }
        let timed_out = standing(&[ecu(AssignmentState::Issued, None)], seen(1_500, 1_001 + 3 * DAY));
        assert_eq!(timed_out.failure.map(Failure::code).as_deref(), Some("timeout"));
        let confirmed = standing(&[ecu(AssignmentState::Installed, Some(BootState::Confirmed))], fresh);
        assert_eq!(confirmed.failure, None);
    }

    #[test]
    fn the_timeout_cutoff_a_query_uses_is_the_rule_a_vehicle_is_judged_by() {
        let timeout_secs = 3 * DAY;
        for now in [1_000 + 3 * DAY - 1, 1_000 + 3 * DAY, 1_001 + 3 * DAY, 1_000 + 10 * DAY] {
            for offered_at in [0, 999, 1_000, 1_001, now - timeout_secs, now] {
                let seen = Seen { offered_at, last_seen: offered_at + 1, now, timeout_secs };
                assert_eq!(timed_out(seen), offered_at < timeout_cutoff(now, timeout_secs), "{seen:?}");
            }
        }
    }

    #[test]
    fn state_names_round_trip_and_finished_ones_are_the_four_outcomes() {
        for state in VehicleState::ALL {
            assert_eq!(VehicleState::parse(state.as_str()), Some(state));
        }
        let finished: Vec<_> = VehicleState::ALL.into_iter().filter(|s| s.is_finished()).collect();
        assert_eq!(
            finished,
            [VehicleState::Confirmed, VehicleState::Failed, VehicleState::RolledBack, VehicleState::TimedOut]
        );
    }
}
