//! A root ceremony as a security team runs it: three root key holders, each on their own
//! "machine" (a directory), each with their own secret: Alice and Bob a key file under
//! their own passphrase, Carol a key in a SoftHSM2 token. The repository is created from
//! their public keys alone; root v1 is signed off-repo, merged and applied; then a key
//! is replaced (v2) and the timestamp key rotated (v3), each as a proposal the holders
//! sign. No root private key is ever in the repository directory or named by it, and a
//! client that trusts root v1 follows the chain to v3.

mod common;

use common::{Tool, client_download, tree};

const PIN: &str = "97531";

/// Carol's token, and each holder's directory with a passphrase of their own.
fn holders() -> Tool {
    let mut tool = Tool::new();
    tool.softhsm_token("carol", "carol", PIN);
    for (holder, secret) in [("alice", "alice's own words"), ("bob", "bob keeps another"), ("dave", "dave, later")] {
        tool.write(&format!("{holder}/pass"), secret.as_bytes());
    }
    tool
}

fn carol() -> String {
    format!("pkcs11:token=carol;object=root?pin-value={PIN}")
}

/// `--passphrase-file` for `holder`'s key file.
fn pass(holder: &str) -> [String; 2] {
    ["--passphrase-file".into(), format!("{holder}/root.pem={holder}/pass")]
}

fn run(tool: &Tool, args: &[&str], extra: &[String]) -> String {
    let all: Vec<&str> = args.iter().copied().chain(extra.iter().map(String::as_str)).collect();
    tool.ok(&all)
}

/// A holder's key: generated on their machine, the public half exported for the others.
fn generate(tool: &Tool, holder: &str) -> String {
    run(tool, &["key", "generate", "--out", &format!("{holder}/root.pem")], &pass(holder));
    let public = format!("{holder}/root.pub.json");
    assert!(tool.path(&public).exists(), "key generate writes the public half beside the key");
    let exported = tool.ok(&["key", "export-public", &format!("{holder}/root.pem")]);
    assert_eq!(exported.trim(), std::fs::read_to_string(tool.path(&public)).unwrap().trim(), "no passphrase needed");
    let entry: serde_json::Value = serde_json::from_str(&exported).unwrap();
    entry["keyid"].as_str().unwrap().to_string()
}

fn sign(tool: &Tool, proposal: &str, holder: &str, out: &str) {
    match holder {
        "carol" => tool.ok(&["sign", proposal, "--key", &carol(), "--out", out]),
        _ => run(tool, &["sign", proposal, "--key", &format!("{holder}/root.pem"), "--out", out], &pass(holder)),
    };
}

fn root_version(tool: &Tool) -> u64 {
    let status = tool.json(&["status", "repo"]);
    status.as_array().unwrap().iter().find(|r| r["role"] == "root").unwrap()["version"].as_u64().unwrap()
}

#[test]
fn three_holders_on_three_machines_make_root_v1_then_rotate_to_v3() {
    let tool = holders();
    let alice = generate(&tool, "alice");
    let bob = generate(&tool, "bob");
    let dave = generate(&tool, "dave");
    tool.ok(&["key", "generate", "--type", "ecdsa", "--pkcs11", &carol()]);
    let carol_public = tool.ok(&["key", "export-public", &carol()]);
    tool.write("carol/root.pub.json", carol_public.as_bytes());

    // Root v1 from public keys alone.
    let keys = ["alice/root.pub.json", "bob/root.pub.json", "carol/root.pub.json"].map(|k| format!("root={k}"));
    let mut init = vec!["init", "repo", "--offline-root", "--threshold", "root=2"];
    keys.iter().for_each(|k| init.extend(["--key", k]));
    let said = tool.ok(&init);
    assert!(said.contains("repo/proposals/root-v1.json"), "{said}");
    let waiting = tool.fails(&["status", "repo"]);
    assert!(waiting.contains("awaits its root v1 ceremony"), "{waiting}");
    let wrong = tool.fails(&[
        "sign",
        "repo/proposals/root-v1.json",
        "--key",
        "bob/root.pem",
        "--passphrase-file",
        "bob/root.pem=alice/pass",
    ]);
    assert!(wrong.contains("bob/root.pem: wrong passphrase"), "each holder has their own passphrase: {wrong}");
    sign(&tool, "repo/proposals/root-v1.json", "alice", "alice/v1.json");
    sign(&tool, "repo/proposals/root-v1.json", "carol", "carol/v1.json");
    let short = tool.fails(&["apply", "repo", "alice/v1.json"]);
    assert!(short.contains("1 of 2"), "one signature is not enough: {short}");
    tool.ok(&["merge", "alice/v1.json", "carol/v1.json", "--out", "v1.json"]);
    tool.ok(&["apply", "repo", "v1.json"]);
    assert_eq!(root_version(&tool), 1);
    let anchor = std::fs::read(tool.path("repo/metadata/roots/1.root.json")).unwrap();

    // v2: Alice's key is replaced by Dave's, named by the 8-hex prefix every command prints.
    let remove = format!("root={}", &alice[..8]);
    let add = "root=dave/root.pub.json";
    tool.ok(&["root", "propose", "repo", "--remove-key", &remove, "--add-key", add, "--out", "v2.json"]);
    // A holder sees what they sign, with only the proposal and the root before it.
    let shown = tool.ok(&["show", "v2.json", "--against", "repo/metadata/roots/1.root.json"]);
    let (added, removed) = (format!("+{} (added)", &dave[..8]), format!("-{} (removed)", &alice[..8]));
    assert!(shown.contains("root v2 (replacing v1)"), "{shown}");
    assert!(shown.contains(&added) && shown.contains(&removed), "{shown}");
    assert!(shown.contains("signed so far by 0 of 2 needed"), "{shown}");
    sign(&tool, "v2.json", "bob", "bob/v2.json");
    sign(&tool, "v2.json", "carol", "carol/v2.json");
    tool.ok(&["merge", "bob/v2.json", "carol/v2.json", "--out", "v2.signed.json"]);
    tool.ok(&["apply", "repo", "v2.signed.json"]);
    assert_eq!(root_version(&tool), 2);

    // v3: the timestamp key rotated; no root key is at hand, so it is a proposal.
    let keys = tool.json(&["key", "list", "repo"]);
    let old = keys.as_array().unwrap().iter().find(|k| k["roles"][0] == "timestamp").unwrap()["keyid"]
        .as_str()
        .unwrap()
        .to_string();
    tool.ok(&["key", "generate", "--out", "timestamp-2.pem"]);
    let rotate = ["rotate", "repo", "--role", "timestamp", "--add-key", "timestamp-2.pem", "--remove-key", &old[..8]];
    let said = tool.ok(&[&rotate[..], &["--out", "v3.json"]].concat());
    assert!(said.contains("needs more root signatures"), "{said}");
    sign(&tool, "v3.json", "carol", "carol/v3.json");
    sign(&tool, "v3.json", "dave", "dave/v3.json");
    tool.ok(&["merge", "carol/v3.json", "dave/v3.json", "--out", "v3.signed.json"]);
    tool.ok(&["apply", "repo", "v3.signed.json"]);
    assert_eq!(root_version(&tool), 3);

    // A client that trusts root v1 follows the chain.
    tool.write("fw.bin", b"signed after three ceremonies");
    tool.ok(&["targets", "add", "repo", "fw.bin"]);
    tool.ok(&["publish", "repo", "out"]);
    assert_eq!(client_download(&tool.path("out"), &anchor, "fw.bin").unwrap(), b"signed after three ceremonies");

    // No root private key in the repository, none named by it.
    let root_ids = [&alice, &bob, &dave];
    let config = std::fs::read_to_string(tool.path("repo/repository.json")).unwrap();
    assert!(root_ids.iter().all(|id| !config.contains(id.as_str())), "{config}");
    let carol_id: serde_json::Value = serde_json::from_str(&carol_public).unwrap();
    assert!(!config.contains(carol_id["keyid"].as_str().unwrap()), "{config}");
    let private: Vec<String> = tree(&tool.path("repo"))
        .into_iter()
        .filter(|(_, bytes)| String::from_utf8_lossy(bytes).contains("PRIVATE KEY"))
        .map(|(path, _)| path.display().to_string())
        .collect();
    let online = ["keys/audit.pem", "keys/snapshot-1.pem", "keys/targets-1.pem", "keys/timestamp-1.pem"];
    assert_eq!(private, online, "only the online roles' keys");

    // An assessor with only the published tree and the root they trust checks the log.
    let assessor = tool.path("assessor");
    copy_tree(&tool.path("out"), &assessor);
    std::fs::write(assessor.join("anchor.json"), &anchor).unwrap();
    let verified = tool.ok(&["audit", "verify", "--published", "assessor", "--root", "assessor/anchor.json"]);
    assert!(verified.contains("audit log OK"), "{verified}");
    let log = std::fs::read_to_string(assessor.join("audit/log.jsonl")).unwrap();
    std::fs::write(assessor.join("audit/log.jsonl"), log.replacen("fw.bin", "fx.bin", 1)).unwrap();
    let edited = tool.fails(&["audit", "verify", "--published", "assessor", "--root", "assessor/anchor.json"]);
    assert!(edited.contains("edited"), "{edited}");

    // Each holder's off-repo signature is its own audit entry; every entry names who.
    let audit = tool.json(&["audit", "list", "repo"]);
    let entries = audit.as_array().unwrap();
    let added = entries.iter().find(|e| e["action"] == "add-targets").unwrap();
    assert!(added["detail"].as_str().unwrap().contains("fw.bin (29 bytes, sha256 "), "paths and hashes: {added}");
    let operator = entries.iter().find(|e| e["action"] == "apply-root").unwrap()["actor"].as_str().unwrap().to_string();
    assert!(operator.contains('@'), "user@host: {operator}");
    let carol_key = carol_id["keyid"].as_str().unwrap();
    assert!(entries.iter().any(|e| e["actor"] == format!("key {carol_key}").as_str()), "the holder is the actor");
    let holders: Vec<(u64, String)> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "holder-signature")
        .map(|e| (e["version"].as_u64().unwrap(), e["keyids"][0].as_str().unwrap().to_string()))
        .collect();
    assert!(holders.contains(&(1, alice.clone())) && holders.contains(&(2, bob.clone())), "{holders:?}");
    assert!(holders.contains(&(3, dave.clone())), "{holders:?}");
    assert_eq!(holders.len(), 6, "two signatures per ceremony: {holders:?}");
    // ...with the time the holder signed, as their signature file gave it; the metadata
    // clients fetch carries no such field.
    let started = std::fs::metadata(tool.path("alice")).unwrap().modified().unwrap();
    let started = chrono::DateTime::<chrono::Utc>::from(started) - chrono::Duration::seconds(1);
    for entry in entries.iter().filter(|e| e["action"] == "holder-signature") {
        let at = entry["signed_at"].as_str().unwrap_or_else(|| panic!("no signing time: {entry}"));
        let at = chrono::DateTime::parse_from_rfc3339(at).unwrap();
        assert!(at >= started && at <= chrono::Utc::now(), "{entry}");
        assert!(entry["detail"].as_str().unwrap().ends_with(entry["signed_at"].as_str().unwrap()), "{entry}");
    }
    for name in ["1.root.json", "2.root.json", "3.root.json"] {
        let published = std::fs::read_to_string(tool.path("out/metadata").join(name)).unwrap();
        assert!(!published.contains("signed_at"), "{name}: {published}");
    }
}

#[test]
fn a_key_id_prefix_must_be_unique_and_at_least_8_hex_digits() {
    let tool = holders();
    tool.ok(&["init", "repo", "--root-keys", "2", "--root-key-dir", "usb"]);
    let keys = tool.json(&["key", "list", "repo"]);
    let root = keys.as_array().unwrap().iter().find(|k| k["roles"][0] == "root").unwrap()["keyid"]
        .as_str()
        .unwrap()
        .to_string();
    let said = tool.fails(&["root", "propose", "repo", "--remove-key", &format!("root={}", &root[..6])]);
    assert!(said.contains("8 or more hex digits"), "{said}");
    let said = tool.fails(&["root", "propose", "repo", "--remove-key", "root=00000000"]);
    assert!(said.contains("root has no key 00000000 (its keys:"), "{said}");
    tool.ok(&["root", "propose", "repo", "--remove-key", &format!("root={}..", &root[..8]), "--out", "p.json"]);
}

#[test]
fn a_changed_root_v1_is_refused_and_the_ceremony_can_go_on() {
    let tool = holders();
    generate(&tool, "alice");
    tool.ok(&["init", "repo", "--offline-root", "--key", "root=alice/root.pub.json"]);
    let text = std::fs::read_to_string(tool.path("repo/proposals/root-v1.json")).unwrap();
    tool.write("other.json", text.replacen("\"expires\": \"20", "\"expires\": \"21", 1).as_bytes());
    sign(&tool, "other.json", "alice", "alice/other.json");
    let said = tool.fails(&["apply", "repo", "alice/other.json"]);
    assert!(said.contains("is not the root v1 that init wrote"), "{said}");
    assert!(!tool.path("repo/repository.json").exists(), "nothing was created");
    sign(&tool, "repo/proposals/root-v1.json", "alice", "alice/v1.json");
    tool.ok(&["apply", "repo", "alice/v1.json"]);
    assert_eq!(root_version(&tool), 1);
}

#[test]
fn a_holder_changes_their_passphrase_and_imports_a_key_under_a_new_one() {
    let tool = holders();
    let alice = generate(&tool, "alice");
    tool.write("alice/new-pass", b"alice, a year later");
    let old = pass("alice");
    run(&tool, &["key", "change-passphrase", "alice/root.pem", "--new-passphrase-file", "alice/new-pass"], &old);
    let stale =
        tool.fails(&[&["key", "change-passphrase", "alice/root.pem"][..], &[old[0].as_str(), &old[1]]].concat());
    assert!(stale.contains("wrong passphrase"), "the old passphrase no longer opens it: {stale}");
    // Imported under a passphrase of its own: the copy opens with it, not with the original's.
    let files = ["--passphrase-file", "alice/root.pem=alice/new-pass", "--passphrase-file", "bob/copy.pem=bob/pass"];
    let imported = tool.json(&[&files[..], &["key", "import", "alice/root.pem", "--out", "bob/copy.pem"]].concat());
    assert_eq!(imported["keyid"], alice.as_str());
    tool.ok(&["init", "repo", "--offline-root", "--key", "root=alice/root.pub.json"]);
    let proposal = "repo/proposals/root-v1.json";
    let sign = |pass: &str| {
        tool.run(&["--passphrase-file", pass, "sign", proposal, "--key", "bob/copy.pem", "--out", "c.json"])
    };
    assert!(sign("bob/copy.pem=bob/pass").status.success());
    assert!(!sign("bob/copy.pem=alice/new-pass").status.success(), "the copy has its own passphrase");
}

#[test]
fn show_lists_the_targets_a_proposal_adds_with_hashes_and_release_counters() {
    let tool = holders();
    tool.ok(&["init", "repo", "--root-key-dir", "usb"]);
    tool.write("fw-1.bin", b"one");
    tool.ok(&["targets", "add", "repo", "fw-1.bin", "--hardware-id", "brake-hw", "--release-counter", "1"]);
    std::fs::copy(tool.path("repo/metadata/targets.json"), tool.path("old.json")).unwrap();
    tool.write("fw-2.bin", b"two");
    tool.ok(&["targets", "add", "repo", "fw-2.bin", "--hardware-id", "brake-hw", "--release-counter", "2"]);
    tool.ok(&["propose", "repo", "--out", "t.json"]);
    let shown = tool.ok(&["show", "t.json", "--against", "old.json"]);
    let sha = "3fc4ccfe745870e2c0d99f71f30ff0656c8dedd41cc1d7d3d376b0dbe685e2f3"; // sha256("two")
    assert!(shown.contains(&format!("+ fw-2.bin: 3 bytes, sha256 {sha}, release counter 2")), "{shown}");
    assert!(!shown.contains("fw-1.bin"), "unchanged targets are not listed: {shown}");
    // Signed off-repo and applied, its signature is recorded as the holder's, like root's.
    tool.ok(&["sign", "t.json", "--key", "repo/keys/targets-1.pem"]);
    tool.ok(&["apply", "repo", "t.json"]);
    let audit = tool.json(&["audit", "list", "repo"]);
    let holder = audit.as_array().unwrap().iter().any(|e| e["action"] == "holder-signature" && e["role"] == "targets");
    assert!(holder, "{audit:#}");
}

fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    for (rel, bytes) in tree(from) {
        let path = to.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
}

#[test]
fn a_listed_path_keeps_its_content_and_a_release_counter_never_falls_unless_told() {
    let tool = holders();
    tool.ok(&["init", "repo", "--root-key-dir", "usb"]);
    let add = |file: &str, path: &str, counter: &str, extra: &[&str]| {
        let args =
            ["targets", "add", "repo", file, "--path", path, "--hardware-id", "brake-hw", "--release-counter", counter];
        tool.run(&[&args[..], extra].concat())
    };
    tool.write("v7.bin", b"seven");
    tool.write("v3.bin", b"three");
    assert!(add("v7.bin", "brake/fw.bin", "7", &[]).status.success());
    let before = tree(&tool.path("repo/metadata"));
    let replaced = add("v3.bin", "brake/fw.bin", "8", &[]);
    let said = String::from_utf8_lossy(&replaced.stderr);
    assert!(!replaced.status.success() && said.contains("brake/fw.bin is listed with other content"), "{said}");
    assert!(said.contains("--replace"), "names the fix: {said}");
    let lower = add("v3.bin", "brake/fw-3.bin", "3", &[]);
    let said = String::from_utf8_lossy(&lower.stderr);
    assert!(
        !lower.status.success() && said.contains("release counter 3 for brake-hw, below 7 (brake/fw.bin)"),
        "{said}"
    );
    assert_eq!(tree(&tool.path("repo/metadata")), before, "nothing signed");
    assert!(add("v3.bin", "brake/fw-3.bin", "3", &["--allow-rollback"]).status.success());
    let audit = tool.json(&["audit", "list", "repo"]);
    assert!(audit.as_array().unwrap().iter().any(|e| e["action"] == "allow-rollback"), "recorded as such");
    tool.write("v8.bin", b"eight");
    assert!(add("v8.bin", "brake/fw.bin", "8", &["--replace"]).status.success());
}
