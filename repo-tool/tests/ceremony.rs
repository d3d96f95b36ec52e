//! Key ceremonies with offline keys: propose, sign on separate machines, merge, apply;
//! rotation after a compromise; and the refusals that keep a ceremony honest.

mod common;

use common::{Tool, client_download, tree};

/// A repository whose three root keys (2 of 3) are generated outside it, on "usb".
fn offline_root() -> Tool {
    let tool = Tool::new();
    tool.ok(&["init", "repo", "--root-keys", "3", "--threshold", "root=2", "--root-key-dir", "usb"]);
    for i in 1..=3 {
        assert!(tool.path(&format!("usb/root-{i}.pem")).exists());
    }
    tool
}

fn anchor(tool: &Tool) -> Vec<u8> {
    std::fs::read(tool.path("repo/metadata/roots/1.root.json")).unwrap()
}

fn root_version(tool: &Tool) -> u64 {
    tool.json(&["status", "repo"]).as_array().unwrap().iter().find(|r| r["role"] == "root").unwrap()["version"]
        .as_u64()
        .unwrap()
}

#[test]
fn root_ceremony_two_of_three_offline_keys() {
    let tool = offline_root();
    tool.ok(&["key", "generate", "--out", "usb/root-4.pem"]);
    tool.ok(&[
        "root",
        "propose",
        "repo",
        "--add-key",
        "root=usb/root-4.pem",
        "--threshold",
        "root=3",
        "--out",
        "root-v2.json",
    ]);
    // Each key holder signs a copy on their own machine.
    tool.ok(&["sign", "root-v2.json", "--key", "usb/root-1.pem", "--out", "alice.json"]);
    tool.ok(&["sign", "root-v2.json", "--key", "usb/root-2.pem", "--out", "bob.json"]);
    tool.ok(&["sign", "root-v2.json", "--key", "usb/root-4.pem", "--out", "carol.json"]);
    // One copy is not enough: the old root needs 2, the new one 3.
    let stderr = tool.fails(&["apply", "repo", "alice.json"]);
    assert!(stderr.contains("root: 1 of 2 signatures"), "{stderr}");
    tool.ok(&["merge", "alice.json", "bob.json", "--out", "two.json"]);
    let status = tool.ok(&["status", "repo", "--proposal", "two.json"]);
    assert!(status.contains("old root threshold met: 2 signatures, 2 needed"), "{status}");
    assert!(status.contains("new root SHORT: 2 of 3 signatures, 1 more needed from any of"), "{status}");
    assert!(status.contains("not ready: more signatures needed"), "{status}");
    let check = tool.fails(&["status", "repo", "--proposal", "two.json", "--check"]);
    assert!(check.contains("proposal two.json is short of its threshold"), "{check}");
    let stderr = tool.fails(&["apply", "repo", "two.json"]);
    assert!(stderr.contains("root: 2 of 3 signatures") && stderr.contains("the new root's own keys"), "{stderr}");
    tool.ok(&["merge", "two.json", "carol.json", "--out", "three.json"]);
    let ready = tool.ok(&["status", "repo", "--proposal", "three.json", "--check"]);
    assert!(ready.contains("ready to apply"), "{ready}");
    tool.ok(&["apply", "repo", "three.json"]);
    assert_eq!(root_version(&tool), 2);
    let applied = tool.ok(&["status", "repo", "--proposal", "three.json"]);
    assert!(applied.contains("applied already (the repository's root is at v2)"), "{applied}");
    // Clients that trust root v1 follow the rotation.
    tool.write("fw.bin", b"after the ceremony");
    tool.ok(&["targets", "add", "repo", "fw.bin"]);
    tool.ok(&["publish", "repo", "out"]);
    tool.ok(&["verify", "out", "--root", "repo/metadata/roots/1.root.json"]);
    assert_eq!(client_download(&tool.path("out"), &anchor(&tool), "fw.bin").unwrap(), b"after the ceremony");
}

#[test]
fn a_stale_proposal_is_refused_and_changes_nothing() {
    let tool = offline_root();
    tool.ok(&["root", "propose", "repo", "--out", "p.json"]);
    for key in ["usb/root-1.pem", "usb/root-2.pem"] {
        tool.ok(&["sign", "p.json", "--key", key]);
    }
    tool.ok(&["apply", "repo", "p.json"]);
    let before = tree(&tool.path("repo"));
    let stderr = tool.fails(&["apply", "repo", "p.json"]);
    assert!(stderr.contains("proposes root v2, but the repository is at v2: stale"), "{stderr}");
    assert_eq!(tree(&tool.path("repo")), before);
}

#[test]
fn merging_copies_of_different_proposals_is_refused() {
    let tool = offline_root();
    tool.ok(&["root", "propose", "repo", "--out", "a.json"]);
    tool.ok(&["root", "propose", "repo", "--threshold", "root=3", "--out", "b.json"]);
    tool.ok(&["sign", "a.json", "--key", "usb/root-1.pem"]);
    tool.ok(&["sign", "b.json", "--key", "usb/root-2.pem"]);
    let stderr = tool.fails(&["merge", "a.json", "b.json", "--out", "ab.json"]);
    assert!(stderr.contains("signs different bytes"), "{stderr}");
    assert!(!tool.path("ab.json").exists());
}

#[test]
fn a_tampered_proposal_loses_its_signatures() {
    let tool = offline_root();
    tool.ok(&["root", "propose", "repo", "--out", "p.json"]);
    for key in ["usb/root-1.pem", "usb/root-2.pem"] {
        tool.ok(&["sign", "p.json", "--key", key]);
    }
    // Someone raises the expiry after the signatures were made.
    let text =
        std::fs::read_to_string(tool.path("p.json")).unwrap().replacen("\"expires\": \"20", "\"expires\": \"21", 1);
    tool.write("p.json", text.as_bytes());
    let stderr = tool.fails(&["apply", "repo", "p.json"]);
    assert!(stderr.contains("root: 0 of 2 signatures"), "{stderr}");
}

#[test]
fn a_signature_by_a_key_outside_the_role_does_not_count() {
    let tool = offline_root();
    tool.ok(&["key", "generate", "--out", "stranger.pem"]);
    tool.ok(&["root", "propose", "repo", "--out", "p.json"]);
    tool.ok(&["sign", "p.json", "--key", "usb/root-1.pem"]);
    tool.ok(&["sign", "p.json", "--key", "stranger.pem"]);
    let stderr = tool.fails(&["apply", "repo", "p.json"]);
    assert!(stderr.contains("root: 1 of 2 signatures"), "{stderr}");
}

#[test]
fn a_malformed_proposal_is_a_clear_error() {
    let tool = offline_root();
    tool.write("bad.json", b"{\"signed\": 3, \"signatures\": []}");
    let stderr = tool.fails(&["apply", "repo", "bad.json"]);
    assert!(stderr.contains("bad.json") && stderr.contains("signed"), "{stderr}");
    tool.write("bad.json", b"not json");
    assert!(tool.fails(&["sign", "bad.json", "--key", "usb/root-1.pem"]).contains("malformed JSON"));
}

#[test]
fn rotating_a_compromised_timestamp_key_publishes_a_repository_that_verifies() {
    // The root key at hand here (`--key`), so the rotation applies at once.
    let tool = Tool::new();
    tool.ok(&["init", "repo"]);
    tool.write("fw.bin", b"v1");
    tool.ok(&["targets", "add", "repo", "fw.bin"]);
    tool.ok(&["publish", "repo", "out"]);
    let old_key =
        tool.json(&["key", "list", "repo"]).as_array().unwrap().iter().find(|k| k["roles"][0] == "timestamp").unwrap()
            ["keyid"]
            .as_str()
            .unwrap()
            .to_string();
    tool.ok(&["key", "generate", "--out", "timestamp-2.pem"]);
    let root_key = "repo-offline-keys/root-1.pem";
    let rotate = ["rotate", "repo", "--role", "timestamp", "--add-key", "timestamp-2.pem", "--remove-key", &old_key];
    let out = tool.ok(&[&rotate[..], &["--key", root_key]].concat());
    assert!(out.contains("root v2 applied"), "{out}");
    tool.ok(&["publish", "repo", "out"]);
    tool.ok(&["verify", "out"]);
    let keys = tool.json(&["key", "list", "repo"]);
    assert!(!keys.as_array().unwrap().iter().any(|k| k["keyid"] == old_key.as_str()), "the old key is gone");
    assert_eq!(client_download(&tool.path("out"), &anchor(&tool), "fw.bin").unwrap(), b"v1");
}

#[test]
fn rotation_without_the_root_keys_writes_a_proposal() {
    let tool = offline_root();
    tool.ok(&["key", "generate", "--out", "snapshot-2.pem"]);
    let out = tool.ok(&["rotate", "repo", "--role", "snapshot", "--add-key", "snapshot-2.pem", "--out", "rot.json"]);
    assert!(out.contains("needs more root signatures"), "{out}");
    for key in ["usb/root-1.pem", "usb/root-3.pem"] {
        tool.ok(&["sign", "rot.json", "--key", key]);
    }
    tool.ok(&["apply", "repo", "rot.json"]);
    assert_eq!(root_version(&tool), 2);
}

#[test]
fn status_flags_expired_metadata_and_check_fails_on_it() {
    let tool = Tool::new();
    tool.ok(&["init", "fresh"]);
    tool.ok(&["status", "fresh", "--check"]);
    tool.ok(&["init", "repo", "--expires", "timestamp=1s"]);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let status = tool.ok(&["status", "repo"]);
    assert!(status.contains("timestamp v1: threshold met: 1 signatures, 1 needed; EXPIRED"), "{status}");
    assert!(status.contains("root v1: threshold met: 1 signatures, 1 needed; expires"), "{status}");
    let check = tool.fails(&["status", "repo", "--check"]);
    assert!(check.contains("status --check: 1 problem(s): timestamp v1 expired"), "{check}");
}

/// A delegated role whose keys never come near the repository: its version 1 and every
/// change to it are proposals its holders sign off-repo, and a client follows them.
#[test]
fn an_offline_delegated_role_starts_and_changes_through_proposals_its_holders_sign() {
    let tool = offline_root();
    tool.ok(&["key", "generate", "--out", "vendor/vendor.pem"]);
    let delegate = ["delegate", "repo", "--name", "vendor", "--paths", "vendor/*", "--public-key"];
    let said = tool.ok(&[&delegate[..], &["vendor/vendor.pub.json"]].concat());
    assert!(said.contains("its version 1 is written to repo/proposals/vendor-v1.json"), "{said}");
    let status = tool.json(&["status", "repo"]);
    assert!(status.as_array().unwrap().iter().all(|r| r["role"] != "vendor"), "no delegation yet: {status}");
    // Unsigned, the first version is refused; signed by the holder, the delegation is made.
    let unsigned =
        tool.fails(&[&delegate[..], &["vendor/vendor.pub.json", "--signed", "repo/proposals/vendor-v1.json"]].concat());
    assert!(unsigned.contains("vendor: 0 of 1 signatures"), "{unsigned}");
    tool.ok(&[
        "sign",
        "repo/proposals/vendor-v1.json",
        "--key",
        "vendor/vendor.pem",
        "--out",
        "vendor/v1.json",
        "--yes",
    ]);
    tool.ok(&[&delegate[..], &["vendor/vendor.pub.json", "--signed", "vendor/v1.json"]].concat());

    // Adding a target to the offline role writes its next version for the holder to sign;
    // nothing is published until it is applied.
    tool.write("vendor/fw.bin", b"vendor firmware");
    let said = tool.ok(&["targets", "add", "repo", "vendor/fw.bin", "--path", "vendor/fw.bin"]);
    assert!(said.contains("keys are offline: proposal written to repo/proposals/vendor-v2.json"), "{said}");
    tool.ok(&["publish", "repo", "out"]);
    let anchor = anchor(&tool);
    assert!(
        client_download(&tool.path("out"), &anchor, "vendor/fw.bin").is_err(),
        "not listed before the holder signs"
    );
    let stale = tool.fails(&["apply", "repo", "repo/proposals/vendor-v2.json", "--role", "vendor"]);
    assert!(stale.contains("vendor: 0 of 1 signatures"), "{stale}");
    tool.ok(&[
        "sign",
        "repo/proposals/vendor-v2.json",
        "--key",
        "vendor/vendor.pem",
        "--out",
        "vendor/v2.json",
        "--yes",
    ]);
    let wrong_role = tool.fails(&["apply", "repo", "vendor/v2.json"]);
    assert!(wrong_role.contains("name it with --role"), "{wrong_role}");
    tool.ok(&["apply", "repo", "vendor/v2.json", "--role", "vendor"]);
    tool.ok(&["publish", "repo", "out"]);
    assert_eq!(client_download(&tool.path("out"), &anchor, "vendor/fw.bin").unwrap(), b"vendor firmware");

    // A change touching the offline role and an online one at once is refused whole.
    tool.write("both/vendor/a.bin", b"a");
    tool.write("both/b.bin", b"b");
    let mixed = tool.fails(&["targets", "add", "repo", "both"]);
    assert!(mixed.contains("the keys of vendor are offline: change one offline role per command"), "{mixed}");

    // The log names each step, the holder's signatures with when they were made.
    let audit = tool.json(&["audit", "list", "repo"]);
    let actions: Vec<&str> = audit.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for action in ["propose-delegate", "delegate", "propose-add-targets", "apply-targets"] {
        assert!(actions.contains(&action), "{action}: {actions:?}");
    }
    let holder: Vec<_> = audit.as_array().unwrap().iter().filter(|e| e["action"] == "holder-signature").collect();
    assert_eq!(holder.len(), 2, "v1 and v2: {holder:?}");
    assert!(holder.iter().all(|e| e["role"] == "vendor" && e["signed_at"].is_string()), "{holder:?}");
    assert!(tree(&tool.path("repo")).keys().all(|p| !p.starts_with("keys/vendor")), "the vendor key stays out");
}
