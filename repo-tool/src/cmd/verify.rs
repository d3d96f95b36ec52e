//! `repo-tool verify`: full client-side verification of a published repository.

use std::path::PathBuf;

use metadata_schemas::json::Value;
use repo_tool::{Error, verify};

use super::{Output, object};

/// Verify a published repository as a client would, from a trusted root: the root
/// chain, timestamp, snapshot, targets, every delegated role, and every target's
/// content. Exits non-zero on any fault.
#[derive(clap::Args)]
#[command(after_help = "Example:\n  repo-tool verify /srv/www/repo --root trusted-root.json")]
pub struct Args {
    /// A published directory (with metadata/ and targets/).
    dir: PathBuf,
    /// The trusted root to start from (default: the published 1.root.json).
    #[arg(long)]
    root: Option<PathBuf>,
    /// Verify as of this time (YYYY-MM-DDTHH:MM:SSZ) instead of now.
    #[arg(long)]
    at: Option<String>,
    /// Skip checking target file contents.
    #[arg(long)]
    metadata_only: bool,
}

pub fn run(args: Args, out: &Output) -> Result<(), Error> {
    let anchor_path = args.root.clone().unwrap_or_else(|| args.dir.join("metadata/1.root.json"));
    let anchor = std::fs::read(&anchor_path).map_err(|e| Error::io(&anchor_path, e))?;
    let now = match &args.at {
        Some(text) => text.parse().map_err(|e| Error::Usage(format!("--at {text}: {e}")))?,
        None => chrono::Utc::now(),
    };
    let report = verify::verify_published(&args.dir, &anchor, now, !args.metadata_only)?;
    out.line(format!(
        "OK: root v{}, {} targets role(s), {} target(s){}",
        report.root_version,
        report.roles.len(),
        report.targets.len(),
        if args.metadata_only { "" } else { " with verified content" }
    ));
    for path in &report.shadowed {
        out.line(format!("note: {path} is listed by a role the delegation search never reaches for it"));
    }
    out.result(object([
        ("root_version", Value::unsigned(report.root_version)),
        ("roles", Value::Array(report.roles.iter().map(|r| Value::string(r.as_str().to_string())).collect())),
        ("targets", Value::unsigned(report.targets.len() as u64)),
        ("shadowed", Value::Array(report.shadowed.iter().map(|p| Value::string(p.as_str().to_string())).collect())),
    ]));
    Ok(())
}
