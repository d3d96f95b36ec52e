//! The audit log: every signing event and metadata change, appended as one canonical
//! JSON line with the SHA-256 of the line before it, and a head naming the last entry,
//! signed by the audit key that root lists (`x-audit-key`). An edited, removed or
//! reordered entry breaks the chain; a truncated log no longer matches the head.

use std::path::Path;

use chrono::{DateTime, Utc};
use metadata_schemas::decode::{Decode, Encode, ObjectBuilder, UnknownFields, as_object, optional, required};
use metadata_schemas::json::{self, Value};
use metadata_schemas::{DecodeError, Key, KeyId, Signed, UtcTime, Version, hex};
use threshold_keys::{Signer, check_signed_by, digest};

use crate::Error;
use crate::repository::signed_hash;
use crate::transaction::Transaction;

/// The log and its head, relative to the repository directory.
pub const LOG: &str = "audit/log.jsonl";
/// The signed head.
pub const HEAD: &str = "audit/head.json";
/// The root field naming the audit key.
pub const ROOT_FIELD: &str = "x-audit-key";

/// One thing that happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEvent {
    /// What: `sign`, `init`, `add-target`, `rotate-keys`, `apply-proposal`, `publish`...
    pub action: String,
    /// The role it concerns.
    pub role: Option<String>,
    /// The role's version.
    pub version: Option<u64>,
    /// Keys that signed.
    pub keyids: Vec<KeyId>,
    /// SHA-256 of the canonical signed bytes.
    pub signed_sha256: Option<String>,
    /// A human-readable detail.
    pub detail: Option<String>,
    /// Who did it: `user@host` for a command run on the repository, `key <id>` for a
    /// key holder's signature made off-repo (filled in when the entry is written).
    pub actor: Option<String>,
    /// When a key holder signed off-repo, as their signature file says (`signed_at`,
    /// written by `repo-tool sign`; the holder's clock, not covered by the signature).
    pub signed_at: Option<UtcTime>,
}

impl AuditEvent {
    /// A signing event.
    pub fn signed<T: Encode>(role: &str, version: Version, signed: &Signed<T>) -> Self {
        Self::signed_message(role, version, &signed.signatures, &signed.canonical_signed())
    }

    /// A signing event over `message`, the canonical bytes signed (saves encoding a large
    /// role again only to hash it).
    pub fn signed_message(
        role: &str,
        version: Version,
        signatures: &[metadata_schemas::Signature],
        message: &[u8],
    ) -> Self {
        AuditEvent {
            action: "sign".into(),
            role: Some(role.into()),
            version: Some(version.get()),
            keyids: signatures.iter().map(|s| s.keyid.clone()).collect(),
            signed_sha256: Some(hex::encode(&digest::sha256(message))),
            detail: None,
            actor: None,
            signed_at: None,
        }
    }

    /// One key holder's signature, made off-repo and merged into a proposal.
    pub fn holder_signature<T: Encode>(role: &str, version: Version, keyid: &KeyId, signed: &Signed<T>) -> Self {
        let signed_at = signed.signatures.iter().find(|s| s.keyid == *keyid).and_then(signing_time);
        AuditEvent {
            action: "holder-signature".into(),
            role: Some(role.into()),
            version: Some(version.get()),
            keyids: vec![keyid.clone()],
            signed_sha256: Some(signed_hash(signed)),
            detail: Some(match &signed_at {
                Some(time) => format!("signed off-repo by the holder of key {} at {time}", keyid.short()),
                None => format!("signed off-repo by the holder of key {}", keyid.short()),
            }),
            actor: Some(format!("key {keyid}")),
            signed_at,
        }
    }

    /// Any other change, described.
    pub fn note(action: &str, detail: impl Into<String>) -> Self {
        AuditEvent {
            action: action.into(),
            role: None,
            version: None,
            keyids: Vec::new(),
            signed_sha256: None,
            detail: Some(detail.into()),
            actor: None,
            signed_at: None,
        }
    }
}

/// The field of a signature object in which `repo-tool sign` records when it signed.
pub const SIGNED_AT: &str = "signed_at";

/// The time a holder's signature says it was made, if it says so in a form that parses.
pub fn signing_time(signature: &metadata_schemas::Signature) -> Option<UtcTime> {
    signature.unknown.0.get(SIGNED_AT).and_then(|v| UtcTime::decode(v).ok())
}

/// One line of the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Position, from 1.
    pub seq: u64,
    /// When.
    pub time: UtcTime,
    /// What.
    pub event: AuditEvent,
    /// SHA-256 (hex) of the previous line; 64 zeros for the first.
    pub prev: String,
}

impl Decode for Entry {
    fn decode(value: &Value<'_>) -> Result<Self, DecodeError> {
        let o = as_object(value)?;
        Ok(Entry {
            seq: required(o, "seq")?,
            time: required(o, "time")?,
            prev: required(o, "prev")?,
            event: AuditEvent {
                action: required(o, "action")?,
                role: optional(o, "role")?,
                version: optional(o, "version")?,
                keyids: required(o, "keyids")?,
                signed_sha256: optional(o, "signed_sha256")?,
                detail: optional(o, "detail")?,
                actor: optional(o, "actor")?,
                signed_at: optional(o, "signed_at")?,
            },
        })
    }
}

impl Encode for Entry {
    fn encode(&self) -> Value<'_> {
        let e = &self.event;
        ObjectBuilder::new()
            .field("seq", Value::unsigned(self.seq))
            .field("time", self.time.encode())
            .field("prev", self.prev.encode())
            .field("action", e.action.encode())
            .optional("role", &e.role)
            .optional("version", &e.version)
            .field("keyids", e.keyids.encode())
            .optional("signed_sha256", &e.signed_sha256)
            .optional("detail", &e.detail)
            .optional("actor", &e.actor)
            .optional("signed_at", &e.signed_at)
            .finish(const { &UnknownFields(json::Object::new()) })
    }
}

/// The head: the last entry's position and hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    /// The last entry's `seq`.
    pub seq: u64,
    /// SHA-256 of the last line.
    pub entry_sha256: String,
}

impl Decode for Head {
    fn decode(value: &Value<'_>) -> Result<Self, DecodeError> {
        let o = as_object(value)?;
        Ok(Head { seq: required(o, "seq")?, entry_sha256: required(o, "entry_sha256")? })
    }
}

impl Encode for Head {
    fn encode(&self) -> Value<'_> {
        ObjectBuilder::new()
            .field("_type", Value::string("audit-head"))
            .field("seq", Value::unsigned(self.seq))
            .field("entry_sha256", self.entry_sha256.encode())
            .finish(const { &UnknownFields(json::Object::new()) })
    }
}

fn line_hash(line: &str) -> String {
    hex::encode(&digest::sha256(line.as_bytes()))
}

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who runs this command: `user@host` (the login name from `USER` or `LOGNAME`).
pub fn operator() -> String {
    let user = std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| "unknown".into());
    let host = rustix::system::uname().nodename().to_string_lossy().into_owned();
    format!("{user}@{host}")
}

/// The log of one repository.
pub struct AuditLog {
    text: String,
    seq: u64,
    last_hash: String,
}

impl AuditLog {
    /// Opens the log (an absent log is empty).
    pub fn open(dir: &Path) -> Result<Self, Error> {
        let path = dir.join(LOG);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(Error::io(&path, e)),
        };
        let (seq, last_hash) = match text.lines().last() {
            Some(line) => (text.lines().count() as u64, line_hash(line)),
            None => (0, GENESIS.to_string()),
        };
        Ok(AuditLog { text, seq, last_hash })
    }

    /// Stages `events` as new entries and a new head signed by `key` (an offline audit
    /// key leaves the head for `audit sign`).
    pub fn stage(
        mut self,
        events: &[AuditEvent],
        key: Option<&dyn Signer>,
        now: DateTime<Utc>,
        transaction: &mut Transaction,
    ) -> Result<(), Error> {
        if events.is_empty() {
            return Ok(());
        }
        let operator = operator();
        for event in events {
            self.seq += 1;
            let mut event = event.clone();
            event.actor.get_or_insert_with(|| operator.clone());
            let entry = Entry { seq: self.seq, time: UtcTime::new(now), event, prev: self.last_hash.clone() };
            let line = String::from_utf8(json::to_canonical(&entry.encode()))
                .map_err(|_| Error::Corrupt("audit entry".into()))?;
            self.last_hash = line_hash(&line);
            self.text.push_str(&line);
            self.text.push('\n');
        }
        transaction.write(LOG, std::mem::take(&mut self.text).into_bytes());
        if let Some(key) = key {
            let head = Head { seq: self.seq, entry_sha256: self.last_hash.clone() };
            let mut signed = Signed::unsigned(head);
            let message = signed.canonical_signed();
            signed.signatures.push(key.sign(&message).map_err(|e| Error::Key(format!("audit key: {e}")))?);
            let mut bytes = signed.to_pretty_json();
            bytes.push(b'\n');
            transaction.write(HEAD, bytes);
        }
        Ok(())
    }
}

/// What `audit verify` found.
#[derive(Debug, PartialEq, Eq)]
pub struct Verified {
    /// Entries checked.
    pub entries: u64,
}

/// Checks the chain of `dir`'s log and its head's signature by `audit_key`.
pub fn verify(dir: &Path, audit_key: (&KeyId, &Key)) -> Result<Verified, Error> {
    let bad = |what: String| Error::Corrupt(format!("audit log: {what}"));
    let log_path = dir.join(LOG);
    let text = std::fs::read_to_string(&log_path).map_err(|e| Error::io(&log_path, e))?;
    let mut prev = GENESIS.to_string();
    let mut count = 0u64;
    for (i, line) in text.lines().enumerate() {
        let value = json::parse(line.as_bytes()).map_err(|e| bad(format!("line {}: {e}", i + 1)))?;
        let entry = Entry::decode(&value).map_err(|e| bad(format!("line {}: {e}", i + 1)))?;
        if json::to_canonical(&entry.encode()) != line.as_bytes() {
            return Err(bad(format!("line {} is not in canonical form (edited?)", i + 1)));
        }
        if entry.seq != i as u64 + 1 {
            return Err(bad(format!("line {} has seq {} (entries removed or reordered)", i + 1, entry.seq)));
        }
        if entry.prev != prev {
            return Err(bad(format!(
                "line {} does not follow the line before it (edited, removed or reordered)",
                i + 1
            )));
        }
        prev = line_hash(line);
        count += 1;
    }
    let head_path = dir.join(HEAD);
    let bytes = std::fs::read(&head_path).map_err(|e| Error::io(&head_path, e))?;
    let envelope =
        metadata_schemas::Envelope::parse(&bytes).map_err(|source| Error::Metadata { file: HEAD.into(), source })?;
    let report = check_signed_by(audit_key.0, audit_key.1, &envelope.signatures, &envelope.canonical_signed());
    if !report.is_met() {
        return Err(bad(format!("head is not signed by the audit key: {report}")));
    }
    let head: Head = envelope.decode_signed().map_err(|e| bad(format!("head: {e}")))?;
    if head.seq != count || head.entry_sha256 != prev {
        return Err(bad(format!(
            "the signed head names entry {} but the log has {count} (truncated or appended)",
            head.seq
        )));
    }
    Ok(Verified { entries: count })
}

/// The audit key named by the root `trusted` leads to in a published tree: from that
/// root (a client's trust anchor), through every `N.root.json` published after it, each
/// checked as a client checks a root update.
pub fn published_audit_key(published: &Path, trusted: &[u8]) -> Result<(KeyId, Key), Error> {
    let mut set = update_verifier::TrustedSet::new(trusted, Utc::now(), crate::verify::limits())?;
    loop {
        let next = set.root().version().get() + 1;
        let path = published.join(format!("metadata/{next}.root.json"));
        match std::fs::read(&path) {
            Ok(bytes) => set.update_root(&bytes)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
            Err(e) => return Err(Error::io(&path, e)),
        };
    }
    audit_key_of(set.root())
}

/// The audit key a root names in its `x-audit-key` field.
pub fn audit_key_of(root: &metadata_schemas::Root) -> Result<(KeyId, Key), Error> {
    let field = root.unknown.get(ROOT_FIELD).and_then(Value::as_object).and_then(|o| o.iter().next());
    let (id, key) = field.ok_or_else(|| Error::Corrupt(format!("root has no {ROOT_FIELD}")))?;
    let key = Key::decode(key).map_err(|e| Error::Corrupt(format!("{ROOT_FIELD}: {e}")))?;
    Ok((KeyId::new(id), key))
}
