//! TUF 5.6.7: the delegation search, and the attacks on it.

mod common;

use common::{Client, now};
use metadata_schemas::{PathSpec, RoleName, Version};
use repo_simulator::{RepoSim, expires_in};
use update_verifier::{Error, Limits};

fn patterns(p: &[&str]) -> PathSpec {
    PathSpec::Patterns(p.iter().map(|s| s.to_string()).collect())
}

fn role(name: &str) -> RoleName {
    RoleName::new(name).unwrap()
}

fn setup() -> RepoSim {
    RepoSim::new(now())
}

#[test]
fn delegation_search_is_depth_first_in_listed_order() {
    let mut sim = setup();
    let a = sim.delegate(&RoleName::targets(), "a", patterns(&["f/*"]), false, 1, 1);
    let b = sim.delegate(&RoleName::targets(), "b", patterns(&["f/*"]), false, 1, 1);
    let a1 = sim.delegate(&a, "a1", patterns(&["f/*"]), false, 1, 1);
    sim.add_target(&a1, "f/x", b"from a1", None);
    sim.add_target(&b, "f/x", b"from b", None);
    sim.publish();
    let mut client = Client::new(sim.file("1.root.json"));
    let found = client.refresh_and_find(&sim.files, now(), "f/x").unwrap().unwrap();
    assert_eq!(found.role, a1, "a's subtree comes before b");
    assert!(!client.requests.iter().any(|r| r.ends_with(".b.json")), "b was never fetched: {:?}", client.requests);
}

#[test]
fn terminating_delegation_ends_the_search_after_its_subtree() {
    let mut sim = setup();
    let a = sim.delegate(&RoleName::targets(), "a", patterns(&["f/*"]), true, 1, 1);
    let b = sim.delegate(&RoleName::targets(), "b", patterns(&["f/*"]), false, 1, 1);
    sim.add_target(&b, "f/x", b"only b lists it", None);
    sim.publish();
    let mut client = Client::new(sim.file("1.root.json"));
    assert_eq!(client.refresh_and_find(&sim.files, now(), "f/x").unwrap(), None);
    let _ = a;
}

#[test]
fn non_matching_paths_are_not_searched() {
    let mut sim = setup();
    let a = sim.delegate(&RoleName::targets(), "a", patterns(&["other/*"]), false, 1, 1);
    sim.add_target(&a, "f/x", b"a is not trusted for f/x", None);
    sim.publish();
    let mut client = Client::new(sim.file("1.root.json"));
    assert_eq!(client.refresh_and_find(&sim.files, now(), "f/x").unwrap(), None);
    assert!(!client.requests.iter().any(|r| r.ends_with(".a.json")));
}

#[test]
fn delegation_cycles_terminate_and_each_role_is_visited_once() {
    let mut sim = setup();
    let a = sim.delegate(&RoleName::targets(), "a", patterns(&["*"]), false, 1, 1);
    let b = sim.delegate(&a, "b", patterns(&["*"]), false, 1, 1);
    // b delegates back to a: a cycle.
    let a_keys = sim.signers[&a].iter().map(repo_simulator::clone_signer).collect::<Vec<_>>();
    let b_md = sim.targets.get_mut(&b).unwrap();
    let delegations = b_md.delegations.get_or_insert_with(|| metadata_schemas::Delegations {
        keys: Default::default(),
        roles: metadata_schemas::DelegatedRoles::List(vec![]),
        unknown: Default::default(),
    });
    for k in &a_keys {
        delegations
            .keys
            .insert(threshold_keys::Signer::key_id(k).clone(), threshold_keys::Signer::public_key(k).clone());
    }
    if let metadata_schemas::DelegatedRoles::List(roles) = &mut delegations.roles {
        roles.push(metadata_schemas::DelegatedRole {
            name: a.clone(),
            keyids: a_keys.iter().map(|k| threshold_keys::Signer::key_id(k).clone()).collect(),
            threshold: metadata_schemas::Threshold::new(1).unwrap(),
            terminating: false,
            paths: patterns(&["*"]),
            unknown: Default::default(),
        });
    }
    sim.touch(&b);
    sim.publish();
    let mut client = Client::new(sim.file("1.root.json"));
    assert_eq!(client.refresh_and_find(&sim.files, now(), "missing").unwrap(), None);
    let fetched_a = client.requests.iter().filter(|r| r.ends_with(".a.json")).count();
    assert_eq!(fetched_a, 1, "{:?}", client.requests);
}

#[test]
fn diamond_delegation_visits_the_shared_role_once() {
    let mut sim = setup();
    let a = sim.delegate(&RoleName::targets(), "a", patterns(&["*"]), false, 1, 1);
    let b = sim.delegate(&RoleName::targets(), "b", patterns(&["*"]), false, 1, 1);
    let shared = sim.delegate(&a, "shared", patterns(&["*"]), false, 1, 1);
    // b also delegates to "shared", with the same keys.
    let a_md = sim.targets[&a].clone();
    let b_md = sim.targets.get_mut(&b).unwrap();
    b_md.delegations = a_md.delegations.clone();
    sim.touch(&b);
    sim.publish();
    let mut client = Client::new(sim.file("1.root.json"));
    assert_eq!(client.refresh_and_find(&sim.files, now(), "nothing").unwrap(), None);
    let fetched = client.requests.iter().filter(|r| r.ends_with(&format!(".{shared}.json"))).count();
    assert_eq!(fetched, 1);
}

#[test]
fn delegation_visit_limit_stops_the_search() {
    let mut sim = setup();
    let mut parent = RoleName::targets();
    for i in 0..6 {
        parent = sim.delegate(&parent, &format!("level{i}"), patterns(&["*"]), false, 1, 1);
    }
    sim.add_target(&parent, "deep", b"six levels down", None);
    sim.publish();
    let mut client = Client::new(sim.file("1.root.json"));
    client.limits = Limits { max_delegations: 4, ..Limits::default() };
    assert_eq!(client.refresh_and_find(&sim.files, now(), "deep").unwrap(), None);
    client.limits = Limits::default();
    assert!(client.refresh_and_find(&sim.files, now(), "deep").unwrap().is_some());
}

#[test]
fn expired_delegated_role_is_refused_as_freeze() {
    let mut sim = setup();
    let a = sim.delegate(&RoleName::targets(), "a", patterns(&["*"]), false, 1, 1);
    sim.add_target(&a, "x", b"x", None);
    sim.targets.get_mut(&a).unwrap().common.expires = expires_in(now(), -1);
    sim.publish();
    let mut client = Client::new(sim.file("1.root.json"));
    let err = client.refresh_and_find(&sim.files, now(), "x").unwrap_err();
    assert!(matches!(err, Error::Expired { role, .. } if role == a));
}

#[test]
fn delegated_role_signed_by_the_wrong_key_is_refused() {
    let mut sim = setup();
    let a = sim.delegate(&RoleName::targets(), "a", patterns(&["*"]), false, 1, 1);
    sim.add_target(&a, "x", b"x", None);
    sim.publish();
    let forged = sim.sign(&RoleName::targets(), &sim.targets[&a]); // top-level key, not a's
    sim.files.insert(a.versioned_file_name(sim.targets[&a].common.version), forged);
    let mut client = Client::new(sim.file("1.root.json"));
    let err = client.refresh_and_find(&sim.files, now(), "x").unwrap_err();
    assert!(matches!(err, Error::Unsigned { ref role, .. } if role == &a), "{err}");
    assert!(err.to_string().contains("keys delegated by targets"), "{err}");
}

#[test]
fn delegated_role_missing_from_snapshot_is_an_error_and_never_fetched() {
    let mut sim = setup();
    let a = sim.delegate(&RoleName::targets(), "a", patterns(&["*"]), false, 1, 1);
    sim.publish();
    sim.snapshot.meta.remove("a.json");
    sim.snapshot.common.version = Version::new(3).unwrap();
    sim.publish_snapshot();
    sim.timestamp.common.version = Version::new(3).unwrap();
    sim.publish_timestamp();
    let mut client = Client::new(sim.file("1.root.json"));
    let err = client.refresh_and_find(&sim.files, now(), "x").unwrap_err();
    assert_eq!(err, Error::NotInSnapshot { role: a });
    assert!(!client.requests.iter().any(|r| r.ends_with(".a.json")));
}

#[test]
fn path_traversal_in_role_names_cannot_leave_the_metadata_directory() {
    let mut sim = setup();
    let evil = sim.delegate(&RoleName::targets(), "../../etc/passwd", patterns(&["*"]), false, 1, 1);
    let slash = sim.delegate(&RoleName::targets(), "/abs", patterns(&["*"]), false, 1, 1);
    sim.add_target(&slash, "x", b"x", None);
    sim.publish();
    let mut client = Client::new(sim.file("1.root.json"));
    client.refresh_and_find(&sim.files, now(), "x").unwrap().unwrap();
    for name in client.cache.keys().chain(client.requests.iter()) {
        assert!(!name.contains('/') && name != ".." && !name.starts_with("../"), "unsafe file name {name:?}");
    }
    assert!(client.cache.contains_key("..%2F..%2Fetc%2Fpasswd.json"));
    assert!(client.cache.contains_key("%2Fabs.json"));
    let _ = evil;
}

#[test]
fn cached_delegated_role_is_reverified_against_its_current_delegator() {
    let mut sim = setup();
    let a = sim.delegate(&RoleName::targets(), "a", patterns(&["*"]), false, 1, 1);
    sim.add_target(&a, "x", b"x", None);
    sim.publish();
    let mut client = Client::new(sim.file("1.root.json"));
    client.refresh_and_find(&sim.files, now(), "x").unwrap().unwrap();
    // targets now delegates "a" to another key; a.json itself is unchanged (same
    // version, same bytes), so only its signature against the new delegation fails.
    let new = repo_simulator::new_key();
    let t = sim.targets.get_mut(&RoleName::targets()).unwrap();
    let delegations = t.delegations.as_mut().unwrap();
    delegations
        .keys
        .insert(threshold_keys::Signer::key_id(&new).clone(), threshold_keys::Signer::public_key(&new).clone());
    if let metadata_schemas::DelegatedRoles::List(roles) = &mut delegations.roles {
        roles[0].keyids = vec![threshold_keys::Signer::key_id(&new).clone()];
    }
    sim.touch(&RoleName::targets());
    sim.publish();
    client.clear_requests();
    let err = client.refresh_and_find(&sim.files, now(), "x").unwrap_err();
    assert!(matches!(err, Error::Unsigned { ref role, .. } if role == &a), "{err}");
    assert!(
        client.requests.contains(&a.versioned_file_name(sim.targets[&a].common.version)),
        "the cached copy was not trusted"
    );
}

#[test]
fn hash_prefix_bins_route_each_path_to_its_bin() {
    let mut sim = setup();
    for p in ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "a", "b", "c", "d", "e", "f"] {
        sim.delegate(
            &RoleName::targets(),
            &format!("bin-{p}"),
            PathSpec::HashPrefixes(vec![p.to_string()]),
            false,
            1,
            1,
        );
    }
    let path = "firmware/v2.bin";
    let prefix = metadata_schemas::hex::encode(&threshold_keys::digest::sha256(path.as_bytes()))[..1].to_string();
    let bin = role(&format!("bin-{prefix}"));
    sim.add_target(&bin, path, b"image", None);
    sim.publish();
    let mut client = Client::new(sim.file("1.root.json"));
    let found = client.refresh_and_find(&sim.files, now(), path).unwrap().unwrap();
    assert_eq!(found.role, bin);
    let bins_fetched = client.requests.iter().filter(|r| r.contains(".bin-")).count();
    assert_eq!(bins_fetched, 1, "only the matching bin is fetched");
}

#[test]
fn a_verified_role_is_persisted_even_when_the_search_then_fails() {
    let mut sim = setup();
    let a = sim.delegate(&RoleName::targets(), "a", patterns(&["*"]), false, 1, 1);
    let b = sim.delegate(&a, "b", patterns(&["*"]), false, 1, 1);
    sim.publish();
    // b is delegated by a but missing from snapshot: the search fails after a verified.
    sim.snapshot.meta.remove(&format!("{b}.json"));
    sim.snapshot.common.version = Version::new(3).unwrap();
    sim.publish_snapshot();
    sim.timestamp.common.version = Version::new(3).unwrap();
    sim.publish_timestamp();
    let mut client = Client::new(sim.file("1.root.json"));
    let err = client.refresh_and_find(&sim.files, now(), "x").unwrap_err();
    assert_eq!(err, Error::NotInSnapshot { role: b });
    assert!(client.cache.contains_key(&a.file_name()), "a verified, so it is written");
}
