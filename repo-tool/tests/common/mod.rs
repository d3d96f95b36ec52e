//! Running `repo-tool` in a scratch directory, and checking results with the project's
//! own client.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use client_std::{DirectoryTransport, Updater, UpdaterConfig};

/// The passphrase every test key file uses.
pub const PASSPHRASE: &str = "correct horse battery staple";

/// A scratch directory to run `repo-tool` in.
pub struct Tool {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Tool {
    pub fn new() -> Tool {
        Tool { dir: tempfile::tempdir().unwrap(), env: vec![("REPO_TOOL_PASSPHRASE".into(), PASSPHRASE.into())] }
    }

    /// A SoftHSM2 token `label` (user PIN `pin`) with its store under `dir`, which every
    /// later run uses (SOFTHSM2_CONF).
    pub fn softhsm_token(&mut self, dir: &str, label: &str, pin: &str) {
        let tokens = self.path(&format!("{dir}/tokens"));
        std::fs::create_dir_all(&tokens).unwrap();
        let conf = self.write(
            &format!("{dir}/softhsm2.conf"),
            format!("directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n", tokens.display())
                .as_bytes(),
        );
        self.env("SOFTHSM2_CONF", conf.to_str().unwrap());
        let init = Command::new("softhsm2-util")
            .args(["--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", "13579"])
            .env("SOFTHSM2_CONF", &conf)
            .output()
            .expect("softhsm2-util (Debian package softhsm2) must be installed");
        assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));
    }

    /// Sets an environment variable for every run.
    pub fn env(&mut self, name: &str, value: &str) {
        self.env.push((name.into(), value.into()));
    }

    /// A path inside the scratch directory.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Runs `repo-tool` with `args` in the scratch directory.
    pub fn run(&self, args: &[&str]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_repo-tool"));
        command.args(args).current_dir(self.dir.path());
        for (k, v) in &self.env {
            command.env(k, v);
        }
        command.output().expect("run repo-tool")
    }

    /// Runs and expects success; returns stdout.
    #[track_caller]
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "repo-tool {args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs and expects failure with a message; returns stderr.
    #[track_caller]
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!out.status.success(), "repo-tool {args:?} succeeded:\n{}", String::from_utf8_lossy(&out.stdout));
        assert!(stderr.starts_with("repo-tool: ") || stderr.starts_with("error:"), "unclear failure: {stderr}");
        stderr
    }

    /// Writes a file in the scratch directory.
    pub fn write(&self, rel: &str, bytes: &[u8]) -> PathBuf {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// `--json` output of a command, parsed.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        serde_json::from_str(&self.ok(&all)).expect("JSON output")
    }
}

/// Every file under `dir` with its bytes: a repository is unchanged iff this is.
pub fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                out.insert(path.strip_prefix(base).unwrap().to_path_buf(), std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Refreshes a client from a published directory, starting from `anchor`, and
/// downloads `target`; returns its bytes.
pub fn client_download(published: &Path, anchor: &[u8], target: &str) -> Result<Vec<u8>, client_std::Error> {
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("root.json"), anchor).unwrap();
    let metadata = format!("{}/", published.join("metadata").display());
    let targets = format!("{}/", published.join("targets").display());
    let mut updater =
        Updater::with_transport(UpdaterConfig::new(work.path(), &metadata, &targets), DirectoryTransport)?;
    updater.refresh()?;
    let info = updater.get_target_info(target)?.ok_or_else(|| client_std::Error::TargetNotFound(target.into()))?;
    let out = tempfile::tempdir().unwrap();
    let path = updater.download_target(&info, out.path())?;
    Ok(std::fs::read(path).unwrap())
}
