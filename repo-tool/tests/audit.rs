//! The audit log: every signing event and change is recorded, chained and signed;
//! `audit verify` detects an edited, removed or reordered entry and a truncated log.

mod common;

use common::Tool;

fn with_history() -> Tool {
    let tool = Tool::new();
    tool.ok(&["init", "repo"]);
    for i in 0..3 {
        tool.write(&format!("f{i}.bin"), format!("file {i}").as_bytes());
        tool.ok(&["targets", "add", "repo", &format!("f{i}.bin")]);
    }
    tool
}

fn log(tool: &Tool) -> Vec<String> {
    std::fs::read_to_string(tool.path("repo/audit/log.jsonl")).unwrap().lines().map(String::from).collect()
}

fn write_log(tool: &Tool, lines: &[String]) {
    tool.write("repo/audit/log.jsonl", (lines.join("\n") + "\n").as_bytes());
}

#[test]
fn every_signing_event_is_logged_and_the_chain_verifies() {
    let tool = with_history();
    let out = tool.ok(&["audit", "verify", "repo"]);
    assert!(out.contains("audit log OK"), "{out}");
    let entries = tool.json(&["audit", "list", "repo"]);
    let signs = entries.as_array().unwrap().iter().filter(|e| e["action"] == "sign").count();
    assert_eq!(signs, 4 + 3 * 3, "init signs 4 roles, each add signs targets, snapshot, timestamp");
    for entry in entries.as_array().unwrap().iter().filter(|e| e["action"] == "sign") {
        assert_eq!(entry["signed_sha256"].as_str().unwrap().len(), 64);
        assert!(!entry["keyids"].as_array().unwrap().is_empty());
    }
}

#[test]
fn an_edited_entry_is_detected() {
    let tool = with_history();
    let mut lines = log(&tool);
    lines[3] = lines[3].replace("\"action\":\"sign\"", "\"action\":\"SIGN\"");
    write_log(&tool, &lines);
    let stderr = tool.fails(&["audit", "verify", "repo"]);
    assert!(stderr.contains("line 5 does not follow the line before it"), "{stderr}");
}

#[test]
fn a_removed_entry_is_detected() {
    let tool = with_history();
    let mut lines = log(&tool);
    lines.remove(2);
    write_log(&tool, &lines);
    let stderr = tool.fails(&["audit", "verify", "repo"]);
    assert!(stderr.contains("line 3 has seq 4"), "{stderr}");
}

#[test]
fn reordered_entries_are_detected() {
    let tool = with_history();
    let mut lines = log(&tool);
    lines.swap(4, 5);
    write_log(&tool, &lines);
    let stderr = tool.fails(&["audit", "verify", "repo"]);
    assert!(stderr.contains("line 5 has seq 6"), "{stderr}");
}

#[test]
fn a_truncated_log_no_longer_matches_its_signed_head() {
    let tool = with_history();
    let mut lines = log(&tool);
    lines.truncate(lines.len() - 2);
    write_log(&tool, &lines);
    let stderr = tool.fails(&["audit", "verify", "repo"]);
    assert!(stderr.contains("truncated or appended"), "{stderr}");
}

#[test]
fn a_forged_head_is_detected() {
    let tool = with_history();
    let head = std::fs::read_to_string(tool.path("repo/audit/head.json")).unwrap();
    let forged = head.replacen("\"seq\": ", "\"seq\": 1", 1);
    tool.write("repo/audit/head.json", forged.as_bytes());
    let stderr = tool.fails(&["audit", "verify", "repo"]);
    assert!(stderr.contains("head is not signed by the audit key"), "{stderr}");
}
