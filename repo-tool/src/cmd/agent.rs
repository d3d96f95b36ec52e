//! `repo-tool agent`: hold opened key files for the commands of one user.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use repo_tool::Error;
use repo_tool::agent::{self, AGENT_ENV, server};
use threshold_keys::Signer;

use super::Output;

const EXAMPLES: &str = "\
Examples:
  repo-tool agent keys/snapshot-1.pem keys/timestamp-1.pem keys/audit.pem   # in its own terminal, or a service
  export REPO_TOOL_AGENT=/run/user/1000/repo-tool/agent.sock                 # the line it prints, in the signing shell
  repo-tool targets add repo firmware.bin     # signs through the agent: no passphrase, no scrypt
  repo-tool agent --lifetime 30m --socket /run/signer/agent.sock \\
      --passphrase-file keys/timestamp-1.pem=/run/secrets/ts.pass keys/timestamp-1.pem > agent.env &";

/// Open key files once (asking each passphrase) and sign with them for later commands
/// of this user, until the lifetime ends. Prints the `REPO_TOOL_AGENT=...` line that
/// points those commands at it. Keep offline keys out of it.
#[derive(clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// Key files to hold.
    #[arg(required = true)]
    keys: Vec<PathBuf>,
    /// The socket (default: $XDG_RUNTIME_DIR/repo-tool/agent.sock, else
    /// /tmp/repo-tool-UID/agent.sock). Its directory must be private to you.
    #[arg(long)]
    socket: Option<PathBuf>,
    /// How long to serve: `90s`, `30m`, `8h`, `2d`.
    #[arg(long, default_value = "8h", value_parser = parse_lifetime)]
    lifetime: Duration,
}

/// A `--lifetime` that is not a duration.
#[derive(Debug)]
enum LifetimeError {
    /// No number first.
    NoNumber,
    /// A unit other than s, m, h, d.
    Unit,
    /// Zero, or more seconds than fit.
    OutOfRange,
}

impl std::fmt::Display for LifetimeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LifetimeError::NoNumber => "expected a number and s, m, h or d, e.g. 8h",
            LifetimeError::Unit => "the unit is s, m, h or d",
            LifetimeError::OutOfRange => "a lifetime of at least one second",
        })
    }
}

impl std::error::Error for LifetimeError {}

fn parse_lifetime(text: &str) -> Result<Duration, LifetimeError> {
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let n: u64 = number.parse().map_err(|_| LifetimeError::NoNumber)?;
    let seconds = match unit {
        "s" | "" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => return Err(LifetimeError::Unit),
    };
    match n.checked_mul(seconds) {
        Some(s) if s > 0 => Ok(Duration::from_secs(s)),
        _ => Err(LifetimeError::OutOfRange),
    }
}

pub fn run(args: Args, _out: &Output) -> Result<(), Error> {
    let mut held: Vec<server::Held> = Vec::new();
    for path in &args.keys {
        let signer = repo_tool::keys::open_key_file(path)?;
        let real = std::fs::canonicalize(path).map_err(|e| Error::io(path, e))?;
        if !held.iter().any(|h| h.signer.key_id() == signer.key_id()) {
            held.push(server::Held { signer, path: real });
        }
    }
    let socket = std::path::absolute(args.socket.unwrap_or_else(agent::default_socket))
        .map_err(|e| Error::Usage(format!("--socket: {e}")))?;
    let listening = server::listen(&socket).map_err(Error::Agent)?;
    // The one line on standard output, for `eval`.
    super::print_line(&format!("{AGENT_ENV}={}; export {AGENT_ENV};", socket.display()));
    let names: Vec<String> =
        held.iter().map(|h| format!("{} ({})", h.signer.key_id().short(), h.path.display())).collect();
    let until = chrono::Utc::now() + args.lifetime;
    server::log(&format!(
        "holding {}; serving {} until {}",
        names.join(", "),
        socket.display(),
        until.format("%Y-%m-%dT%H:%M:%SZ")
    ));
    let lifetime = args.lifetime;
    let stale = socket.clone();
    std::thread::spawn(move || {
        std::thread::sleep(lifetime);
        server::log("lifetime over: the keys are dropped");
        let _ = std::fs::remove_file(&stale);
        std::process::exit(0);
    });
    server::serve(&listening, Arc::new(held));
    Ok(())
}
