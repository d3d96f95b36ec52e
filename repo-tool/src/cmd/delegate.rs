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
    /// The delegating role.
    #[arg(long = "from", default_value = "targets")]
    from: String,
}

pub fn run(args: Args, out: &Output) -> Result<(), Error> {
    let mut repo = Repository::load(&args.dir)?;
    let name = RoleName::new(args.name.as_str()).ok_or_else(|| Error::Usage("--name is empty".into()))?;
    let parent = RoleName::new(args.from.as_str()).ok_or_else(|| Error::Usage("--from is empty".into()))?;
    if name.is_top_level() || repo.targets.contains_key(&name) {
        return Err(Error::Usage(format!("{name}: a role of that name exists")));
    }
    if !repo.targets.contains_key(&parent) {
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
    let parent_md = &mut repo.targets.get_mut(&parent).expect("checked").signed;
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
    let expires = repo.expiry("delegated");
    repo.targets.insert(name.clone(), Signed::unsigned(Targets::new(CommonFields::new(Version::ONE, expires))));
    repo.mark_changed(&name);
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
