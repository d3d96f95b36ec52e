//! `repo-tool lifecycle`: a hardware id's support period, published as a signed target
//! (`lifecycle/<hardware_id>.json`) that every image target of that hardware id refers
//! to (`custom.lifecycle = {record, end_of_security_support}`), so clients can tell their
//! users how long security updates come. A date moved earlier is accepted (it is signed)
//! but warned about and recorded as a `lifecycle-earlier` audit entry.

use std::path::PathBuf;

use metadata_schemas::decode::UnknownFields;
use metadata_schemas::json::{self, Value};
use metadata_schemas::uptane::{HardwareId, ImageTargetCustom, LifecycleRecord, LifecycleRef, moved_earlier};
use metadata_schemas::{Decode, Encode, RoleName, TargetFile, TargetPath, UtcTime};
use repo_tool::audit::AuditEvent;
use repo_tool::{Error, Repository};

use super::{Output, object};

const EXAMPLES: &str = "\
Examples:
  repo-tool lifecycle set repo --hardware-id brake-hw --end-of-security-support 2031-12-31 \\
      --end-of-life 2033-12-31 --notice-url https://example.com/brake/eol
  repo-tool lifecycle set repo --hardware-id brake-hw --end-of-security-support 2031-12-31 --final-release";

/// A hardware id's support period.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Publish (or replace) a hardware id's lifecycle record and point its images to it.
    #[command(after_help = EXAMPLES)]
    Set(SetArgs),
}

/// Arguments of `lifecycle set`.
#[derive(clap::Args)]
pub struct SetArgs {
    /// The repository.
    dir: PathBuf,
    /// The hardware id the record covers.
    #[arg(long)]
    hardware_id: String,
    /// When security updates stop (YYYY-MM-DD, or YYYY-MM-DDTHH:MM:SSZ).
    #[arg(long)]
    end_of_security_support: String,
    /// When it is no longer supported at all.
    #[arg(long)]
    end_of_life: Option<String>,
    /// When it stops being sold.
    #[arg(long)]
    end_of_sales: Option<String>,
    /// When it became available.
    #[arg(long)]
    general_availability: Option<String>,
    /// Where users read about it.
    #[arg(long)]
    notice_url: Option<String>,
    /// No further release comes for this hardware id.
    #[arg(long)]
    final_release: bool,
    /// Extra signing keys (key files or pkcs11: URIs).
    #[arg(long = "key", value_name = "SOURCE")]
    keys: Vec<String>,
}

pub fn run(command: Command, out: &Output) -> Result<(), Error> {
    match command {
        Command::Set(args) => set(args, out),
    }
}

/// A date argument: a day (midnight UTC) or a whole UTC time.
fn date(flag: &str, text: &str) -> Result<UtcTime, Error> {
    let full = if text.len() == 10 { format!("{text}T00:00:00Z") } else { text.to_string() };
    UtcTime::parse(&full).ok_or_else(|| Error::Usage(format!("{flag} {text}: give YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ")))
}

fn optional_date(flag: &str, text: &Option<String>) -> Result<Option<UtcTime>, Error> {
    text.as_deref().map(|t| date(flag, t)).transpose()
}

/// The lifecycle target's path for a hardware id.
pub fn record_path(hardware_id: &str) -> TargetPath {
    TargetPath::new(format!("lifecycle/{hardware_id}.json"))
}

/// The record the repository lists for `path` now, if any.
pub fn current(repo: &Repository, path: &TargetPath) -> Result<Option<LifecycleRecord>, Error> {
    for targets in repo.targets().values() {
        if let Some(file) = targets.signed.targets.get(path) {
            let stored = repo.store().path(&file.hashes)?;
            let bytes = std::fs::read(&stored).map_err(|e| Error::io(&stored, e))?;
            let value = json::parse(&bytes).map_err(|e| Error::Usage(format!("{path}: {e}")))?;
            return LifecycleRecord::decode(&value).map(Some).map_err(|e| Error::Usage(format!("{path}: {e}")));
        }
    }
    Ok(None)
}

fn record(args: &SetArgs, version: u64) -> Result<LifecycleRecord, Error> {
    Ok(LifecycleRecord {
        hardware_identifier: HardwareId::new(args.hardware_id.clone())
            .ok_or_else(|| Error::Usage("--hardware-id is empty".into()))?,
        version,
        general_availability: optional_date("--general-availability", &args.general_availability)?,
        end_of_sales: optional_date("--end-of-sales", &args.end_of_sales)?,
        end_of_security_support: date("--end-of-security-support", &args.end_of_security_support)?,
        end_of_life: optional_date("--end-of-life", &args.end_of_life)?,
        notice_url: args.notice_url.clone(),
        final_release: args.final_release.then_some(true),
        unknown: UnknownFields::default(),
    })
}

/// Sets `custom.lifecycle` on every image target of the hardware id, in every role;
/// the roles changed.
fn point_images(repo: &mut Repository, hardware_id: &str, reference: &LifecycleRef) -> Vec<RoleName> {
    let mut touched = Vec::new();
    let roles: Vec<RoleName> = repo.targets().keys().cloned().collect();
    for role in roles {
        let targets = repo.targets_mut(&role).expect("listed");
        let mut changed = false;
        for (path, file) in targets.signed.targets.iter_mut() {
            let Ok(custom) = ImageTargetCustom::from_target(path, file) else { continue };
            if !custom.hardware_identifiers.iter().any(|h| h.as_str() == hardware_id) {
                continue;
            }
            if let Some(Value::Object(object)) = file.custom.as_mut() {
                object.insert("lifecycle", reference.encode().to_owned_value());
                changed = true;
            }
        }
        if changed {
            touched.push(role.clone());
        }
    }
    touched
}

/// The `custom.lifecycle` a new image for `hardware_ids` gets: the reference to the first
/// of them with a lifecycle record, if any has one.
pub fn reference_for(repo: &Repository, hardware_ids: &[String]) -> Result<Option<LifecycleRef>, Error> {
    for hw in hardware_ids {
        let path = record_path(hw);
        if let Some(record) = current(repo, &path)? {
            let end = record.end_of_security_support;
            let final_release = record.final_release;
            let unknown = Default::default();
            return Ok(Some(LifecycleRef { record: path, end_of_security_support: end, final_release, unknown }));
        }
    }
    Ok(None)
}

fn set(args: SetArgs, out: &Output) -> Result<(), Error> {
    let mut repo = Repository::load(&args.dir)?;
    let path = record_path(&args.hardware_id);
    let before = current(&repo, &path)?;
    let new = record(&args, before.as_ref().map_or(1, |b| b.version + 1))?;
    let earlier = before.as_ref().is_some_and(|b| moved_earlier(b, &new));
    let bytes = json::to_canonical(&new.encode());
    let reference = LifecycleRef {
        record: path.clone(),
        end_of_security_support: new.end_of_security_support,
        final_release: new.final_release,
        unknown: Default::default(),
    };
    let record_role = repo.responsible_role(path.as_str());
    let mut touched = point_images(&mut repo, &args.hardware_id, &reference);
    if !touched.contains(&record_role) {
        touched.push(record_role.clone());
    }
    if let Some(offline) = touched.iter().find(|role| repo.is_offline(role, &args.keys)) {
        return Err(Error::Usage(format!(
            "the keys of {offline} are offline: set the lifecycle where its targets are signed online, or give --key"
        )));
    }
    let mut keys = repo.key_ring(&args.keys);
    repo.open_keys_ahead(&touched, true, &mut keys)?;
    let store = repo.store();
    let stored = store.add_bytes(&bytes)?;
    let mut entry = TargetFile::new(stored.length, stored.hashes.clone());
    let marker = object([("lifecycle_record", Value::string(args.hardware_id.clone()))]).to_owned_value();
    entry.custom = Some(marker);
    repo.targets_mut(&record_role).expect("the responsible role exists").signed.targets.insert(path.clone(), entry);
    for role in &touched {
        repo.touch_targets(role)?;
    }
    let date = new.end_of_security_support;
    let what = format!("{path} v{}: security support until {date}", new.version);
    if earlier {
        let was = before.as_ref().map(|b| b.end_of_security_support.to_string()).unwrap_or_default();
        let warning = format!("{}: the end of security support moves earlier, from {was} to {date}", args.hardware_id);
        eprintln!("repo-tool: warning: {warning}; users must be told");
        repo.record(AuditEvent::note("lifecycle-earlier", warning));
    }
    repo.record(AuditEvent::note("lifecycle-set", what.clone()));
    if let Err(e) = repo.save(&mut keys) {
        store.discard(std::slice::from_ref(&stored));
        return Err(e);
    }
    out.line(what);
    out.result(object([
        ("record", Value::string(path.as_str().to_string())),
        ("version", Value::unsigned(new.version)),
        ("end_of_security_support", Value::string(date.to_string())),
        ("moved_earlier", Value::Bool(earlier)),
    ]));
    Ok(())
}
