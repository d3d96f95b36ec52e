//! Where one vehicle of a rollout stands, from the assignments the rollout gave it and
//! what its ECUs' reports say: success is every assigned ECU running its image and
//! confirmed, never merely written; a vehicle that checked in after its offer and then
//! went silent past the device timeout has timed out; one never seen has not.

use metadata_schemas::uptane::BootState;

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
    if ecus.iter().any(|e| e.reverted) {
        return VehicleState::RolledBack;
    }
    if ecus.iter().any(|e| e.state == AssignmentState::Failed) {
        return VehicleState::Failed;
    }
    let installed = !ecus.is_empty() && ecus.iter().all(|e| e.state == AssignmentState::Installed);
    if installed && ecus.iter().all(|e| e.boot_state == Some(BootState::Confirmed)) {
        return VehicleState::Confirmed;
    }
    // Strictly after: a check-in in the very second of the offer may have preceded it.
    let checked_in_since = seen.last_seen > seen.offered_at;
    if checked_in_since && seen.now - seen.offered_at > seen.timeout_secs {
        return VehicleState::TimedOut;
    }
    if installed { VehicleState::Trial } else { VehicleState::Offered }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;

    fn ecu(state: AssignmentState, boot_state: Option<BootState>) -> AssignedEcu {
        AssignedEcu { state, boot_state, reverted: false }
    }

    fn reverted() -> AssignedEcu {
        AssignedEcu { state: AssignmentState::Issued, boot_state: Some(BootState::Confirmed), reverted: true }
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
