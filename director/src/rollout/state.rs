//! A rollout's life: `draft -> scheduled -> running(stage k) <-> paused(reason) ->
//! completed`, `running | paused -> aborted`, `draft | scheduled -> cancelled`. Each
//! transition is a pure function of the state and a command (an operator's, with a
//! reason, or the gate's); everything else is refused by name.

use std::fmt;

use super::gate::Decision;
#[cfg(doc)]
use super::gate::PauseReason;

/// Why a rollout is paused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PauseCause {
    /// The gate paused it, for this reason (a [`PauseReason`] in words).
    Gate(String),
    /// An operator did, for this reason.
    Operator(String),
}

impl fmt::Display for PauseCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PauseCause::Gate(reason) => write!(f, "paused by the gate: {reason}"),
            PauseCause::Operator(reason) => write!(f, "paused by hand: {reason}"),
        }
    }
}

/// Where a rollout is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RolloutState {
    /// Created, not started; its plan can still change.
    Draft,
    /// Starts by itself at this time (Unix seconds).
    Scheduled {
        /// When.
        start_at: i64,
    },
    /// Admitting and offering to the vehicles of stages up to `stage` (from 0).
    Running {
        /// The current stage.
        stage: usize,
    },
    /// No new admissions or offers; vehicles already installing go on.
    Paused {
        /// The stage it stopped in.
        stage: usize,
        /// Why.
        cause: PauseCause,
    },
    /// Every stage succeeded.
    Completed,
    /// Stopped for good; vehicles that had not started are no longer offered it.
    Aborted,
    /// Stopped before it started.
    Cancelled,
}

/// The name of a state, as stored and as the API and metrics show it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StateKind {
    /// [`RolloutState::Draft`].
    Draft,
    /// [`RolloutState::Scheduled`].
    Scheduled,
    /// [`RolloutState::Running`].
    Running,
    /// [`RolloutState::Paused`].
    Paused,
    /// [`RolloutState::Completed`].
    Completed,
    /// [`RolloutState::Aborted`].
    Aborted,
    /// [`RolloutState::Cancelled`].
    Cancelled,
}

impl StateKind {
    /// Every state.
    pub const ALL: [StateKind; 7] = [
        StateKind::Draft,
        StateKind::Scheduled,
        StateKind::Running,
        StateKind::Paused,
        StateKind::Completed,
        StateKind::Aborted,
        StateKind::Cancelled,
    ];

    /// Its name.
    pub fn as_str(self) -> &'static str {
        match self {
            StateKind::Draft => "draft",
            StateKind::Scheduled => "scheduled",
            StateKind::Running => "running",
            StateKind::Paused => "paused",
            StateKind::Completed => "completed",
            StateKind::Aborted => "aborted",
            StateKind::Cancelled => "cancelled",
        }
    }

    /// The state of that name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl RolloutState {
    /// Its name.
    pub fn kind(&self) -> StateKind {
        match self {
            RolloutState::Draft => StateKind::Draft,
            RolloutState::Scheduled { .. } => StateKind::Scheduled,
            RolloutState::Running { .. } => StateKind::Running,
            RolloutState::Paused { .. } => StateKind::Paused,
            RolloutState::Completed => StateKind::Completed,
            RolloutState::Aborted => StateKind::Aborted,
            RolloutState::Cancelled => StateKind::Cancelled,
        }
    }

    /// Whether new vehicles may be admitted and offered the update.
    pub fn offers(&self) -> bool {
        matches!(self, RolloutState::Running { .. })
    }

    /// Whether it has ended (nothing moves it any more).
    pub fn is_final(&self) -> bool {
        matches!(self, RolloutState::Completed | RolloutState::Aborted | RolloutState::Cancelled)
    }
}

/// What moves a rollout: an operator's command, or the gate's decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Start at a later time.
    Schedule {
        /// When (Unix seconds).
        start_at: i64,
    },
    /// Start now (or the scheduled time has come).
    Start,
    /// Pause by hand.
    Pause {
        /// Why.
        reason: String,
    },
    /// Go on after a pause, in the same stage.
    Resume,
    /// Move to the next stage by hand (the only way past a manual gate).
    Advance,
    /// Stop for good.
    Abort,
    /// Drop a rollout that has not started.
    Cancel,
    /// The gate decided.
    Gate(Decision),
}

impl Command {
    /// Its name, for messages and the audit log.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Schedule { .. } => "schedule",
            Command::Start => "start",
            Command::Pause { .. } => "pause",
            Command::Resume => "resume",
            Command::Advance => "advance",
            Command::Abort => "abort",
            Command::Cancel => "cancel",
            Command::Gate(_) => "gate",
        }
    }

    /// The operator's command of that name, with its reason (a pause keeps it as the
    /// cause) and, for `schedule`, its start time.
    pub fn named(name: &str, reason: &str, start_at: Option<i64>) -> Result<Command, UnknownCommand> {
        Ok(match (name, start_at) {
            ("start", _) => Command::Start,
            ("schedule", Some(start_at)) => Command::Schedule { start_at },
            ("schedule", None) => return Err(UnknownCommand::NoStartTime),
            ("pause", _) => Command::Pause { reason: reason.to_string() },
            ("resume", _) => Command::Resume,
            ("advance", _) => Command::Advance,
            ("abort", _) => Command::Abort,
            ("cancel", _) => Command::Cancel,
            (other, _) => return Err(UnknownCommand::Unknown(other.to_string())),
        })
    }
}

/// A name that is no operator's command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UnknownCommand {
    /// Not a command at all.
    Unknown(String),
    /// `schedule` without the time to start.
    NoStartTime,
}

impl fmt::Display for UnknownCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnknownCommand::Unknown(name) => {
                write!(f, "{name}: not a command (start, schedule, pause, resume, advance, abort, cancel)")
            }
            UnknownCommand::NoStartTime => f.write_str("schedule needs start_at (Unix seconds)"),
        }
    }
}

/// A command the rollout's state does not take.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    /// The state it was in.
    pub from: StateKind,
    /// The command.
    pub command: &'static str,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hint = match (self.from, self.command) {
            (StateKind::Paused, "advance") => ": resume it first",
            (StateKind::Running, "cancel") => ": a started rollout is aborted, not cancelled",
            (StateKind::Draft | StateKind::Scheduled, "abort") => ": one that has not started is cancelled",
            (StateKind::Completed | StateKind::Aborted | StateKind::Cancelled, _) => ": it has ended",
            _ => "",
        };
        write!(f, "a {} rollout cannot {}{hint}", self.from.as_str(), self.command)
    }
}

impl std::error::Error for Refused {}

/// The state after `command`, for a rollout of `stages` stages; the gate's `Hold` leaves
/// it as it is.
pub fn next(state: &RolloutState, command: Command, stages: usize) -> Result<RolloutState, Refused> {
    use RolloutState as S;
    let refused = Refused { from: state.kind(), command: command.name() };
    let advanced = |stage: usize| if stage + 1 >= stages { S::Completed } else { S::Running { stage: stage + 1 } };
    Ok(match (state, command) {
        (S::Draft, Command::Schedule { start_at }) => S::Scheduled { start_at },
        (S::Draft | S::Scheduled { .. }, Command::Start) => S::Running { stage: 0 },
        (S::Draft | S::Scheduled { .. }, Command::Cancel) => S::Cancelled,
        (S::Running { stage }, Command::Pause { reason }) => {
            S::Paused { stage: *stage, cause: PauseCause::Operator(reason) }
        }
        (S::Paused { stage, .. }, Command::Resume) => S::Running { stage: *stage },
        (S::Running { stage }, Command::Advance) => advanced(*stage),
        (S::Running { .. } | S::Paused { .. }, Command::Abort) => S::Aborted,
        (S::Running { stage }, Command::Gate(decision)) => match decision {
            Decision::Hold(_) => S::Running { stage: *stage },
            Decision::Advance | Decision::Complete => advanced(*stage),
            Decision::Pause(reason) => S::Paused { stage: *stage, cause: PauseCause::Gate(reason.to_string()) },
        },
        _ => return Err(refused),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rollout::gate::{Hold, PauseReason};

    fn states() -> Vec<RolloutState> {
        vec![
            RolloutState::Draft,
            RolloutState::Scheduled { start_at: 100 },
            RolloutState::Running { stage: 0 },
            RolloutState::Running { stage: 3 },
            RolloutState::Paused { stage: 1, cause: PauseCause::Operator("looking".into()) },
            RolloutState::Completed,
            RolloutState::Aborted,
            RolloutState::Cancelled,
        ]
    }

    fn commands() -> Vec<Command> {
        vec![
            Command::Schedule { start_at: 200 },
            Command::Start,
            Command::Pause { reason: "support asked".into() },
            Command::Resume,
            Command::Advance,
            Command::Abort,
            Command::Cancel,
            Command::Gate(Decision::Hold(Hold::AwaitingApproval)),
            Command::Gate(Decision::Advance),
            Command::Gate(Decision::Complete),
            Command::Gate(Decision::Pause(PauseReason::Attack { count: 1 })),
        ]
    }

    /// The design's table of transitions, by state and command name.
    fn allowed(from: StateKind, command: &str) -> bool {
        use StateKind as K;
        matches!(
            (from, command),
            (K::Draft, "schedule" | "start" | "cancel")
                | (K::Scheduled, "start" | "cancel")
                | (K::Running, "pause" | "advance" | "abort" | "gate")
                | (K::Paused, "resume" | "abort")
        )
    }

    #[test]
    fn every_state_takes_exactly_the_commands_of_the_design() {
        for state in states() {
            for command in commands() {
                let name = command.name();
                let result = next(&state, command.clone(), 4);
                assert_eq!(result.is_ok(), allowed(state.kind(), name), "{state:?} + {command:?} = {result:?}");
                if let Err(refused) = result {
                    assert!(
                        refused.to_string().starts_with(&format!("a {} rollout cannot {name}", state.kind().as_str()))
                    );
                }
            }
        }
    }

    #[test]
    fn stages_advance_one_at_a_time_and_the_last_completes() {
        let mut state = next(&RolloutState::Draft, Command::Start, 3).unwrap();
        assert_eq!(state, RolloutState::Running { stage: 0 });
        state = next(&state, Command::Gate(Decision::Advance), 3).unwrap();
        assert_eq!(state, RolloutState::Running { stage: 1 });
        state = next(&state, Command::Advance, 3).unwrap();
        assert_eq!(state, RolloutState::Running { stage: 2 });
        assert_eq!(next(&state, Command::Gate(Decision::Complete), 3).unwrap(), RolloutState::Completed);
        assert_eq!(next(&state, Command::Gate(Decision::Hold(Hold::AwaitingApproval)), 3).unwrap(), state);
    }

    #[test]
    fn a_pause_keeps_its_stage_and_its_reason_and_only_offers_while_running() {
        let reason = PauseReason::Attack { count: 2 };
        let paused =
            next(&RolloutState::Running { stage: 2 }, Command::Gate(Decision::Pause(reason.clone())), 4).unwrap();
        assert_eq!(paused, RolloutState::Paused { stage: 2, cause: PauseCause::Gate(reason.to_string()) });
        assert!(!paused.offers());
        assert_eq!(paused.to_owned_cause_text(), "paused by the gate: 2 vehicle(s) reported an attack");
        let resumed = next(&paused, Command::Resume, 4).unwrap();
        assert_eq!(resumed, RolloutState::Running { stage: 2 });
        assert!(resumed.offers());
        let refused = next(&paused, Command::Advance, 4).unwrap_err().to_string();
        assert_eq!(refused, "a paused rollout cannot advance: resume it first");
    }

    #[test]
    fn state_names_round_trip() {
        for kind in StateKind::ALL {
            assert_eq!(StateKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(StateKind::parse("installed"), None);
    }

    impl RolloutState {
        fn to_owned_cause_text(&self) -> String {
            match self {
                RolloutState::Paused { cause, .. } => cause.to_string(),
                _ => String::new(),
            }
        }
    }
}
