//! `repo-tool bundle create`: an offline bundle a device verifies with only the director
//! root it trusts; a key the root does not name, a path the repository does not list, or
//! a root without offline keys is refused and leaves nothing behind.

mod common;

use std::os::unix::fs::PermissionsExt;

use chrono::Utc;
use common::Tool;
use metadata_schemas::uptane::{EcuSerial, HardwareId, Vin, bundle_paths};
use repo_simulator::RepoSim;
use threshold_keys::KeyFileSigner;
use update_verifier::Limits;
use update_verifier::uptane::{EcuIdentity, OfflineFloor, offline_image_for_ecu, verify_offline_metadata};

const PASSPHRASE: &str = "bundle test";
const FIRMWARE: &[u8] = b"brake firmware 3 for the USB stick";

/// A repository listing brake firmware 3 for brake-hw-a, and a director root naming an
/// offline key (written to `offline.pem`, mode 0600).
fn setup() -> (Tool, RepoSim) {
    let mut tool = Tool::new();
    tool.env("REPO_TOOL_PASSPHRASE", PASSPHRASE);
    tool.ok(&["init", "repo"]);
    std::fs::write(tool.path("fw-3.bin"), FIRMWARE).unwrap();
    tool.ok(&[
        "targets",
        "add",
        "repo",
        "fw-3.bin",
        "--path",
        "brake/fw-3.bin",
        "--hardware-id",
        "brake-hw-a",
        "--release-counter",
        "3",
    ]);
    let mut director = RepoSim::new(Utc::now());
    let offline = director.add_offline_key();
    write_key(&tool, "offline.pem", &offline);
    std::fs::write(tool.path("director-1.root.json"), director.file("1.root.json")).unwrap();
    (tool, director)
}

fn write_key(tool: &Tool, name: &str, key: &KeyFileSigner) {
    let path = tool.path(name);
    std::fs::write(&path, key.to_encrypted_pem(PASSPHRASE.as_bytes()).unwrap()).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

fn create(tool: &Tool, key: &str, image: &str, out: &str) -> std::process::Output {
    tool.run(&[
        "bundle",
        "create",
        "repo",
        "--director-root",
        "director-1.root.json",
        "--offline-key",
        key,
        "--image",
        image,
        "--vin",
        "VIN123",
        "--install-order",
        "brake-hw-a",
        "--out",
        out,
    ])
}

#[test]
fn a_bundle_verifies_on_a_device_with_only_the_director_root_and_is_audited() {
    let (tool, director) = setup();
    let output = create(&tool, "offline.pem", "brake/fw-3.bin", "usb");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let read = |rel: &str| std::fs::read(tool.path("usb").join(rel)).unwrap();
    let floor = OfflineFloor { time: Utc::now(), targets_version: 0 };
    let snapshot = read(bundle_paths::OFFLINE_SNAPSHOT);
    let targets = read(bundle_paths::OFFLINE_TARGETS);
    let bundle = verify_offline_metadata(&director.root, &snapshot, &targets, &floor, &Limits::default()).unwrap();
    assert_eq!(bundle.custom().name, "usb");
    assert_eq!(bundle.custom().allowed_vins.as_deref(), Some(&[Vin::new("VIN123").unwrap()][..]));
    let ecu = EcuIdentity {
        vin: Vin::new("VIN123").unwrap(),
        serial: EcuSerial::new("brake-1").unwrap(),
        hardware_id: HardwareId::new("brake-hw-a").unwrap(),
    };
    let image = offline_image_for_ecu(&bundle, &ecu, 0).unwrap().unwrap();
    assert_eq!(image.custom.release_counter, 3);
    assert_eq!(read("targets/brake/fw-3.bin"), FIRMWARE);
    assert!(tool.path("usb").join("image/1.root.json").exists() && tool.path("usb/director/1.root.json").exists());
    let log = std::fs::read_to_string(tool.path("repo/audit/log.jsonl")).unwrap();
    assert!(log.contains("bundle-signed") && log.contains("brake/fw-3.bin (counter 3)"), "{log}");
}

#[test]
fn a_bundle_signed_by_a_key_the_director_root_does_not_name_is_refused_and_nothing_is_written() {
    let (tool, _) = setup();
    write_key(&tool, "other.pem", &repo_simulator::new_key());
    let output = create(&tool, "other.pem", "brake/fw-3.bin", "usb");
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success() && said.contains("offline-snapshot"), "{said}");
    assert!(!tool.path("usb").exists());
    let leftovers: Vec<_> = std::fs::read_dir(tool.path(""))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".bundle-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_path_the_repository_does_not_list_or_a_root_without_offline_keys_is_refused() {
    let (tool, _) = setup();
    let said = String::from_utf8_lossy(&create(&tool, "offline.pem", "brake/fw-9.bin", "usb").stderr).into_owned();
    assert!(said.contains("brake/fw-9.bin: the repository does not list it"), "{said}");
    let plain = RepoSim::new(Utc::now());
    std::fs::write(tool.path("director-1.root.json"), plain.file("1.root.json")).unwrap();
    let said = String::from_utf8_lossy(&create(&tool, "offline.pem", "brake/fw-3.bin", "usb").stderr).into_owned();
    assert!(said.contains("x-offline-updates"), "{said}");
    assert!(!tool.path("usb").exists());
}

#[test]
fn a_bundle_carries_an_image_a_hash_bin_lists() {
    let (tool, director) = setup();
    tool.ok(&["key", "generate", "--out", "bins.pem"]);
    tool.ok(&["bins", "repo", "16", "--key", "bins.pem"]);
    std::fs::write(tool.path("fw-4.bin"), b"brake firmware 4, in a hash bin").unwrap();
    tool.ok(&[
        "targets",
        "add",
        "repo",
        "fw-4.bin",
        "--path",
        "brake/fw-4.bin",
        "--hardware-id",
        "brake-hw-a",
        "--release-counter",
        "4",
    ]);
    let output = create(&tool, "offline.pem", "brake/fw-4.bin", "usb");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let read = |rel: &str| std::fs::read(tool.path("usb").join(rel)).unwrap();
    let floor = OfflineFloor { time: Utc::now(), targets_version: 0 };
    let snapshot = read(bundle_paths::OFFLINE_SNAPSHOT);
    let targets = read(bundle_paths::OFFLINE_TARGETS);
    let bundle = verify_offline_metadata(&director.root, &snapshot, &targets, &floor, &Limits::default()).unwrap();
    assert!(bundle.targets().targets.keys().any(|p| p.as_str() == "brake/fw-4.bin"));
    assert_eq!(read("targets/brake/fw-4.bin"), b"brake firmware 4, in a hash bin");
}
