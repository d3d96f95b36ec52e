//! `repo-tool audit`: check and read the hash-chained audit log.

use std::path::PathBuf;

use metadata_schemas::Decode;
use metadata_schemas::json::{self, Value};
use repo_tool::audit::{self, Entry};
use repo_tool::{Error, Repository};

use super::{Output, object};

/// Check or list the audit log.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Check the log's hash chain and its signed head: an edited, removed or reordered
    /// entry, or a truncated log, is reported and exits non-zero. With `--published`,
    /// only a published tree is needed, and the root a client trusts.
    #[command(
        after_help = "Examples:\n  repo-tool audit verify repo\n  repo-tool audit verify --published /srv/tuf --root 1.root.json   # an assessor"
    )]
    Verify {
        /// The repository.
        #[arg(required_unless_present = "published")]
        dir: Option<PathBuf>,
        /// A published tree (from `repo-tool publish`) instead of the repository.
        #[arg(long, conflicts_with = "dir", requires = "root")]
        published: Option<PathBuf>,
        /// The root the check starts from (a client's trust anchor, say 1.root.json).
        #[arg(long)]
        root: Option<PathBuf>,
    },
    /// Print the log's entries.
    #[command(after_help = "Example:\n  repo-tool audit list repo --json")]
    List {
        /// The repository.
        dir: PathBuf,
    },
}

pub fn run(command: Command, out: &Output) -> Result<(), Error> {
    match command {
        Command::Verify { dir, published, root } => {
            let (dir, (id, key)) = match (dir, published, root) {
                (_, Some(published), Some(root)) => {
                    let trusted = std::fs::read(&root).map_err(|e| Error::io(&root, e))?;
                    let key = audit::published_audit_key(&published, &trusted)?;
                    (published, key)
                }
                (Some(dir), _, _) => {
                    let key = audit::audit_key_of(&Repository::load(&dir)?.root.signed)?;
                    (dir, key)
                }
                _ => return Err(Error::Usage("give the repository, or --published DIR --root ROOT".into())),
            };
            let verified = audit::verify(&dir, (&id, &key))?;
            out.line(format!("audit log OK: {} entries, head signed by the audit key root lists", verified.entries));
            out.result(object([("entries", Value::unsigned(verified.entries))]));
            Ok(())
        }
        Command::List { dir } => {
            let path = dir.join(audit::LOG);
            let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
            let mut rows = Vec::new();
            for line in text.lines() {
                let value = json::parse(line.as_bytes()).map_err(|e| Error::Corrupt(format!("audit log: {e}")))?;
                let entry = Entry::decode(&value).map_err(|e| Error::Corrupt(format!("audit log: {e}")))?;
                let e = &entry.event;
                out.line(format!(
                    "{:>5} {} {:<14} {} {} {}",
                    entry.seq,
                    entry.time,
                    e.action,
                    e.role.as_deref().unwrap_or(""),
                    e.version.map(|v| format!("v{v}")).unwrap_or_default(),
                    e.detail
                        .as_deref()
                        .unwrap_or(&e.keyids.iter().map(|k| k.short().to_string()).collect::<Vec<_>>().join(","))
                ));
                rows.push(value.into_owned());
            }
            out.result(Value::Array(rows));
            Ok(())
        }
    }
}
