//! TUF 1.0.31 section 5, one test per check, named after the section and the attack.

mod common;

use common::{Client, later, now};
use metadata_schemas::{Hashes, MetaFile, RoleName, Version};
use repo_simulator::{RepoSim, clone_signer, expires_in, new_key};
use threshold_keys::Signer;
use update_verifier::{Authority, Error, Limits};

fn setup() -> (RepoSim, Client) {
    let sim = RepoSim::new(now());
    let client = Client::new(sim.file("1.root.json"));
    (sim, client)
}

fn v(n: u64) -> Version {
    Version::new(n).unwrap()
}

// --- 5.2 / 5.3: root ---

#[test]
fn tuf_5_2_trusted_root_must_be_signed_by_its_own_threshold() {
    let sim = RepoSim::new(now());
    let mut root = sim.root.clone();
    root.roles.root.threshold = metadata_schemas::Threshold::new(2).unwrap();
    let bytes = sim.sign(&RoleName::root(), &root);
    let err = Client::new(bytes).refresh(&sim.files, now()).unwrap_err();
    assert!(matches!(err, Error::Unsigned { ref role, .. } if role == &RoleName::root()), "{err}");
}

#[test]
fn tuf_5_3_4_new_root_needs_a_threshold_of_the_old_root_keys() {
    let (mut sim, mut client) = setup();
    // An attacker publishes root v2 signed only by keys of its own choosing.
    let attacker = new_key();
    sim.root.common.version = v(2);
    sim.root.keys.insert(attacker.key_id().clone(), Signer::public_key(&attacker).clone());
    sim.root.roles.root.keyids = vec![attacker.key_id().clone()];
    sim.files.insert("2.root.json".into(), RepoSim::sign_with(&sim.root, &[&attacker]));
    let err = client.refresh(&sim.files, now()).unwrap_err();
    assert!(matches!(err, Error::Unsigned { authority: Authority::TrustedRoot, .. }), "{err}");
    assert_eq!(client.cached_version("root.json"), Some(1), "the trusted root is unchanged");
}

#[test]
fn tuf_5_3_4_new_root_needs_a_threshold_of_its_own_keys() {
    let (mut sim, mut client) = setup();
    let new_keys = vec![new_key(), new_key()];
    let old = &sim.signers[&RoleName::root()];
    for s in &new_keys {
        sim.root.keys.insert(s.key_id().clone(), Signer::public_key(s).clone());
    }
    sim.root.roles.root.keyids = new_keys.iter().map(|s| s.key_id().clone()).collect();
    sim.root.roles.root.threshold = metadata_schemas::Threshold::new(2).unwrap();
    sim.root.common.version = v(2);
    // Signed by the old key and only one of the two new ones.
    let bytes = RepoSim::sign_with(&sim.root, &[&old[0], &new_keys[0]]);
    sim.files.insert("2.root.json".into(), bytes);
    let err = client.refresh(&sim.files, now()).unwrap_err();
    assert!(matches!(err, Error::Unsigned { authority: Authority::NewRoot, .. }), "{err}");
}

#[test]
fn tuf_5_3_5_root_version_must_be_exactly_n_plus_1() {
    let (mut sim, mut client) = setup();
    sim.publish_root(); // v2
    sim.publish_root(); // v3
    // Serve v3 under the name of v2 (rollback / skip).
    let v3 = sim.file("3.root.json");
    sim.files.insert("2.root.json".into(), v3);
    let err = client.refresh(&sim.files, now()).unwrap_err();
    assert_eq!(err, Error::RootVersion { expected: v(2), found: v(3) });
    assert!(err.to_string().contains("TUF 5.3.5"));
}

#[test]
fn tuf_5_3_8_each_verified_root_is_persisted_in_turn() {
    let (mut sim, mut client) = setup();
    for _ in 0..3 {
        sim.publish_root();
    }
    client.refresh(&sim.files, now()).unwrap();
    assert_eq!(client.cached_version("root.json"), Some(4));
    assert_eq!(&client.requests[..4], ["2.root.json", "3.root.json", "4.root.json", "5.root.json"]);
}

#[test]
fn tuf_5_3_3_root_rotation_stops_at_the_configured_maximum() {
    let (mut sim, mut client) = setup();
    for _ in 0..5 {
        sim.publish_root();
    }
    client.limits = Limits { max_root_rotations: 2, ..Limits::default() };
    client.refresh(&sim.files, now()).unwrap();
    assert_eq!(client.cached_version("root.json"), Some(3));
    assert!(!client.requests.contains(&"4.root.json".to_string()));
}

#[test]
fn tuf_5_3_10_expired_final_root_is_persisted_then_refused_as_freeze() {
    let (mut sim, mut client) = setup();
    sim.root.common.expires = expires_in(now(), -1);
    sim.publish_root();
    let err = client.refresh(&sim.files, now()).unwrap_err();
    assert!(matches!(err, Error::Expired { ref role, .. } if role == &RoleName::root()), "{err}");
    assert_eq!(client.cached_version("root.json"), Some(2), "verified root is persisted before the freeze check");
    assert!(!client.requests.contains(&"timestamp.json".to_string()));
}

#[test]
fn tuf_5_3_6_expired_intermediate_root_is_accepted() {
    let (mut sim, mut client) = setup();
    sim.root.common.expires = expires_in(now(), -10);
    sim.publish_root(); // v2, expired
    sim.root.common.expires = expires_in(now(), 100);
    sim.publish_root(); // v3, current
    client.refresh(&sim.files, now()).unwrap();
    assert_eq!(client.cached_version("root.json"), Some(3));
}

#[test]
fn tuf_5_3_11_fast_forward_recovery_after_timestamp_key_rotation() {
    let (mut sim, mut client) = setup();
    client.refresh(&sim.files, now()).unwrap();
    // An attacker with the timestamp key fast-forwards the timestamp version.
    sim.timestamp.common.version = v(1000);
    sim.publish_timestamp();
    client.refresh(&sim.files, now()).unwrap();
    assert_eq!(client.cached_version("timestamp.json"), Some(1000));
    // The repository rotates the timestamp key and resets the version.
    sim.replace_role_keys(&RoleName::timestamp(), vec![new_key()], 1);
    sim.publish_root();
    sim.timestamp.common.version = v(2);
    sim.publish_timestamp();
    client.clear_requests();
    client.refresh(&sim.files, now()).unwrap();
    assert_eq!(client.cached_version("timestamp.json"), Some(2), "the client recovered");
}

#[test]
fn fast_forward_without_key_rotation_stays_refused() {
    let (mut sim, mut client) = setup();
    sim.timestamp.common.version = v(1000);
    sim.publish_timestamp();
    client.refresh(&sim.files, now()).unwrap();
    sim.timestamp.common.version = v(2);
    sim.publish_timestamp();
    let err = client.refresh(&sim.files, now()).unwrap_err();
    assert_eq!(err, Error::Rollback { role: RoleName::timestamp(), trusted: v(1000), found: v(2) });
}

// --- 5.4: timestamp ---

#[test]
fn tuf_5_4_2_timestamp_must_be_signed_by_the_timestamp_keys() {
    let (mut sim, mut client) = setup();
    let snapshot_signer = clone_signer(&sim.signers[&RoleName::snapshot()][0]);
    sim.files.insert("timestamp.json".into(), RepoSim::sign_with(&sim.timestamp, &[&snapshot_signer]));
    let err = client.refresh(&sim.files, now()).unwrap_err();
    assert!(matches!(err, Error::Unsigned { ref role, .. } if role == &RoleName::timestamp()), "{err}");
}

#[test]
fn tuf_5_4_3_1_timestamp_rollback_is_refused() {
    let (mut sim, mut client) = setup();
    let old = sim.file("timestamp.json");
    sim.publish();
    client.refresh(&sim.files, now()).unwrap();
    sim.files.insert("timestamp.json".into(), old);
    let err = client.refresh(&sim.files, now()).unwrap_err();
    assert_eq!(err, Error::Rollback { role: RoleName::timestamp(), trusted: v(2), found: v(1) });
    assert_eq!(client.cached_version("timestamp.json"), Some(2));
}

#[test]
fn tuf_5_4_3_1_equal_timestamp_version_keeps_the_trusted_one_and_fetches_nothing_more() {
    let (sim, mut client) = setup();
    client.refresh(&sim.files, now()).unwrap();
    client.clear_requests();
    client.refresh(&sim.files, now()).unwrap();
    assert_eq!(client.requests, ["2.root.json", "timestamp.json"]);
}

#[test]
fn tuf_5_4_3_2_snapshot_version_rollback_in_timestamp_is_refused() {
    let (mut sim, mut client) = setup();
    sim.publish();
    client.refresh(&sim.files, now()).unwrap();
    sim.timestamp.common.version = v(3);
    sim.timestamp.snapshot = MetaFile::new(v(1));
    sim.publish_timestamp();
    let err = client.refresh(&sim.files, now()).unwrap_err();
    assert_eq!(err, Error::Rollback { role: RoleName::snapshot(), trusted: v(2), found: v(1) });
}

#[test]
fn tuf_5_4_4_expired_timestamp_is_refused_as_freeze() {
    let (sim, mut client) = setup();
    let err = client.refresh(&sim.files, later(2)).unwrap_err();
    assert!(matches!(err, Error::Expired { ref role, .. } if role == &RoleName::timestamp()), "{err}");
    assert!(!client.cache.contains_key("timestamp.json"), "an expired timestamp is not persisted");
}

#[test]
fn freeze_replayed_old_timestamp_after_expiry_is_refused() {
    let (mut sim, mut client) = setup();
    client.refresh(&sim.files, now()).unwrap();
    sim.publish();
    // A mirror keeps serving the first timestamp past its expiry.
    let stale = client.cache["timestamp.json"].clone();
    sim.files.insert("timestamp.json".into(), stale);
    let err = client.refresh(&sim.files, later(3)).unwrap_err();
    assert!(matches!(err, Error::Expired { .. }), "{err}");
}

#[test]
fn endless_data_timestamp_beyond_the_limit_is_refused() {
    let (mut sim, mut client) = setup();
    let mut huge = sim.file("timestamp.json");
    huge.extend(std::iter::repeat_n(b' ', 20_000));
    sim.files.insert("timestamp.json".into(), huge);
    let err = client.refresh(&sim.files, now()).unwrap_err();
    assert_eq!(err, Error::TooLong { role: RoleName::timestamp(), limit: 16_384 });
}

// --- 5.5: snapshot ---

fn listed_sim() -> (RepoSim, Client) {
    let mut sim = RepoSim::new(now());
    sim.list_lengths_and_hashes = true;
    sim.touch(&RoleName::targets());
    sim.publish();
    let client = Client::new(sim.file("1.root.json"));
    (sim, client)
}

#[test]
fn tuf_5_5_2_snapshot_hash_must_match_timestamp_mix_and_match() {
    let (mut sim, mut client) = listed_sim();
    // A snapshot of the same version, validly signed, but not the one timestamp lists.
    sim.snapshot.common.expires = expires_in(now(), 29);
    let other = sim.sign(&RoleName::snapshot(), &sim.snapshot);
    sim.files.insert("2.snapshot.json".into(), other);
    let err = client.refresh(&sim.files, now()).unwrap_err();
    assert!(matches!(err, Error::LengthMismatch { .. } | Error::HashMismatch { .. }), "{err}");
}

#[test]
fn tuf_5_5_2_snapshot_length_must_match_timestamp() {
    let (mut sim, mut client) = listed_sim();
    let mut padded = sim.file("2.snapshot.json");
    padded.push(b'\n');
    sim.files.insert("2.snapshot.json".into(), padded);
    let err = client.refresh(&sim.files, now()).unwrap_err();
    assert!(matches!(err, Error::LengthMismatch { .. } | Error::TooLong { .. }), "{err}");
}

#[test]
fn tuf_5_5_3_snapshot_must_be_signed_by_the_snapshot_keys() {
    let (mut sim, mut client) = setup();
    let bytes = sim.sign(&RoleName::targets(), &sim.snapshot);
    sim.files.insert("1.snapshot.json".into(), bytes);
    let err = client.refresh(&sim.files, now()).unwrap_err();
    assert!(matches!(err, Error::Unsigned { ref role, .. } if role == &RoleName::snapshot()), "{err}");
}

#[test]
fn tuf_5_5_4_snapshot_version_must_match_timestamp_mix_and_match() {
    let (mut sim, mut client) = setup();
    sim.publish(); // snapshot v2, timestamp v2 lists v2
    let v2 = sim.file("2.snapshot.json");
    sim.snapshot.common.version = v(3);
    let v3 = sim.sign(&RoleName::snapshot(), &sim.snapshot);
    sim.files.insert("2.snapshot.json".into(), v3);
    let err = client.refresh(&sim.files, now()).unwrap_err();
    assert_eq!(
        err,
        Error::VersionMismatch {
            role: RoleName::snapshot(),
            found: v(3),
            listed: v(2),
            listed_by: RoleName::timestamp()
        }
    );
    assert_eq!(err.to_string(), "snapshot v3: version 2 listed in timestamp (mix-and-match)");
    drop(v2);
}

#[test]
fn tuf_5_5_5_targets_version_rollback_in_snapshot_is_refused() {
    let (mut sim, mut client) = setup();
    sim.touch(&RoleName::targets());
    sim.publish(); // targets v2
    client.refresh(&sim.files, now()).unwrap();
    sim.snapshot.meta.insert("targets.json".into(), MetaFile::new(v(1)));
    sim.snapshot.common.version = v(3);
    sim.publish_snapshot();
    sim.timestamp.common.version = v(3);
    sim.publish_timestamp();
    let err = client.refresh(&sim.files, now()).unwrap_err();
    assert_eq!(err, Error::Rollback { role: RoleName::targets(), trusted: v(2), found: v(1) });
}

#[test]
fn tuf_5_5_5_role_removed_from_snapshot_is_refused() {
    let (mut sim, mut client) = setup();
    let role = sim.delegate(
        &RoleName::targets(),
        "extra",
        metadata_schemas::PathSpec::Patterns(vec!["*".into()]),
        false,
        1,
        1,
    );
    sim.publish();
    client.refresh(&sim.files, now()).unwrap();
    sim.snapshot.meta.remove(&format!("{role}.json"));
    sim.publish();
    let err = client.refresh(&sim.files, now()).unwrap_err();
    assert_eq!(err, Error::RoleRemoved { role });
}

#[test]
fn tuf_5_5_6_expired_snapshot_is_refused_as_freeze() {
    let (mut sim, mut client) = setup();
    sim.snapshot.common.expires = expires_in(now(), -1);
    sim.publish();
    let err = client.refresh(&sim.files, now()).unwrap_err();
    assert!(matches!(err, Error::Expired { ref role, .. } if role == &RoleName::snapshot()), "{err}");
}

// --- 5.6: targets ---

#[test]
fn tuf_5_6_2_targets_hash_must_match_snapshot() {
    let (mut sim, mut client) = listed_sim();
    sim.targets.get_mut(&RoleName::targets()).unwrap().common.expires = expires_in(now(), 10);
    let other = sim.sign(&RoleName::targets(), &sim.targets[&RoleName::targets()]);
    sim.files.insert("2.targets.json".into(), other);
    let err = client.refresh(&sim.files, now()).unwrap_err();
    assert!(matches!(err, Error::HashMismatch { .. } | Error::LengthMismatch { .. }), "{err}");
}

#[test]
fn tuf_5_6_3_targets_must_be_signed_by_the_targets_keys() {
    let (mut sim, mut client) = setup();
    let bytes = sim.sign(&RoleName::snapshot(), &sim.targets[&RoleName::targets()]);
    sim.files.insert("1.targets.json".into(), bytes);
    let err = client.refresh(&sim.files, now()).unwrap_err();
    let Error::Unsigned { role, report, .. } = &err else { panic!("{err}") };
    assert_eq!(role, &RoleName::targets());
    let missing = sim.key_ids(&RoleName::targets())[0].short().to_string();
    assert_eq!(err.to_string(), format!("targets: 0 of 1 signatures, missing key {missing}.."));
    assert_eq!(report.signed.len(), 0);
}

#[test]
fn tuf_5_6_4_targets_version_must_match_snapshot() {
    let (mut sim, mut client) = setup();
    sim.targets.get_mut(&RoleName::targets()).unwrap().common.version = v(7);
    let bytes = sim.sign(&RoleName::targets(), &sim.targets[&RoleName::targets()]);
    sim.files.insert("1.targets.json".into(), bytes);
    let err = client.refresh(&sim.files, now()).unwrap_err();
    assert_eq!(
        err,
        Error::VersionMismatch {
            role: RoleName::targets(),
            found: v(7),
            listed: v(1),
            listed_by: RoleName::snapshot()
        }
    );
}

#[test]
fn tuf_5_6_5_expired_targets_is_refused_as_freeze() {
    let (mut sim, mut client) = setup();
    sim.targets.get_mut(&RoleName::targets()).unwrap().common.expires = expires_in(now(), -1);
    sim.touch(&RoleName::targets());
    sim.publish();
    let err = client.refresh(&sim.files, now()).unwrap_err();
    assert!(matches!(err, Error::Expired { ref role, .. } if role == &RoleName::targets()), "{err}");
}

// --- the workflow as a whole ---

#[test]
fn first_refresh_makes_exactly_the_needed_requests() {
    let (sim, mut client) = setup();
    client.refresh(&sim.files, now()).unwrap();
    assert_eq!(client.requests, ["2.root.json", "timestamp.json", "1.snapshot.json", "1.targets.json"]);
    let mut cached: Vec<&String> = client.cache.keys().collect();
    cached.sort();
    assert_eq!(cached, ["root.json", "snapshot.json", "targets.json", "timestamp.json"]);
}

#[test]
fn current_cached_snapshot_and_targets_are_reused_not_refetched() {
    let (mut sim, mut client) = setup();
    client.refresh(&sim.files, now()).unwrap();
    sim.timestamp.common.version = v(2); // new timestamp, same snapshot
    sim.publish_timestamp();
    client.clear_requests();
    client.refresh(&sim.files, now()).unwrap();
    assert_eq!(client.requests, ["2.root.json", "timestamp.json"]);
}

#[test]
fn invalid_cached_snapshot_is_ignored_and_refetched() {
    let (sim, mut client) = setup();
    client.refresh(&sim.files, now()).unwrap();
    client.cache.insert("snapshot.json".into(), b"{ not json".to_vec());
    client.clear_requests();
    client.refresh(&sim.files, now()).unwrap();
    assert_eq!(client.requests, ["2.root.json", "timestamp.json", "1.snapshot.json"]);
}

#[test]
fn no_consistent_snapshots_uses_plain_file_names() {
    let mut sim = RepoSim::new(now());
    sim.root.consistent_snapshot = Some(false);
    sim.root.common.version = v(1);
    let root = sim.sign(&RoleName::root(), &sim.root);
    sim.files.insert("1.root.json".into(), root.clone());
    let mut client = Client::new(root);
    client.refresh(&sim.files, now()).unwrap();
    assert_eq!(client.requests, ["2.root.json", "timestamp.json", "snapshot.json", "targets.json"]);
}

#[test]
fn failed_refresh_keeps_what_verified_before_the_failure() {
    let (mut sim, mut client) = setup();
    client.refresh(&sim.files, now()).unwrap();
    sim.publish_root();
    sim.publish();
    // Tampered inside `signed` (the expiry year), signatures left as they were.
    let bad =
        String::from_utf8(sim.file("2.snapshot.json")).unwrap().replacen("\"expires\": \"20", "\"expires\": \"21", 1);
    sim.files.insert("2.snapshot.json".into(), bad.into_bytes());
    let err = client.refresh(&sim.files, now()).unwrap_err();
    assert!(matches!(err, Error::Unsigned { ref role, .. } if role == &RoleName::snapshot()), "{err}");
    assert_eq!(client.cached_version("root.json"), Some(2), "new root kept");
    assert_eq!(client.cached_version("timestamp.json"), Some(2), "new timestamp kept");
    assert_eq!(client.cached_version("snapshot.json"), Some(1), "old snapshot untouched");
}

#[test]
fn below_threshold_key_compromise_cannot_sign_targets() {
    let mut sim = RepoSim::new(now());
    let keys = vec![new_key(), new_key(), new_key()];
    let stolen = clone_signer(&keys[0]);
    sim.replace_role_keys(&RoleName::targets(), keys, 2);
    sim.publish_root();
    sim.touch(&RoleName::targets());
    sim.publish();
    let mut client = Client::new(sim.file("1.root.json"));
    client.refresh(&sim.files, now()).unwrap();
    // The attacker holds one of the three keys and signs malicious targets.
    let mut evil = sim.targets[&RoleName::targets()].clone();
    evil.common.version = v(3);
    evil.targets.insert(
        "evil.bin".into(),
        metadata_schemas::TargetFile::new(
            1,
            Hashes::new(vec![threshold_keys::digest::digest(metadata_schemas::HashAlgorithm::Sha256, b"x")]).unwrap(),
        ),
    );
    sim.targets.insert(RoleName::targets(), evil.clone());
    sim.publish_snapshot_listing(&RoleName::targets(), v(3));
    sim.files.insert("3.targets.json".into(), RepoSim::sign_with(&evil, &[&stolen]));
    let err = client.refresh(&sim.files, now()).unwrap_err();
    let Error::Unsigned { report, .. } = &err else { panic!("{err}") };
    assert_eq!((report.signed.len(), report.threshold), (1, 2));
}

#[test]
fn one_key_signing_twice_under_two_ids_is_one_signature() {
    let mut sim = RepoSim::new(now());
    let keys = vec![new_key(), new_key()];
    let only = clone_signer(&keys[0]);
    sim.replace_role_keys(&RoleName::timestamp(), keys, 2);
    // The same key listed again under another id.
    let alias = metadata_schemas::KeyId::new("alias");
    sim.root.keys.insert(alias.clone(), Signer::public_key(&only).clone());
    sim.root.roles.timestamp.keyids.push(alias.clone());
    sim.publish_root();
    let mut client = Client::new(sim.file("1.root.json"));
    sim.timestamp.common.version = v(2);
    let mut doc = metadata_schemas::Signed::unsigned(sim.timestamp.clone());
    let message = doc.canonical_signed();
    let sig = Signer::sign(&only, &message).unwrap();
    let mut aliased = sig.clone();
    aliased.keyid = alias;
    doc.signatures = vec![sig, aliased];
    sim.files.insert("timestamp.json".into(), doc.to_pretty_json());
    let err = client.refresh(&sim.files, now()).unwrap_err();
    let Error::Unsigned { report, .. } = &err else { panic!("{err}") };
    assert_eq!(report.signed.len(), 1, "{err}");
}

#[test]
fn unknown_fields_are_signed_over_and_survive() {
    let (mut sim, mut client) = setup();
    sim.timestamp.unknown.0.insert("x-vendor", metadata_schemas::json::Value::string("note"));
    sim.timestamp.common.version = v(2);
    sim.publish_timestamp();
    let trusted = client.refresh(&sim.files, now()).unwrap();
    assert_eq!(trusted.timestamp().unwrap().unknown.get("x-vendor").and_then(|v| v.as_str()), Some("note"));
}
