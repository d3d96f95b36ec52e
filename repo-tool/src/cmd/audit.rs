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
    /// entry, or a truncated log, is reported and exits non-zero.
    #[command(after_help = "Example:\n  repo-tool audit verify repo")]
    Verify {
        /// The repository.
        dir: PathBuf,
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
        Command::Verify { dir } => {
            let repo = Repository::load(&dir)?;
            let field = repo
                .root
                .signed
                .unknown
                .get(audit::ROOT_FIELD)
                .and_then(Value::as_object)
                .and_then(|o| o.iter().next());
            let (id, key) = field.ok_or_else(|| Error::Corrupt(format!("root has no {}", audit::ROOT_FIELD)))?;
            let key = metadata_schemas::Key::decode(key)
                .map_err(|e| Error::Corrupt(format!("{}: {e}", audit::ROOT_FIELD)))?;
            let verified = audit::verify(&dir, (&metadata_schemas::KeyId::new(id), &key))?;
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
