//! `repo-tool refresh`: online re-signing of snapshot and timestamp, fit for a timer.

use std::path::PathBuf;

use metadata_schemas::json::Value;
use repo_tool::audit::AuditEvent;
use repo_tool::config::parse_duration;
use repo_tool::{Error, Repository};

use super::{Output, object};

/// Re-sign snapshot and timestamp when a targets role changed, and the timestamp (or
/// snapshot) when it expires within the margin. Does nothing, successfully, otherwise.
#[derive(clap::Args)]
#[command(
    after_help = "Example (a systemd timer every 10 minutes):\n  repo-tool refresh repo --margin 6h && repo-tool publish repo /srv/www/repo"
)]
pub struct Args {
    /// The repository.
    dir: PathBuf,
    /// Re-sign metadata that expires within this long (default: half the role's lifetime).
    #[arg(long)]
    margin: Option<String>,
    /// Extra signing keys (key files or pkcs11: URIs).
    #[arg(long = "key", value_name = "SOURCE")]
    keys: Vec<String>,
}

pub fn run(args: Args, out: &Output) -> Result<(), Error> {
    let mut repo = Repository::load(&args.dir)?;
    let margin = |role: &str| -> Result<chrono::Duration, Error> {
        let duration = match &args.margin {
            Some(text) => parse_duration(text)?,
            None => repo.config.lifetimes.of(role) / 2,
        };
        Ok(chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::zero()))
    };
    let expiring = |expires: metadata_schemas::UtcTime, role: &str| -> Result<bool, Error> {
        Ok(expires.time() - margin(role)? <= repo.now)
    };
    let snapshot_due = repo.snapshot_is_stale() || expiring(repo.snapshot.signed.common.expires, "snapshot")?;
    let timestamp_due = snapshot_due || expiring(repo.timestamp.signed.common.expires, "timestamp")?;
    let mut keys = repo.key_ring(&args.keys);
    let action = if snapshot_due {
        repo.new_snapshot_and_timestamp(&mut keys)?;
        "snapshot and timestamp re-signed"
    } else if timestamp_due {
        repo.new_timestamp(&mut keys)?;
        "timestamp re-signed"
    } else {
        "nothing to do"
    };
    if snapshot_due || timestamp_due {
        repo.record(AuditEvent::note("refresh", action));
        repo.save(&mut keys)?;
    }
    out.line(action);
    out.result(object([("action", Value::string(action))]));
    Ok(())
}
