//! `repo-tool publish`: write the layout clients fetch.

use std::path::PathBuf;

use metadata_schemas::json::Value;
use repo_tool::layout_publish::Checked;
use repo_tool::{Error, Repository, layout_publish, publish_changes};

use super::{Output, object};

/// Write the consistent-snapshot layout (N.root.json, V.role.json, hash-prefixed
/// targets) into OUT, ready for static hosting or a CDN. Existing files are kept, so
/// clients holding older versions still find them. A tree published before gets only
/// the targets changed since (the repository's change records say which); `--full`
/// checks every target and puts back any missing.
#[derive(clap::Args)]
#[command(after_help = "Example:\n  repo-tool publish repo /srv/www/repo && rsync -a /srv/www/repo/ cdn:/repo/")]
pub struct Args {
    /// The repository.
    dir: PathBuf,
    /// Where to write the published files.
    out: PathBuf,
    /// Check every target listed, not only those changed since OUT was last published.
    #[arg(long)]
    full: bool,
}

pub fn run(args: Args, out: &Output) -> Result<(), Error> {
    let changed = if args.full { None } else { publish_changes::publish_changed(&args.dir, &args.out)? };
    let published = match changed {
        Some(published) => published,
        None => layout_publish::publish(&Repository::load(&args.dir)?, &args.out)?,
    };
    let (checked, since) = match published.checked {
        Checked::All(n) => (n, false),
        Checked::Changed(n) => (n, true),
    };
    out.line(format!(
        "published {} metadata and {} target file(s) to {} ({checked} target(s) checked: {})",
        published.metadata,
        published.targets,
        args.out.display(),
        if since { "those changed since its last publish" } else { "every one listed" }
    ));
    out.result(object([
        ("metadata", Value::unsigned(published.metadata as u64)),
        ("targets", Value::unsigned(published.targets as u64)),
        ("checked", Value::unsigned(checked as u64)),
        ("only_changed", Value::Bool(since)),
    ]));
    Ok(())
}
