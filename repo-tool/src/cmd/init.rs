//! `repo-tool init`: a new repository with keys, thresholds and lifetimes.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::ValueEnum;
use metadata_schemas::json::Value;
use metadata_schemas::{
    CommonFields, KeyId, RoleKeys, Root, Threshold, TopLevelRoles, UnknownFields, UtcTime, Version,
};
use repo_tool::config::{CONFIG_FILE, Lifetimes, RepoConfig, parse_duration};
use repo_tool::keys::{KeyRing, KeySource, PASSPHRASE_ENV, passphrase, save_key_file};
use repo_tool::repository::layout;
use repo_tool::{Error, Repository, audit};
use threshold_keys::{KeyAlgorithm, KeyFileSigner, Signer};

use super::{Output, object, role_value};

const EXAMPLES: &str = "\
Examples:
  # Generate one Ed25519 key per role into repo/keys (passphrase from REPO_TOOL_PASSPHRASE or a prompt)
  repo-tool init repo
  # Three root keys, any two of which sign root; ECDSA keys; a short timestamp lifetime
  repo-tool init repo --root-keys 3 --threshold root=2 --key-type ecdsa --expires timestamp=6h
  # Root keys that already exist: one in an HSM, one in a file
  repo-tool init repo --key 'root=pkcs11:token=ceremony;object=root-1?pin-source=file:/run/pin' \\
      --key root=/media/usb/root-2.pem --threshold root=2";

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
    /// An existing key for a role, as ROLE=SOURCE (a key file or a pkcs11: URI). Repeatable.
    #[arg(long = "key", value_name = "ROLE=SOURCE")]
    keys: Vec<String>,
    /// A role's threshold, as ROLE=N (default 1). Repeatable.
    #[arg(long = "threshold", value_name = "ROLE=N")]
    thresholds: Vec<String>,
    /// A role's metadata lifetime, as ROLE=DURATION (365d, 12h, 30m; role `delegated` for delegated roles).
    #[arg(long = "expires", value_name = "ROLE=DURATION")]
    expires: Vec<String>,
}

const ROLES: [&str; 4] = ["root", "targets", "snapshot", "timestamp"];

pub fn run(args: Args, out: &Output) -> Result<(), Error> {
    if args.dir.join(CONFIG_FILE).exists() {
        return Err(Error::Usage(format!("{} already holds a repository", args.dir.display())));
    }
    let mut lifetimes = Lifetimes::default();
    for item in &args.expires {
        let (role, duration) = role_value(item)?;
        lifetimes.set(&role, parse_duration(&duration)?);
    }
    let mut given: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for item in &args.keys {
        let (role, source) = role_value(item)?;
        if !ROLES.contains(&role.as_str()) {
            return Err(Error::Usage(format!("--key {item}: unknown role {role}")));
        }
        given.entry(role).or_default().push(source);
    }
    // Every check comes before the first write: a refused init leaves nothing behind.
    let mut plans: BTreeMap<&str, Vec<Planned>> = BTreeMap::new();
    for role in ROLES {
        let plan = match given.get(role) {
            Some(sources) => {
                sources.iter().map(|s| Planned::Given(KeySource::parse(s, std::path::Path::new(".")))).collect()
            }
            None => {
                let count = if role == "root" { args.root_keys.max(1) } else { 1 };
                (1..=count).map(|i| Planned::Generate(format!("{}/{role}-{i}.pem", layout::KEYS))).collect()
            }
        };
        plans.insert(role, plan);
    }
    let mut role_thresholds = BTreeMap::new();
    for item in &args.thresholds {
        let (role, _) = role_value(item)?;
        if !ROLES.contains(&role.as_str()) {
            return Err(Error::Usage(format!("--threshold {item}: unknown role {role}")));
        }
    }
    for role in ROLES {
        let threshold = thresholds(&args.thresholds, role)?;
        if threshold as usize > plans[role].len() {
            return Err(Error::Usage(format!("{role}: threshold {threshold} but only {} key(s)", plans[role].len())));
        }
        role_thresholds.insert(role, Threshold::new(threshold).expect("checked >= 1"));
    }
    let mut opened: Vec<Box<dyn Signer>> = Vec::new();
    for plan in plans.values().flatten() {
        if let Planned::Given(source) = plan {
            opened.push(source.open()?);
        }
    }

    std::fs::create_dir_all(&args.dir).map_err(|e| Error::io(&args.dir, e))?;
    let audit_rel = format!("{}/audit.pem", layout::KEYS);
    let mut to_generate: Vec<&str> = plans
        .values()
        .flatten()
        .filter_map(|p| match p {
            Planned::Generate(rel) => Some(rel.as_str()),
            Planned::Given(_) => None,
        })
        .collect();
    to_generate.push(&audit_rel);
    let mut generated = generate_key_files(&args.dir, &to_generate, args.key_type.into())?.into_iter();
    let audit_signer = generated.next_back().expect("the audit key was generated");
    let mut opened = opened.into_iter();

    let mut ring = KeyRing::default();
    let mut key_sources: BTreeMap<KeyId, String> = BTreeMap::new();
    let mut role_keyids: BTreeMap<&str, Vec<KeyId>> = BTreeMap::new();
    let mut keys = BTreeMap::new();
    for (role, plan) in &plans {
        for planned in plan {
            let (signer, source): (Box<dyn Signer>, String) = match planned {
                Planned::Given(source) => (opened.next().expect("opened above"), source.to_config()),
                Planned::Generate(rel) => (Box::new(generated.next().expect("generated above")), rel.clone()),
            };
            let id = signer.key_id().clone();
            keys.insert(id.clone(), signer.public_key().clone());
            key_sources.insert(id.clone(), source);
            role_keyids.entry(role).or_default().push(id);
            ring.insert(signer);
        }
    }
    let role_keys = |role: &str| RoleKeys {
        keyids: role_keyids[role].clone(),
        threshold: role_thresholds[role],
        unknown: UnknownFields::default(),
    };
    let mut root = Root {
        common: CommonFields::new(
            Version::ONE,
            UtcTime::new(chrono::Utc::now() + chrono::Duration::seconds(lifetimes.root as i64)),
        ),
        consistent_snapshot: Some(true),
        keys,
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
    let config = RepoConfig { consistent_snapshot: true, lifetimes, key_sources, audit_key: audit_rel };
    Repository::initialize(&args.dir, config, root, &mut ring)?;
    out.line(format!("created {}", args.dir.display()));
    for role in ROLES {
        let ids: Vec<String> = role_keyids[role].iter().map(|id| id.short().to_string()).collect();
        out.line(format!("  {role:<9} keys {}", ids.join(", ")));
    }
    out.result(object(ROLES.iter().map(|role| {
        (*role, Value::Array(role_keyids[role].iter().map(|id| Value::string(id.as_str().to_string())).collect()))
    })));
    Ok(())
}

/// Where one of a role's keys comes from.
enum Planned {
    /// A key file or token key the operator named.
    Given(KeySource),
    /// A key to generate, at this path inside the repository.
    Generate(String),
}

/// Generates and writes encrypted key files, on all cores: each encryption is a
/// deliberately slow scrypt derivation.
fn generate_key_files(
    dir: &std::path::Path,
    rels: &[&str],
    algorithm: KeyAlgorithm,
) -> Result<Vec<KeyFileSigner>, Error> {
    if std::env::var(PASSPHRASE_ENV).is_err() {
        passphrase("the new key files")?; // asked once, before the threads share it
    }
    repo_tool::parallel::map("generating keys", rels, |rel| {
        let signer = KeyFileSigner::generate(algorithm).map_err(|e| Error::Key(e.to_string()))?;
        save_key_file(&signer, &dir.join(rel))?;
        Ok(signer)
    })
}

fn thresholds(items: &[String], role: &str) -> Result<u64, Error> {
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
