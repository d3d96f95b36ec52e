//! What the last command verified: the SHA-256 of every metadata file of the state it
//! checked as a client would, signed by the audit key that root names (`x-audit-key`).
//! A later command that finds the same bytes, under a `root.json` that is itself among
//! them, need not check their signatures again, nor `publish` verify them again: an edit
//! by anyone without the audit key changes a hash, and the full check comes back.

use std::collections::BTreeMap;
use std::path::Path;

use metadata_schemas::decode::{Decode, Encode, ObjectBuilder, UnknownFields, as_object, optional, required};
use metadata_schemas::json::{self, Value};
use metadata_schemas::{DecodeError, Envelope, Root, Signed, UtcTime, hex};
use threshold_keys::{Signer, check_signed_by, digest};

use crate::Error;
use crate::transaction::Transaction;

/// The record, relative to the repository directory.
pub const FILE: &str = "verified.json";

/// Published file name (`3.root.json`, `7.targets.json`, `timestamp.json`) to SHA-256,
/// and the expiry of each role a client checks (the current root, every targets role,
/// snapshot and timestamp) by the same names, so `publish` can check expiry unparsed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VerifiedState {
    files: BTreeMap<String, String>,
    expires: BTreeMap<String, UtcTime>,
}

/// SHA-256 in hex, as the record keeps it.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(&digest::sha256(bytes))
}

impl VerifiedState {
    /// The record of `files`, the state just verified, by published name.
    pub fn of(files: &BTreeMap<String, Vec<u8>>) -> Self {
        let files = files.iter().map(|(name, bytes)| (name.clone(), sha256_hex(bytes))).collect();
        VerifiedState { files, expires: BTreeMap::new() }
    }

    /// The record, with each checked role's expiry by published name.
    pub fn with_expiries(mut self, expires: BTreeMap<String, UtcTime>) -> Self {
        self.expires = expires;
        self
    }

    /// The expiries recorded, by published name (empty in records older than them).
    pub fn expiries(&self) -> &BTreeMap<String, UtcTime> {
        &self.expires
    }

    /// Whether the file `name` as verified has SHA-256 `hash` (hex).
    pub fn covers_sha256(&self, name: &str, hash: &str) -> bool {
        self.files.get(name).is_some_and(|h| h == hash)
    }

    /// How many files the record covers.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether the record covers no file.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Whether `bytes` are the file `name` as verified.
    pub fn covers(&self, name: &str, bytes: &[u8]) -> bool {
        self.files.get(name).is_some_and(|hash| *hash == sha256_hex(bytes))
    }

    /// Whether every one of `files` is as verified, and no other file was.
    pub fn covers_all(&self, files: &BTreeMap<String, Vec<u8>>) -> bool {
        files.len() == self.files.len() && files.iter().all(|(name, bytes)| self.covers(name, bytes))
    }

    /// Stages the record, signed by the audit key.
    pub fn stage(&self, key: &dyn Signer, transaction: &mut Transaction) -> Result<(), Error> {
        let mut signed = Signed::unsigned(self.clone());
        let message = signed.canonical_signed();
        signed.signatures.push(key.sign(&message).map_err(|e| Error::Key(format!("audit key: {e}")))?);
        let mut bytes = signed.to_pretty_json();
        bytes.push(b'\n');
        transaction.write(FILE, bytes);
        Ok(())
    }

    /// The record in `dir`, if there is one signed by the audit key `root` names, and it
    /// covers `root_bytes` as that root's version: else `None` (check everything).
    pub fn load(dir: &Path, root: &Root, root_bytes: &[u8]) -> Option<Self> {
        let bytes = std::fs::read(dir.join(FILE)).ok()?;
        let envelope = Envelope::parse(&bytes).ok()?;
        let (id, key) = crate::audit::audit_key_of(root).ok()?;
        check_signed_by(&id, &key, &envelope.signatures, &envelope.canonical_signed()).is_met().then_some(())?;
        let state: VerifiedState = envelope.decode_signed().ok()?;
        state.covers(&format!("{}.root.json", root.common.version), root_bytes).then_some(state)
    }
}

impl Encode for VerifiedState {
    fn encode(&self) -> Value<'_> {
        let files = self.files.iter().map(|(name, hash)| (name.as_str().into(), Value::string(hash.as_str())));
        ObjectBuilder::new()
            .field("_type", Value::string("verified-state"))
            .field("files", Value::Object(files.collect()))
            .field("expires", self.expires.encode())
            .finish(const { &UnknownFields(json::Object::new()) })
    }
}

impl Decode for VerifiedState {
    fn decode(value: &Value<'_>) -> Result<Self, DecodeError> {
        let o = as_object(value)?;
        let expires = optional(o, "expires")?.unwrap_or_default();
        Ok(VerifiedState { files: required(o, "files")?, expires })
    }
}
