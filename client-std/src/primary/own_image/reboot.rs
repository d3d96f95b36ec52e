//! What a reboot decides for the gateway's own image: a pure function of the persisted
//! state, the policy, and which images still hash to what was recorded.
//!
//! 1. A trial that did not confirm gets another run, up to the policy's attempts; then it
//!    is reverted. A trial whose bytes changed is reverted at once.
//! 2. A pending image (installed, never run) starts its trial, if its bytes are intact.
//! 3. Without a trial, the active image must be intact; else the other slot's image, if
//!    it is intact and did not fail, becomes active again; else the rescue image runs
//!    (RAUC's rescue slot), until an image installed from it confirms.

use super::State;

/// An image the decision may need checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Image {
    /// Slot 0 or 1.
    Slot(usize),
    /// The rescue slot.
    Rescue,
}

/// The state after a reboot. `intact` hashes an image against its record (asked only
/// for the images the decision reaches).
pub(super) fn after_reboot(mut state: State, trial_attempts: u32, intact: &mut dyn FnMut(Image) -> bool) -> State {
    if let Some(slot) = state.trial {
        if state.attempts >= trial_attempts.max(1) || !intact(Image::Slot(slot)) {
            state.failed = state.slots[slot].clone();
            state.trial = None;
        } else {
            state.attempts += 1;
            return state;
        }
    } else if let Some(slot) = state.pending.take() {
        if intact(Image::Slot(slot)) {
            (state.trial, state.attempts) = (Some(slot), 1);
            return state;
        }
        state.failed = state.slots[slot].clone();
    }
    if state.rescue || intact(Image::Slot(state.active)) {
        return state;
    }
    let other = 1 - state.active;
    let usable = state.slots[other].is_some() && state.slots[other] != state.failed;
    if usable && intact(Image::Slot(other)) {
        state.active = other;
    } else if state.rescue_image.is_some() && intact(Image::Rescue) {
        state.rescue = true;
    }
    state
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::primary::own_image::SlotImage;

    fn image(name: &str) -> Option<SlotImage> {
        Some(SlotImage { name: name.into(), length: 1, sha256: "00".into(), ..Default::default() })
    }

    fn state() -> State {
        State { slots: [image("fw-1"), image("fw-2")], rescue_image: image("rescue"), ..State::default() }
    }

    fn decide(state: State, bad: &[Image]) -> State {
        after_reboot(state, 3, &mut |i| !bad.contains(&i))
    }

    #[test]
    fn an_unconfirmed_trial_gets_three_runs_then_reverts() {
        let mut s = State { pending: Some(1), ..state() };
        s = decide(s, &[]);
        assert_eq!((s.trial, s.attempts), (Some(1), 1));
        for run in 2..=3 {
            s = decide(s, &[]);
            assert_eq!((s.trial, s.attempts), (Some(1), run));
        }
        s = decide(s, &[]);
        assert_eq!((s.trial, s.active), (None, 0), "reverted");
        assert_eq!(s.failed, image("fw-2"));
    }

    #[test]
    fn a_trial_or_pending_image_whose_bytes_changed_never_runs() {
        let s = decide(State { pending: Some(1), ..state() }, &[Image::Slot(1)]);
        assert_eq!((s.trial, s.failed.clone()), (None, image("fw-2")));
        let s = decide(State { trial: Some(1), attempts: 1, ..state() }, &[Image::Slot(1)]);
        assert_eq!((s.trial, s.active), (None, 0));
    }

    #[test]
    fn a_corrupted_active_image_falls_back_to_the_other_slot_then_to_the_rescue_slot() {
        let s = decide(state(), &[Image::Slot(0)]);
        assert_eq!((s.active, s.rescue), (1, false), "the other slot's intact image");
        let s = decide(state(), &[Image::Slot(0), Image::Slot(1)]);
        assert!(s.rescue, "both slots bad: the rescue image");
        let failed_other = State { failed: image("fw-2"), ..state() };
        assert!(decide(failed_other, &[Image::Slot(0)]).rescue, "never back to an image that failed its trial");
        let no_rescue = State { rescue_image: None, ..state() };
        let s = decide(no_rescue, &[Image::Slot(0), Image::Slot(1)]);
        assert_eq!((s.active, s.rescue), (0, false), "nothing better: unchanged");
    }

    #[test]
    fn in_rescue_an_image_installed_from_it_runs_as_a_trial() {
        let rescued = State { rescue: true, pending: Some(0), ..state() };
        let s = decide(rescued, &[Image::Slot(1)]);
        assert_eq!((s.trial, s.rescue), (Some(0), true), "rescue ends when the trial confirms");
    }
}
