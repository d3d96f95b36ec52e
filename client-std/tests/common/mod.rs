//! Shared test setup: a repository simulator served over HTTP, and a harness that runs
//! the `update-client` binary the way the TUF conformance suite does.

#![allow(dead_code, unused_imports)]

pub use repo_simulator::{http as server, python};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use repo_simulator::RepoSim;
pub use server::{Fault, Server};

/// A repository published by a simulator, served by a test server.
pub struct Repo {
    pub sim: RepoSim,
    pub server: Server,
}

impl Repo {
    /// A fresh repository valid at the system time, served on 127.0.0.1.
    pub fn new() -> Repo {
        let sim = RepoSim::new(chrono::Utc::now());
        let repo = Repo { sim, server: Server::start() };
        repo.serve();
        repo
    }

    /// Serves the simulator's current files.
    pub fn serve(&self) {
        self.server.put_all("metadata/", &self.sim.files);
        self.server.put_all("targets/", &self.sim.target_files);
    }

    pub fn metadata_url(&self) -> String {
        self.server.url("metadata/")
    }

    pub fn targets_url(&self) -> String {
        self.server.url("targets/")
    }

    /// Metadata requests since the log was cleared (without the `metadata/` prefix).
    pub fn metadata_requests(&self) -> Vec<String> {
        self.server.log().iter().filter_map(|p| p.strip_prefix("metadata/").map(String::from)).collect()
    }

    pub fn target_requests(&self) -> Vec<String> {
        self.server.log().iter().filter_map(|p| p.strip_prefix("targets/").map(String::from)).collect()
    }
}

/// A client's metadata and target directories, and the binary.
pub struct Cli {
    _dir: tempfile::TempDir,
    pub md: PathBuf,
    pub td: PathBuf,
}

impl Cli {
    pub fn new() -> Cli {
        let dir = tempfile::tempdir().expect("tempdir");
        let (md, td) = (dir.path().join("md"), dir.path().join("td"));
        std::fs::create_dir(&md).unwrap();
        std::fs::create_dir(&td).unwrap();
        Cli { _dir: dir, md, td }
    }

    /// Runs `update-client` with `args`.
    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_update-client"))
            .args(args)
            .env("RUST_LOG", "update_client=debug,client_std=debug")
            .env_remove("HTTP_PROXY")
            .env_remove("http_proxy")
            .output()
            .expect("run update-client")
    }

    /// `init` with `root`.
    pub fn init(&self, root: &[u8]) -> Output {
        let file = self.md.parent().unwrap().join("trusted-root.json");
        std::fs::write(&file, root).unwrap();
        self.run(&["--metadata-dir", s(&self.md), "init", s(&file)])
    }

    /// `refresh` against `repo`.
    pub fn refresh(&self, repo: &Repo) -> Output {
        self.run(&["--metadata-url", &repo.metadata_url(), "--metadata-dir", s(&self.md), "refresh"])
    }

    /// `download` of `targets` from `repo`.
    pub fn download(&self, repo: &Repo, targets: &[&str]) -> Output {
        let (murl, turl) = (repo.metadata_url(), repo.targets_url());
        let mut args = vec![
            "--metadata-url",
            &murl,
            "--metadata-dir",
            s(&self.md),
            "--target-dir",
            s(&self.td),
            "--target-base-url",
            &turl,
        ];
        for t in targets {
            args.extend(["--target-name", t]);
        }
        args.push("download");
        self.run(&args)
    }

    /// File names in the metadata directory, sorted (hidden files included).
    pub fn md_files(&self) -> Vec<String> {
        list(&self.md)
    }

    pub fn td_files(&self) -> Vec<String> {
        list(&self.td)
    }

    /// The `signed.version` of a metadata file.
    pub fn version(&self, file: &str) -> Option<u64> {
        let bytes = std::fs::read(self.md.join(file)).ok()?;
        let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
        value["signed"]["version"].as_u64()
    }
}

pub fn s(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

fn list(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

/// Asserts exit status 0, showing stderr otherwise.
#[track_caller]
pub fn assert_success(output: &Output) {
    assert_eq!(output.status.code(), Some(0), "stderr:\n{}", String::from_utf8_lossy(&output.stderr));
}

/// Asserts exit status 1 and returns stderr.
#[track_caller]
pub fn assert_failure(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(1), "stderr:\n{stderr}");
    stderr
}
