//! `repo-tool init`: a new repository with keys, thresholds and lifetimes. Root keys are
//! offline: the repository learns only their public halves. Either they sign root v1 at
//! once (key files or tokens given, or generated outside the repository), or, with
//! `--offline-root`, root v1 is written as a proposal for its holders to sign on their
//! own machines; `repo-tool apply` then creates the repository.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::ValueEnum;
use metadata_schemas::json::Value;
use metadata_schemas::{
    CommonFields, Key, KeyId, RoleKeys, Root, Signed, Threshold, TopLevelRoles, UnknownFields, UtcTime, Version,
};
use repo_tool::config::{CONFIG_FILE, Lifetimes, PENDING_FILE, RepoConfig, parse_duration};
use repo_tool::keys::{KeyRing, KeySource, save_key_file_with};
use repo_tool::repository::{layout, pretty};
use repo_tool::transaction::write_atomically;
use repo_tool::{Error, Repository, audit, passphrase};
use threshold_keys::{KeyAlgorithm, KeyFileSigner, Signer};

use super::propose::key_entry;
use super::{Output, object, role_value};

const EXAMPLES: &str = "\
Examples:
  # One Ed25519 key per role: the online ones in repo/keys, the root key in repo-offline-keys/
  repo-tool init repo
  # Three root keys, any two of which sign root; ECDSA keys; a short timestamp lifetime
  repo-tool init repo --root-keys 3 --threshold root=2 --key-type ecdsa --expires timestamp=6h
  # A root v1 ceremony: the holders' public keys in, an unsigned root v1 proposal out
  repo-tool init repo --offline-root --key root=alice.pub.json --key root=bob.pub.json \\
      --key root=carol.pub.json --threshold root=2
  repo-tool sign repo/proposals/root-v1.json --key alice/root.pem --out alice.json   # on Alice's machine
  repo-tool merge alice.json bob.json --out root-v1.signed.json
  repo-tool apply repo root-v1.signed.json";

/// Key types for generated keys.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum KeyType {
    /// Ed25519
    Ed25519,
    /// ECDSA P-256 (python-tuf's default)
    Ecdsa,
}

impl From<KeyType> for KeyAlgorithm {
    fn from(t: KeyType) -> Self {
        match t {
            KeyType::Ed25519 => KeyAlgorithm::Ed25519,
            KeyType::Ecdsa => KeyAlgorithm::EcdsaP256,
        }
    }
}

/// Create a new repository: root, targets, snapshot and timestamp at version 1.
#[derive(clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// The new repository's directory (created; must not hold a repository).
    dir: PathBuf,
    /// Type of the keys this command generates.
    #[arg(long, value_enum, default_value = "ed25519")]
    key_type: KeyType,
    /// How many root keys to generate when no `--key root=...` is given.
    #[arg(long, default_value_t = 1)]
    root_keys: usize,
    /// An existing key for a role, as ROLE=SOURCE: a key file or a pkcs11: URI; for root
    /// also a public key JSON (`key export-public`) with --offline-root. Repeatable.
    #[arg(long = "key", value_name = "ROLE=SOURCE")]
    keys: Vec<String>,
    /// A role's threshold, as ROLE=N (default 1). Repeatable.
    #[arg(long = "threshold", value_name = "ROLE=N")]
    thresholds: Vec<String>,
    /// A role's metadata lifetime, as ROLE=DURATION (365d, 12h, 30m; role `delegated` for delegated roles).
    #[arg(long = "expires", value_name = "ROLE=DURATION")]
    expires: Vec<String>,
    /// Write root v1 unsigned, as a proposal for the root key holders to sign on their
    /// own machines (`--key root=` names their public keys); `apply` creates the repository.
    #[arg(long)]
    offline_root: bool,
    /// Where generated root keys are written (default: DIR-offline-keys beside the
    /// repository). Move them to offline media: the repository never names them.
    #[arg(long)]
    root_key_dir: Option<PathBuf>,
}

const ROLES: [&str; 4] = ["root", "targets", "snapshot", "timestamp"];

/// Where one of a role's keys comes from.
enum Planned {
    /// A key file or token key the operator named.
    Given(KeySource),
    /// A root key known by its public half only (a root v1 ceremony).
    Public(KeyId, Key),
    /// A key to generate at this path.
    Generate(PathBuf),
}

/// A key of the new root: its id, public half, and a signer when one is at hand.
struct Member {
    id: KeyId,
    key: Key,
    signer: Option<Box<dyn Signer>>,
    /// Where the private half lives, recorded for online roles only.
    source: Option<String>,
}

pub fn run(args: Args, out: &Output) -> Result<(), Error> {
    if args.dir.join(CONFIG_FILE).exists() || args.dir.join(PENDING_FILE).exists() {
        return Err(Error::Usage(format!("{} already holds a repository", args.dir.display())));
    }
    let lifetimes = lifetimes(&args.expires)?;
    let plans = plan(&args)?;
    let thresholds = role_thresholds(&args.thresholds, &plans)?;
    // Every check comes before the first write.
    let audit_path = args.dir.join(format!("{}/audit.pem", layout::KEYS));
    let generate: Vec<PathBuf> = plans
        .values()
        .flatten()
        .filter_map(generated_path)
        .chain([audit_path.as_path()])
        .map(Path::to_path_buf)
        .collect();
    let created = !args.dir.exists();
    let result = create(&args, plans, thresholds, lifetimes, &generate, out);
    if result.is_err() {
        // A refused init leaves nothing behind.
        for path in &generate {
            let _ = std::fs::remove_file(path);
            let _ = std::fs::remove_file(passphrase::public_path(path));
        }
        if created {
            let _ = std::fs::remove_dir_all(&args.dir);
        }
    }
    result
}

fn generated_path(planned: &Planned) -> Option<&Path> {
    match planned {
        Planned::Generate(path) => Some(path),
        _ => None,
    }
}

/// Generates the keys (the last is the audit key) and creates the repository or, with
/// `--offline-root`, the ceremony's proposal.
fn create(
    args: &Args,
    plans: BTreeMap<&'static str, Vec<Planned>>,
    thresholds: BTreeMap<&str, Threshold>,
    lifetimes: Lifetimes,
    generate: &[PathBuf],
    out: &Output,
) -> Result<(), Error> {
    let mut generated = generate_keys(&args.dir, generate, args.key_type.into())?;
    let audit_signer = generated.remove(generate.last().expect("the audit key")).expect("generated");
    let mut members: BTreeMap<&str, Vec<Member>> = BTreeMap::new();
    for (role, plan) in plans {
        let opened: Result<Vec<Member>, Error> = plan.into_iter().map(|p| member(p, role, &mut generated)).collect();
        members.insert(role, opened?);
    }
    let root_files: Vec<&Path> = generate.iter().filter(|p| !p.starts_with(&args.dir)).map(PathBuf::as_path).collect();
    let root = new_root(&members, &thresholds, &lifetimes, &audit_signer);
    let key_sources: BTreeMap<KeyId, String> =
        members.values().flatten().filter_map(|m| m.source.clone().map(|s| (m.id.clone(), s))).collect();
    let audit_rel = format!("{}/audit.pem", layout::KEYS);
    let config = RepoConfig { consistent_snapshot: true, lifetimes, key_sources, audit_key: audit_rel };
    if args.offline_root {
        return write_ceremony(&args.dir, &config, root, &members, out);
    }
    let mut ring = KeyRing::default();
    for signer in members.into_values().flatten().filter_map(|m| m.signer) {
        ring.insert(signer);
    }
    let summary = summary(&root);
    Repository::initialize(&args.dir, config, root, &mut ring)?;
    out.line(format!("created {}", args.dir.display()));
    report(out, &summary, (!root_files.is_empty()).then_some(&root_files));
    Ok(())
}

/// Opens a planned key (or takes the one generated for it); a root key's source is
/// never recorded.
fn member(planned: Planned, role: &str, generated: &mut BTreeMap<PathBuf, KeyFileSigner>) -> Result<Member, Error> {
    let online = role != "root";
    match planned {
        Planned::Public(id, key) => Ok(Member { id, key, signer: None, source: None }),
        Planned::Given(source) => {
            let signer = source.open()?;
            let (id, key) = (signer.key_id().clone(), signer.public_key().clone());
            Ok(Member { id, key, signer: Some(signer), source: online.then(|| source.to_config()) })
        }
        Planned::Generate(path) => {
            let signer = generated.remove(&path).expect("generated ahead");
            let (id, key) = (signer.key_id().clone(), signer.public_key().clone());
            let source = online.then(|| format!("{}/{}", layout::KEYS, path.file_name().unwrap().to_string_lossy()));
            Ok(Member { id, key, signer: Some(Box::new(signer)), source })
        }
    }
}

/// Generates and writes the key files, on all cores (each encryption is a deliberately
/// slow scrypt derivation): one passphrase for the online keys in the repository, one
/// for the root keys outside it, both asked first.
fn generate_keys(
    dir: &Path,
    paths: &[PathBuf],
    algorithm: KeyAlgorithm,
) -> Result<BTreeMap<PathBuf, KeyFileSigner>, Error> {
    let (online, root): (Vec<&Path>, Vec<&Path>) = paths.iter().map(PathBuf::as_path).partition(|p| p.starts_with(dir));
    let online_pass = passphrase::for_new(&online)?;
    let root_pass = if root.is_empty() { String::new() } else { passphrase::for_new(&root)? };
    let work: Vec<(&Path, &str)> =
        paths.iter().map(|p| (p.as_path(), if p.starts_with(dir) { &*online_pass } else { &*root_pass })).collect();
    let signers = repo_tool::parallel::map("generating keys", &work, |(path, pass)| {
        let signer = KeyFileSigner::generate(algorithm).map_err(|e| Error::Key(e.to_string()))?;
        save_key_file_with(&signer, path, pass)?;
        Ok(signer)
    })?;
    Ok(paths.iter().cloned().zip(signers).collect())
}

fn new_root(
    members: &BTreeMap<&str, Vec<Member>>,
    thresholds: &BTreeMap<&str, Threshold>,
    lifetimes: &Lifetimes,
    audit_signer: &KeyFileSigner,
) -> Root {
    let role_keys = |role: &str| RoleKeys {
        keyids: members[role].iter().map(|m| m.id.clone()).collect(),
        threshold: thresholds[role],
        unknown: UnknownFields::default(),
    };
    let expires = chrono::Utc::now() + chrono::Duration::seconds(lifetimes.root as i64);
    let mut root = Root {
        common: CommonFields::new(Version::ONE, UtcTime::new(expires)),
        consistent_snapshot: Some(true),
        keys: members.values().flatten().map(|m| (m.id.clone(), m.key.clone())).collect(),
        roles: TopLevelRoles {
            root: role_keys("root"),
            targets: role_keys("targets"),
            snapshot: role_keys("snapshot"),
            timestamp: role_keys("timestamp"),
        },
        unknown: UnknownFields::default(),
    };
    let mut audit_key = metadata_schemas::json::Object::new();
    audit_key.insert(
        audit_signer.key_id().as_str().to_string(),
        metadata_schemas::Encode::encode(audit_signer.public_key()).to_owned_value(),
    );
    root.unknown.0.insert(audit::ROOT_FIELD, Value::Object(audit_key));
    root
}

/// `--offline-root`: the unsigned root v1 and the repository's settings, kept until the
/// signed root v1 is applied.
fn write_ceremony(
    dir: &Path,
    config: &RepoConfig,
    root: Root,
    members: &BTreeMap<&str, Vec<Member>>,
    out: &Output,
) -> Result<(), Error> {
    let summary = summary(&root);
    let proposal = dir.join("proposals/root-v1.json");
    write_atomically(&proposal, &pretty(&Signed::unsigned(root)))?;
    write_atomically(&dir.join(PENDING_FILE), &config.to_bytes())?;
    let threshold = members["root"].len();
    out.line(format!("wrote the unsigned root v1 proposal {}", proposal.display()));
    report(out, &summary, None);
    out.line(format!(
        "next: each root key holder runs `repo-tool show {0}` and `repo-tool sign {0} --key KEY --out NAME.json` \
         on their own machine; `repo-tool merge` the copies; `repo-tool apply {1} SIGNED.json` ({threshold} root keys named)",
        proposal.display(),
        dir.display()
    ));
    Ok(())
}

/// Each role's key ids, for the summary.
fn summary(root: &Root) -> Vec<(&'static str, Vec<KeyId>)> {
    use metadata_schemas::MetadataType::*;
    [("root", Root), ("targets", Targets), ("snapshot", Snapshot), ("timestamp", Timestamp)]
        .into_iter()
        .map(|(name, kind)| (name, root.role(kind).keyids.clone()))
        .collect()
}

fn report(out: &Output, summary: &[(&'static str, Vec<KeyId>)], root_files: Option<&Vec<&Path>>) {
    for (role, ids) in summary {
        let ids: Vec<String> = ids.iter().map(|id| id.short().to_string()).collect();
        out.line(format!("  {role:<9} keys {}", ids.join(", ")));
    }
    if let Some(files) = root_files {
        let names: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
        out.line(format!(
            "root keys written to {}: move them to offline media; the repository keeps only their public halves",
            names.join(", ")
        ));
    }
    out.result(object(summary.iter().map(|(role, ids)| {
        (*role, Value::Array(ids.iter().map(|id| Value::string(id.as_str().to_string())).collect()))
    })));
}

fn lifetimes(expires: &[String]) -> Result<Lifetimes, Error> {
    let mut lifetimes = Lifetimes::default();
    for item in expires {
        let (role, duration) = role_value(item)?;
        lifetimes.set(&role, parse_duration(&duration)?);
    }
    Ok(lifetimes)
}

/// Each role's keys: given, known by their public half (root, with --offline-root), or
/// to generate (online keys in the repository, root keys outside it).
fn plan(args: &Args) -> Result<BTreeMap<&'static str, Vec<Planned>>, Error> {
    let mut given: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for item in &args.keys {
        let (role, source) = role_value(item)?;
        if !ROLES.contains(&role.as_str()) {
            return Err(Error::Usage(format!("--key {item}: unknown role {role}")));
        }
        given.entry(role).or_default().push(source);
    }
    if args.offline_root && !given.contains_key("root") {
        return Err(Error::Usage(
            "--offline-root needs the root key holders' public keys: --key root=alice.pub.json (from `repo-tool key export-public`)".into(),
        ));
    }
    let root_dir = args.root_key_dir.clone().unwrap_or_else(|| offline_dir(&args.dir));
    if root_dir.starts_with(&args.dir) {
        return Err(Error::Usage(format!(
            "--root-key-dir {}: root keys never go inside the repository",
            root_dir.display()
        )));
    }
    let mut plans = BTreeMap::new();
    for role in ROLES {
        let plan = match given.get(role) {
            Some(sources) => sources.iter().map(|s| given_key(role, s, args.offline_root)).collect::<Result<_, _>>()?,
            None => {
                let count = if role == "root" { args.root_keys.max(1) } else { 1 };
                let dir = if role == "root" { root_dir.clone() } else { args.dir.join(layout::KEYS) };
                (1..=count).map(|i| Planned::Generate(dir.join(format!("{role}-{i}.pem")))).collect()
            }
        };
        plans.insert(role, plan);
    }
    Ok(plans)
}

/// `repo` -> `repo-offline-keys`, beside it.
fn offline_dir(dir: &Path) -> PathBuf {
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "repository".into());
    dir.with_file_name(format!("{name}-offline-keys"))
}

fn given_key(role: &str, source: &str, offline_root: bool) -> Result<Planned, Error> {
    if role == "root" && offline_root {
        let (id, key, _) = key_entry(source)?;
        return Ok(Planned::Public(id, key));
    }
    let is_public = !source.starts_with("pkcs11:") && source.ends_with(".json");
    if is_public {
        let hint = if role == "root" { "; for a root v1 ceremony add --offline-root" } else { "" };
        return Err(Error::Usage(format!("--key {role}={source}: a public key cannot sign {role}{hint}")));
    }
    Ok(Planned::Given(KeySource::parse(source, Path::new("."))))
}

fn role_thresholds<'a>(
    items: &[String],
    plans: &BTreeMap<&'a str, Vec<Planned>>,
) -> Result<BTreeMap<&'a str, Threshold>, Error> {
    for item in items {
        let (role, _) = role_value(item)?;
        if !ROLES.contains(&role.as_str()) {
            return Err(Error::Usage(format!("--threshold {item}: unknown role {role}")));
        }
    }
    let mut thresholds = BTreeMap::new();
    for (role, plan) in plans {
        let threshold = threshold(items, role)?;
        if threshold as usize > plan.len() {
            return Err(Error::Usage(format!("{role}: threshold {threshold} but only {} key(s)", plan.len())));
        }
        thresholds.insert(*role, Threshold::new(threshold).expect("checked >= 1"));
    }
    Ok(thresholds)
}

fn threshold(items: &[String], role: &str) -> Result<u64, Error> {
    for item in items {
        let (r, n) = role_value(item)?;
        if r == role {
            return n
                .parse::<u64>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| Error::Usage(format!("--threshold {item}: not a number >= 1")));
        }
    }
    Ok(1)
}
