//! `director.json` in the data directory: where the database is, how to listen, the
//! online keys, metadata lifetimes, the image repository, and the admin tokens (stored
//! as SHA-256 hashes, never in clear).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The configuration file's name in the data directory.
pub const CONFIG_FILE: &str = "director.json";

/// TLS for the listener; with `client_ca`, devices must present a certificate it
/// issued, naming their vin (mutual TLS).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct TlsConfig {
    /// Server certificate chain (PEM).
    pub cert: PathBuf,
    /// Server private key (PEM).
    pub key: PathBuf,
    /// CA that issues device certificates (PEM); devices then authenticate by certificate.
    #[serde(default)]
    pub client_ca: Option<PathBuf>,
}

/// The image repository repo-tool publishes, served under `/api/v1/repo`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ImageRepoConfig {
    /// The published directory (`metadata/` and `targets/`).
    pub dir: PathBuf,
    /// The image repository root the director trusts (its verification starts there).
    pub root: PathBuf,
}

/// Lifetimes of the metadata the director signs, in seconds.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Lifetimes {
    /// Director targets.
    pub targets: u64,
    /// Snapshot.
    pub snapshot: u64,
    /// Timestamp (short: devices see a freeze within this time).
    pub timestamp: u64,
    /// A timestamp expiring within this is re-signed when served.
    pub timestamp_margin: u64,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Lifetimes { targets: 30 * 86400, snapshot: 7 * 86400, timestamp: 86400, timestamp_margin: 6 * 3600 }
    }
}

/// An administrator's token and role.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct AdminToken {
    /// A name for the audit log.
    pub name: String,
    /// SHA-256 (hex) of the token.
    pub token_sha256: String,
    /// `admin` (everything), `operator` (vehicles and assignments) or `viewer` (reads).
    pub role: Role,
}

/// What an administrator may do.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads `/metrics` only: a Prometheus scraper's token.
    Metrics,
    /// Reads only.
    Viewer,
    /// Registers vehicles and assigns images.
    Operator,
    /// Everything.
    Admin,
}

impl Role {
    /// The role's name, as in the configuration and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Metrics => "metrics",
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    /// A role from its name.
    pub fn parse(name: &str) -> Option<Role> {
        [Role::Metrics, Role::Viewer, Role::Operator, Role::Admin].into_iter().find(|r| r.as_str() == name)
    }
}

/// Where the online keys are: key files (relative to the data directory) or `pkcs11:` URIs.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct OnlineKeys {
    /// Signs director targets.
    pub targets: String,
    /// Signs snapshots.
    pub snapshot: String,
    /// Signs timestamps.
    pub timestamp: String,
    /// Signs time attestations for ECUs (the key director root names in `x-time-keyid`);
    /// directors made before secure time have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
}

/// The whole configuration.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Config {
    /// `sqlite://FILE` (a relative FILE is relative to the data directory; default
    /// `director.db`) or `postgres://...`.
    pub database_url: String,
    /// Address to listen on.
    pub listen: String,
    /// TLS, optional (plain HTTP without it, for development).
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    /// The image repository, optional until images are assigned.
    #[serde(default)]
    pub image_repository: Option<ImageRepoConfig>,
    /// The online keys.
    pub keys: OnlineKeys,
    /// Metadata lifetimes.
    #[serde(default)]
    pub lifetimes: Lifetimes,
    /// Administrators.
    pub admin_tokens: Vec<AdminToken>,
    /// Largest request body accepted, in bytes.
    #[serde(default = "default_max_body")]
    pub max_body: usize,
    /// Timeouts, connection and request-rate limits.
    #[serde(default)]
    pub limits: crate::limits::ServerLimits,
    /// How far ahead of the director's clock an ECU's reported time may be (seconds);
    /// a report further ahead is recorded as a clock-skew event and its time not taken.
    #[serde(default = "default_max_clock_skew")]
    pub max_clock_skew_secs: u64,
    /// How often running rollouts are evaluated: vehicles refreshed, gates asked, new
    /// vehicles offered (seconds).
    #[serde(default = "default_rollout_interval")]
    pub rollout_interval_secs: u64,
    /// How often the fleet's adoption is sampled for its history (seconds; each sample
    /// is taken at the first evaluation of its period).
    #[serde(default = "default_adoption_sample")]
    pub adoption_sample_secs: u64,
    /// How long a vehicle's decommission command waits for the device's acknowledgement
    /// before the vehicle is decommissioned unacknowledged (seconds; default 30 days).
    #[serde(default = "default_decommission_timeout")]
    pub decommission_ack_timeout_secs: u64,
    /// A second address serving only `/metrics`, `/healthz` and `/readyz`, without
    /// credentials, for a scraper on a private network (default: none; `/metrics` on the
    /// main address takes a metrics token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_listen: Option<String>,
    /// How the log is written: `text` (lines for people) or `json` (one object a line).
    #[serde(default)]
    pub log_format: crate::log::Format,
}

fn default_rollout_interval() -> u64 {
    30
}

fn default_adoption_sample() -> u64 {
    3600
}

fn default_decommission_timeout() -> u64 {
    30 * 86_400
}

fn default_max_clock_skew() -> u64 {
    300
}

fn default_max_body() -> usize {
    1 << 20
}

impl Config {
    /// The database URL with a relative SQLite path resolved against the data directory
    /// `dir`, so a director run from any working directory opens the same file.
    pub fn database_url_in(&self, dir: &Path) -> String {
        let Some(rest) = self.database_url.strip_prefix("sqlite://") else { return self.database_url.clone() };
        let (file, query) = rest.split_once('?').map_or((rest, None), |(f, q)| (f, Some(q)));
        if file.is_empty() || file.starts_with('/') || file == ":memory:" {
            return self.database_url.clone();
        }
        let absolute = std::path::absolute(dir.join(file)).unwrap_or_else(|_| dir.join(file));
        match query {
            Some(q) => format!("sqlite://{}?{q}", absolute.display()),
            None => format!("sqlite://{}", absolute.display()),
        }
    }

    /// Reads `director.json` from `dir`.
    pub fn load(dir: &Path) -> Result<Config, crate::setup::SetupError> {
        let path = dir.join(CONFIG_FILE);
        let text = std::fs::read_to_string(&path).map_err(crate::setup::io(&path))?;
        serde_json::from_str(&text).map_err(|error| crate::setup::SetupError::Json { path, error })
    }

    /// Writes `director.json` into `dir` atomically: a temporary file, synced, renamed
    /// over the old one; a failure (a full disk) leaves the old file and no temporary.
    pub fn save(&self, dir: &Path) -> Result<(), crate::setup::SetupError> {
        let path = dir.join(CONFIG_FILE);
        let temp = dir.join(format!(".{CONFIG_FILE}.tmp"));
        let text = serde_json::to_string_pretty(self)
            .map_err(|error| crate::setup::SetupError::Json { path: path.clone(), error })?
            + "\n";
        let written = std::fs::File::create(&temp).and_then(|mut file| {
            std::io::Write::write_all(&mut file, text.as_bytes())?;
            file.sync_all()
        });
        let result = written.and_then(|()| std::fs::rename(&temp, &path));
        if result.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        result.map_err(crate::setup::io(path))
    }
}

/// SHA-256 (hex) of a token.
pub fn token_hash(token: &str) -> String {
    metadata_schemas::hex::encode(&threshold_keys::digest::sha256(token.as_bytes()))
}

/// A fresh random token (32 bytes, hex).
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut bytes);
    metadata_schemas::hex::encode(&bytes)
}
