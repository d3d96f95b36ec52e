//! An in-memory TUF repository for tests: typed metadata per role, signing keys per
//! role, and the published files by name, which tests serve, replay or tamper with.
//!
//! Every change is explicit: edit a role, then `publish_*` signs it into `files`.
//! `publish()` republishes the changed targets roles, snapshot and timestamp in order.

pub mod http;
pub mod offline;
pub mod peers;
pub mod python;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use metadata_schemas::{
    CommonFields, DelegatedRole, DelegatedRoles, Delegations, Encode, Hashes, KeyId, MetaFile, PathSpec, RoleKeys,
    RoleName, Root, Signed, Snapshot, TargetFile, TargetPath, Targets, Threshold, Timestamp, TopLevelRoles,
    UnknownFields, UtcTime, Version,
};
use threshold_keys::{KeyAlgorithm, KeyFileSigner, Signer, digest};

/// A repository under test.
pub struct RepoSim {
    /// Typed root as it will be published next.
    pub root: Root,
    /// Typed timestamp as it will be published next.
    pub timestamp: Timestamp,
    /// Typed snapshot as it will be published next.
    pub snapshot: Snapshot,
    /// Typed targets roles (top-level and delegated) by name.
    pub targets: BTreeMap<RoleName, Targets>,
    /// Signers per role name.
    pub signers: BTreeMap<RoleName, Vec<KeyFileSigner>>,
    /// Published files by name: `N.root.json`, `timestamp.json`, `V.snapshot.json`, ...
    pub files: BTreeMap<String, Vec<u8>>,
    /// Target content by URL path (hash-prefixed with consistent snapshots).
    pub target_files: BTreeMap<String, Vec<u8>>,
    /// Whether snapshot and timestamp list lengths and hashes of the files they list.
    pub list_lengths_and_hashes: bool,
    /// Reference time for expiry defaults.
    pub now: DateTime<Utc>,
    dirty: BTreeSet<RoleName>,
}

/// Expiry `days` after `now`.
pub fn expires_in(now: DateTime<Utc>, days: i64) -> UtcTime {
    UtcTime::new(now + Duration::days(days))
}

fn role_keys(signers: &[KeyFileSigner], threshold: u64) -> RoleKeys {
    RoleKeys {
        keyids: signers.iter().map(|s| s.key_id().clone()).collect(),
        threshold: Threshold::new(threshold).expect("threshold >= 1"),
        unknown: UnknownFields::default(),
    }
}

/// A new Ed25519 signer.
pub fn new_key() -> KeyFileSigner {
    KeyFileSigner::generate(KeyAlgorithm::Ed25519).expect("key generation")
}

impl RepoSim {
    /// A repository with one Ed25519 key per top-level role, consistent snapshots, all
    /// roles at version 1 and published, valid for a year after `now`.
    pub fn new(now: DateTime<Utc>) -> Self {
        let mut signers = BTreeMap::new();
        for role in ["root", "targets", "snapshot", "timestamp"] {
            signers.insert(RoleName::new(role).expect("name"), vec![new_key()]);
        }
        let keys = signers.values().flatten().map(|s| (s.key_id().clone(), s.public_key().clone())).collect();
        let roles = TopLevelRoles {
            root: role_keys(&signers[&RoleName::root()], 1),
            targets: role_keys(&signers[&RoleName::targets()], 1),
            snapshot: role_keys(&signers[&RoleName::snapshot()], 1),
            timestamp: role_keys(&signers[&RoleName::timestamp()], 1),
        };
        let common = |days| CommonFields::new(Version::ONE, expires_in(now, days));
        let root = Root {
            common: common(365),
            consistent_snapshot: Some(true),
            keys,
            roles,
            unknown: UnknownFields::default(),
        };
        let mut targets = BTreeMap::new();
        targets.insert(RoleName::targets(), Targets::new(common(180)));
        let snapshot = Snapshot { common: common(30), meta: BTreeMap::new(), unknown: UnknownFields::default() };
        let timestamp = Timestamp::new(common(1), MetaFile::new(Version::ONE));
        let mut sim = RepoSim {
            root,
            timestamp,
            snapshot,
            targets,
            signers,
            files: BTreeMap::new(),
            target_files: BTreeMap::new(),
            list_lengths_and_hashes: false,
            now,
            dirty: BTreeSet::new(),
        };
        sim.publish_root_as_is();
        sim.dirty.insert(RoleName::targets());
        sim.publish_unbumped();
        sim
    }

    /// Signs `value` with the given signers into a pretty-printed envelope.
    pub fn sign_with<T: Encode>(value: &T, signers: &[&KeyFileSigner]) -> Vec<u8> {
        let mut doc = Signed::unsigned(value);
        let message = doc.canonical_signed();
        doc.signatures = signers.iter().map(|s| s.sign(&message).expect("sign")).collect();
        doc.to_pretty_json()
    }

    /// Signs `value` with the signers of `role`.
    pub fn sign<T: Encode>(&self, role: &RoleName, value: &T) -> Vec<u8> {
        let signers: Vec<&KeyFileSigner> = self.signers[role].iter().collect();
        Self::sign_with(value, &signers)
    }

    fn publish_root_as_is(&mut self) {
        let bytes = self.sign(&RoleName::root(), &self.root);
        self.files.insert(format!("{}.root.json", self.root.common.version), bytes);
    }

    /// Adds a time key (secure time for ECUs) to the current root, named by its
    /// `x-time-keyid`, and publishes that root again under its version; the key's signer.
    pub fn add_time_key(&mut self) -> KeyFileSigner {
        let key = new_key();
        self.root.keys.insert(key.key_id().clone(), key.public_key().clone());
        let id = metadata_schemas::json::Value::string(key.key_id().as_str().to_string());
        self.root.unknown.0.insert(metadata_schemas::uptane::TIME_KEY_FIELD, id);
        self.publish_root_as_is();
        key
    }

    /// Publishes root version N+1, signed by the old root keys and `new_root_signers`
    /// (which become the root role's signers). Edit `root` before calling.
    pub fn rotate_root(&mut self, new_root_signers: Vec<KeyFileSigner>, threshold: u64) {
        let old = self.signers.remove(&RoleName::root()).unwrap_or_default();
        for s in &new_root_signers {
            self.root.keys.insert(s.key_id().clone(), s.public_key().clone());
        }
        self.root.roles.root = role_keys(&new_root_signers, threshold);
        self.root.common.version = self.root.common.version.next().expect("version");
        let mut all: Vec<&KeyFileSigner> = old.iter().collect();
        all.extend(new_root_signers.iter().filter(|n| !old.iter().any(|o| o.key_id() == n.key_id())));
        let bytes = Self::sign_with(&self.root, &all);
        self.files.insert(format!("{}.root.json", self.root.common.version), bytes);
        self.signers.insert(RoleName::root(), new_root_signers);
    }

    /// Replaces the keys of a top-level role (not root) in the next root.
    pub fn replace_role_keys(&mut self, role: &RoleName, signers: Vec<KeyFileSigner>, threshold: u64) {
        for s in &signers {
            self.root.keys.insert(s.key_id().clone(), s.public_key().clone());
        }
        let keys = role_keys(&signers, threshold);
        match role.as_str() {
            "targets" => self.root.roles.targets = keys,
            "snapshot" => self.root.roles.snapshot = keys,
            "timestamp" => self.root.roles.timestamp = keys,
            other => panic!("not a replaceable top-level role: {other}"),
        }
        self.signers.insert(role.clone(), signers);
    }

    /// Publishes root N+1 with the current root keys (after edits such as key changes).
    pub fn publish_root(&mut self) {
        let signers = self.signers[&RoleName::root()].iter().map(clone_signer).collect();
        let threshold = self.root.roles.root.threshold.get();
        self.rotate_root(signers, threshold);
    }

    /// Adds a target with `content` to `role`.
    pub fn add_target(
        &mut self,
        role: &RoleName,
        path: &str,
        content: &[u8],
        custom: Option<metadata_schemas::json::Value<'static>>,
    ) {
        let sha256 = digest::digest(metadata_schemas::HashAlgorithm::Sha256, content);
        let hashes = Hashes::new(vec![sha256]).expect("hashes");
        let mut file = TargetFile::new(content.len() as u64, hashes);
        file.custom = custom;
        let path = TargetPath::new(path);
        self.target_files.insert(path.hash_prefixed(&sha256.to_hex()), content.to_vec());
        self.target_files.insert(path.as_str().to_string(), content.to_vec());
        self.targets.get_mut(role).expect("role exists").targets.insert(path, file);
        self.dirty.insert(role.clone());
    }

    /// Delegates from `parent` to a new role `name` with `nkeys` fresh keys.
    pub fn delegate(
        &mut self,
        parent: &RoleName,
        name: &str,
        paths: PathSpec,
        terminating: bool,
        threshold: u64,
        nkeys: usize,
    ) -> RoleName {
        let name = RoleName::new(name).expect("name");
        let signers: Vec<KeyFileSigner> = (0..nkeys).map(|_| new_key()).collect();
        let parent_md = self.targets.get_mut(parent).expect("parent exists");
        let delegations = parent_md.delegations.get_or_insert_with(|| Delegations {
            keys: BTreeMap::new(),
            roles: DelegatedRoles::List(Vec::new()),
            unknown: UnknownFields::default(),
        });
        for s in &signers {
            delegations.keys.insert(s.key_id().clone(), s.public_key().clone());
        }
        if let DelegatedRoles::List(roles) = &mut delegations.roles {
            roles.push(DelegatedRole {
                name: name.clone(),
                keyids: signers.iter().map(|s| s.key_id().clone()).collect(),
                threshold: Threshold::new(threshold).expect("threshold"),
                terminating,
                paths,
                unknown: UnknownFields::default(),
            });
        }
        self.signers.insert(name.clone(), signers);
        let expires = expires_in(self.now, 180);
        self.targets.insert(name.clone(), Targets::new(CommonFields::new(Version::ONE, expires)));
        self.dirty.insert(parent.clone());
        self.dirty.insert(name.clone());
        name
    }

    /// Marks a targets role changed, so the next `publish` bumps and re-signs it.
    pub fn touch(&mut self, role: &RoleName) {
        self.dirty.insert(role.clone());
    }

    /// Signs and publishes one targets role at its current version.
    pub fn publish_targets_role(&mut self, role: &RoleName) {
        let bytes = self.sign(role, &self.targets[role]);
        let version = self.targets[role].common.version;
        let mut meta = MetaFile::new(version);
        if self.list_lengths_and_hashes {
            meta.length = Some(bytes.len() as u64);
            meta.hashes = Hashes::new(vec![digest::digest(metadata_schemas::HashAlgorithm::Sha256, &bytes)]);
        }
        self.snapshot.meta.insert(format!("{role}.json"), meta);
        self.files.insert(role.versioned_file_name(version), bytes.clone());
        self.files.insert(role.file_name(), bytes);
    }

    /// Signs and publishes snapshot at its current version, and points timestamp at it.
    pub fn publish_snapshot(&mut self) {
        let bytes = self.sign(&RoleName::snapshot(), &self.snapshot);
        let version = self.snapshot.common.version;
        let mut meta = MetaFile::new(version);
        if self.list_lengths_and_hashes {
            meta.length = Some(bytes.len() as u64);
            meta.hashes = Hashes::new(vec![digest::digest(metadata_schemas::HashAlgorithm::Sha256, &bytes)]);
        }
        self.timestamp.snapshot = meta;
        self.files.insert(RoleName::snapshot().versioned_file_name(version), bytes.clone());
        self.files.insert("snapshot.json".into(), bytes);
    }

    /// Lists `role` at `version` in a new snapshot and timestamp (without signing the role).
    pub fn publish_snapshot_listing(&mut self, role: &RoleName, version: Version) {
        self.snapshot.meta.insert(format!("{role}.json"), MetaFile::new(version));
        self.snapshot.common.version = self.snapshot.common.version.next().expect("version");
        self.publish_snapshot();
        self.timestamp.common.version = self.timestamp.common.version.next().expect("version");
        self.publish_timestamp();
    }

    /// Signs and publishes timestamp at its current version.
    pub fn publish_timestamp(&mut self) {
        let bytes = self.sign(&RoleName::timestamp(), &self.timestamp);
        self.files.insert("timestamp.json".into(), bytes);
    }

    fn publish_unbumped(&mut self) {
        for role in std::mem::take(&mut self.dirty) {
            self.publish_targets_role(&role);
        }
        self.publish_snapshot();
        self.publish_timestamp();
    }

    /// Bumps and republishes every changed targets role, then snapshot and timestamp.
    pub fn publish(&mut self) {
        for role in self.dirty.clone() {
            let md = self.targets.get_mut(&role).expect("role");
            md.common.version = md.common.version.next().expect("version");
        }
        self.snapshot.common.version = self.snapshot.common.version.next().expect("version");
        self.timestamp.common.version = self.timestamp.common.version.next().expect("version");
        self.publish_unbumped();
    }

    /// The bytes of a published file.
    pub fn file(&self, name: &str) -> Vec<u8> {
        self.files.get(name).unwrap_or_else(|| panic!("{name} is not published")).clone()
    }

    /// The key ids of a role's signers.
    pub fn key_ids(&self, role: &RoleName) -> Vec<KeyId> {
        self.signers[role].iter().map(|s| s.key_id().clone()).collect()
    }
}

/// A copy of a signer (through its PKCS#8 encoding), for reusing a key in a new role.
pub fn clone_signer(signer: &KeyFileSigner) -> KeyFileSigner {
    let pem = signer.to_encrypted_pem(b"clone").expect("encrypt");
    KeyFileSigner::from_pem(&pem, Some(b"clone")).expect("decrypt")
}
