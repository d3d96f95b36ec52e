//! repo-tool under attack: two commands at once on one repository, metadata edited by
//! someone without the keys, symbolic links out of a directory given to `targets add`,
//! and private key files others can read.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use common::Tool;

fn repository() -> Tool {
    let tool = Tool::new();
    tool.ok(&["init", "repo", "--root-keys", "1"]);
    tool
}

fn listed(tool: &Tool) -> Vec<String> {
    let listing = tool.json(&["targets", "list", "repo"]);
    let targets = listing.as_array().unwrap_or_else(|| panic!("{listing}"));
    targets.iter().map(|t| t["path"].as_str().unwrap().to_string()).collect()
}

#[test]
fn concurrent_targets_add_on_one_repository_loses_no_target() {
    let tool = repository();
    let adders: Vec<_> = (0..6)
        .map(|i| {
            let file = tool.write(&format!("src/image-{i}.bin"), format!("image {i}").as_bytes());
            let mut command = Command::new(env!("CARGO_BIN_EXE_repo-tool"));
            command.current_dir(tool.path("")).env("REPO_TOOL_PASSPHRASE", common::PASSPHRASE);
            command.args(["targets", "add", "repo"]).arg(file).spawn().unwrap()
        })
        .collect();
    for mut adder in adders {
        assert!(adder.wait().unwrap().success());
    }
    let mut paths = listed(&tool);
    paths.sort();
    assert_eq!(paths, (0..6).map(|i| format!("image-{i}.bin")).collect::<Vec<_>>());
    tool.ok(&["audit", "verify", "repo"]);
    tool.ok(&["publish", "repo", "out"]);
    tool.ok(&["verify", "out", "--root", "repo/metadata/roots/1.root.json"]);
}

#[test]
fn a_target_added_by_hand_to_targets_json_is_never_signed() {
    let tool = repository();
    tool.write("fw.bin", b"genuine");
    tool.ok(&["targets", "add", "repo", "fw.bin"]);
    let path = tool.path("repo/metadata/targets.json");
    let mut targets: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let mut evil = targets["signed"]["targets"]["fw.bin"].clone();
    evil["length"] = serde_json::json!(1);
    targets["signed"]["targets"]["evil.bin"] = evil;
    std::fs::write(&path, serde_json::to_vec_pretty(&targets).unwrap()).unwrap();
    let before = common::tree(&tool.path("repo"));

    for command in [
        &["refresh", "repo", "--margin", "1000d"][..],
        &["targets", "add", "repo", "fw.bin", "--path", "x.bin"],
        &["status", "repo"],
    ] {
        let stderr = tool.fails(command);
        assert!(stderr.contains("metadata/targets.json was changed outside repo-tool"), "{command:?}: {stderr}");
    }
    assert_eq!(common::tree(&tool.path("repo")), before, "nothing was signed or written");
}

#[test]
fn targets_add_does_not_follow_a_symlink_out_of_the_directory() {
    let tool = repository();
    tool.write("src/ok.bin", b"inside");
    std::os::unix::fs::symlink("/etc/passwd", tool.path("src/passwd.bin")).unwrap();
    let stderr = tool.fails(&["targets", "add", "repo", "src"]);
    assert!(stderr.contains("links to /etc/passwd, outside src"), "{stderr}");
    assert!(listed(&tool).is_empty(), "nothing was added");

    std::fs::remove_file(tool.path("src/passwd.bin")).unwrap();
    std::fs::create_dir(tool.path("elsewhere")).unwrap();
    tool.write("elsewhere/secret.bin", b"outside");
    std::os::unix::fs::symlink(tool.path("elsewhere"), tool.path("src/dir")).unwrap();
    let stderr = tool.fails(&["targets", "add", "repo", "src"]);
    assert!(stderr.contains("outside src"), "{stderr}");

    // Links that stay inside are followed, and a link loop ends.
    std::fs::remove_file(tool.path("src/dir")).unwrap();
    std::os::unix::fs::symlink("ok.bin", tool.path("src/alias.bin")).unwrap();
    std::os::unix::fs::symlink(".", tool.path("src/loop")).unwrap();
    tool.ok(&["targets", "add", "repo", "src"]);
    let mut paths = listed(&tool);
    paths.sort();
    assert_eq!(paths, ["alias.bin", "ok.bin"]);
}

#[test]
fn a_private_key_file_readable_by_others_is_refused() {
    let tool = repository();
    tool.write("fw.bin", b"firmware");
    let key = tool.path("repo/keys/targets-1.pem");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let stderr = tool.fails(&["targets", "add", "repo", "fw.bin"]);
    assert!(stderr.contains("mode 0644") && stderr.contains("chmod 600"), "{stderr}");
    assert!(listed(&tool).is_empty());
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    tool.ok(&["targets", "add", "repo", "fw.bin"]);
}

/// The record of the last verified state (signed by the audit key) lets a command skip
/// checking what it covers; a hand edit with the record's hash rewritten to match is
/// still caught, because the rewritten record no longer carries the audit key's signature.
#[test]
fn a_hand_edit_with_a_forged_record_of_the_verified_state_is_never_signed() {
    let tool = repository();
    tool.write("fw.bin", b"genuine");
    tool.ok(&["targets", "add", "repo", "fw.bin"]);
    let repo = tool.path("repo");
    let root_bytes = std::fs::read(repo.join("metadata/root.json")).unwrap();
    let root: metadata_schemas::Signed<metadata_schemas::Root> =
        metadata_schemas::Signed::decode_unverified(&root_bytes).unwrap();
    let record = repo_tool::verified_state::VerifiedState::load(&repo, &root.signed, &root_bytes)
        .expect("the last command left a record signed by the audit key, covering root.json");
    let targets = std::fs::read(repo.join("metadata/targets.json")).unwrap();
    assert!(record.covers("2.targets.json", &targets), "it vouches for the targets just signed");

    let mut edited: serde_json::Value = serde_json::from_slice(&targets).unwrap();
    edited["signed"]["targets"]["fw.bin"]["length"] = serde_json::json!(1);
    let edited = serde_json::to_vec_pretty(&edited).unwrap();
    std::fs::write(repo.join("metadata/targets.json"), &edited).unwrap();
    let path = repo.join(repo_tool::verified_state::FILE);
    let mut forged: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let hash = metadata_schemas::hex::encode(&threshold_keys::digest::sha256(&edited));
    forged["signed"]["files"]["2.targets.json"] = serde_json::json!(hash);
    std::fs::write(&path, serde_json::to_vec_pretty(&forged).unwrap()).unwrap();
    let before = common::tree(&repo);
    for command in [&["targets", "add", "repo", "fw.bin", "--path", "x.bin"][..], &["publish", "repo", "out"]] {
        let stderr = tool.fails(command);
        assert!(stderr.contains("metadata/targets.json was changed outside repo-tool"), "{command:?}: {stderr}");
    }
    assert_eq!(common::tree(&repo), before, "nothing was signed or written");
    assert!(!tool.path("out/metadata").exists(), "nothing was published");
}
