//! `repo-tool root propose`, `repo-tool propose` and `repo-tool apply`: the ceremony's
//! first and last steps.

use std::path::{Path, PathBuf};

use metadata_schemas::json::{self, Value};
use metadata_schemas::{Decode, Key, KeyId, RoleName, Signed};
use repo_tool::config::parse_duration;
use repo_tool::keys::KeySource;
use repo_tool::proposal::{self, RootChange};
use repo_tool::repository::pretty;
use repo_tool::transaction::write_atomically;
use repo_tool::{Error, Repository};

use super::{Output, object, role_value};

const EXAMPLES: &str = "\
Example ceremony (root keys offline, 2 of 3):
  repo-tool root propose repo --add-key root=new-root.pub.json --remove-key root=9f3c... --out root-v3.json
  repo-tool sign root-v3.json --key /media/alice/root.pem --out root-v3.alice.json     # on Alice's machine
  repo-tool sign root-v3.json --key 'pkcs11:token=bob;object=root?pin-source=file:pin' --out root-v3.bob.json
  repo-tool merge root-v3.alice.json root-v3.bob.json --out root-v3.signed.json
  repo-tool status repo --proposal root-v3.signed.json
  repo-tool apply repo root-v3.signed.json";

/// Root ceremonies.
#[derive(clap::Subcommand)]
pub enum RootCommand {
    /// Write an unsigned proposal for the next root version: add or remove keys,
    /// change thresholds and expiry.
    Propose(RootProposeArgs),
}

/// Arguments of `root propose`.
#[derive(clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct RootProposeArgs {
    /// The repository.
    dir: PathBuf,
    /// Authorize a key for a role, as ROLE=SOURCE (a key file, a pkcs11: URI, or a public key JSON from `key export-public`).
    #[arg(long = "add-key", value_name = "ROLE=SOURCE")]
    add: Vec<String>,
    /// Remove a key id from a role, as ROLE=KEYID.
    #[arg(long = "remove-key", value_name = "ROLE=KEYID")]
    remove: Vec<String>,
    /// A new threshold, as ROLE=N.
    #[arg(long = "threshold", value_name = "ROLE=N")]
    thresholds: Vec<String>,
    /// Lifetime of the new root (365d...).
    #[arg(long)]
    expires: Option<String>,
    /// Where to write the proposal (default: repo/proposals/root-vN.json).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Write the next version of a targets role as an unsigned proposal (for offline keys):
/// its current targets, version bumped and expiry renewed. `targets add` and `targets
/// remove` write one by themselves when the role's keys are offline.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  repo-tool propose repo --out targets-v8.json && repo-tool sign targets-v8.json --key offline.pem && repo-tool apply repo targets-v8.json\n  repo-tool propose repo --role vendor && repo-tool apply repo repo/proposals/vendor-v3.json --role vendor"
)]
pub struct TargetsArgs {
    /// The repository.
    dir: PathBuf,
    /// The targets role: `targets` or a delegated role.
    #[arg(long, default_value = "targets")]
    role: String,
    /// Where to write the proposal (default: repo/proposals/targets-vN.json).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Install a signed proposal after verifying it as a client would.
#[derive(clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct ApplyArgs {
    /// The repository.
    dir: PathBuf,
    /// The signed proposal.
    proposal: PathBuf,
    /// For a targets proposal, the role it is a version of: `targets` or a delegated role.
    #[arg(long, default_value = "targets")]
    role: String,
    /// Extra keys for re-signing snapshot and timestamp afterwards.
    #[arg(long = "key", value_name = "SOURCE")]
    keys: Vec<String>,
}

/// A key entry from a private key source or a public key JSON file.
pub fn key_entry(source: &str) -> Result<(KeyId, Key, Option<KeySource>), Error> {
    let path = Path::new(source);
    if !source.starts_with("pkcs11:") {
        if let Ok(bytes) = std::fs::read(path) {
            if let Ok(value) = json::parse(&bytes) {
                let object =
                    value.as_object().ok_or_else(|| Error::Usage(format!("{source}: not a public key JSON")))?;
                let id = object
                    .get("keyid")
                    .and_then(Value::as_str)
                    .ok_or_else(|| Error::Usage(format!("{source}: no keyid")))?;
                let key = object.get("key").ok_or_else(|| Error::Usage(format!("{source}: no key")))?;
                let key = Key::decode(key).map_err(|e| Error::Usage(format!("{source}: {e}")))?;
                return Ok((KeyId::new(id), key, None));
            }
        }
    }
    let key_source = KeySource::parse(source, Path::new("."));
    let signer = key_source.open()?;
    Ok((signer.key_id().clone(), signer.public_key().clone(), Some(key_source)))
}

/// Parses `--add-key`, `--remove-key` and `--threshold` into a change.
pub fn root_change(
    add: &[String],
    remove: &[String],
    thresholds: &[String],
    expires: Option<&str>,
) -> Result<(RootChange, Vec<(KeyId, KeySource)>), Error> {
    let mut change = RootChange::default();
    let mut sources = Vec::new();
    for item in add {
        let (role, source) = role_value(item)?;
        let (id, key, private) = key_entry(&source)?;
        if let Some(private) = private {
            sources.push((id.clone(), private));
        }
        change.add.push((role, id, key));
    }
    for item in remove {
        let (role, id) = role_value(item)?;
        change.remove.push((role, KeyId::new(id)));
    }
    for item in thresholds {
        let (role, n) = role_value(item)?;
        change
            .thresholds
            .push((role, n.parse().map_err(|_| Error::Usage(format!("--threshold {item}: not a number")))?));
    }
    change.lifetime = expires.map(parse_duration).transpose()?;
    Ok((change, sources))
}

pub fn run_root(command: RootCommand, out: &Output) -> Result<(), Error> {
    let RootCommand::Propose(args) = command;
    let repo = Repository::load(&args.dir)?;
    let (change, _) = root_change(&args.add, &args.remove, &args.thresholds, args.expires.as_deref())?;
    let root = proposal::next_root(&repo, &change)?;
    let version = root.common.version;
    let path = args.out.unwrap_or_else(|| args.dir.join(format!("proposals/root-v{version}.json")));
    write_atomically(&path, &pretty(&Signed::unsigned(root)))?;
    out.line(format!("wrote unsigned root v{version} proposal to {}", path.display()));
    out.result(object([
        ("proposal", Value::string(path.display().to_string())),
        ("version", Value::unsigned(version.get())),
    ]));
    Ok(())
}

pub fn run_targets(args: TargetsArgs, out: &Output) -> Result<(), Error> {
    let repo = Repository::load(&args.dir)?;
    let role = targets_role(&args.role)?;
    let targets = repo.next_targets(&role)?;
    let version = targets.common.version;
    let path = args.out.unwrap_or_else(|| proposal::default_path(&args.dir, &role, version));
    write_atomically(&path, &pretty(&Signed::unsigned(targets)))?;
    out.line(format!("wrote unsigned {role} v{version} proposal to {}", path.display()));
    out.result(object([
        ("proposal", Value::string(path.display().to_string())),
        ("version", Value::unsigned(version.get())),
    ]));
    Ok(())
}

fn targets_role(name: &str) -> Result<RoleName, Error> {
    RoleName::new(name).ok_or_else(|| Error::Usage("--role is empty".into()))
}

pub fn run_apply(args: ApplyArgs, out: &Output) -> Result<(), Error> {
    let pending = args.dir.join(repo_tool::config::PENDING_FILE);
    if pending.exists() && !args.dir.join(repo_tool::config::CONFIG_FILE).exists() {
        let done = proposal::apply_first_root(&args.dir, &args.proposal)?;
        out.line(&done);
        out.result(object([("applied", Value::string(done))]));
        return Ok(());
    }
    let mut repo = Repository::load(&args.dir)?;
    let mut keys = repo.key_ring(&args.keys);
    let done = proposal::apply(&mut repo, &args.proposal, &targets_role(&args.role)?, &mut keys)?;
    repo.save(&mut keys)?;
    out.line(&done);
    out.result(object([("applied", Value::string(done))]));
    Ok(())
}
