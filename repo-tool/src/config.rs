//! `repository.json`: how long each role's metadata lives, and where each key's private
//! half can be found (a key file or a PKCS#11 URI; offline keys have no entry).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use metadata_schemas::decode::{Decode, Encode, ObjectBuilder, UnknownFields, as_object, required};
use metadata_schemas::json::{self, Value};
use metadata_schemas::{DecodeError, KeyId};

use crate::Error;

/// The file name of the configuration inside the repository directory.
pub const CONFIG_FILE: &str = "repository.json";
/// The configuration of a repository whose root v1 ceremony is under way (`init
/// --offline-root`): it becomes [`CONFIG_FILE`] when the signed root v1 is applied.
pub const PENDING_FILE: &str = "repository.pending.json";

/// Repository settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepoConfig {
    /// Whether clients fetch versioned file names (always on for new repositories).
    pub consistent_snapshot: bool,
    /// Lifetimes of new metadata, by role kind.
    pub lifetimes: Lifetimes,
    /// Where the private key for each key id lives.
    pub key_sources: BTreeMap<KeyId, String>,
    /// The key that signs the audit log head.
    pub audit_key: String,
}

/// How long new metadata of each kind is valid, in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lifetimes {
    /// root
    pub root: u64,
    /// top-level targets
    pub targets: u64,
    /// delegated targets roles
    pub delegated: u64,
    /// snapshot
    pub snapshot: u64,
    /// timestamp
    pub timestamp: u64,
}

impl Default for Lifetimes {
    fn default() -> Self {
        const DAY: u64 = 86_400;
        Lifetimes { root: 365 * DAY, targets: 90 * DAY, delegated: 90 * DAY, snapshot: 7 * DAY, timestamp: DAY }
    }
}

impl Lifetimes {
    /// The lifetime for a role.
    pub fn of(&self, role: &str) -> Duration {
        Duration::from_secs(match role {
            "root" => self.root,
            "targets" => self.targets,
            "snapshot" => self.snapshot,
            "timestamp" => self.timestamp,
            _ => self.delegated,
        })
    }

    /// Sets the lifetime of `role`.
    pub fn set(&mut self, role: &str, lifetime: Duration) {
        let secs = lifetime.as_secs();
        match role {
            "root" => self.root = secs,
            "targets" => self.targets = secs,
            "snapshot" => self.snapshot = secs,
            "timestamp" => self.timestamp = secs,
            _ => self.delegated = secs,
        }
    }
}

/// Parses `365d`, `12h`, `30m` or `45s`.
pub fn parse_duration(text: &str) -> Result<Duration, Error> {
    let bad = || Error::Usage(format!("{text:?} is not a duration like 365d, 12h, 30m or 45s"));
    let split = text.len().checked_sub(1).ok_or_else(bad)?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().map_err(|_| bad())?;
    let secs = match unit {
        "d" => n * 86_400,
        "h" => n * 3_600,
        "m" => n * 60,
        "s" => n,
        _ => return Err(bad()),
    };
    Ok(Duration::from_secs(secs))
}

impl RepoConfig {
    /// Reads `repository.json` from `dir`.
    pub fn load(dir: &Path) -> Result<Self, Error> {
        Self::load_file(&dir.join(CONFIG_FILE))
    }

    /// Reads a configuration file.
    pub fn load_file(path: &Path) -> Result<Self, Error> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let value = json::parse(&bytes)
            .map_err(|e| Error::Metadata { file: CONFIG_FILE.into(), source: metadata_schemas::Error::Json(e) })?;
        RepoConfig::decode(&value)
            .map_err(|e| Error::Metadata { file: CONFIG_FILE.into(), source: metadata_schemas::Error::Decode(e) })
    }

    /// The configuration as a file.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = json::to_pretty(&self.encode());
        out.push(b'\n');
        out
    }
}

impl Decode for RepoConfig {
    fn decode(value: &Value<'_>) -> Result<Self, DecodeError> {
        let object = as_object(value)?;
        let lifetimes =
            as_object(object.get("lifetimes").unwrap_or(&Value::Null)).map_err(|e| e.in_field("lifetimes"))?;
        Ok(RepoConfig {
            consistent_snapshot: required(object, "consistent_snapshot")?,
            lifetimes: Lifetimes {
                root: required(lifetimes, "root")?,
                targets: required(lifetimes, "targets")?,
                delegated: required(lifetimes, "delegated")?,
                snapshot: required(lifetimes, "snapshot")?,
                timestamp: required(lifetimes, "timestamp")?,
            },
            key_sources: required(object, "key_sources")?,
            audit_key: required(object, "audit_key")?,
        })
    }
}

impl Encode for RepoConfig {
    fn encode(&self) -> Value<'_> {
        let l = &self.lifetimes;
        let lifetimes = ObjectBuilder::new()
            .field("root", Value::unsigned(l.root))
            .field("targets", Value::unsigned(l.targets))
            .field("delegated", Value::unsigned(l.delegated))
            .field("snapshot", Value::unsigned(l.snapshot))
            .field("timestamp", Value::unsigned(l.timestamp))
            .finish(const { &UnknownFields(json::Object::new()) });
        ObjectBuilder::new()
            .field("consistent_snapshot", Value::Bool(self.consistent_snapshot))
            .field("lifetimes", lifetimes)
            .field("key_sources", self.key_sources.encode())
            .field("audit_key", self.audit_key.encode())
            .finish(const { &UnknownFields(json::Object::new()) })
    }
}
