//! Bad input gets a clear error naming what is wrong, and the repository on disk is
//! unchanged: every command either commits all its changes or none.

mod common;

use common::{Tool, tree};

fn initialized() -> Tool {
    let tool = Tool::new();
    tool.ok(&["init", "repo"]);
    tool.write("fw.bin", b"firmware");
    tool
}

/// Runs a command that must fail, and checks the repository is byte-for-byte unchanged.
#[track_caller]
fn refused(tool: &Tool, args: &[&str], expected: &str) {
    let before = tree(&tool.path("repo"));
    let stderr = tool.fails(args);
    assert!(stderr.contains(expected), "expected {expected:?} in:\n{stderr}");
    assert_eq!(tree(&tool.path("repo")), before, "{args:?} changed the repository");
}

#[test]
fn target_paths_with_dot_dot_or_absolute_paths_are_refused() {
    let tool = initialized();
    refused(&tool, &["targets", "add", "repo", "fw.bin", "--path", "../escape.bin"], "'.' or '..' segment");
    refused(&tool, &["targets", "add", "repo", "fw.bin", "--path", "/etc/fw.bin"], "the path is absolute");
    refused(&tool, &["targets", "add", "repo", "fw.bin", "--path", "a//b.bin"], "empty segment");
}

#[test]
fn a_wrong_passphrase_is_named_and_nothing_is_written() {
    let mut tool = initialized();
    tool.env("REPO_TOOL_PASSPHRASE", "not the passphrase");
    refused(&tool, &["targets", "add", "repo", "fw.bin"], "wrong passphrase");
}

#[test]
fn a_missing_key_names_the_role_and_the_key() {
    let tool = initialized();
    std::fs::rename(tool.path("repo/keys/targets-1.pem"), tool.path("elsewhere.pem")).unwrap();
    refused(&tool, &["targets", "add", "repo", "fw.bin"], "targets: 0 of 1 signatures, missing key");
    // With the key given explicitly, it works.
    tool.ok(&["targets", "add", "repo", "fw.bin", "--key", "elsewhere.pem"]);
}

#[test]
fn expired_metadata_is_reported_by_verify() {
    let tool = initialized();
    tool.ok(&["publish", "repo", "out"]);
    let stderr = tool.fails(&["verify", "out", "--at", "2099-01-01T00:00:00Z"]);
    assert!(stderr.contains("expired at") && stderr.contains("(freeze)"), "{stderr}");
}

#[test]
fn a_tampered_published_target_is_caught_by_verify() {
    let tool = initialized();
    tool.ok(&["targets", "add", "repo", "fw.bin"]);
    tool.ok(&["publish", "repo", "out"]);
    let file = std::fs::read_dir(tool.path("out/targets")).unwrap().next().unwrap().unwrap().path();
    std::fs::write(&file, b"FIRMWARE").unwrap();
    let stderr = tool.fails(&["verify", "out"]);
    assert!(stderr.contains("target fw.bin: sha256 differs"), "{stderr}");
}

#[test]
fn a_tampered_working_copy_is_never_published() {
    let tool = initialized();
    tool.ok(&["targets", "add", "repo", "fw.bin"]);
    let shard = std::fs::read_dir(tool.path("repo/targets")).unwrap().next().unwrap().unwrap().path();
    let blob = std::fs::read_dir(shard).unwrap().next().unwrap().unwrap().path();
    std::fs::write(blob, b"evil!!!!").unwrap();
    let stderr = tool.fails(&["publish", "repo", "out"]);
    assert!(stderr.contains("does not match its metadata"), "{stderr}");
    assert!(!tool.path("out/metadata/timestamp.json").exists());
}

#[test]
fn impossible_thresholds_and_unknown_roles_are_refused() {
    let tool = Tool::new();
    let stderr = tool.fails(&["init", "repo", "--root-keys", "2", "--threshold", "root=3"]);
    assert!(stderr.contains("root: threshold 3 but only 2 key(s)"), "{stderr}");
    let tool = initialized();
    refused(
        &tool,
        &["root", "propose", "repo", "--threshold", "timestamp=2"],
        "timestamp: threshold 2 but only 1 key(s)",
    );
    refused(
        &tool,
        &["targets", "add", "repo", "fw.bin", "--role", "nobody"],
        "--role nobody: the repository has no such targets role",
    );
    refused(&tool, &["delegate", "repo", "--name", "targets", "--paths", "*"], "targets: a role of that name exists");
    refused(&tool, &["init", "repo"], "already holds a repository");
}

#[test]
fn an_interrupted_commit_is_finished_by_the_next_command() {
    let tool = initialized();
    // Simulate a crash after the commit record was written and one file was renamed.
    let metadata = tool.path("repo/metadata/timestamp.json");
    let current = std::fs::read(&metadata).unwrap();
    std::fs::create_dir_all(tool.path("repo/.staging")).unwrap();
    std::fs::write(tool.path("repo/.staging/0"), &current).unwrap();
    std::fs::write(tool.path("repo/.commit"), "0\tmetadata/timestamp.json\n").unwrap();
    tool.ok(&["status", "repo"]);
    assert!(!tool.path("repo/.commit").exists() && !tool.path("repo/.staging").exists());
    assert_eq!(std::fs::read(&metadata).unwrap(), current);
}
