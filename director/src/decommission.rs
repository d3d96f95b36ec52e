//! A vehicle's decommissioning, as a pure state machine:
//!
//! `active -> requested` (an operator, with a reason; the director picks the nonce)
//! `-> issued` (the image repository signs the same command, `decommission/<vin>.json`;
//! the director then puts it in the vehicle's targets) `-> decommissioned` (the vehicle's
//! last signed manifest acknowledged the nonce: in the same transaction its credentials
//! are refused and its endpoints answer 410), or `-> unacknowledged` when no
//! acknowledgement came within the timeout (refused just the same). A request can be
//! cancelled until the command is issued; after that the device may already be erasing.

use std::fmt;

/// Where a vehicle stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DecommissionState {
    /// In service.
    Active,
    /// An operator asked; waiting for the image repository to sign the command.
    Requested,
    /// Both repositories command it; waiting for the device's acknowledgement.
    Issued,
    /// The device acknowledged and erases its keys; its credentials are refused.
    Decommissioned,
    /// No acknowledgement within the timeout; its credentials are refused.
    Unacknowledged,
}

impl DecommissionState {
    /// Every state.
    pub const ALL: [DecommissionState; 5] = [
        DecommissionState::Active,
        DecommissionState::Requested,
        DecommissionState::Issued,
        DecommissionState::Decommissioned,
        DecommissionState::Unacknowledged,
    ];

    /// Its name in the database and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            DecommissionState::Active => "active",
            DecommissionState::Requested => "decommission_requested",
            DecommissionState::Issued => "command_issued",
            DecommissionState::Decommissioned => "decommissioned",
            DecommissionState::Unacknowledged => "decommissioned_unacknowledged",
        }
    }

    /// The state named `name`.
    pub fn parse(name: &str) -> Option<DecommissionState> {
        DecommissionState::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Out of service for good: its endpoints answer 410 Gone.
    pub fn is_gone(self) -> bool {
        matches!(self, DecommissionState::Decommissioned | DecommissionState::Unacknowledged)
    }

    /// Takes new images (assignments, rollouts) only while active.
    pub fn takes_updates(self) -> bool {
        self == DecommissionState::Active
    }
}

/// What happens to a vehicle's decommissioning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step<'a> {
    /// An operator asks.
    Request,
    /// An operator withdraws the request.
    Cancel,
    /// The image repository signs a command; whether it agrees with the director's.
    ImageRepositorySigned {
        /// Same vin, nonce and erase list.
        agrees: bool,
    },
    /// A manifest acknowledges a nonce.
    Acknowledged {
        /// The nonce it carries.
        nonce: &'a str,
        /// The nonce the director chose.
        expected: &'a str,
    },
    /// The acknowledgement timeout passed.
    TimedOut,
}

/// Why a step does not apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecommissionError {
    /// The step does not apply in this state.
    WrongState {
        /// The vehicle's state.
        state: DecommissionState,
        /// What was asked.
        step: &'static str,
    },
    /// The image repository signs another command than the director's.
    Disagree,
    /// An acknowledgement with another nonce.
    WrongNonce,
}

impl fmt::Display for DecommissionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecommissionError::WrongState { state, step } => {
                write!(f, "cannot {step}: the vehicle is {}", state.as_str())
            }
            DecommissionError::Disagree => f.write_str(
                "the image repository's decommission command differs from the director's (vin, nonce or erase \
                 list): sign it again with the nonce and erase list the director shows",
            ),
            DecommissionError::WrongNonce => {
                f.write_str("the acknowledgement carries another nonce than the decommission command")
            }
        }
    }
}

impl std::error::Error for DecommissionError {}

fn step_name(step: &Step<'_>) -> &'static str {
    match step {
        Step::Request => "request decommissioning",
        Step::Cancel => "cancel decommissioning",
        Step::ImageRepositorySigned { .. } => "issue the decommission command",
        Step::Acknowledged { .. } => "take a decommission acknowledgement",
        Step::TimedOut => "time the decommissioning out",
    }
}

/// The state after `step`.
pub fn next(state: DecommissionState, step: Step<'_>) -> Result<DecommissionState, DecommissionError> {
    use DecommissionState as S;
    let wrong = || DecommissionError::WrongState { state, step: step_name(&step) };
    match (state, step) {
        (S::Active, Step::Request) => Ok(S::Requested),
        (S::Requested, Step::Cancel) => Ok(S::Active),
        (S::Requested, Step::ImageRepositorySigned { agrees: true }) => Ok(S::Issued),
        (S::Requested, Step::ImageRepositorySigned { agrees: false }) => Err(DecommissionError::Disagree),
        (S::Issued, Step::Acknowledged { nonce, expected }) if nonce == expected => Ok(S::Decommissioned),
        (S::Issued, Step::Acknowledged { .. }) => Err(DecommissionError::WrongNonce),
        (S::Issued, Step::TimedOut) => Ok(S::Unacknowledged),
        _ => Err(wrong()),
    }
}

/// Whether a command issued at `issued` has waited out `timeout_secs` at `now`.
pub fn timed_out(issued: i64, now: i64, timeout_secs: u64) -> bool {
    now.saturating_sub(issued) >= timeout_secs as i64
}

/// The earliest issue time still within the timeout at `now`: commands issued before it
/// have timed out (the same rule as [`timed_out`], as one bound for a query).
pub fn timeout_cutoff(now: i64, timeout_secs: u64) -> i64 {
    now.saturating_sub(timeout_secs as i64) + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use DecommissionState as S;

    fn steps() -> Vec<Step<'static>> {
        vec![
            Step::Request,
            Step::Cancel,
            Step::ImageRepositorySigned { agrees: true },
            Step::ImageRepositorySigned { agrees: false },
            Step::Acknowledged { nonce: "n1", expected: "n1" },
            Step::Acknowledged { nonce: "n0", expected: "n1" },
            Step::TimedOut,
        ]
    }

    #[test]
    fn a_vehicle_goes_from_active_to_decommissioned_only_through_both_repositories_and_its_acknowledgement() {
        let mut state = S::Active;
        for step in [
            Step::Request,
            Step::ImageRepositorySigned { agrees: true },
            Step::Acknowledged { nonce: "n1", expected: "n1" },
        ] {
            state = next(state, step).unwrap();
        }
        assert_eq!(state, S::Decommissioned);
        assert_eq!(next(S::Issued, Step::TimedOut), Ok(S::Unacknowledged));
        assert_eq!(next(S::Requested, Step::Cancel), Ok(S::Active));
    }

    #[test]
    fn every_other_step_in_every_state_is_refused_and_changes_nothing() {
        let allowed = [(S::Active, 0), (S::Requested, 1), (S::Requested, 2), (S::Issued, 4), (S::Issued, 6)];
        for state in S::ALL {
            for (i, step) in steps().into_iter().enumerate() {
                let result = next(state, step);
                assert_eq!(result.is_ok(), allowed.contains(&(state, i)), "{state:?} {step:?}: {result:?}");
            }
        }
        assert_eq!(next(S::Requested, Step::ImageRepositorySigned { agrees: false }), Err(DecommissionError::Disagree));
        assert_eq!(
            next(S::Issued, Step::Acknowledged { nonce: "n0", expected: "n1" }),
            Err(DecommissionError::WrongNonce)
        );
        let gone = next(S::Decommissioned, Step::Request).unwrap_err().to_string();
        assert_eq!(gone, "cannot request decommissioning: the vehicle is decommissioned");
    }

    #[test]
    fn states_round_trip_through_their_names_and_only_the_final_ones_are_gone() {
        for state in S::ALL {
            assert_eq!(DecommissionState::parse(state.as_str()), Some(state));
            assert_eq!(state.is_gone(), matches!(state, S::Decommissioned | S::Unacknowledged));
            assert_eq!(state.takes_updates(), state == S::Active);
        }
        assert_eq!(DecommissionState::parse("retired"), None);
    }

    #[test]
    fn the_timeout_query_bound_agrees_with_the_rule_on_every_boundary() {
        for timeout in [0u64, 1, 60, 86_400] {
            for issued in [0i64, 100, 1_000_000] {
                for now in issued - 2..issued + timeout as i64 + 3 {
                    let by_bound = issued < timeout_cutoff(now, timeout);
                    assert_eq!(by_bound, timed_out(issued, now, timeout), "{timeout} {issued} {now}");
                }
            }
        }
    }
}
