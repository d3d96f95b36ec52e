//! Creating and maintaining repositories: every published state verifies with the
//! project's own client, targets carry Uptane custom data, delegations and bins route
//! targets, and refresh re-signs only what it must.

mod common;

use common::{Tool, client_download, tree};

fn initialized() -> Tool {
    let tool = Tool::new();
    tool.ok(&["init", "repo"]);
    tool
}

fn anchor(tool: &Tool) -> Vec<u8> {
    std::fs::read(tool.path("repo/metadata/roots/1.root.json")).unwrap()
}

#[test]
fn init_publish_and_a_client_downloads_a_target() {
    let tool = initialized();
    tool.write("fw.bin", b"firmware 1.0");
    tool.ok(&["targets", "add", "repo", "fw.bin", "--path", "ecu/fw-1.0.bin"]);
    tool.ok(&["publish", "repo", "out"]);
    let out = tool.ok(&["verify", "out", "--root", "repo/metadata/roots/1.root.json"]);
    assert!(out.contains("OK: root v1, 1 targets role(s), 1 target(s) with verified content"), "{out}");
    assert_eq!(client_download(&tool.path("out"), &anchor(&tool), "ecu/fw-1.0.bin").unwrap(), b"firmware 1.0");
    let names: Vec<String> = std::fs::read_dir(tool.path("out/metadata"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    for name in ["1.root.json", "2.snapshot.json", "2.targets.json", "timestamp.json"] {
        assert!(names.contains(&name.to_string()), "{names:?}");
    }
}

#[test]
fn uptane_image_targets_carry_hardware_ids_and_release_counter() {
    let tool = initialized();
    tool.write("brake.bin", b"brake firmware");
    tool.ok(&[
        "targets",
        "add",
        "repo",
        "brake.bin",
        "--path",
        "brake/fw-7.bin",
        "--hardware-id",
        "brake-hw-a",
        "--hardware-id",
        "brake-hw-b",
        "--release-counter",
        "7",
        "--custom",
        r#"{"notes": "fixes"}"#,
    ]);
    let list = tool.json(&["targets", "list", "repo"]);
    let entry = &list[0];
    assert_eq!(entry["path"], "brake/fw-7.bin");
    assert_eq!(entry["custom"]["hardware_identifiers"], serde_json::json!(["brake-hw-a", "brake-hw-b"]));
    assert_eq!(entry["custom"]["release_counter"], 7);
    assert_eq!(entry["custom"]["notes"], "fixes");
}

#[test]
fn a_directory_of_files_is_added_by_relative_path_and_targets_can_be_removed() {
    let tool = initialized();
    tool.write("build/a.bin", b"a");
    tool.write("build/sub/b.bin", b"bb");
    tool.ok(&["targets", "add", "repo", "build", "--path", "release-3"]);
    let paths: Vec<String> = tool
        .json(&["targets", "list", "repo"])
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["path"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(paths, ["release-3/a.bin", "release-3/sub/b.bin"]);
    tool.ok(&["targets", "remove", "repo", "release-3/a.bin"]);
    let paths = tool.json(&["targets", "list", "repo"]);
    assert_eq!(paths.as_array().unwrap().len(), 1);
    assert!(!tool.path("repo/targets/release-3/a.bin").exists());
    tool.ok(&["publish", "repo", "out"]);
    assert!(client_download(&tool.path("out"), &anchor(&tool), "release-3/a.bin").is_err());
    assert_eq!(client_download(&tool.path("out"), &anchor(&tool), "release-3/sub/b.bin").unwrap(), b"bb");
}

#[test]
fn delegated_roles_sign_for_their_paths() {
    let tool = initialized();
    tool.ok(&["key", "generate", "--out", "brake.pem"]);
    tool.ok(&[
        "delegate",
        "repo",
        "--name",
        "brake-team",
        "--paths",
        "ecu/brake/*",
        "--key",
        "brake.pem",
        "--terminating",
    ]);
    tool.write("b.bin", b"brake");
    tool.write("o.bin", b"other");
    tool.ok(&["targets", "add", "repo", "b.bin", "--path", "ecu/brake/b.bin"]);
    tool.ok(&["targets", "add", "repo", "o.bin", "--path", "ecu/other/o.bin"]);
    let list = tool.json(&["targets", "list", "repo"]);
    let role_of = |path: &str| {
        list.as_array().unwrap().iter().find(|t| t["path"] == path).unwrap()["role"].as_str().unwrap().to_string()
    };
    assert_eq!(role_of("ecu/brake/b.bin"), "brake-team");
    assert_eq!(role_of("ecu/other/o.bin"), "targets");
    tool.ok(&["publish", "repo", "out"]);
    assert_eq!(client_download(&tool.path("out"), &anchor(&tool), "ecu/brake/b.bin").unwrap(), b"brake");
}

#[test]
fn hash_bins_route_every_target_to_its_bin() {
    for style in [&[][..], &["--succinct"][..]] {
        let tool = initialized();
        tool.ok(&["key", "generate", "--out", "bins.pem"]);
        let mut args = vec!["bins", "repo", "16", "--key", "bins.pem"];
        args.extend_from_slice(style);
        tool.ok(&args);
        for i in 0..20 {
            tool.write(&format!("src/f{i}.txt"), format!("file {i}").as_bytes());
        }
        tool.ok(&["targets", "add", "repo", "src"]);
        let list = tool.json(&["targets", "list", "repo"]);
        assert!(list.as_array().unwrap().iter().all(|t| t["role"].as_str().unwrap().starts_with("bin-")), "{style:?}");
        tool.ok(&["publish", "repo", "out"]);
        tool.ok(&["verify", "out"]);
        assert_eq!(client_download(&tool.path("out"), &anchor(&tool), "f7.txt").unwrap(), b"file 7", "{style:?}");
    }
}

#[test]
fn refresh_resigns_only_what_is_due() {
    let tool = initialized();
    assert_eq!(tool.ok(&["refresh", "repo"]).trim(), "nothing to do");
    let before = tree(&tool.path("repo"));
    assert_eq!(tool.ok(&["refresh", "repo"]).trim(), "nothing to do");
    assert_eq!(tree(&tool.path("repo")), before, "a refresh with nothing to do writes nothing");
    let versions = |tool: &Tool| {
        let status = tool.json(&["status", "repo"]);
        let version = |role: &str| {
            status.as_array().unwrap().iter().find(|r| r["role"] == role).unwrap()["version"].as_u64().unwrap()
        };
        (version("targets"), version("snapshot"), version("timestamp"))
    };
    // A margin longer than the timestamp's 1-day lifetime: only the timestamp is due.
    assert_eq!(tool.ok(&["refresh", "repo", "--margin", "2d"]).trim(), "timestamp re-signed");
    assert_eq!(versions(&tool), (1, 1, 2));
    // Longer than the snapshot's 7 days: both.
    assert_eq!(tool.ok(&["refresh", "repo", "--margin", "8d"]).trim(), "snapshot and timestamp re-signed");
    assert_eq!(versions(&tool), (1, 2, 3));
}

#[test]
fn status_reports_each_role_and_its_signatures() {
    let tool = Tool::new();
    tool.ok(&["init", "repo", "--root-keys", "3", "--threshold", "root=2"]);
    let out = tool.ok(&["status", "repo"]);
    assert!(out.contains("root v1: threshold met: 3 signatures, 2 needed"), "{out}");
    assert!(out.contains("timestamp v1: threshold met: 1 signatures, 1 needed"), "{out}");
}

#[test]
fn every_command_has_help_with_examples() {
    let tool = Tool::new();
    for command in [
        &["init"][..],
        &["targets", "add"],
        &["delegate"],
        &["bins"],
        &["root", "propose"],
        &["sign"],
        &["merge"],
        &["apply"],
        &["rotate"],
        &["refresh"],
        &["verify"],
        &["publish"],
        &["key", "generate"],
        &["key", "change-passphrase"],
        &["show"],
        &["status"],
        &["audit", "verify"],
    ] {
        let mut args = command.to_vec();
        args.push("--help");
        let out = tool.ok(&args);
        assert!(out.contains("Example"), "{command:?} help has no example:\n{out}");
        assert!(!out.lines().any(|l| l.trim() == "\\"), "{command:?} help has a stray backslash:\n{out}");
    }
}

#[test]
fn large_and_duplicate_targets_share_one_stored_copy_and_publish_intact() {
    let tool = initialized();
    let image: Vec<u8> = (0..3 * 1024 * 1024 + 17).map(|i| (i * 7 % 251) as u8).collect();
    tool.write("image.bin", &image);
    tool.write("copy.bin", &image);
    tool.ok(&["targets", "add", "repo", "image.bin", "copy.bin"]);
    let stored: Vec<_> = walk_files(&tool.path("repo/targets"));
    assert_eq!(stored.len(), 1, "one content, one stored file: {stored:?}");
    tool.ok(&["publish", "repo", "out"]);
    tool.ok(&["verify", "out", "--root", "repo/metadata/roots/1.root.json"]);
    for path in ["image.bin", "copy.bin"] {
        assert_eq!(client_download(&tool.path("out"), &anchor(&tool), path).unwrap(), image);
    }
}

fn walk_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() { found.extend(walk_files(&path)) } else { found.push(path) }
    }
    found
}
