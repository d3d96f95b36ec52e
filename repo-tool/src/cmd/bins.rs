//! `repo-tool bins`: spread targets over N hash bins.

use std::collections::BTreeMap;
use std::path::PathBuf;

use metadata_schemas::json::Value;
use metadata_schemas::{
    CommonFields, DelegatedRole, DelegatedRoles, Delegations, PathSpec, RoleName, Signed, SuccinctRoles, Targets,
    Threshold, Version,
};
use repo_tool::audit::AuditEvent;
use repo_tool::{Error, Repository};

use super::propose::key_entry;
use super::{Output, object};

/// Create N hash bins under a targets role: delegated roles that each sign for the
/// targets whose path hash falls in their range. `--succinct` describes them with
/// TAP 15 succinct delegations instead of listing each bin.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  repo-tool bins repo 256 --key keys/bins.pem\n  repo-tool bins repo 1024 --key keys/bins.pem --succinct"
)]
pub struct Args {
    /// The repository.
    dir: PathBuf,
    /// Number of bins: a power of two (2 to 65536).
    count: u64,
    /// The bins' signing key (a key file or pkcs11: URI).
    #[arg(long)]
    key: String,
    /// Bin name prefix.
    #[arg(long, default_value = "bin")]
    prefix: String,
    /// Use succinct hash bin delegations (TAP 15).
    #[arg(long)]
    succinct: bool,
    /// The delegating role (it must not delegate yet).
    #[arg(long = "from", default_value = "targets")]
    from: String,
}

pub fn run(args: Args, out: &Output) -> Result<(), Error> {
    if !args.count.is_power_of_two() || !(2..=65536).contains(&args.count) {
        return Err(Error::Usage(format!("{} bins: use a power of two from 2 to 65536", args.count)));
    }
    let mut repo = Repository::load(&args.dir)?;
    let parent = RoleName::new(args.from.as_str()).ok_or_else(|| Error::Usage("--from is empty".into()))?;
    let parent_md =
        repo.targets().get(&parent).ok_or_else(|| Error::Usage(format!("--from {parent}: no such role")))?;
    if parent_md.signed.delegations.is_some() {
        return Err(Error::Usage(format!("{parent} already delegates: bins need a role of their own")));
    }
    let (id, key, private) = key_entry(&args.key)?;
    if let Some(private) = private {
        repo.config.key_sources.insert(id.clone(), private.to_config());
    }
    let bits = args.count.trailing_zeros();
    let threshold = Threshold::new(1).expect("1");
    let (roles, names) = if args.succinct {
        let succinct = SuccinctRoles {
            keyids: vec![id.clone()],
            threshold,
            bit_length: bits as u8,
            name_prefix: args.prefix.clone(),
            unknown: Default::default(),
        };
        let names: Vec<RoleName> = (0..succinct.bin_count()).map(|i| succinct.bin_name(i)).collect();
        (DelegatedRoles::Succinct(succinct), names)
    } else {
        // Prefixes of enough hex digits, split evenly: bin i covers [i*k, (i+1)*k).
        let digits = bits.div_ceil(4) as usize;
        let per_bin = 16u64.pow(digits as u32) / args.count;
        let width = format!("{:x}", args.count - 1).len();
        let list: Vec<DelegatedRole> = (0..args.count)
            .map(|i| DelegatedRole {
                name: RoleName::new(format!("{}-{i:0width$x}", args.prefix)).expect("non-empty"),
                keyids: vec![id.clone()],
                threshold,
                terminating: true,
                paths: PathSpec::HashPrefixes(
                    (i * per_bin..(i + 1) * per_bin).map(|p| format!("{p:0digits$x}")).collect(),
                ),
                unknown: Default::default(),
            })
            .collect();
        let names = list.iter().map(|r| r.name.clone()).collect();
        (DelegatedRoles::List(list), names)
    };
    repo.targets_mut(&parent).expect("checked").signed.delegations =
        Some(Delegations { keys: BTreeMap::from([(id, key)]), roles, unknown: Default::default() });
    let expires = repo.expiry("delegated");
    for name in &names {
        if repo.targets().contains_key(name) {
            return Err(Error::Usage(format!("{name}: a role of that name exists")));
        }
        repo.insert_role(name.clone(), Signed::unsigned(Targets::new(CommonFields::new(Version::ONE, expires))));
        repo.mark_changed(name);
    }
    repo.touch_targets(&parent)?;
    let config = repo.config.to_bytes();
    repo.stage_file(repo_tool::config::CONFIG_FILE, config);
    repo.record(AuditEvent::note("bins", format!("{} bins under {parent}", args.count)));
    let mut ring = repo.key_ring(std::slice::from_ref(&args.key));
    repo.save(&mut ring)?;
    out.line(format!("{parent} delegates to {} bins ({}-...)", args.count, args.prefix));
    out.result(object([("bins", Value::unsigned(args.count)), ("from", Value::string(parent.to_string()))]));
    Ok(())
}
