//! Creating a director's data directory and starting it: keys, the director root, the
//! configuration and the database.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{Duration, Utc};
use metadata_schemas::{
    CommonFields, KeyId, RoleKeys, Root, Signed, Threshold, TopLevelRoles, UnknownFields, UtcTime, Version,
};
use threshold_keys::{KeyAlgorithm, KeyFileSigner, Signer};

use crate::config::{
    AdminToken, Config, ImageRepoConfig, Lifetimes, OnlineKeys, Role, TlsConfig, new_token, token_hash,
};
use crate::images::ImageRepository;
use crate::keys::{self, OnlineSigners};
use crate::service::Director;
use crate::store::Store;

mod error;
pub use error::{Result, SetupError, io};

/// Choices for a new data directory.
#[derive(Clone, Debug, Default)]
pub struct InitOptions {
    /// Database URL (default: SQLite in the data directory).
    pub database_url: Option<String>,
    /// Listen address (default 127.0.0.1:8080).
    pub listen: Option<String>,
    /// TLS settings.
    pub tls: Option<TlsConfig>,
    /// The image repository.
    pub image_repository: Option<ImageRepoConfig>,
    /// Metadata lifetimes.
    pub lifetimes: Option<Lifetimes>,
}

/// What `init` made.
pub struct Initialized {
    /// The first administrator's token (shown once; only its hash is kept).
    pub admin_token: String,
    /// Where the offline root key was written: move it off this machine.
    pub root_key: PathBuf,
    /// Where the offline-updates key was written (it signs offline bundles, which
    /// `repo-tool bundle create` makes): move it off this machine too.
    pub offline_updates_key: PathBuf,
}

fn role_keys(id: &KeyId) -> RoleKeys {
    RoleKeys { keyids: vec![id.clone()], threshold: Threshold::new(1).expect("1"), unknown: UnknownFields::default() }
}

/// Creates `dir`: online key files, an offline root key, director root v1, the
/// configuration with one administrator, and the database.
/// A failed `init` leaves nothing behind: what it created (keys, a configuration, a
/// database) is removed again, and what was in the directory before stays.
pub async fn init(dir: &Path, options: InitOptions) -> Result<Initialized> {
    if dir.join(crate::config::CONFIG_FILE).exists() {
        return Err(SetupError::AlreadyInitialized(dir.to_path_buf()));
    }
    let made = !dir.exists();
    let before: std::collections::BTreeSet<std::ffi::OsString> = match std::fs::read_dir(dir) {
        Ok(entries) => entries.flatten().map(|e| e.file_name()).collect(),
        Err(_) => Default::default(),
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let result = create(dir, options).await;
    if result.is_err() {
        if made {
            let _ = std::fs::remove_dir_all(dir);
        } else if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten().filter(|e| !before.contains(&e.file_name())) {
                let _ = std::fs::remove_dir_all(entry.path()).or_else(|_| std::fs::remove_file(entry.path()));
            }
        }
    }
    result
}

async fn create(dir: &Path, options: InitOptions) -> Result<Initialized> {
    let generate = || {
        KeyFileSigner::generate(KeyAlgorithm::Ed25519)
            .map_err(|e| SetupError::Key { source: "a new Ed25519 key".into(), reason: e.to_string() })
    };
    let keys = NewKeys {
        root: generate()?,
        targets: generate()?,
        snapshot: generate()?,
        timestamp: generate()?,
        time: generate()?,
        offline_updates: generate()?,
    };
    let root_key = dir.join("offline").join("root-1.pem");
    keys::write_key_file(&keys.root, &root_key)?;
    let offline_updates_key = dir.join("offline").join("offline-updates.pem");
    keys::write_key_file(&keys.offline_updates, &offline_updates_key)?;
    for (name, signer) in keys.online() {
        keys::write_key_file(signer, &dir.join("keys").join(format!("{name}.pem")))?;
    }
    let root_bytes = first_root(&keys)?;
    let admin_token = new_token();
    let config = first_config(options, &admin_token);
    let store = Store::open(&config.database_url_in(dir)).await?;
    let mut tx = store.begin().await?;
    tx.put_root(1, &root_bytes).await?;
    tx.audit("director", "init", &serde_json::json!({"root_version": 1}).to_string(), Utc::now().timestamp()).await?;
    tx.commit().await?;
    config.save(dir)?;
    Ok(Initialized { admin_token, root_key, offline_updates_key })
}

/// The keys a new director makes: its offline root key and its online keys.
struct NewKeys {
    root: KeyFileSigner,
    targets: KeyFileSigner,
    snapshot: KeyFileSigner,
    timestamp: KeyFileSigner,
    time: KeyFileSigner,
    /// Offline, like the root key: it signs offline bundles for every vehicle.
    offline_updates: KeyFileSigner,
}

impl NewKeys {
    /// The online keys, by the name of their files.
    fn online(&self) -> [(&'static str, &KeyFileSigner); 4] {
        [("targets", &self.targets), ("snapshot", &self.snapshot), ("timestamp", &self.timestamp), ("time", &self.time)]
    }
}

/// Director root v1 for `keys`, signed by the root key: one key per role, a year valid,
/// the time key that signs ECUs' time attestations (secure time), and the offline key
/// that signs offline bundles (`x-offline-updates`).
fn first_root(keys: &NewKeys) -> Result<String> {
    let mut root_keys = std::collections::BTreeMap::new();
    for s in [&keys.root, &keys.targets, &keys.snapshot, &keys.timestamp, &keys.time, &keys.offline_updates] {
        root_keys.insert(s.key_id().clone(), s.public_key().clone());
    }
    let mut root = Root {
        common: CommonFields::new(Version::ONE, UtcTime::new(Utc::now() + Duration::days(365))),
        consistent_snapshot: Some(true),
        keys: root_keys,
        roles: TopLevelRoles {
            root: role_keys(keys.root.key_id()),
            targets: role_keys(keys.targets.key_id()),
            snapshot: role_keys(keys.snapshot.key_id()),
            timestamp: role_keys(keys.timestamp.key_id()),
        },
        unknown: UnknownFields::default(),
    };
    let time_keyid = metadata_schemas::json::Value::string(keys.time.key_id().as_str().to_string());
    root.unknown.0.insert(metadata_schemas::uptane::TIME_KEY_FIELD, time_keyid);
    let offline = metadata_schemas::Encode::encode(&role_keys(keys.offline_updates.key_id())).into_owned();
    root.unknown.0.insert(metadata_schemas::uptane::OFFLINE_ROLE_FIELD, offline);
    let mut signed = Signed::unsigned(root);
    let signature = keys.root.sign(&signed.canonical_signed());
    signed.signatures.push(signature.map_err(|e| SetupError::Key { source: "root".into(), reason: e.to_string() })?);
    Ok(String::from_utf8_lossy(&signed.to_pretty_json()).into_owned())
}

/// A new director's configuration: `options`, the key files `init` writes, one
/// administrator (`admin_token`'s hash), and the defaults.
fn first_config(options: InitOptions, admin_token: &str) -> Config {
    Config {
        // Relative to the data directory (see `Config::database_url_in`), wherever it is run from.
        database_url: options.database_url.unwrap_or_else(|| "sqlite://director.db?mode=rwc".into()),
        listen: options.listen.unwrap_or_else(|| "127.0.0.1:8080".into()),
        tls: options.tls,
        image_repository: options.image_repository,
        keys: OnlineKeys {
            targets: "keys/targets.pem".into(),
            snapshot: "keys/snapshot.pem".into(),
            timestamp: "keys/timestamp.pem".into(),
            time: Some("keys/time.pem".into()),
        },
        lifetimes: options.lifetimes.unwrap_or_default(),
        admin_tokens: vec![AdminToken {
            name: "admin".into(),
            token_sha256: token_hash(admin_token),
            role: Role::Admin,
        }],
        max_body: 1 << 20,
        limits: Default::default(),
        max_clock_skew_secs: 300,
        rollout_interval_secs: 30,
        adoption_sample_secs: 3600,
        decommission_ack_timeout_secs: 30 * 86_400,
        metrics_listen: None,
        log_format: Default::default(),
    }
}

/// Opens the director in `dir`: configuration, online keys, database, image repository.
pub async fn open(dir: &Path) -> Result<Arc<Director>> {
    let config = Config::load(dir)?;
    let signers = open_signers(&config, dir)?;
    let store = Store::open(&config.database_url_in(dir)).await?;
    let (version, bytes) = store.latest_root().await?.ok_or(SetupError::NoRoot)?;
    check_authorized(&signers, &bytes, version)?;
    let images = config.image_repository.as_ref().map(|r| ImageRepository::open(&r.dir, &r.root)).transpose()?;
    let encryption = crate::encryption::Encryption::open(dir).map_err(SetupError::Encryption)?;
    Ok(Arc::new(Director::new(store, signers, config, images, encryption)))
}

/// Installs director root version N+1 (from an offline ceremony, say): it must be
/// signed by a threshold of root vN's keys and of its own, and authorize the online
/// keys the configuration names, after `keys` (role, source) replace any. Every
/// vehicle's metadata is then re-signed, so devices find it signed by the new keys.
/// Run with the service stopped; it picks the new keys up when it starts.
pub async fn import_root(dir: &Path, bytes: &[u8], keys: &[(String, String)]) -> Result<i64> {
    let mut config = Config::load(dir)?;
    for (role, source) in keys {
        match role.as_str() {
            "targets" => config.keys.targets = source.clone(),
            "snapshot" => config.keys.snapshot = source.clone(),
            "timestamp" => config.keys.timestamp = source.clone(),
            "time" => config.keys.time = Some(source.clone()),
            other => return Err(SetupError::UnknownRole(other.to_string())),
        }
    }
    let store = Store::open(&config.database_url_in(dir)).await?;
    let (version, current) = store.latest_root().await?.ok_or(SetupError::NoRoot)?;
    let new_version = version + 1;
    let bad = |version, e: &dyn std::fmt::Display| SetupError::Root { version, reason: e.to_string() };
    let limits = update_verifier::Limits::default();
    let mut trusted =
        update_verifier::TrustedSet::new(current.as_bytes(), Utc::now(), limits).map_err(|e| bad(version, &e))?;
    trusted.update_root(bytes).map_err(|e| bad(new_version, &e))?;
    let text = String::from_utf8(bytes.to_vec()).map_err(|e| bad(new_version, &e))?;
    // The online keys must work with the new root before anything is written.
    let signers = open_signers(&config, dir)?;
    check_authorized(&signers, &text, new_version)?;
    let mut tx = store.begin().await?;
    tx.put_root(new_version, &text).await?;
    let detail = serde_json::json!({"root_version": new_version}).to_string();
    tx.audit("director", "import-root", &detail, Utc::now().timestamp()).await?;
    tx.commit().await?;
    config.save(dir)?;
    let director = open(dir).await?;
    director.resign_all().await.map_err(SetupError::Resign)?;
    Ok(new_version)
}

fn open_signers(config: &Config, dir: &Path) -> Result<OnlineSigners> {
    Ok(OnlineSigners {
        targets: keys::open(&config.keys.targets, dir)?,
        snapshot: keys::open(&config.keys.snapshot, dir)?,
        timestamp: keys::open(&config.keys.timestamp, dir)?,
        time: config.keys.time.as_ref().map(|source| keys::open(source, dir)).transpose()?,
    })
}

/// Each online key is one the root authorizes for its role.
fn check_authorized(signers: &OnlineSigners, root: &str, version: i64) -> Result<()> {
    let root = Signed::<Root>::decode_unverified(root.as_bytes())
        .map_err(|e| SetupError::Root { version, reason: e.to_string() })?;
    for (role, signer, keys) in [
        ("targets", &signers.targets, &root.signed.roles.targets),
        ("snapshot", &signers.snapshot, &root.signed.roles.snapshot),
        ("timestamp", &signers.timestamp, &root.signed.roles.timestamp),
    ] {
        if !keys.keyids.contains(signer.key_id()) {
            return Err(SetupError::NotAuthorized { role, key: signer.key_id().short().to_string(), version });
        }
    }
    if let Some(time) = &signers.time {
        let named = update_verifier::uptane::time_key(&root.signed).map(|(id, _)| id);
        if named.as_ref() != Ok(time.key_id()) {
            let key = time.key_id().short().to_string();
            return Err(SetupError::NotAuthorized { role: "time", key, version });
        }
    }
    Ok(())
}
