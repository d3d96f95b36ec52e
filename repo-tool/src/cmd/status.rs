//! `repo-tool status`: every role's version, expiry and threshold state.

use std::path::PathBuf;

use metadata_schemas::json::Value;
use metadata_schemas::{Encode, Envelope, RoleName, Root, Signed};
use repo_tool::repository::authority_of;
use repo_tool::{Error, Repository};
use threshold_keys::{ThresholdReport, check_threshold};

use super::{Output, object};

/// Show each role's version, expiry and signatures ("root v7: 2 of 3, missing 9f3c..").
/// With `--proposal`, show a proposed root against both the old and the new threshold.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  repo-tool status repo\n  repo-tool status repo --proposal proposals/root-v3.json --json"
)]
pub struct Args {
    /// The repository.
    dir: PathBuf,
    /// A proposal to report on as well (repeatable).
    #[arg(long = "proposal")]
    proposals: Vec<PathBuf>,
}

fn line(role: &str, version: u64, expires: &str, report: &ThresholdReport) -> String {
    format!("{role} v{version}: {report} (expires {expires})")
}

fn entry<'a>(role: String, version: u64, expires: String, report: &ThresholdReport) -> Value<'a> {
    object([
        ("role", Value::string(role)),
        ("version", Value::unsigned(version)),
        ("expires", Value::string(expires)),
        ("threshold", Value::unsigned(report.threshold)),
        ("signed", Value::Array(report.signed.iter().map(|k| Value::string(k.as_str().to_string())).collect())),
        ("missing", Value::Array(report.missing.iter().map(|k| Value::string(k.as_str().to_string())).collect())),
        ("met", Value::Bool(report.is_met())),
    ])
}

fn report_of<T: Encode>(repo: &Repository, role: &RoleName, signed: &Signed<T>) -> Result<ThresholdReport, Error> {
    Ok(check_threshold(repo.authority(role)?, &signed.signatures, &signed.canonical_signed()))
}

pub fn run(args: Args, out: &Output) -> Result<(), Error> {
    let repo = Repository::load(&args.dir)?;
    let mut rows = Vec::new();
    let mut add = |role: &RoleName, version: u64, expires: String, report: ThresholdReport| {
        out.line(line(role.as_str(), version, &expires, &report));
        rows.push(entry(role.to_string(), version, expires, &report));
    };
    let root = &repo.root;
    add(
        &RoleName::root(),
        root.signed.common.version.get(),
        root.signed.common.expires.to_string(),
        report_of(&repo, &RoleName::root(), root)?,
    );
    for (role, md) in &repo.targets {
        add(role, md.signed.common.version.get(), md.signed.common.expires.to_string(), report_of(&repo, role, md)?);
    }
    let (snapshot, timestamp) = (&repo.snapshot, &repo.timestamp);
    add(
        &RoleName::snapshot(),
        snapshot.signed.common.version.get(),
        snapshot.signed.common.expires.to_string(),
        report_of(&repo, &RoleName::snapshot(), snapshot)?,
    );
    add(
        &RoleName::timestamp(),
        timestamp.signed.common.version.get(),
        timestamp.signed.common.expires.to_string(),
        report_of(&repo, &RoleName::timestamp(), timestamp)?,
    );
    for path in &args.proposals {
        rows.push(proposal(&repo, path, out)?);
    }
    out.result(Value::Array(rows));
    Ok(())
}

/// A root proposal needs the threshold of the current root and of itself.
fn proposal<'a>(repo: &Repository, path: &std::path::Path, out: &Output) -> Result<Value<'a>, Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let envelope =
        Envelope::parse(&bytes).map_err(|source| Error::Metadata { file: path.display().to_string(), source })?;
    let message = envelope.canonical_signed();
    let name = path.display().to_string();
    match envelope.signed_type() {
        Some("root") => {
            let proposed: Root =
                envelope.decode_signed().map_err(|e| Error::Metadata { file: name.clone(), source: e.into() })?;
            let old = check_threshold(
                authority_of(&repo.root.signed, metadata_schemas::MetadataType::Root),
                &envelope.signatures,
                &message,
            );
            let new = check_threshold(
                authority_of(&proposed, metadata_schemas::MetadataType::Root),
                &envelope.signatures,
                &message,
            );
            let version = proposed.common.version.get();
            out.line(format!("proposal {name}: root v{version}: old root {old}; new root {new}"));
            Ok(object([
                ("proposal", Value::string(name)),
                (
                    "old",
                    entry(
                        format!("root (v{})", repo.root.signed.common.version),
                        version,
                        proposed.common.expires.to_string(),
                        &old,
                    ),
                ),
                ("new", entry("root".into(), version, proposed.common.expires.to_string(), &new)),
            ]))
        }
        Some("targets") => {
            let role = RoleName::targets();
            let report = check_threshold(repo.authority(&role)?, &envelope.signatures, &message);
            let version =
                envelope.signed().as_object().and_then(|o| o.get("version")).and_then(Value::as_u64).unwrap_or(0);
            out.line(format!("proposal {name}: targets v{version}: {report}"));
            Ok(entry(format!("proposal {name}"), version, String::new(), &report))
        }
        other => Err(Error::Proposal(format!("{name}: unsupported proposal type {other:?}"))),
    }
}
