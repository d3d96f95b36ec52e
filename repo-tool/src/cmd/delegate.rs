//! `repo-tool delegate`: a delegated targets role for some target paths.

use std::collections::BTreeMap;
use std::path::PathBuf;

use metadata_schemas::json::Value;
use metadata_schemas::{
    CommonFields, DelegatedRole, DelegatedRoles, Delegations, PathSpec, RoleName, Signed, Targets, Threshold, Version,
};
use repo_tool::audit::AuditEvent;
use repo_tool::{Error, Repository};

use super::propose::key_entry;
use super::{Output, object};

const EXAMPLES: &str = "\
Examples:
  repo-tool delegate repo --name brake-team --paths 'ecu/brake/*' --key keys/brake.pem
  repo-tool delegate repo --name vendor --paths 'vendor/*/*.bin' --public-key vendor.pub.json --threshold 1 --terminating
  repo-tool delegate repo --name half --hash-prefixes 0 --hash-prefixes 1 --key keys/half.pem";

/// Delegate target paths (glob patterns or SHA-256 path-hash prefixes) to a new role.
#[derive(clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// The repository.
    dir: PathBuf,
    /// The new role's name.
    #[arg(long)]
    name: String,
    /// Path patterns the role may sign for (`*` and `?` never cross `/`). Repeatable.
    #[arg(long = "paths", conflicts_with = "hash_prefixes")]
    paths: Vec<String>,
    /// Hex prefixes of the SHA-256 of the target path. Repeatable.
    #[arg(long = "hash-prefixes")]
    hash_prefixes: Vec<String>,
    /// Keys of the role whose private half is at hand (key files or pkcs11: URIs).
    #[arg(long = "key", value_name = "SOURCE")]
    keys: Vec<String>,
    /// Public keys of the role (JSON from `key export-public`) whose private half is elsewhere.
    #[arg(long = "public-key", value_name = "FILE")]
    public_keys: Vec<String>,
    /// How many of the role's keys must sign.
    #[arg(long, default_value_t = 1)]
    threshold: u64,
    /// Stop the search after this role's subtree.
    #[arg(long)]
    terminating: bool,
    /// The new role's version 1 as its offline key holders signed it (the proposal this
    /// command writes when given only public keys).
    #[arg(long, value_name = "FILE")]
    signed: Option<PathBuf>,
    /// The delegating role.
    #[arg(long = "from", default_value = "targets")]
    from: String,
}

pub fn run(args: Args, out: &Output) -> Result<(), Error> {
    let mut repo = Repository::load(&args.dir)?;
    let name = RoleName::new(args.name.as_str()).ok_or_else(|| Error::Usage("--name is empty".into()))?;
    let parent = RoleName::new(args.from.as_str()).ok_or_else(|| Error::Usage("--from is empty".into()))?;
    if name.is_top_level() || repo.targets().contains_key(&name) {
        return Err(Error::Usage(format!("{name}: a role of that name exists")));
    }
    if !repo.targets().contains_key(&parent) {
        return Err(Error::Usage(format!("--from {parent}: no such targets role")));
    }
    let paths = match (args.paths.is_empty(), args.hash_prefixes.is_empty()) {
        (false, true) => PathSpec::Patterns(args.paths.clone()),
        (true, false) => PathSpec::HashPrefixes(args.hash_prefixes.clone()),
        _ => return Err(Error::Usage("give --paths or --hash-prefixes".into())),
    };
    let mut keys = BTreeMap::new();
    for source in args.keys.iter().chain(&args.public_keys) {
        let (id, key, private) = key_entry(source)?;
        if let Some(private) = private {
            repo.config.key_sources.insert(id.clone(), private.to_config());
        }
        keys.insert(id, key);
    }
    if keys.is_empty() || args.threshold == 0 || args.threshold as usize > keys.len() {
        return Err(Error::Usage(format!(
            "threshold {} with {} key(s): the role could never sign",
            args.threshold,
            keys.len()
        )));
    }
    let role = DelegatedRole {
        name: name.clone(),
        keyids: keys.keys().cloned().collect(),
        threshold: Threshold::new(args.threshold).expect("checked"),
        terminating: args.terminating,
        paths,
        unknown: Default::default(),
    };
    let offline = args.keys.is_empty();
    if offline && args.signed.is_none() {
        return propose_first_version(repo, &name, out);
    }
    let parent_md = &mut repo.targets_mut(&parent).expect("checked").signed;
    let delegations = parent_md.delegations.get_or_insert_with(|| Delegations {
        keys: BTreeMap::new(),
        roles: DelegatedRoles::List(Vec::new()),
        unknown: Default::default(),
    });
    let DelegatedRoles::List(roles) = &mut delegations.roles else {
        return Err(Error::Usage(format!(
            "{parent} delegates to succinct hash bins; it cannot take other delegations"
        )));
    };
    roles.push(role);
    delegations.keys.extend(keys);
    match &args.signed {
        Some(file) if offline => install_signed_first_version(&mut repo, &name, file)?,
        _ => {
            let expires = repo.expiry("delegated");
            repo.insert_role(name.clone(), Signed::unsigned(Targets::new(CommonFields::new(Version::ONE, expires))));
            repo.mark_changed(&name);
        }
    }
    repo.touch_targets(&parent)?;
    let config = repo.config.to_bytes();
    repo.stage_file(repo_tool::config::CONFIG_FILE, config);
    repo.record(AuditEvent::note("delegate", format!("{parent} delegates to {name}")));
    let mut ring = repo.key_ring(&args.keys);
    repo.save(&mut ring)?;
    out.line(format!("{parent} now delegates to {name}"));
    out.result(object([("role", Value::string(name.to_string())), ("from", Value::string(parent.to_string()))]));
    Ok(())
}

/// A role whose keys are all offline starts with a version 1 its holders sign: written
/// as a proposal; the delegation is made once `delegate --signed` brings it back.
fn propose_first_version(mut repo: Repository, name: &RoleName, out: &Output) -> Result<(), Error> {
    let first = Targets::new(CommonFields::new(Version::ONE, repo.expiry("delegated")));
    let path = repo_tool::proposal::default_path(repo.dir(), name, Version::ONE);
    repo_tool::transaction::write_atomically(&path, &repo_tool::repository::pretty(&Signed::unsigned(first)))?;
    repo.record(AuditEvent::note("propose-delegate", format!("{name} v1 in {}", path.display())));
    let mut ring = repo.key_ring(&[]);
    repo.save(&mut ring)?;
    out.line(format!(
        "{name}'s keys are offline: its version 1 is written to {}; its holders `repo-tool sign` it, then run this command again with --signed FILE",
        path.display()
    ));
    out.result(object([("proposal", Value::string(path.display().to_string()))]));
    Ok(())
}

/// Installs the new role's version 1 signed off-repo: a threshold of the keys the
/// delegation (already in its delegator's metadata, in memory) names must have signed it.
fn install_signed_first_version(repo: &mut Repository, name: &RoleName, file: &std::path::Path) -> Result<(), Error> {
    let bytes = std::fs::read(file).map_err(|e| Error::io(file, e))?;
    let signed: Signed<Targets> = Signed::decode_unverified(&bytes)
        .map_err(|source| Error::Metadata { file: file.display().to_string(), source })?;
    if signed.signed.common.version != Version::ONE {
        return Err(Error::Proposal(format!("{}: {name} v{}, not v1", file.display(), signed.signed.common.version)));
    }
    let report = threshold_keys::check_threshold(repo.authority(name)?, &signed.signatures, &signed.canonical_signed());
    if !report.is_met() {
        return Err(Error::Threshold { role: name.to_string(), report: Box::new(report) });
    }
    repo_tool::proposal::record_holders(repo, name, &signed)?;
    repo.install_targets(name, repo_tool::proposal::without_signing_times(signed));
    Ok(())
}
