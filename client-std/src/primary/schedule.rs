//! When the gateway's next update cycle starts, as a pure function: after a good cycle,
//! the configured interval; after failed cycles in a row (the network down, the director
//! unreachable), an exponential backoff from 5 s doubling up to the interval. Both with
//! up to ±10% jitter, so a fleet that lost its network together does not return at once.

use std::time::Duration;

/// The first wait after a failed cycle.
pub const FIRST_BACKOFF: Duration = Duration::from_secs(5);

/// The wait before the next cycle after `failures` failed cycles in a row (0 after a
/// good one), for a `jitter` in `[0, 1)` (0.5 is none).
pub fn next_wait(interval: Duration, failures: u32, jitter: f64) -> Duration {
    let base = if failures == 0 {
        interval
    } else {
        let doubled = FIRST_BACKOFF.saturating_mul(1u32 << (failures - 1).min(20));
        doubled.min(interval.max(FIRST_BACKOFF))
    };
    base.mul_f64(0.9 + 0.2 * jitter.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    #[test]
    fn a_good_cycle_waits_the_interval_with_jitter() {
        assert_eq!(next_wait(MINUTE, 0, 0.5), MINUTE);
        assert_eq!(next_wait(MINUTE, 0, 0.0), Duration::from_secs(54));
        assert!(next_wait(MINUTE, 0, 0.999_999) < Duration::from_secs(66));
    }

    #[test]
    fn failures_back_off_exponentially_up_to_the_interval() {
        let waits: Vec<u64> = (1..=6).map(|f| next_wait(MINUTE, f, 0.5).as_secs()).collect();
        assert_eq!(waits, [5, 10, 20, 40, 60, 60]);
        assert_eq!(next_wait(MINUTE, u32::MAX, 0.5), MINUTE, "no overflow");
        // A tight loop (interval 0) still backs off at least the first step.
        assert_eq!(next_wait(Duration::ZERO, 3, 0.5), FIRST_BACKOFF);
    }
}
