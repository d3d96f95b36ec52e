//! `repo-tool status`: a checklist of every role (threshold met or short, expiry) and of
//! any proposal (ready to apply, short of signatures, applied already, stale).

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use metadata_schemas::json::Value;
use metadata_schemas::{Encode, Envelope, MetadataType, RoleName, Root, Signed};
use repo_tool::checklist::{self, Expiry, ProposalState};
use repo_tool::repository::authority_of;
use repo_tool::{Error, Repository};
use threshold_keys::{ThresholdReport, check_threshold};

use super::{Output, object};

/// Show each role's version, threshold and expiry as a checklist ("root v7: threshold
/// met: 2 signatures, 2 needed; expires ..."), and where each `--proposal` stands. `--check` exits 1
/// when metadata is expired or a proposal is short of its threshold.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  repo-tool status repo\n  repo-tool status repo --proposal proposals/root-v3.json --json\n  repo-tool status repo --check || alert"
)]
pub struct Args {
    /// The repository.
    dir: PathBuf,
    /// A proposal to report on as well (repeatable).
    #[arg(long = "proposal")]
    proposals: Vec<PathBuf>,
    /// Exit 1 when anything is expired or a proposal is short of its threshold.
    #[arg(long)]
    check: bool,
}

/// The lines, JSON rows and problems found so far.
#[derive(Default)]
struct Found<'a> {
    rows: Vec<Value<'a>>,
    problems: Vec<String>,
}

fn entry<'a>(role: String, version: u64, expires: String, report: &ThresholdReport) -> Value<'a> {
    let ids = |ids: &[metadata_schemas::KeyId]| {
        Value::Array(ids.iter().map(|k| Value::string(k.as_str().to_string())).collect())
    };
    object([
        ("role", Value::string(role)),
        ("version", Value::unsigned(version)),
        ("expires", Value::string(expires)),
        ("threshold", Value::unsigned(report.threshold)),
        ("signed", ids(&report.signed)),
        ("missing", ids(&report.missing)),
        ("met", Value::Bool(report.is_met())),
    ])
}

fn report_of<T: Encode>(repo: &Repository, role: &RoleName, signed: &Signed<T>) -> Result<ThresholdReport, Error> {
    Ok(check_threshold(repo.authority(role)?, &signed.signatures, &signed.canonical_signed()))
}

impl Found<'_> {
    /// A role's line, row, and problems.
    fn role(
        &mut self,
        repo: &Repository,
        role: &RoleName,
        version: u64,
        expires: DateTime<Utc>,
        report: ThresholdReport,
        out: &Output,
    ) {
        let kind =
            if repo.targets().contains_key(role) && *role != RoleName::targets() { "delegated" } else { role.as_str() };
        let expiry = Expiry::of(expires, repo.config.lifetimes.of(kind), repo.now);
        out.line(checklist::role_line(role.as_str(), version, &report, expires, repo.now, expiry));
        if expiry == Expiry::Expired {
            self.problems.push(format!("{role} v{version} expired"));
        }
        if !report.is_met() {
            self.problems.push(format!("{role} v{version} is short of its threshold"));
        }
        let mut row = entry(role.to_string(), version, expires.to_rfc3339(), &report);
        if let Value::Object(o) = &mut row {
            o.insert("expired", Value::Bool(expiry == Expiry::Expired));
            o.insert("expires_soon", Value::Bool(expiry == Expiry::Soon));
        }
        self.rows.push(row);
    }
}

pub fn run(args: Args, out: &Output) -> Result<(), Error> {
    let repo = Repository::load(&args.dir)?;
    let mut found = Found::default();
    let root = &repo.root;
    let common = |c: &metadata_schemas::CommonFields| (c.version.get(), c.expires.time());
    let (v, e) = common(&root.signed.common);
    found.role(&repo, &RoleName::root(), v, e, report_of(&repo, &RoleName::root(), root)?, out);
    for (role, md) in repo.targets() {
        let (v, e) = common(&md.signed.common);
        found.role(&repo, role, v, e, report_of(&repo, role, md)?, out);
    }
    let (v, e) = common(&repo.snapshot.signed.common);
    found.role(&repo, &RoleName::snapshot(), v, e, report_of(&repo, &RoleName::snapshot(), &repo.snapshot)?, out);
    let (v, e) = common(&repo.timestamp.signed.common);
    found.role(&repo, &RoleName::timestamp(), v, e, report_of(&repo, &RoleName::timestamp(), &repo.timestamp)?, out);
    for path in &args.proposals {
        proposal(&repo, path, &mut found, out)?;
    }
    out.result(Value::Array(std::mem::take(&mut found.rows)));
    if args.check && !found.problems.is_empty() {
        return Err(Error::Check(found.problems));
    }
    Ok(())
}

/// A root proposal needs the threshold of the current root and of itself; a targets
/// proposal root's targets threshold.
fn proposal(repo: &Repository, path: &std::path::Path, found: &mut Found<'_>, out: &Output) -> Result<(), Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let name = path.display().to_string();
    let envelope = Envelope::parse(&bytes).map_err(|source| Error::Metadata { file: name.clone(), source })?;
    let message = envelope.canonical_signed();
    let (role, version, current, reports, text) = match envelope.signed_type() {
        Some("root") => {
            let proposed: Root =
                envelope.decode_signed().map_err(|e| Error::Metadata { file: name.clone(), source: e.into() })?;
            let old =
                check_threshold(authority_of(&repo.root.signed, MetadataType::Root), &envelope.signatures, &message);
            let new = check_threshold(authority_of(&proposed, MetadataType::Root), &envelope.signatures, &message);
            let text = format!("old root {}; new root {}", checklist::threshold(&old), checklist::threshold(&new));
            ("root", proposed.common.version.get(), repo.root.signed.common.version.get(), vec![old, new], text)
        }
        Some("targets") => {
            let role = RoleName::targets();
            let report = check_threshold(repo.authority(&role)?, &envelope.signatures, &message);
            let version =
                envelope.signed().as_object().and_then(|o| o.get("version")).and_then(Value::as_u64).unwrap_or(0);
            let text = checklist::threshold(&report);
            ("targets", version, repo.targets()[&role].signed.common.version.get(), vec![report], text)
        }
        other => return Err(Error::Proposal(format!("{name}: unsupported proposal type {other:?}"))),
    };
    let state = checklist::proposal_state(version, current, &reports.iter().collect::<Vec<_>>());
    let verdict = checklist::proposal_verdict(&state, role, current);
    out.line(format!("proposal {name}: {role} v{version}: {text}: {verdict}"));
    if state == ProposalState::Short {
        found.problems.push(format!("proposal {name} is short of its threshold"));
    }
    let mut row = entry(format!("proposal {name}"), version, String::new(), reports.last().expect("one report"));
    if let Value::Object(o) = &mut row {
        o.insert("proposal", Value::string(name));
        o.insert("state", Value::string(format!("{state:?}").to_lowercase()));
    }
    found.rows.push(row);
    Ok(())
}
