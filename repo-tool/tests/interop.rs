//! Repositories written by repo-tool, served on 127.0.0.1, read by the peers: python-tuf's
//! ngclient (in a venv the test creates) and tough refresh and download a target, after
//! a root rotation with a 2-of-3 threshold and with hashed bins.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::Tool;
use repo_simulator::http::Server;
use repo_simulator::{peers, python};

/// Every file under `dir`, by relative path.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    common::tree(dir).into_iter().map(|(p, b)| (p.to_string_lossy().into_owned(), b)).collect()
}

/// A repository with root v2 (2 of 3), 16 hash bins (or succinct bins), and targets.
fn published(succinct: bool) -> Tool {
    let tool = Tool::new();
    tool.ok(&["init", "repo", "--root-keys", "3", "--threshold", "root=2", "--key-type", "ecdsa"]);
    tool.ok(&["key", "generate", "--out", "bins.pem"]);
    let mut bins = vec!["bins", "repo", "16", "--key", "bins.pem"];
    if succinct {
        bins.push("--succinct");
    }
    tool.ok(&bins);
    for i in 0..12 {
        tool.write(&format!("src/image-{i}.bin"), format!("image {i}\n").as_bytes());
    }
    tool.ok(&["targets", "add", "repo", "src"]);
    tool.ok(&["root", "propose", "repo", "--out", "v2.json"]);
    tool.ok(&["sign", "v2.json", "--key", "repo-offline-keys/root-1.pem"]);
    tool.ok(&["sign", "v2.json", "--key", "repo-offline-keys/root-3.pem"]);
    tool.ok(&["apply", "repo", "v2.json"]);
    tool.ok(&["publish", "repo", "out"]);
    tool
}

fn serve(tool: &Tool) -> Server {
    let server = Server::start();
    server.put_all("", &files(&tool.path("out")));
    server
}

fn python_tuf_download(tool: &Tool, server: &Server, target: &str) -> Vec<u8> {
    let md = tool.path("py-md");
    let td = tool.path("py-td");
    std::fs::create_dir_all(&md).unwrap();
    std::fs::create_dir_all(&td).unwrap();
    std::fs::copy(tool.path("out/metadata/1.root.json"), md.join("root.json")).unwrap();
    let script = python::workspace().join("bench/ngclient_download.py");
    let out = Command::new(python::python())
        .args([
            script.to_str().unwrap(),
            md.to_str().unwrap(),
            &server.url("metadata/"),
            &server.url("targets/"),
            target,
            td.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "python-tuf failed:\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&std::fs::read(md.join("root.json")).unwrap()).unwrap()["signed"]["version"],
        2
    );
    std::fs::read(td.join(metadata_schemas::percent_encode(target))).unwrap()
}

fn tough_download(tool: &Tool, server: &Server, target: &str) -> Vec<u8> {
    let root = tool.path("out/metadata/1.root.json");
    let download = peers::tough_download(&root, &server.url("metadata/"), &server.url("targets/"), target)
        .unwrap_or_else(|e| panic!("tough cannot load the repository: {e}"));
    assert_eq!(download.root_version, 2);
    download.bytes
}

#[test]
fn python_tuf_reads_a_repo_tool_repository_after_rotation_with_hash_bins() {
    let tool = published(false);
    let server = serve(&tool);
    assert_eq!(python_tuf_download(&tool, &server, "image-7.bin"), b"image 7\n");
}

#[test]
fn python_tuf_reads_succinct_hash_bins() {
    let tool = published(true);
    let server = serve(&tool);
    assert_eq!(python_tuf_download(&tool, &server, "image-3.bin"), b"image 3\n");
}

#[test]
fn tough_reads_a_repo_tool_repository_after_rotation_with_hash_bins() {
    let tool = published(false);
    let server = serve(&tool);
    assert_eq!(tough_download(&tool, &server, "image-5.bin"), b"image 5\n");
}
