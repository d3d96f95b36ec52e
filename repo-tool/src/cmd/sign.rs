//! `repo-tool sign`: add one signature to a proposal, anywhere the key is.

use std::io::IsTerminal;
use std::path::PathBuf;

use metadata_schemas::json::Value;
use repo_tool::keys::KeySource;
use repo_tool::{Error, proposal};

use super::{Output, object};

/// Sign a proposal with one key (a key file or a PKCS#11 token). Needs nothing but the
/// proposal and the key: fit for an air-gapped machine.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  repo-tool sign root-v3.json --key /media/usb/root-2.pem --out root-v3.alice.json\n  repo-tool sign root-v3.json --key 'pkcs11:token=bob;object=root?pin-value=1234'"
)]
pub struct Args {
    /// The proposal.
    proposal: PathBuf,
    /// The signing key: a key file or a pkcs11: URI.
    #[arg(long)]
    key: String,
    /// Where to write the signed copy (default: in place).
    #[arg(long)]
    out: Option<PathBuf>,
    /// The version it replaces, to show what changes (see `repo-tool show`).
    #[arg(long)]
    against: Option<PathBuf>,
    /// Sign without asking (on a terminal, `sign` shows the change and asks first).
    #[arg(long)]
    yes: bool,
}

pub fn run(args: Args, out: &Output) -> Result<(), Error> {
    let shown = super::show::Args { proposal: args.proposal.clone(), against: args.against.clone(), repo: None };
    for line in super::show::lines(&shown)? {
        out.line(line);
    }
    if !args.yes && std::io::stdin().is_terminal() && !confirmed()? {
        return Err(Error::Usage("not signed: the signer declined".into()));
    }
    let signer = KeySource::parse(&args.key, std::path::Path::new(".")).open()?;
    let target = args.out.clone().unwrap_or_else(|| args.proposal.clone());
    proposal::sign(&args.proposal, signer.as_ref(), &target)?;
    out.line(format!("signed {} with key {}", target.display(), signer.key_id()));
    out.result(object([
        ("keyid", Value::string(signer.key_id().as_str().to_string())),
        ("file", Value::string(target.display().to_string())),
    ]));
    Ok(())
}

/// Asks "Sign this? [y/N]" on the terminal.
fn confirmed() -> Result<bool, Error> {
    use std::io::Write;
    print!("Sign this? [y/N] ");
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer).map_err(|e| Error::Usage(format!("reading the answer: {e}")))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}
