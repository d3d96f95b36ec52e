//! The director's audit log checked as an assessor would: every entry's hash recomputed
//! over the one before it and its own fields, and every entry naming the hash of the one
//! before. A pure function over entries; the dashboard and `GET /audit` read them.

use crate::store::AuditEntry;

/// The hash the first entry follows (the head of an empty log).
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Where the chain is broken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Break {
    /// An entry's hash is not the hash of its fields (it was edited).
    Hash {
        /// Its position.
        seq: i64,
    },
    /// An entry does not name the hash of the one before (one was removed or inserted).
    Link {
        /// Its position.
        seq: i64,
    },
    /// Positions do not follow each other.
    Gap {
        /// The position expected.
        expected: i64,
        /// The one found.
        found: i64,
    },
}

impl std::fmt::Display for Break {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Break::Hash { seq } => write!(f, "entry {seq}'s hash is not the hash of its contents: it was changed"),
            Break::Link { seq } => {
                write!(f, "entry {seq} does not follow from entry {}: one is missing or added", seq - 1)
            }
            Break::Gap { expected, found } => write!(f, "entry {found} follows where entry {expected} should"),
        }
    }
}

/// Checks `entries` (in order) as the continuation of a chain whose last entry was `seq`
/// with `hash` (0 and the genesis hash for the start); the last entry checked.
pub fn verify(mut seq: i64, mut hash: String, entries: &[AuditEntry]) -> Result<(i64, String), Break> {
    for e in entries {
        if e.seq != seq + 1 {
            return Err(Break::Gap { expected: seq + 1, found: e.seq });
        }
        if e.prev_hash != hash {
            return Err(Break::Link { seq: e.seq });
        }
        if AuditEntry::compute_hash(&e.prev_hash, e.seq, e.time, &e.actor, &e.action, &e.detail) != e.hash {
            return Err(Break::Hash { seq: e.seq });
        }
        (seq, hash) = (e.seq, e.hash.clone());
    }
    Ok((seq, hash))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<AuditEntry> {
        let mut prev = GENESIS.to_string();
        (1..=n)
            .map(|seq| {
                let (actor, action, detail) = ("admin:alice".to_string(), "x".to_string(), format!("{{\"n\":{seq}}}"));
                let hash = AuditEntry::compute_hash(&prev, seq, 100 + seq, &actor, &action, &detail);
                let e = AuditEntry { seq, time: 100 + seq, actor, action, detail, prev_hash: prev.clone(), hash };
                prev = e.hash.clone();
                e
            })
            .collect()
    }

    #[test]
    fn an_untouched_chain_verifies_in_one_piece_or_in_windows() {
        let entries = chain(10);
        assert_eq!(verify(0, GENESIS.into(), &entries).map(|(s, _)| s), Ok(10));
        let (seq, hash) = verify(0, GENESIS.into(), &entries[..4]).unwrap();
        assert_eq!(verify(seq, hash, &entries[4..]).map(|(s, _)| s), Ok(10));
    }

    #[test]
    fn an_edited_removed_or_reordered_entry_is_found_and_named() {
        let mut edited = chain(5);
        edited[2].detail = "{\"n\":99}".into();
        assert_eq!(verify(0, GENESIS.into(), &edited), Err(Break::Hash { seq: 3 }));
        let mut removed = chain(5);
        removed.remove(2);
        assert_eq!(verify(0, GENESIS.into(), &removed), Err(Break::Gap { expected: 3, found: 4 }));
        let mut relinked = chain(5);
        relinked[3].prev_hash = relinked[1].hash.clone();
        assert_eq!(verify(0, GENESIS.into(), &relinked), Err(Break::Link { seq: 4 }));
        let mut rehashed = chain(5);
        let e = &mut rehashed[2];
        e.detail = "{}".into();
        e.hash = AuditEntry::compute_hash(&e.prev_hash, e.seq, e.time, &e.actor, &e.action, &e.detail);
        assert_eq!(
            verify(0, GENESIS.into(), &rehashed),
            Err(Break::Link { seq: 4 }),
            "an edit re-hashed breaks the next link"
        );
    }
}
