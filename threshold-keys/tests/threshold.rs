//! THE threshold check, one test per rule.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use metadata_schemas::{Key, KeyId, Signature, Threshold, UnknownFields};
use threshold_keys::{KeyAlgorithm, KeyFileSigner, KeyProblem, RoleAuthority, Signer, check_threshold};

const MESSAGE: &[u8] = b"{\"_type\":\"targets\"}";

fn signers() -> &'static [KeyFileSigner; 3] {
    static SIGNERS: OnceLock<[KeyFileSigner; 3]> = OnceLock::new();
    SIGNERS.get_or_init(|| {
        [
            KeyFileSigner::generate(KeyAlgorithm::Ed25519).unwrap(),
            KeyFileSigner::generate(KeyAlgorithm::EcdsaP256).unwrap(),
            KeyFileSigner::generate(KeyAlgorithm::Ed25519).unwrap(),
        ]
    })
}

struct Case {
    keys: BTreeMap<KeyId, Key>,
    keyids: Vec<KeyId>,
}

impl Case {
    /// All three keys, listed and authorized under their default ids.
    fn three() -> Self {
        let mut case = Case { keys: BTreeMap::new(), keyids: Vec::new() };
        for s in signers() {
            case.list(s.key_id().clone(), s.public_key().clone());
        }
        case
    }

    fn list(&mut self, id: KeyId, key: Key) {
        self.keys.insert(id.clone(), key);
        self.keyids.push(id);
    }

    fn check(&self, threshold: u64, signatures: &[Signature]) -> threshold_keys::ThresholdReport {
        let authority =
            RoleAuthority { keys: &self.keys, keyids: &self.keyids, threshold: Threshold::new(threshold).unwrap() };
        check_threshold(authority, signatures, MESSAGE)
    }
}

fn sig(i: usize) -> Signature {
    signers()[i].sign(MESSAGE).unwrap()
}

fn renamed(mut s: Signature, id: &str) -> Signature {
    s.keyid = KeyId::new(id);
    s
}

#[test]
fn threshold_met_by_distinct_valid_signatures() {
    let report = Case::three().check(2, &[sig(0), sig(1)]);
    assert!(report.is_met());
    assert_eq!(report.signed.len(), 2);
    assert_eq!(report.missing, vec![signers()[2].key_id().clone()]);
}

#[test]
fn threshold_not_met_reports_missing_keys() {
    let report = Case::three().check(3, &[sig(0), sig(1)]);
    assert!(!report.is_met());
    assert_eq!(report.to_string(), format!("2 of 3 signatures, missing key {}..", signers()[2].key_id().short()));
}

#[test]
fn duplicate_signatures_by_one_key_count_once() {
    let report = Case::three().check(2, &[sig(0), sig(0), sig(0)]);
    assert_eq!(report.signed.len(), 1);
    assert!(!report.is_met());
}

#[test]
fn one_key_listed_under_two_key_ids_counts_once() {
    let mut case = Case::three();
    case.list(KeyId::new("alias-of-key-0"), signers()[0].public_key().clone());
    let report = case.check(2, &[sig(0), renamed(sig(0), "alias-of-key-0")]);
    assert!(!report.is_met(), "{report}");
    assert_eq!(report.signed, vec![signers()[0].key_id().clone()]);
    assert_eq!(report.aliases, vec![(KeyId::new("alias-of-key-0"), signers()[0].key_id().clone())]);
}

#[test]
fn alias_with_valid_signature_counts_when_first_id_has_none() {
    let mut case = Case::three();
    case.list(KeyId::new("alias-of-key-1"), signers()[1].public_key().clone());
    let report = case.check(1, &[renamed(sig(1), "alias-of-key-1")]);
    assert!(report.is_met());
    assert_eq!(report.signed, vec![KeyId::new("alias-of-key-1")]);
}

#[test]
fn same_key_in_another_encoding_is_the_same_key() {
    // python-tuf's legacy spelling of the ECDSA key type is still the same key.
    let mut case = Case::three();
    let mut legacy = signers()[1].public_key().clone();
    legacy.keytype = "ecdsa-sha2-nistp256".into();
    case.list(KeyId::new("legacy-spelling"), legacy);
    let report = case.check(2, &[sig(1), renamed(sig(1), "legacy-spelling")]);
    assert_eq!(report.signed.len(), 1, "{report}");
}

#[test]
fn signatures_by_unknown_key_ids_are_ignored() {
    let report = Case::three().check(1, &[renamed(sig(0), "not-a-role-key")]);
    assert!(report.signed.is_empty());
    assert!(!report.is_met());
}

#[test]
fn signature_by_a_key_not_authorized_for_the_role_is_ignored() {
    let mut case = Case::three();
    case.keyids.retain(|id| id != signers()[2].key_id()); // listed in keys, not authorized
    let report = case.check(1, &[sig(2)]);
    assert!(!report.is_met());
}

#[test]
fn unsupported_scheme_is_ignored_not_fatal() {
    let mut case = Case::three();
    case.list(KeyId::new("future-key"), Key::new("ml-dsa", "ml-dsa-65", "00".into()));
    let report = case.check(1, &[sig(0), renamed(sig(1), "future-key")]);
    assert!(report.is_met());
    assert!(matches!(report.unusable[0].1, KeyProblem::Key(threshold_keys::KeyError::UnsupportedScheme { .. })));
}

#[test]
fn key_id_missing_from_key_table_is_reported() {
    let mut case = Case::three();
    case.keyids.push(KeyId::new("dangling"));
    let report = case.check(1, &[sig(0)]);
    assert!(report.is_met());
    assert_eq!(report.unusable, vec![(KeyId::new("dangling"), KeyProblem::NotListed)]);
    assert!(report.to_string().contains("dangling.. unusable: not in the key table"), "{report}");
}

#[test]
fn invalid_empty_and_non_hex_signatures_do_not_count() {
    let mut wrong_message = signers()[0].sign(b"other bytes").unwrap();
    wrong_message.keyid = signers()[0].key_id().clone();
    let empty =
        Signature { keyid: signers()[1].key_id().clone(), sig: String::new(), unknown: UnknownFields::default() };
    let not_hex =
        Signature { keyid: signers()[2].key_id().clone(), sig: "zz".into(), unknown: UnknownFields::default() };
    let report = Case::three().check(1, &[wrong_message, empty, not_hex]);
    assert!(report.signed.is_empty());
    assert_eq!(report.missing.len(), 3);
}

#[test]
fn wrong_key_type_signature_does_not_count() {
    // An Ed25519 signature filed under the ECDSA key's id.
    let report = Case::three().check(1, &[renamed(sig(0), signers()[1].key_id().as_str())]);
    assert!(!report.is_met());
}

#[test]
fn threshold_above_key_count_is_never_met() {
    let report = Case::three().check(4, &[sig(0), sig(1), sig(2)]);
    assert_eq!(report.signed.len(), 3);
    assert!(!report.is_met());
}
