//! `repo-tool merge`: combine signatures from separately signed copies of a proposal.

use std::path::{Path, PathBuf};

use metadata_schemas::json::Value;
use repo_tool::transaction::write_atomically;
use repo_tool::{Error, proposal};

use super::{Output, object};

/// Combine the signatures of copies of one proposal. Copies of different documents (or
/// of a changed one) are refused.
#[derive(clap::Args)]
#[command(after_help = "Example:\n  repo-tool merge root-v3.alice.json root-v3.bob.json --out root-v3.signed.json")]
pub struct Args {
    /// Signed copies of one proposal.
    #[arg(required = true, num_args = 2..)]
    files: Vec<PathBuf>,
    /// Where to write the merged proposal.
    #[arg(long)]
    out: PathBuf,
}

pub fn run(args: Args, out: &Output) -> Result<(), Error> {
    let paths: Vec<&Path> = args.files.iter().map(PathBuf::as_path).collect();
    let merged = proposal::merge(&paths)?;
    write_atomically(&args.out, &merged)?;
    out.line(format!("merged {} copies into {}", args.files.len(), args.out.display()));
    out.result(object([("file", Value::string(args.out.display().to_string()))]));
    Ok(())
}
