//! `status` as a checklist: for each role, whether its threshold is met and how long
//! its metadata has left; for each proposal, whether it is ready to apply, short of
//! signatures (and whose), applied already or stale. Pure: the command reads the files
//! and prints these lines; `status --check` fails on the problems they name.

use std::time::Duration;

use chrono::{DateTime, Utc};
use metadata_schemas::KeyId;
use threshold_keys::ThresholdReport;

/// How long a role's metadata has left.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expiry {
    /// Past its expiry: clients refuse it.
    Expired,
    /// Within a quarter of its lifetime (at most 30 days) of expiring.
    Soon,
    /// Well within its lifetime.
    Fine,
}

impl Expiry {
    /// The state of metadata expiring at `expires`, whose role's lifetime is `lifetime`.
    pub fn of(expires: DateTime<Utc>, lifetime: Duration, now: DateTime<Utc>) -> Expiry {
        let margin = (lifetime / 4).min(Duration::from_secs(30 * 86_400));
        let margin = chrono::Duration::from_std(margin).unwrap_or(chrono::Duration::zero());
        if expires <= now {
            Expiry::Expired
        } else if expires - margin <= now {
            Expiry::Soon
        } else {
            Expiry::Fine
        }
    }
}

/// One role's line.
pub fn role_line(
    role: &str,
    version: u64,
    report: &ThresholdReport,
    expires: DateTime<Utc>,
    now: DateTime<Utc>,
    expiry: Expiry,
) -> String {
    format!("{role} v{version}: {}; {}", threshold(report), expiry_text(expires, now, expiry))
}

/// "threshold met: 3 signatures, 2 needed" or "SHORT: 1 of 2 signatures, 1 more needed from any of 83d9cd28.., ae62d286..".
pub fn threshold(report: &ThresholdReport) -> String {
    let signed = report.signed.len() as u64;
    if report.is_met() {
        return format!("threshold met: {signed} signatures, {} needed", report.threshold);
    }
    let from: Vec<String> = report.missing.iter().map(|id: &KeyId| format!("{}..", id.short())).collect();
    let more = report.threshold - signed;
    format!("SHORT: {signed} of {} signatures, {more} more needed from any of {}", report.threshold, from.join(", "))
}

fn expiry_text(expires: DateTime<Utc>, now: DateTime<Utc>, expiry: Expiry) -> String {
    let when = expires.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let days = (expires - now).num_days();
    match expiry {
        Expiry::Expired => format!("EXPIRED {when} ({} days ago): clients refuse it until it is re-signed", -days),
        Expiry::Soon => format!("expires soon, {when} (in {})", span(expires - now)),
        Expiry::Fine => format!("expires {when} (in {})", span(expires - now)),
    }
}

fn span(left: chrono::Duration) -> String {
    match left.num_days() {
        0 => format!("{} hours", left.num_hours()),
        1 => "1 day".into(),
        n => format!("{n} days"),
    }
}

/// Where a proposal stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProposalState {
    /// Every threshold it needs is met, and it is the repository's next version.
    Ready,
    /// A threshold is not met.
    Short,
    /// The repository already has this version (it was applied).
    Applied,
    /// The repository moved past it, or it skips a version.
    Stale,
}

/// Where a proposal of `version` stands against a repository at `current`, given the
/// thresholds it must meet.
pub fn proposal_state(version: u64, current: u64, reports: &[&ThresholdReport]) -> ProposalState {
    match version {
        v if v == current => ProposalState::Applied,
        v if v != current + 1 => ProposalState::Stale,
        _ if reports.iter().all(|r| r.is_met()) => ProposalState::Ready,
        _ => ProposalState::Short,
    }
}

/// What follows a proposal's thresholds on its line.
pub fn proposal_verdict(state: &ProposalState, role: &str, current: u64) -> String {
    match state {
        ProposalState::Ready => "ready to apply".into(),
        ProposalState::Short => "not ready: more signatures needed".into(),
        ProposalState::Applied => format!("applied already (the repository's {role} is at v{current})"),
        ProposalState::Stale => format!("stale: the repository's {role} is at v{current}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(threshold: u64, signed: usize, missing: usize) -> ThresholdReport {
        let id = |i: usize| KeyId::new(format!("{i:08x}aaaa"));
        ThresholdReport {
            threshold,
            signed: (0..signed).map(id).collect(),
            missing: (signed..signed + missing).map(id).collect(),
            unusable: Vec::new(),
            aliases: Vec::new(),
        }
    }

    #[test]
    fn a_met_threshold_reads_met_even_with_keys_that_did_not_sign() {
        assert_eq!(threshold(&report(2, 2, 1)), "threshold met: 2 signatures, 2 needed");
        let short = threshold(&report(2, 1, 2));
        assert_eq!(short, "SHORT: 1 of 2 signatures, 1 more needed from any of 00000001.., 00000002..");
    }

    #[test]
    fn expiry_is_flagged_when_past_and_when_near() {
        let now = Utc::now();
        let day = Duration::from_secs(86_400);
        assert_eq!(Expiry::of(now - chrono::Duration::hours(1), day, now), Expiry::Expired);
        assert_eq!(Expiry::of(now + chrono::Duration::hours(5), day, now), Expiry::Soon);
        assert_eq!(Expiry::of(now + chrono::Duration::hours(7), day, now), Expiry::Fine);
        let year = Duration::from_secs(365 * 86_400);
        assert_eq!(Expiry::of(now + chrono::Duration::days(29), year, now), Expiry::Soon, "at most 30 days ahead");
        assert_eq!(Expiry::of(now + chrono::Duration::days(31), year, now), Expiry::Fine);
    }

    #[test]
    fn a_proposal_is_ready_short_applied_or_stale() {
        let (met, short) = (report(2, 2, 0), report(3, 2, 1));
        assert_eq!(proposal_state(3, 2, &[&met, &met]), ProposalState::Ready);
        assert_eq!(proposal_state(3, 2, &[&met, &short]), ProposalState::Short);
        assert_eq!(proposal_state(3, 3, &[&met]), ProposalState::Applied);
        assert_eq!(proposal_state(2, 3, &[&met]), ProposalState::Stale);
        assert_eq!(proposal_state(5, 3, &[&met]), ProposalState::Stale, "a skipped version");
    }
}
