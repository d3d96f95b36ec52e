//! `repo-tool decommission`: the image repository's half of a vehicle's decommissioning,
//! the signed target `decommission/<vin>.json` carrying the nonce the director chose
//! (`director decommission request` prints it). A device erases its keys only when this
//! and the director's command agree, so the director's online keys alone cannot
//! decommission a vehicle. Audited as `decommission-signed`.

use std::path::PathBuf;

use metadata_schemas::json::{self, Value};
use metadata_schemas::uptane::{DecommissionCommand, EraseItem, Vin, command_path};
use metadata_schemas::{Encode, TargetFile, UtcTime};
use repo_tool::audit::AuditEvent;
use repo_tool::{Error, Repository};

use super::{Output, object};

const EXAMPLES: &str = "\
Examples:
  director decommission request /var/lib/director --vin VIN123 --reason 'scrapped'   # prints the nonce
  repo-tool decommission repo --vin VIN123 --nonce 5f0c...e1 && repo-tool publish repo /srv/images";

/// Sign a vehicle's decommission command (the nonce from `director decommission request`).
#[derive(clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// The repository.
    dir: PathBuf,
    /// The vehicle.
    #[arg(long)]
    vin: String,
    /// The nonce the director chose for this decommissioning.
    #[arg(long)]
    nonce: String,
    /// What the device erases (keys, credentials, downloads; comma-separated or
    /// repeated). Default: all three. It must be the director's list.
    #[arg(long)]
    erase: Vec<String>,
    /// Extra signing keys (key files or pkcs11: URIs).
    #[arg(long = "key", value_name = "SOURCE")]
    keys: Vec<String>,
}

fn erase_items(names: &[String]) -> Result<Vec<EraseItem>, Error> {
    let mut items = names
        .iter()
        .flat_map(|n| n.split(','))
        .map(|n| {
            EraseItem::parse(n).ok_or_else(|| Error::Usage(format!("--erase {n}: give keys, credentials or downloads")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if items.is_empty() {
        items = EraseItem::ALL.to_vec();
    }
    items.sort();
    items.dedup();
    Ok(items)
}

fn command(args: &Args) -> Result<DecommissionCommand, Error> {
    let vin = Vin::new(args.vin.clone()).ok_or_else(|| Error::Usage("--vin is empty".into()))?;
    if args.nonce.len() < 16 || !args.nonce.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::Usage(format!(
            "--nonce {}: give the nonce `director decommission request` printed (hex)",
            args.nonce
        )));
    }
    Ok(DecommissionCommand {
        vin,
        nonce: args.nonce.clone(),
        issued: UtcTime::new(chrono::Utc::now()),
        erase: erase_items(&args.erase)?,
        unknown: Default::default(),
    })
}

pub fn run(args: Args, out: &Output) -> Result<(), Error> {
    let command = command(&args)?;
    let mut repo = Repository::load(&args.dir)?;
    let path = command_path(&command.vin);
    let role = repo.responsible_role(path.as_str());
    if repo.is_offline(&role, &args.keys) {
        return Err(Error::Usage(format!("the keys of {role} are offline: give --key, or sign where they are")));
    }
    let mut keys = repo.key_ring(&args.keys);
    repo.open_keys_ahead(std::slice::from_ref(&role), true, &mut keys)?;
    let bytes = json::to_canonical(&command.encode());
    let store = repo.store();
    let stored = store.add_bytes(&bytes)?;
    let mut entry = TargetFile::new(stored.length, stored.hashes.clone());
    entry.custom = Some(object([("decommission", Value::string(command.vin.as_str().to_string()))]).to_owned_value());
    repo.targets_mut(&role).expect("the responsible role exists").signed.targets.insert(path.clone(), entry);
    repo.touch_targets(&role)?;
    let erase: Vec<&str> = command.erase.iter().map(|e| e.as_str()).collect();
    let what = format!("{path}: decommission {} (nonce {}, erase {})", command.vin, command.nonce, erase.join(","));
    repo.record(AuditEvent::note("decommission-signed", what.clone()));
    if let Err(e) = repo.save(&mut keys) {
        store.discard(std::slice::from_ref(&stored));
        return Err(e);
    }
    out.line(what);
    out.result(object([
        ("target", Value::string(path.as_str().to_string())),
        ("vin", Value::string(command.vin.as_str().to_string())),
        ("nonce", Value::string(command.nonce.clone())),
    ]));
    Ok(())
}
