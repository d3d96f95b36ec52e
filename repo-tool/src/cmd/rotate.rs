//! `repo-tool rotate`: replace a role's keys, including after a compromise.

use std::path::PathBuf;

use metadata_schemas::json::Value;
use metadata_schemas::{MetadataType, RoleName, Signed};
use repo_tool::proposal;
use repo_tool::repository::{authority_of, pretty};
use repo_tool::transaction::write_atomically;
use repo_tool::{Error, Repository};
use threshold_keys::check_threshold;

use super::propose::root_change;
use super::{Output, object};

const EXAMPLES: &str = "\
Examples:
  # After a timestamp key compromise: a new key, the old one removed. Clients that were
  # fast-forwarded drop their cached timestamp and snapshot when they see the new root.
  repo-tool key generate --out keys/timestamp-2.pem
  repo-tool rotate repo --role timestamp --add-key keys/timestamp-2.pem --remove-key <old keyid>
  # Root keys offline: the new root is written as a proposal to sign and apply.
  repo-tool rotate repo --role targets --add-key targets-2.pub.json --remove-key <old keyid> --out root-v5.json";

/// Rotate a top-level role's keys in a new root version. With enough root keys at hand
/// the new root is signed and applied at once; otherwise it is written as a proposal.
#[derive(clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// The repository.
    dir: PathBuf,
    /// The role whose keys change: root, targets, snapshot or timestamp.
    #[arg(long)]
    role: String,
    /// Keys to add (key files, pkcs11: URIs, or public key JSON files).
    #[arg(long = "add-key", value_name = "SOURCE")]
    add: Vec<String>,
    /// Key ids to remove.
    #[arg(long = "remove-key", value_name = "KEYID")]
    remove: Vec<String>,
    /// The role's new threshold.
    #[arg(long)]
    threshold: Option<u64>,
    /// Root keys to sign the new root with (in addition to the configured ones).
    #[arg(long = "key", value_name = "SOURCE")]
    keys: Vec<String>,
    /// Where to write the proposal if the root keys at hand are not enough.
    #[arg(long)]
    out: Option<PathBuf>,
}

pub fn run(args: Args, out: &Output) -> Result<(), Error> {
    let mut repo = Repository::load(&args.dir)?;
    let prefixed = |items: &[String]| items.iter().map(|i| format!("{}={i}", args.role)).collect::<Vec<_>>();
    let thresholds: Vec<String> = args.threshold.iter().map(|n| format!("{}={n}", args.role)).collect();
    let (change, sources) = root_change(&prefixed(&args.add), &prefixed(&args.remove), &thresholds, None)?;
    let root = proposal::next_root(&repo, &change)?;
    let version = root.common.version;
    // New private keys of online roles go online with the repository (key files and
    // tokens alike); a root key stays offline, known by its public half only.
    if args.role != "root" {
        for (id, source) in &sources {
            repo.config.key_sources.insert(id.clone(), source.to_config());
        }
    }
    let mut keys = repo.key_ring(&args.keys);
    let mut signed = Signed::unsigned(root);
    let message = signed.canonical_signed();
    let mut ids: Vec<_> = repo.root.signed.roles.root.keyids.clone();
    ids.extend(signed.signed.roles.root.keyids.iter().cloned());
    ids.dedup();
    for signer in keys.signers_for(&ids)? {
        signed.signatures.push(signer.sign(&message).map_err(|e| Error::Key(e.to_string()))?);
    }
    let old = check_threshold(authority_of(&repo.root.signed, MetadataType::Root), &signed.signatures, &message);
    let new = check_threshold(authority_of(&signed.signed, MetadataType::Root), &signed.signatures, &message);
    if !old.is_met() || !new.is_met() {
        let path = args.out.unwrap_or_else(|| args.dir.join(format!("proposals/root-v{version}.json")));
        write_atomically(&path, &pretty(&signed))?;
        if args.role != "root" && !sources.is_empty() {
            // Where the new online keys are, for when the proposal is applied.
            let config = repo.config.to_bytes();
            repo.stage_file(repo_tool::config::CONFIG_FILE, config);
            repo.save(&mut keys)?;
        }
        out.line(format!("root v{version} needs more root signatures (old root: {old}; new root: {new})"));
        out.line(format!(
            "proposal written to {}: sign it with `repo-tool sign`, then `repo-tool apply`",
            path.display()
        ));
        out.result(object([("proposal", Value::string(path.display().to_string()))]));
        return Ok(());
    }
    let done = proposal::apply_bytes(&mut repo, &format!("rotation of {}", args.role), &pretty(&signed), &mut keys)?;
    let config = repo.config.to_bytes();
    repo.stage_file(repo_tool::config::CONFIG_FILE, config);
    repo.save(&mut keys)?;
    out.line(format!("{done}: {} keys rotated", args.role));
    out.result(object([
        ("root_version", Value::unsigned(version.get())),
        ("role", Value::string(RoleName::new(args.role).map(|r| r.to_string()).unwrap_or_default())),
    ]));
    Ok(())
}
