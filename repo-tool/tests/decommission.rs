//! The image repository's half of a decommissioning: `repo-tool decommission` signs the
//! command with the director's nonce as the target `decommission/<vin>.json`, which a
//! client reads back from the published repository; bad input changes nothing.

mod common;

use common::{Tool, client_download};
use metadata_schemas::Decode;
use metadata_schemas::uptane::{DecommissionCommand, EraseItem};

const NONCE: &str = "5f0c3b9a7d1e4f2a8b6c0d9e3f1a2b4c";

fn repository() -> Tool {
    let mut tool = Tool::new();
    tool.env("REPO_TOOL_PASSPHRASE", "decommission test");
    tool.ok(&["init", "repo"]);
    tool
}

#[test]
fn a_decommission_command_is_a_signed_target_with_the_directors_nonce() {
    let tool = repository();
    let said = tool.ok(&["decommission", "repo", "--vin", "VIN123", "--nonce", NONCE, "--erase", "keys,credentials"]);
    assert!(said.contains("decommission/VIN123.json: decommission VIN123"), "{said}");
    tool.ok(&["publish", "repo", "published"]);
    let anchor = std::fs::read(tool.path("repo/metadata/roots/1.root.json")).unwrap();
    let bytes = client_download(&tool.path("published"), &anchor, "decommission/VIN123.json").unwrap();
    let command = DecommissionCommand::decode(&metadata_schemas::json::parse(&bytes).unwrap()).unwrap();
    assert_eq!((command.vin.as_str(), command.nonce.as_str()), ("VIN123", NONCE));
    assert_eq!(command.erase, vec![EraseItem::Keys, EraseItem::Credentials]);
    let log = std::fs::read_to_string(tool.path("repo/audit/log.jsonl")).unwrap();
    assert!(log.contains("decommission-signed") && log.contains(NONCE), "{log}");
}

#[test]
fn a_decommission_command_without_the_directors_nonce_or_with_an_unknown_erase_item_changes_nothing() {
    let tool = repository();
    let before = tool.json(&["targets", "list", "repo"]);
    let error = tool.fails(&["decommission", "repo", "--vin", "VIN123", "--nonce", "guess"]);
    assert!(error.contains("director decommission request"), "{error}");
    let error = tool.fails(&["decommission", "repo", "--vin", "VIN123", "--nonce", NONCE, "--erase", "firmware"]);
    assert!(error.contains("keys, credentials or downloads"), "{error}");
    assert_eq!(tool.json(&["targets", "list", "repo"]), before);
}
