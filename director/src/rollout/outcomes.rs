//! What a rollout's outcome looks like to an operator, from its counters: the funnel
//! from selected to confirmed, the rank a time-to-confirm percentile sits at, and the
//! start of the adoption sample period a moment falls in.

use super::gate::Counters;

/// The vehicles that reached each step of a rollout, each step a subset of the one before.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Funnel {
    /// Selected by the rollout (every stage).
    pub selected: u64,
    /// Admitted by the stages so far.
    pub admitted: u64,
    /// Offered the update.
    pub offered: u64,
    /// Booted it, on trial at least (confirmed and rolled back ones did too).
    pub trial: u64,
    /// Booted it and confirmed it.
    pub confirmed: u64,
}

/// The funnel of a rollout whose stages so far counted `admitted` out of `selected`.
pub fn funnel(selected: u64, admitted: &Counters) -> Funnel {
    Funnel {
        selected,
        admitted: admitted.admitted,
        offered: admitted.offered,
        trial: admitted.trial + admitted.confirmed + admitted.rolled_back,
        confirmed: admitted.confirmed,
    }
}

/// The 0-based rank, in ascending order, of the `percent` percentile of `n` values
/// (nearest rank: the smallest value at or above which `percent`% of them lie); `None`
/// for no value.
pub fn percentile_rank(n: u64, percent: u32) -> Option<u64> {
    let percent = u64::from(percent.clamp(1, 100));
    (n > 0).then(|| (n * percent).div_ceil(100) - 1)
}

/// The start of the adoption sample period `now` falls in (every process names it alike).
pub fn sample_at(now: i64, period_secs: u64) -> i64 {
    let period = period_secs.max(1) as i64;
    now.div_euclid(period) * period
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_step_of_the_funnel_is_a_subset_of_the_one_before() {
        let c = Counters {
            admitted: 100,
            offered: 90,
            trial: 10,
            confirmed: 60,
            failed: 5,
            rolled_back: 3,
            timed_out: 2,
            attacks: 1,
        };
        let f = funnel(1_000, &c);
        assert_eq!(f, Funnel { selected: 1_000, admitted: 100, offered: 90, trial: 73, confirmed: 60 });
        assert!(f.selected >= f.admitted && f.admitted >= f.offered && f.offered >= f.trial && f.trial >= f.confirmed);
    }

    #[test]
    fn a_percentile_rank_is_the_nearest_rank_and_none_of_nothing() {
        // Checked against sorting and counting, for every n up to 200 and every percent.
        for n in 0..=200u64 {
            for percent in 1..=100u32 {
                let Some(rank) = percentile_rank(n, percent) else {
                    assert_eq!(n, 0);
                    continue;
                };
                assert!(rank < n, "{n} {percent}");
                let at_or_below = rank + 1;
                assert!(at_or_below * 100 >= n * u64::from(percent), "{n} {percent}: covers the share");
                assert!(rank == 0 || rank * 100 < n * u64::from(percent), "{n} {percent}: the smallest such");
            }
        }
        assert_eq!(percentile_rank(10, 50), Some(4));
        assert_eq!(percentile_rank(10, 90), Some(8));
        assert_eq!(percentile_rank(1, 90), Some(0));
    }

    #[test]
    fn a_sample_period_starts_on_its_multiple_and_holds_every_moment_in_it() {
        assert_eq!(sample_at(7_199, 3_600), 3_600);
        assert_eq!(sample_at(7_200, 3_600), 7_200);
        assert_eq!(sample_at(-1, 3_600), -3_600);
        assert_eq!(sample_at(5, 0), 5, "a zero period is one second");
    }
}
