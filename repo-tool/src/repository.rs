//! The working repository: typed metadata of every role, loaded from and saved to a
//! directory. Every change bumps the role's version and expiry, is signed through the
//! threshold check, and is staged in one [`Transaction`] with the audit entries that
//! record it; `save` verifies the result as a client would before anything is written.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use metadata_schemas::{
    DelegatedRoles, Encode, HashAlgorithm, Hashes, KeyId, MetaFile, MetadataType, RoleName, Root, Signed, Snapshot,
    TargetFile, TargetPath, Targets, Timestamp, UtcTime, Version, hex,
};
use threshold_keys::{RoleAuthority, check_threshold, digest};

use crate::Error;
use crate::audit::{AuditEvent, AuditLog};
use crate::config::RepoConfig;
use crate::keys::{KeyRing, KeySource};
use crate::lock::RepoLock;
use crate::transaction::{Transaction, recover};
use crate::verified_state::{VerifiedState, sha256_hex};

pub use crate::signing::{pretty, sign_with, sign_with_message};

/// Paths inside a repository directory.
pub mod layout {
    /// Current metadata of every role.
    pub const METADATA: &str = "metadata";
    /// Every root version ever signed, as `N.root.json`.
    pub const ROOTS: &str = "metadata/roots";
    /// Target files, content-addressed: `targets/<first two hex digits>/<sha256>`.
    pub const TARGETS: &str = "targets";
    /// Generated key files.
    pub const KEYS: &str = "keys";
}

/// A repository loaded for one command.
pub struct Repository {
    dir: PathBuf,
    /// Settings and key locations.
    pub config: RepoConfig,
    /// The current root.
    pub root: Signed<Root>,
    /// Top-level and delegated targets roles, by name (changed through `targets_mut`,
    /// so that what a command changes is known without a copy of every role).
    targets: BTreeMap<RoleName, Signed<Targets>>,
    /// The current snapshot.
    pub snapshot: Signed<Snapshot>,
    /// The current timestamp.
    pub timestamp: Signed<Timestamp>,
    /// The time of this command (versions and expiries are computed from it).
    pub now: DateTime<Utc>,
    transaction: Transaction,
    audit: Vec<AuditEvent>,
    changed: BTreeSet<RoleName>,
    /// The signed record of the state the last command verified, if it is the one loaded.
    verified: Option<VerifiedState>,
    /// Roles whose files as loaded are the bytes that record vouches for.
    covered: BTreeSet<RoleName>,
    /// Each targets role as loaded, to record what a new version of it changes.
    loaded: BTreeMap<RoleName, LoadedRole>,
    _lock: Option<RepoLock>,
}

/// A targets role as the command found it.
struct LoadedRole {
    version: Version,
    sha256: String,
    /// Its targets as loaded, kept from the first `targets_mut`; `None`: unchanged.
    targets: Option<BTreeMap<TargetPath, TargetFile>>,
}

fn read_metadata<T: metadata_schemas::Decode>(dir: &Path, file: &str) -> Result<(Signed<T>, Vec<u8>), Error> {
    let path = dir.join(layout::METADATA).join(file);
    let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
    let signed = Signed::decode_unverified(&bytes)
        .map_err(|source| Error::Metadata { file: format!("metadata/{file}"), source })?;
    Ok((signed, bytes))
}

/// The name a client fetches `role` at `version` by.
fn published_name(role: &RoleName, version: Version, consistent: bool) -> String {
    if consistent && role.as_str() != "timestamp" { role.versioned_file_name(version) } else { role.file_name() }
}

/// The typed form of freshly created metadata for a new repository.
pub struct NewRepository {
    /// Settings and key locations.
    pub config: RepoConfig,
    /// Root version 1 (unsigned).
    pub root: Root,
}

impl Repository {
    /// Loads the repository in `dir` for this command alone (see [`RepoLock`]), finishing
    /// any interrupted commit first; every role must be signed by its keys as loaded.
    pub fn load(dir: &Path) -> Result<Self, Error> {
        if !dir.join(crate::config::CONFIG_FILE).exists() && dir.join(crate::config::PENDING_FILE).exists() {
            return Err(Error::Usage(format!(
                "{0} awaits its root v1 ceremony: each root key holder signs {0}/proposals/root-v1.json, \
                 then `repo-tool merge` the copies and `repo-tool apply {0} SIGNED.json`",
                dir.display()
            )));
        }
        if !dir.join(crate::config::CONFIG_FILE).exists() {
            let file = crate::config::CONFIG_FILE;
            return Err(Error::Usage(format!("{}: not a repo-tool repository (no {file})", dir.display())));
        }
        let lock = RepoLock::acquire(dir, crate::lock::WAIT)?;
        recover(dir)?;
        let config = RepoConfig::load(dir)?;
        let (root, root_bytes) = read_metadata::<Root>(dir, "root.json")?;
        let verified = VerifiedState::load(dir, &root.signed, &root_bytes);
        let consistent = root.signed.consistent_snapshot();
        // `VerifiedState::load` found root.json among the files it vouches for.
        let mut covered: BTreeSet<RoleName> = verified.iter().map(|_| RoleName::root()).collect();
        let mut cover = |role: RoleName, version: Version, sha256: &str| {
            if verified.as_ref().is_some_and(|v| v.covers_sha256(&published_name(&role, version, consistent), sha256)) {
                covered.insert(role);
            }
        };
        let mut loaded = BTreeMap::new();
        drop(root_bytes);
        let mut targets = BTreeMap::new();
        let mut queue = vec![RoleName::targets()];
        while let Some(role) = queue.pop() {
            if targets.contains_key(&role) {
                continue;
            }
            let (md, bytes) = read_metadata::<Targets>(dir, &role.file_name())?;
            let (version, sha256) = (md.signed.common.version, sha256_hex(&bytes));
            drop(bytes);
            cover(role.clone(), version, &sha256);
            loaded.insert(role.clone(), LoadedRole { version, sha256, targets: None });
            if let Some(delegations) = &md.signed.delegations {
                match &delegations.roles {
                    DelegatedRoles::List(roles) => queue.extend(roles.iter().map(|r| r.name.clone())),
                    DelegatedRoles::Succinct(bins) => queue.extend((0..bins.bin_count()).map(|i| bins.bin_name(i))),
                }
            }
            targets.insert(role, md);
        }
        let (snapshot, bytes) = read_metadata::<Snapshot>(dir, "snapshot.json")?;
        cover(RoleName::snapshot(), snapshot.signed.common.version, &sha256_hex(&bytes));
        let (timestamp, bytes) = read_metadata::<Timestamp>(dir, "timestamp.json")?;
        cover(RoleName::timestamp(), timestamp.signed.common.version, &sha256_hex(&bytes));
        let repo = Repository {
            dir: dir.to_path_buf(),
            config,
            root,
            targets,
            snapshot,
            timestamp,
            now: Utc::now(),
            transaction: Transaction::new(),
            audit: Vec::new(),
            changed: BTreeSet::new(),
            verified,
            covered,
            loaded,
            _lock: Some(lock),
        };
        repo.check_signatures()?;
        Ok(repo)
    }

    /// Every role as loaded is signed by a threshold of the keys that may sign it, so a
    /// change made by hand (by someone without the keys) is never signed onward. A role
    /// whose bytes the signed record of the last verification covers was checked then.
    fn check_signatures(&self) -> Result<(), Error> {
        self.check_role(RoleName::root(), &self.root)?;
        self.check_role(RoleName::snapshot(), &self.snapshot)?;
        self.check_role(RoleName::timestamp(), &self.timestamp)?;
        for (role, md) in &self.targets {
            self.check_role(role.clone(), md)?;
        }
        Ok(())
    }

    fn check_role<T: Encode>(&self, role: RoleName, md: &Signed<T>) -> Result<(), Error> {
        if self.covered.contains(&role) {
            return Ok(());
        }
        let report = check_threshold(self.authority(&role)?, &md.signatures, &md.canonical_signed());
        if !report.is_met() {
            return Err(Error::Tampered { file: format!("metadata/{}", role.file_name()), report: Box::new(report) });
        }
        Ok(())
    }

    /// Creates a repository in `dir`: root version 1 signed to its threshold, empty
    /// targets, snapshot and timestamp at version 1, the configuration and the first
    /// audit entries, all committed at once.
    pub fn initialize(dir: &Path, config: RepoConfig, root: Root, keys: &mut KeyRing) -> Result<(), Error> {
        let root_signed = sign_with(&RoleName::root(), root.clone(), authority_of(&root, MetadataType::Root), keys)?;
        Self::initialize_signed(dir, config, root_signed, Vec::new(), keys)
    }

    /// [`Repository::initialize`] from a root v1 its key holders signed (checked by the
    /// caller), with the audit entries of that ceremony.
    pub fn initialize_signed(
        dir: &Path,
        config: RepoConfig,
        root_signed: Signed<Root>,
        ceremony: Vec<AuditEvent>,
        keys: &mut KeyRing,
    ) -> Result<(), Error> {
        let now = Utc::now();
        let lifetimes = config.lifetimes;
        let placeholder = |kind: &str| {
            let lifetime = chrono::Duration::seconds(lifetimes.of(kind).as_secs() as i64);
            metadata_schemas::CommonFields::new(Version::ONE, UtcTime::new(now + lifetime))
        };
        let mut repo = Repository {
            dir: dir.to_path_buf(),
            config,
            root: root_signed.clone(),
            targets: BTreeMap::new(),
            snapshot: Signed::unsigned(Snapshot {
                common: placeholder("snapshot"),
                meta: BTreeMap::new(),
                unknown: Default::default(),
            }),
            timestamp: Signed::unsigned(Timestamp::new(placeholder("timestamp"), MetaFile::new(Version::ONE))),
            now,
            transaction: Transaction::new(),
            audit: std::iter::once(AuditEvent::note("init", format!("new repository in {}", dir.display())))
                .chain(ceremony)
                .collect(),
            changed: BTreeSet::new(),
            verified: None,
            covered: BTreeSet::new(),
            loaded: BTreeMap::new(),
            _lock: None,
        };
        repo.stage_root(root_signed)?;
        let targets = repo.sign(&RoleName::targets(), Targets::new(placeholder("targets")), keys)?;
        repo.transaction.write(format!("{}/{}", layout::METADATA, RoleName::targets().file_name()), pretty(&targets));
        repo.audit.push(AuditEvent::signed("targets", Version::ONE, &targets));
        repo.targets.insert(RoleName::targets(), targets);
        // The first snapshot and timestamp are version 1: start their counters below it.
        repo.new_first_snapshot_and_timestamp(keys)?;
        repo.transaction.write(crate::config::CONFIG_FILE, repo.config.to_bytes());
        repo.transaction.write(crate::lock::LOCK_FILE, Vec::new());
        repo.commit(keys)
    }

    fn new_first_snapshot_and_timestamp(&mut self, keys: &mut KeyRing) -> Result<(), Error> {
        let mut snapshot = self.snapshot.signed.clone();
        snapshot.meta = self
            .targets
            .iter()
            .map(|(role, md)| (format!("{role}.json"), listing(md.signed.common.version, &pretty(md))))
            .collect();
        let snapshot = self.sign(&RoleName::snapshot(), snapshot, keys)?;
        self.transaction.write(format!("{}/snapshot.json", layout::METADATA), pretty(&snapshot));
        self.audit.push(AuditEvent::signed("snapshot", Version::ONE, &snapshot));
        let mut timestamp = self.timestamp.signed.clone();
        timestamp.snapshot = listing(Version::ONE, &pretty(&snapshot));
        self.snapshot = snapshot;
        let timestamp = self.sign(&RoleName::timestamp(), timestamp, keys)?;
        self.transaction.write(format!("{}/timestamp.json", layout::METADATA), pretty(&timestamp));
        self.audit.push(AuditEvent::signed("timestamp", Version::ONE, &timestamp));
        self.timestamp = timestamp;
        Ok(())
    }

    /// The repository directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A key ring with the configured key sources and `extra` keys for this command.
    pub fn key_ring(&self, extra: &[String]) -> KeyRing {
        let sources = self
            .config
            .key_sources
            .iter()
            .map(|(id, source)| (id.clone(), KeySource::parse(source, &self.dir)))
            .collect();
        KeyRing::new(sources, extra.iter().map(|k| KeySource::parse(k, Path::new("."))).collect())
    }

    /// Expiry for a new version of `role`.
    pub fn expiry(&self, role: &str) -> UtcTime {
        let lifetime = chrono::Duration::from_std(self.config.lifetimes.of(role)).unwrap_or(chrono::Duration::days(1));
        UtcTime::new(self.now + lifetime)
    }

    /// Who may sign `role`: root's keys for top-level roles, the delegator's for others.
    pub fn authority(&self, role: &RoleName) -> Result<RoleAuthority<'_>, Error> {
        let top = |kind| Ok(authority_of(&self.root.signed, kind));
        match role.as_str() {
            "root" => top(MetadataType::Root),
            "targets" => top(MetadataType::Targets),
            "snapshot" => top(MetadataType::Snapshot),
            "timestamp" => top(MetadataType::Timestamp),
            _ => {
                for md in self.targets.values() {
                    if let Some(delegations) = &md.signed.delegations {
                        if let Some((keyids, threshold)) = delegations.find_role(role) {
                            return Ok(RoleAuthority { keys: &delegations.keys, keyids, threshold });
                        }
                    }
                }
                Err(Error::Usage(format!("{role}: no role delegates to it")))
            }
        }
    }

    /// Whether `role`'s keys are all offline: the repository knows no private source for
    /// any of them (and the command was given no `--key`), so a change is a proposal.
    pub fn is_offline(&self, role: &RoleName, extra_keys: &[String]) -> bool {
        extra_keys.is_empty()
            && self.authority(role).is_ok_and(|a| a.keyids.iter().all(|id| !self.config.key_sources.contains_key(id)))
    }

    /// `role`'s next version with its targets as they are now: version bumped, expiry
    /// renewed, unsigned (a proposal for the role's offline key holders).
    pub fn next_targets(&self, role: &RoleName) -> Result<Targets, Error> {
        let mut next =
            self.targets.get(role).ok_or_else(|| Error::Usage(format!("no targets role {role}")))?.signed.clone();
        bump(&mut next.common.version)?;
        next.common.expires = self.expiry(role.as_str());
        Ok(next)
    }

    /// The role that delegates to `role` (`root` for top-level roles).
    pub fn delegator(&self, role: &RoleName) -> Option<RoleName> {
        if role.is_top_level() {
            return Some(RoleName::root());
        }
        self.targets
            .iter()
            .find_map(|(name, md)| md.signed.delegations.as_ref().and_then(|d| d.find_role(role)).map(|_| name.clone()))
    }

    /// Signs `value` as `role` with every reachable authorized key; fails, naming the
    /// missing keys, unless the threshold is met.
    pub fn sign<T: Encode>(&self, role: &RoleName, value: T, keys: &mut KeyRing) -> Result<Signed<T>, Error> {
        let authority = self.authority(role)?;
        sign_with(role, value, authority, keys)
    }

    /// Bumps `role`'s version and expiry; it is signed and staged by [`Repository::save`].
    pub fn touch_targets(&mut self, role: &RoleName) -> Result<(), Error> {
        let expires = self.expiry(role.as_str());
        let md = self.targets.get_mut(role).ok_or_else(|| Error::Usage(format!("no targets role {role}")))?;
        bump(&mut md.signed.common.version)?;
        md.signed.common.expires = expires;
        self.changed.insert(role.clone());
        Ok(())
    }

    /// Top-level and delegated targets roles, by name.
    pub fn targets(&self) -> &BTreeMap<RoleName, Signed<Targets>> {
        &self.targets
    }

    /// `role`'s metadata to change, its targets as loaded kept first.
    pub fn targets_mut(&mut self, role: &RoleName) -> Option<&mut Signed<Targets>> {
        let md = self.targets.get_mut(role)?;
        if let Some(loaded) = self.loaded.get_mut(role) {
            loaded.targets.get_or_insert_with(|| md.signed.targets.clone());
        }
        Some(md)
    }

    /// Adds a new targets role (created by this command).
    pub fn insert_role(&mut self, role: RoleName, md: Signed<Targets>) {
        let _ = self.targets_mut(&role); // a role of that name as loaded keeps its targets
        self.targets.insert(role, md);
    }

    /// Installs targets metadata signed elsewhere (an applied proposal) as it is.
    pub fn install_targets(&mut self, role: &RoleName, signed: Signed<Targets>) {
        self.transaction.write(format!("{}/{}", layout::METADATA, role.file_name()), pretty(&signed));
        self.audit.push(AuditEvent::signed(role.as_str(), signed.signed.common.version, &signed));
        self.changed.remove(role);
        self.insert_role(role.clone(), signed);
    }

    /// Records that `role` was created or changed without a version bump (new roles).
    pub fn mark_changed(&mut self, role: &RoleName) {
        self.changed.insert(role.clone());
    }

    /// Stages a new root (already signed to both thresholds by the caller's process).
    pub fn stage_root(&mut self, root: Signed<Root>) -> Result<(), Error> {
        let bytes = pretty(&root);
        let version = root.signed.common.version;
        self.transaction.write(format!("{}/{version}.root.json", layout::ROOTS), bytes.clone());
        self.transaction.write(format!("{}/root.json", layout::METADATA), bytes);
        self.audit.push(AuditEvent::signed("root", version, &root));
        self.root = root;
        Ok(())
    }

    /// Stages any file (relative to the repository directory).
    pub fn stage_file(&mut self, path: impl Into<PathBuf>, bytes: Vec<u8>) {
        self.transaction.write(path, bytes);
    }

    /// Stages the removal of a file (relative to the repository directory).
    pub fn stage_removal(&mut self, path: impl Into<PathBuf>) {
        self.transaction.remove(path);
    }

    /// The targets role a new target at `path` belongs in: the deepest role reached by
    /// following, from `targets`, the first delegation trusted for the path.
    pub fn responsible_role(&self, path: &str) -> RoleName {
        let digest = digest::sha256(path.as_bytes());
        let mut role = RoleName::targets();
        loop {
            let Some(delegations) = self.targets.get(&role).and_then(|md| md.signed.delegations.as_ref()) else {
                return role;
            };
            match update_verifier::roles_for_target(delegations, path, &digest).into_iter().next() {
                Some((child, _)) if self.targets.contains_key(&child) => role = child,
                _ => return role,
            }
        }
    }

    /// Records an event in the audit log with this command's changes.
    pub fn record(&mut self, event: AuditEvent) {
        self.audit.push(event);
    }

    /// Signs changed targets roles, then a new snapshot and timestamp, verifies the
    /// result as a client would, and commits everything with its audit entries.
    pub fn save(mut self, keys: &mut KeyRing) -> Result<(), Error> {
        let changed: Vec<RoleName> = self.changed.iter().cloned().collect();
        let resign = !changed.is_empty() || self.snapshot_is_stale();
        self.open_keys_ahead(&changed, resign, keys)?;
        for role in &changed {
            // Taken out to be signed, not copied: a large role is one allocation each.
            let unsigned = self.targets.remove(role).expect("a changed role exists").signed;
            // One encoding serves the signatures, the file and the audit entry's hash.
            let crate::signing::Rendered { signed, message, file } =
                crate::signing::sign_and_render(role, unsigned, self.authority(role)?, keys)?;
            self.transaction.write(format!("{}/{}", layout::METADATA, role.file_name()), file);
            let version = signed.signed.common.version;
            self.audit.push(AuditEvent::signed_message(role.as_str(), version, &signed.signatures, &message));
            self.targets.insert(role.clone(), signed);
        }
        if !changed.is_empty() || self.snapshot_is_stale() {
            self.new_snapshot_and_timestamp(keys)?;
        }
        self.commit(keys)
    }

    /// Opens the keys that signing `roles` (and snapshot and timestamp, when `resign`)
    /// will need, so a wrong passphrase stops a command before it does any work.
    pub fn open_keys_ahead(&self, roles: &[RoleName], resign: bool, keys: &mut KeyRing) -> Result<(), Error> {
        let mut needed = roles.to_vec();
        if resign {
            needed.extend([RoleName::snapshot(), RoleName::timestamp()]);
        }
        let keyids: Vec<KeyId> =
            needed.iter().filter_map(|role| self.authority(role).ok()).flat_map(|a| a.keyids.to_vec()).collect();
        keys.open_ahead(&keyids, &[self.audit_source()])
    }

    /// Re-signs only the timestamp (a new version pointing at the same snapshot).
    pub fn new_timestamp(&mut self, keys: &mut KeyRing) -> Result<(), Error> {
        let snapshot_bytes = pretty(&self.snapshot);
        let mut timestamp = self.timestamp.signed.clone();
        bump(&mut timestamp.common.version)?;
        timestamp.common.expires = self.expiry("timestamp");
        timestamp.snapshot = listing(self.snapshot.signed.common.version, &snapshot_bytes);
        let signed = self.sign(&RoleName::timestamp(), timestamp, keys)?;
        self.transaction.write(format!("{}/timestamp.json", layout::METADATA), pretty(&signed));
        self.audit.push(AuditEvent::signed("timestamp", signed.signed.common.version, &signed));
        self.timestamp = signed;
        Ok(())
    }

    /// A new snapshot listing every targets role (with length and hash), and a new
    /// timestamp listing it.
    pub fn new_snapshot_and_timestamp(&mut self, keys: &mut KeyRing) -> Result<(), Error> {
        let mut snapshot = self.snapshot.signed.clone();
        bump(&mut snapshot.common.version)?;
        snapshot.common.expires = self.expiry("snapshot");
        // Each role as it will be written: staged bytes or the file as loaded.
        snapshot.meta = self
            .targets
            .iter()
            .map(|(role, md)| {
                let bytes = self.metadata_file(&role.file_name(), || pretty(md));
                (format!("{role}.json"), listing(md.signed.common.version, &bytes))
            })
            .collect();
        let signed = self.sign(&RoleName::snapshot(), snapshot, keys)?;
        self.transaction.write(format!("{}/snapshot.json", layout::METADATA), pretty(&signed));
        self.audit.push(AuditEvent::signed("snapshot", signed.signed.common.version, &signed));
        self.snapshot = signed;
        self.new_timestamp(keys)
    }

    /// Whether snapshot lists every targets role at its current version.
    pub fn snapshot_is_stale(&self) -> bool {
        self.targets.len() != self.snapshot.signed.meta.len()
            || self.targets.iter().any(|(role, md)| {
                self.snapshot.signed.role_meta(role).map(|m| m.version) != Some(md.signed.common.version)
            })
    }

    /// Verifies the staged state as a client would, then writes it with the audit log.
    fn commit(mut self, keys: &mut KeyRing) -> Result<(), Error> {
        let files = crate::verify::state_files(&self)?;
        crate::verify::verify_state_files(&files, self.now)?;
        self.stage_change_records();
        let log = AuditLog::open(&self.dir)?;
        let events = std::mem::take(&mut self.audit);
        let audit_key = keys.signer_at(&self.audit_source())?;
        log.stage(&events, audit_key, self.now, &mut self.transaction)?;
        match audit_key {
            Some(key) => VerifiedState::of(&files).with_expiries(self.expiries()).stage(key, &mut self.transaction)?,
            // An offline audit key vouches for nothing new: the next command checks all.
            None => self.transaction.remove(crate::verified_state::FILE),
        }
        self.transaction.commit(&self.dir)
    }

    /// A change record for every targets role whose file this command rewrites.
    fn stage_change_records(&mut self) {
        let none = BTreeMap::new();
        let mut records = Vec::new();
        for (role, md) in &self.targets {
            let Some(bytes) =
                self.transaction.staged(&PathBuf::from(format!("{}/{}", layout::METADATA, role.file_name())))
            else {
                continue;
            };
            let to_sha256 = sha256_hex(bytes);
            let loaded = self.loaded.get(role);
            if loaded.is_some_and(|l| l.sha256 == to_sha256) {
                continue;
            }
            let placed = match loaded.map(|l| &l.targets) {
                Some(Some(old)) => crate::changes::placed(old, &md.signed.targets),
                Some(None) => Some(BTreeMap::new()), // only its version and expiry changed
                None => crate::changes::placed(&none, &md.signed.targets),
            };
            let from = loaded.map(|l| (l.version, l.sha256.clone()));
            let record = crate::changes::ChangeRecord { from, to_sha256, placed };
            records.push((crate::changes::path(role, md.signed.common.version), record.to_bytes()));
        }
        for (path, bytes) in records {
            self.transaction.write(path, bytes);
        }
    }

    /// The expiry of every role a client checks, by the name it fetches it under.
    fn expiries(&self) -> BTreeMap<String, UtcTime> {
        let consistent = self.root.signed.consistent_snapshot();
        let root = (format!("{}.root.json", self.root.signed.common.version), self.root.signed.common.expires);
        let roles = self
            .targets
            .iter()
            .map(|(role, md)| (published_name(role, md.signed.common.version, consistent), md.signed.common.expires));
        let snapshot = &self.snapshot.signed.common;
        let timestamp = &self.timestamp.signed.common;
        std::iter::once(root)
            .chain(roles)
            .chain([
                (published_name(&RoleName::snapshot(), snapshot.version, consistent), snapshot.expires),
                ("timestamp.json".to_string(), timestamp.expires),
            ])
            .collect()
    }

    /// Verifies the state as loaded before it is published: as a client would, unless
    /// the signed record of the last verification covers every file of it, in which case
    /// only expiry can have changed since.
    pub fn verify_to_publish(&self) -> Result<(), Error> {
        let files = crate::verify::state_files(self)?;
        match &self.verified {
            Some(record) if record.covers_all(&files) => crate::verify::check_expiry(self),
            _ => crate::verify::verify_state_files(&files, self.now).map(|_| ()),
        }
    }

    fn audit_source(&self) -> KeySource {
        KeySource::parse(&self.config.audit_key, &self.dir)
    }

    /// Every root version, oldest first, as signed bytes.
    pub fn root_history(&self) -> Result<Vec<(Version, Vec<u8>)>, Error> {
        let dir = self.dir.join(layout::ROOTS);
        let mut roots = Vec::new();
        let mut version = Version::ONE;
        loop {
            let path = dir.join(format!("{version}.root.json"));
            match std::fs::read(&path) {
                Ok(bytes) => roots.push((version, bytes)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                Err(e) => return Err(Error::io(&path, e)),
            }
            version = version.next().ok_or_else(|| Error::Corrupt("root version overflow".into()))?;
        }
        // Staged but not yet committed roots come from memory.
        if roots.last().map(|(v, _)| *v) != Some(self.root.signed.common.version) {
            roots.push((self.root.signed.common.version, pretty(&self.root)));
        }
        Ok(roots)
    }

    /// A metadata file (`snapshot.json`, `targets.json`, `bins-3.json`...) as the
    /// repository will hold it once this command commits: the bytes staged, else the file
    /// as loaded (nothing changes it outside a transaction while the lock is held), else
    /// `encode()`. Saves encoding a large targets role again only to verify or publish it.
    pub fn metadata_file(&self, name: &str, encode: impl FnOnce() -> Vec<u8>) -> Vec<u8> {
        let rel = PathBuf::from(format!("{}/{name}", layout::METADATA));
        if let Some(bytes) = self.transaction.staged(&rel) {
            return bytes.to_vec();
        }
        std::fs::read(self.dir.join(&rel)).unwrap_or_else(|_| encode())
    }

    /// The bytes of `role`'s current metadata, as saved.
    pub fn targets_bytes(&self, role: &RoleName) -> Option<Vec<u8>> {
        self.targets.get(role).map(pretty)
    }

    /// The content store of target files.
    pub fn store(&self) -> crate::store::ContentStore {
        crate::store::ContentStore::new(self.dir.join(layout::TARGETS))
    }
}

/// The authority `root` gives a top-level role.
pub fn authority_of(root: &Root, kind: MetadataType) -> RoleAuthority<'_> {
    let keys = root.role(kind);
    RoleAuthority { keys: &root.keys, keyids: &keys.keyids, threshold: keys.threshold }
}

/// A listing of a metadata file: version, length and SHA-256.
pub fn listing(version: Version, bytes: &[u8]) -> MetaFile {
    let mut meta = MetaFile::new(version);
    meta.length = Some(bytes.len() as u64);
    meta.hashes = Hashes::new(vec![digest::digest(HashAlgorithm::Sha256, bytes)]);
    meta
}

fn bump(version: &mut Version) -> Result<(), Error> {
    *version = version.next().ok_or_else(|| Error::Corrupt("version overflow".into()))?;
    Ok(())
}

/// The SHA-256 of the canonical bytes of a signed document, in hex (for the audit log).
pub fn signed_hash<T: Encode>(signed: &Signed<T>) -> String {
    hex::encode(&digest::sha256(&signed.canonical_signed()))
}
