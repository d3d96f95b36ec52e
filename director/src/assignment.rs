//! An assignment's life and what a vehicle's report does to it, as typed values and a
//! pure function: `queued` (waits for the vehicle's outstanding bundle), `issued` (in its
//! director targets), then `installed`, `failed` or `cancelled`.

use std::fmt;

/// Where an assignment is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AssignmentState {
    /// Waits for the vehicle's outstanding bundle to resolve.
    Queued,
    /// Listed in the vehicle's director targets.
    Issued,
    /// The ECU reports running the image.
    Installed,
    /// The ECU reported an attack, or runs neither the old image nor the new one.
    Failed,
    /// Withdrawn before it was installed.
    Cancelled,
}

impl AssignmentState {
    /// Every state.
    pub const ALL: [AssignmentState; 5] = [
        AssignmentState::Queued,
        AssignmentState::Issued,
        AssignmentState::Installed,
        AssignmentState::Failed,
        AssignmentState::Cancelled,
    ];

    /// Its name, as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            AssignmentState::Queued => "queued",
            AssignmentState::Issued => "issued",
            AssignmentState::Installed => "installed",
            AssignmentState::Failed => "failed",
            AssignmentState::Cancelled => "cancelled",
        }
    }

    /// The state of that name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Whether it is still to be installed (it can be cancelled).
    pub fn is_open(self) -> bool {
        matches!(self, AssignmentState::Queued | AssignmentState::Issued)
    }
}

impl fmt::Display for AssignmentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The image an ECU reports, and the one an assignment wants, as compared.
#[derive(Clone, Debug, PartialEq)]
pub struct Image {
    /// Its target path.
    pub path: String,
    /// Its length.
    pub length: u64,
    /// Its hashes (the JSON object, compared whatever its key order).
    pub hashes: serde_json::Value,
}

impl Image {
    /// The image an `installed` report entry or a target file entry names (JSON with
    /// `filepath` or the given path, `length`, `hashes`); `None` if it is not one.
    pub fn from_json(path: Option<&str>, text: &str) -> Option<Image> {
        let value: serde_json::Value = serde_json::from_str(text).ok()?;
        let path = path.or_else(|| value.get("filepath")?.as_str())?.to_string();
        Some(Image { path, length: value.get("length")?.as_u64()?, hashes: value.get("hashes")?.clone() })
    }
}

/// What one accepted report does to an issued assignment of its ECU.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The ECU runs the assigned image.
    Installed,
    /// It failed: an attack reported, or neither image running.
    Failed,
    /// Issued before the director knew what the ECU ran: this report names the image
    /// it replaces (stored as the assignment's previous image).
    LearnedPrevious,
    /// Still the previous image: not installed yet.
    Pending,
}

/// The outcome for an issued assignment wanting `wanted`, whose ECU ran `previous` when
/// it was issued (if known), given a report of `installed` with `attack` (0: none).
pub fn on_report(wanted: &Image, previous: Option<&str>, installed: &str, attack: i64) -> Outcome {
    if Image::from_json(None, installed).as_ref() == Some(wanted) {
        Outcome::Installed
    } else if attack != 0 {
        Outcome::Failed
    } else if previous.is_none() {
        Outcome::LearnedPrevious
    } else if previous != Some(installed) {
        Outcome::Failed
    } else {
        Outcome::Pending
    }
}

impl Outcome {
    /// The state it moves the assignment to (`None`: it stays issued).
    pub fn state(&self) -> Option<AssignmentState> {
        match self {
            Outcome::Installed => Some(AssignmentState::Installed),
            Outcome::Failed => Some(AssignmentState::Failed),
            Outcome::LearnedPrevious | Outcome::Pending => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NEW: &str = r#"{"filepath":"brake/fw-2.bin","length":16,"hashes":{"sha256":"aa"}}"#;
    const OLD: &str = r#"{"filepath":"factory.bin","length":7,"hashes":{"sha256":"bb"}}"#;
    const OTHER: &str = r#"{"filepath":"brake/fw-9.bin","length":9,"hashes":{"sha256":"cc"}}"#;

    fn wanted() -> Image {
        Image::from_json(Some("brake/fw-2.bin"), r#"{"length":16,"hashes":{"sha256":"aa"},"custom":{}}"#).unwrap()
    }

    #[test]
    fn every_report_moves_an_issued_assignment_as_the_design_says() {
        for (previous, installed, attack, expected) in [
            (Some(OLD), NEW, 0, Outcome::Installed),
            (Some(OLD), NEW, 12, Outcome::Installed), // it runs the image: what it detected later is its own event
            (Some(OLD), OLD, 0, Outcome::Pending),
            (Some(OLD), OLD, 3, Outcome::Failed),
            (Some(OLD), OTHER, 0, Outcome::Failed),
            (None, OLD, 0, Outcome::LearnedPrevious),
            (None, OLD, 3, Outcome::Failed),
            (None, NEW, 0, Outcome::Installed),
        ] {
            assert_eq!(
                on_report(&wanted(), previous, installed, attack),
                expected,
                "{previous:?} -> {installed}, attack {attack}"
            );
        }
    }

    #[test]
    fn the_same_path_with_other_content_is_not_the_assigned_image() {
        let same_path_other_hash = r#"{"filepath":"brake/fw-2.bin","length":16,"hashes":{"sha256":"ff"}}"#;
        assert_eq!(on_report(&wanted(), Some(OLD), same_path_other_hash, 0), Outcome::Failed);
        assert_eq!(on_report(&wanted(), Some(OLD), "not json", 0), Outcome::Failed);
    }

    #[test]
    fn state_names_round_trip_and_only_queued_and_issued_are_open() {
        for state in AssignmentState::ALL {
            assert_eq!(AssignmentState::parse(state.as_str()), Some(state));
            assert_eq!(state.is_open(), matches!(state, AssignmentState::Queued | AssignmentState::Issued));
        }
        assert_eq!(AssignmentState::parse("done"), None);
    }
}
