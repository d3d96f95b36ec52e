//! `repo-tool publish`: write the layout clients fetch.

use std::path::PathBuf;

use metadata_schemas::json::Value;
use repo_tool::{Error, Repository, layout_publish};

use super::{Output, object};

/// Write the consistent-snapshot layout (N.root.json, V.role.json, hash-prefixed
/// targets) into OUT, ready for static hosting or a CDN. Existing files are kept, so
/// clients holding older versions still find them.
#[derive(clap::Args)]
#[command(after_help = "Example:\n  repo-tool publish repo /srv/www/repo && rsync -a /srv/www/repo/ cdn:/repo/")]
pub struct Args {
    /// The repository.
    dir: PathBuf,
    /// Where to write the published files.
    out: PathBuf,
}

pub fn run(args: Args, out: &Output) -> Result<(), Error> {
    let repo = Repository::load(&args.dir)?;
    let published = layout_publish::publish(&repo, &args.out)?;
    out.line(format!(
        "published {} metadata and {} target file(s) to {}",
        published.metadata,
        published.targets,
        args.out.display()
    ));
    out.result(object([
        ("metadata", Value::unsigned(published.metadata as u64)),
        ("targets", Value::unsigned(published.targets as u64)),
    ]));
    Ok(())
}
