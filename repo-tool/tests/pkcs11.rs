//! Keys in a real SoftHSM2 token (through PKCS#11): an Ed25519 and an ECDSA P-256 key
//! generated in the token sign a root to a 2-of-3 threshold together with a key file.
//! The test creates its own token directory and points SOFTHSM2_CONF at it.

mod common;

use common::{Tool, client_download};

const PIN: &str = "24680";

/// A scratch tool with its own SoftHSM2 token called `ceremony`.
fn with_token() -> Tool {
    let mut tool = Tool::new();
    tool.softhsm_token(".", "ceremony", PIN);
    tool
}

fn uri(object: &str) -> String {
    format!("pkcs11:token=ceremony;object={object}?pin-value={PIN}")
}

#[test]
fn hsm_keys_and_a_key_file_sign_a_root_two_of_three() {
    let tool = with_token();
    let ed = tool.json(&["key", "generate", "--type", "ed25519", "--pkcs11", &uri("root-ed25519")]);
    let ec = tool.json(&["key", "generate", "--type", "ecdsa", "--pkcs11", &uri("root-p256")]);
    assert_eq!(ed["key"]["keytype"], "ed25519");
    assert_eq!(ec["key"]["scheme"], "ecdsa-sha2-nistp256");
    tool.ok(&["key", "generate", "--out", "root-file.pem"]);
    // Root v1: the three keys, any two of which sign.
    tool.ok(&[
        "init",
        "repo",
        "--threshold",
        "root=2",
        "--key",
        &format!("root={}", uri("root-ed25519")),
        "--key",
        &format!("root={}", uri("root-p256")),
        "--key",
        "root=root-file.pem",
    ]);
    let status = tool.ok(&["status", "repo"]);
    assert!(status.contains("root v1: threshold met: 3 signatures, 2 needed"), "{status}");
    // A ceremony signed by the two token keys alone (the key file stays away).
    std::fs::rename(tool.path("root-file.pem"), tool.path("offline.pem")).unwrap();
    tool.ok(&["root", "propose", "repo", "--out", "v2.json"]);
    tool.ok(&["sign", "v2.json", "--key", &uri("root-ed25519")]);
    let report = tool.ok(&["status", "repo", "--proposal", "v2.json"]);
    assert!(report.contains("old root SHORT: 1 of 2 signatures, 1 more needed"), "{report}");
    tool.ok(&["sign", "v2.json", "--key", &uri("root-p256")]);
    tool.ok(&["apply", "repo", "v2.json"]);
    // The published repository verifies from root v1 with the project's client.
    tool.write("fw.bin", b"signed under an HSM-held root");
    tool.ok(&["targets", "add", "repo", "fw.bin"]);
    tool.ok(&["publish", "repo", "out"]);
    tool.ok(&["verify", "out"]);
    let anchor = std::fs::read(tool.path("repo/metadata/roots/1.root.json")).unwrap();
    assert_eq!(client_download(&tool.path("out"), &anchor, "fw.bin").unwrap(), b"signed under an HSM-held root");
}

#[test]
fn a_wrong_pin_and_a_missing_token_key_are_clear_errors() {
    let tool = with_token();
    tool.ok(&["key", "generate", "--pkcs11", &uri("k")]);
    let stderr = tool.fails(&["key", "export-public", "pkcs11:token=ceremony;object=k?pin-value=00000"]);
    assert!(stderr.contains("wrong PIN"), "{stderr}");
    let stderr = tool.fails(&["key", "export-public", &uri("nonexistent")]);
    assert!(stderr.contains("no private key named \"nonexistent\""), "{stderr}");
}
