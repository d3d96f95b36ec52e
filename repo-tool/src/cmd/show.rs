//! `repo-tool show`: what a proposal changes, for its signers, with or without the
//! repository.

use std::path::PathBuf;

use metadata_schemas::json::Value;
use repo_tool::{Error, Repository, show};

use super::{Output, object};

/// Show what a proposal changes: version, expiry, keys added and removed, thresholds old
/// and new, targets added, removed and changed, and who has signed it so far.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  repo-tool show root-v3.json --against published/metadata/2.root.json   # a holder, no repository\n  repo-tool show root-v3.json --repo repo"
)]
pub struct Args {
    /// The proposal.
    pub proposal: PathBuf,
    /// The version it replaces, as a file (a published N.root.json, say).
    #[arg(long, conflicts_with = "repo")]
    pub against: Option<PathBuf>,
    /// Compare with this repository's current version of the role.
    #[arg(long)]
    pub repo: Option<PathBuf>,
}

/// The description of `args.proposal`, line by line.
pub fn lines(args: &Args) -> Result<Vec<String>, Error> {
    let bytes = std::fs::read(&args.proposal).map_err(|e| Error::io(&args.proposal, e))?;
    let before = match (&args.against, &args.repo) {
        (Some(path), _) => Some(std::fs::read(path).map_err(|e| Error::io(path, e))?),
        (None, Some(dir)) => Some(current(dir, &bytes)?),
        (None, None) => None,
    };
    show::describe(&args.proposal.display().to_string(), &bytes, before.as_deref())
}

/// The repository's current signed document of the proposal's role.
fn current(dir: &std::path::Path, proposal: &[u8]) -> Result<Vec<u8>, Error> {
    let repo = Repository::load(dir)?;
    let envelope = metadata_schemas::Envelope::parse(proposal)
        .map_err(|source| Error::Metadata { file: "proposal".into(), source })?;
    Ok(match envelope.signed_type() {
        Some("targets") => repo_tool::repository::pretty(&repo.targets()[&metadata_schemas::RoleName::targets()]),
        _ => repo_tool::repository::pretty(&repo.root),
    })
}

pub fn run(args: Args, out: &Output) -> Result<(), Error> {
    let lines = lines(&args)?;
    for line in &lines {
        out.line(line);
    }
    out.result(object([("lines", Value::Array(lines.iter().map(|l| Value::string(l.clone())).collect()))]));
    Ok(())
}
