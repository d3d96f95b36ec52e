//! A hardware id's support period, published by `repo-tool lifecycle set` as a signed
//! target that every image of the hardware id refers to, and read back by a client from
//! the published repository; a date moved earlier is warned about and audited.

mod common;

use common::{Tool, client_download};
use metadata_schemas::Decode;
use metadata_schemas::uptane::{LifecycleRecord, SupportState, support_state};

fn repository() -> Tool {
    let mut tool = Tool::new();
    tool.env("REPO_TOOL_PASSPHRASE", "lifecycle test");
    tool.ok(&["init", "repo"]);
    tool.write("fw-1.bin", b"brake firmware 1");
    tool.ok(&[
        "targets",
        "add",
        "repo",
        "fw-1.bin",
        "--path",
        "brake/fw-1.bin",
        "--hardware-id",
        "brake-hw",
        "--release-counter",
        "1",
    ]);
    tool
}

fn listed(tool: &Tool, path: &str) -> serde_json::Value {
    let list = tool.json(&["targets", "list", "repo"]);
    list.as_array().unwrap().iter().find(|t| t["path"] == path).cloned().unwrap_or_else(|| panic!("{path} in {list}"))
}

#[test]
fn a_support_period_is_a_signed_target_every_image_of_the_hardware_id_refers_to() {
    let tool = repository();
    let set = ["lifecycle", "set", "repo", "--hardware-id", "brake-hw", "--end-of-security-support", "2031-12-31"];
    let said = tool.ok(&[&set[..], &["--notice-url", "https://example.com/brake/eol"]].concat());
    assert!(said.contains("lifecycle/brake-hw.json v1: security support until 2031-12-31"), "{said}");
    let reference = &listed(&tool, "brake/fw-1.bin")["custom"]["lifecycle"];
    assert_eq!(reference["record"], "lifecycle/brake-hw.json");
    assert_eq!(reference["end_of_security_support"], "2031-12-31T00:00:00Z");
    // An image added later for the hardware id points to the record as well.
    tool.write("fw-2.bin", b"brake firmware 2");
    tool.ok(&[
        "targets",
        "add",
        "repo",
        "fw-2.bin",
        "--path",
        "brake/fw-2.bin",
        "--hardware-id",
        "brake-hw",
        "--release-counter",
        "2",
    ]);
    assert_eq!(listed(&tool, "brake/fw-2.bin")["custom"]["lifecycle"], *reference);

    // A client fetches the record through the published, signed metadata.
    tool.ok(&["publish", "repo", "published"]);
    let anchor = std::fs::read(tool.path("repo/metadata/roots/1.root.json")).unwrap();
    let bytes = client_download(&tool.path("published"), &anchor, "lifecycle/brake-hw.json").unwrap();
    let record = LifecycleRecord::decode(&metadata_schemas::json::parse(&bytes).unwrap()).unwrap();
    assert_eq!((record.hardware_identifier.as_str(), record.version), ("brake-hw", 1));
    assert_eq!(record.notice_url.as_deref(), Some("https://example.com/brake/eol"));
    let end = record.end_of_security_support.time().timestamp();
    assert_eq!(support_state(end, end - 400 * 86_400), SupportState::Supported);
    assert_eq!(support_state(end, end - 30 * 86_400), SupportState::Ending { days_left: 30 });
}

#[test]
fn a_support_period_moved_earlier_is_accepted_warned_about_and_audited() {
    let tool = repository();
    tool.ok(&["lifecycle", "set", "repo", "--hardware-id", "brake-hw", "--end-of-security-support", "2031-12-31"]);
    let out =
        tool.run(&["lifecycle", "set", "repo", "--hardware-id", "brake-hw", "--end-of-security-support", "2030-06-30"]);
    assert!(out.status.success());
    let warning = String::from_utf8_lossy(&out.stderr);
    assert!(warning.contains("moves earlier, from 2031-12-31T00:00:00Z to 2030-06-30T00:00:00Z"), "{warning}");
    assert_eq!(
        listed(&tool, "brake/fw-1.bin")["custom"]["lifecycle"]["end_of_security_support"],
        "2030-06-30T00:00:00Z"
    );
    let log = std::fs::read_to_string(tool.path("repo/audit/log.jsonl")).unwrap();
    assert!(log.contains("lifecycle-earlier") && log.contains("lifecycle-set"), "{log}");
}

#[test]
fn a_bad_date_is_refused_and_changes_nothing() {
    let tool = repository();
    let before = listed(&tool, "brake/fw-1.bin");
    let error = tool.fails(&[
        "lifecycle",
        "set",
        "repo",
        "--hardware-id",
        "brake-hw",
        "--end-of-security-support",
        "31.12.2031",
    ]);
    assert!(error.contains("YYYY-MM-DD"), "{error}");
    assert_eq!(listed(&tool, "brake/fw-1.bin"), before);
}

#[test]
fn a_security_update_names_its_advisories_and_its_sbom_is_a_signed_target_beside_it() {
    let tool = repository();
    tool.write("fw-2.bin", b"brake firmware 2");
    let sbom = br#"{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"name":"brake-fw","version":"2"}]}"#;
    tool.write("fw-2.cdx.json", sbom);
    tool.ok(&[
        "targets",
        "add",
        "repo",
        "fw-2.bin",
        "--path",
        "brake/fw-2.bin",
        "--hardware-id",
        "brake-hw",
        "--release-counter",
        "2",
        "--advisory",
        "CVE-2026-1234",
        "--sbom",
        "fw-2.cdx.json",
    ]);
    let custom = &listed(&tool, "brake/fw-2.bin")["custom"];
    assert_eq!(
        (&custom["security"], &custom["advisories"]),
        (&serde_json::json!(true), &serde_json::json!(["CVE-2026-1234"]))
    );
    let named = &custom["sbom"][0];
    assert_eq!(
        (&named["filename"], &named["format"]),
        (&serde_json::json!("brake/fw-2.bin.cdx.json"), &serde_json::json!("cyclonedx-json-1.6"))
    );
    assert_eq!(named["length"], sbom.len());
    assert_eq!(listed(&tool, "brake/fw-2.bin.cdx.json")["custom"]["sbom_of"], "brake/fw-2.bin");
    tool.ok(&["publish", "repo", "published"]);
    let anchor = std::fs::read(tool.path("repo/metadata/roots/1.root.json")).unwrap();
    let fetched = client_download(&tool.path("published"), &anchor, "brake/fw-2.bin.cdx.json").unwrap();
    assert_eq!(fetched, sbom.to_vec(), "the SBOM a client fetches is the one signed");
}

#[test]
fn a_file_that_is_no_sbom_is_refused_and_nothing_is_added() {
    let tool = repository();
    tool.write("fw-2.bin", b"brake firmware 2");
    tool.write("notes.json", br#"{"name": "not an SBOM"}"#);
    let before = tool.json(&["targets", "list", "repo"]);
    let error = tool.fails(&[
        "targets",
        "add",
        "repo",
        "fw-2.bin",
        "--path",
        "brake/fw-2.bin",
        "--hardware-id",
        "brake-hw",
        "--release-counter",
        "2",
        "--sbom",
        "notes.json",
    ]);
    assert!(error.contains("not a CycloneDX or SPDX JSON document"), "{error}");
    assert_eq!(tool.json(&["targets", "list", "repo"]), before);
}

#[test]
fn a_final_release_is_declared_in_the_record_and_in_every_image_that_points_to_it() {
    let tool = repository();
    let set = ["lifecycle", "set", "repo", "--hardware-id", "brake-hw", "--end-of-security-support", "2031-12-31"];
    tool.ok(&[&set[..], &["--final-release"]].concat());
    assert_eq!(listed(&tool, "brake/fw-1.bin")["custom"]["lifecycle"]["final_release"], true);
    tool.ok(&set);
    assert!(listed(&tool, "brake/fw-1.bin")["custom"]["lifecycle"]["final_release"].is_null(), "withdrawn again");
}
