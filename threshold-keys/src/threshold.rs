//! THE threshold check. Every role, top-level or delegated, TUF or Uptane, and every
//! ceremony status line goes through [`check_threshold`].

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::fmt;

use metadata_schemas::{Key, KeyId, Signature, Threshold};

use crate::{KeyError, PublicKey, SignatureError};

/// Who may sign a role: the delegator's key table, the role's key ids and threshold.
#[derive(Clone, Copy, Debug)]
pub struct RoleAuthority<'a> {
    /// The keys the delegator lists (root's `keys`, or a `delegations.keys`).
    pub keys: &'a BTreeMap<KeyId, Key>,
    /// Key ids authorized for the role.
    pub keyids: &'a [KeyId],
    /// How many distinct keys must sign.
    pub threshold: Threshold,
}

/// What the threshold check found. A client treats it as pass/fail with
/// [`ThresholdReport::is_met`]; a ceremony tool prints it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThresholdReport {
    /// Distinct keys required.
    pub threshold: u64,
    /// One key id per distinct key with a valid signature.
    pub signed: Vec<KeyId>,
    /// Authorized, usable keys without a valid signature.
    pub missing: Vec<KeyId>,
    /// Authorized key ids that cannot verify anything, and why.
    pub unusable: Vec<(KeyId, KeyProblem)>,
    /// Key ids naming a key already counted (or missed) under another id: `(alias, id)`.
    pub aliases: Vec<(KeyId, KeyId)>,
}

/// Why an authorized key id does not count.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyProblem {
    /// The key id is not in the delegator's key table.
    NotListed,
    /// The key entry cannot be used (unsupported scheme, malformed, weak).
    Key(KeyError),
    /// This build's crypto backend cannot verify the key type.
    UnsupportedByBackend,
}

impl ThresholdReport {
    /// Whether at least `threshold` distinct keys signed.
    pub fn is_met(&self) -> bool {
        self.signed.len() as u64 >= self.threshold
    }
}

/// [`check_threshold`] for one key alone (threshold 1): a document one key signs, such
/// as an ECU's version report, a director time attestation or an audit log head.
pub fn check_signed_by(keyid: &KeyId, key: &Key, signatures: &[Signature], message: &[u8]) -> ThresholdReport {
    let keys: BTreeMap<KeyId, Key> = [(keyid.clone(), key.clone())].into_iter().collect();
    let keyids = [keyid.clone()];
    let authority = RoleAuthority { keys: &keys, keyids: &keyids, threshold: Threshold::new(1).expect("1") };
    check_threshold(authority, signatures, message)
}

/// Counts the distinct authorized keys with a valid signature over `message`.
///
/// Signatures by key ids the role does not authorize are ignored; an invalid or
/// malformed signature just does not count; keys of unsupported schemes are reported as
/// unusable; a key listed under several key ids counts once.
pub fn check_threshold(authority: RoleAuthority<'_>, signatures: &[Signature], message: &[u8]) -> ThresholdReport {
    let mut report = ThresholdReport {
        threshold: authority.threshold.get(),
        signed: Vec::new(),
        missing: Vec::new(),
        unusable: Vec::new(),
        aliases: Vec::new(),
    };
    // Authorized key ids grouped by key material, in the order first listed.
    let mut groups: Vec<(PublicKey, Vec<&KeyId>)> = Vec::new();
    for keyid in authority.keyids {
        let Some(entry) = authority.keys.get(keyid) else {
            report.unusable.push((keyid.clone(), KeyProblem::NotListed));
            continue;
        };
        match PublicKey::from_metadata(entry) {
            Ok(key) => match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, ids)) => ids.push(keyid),
                None => groups.push((key, alloc::vec![keyid])),
            },
            Err(problem) => report.unusable.push((keyid.clone(), KeyProblem::Key(problem))),
        }
    }
    for (key, ids) in groups {
        let mut counted: Option<&KeyId> = None;
        for id in &ids {
            let Some(signature) = signatures.iter().find(|s| &s.keyid == *id) else {
                continue;
            };
            match key.verify_hex(message, &signature.sig) {
                Ok(()) => {
                    counted = Some(id);
                    break;
                }
                Err(SignatureError::UnsupportedByBackend) => {
                    report.unusable.push(((*id).clone(), KeyProblem::UnsupportedByBackend));
                    break;
                }
                Err(_) => {}
            }
        }
        let named = counted.unwrap_or(ids[0]);
        match counted {
            Some(id) => report.signed.push(id.clone()),
            None if report.unusable.iter().any(|(u, _)| u == named) => {}
            None => report.missing.push(named.clone()),
        }
        report.aliases.extend(ids.iter().filter(|id| **id != named).map(|id| ((*id).clone(), named.clone())));
    }
    report
}

impl fmt::Display for ThresholdReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let signed = self.signed.len() as u64;
        if signed > self.threshold {
            write!(f, "{signed} signatures, threshold {}", self.threshold)?;
        } else {
            write!(f, "{signed} of {} signatures", self.threshold)?;
        }
        if !self.missing.is_empty() {
            f.write_str(", missing key")?;
            for (i, id) in self.missing.iter().enumerate() {
                write!(f, "{} {}..", if i == 0 { "" } else { "," }, id.short())?;
            }
        }
        for (id, problem) in &self.unusable {
            write!(f, "; key {}.. unusable: ", id.short())?;
            match problem {
                KeyProblem::NotListed => f.write_str("not in the key table")?,
                KeyProblem::Key(e) => write!(f, "{e}")?,
                KeyProblem::UnsupportedByBackend => f.write_str("not supported by this build's crypto backend")?,
            }
        }
        Ok(())
    }
}
