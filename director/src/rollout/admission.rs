//! Who a rollout admits at each stage. Deterministic: a vehicle's bucket is a hash of the
//! rollout's salt and its VIN, so evaluating again never moves it, and each rollout's
//! salt picks other canaries (never "the oldest devices first"). Stratified: within each
//! stratum (hardware id x `hw_rev` x `region` by default) vehicles are ranked by bucket and
//! each stage admits its share of that stratum by rank, so every stratum holds its quota
//! exactly, and the first stage has at least one vehicle of every non-empty stratum.
//! Monotone: a later stage admits a superset of an earlier one.

use std::collections::BTreeMap;
use std::fmt;

use threshold_keys::digest;

/// Parts per million: the unit of every share.
pub const PPM: u32 = 1_000_000;

/// A vehicle's bucket in `0..PPM` for the rollout with `salt`.
pub fn bucket(salt: &[u8], vin: &str) -> u32 {
    let mut input = Vec::with_capacity(17 + salt.len() + vin.len());
    input.extend_from_slice(b"rollout-bucket/v1");
    input.extend_from_slice(salt);
    input.extend_from_slice(vin.as_bytes());
    let hash = digest::sha256(&input);
    let first: [u8; 8] = hash[..8].try_into().expect("a SHA-256 has 32 bytes");
    (u64::from_be_bytes(first) % u64::from(PPM)) as u32
}

/// Why a list of stage shares is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StagesError {
    /// No stage at all.
    Empty,
    /// A share that does not rise above the one before it (or is zero).
    NotRising {
        /// Which stage (from 0).
        stage: usize,
    },
    /// The last stage does not reach the whole fleet.
    NotWhole {
        /// The last stage's share.
        last: u32,
    },
}

impl fmt::Display for StagesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StagesError::Empty => f.write_str("a rollout needs at least one stage"),
            StagesError::NotRising { stage } => {
                write!(f, "stage {} must admit more than the stage before it (shares are cumulative)", stage + 1)
            }
            StagesError::NotWhole { last } => {
                write!(f, "the last stage admits {}, not 100%: every selected vehicle must be reached", Share(*last))
            }
        }
    }
}

impl std::error::Error for StagesError {}

/// Cumulative shares of the selected vehicles each stage admits, strictly rising, the
/// last one the whole (1% / 10% / 50% / 100% by default).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stages(Vec<u32>);

impl Stages {
    /// Stages with these cumulative shares (parts per million).
    pub fn new(cumulative_ppm: Vec<u32>) -> Result<Self, StagesError> {
        let last = *cumulative_ppm.last().ok_or(StagesError::Empty)?;
        let mut before = 0;
        for (stage, &share) in cumulative_ppm.iter().enumerate() {
            if share <= before || share > PPM {
                return Err(StagesError::NotRising { stage });
            }
            before = share;
        }
        if last != PPM {
            return Err(StagesError::NotWhole { last });
        }
        Ok(Stages(cumulative_ppm))
    }

    /// How many stages there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Never true: a rollout has at least one stage.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Stage `k`'s cumulative share.
    pub fn share(&self, k: usize) -> u32 {
        self.0[k]
    }

    /// How many of a stratum's `n` vehicles stages up to `k` admit: `n` x share, rounded
    /// up, and at least one in the first stage.
    pub fn admitted(&self, n: usize, k: usize) -> usize {
        let by_share = (n as u64 * u64::from(self.0[k])).div_ceil(u64::from(PPM)) as usize;
        if n == 0 { 0 } else { by_share.max(1).min(n) }
    }
}

impl Default for Stages {
    fn default() -> Self {
        Stages(vec![10_000, 100_000, 500_000, PPM])
    }
}

/// A share in per cent, as operators read it: `2.4%`, `0.05%`, `100%`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Share(pub u32);

impl fmt::Display for Share {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hundredths = (u64::from(self.0) + 50) / 100; // of a per cent
        match (hundredths / 100, hundredths % 100) {
            (whole, 0) => write!(f, "{whole}%"),
            (whole, part) if part % 10 == 0 => write!(f, "{whole}.{}%", part / 10),
            (whole, part) => write!(f, "{whole}.{part:02}%"),
        }
    }
}

/// A vehicle a rollout selected, with the stratum it counts in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// Its VIN.
    pub vin: String,
    /// Its stratum, `hardware id/hw_rev/region` by default.
    pub stratum: String,
}

/// Where a selected vehicle stands in the plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Admission {
    /// Its VIN.
    pub vin: String,
    /// Its stratum.
    pub stratum: String,
    /// Its bucket.
    pub bucket: u32,
    /// The first stage (from 0) that admits it.
    pub stage: usize,
}

/// The stage that admits each candidate: ranked by bucket (then VIN) in its stratum,
/// rank `r` of `n` is admitted by the first stage `k` with `r < stages.admitted(n, k)`.
pub fn plan(salt: &[u8], candidates: &[Candidate], stages: &Stages) -> Vec<Admission> {
    let mut strata: BTreeMap<&str, Vec<(u32, &str)>> = BTreeMap::new();
    for candidate in candidates {
        strata.entry(&candidate.stratum).or_default().push((bucket(salt, &candidate.vin), &candidate.vin));
    }
    let mut plan = Vec::with_capacity(candidates.len());
    for (stratum, mut members) in strata {
        members.sort_unstable();
        let n = members.len();
        let mut stage = 0;
        for (rank, (bucket, vin)) in members.into_iter().enumerate() {
            while rank >= stages.admitted(n, stage) {
                stage += 1; // the last stage admits all n, so this ends
            }
            plan.push(Admission { vin: vin.to_string(), stratum: stratum.to_string(), bucket, stage });
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fleet(strata: &[(&str, usize)]) -> Vec<Candidate> {
        strata
            .iter()
            .flat_map(|(stratum, n)| {
                (0..*n).map(move |i| Candidate { vin: format!("{stratum}-VIN{i:05}"), stratum: stratum.to_string() })
            })
            .collect()
    }

    fn admitted_by<'a>(plan: &'a [Admission], stratum: &str, k: usize) -> Vec<&'a str> {
        let mut vins: Vec<&str> =
            plan.iter().filter(|a| a.stratum == stratum && a.stage <= k).map(|a| a.vin.as_str()).collect();
        vins.sort_unstable();
        vins
    }

    #[test]
    fn buckets_are_deterministic_spread_and_change_with_the_salt() {
        assert_eq!(bucket(b"salt", "VIN1"), bucket(b"salt", "VIN1"));
        assert_ne!(bucket(b"salt", "VIN1"), bucket(b"other", "VIN1"));
        let buckets: Vec<u32> = (0..10_000).map(|i| bucket(b"s", &format!("VIN{i}"))).collect();
        assert!(buckets.iter().all(|b| *b < PPM));
        let below_tenth = buckets.iter().filter(|b| **b < PPM / 10).count();
        assert!((800..1200).contains(&below_tenth), "about a tenth below 10%: {below_tenth}");
    }

    #[test]
    fn stage_shares_must_rise_and_reach_the_whole_fleet() {
        assert_eq!(Stages::new(vec![]), Err(StagesError::Empty));
        assert_eq!(Stages::new(vec![0, PPM]), Err(StagesError::NotRising { stage: 0 }));
        assert_eq!(Stages::new(vec![500_000, 500_000, PPM]), Err(StagesError::NotRising { stage: 1 }));
        assert_eq!(Stages::new(vec![10_000, 500_000]), Err(StagesError::NotWhole { last: 500_000 }));
        assert_eq!(Stages::new(vec![PPM + 1]), Err(StagesError::NotRising { stage: 0 }));
        assert!(Stages::new(vec![PPM]).is_ok());
        let said = StagesError::NotWhole { last: 500_000 }.to_string();
        assert!(said.contains("admits 50%, not 100%"), "{said}");
    }

    #[test]
    fn each_stage_admits_its_share_of_every_stratum_rounded_up_and_one_canary_at_least() {
        let stages = Stages::default();
        for n in 0..=1_000usize {
            let mut before = 0;
            for k in 0..stages.len() {
                let admitted = stages.admitted(n, k);
                let exact = (n as u64 * u64::from(stages.share(k))).div_ceil(u64::from(PPM)) as usize;
                let expected = if n == 0 { 0 } else { exact.max(1) };
                assert_eq!(admitted, expected, "n {n} stage {k}");
                assert!(admitted >= before, "monotone: n {n} stage {k}");
                before = admitted;
            }
            assert_eq!(stages.admitted(n, stages.len() - 1), n, "the last stage admits all");
        }
    }

    #[test]
    fn raising_a_stage_only_adds_vehicles_and_every_stratum_holds_its_quota() {
        let candidates = fleet(&[("brake/A/EU", 997), ("brake/B/EU", 40), ("brake/B/US", 3), ("wiper/A/EU", 1)]);
        for stages in [Stages::default(), Stages::new(vec![1, 20_000, 300_000, 999_999, PPM]).unwrap()] {
            for salt in [&b"first"[..], b"second", b""] {
                let plan = plan(salt, &candidates, &stages);
                assert_eq!(plan.len(), candidates.len(), "every candidate once");
                for (stratum, n) in [("brake/A/EU", 997), ("brake/B/EU", 40), ("brake/B/US", 3), ("wiper/A/EU", 1)] {
                    let mut earlier: Vec<&str> = Vec::new();
                    for k in 0..stages.len() {
                        let now = admitted_by(&plan, stratum, k);
                        assert_eq!(now.len(), stages.admitted(n, k), "{stratum} stage {k}: its quota exactly");
                        assert!(
                            earlier.iter().all(|vin| now.contains(vin)),
                            "{stratum} stage {k} keeps stage {}",
                            k.max(1) - 1
                        );
                        earlier = now;
                    }
                    assert!(!admitted_by(&plan, stratum, 0).is_empty(), "{stratum}: a canary in the first stage");
                }
            }
        }
    }

    #[test]
    fn the_canaries_are_the_lowest_buckets_and_another_salt_picks_others() {
        let candidates = fleet(&[("brake/A/EU", 1_000)]);
        let first = plan(b"rollout-1", &candidates, &Stages::default());
        let canaries: Vec<&Admission> = first.iter().filter(|a| a.stage == 0).collect();
        assert_eq!(canaries.len(), 10, "1% of 1,000");
        let highest_canary = canaries.iter().map(|a| a.bucket).max().unwrap();
        assert!(first.iter().filter(|a| a.stage > 0).all(|a| a.bucket >= highest_canary));
        let second = plan(b"rollout-2", &candidates, &Stages::default());
        let again: Vec<&str> = second.iter().filter(|a| a.stage == 0).map(|a| a.vin.as_str()).collect();
        let overlap = canaries.iter().filter(|a| again.contains(&a.vin.as_str())).count();
        assert!(overlap < 5, "other canaries for another rollout: {overlap} of 10 the same");
        assert_eq!(plan(b"rollout-1", &candidates, &Stages::default()), first, "the same salt, the same plan");
    }

    #[test]
    fn shares_read_as_operators_write_them() {
        assert_eq!(Share(24_000).to_string(), "2.4%");
        assert_eq!(Share(20_000).to_string(), "2%");
        assert_eq!(Share(500).to_string(), "0.05%");
        assert_eq!(Share(PPM).to_string(), "100%");
        assert_eq!(Share(123_456).to_string(), "12.35%");
    }
}
