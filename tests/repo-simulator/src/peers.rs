//! The tough peer at test time: `tests/peers/tough`, built once in its own workspace and
//! target directory (`target/peers`), so tough's TLS provider (aws-lc) stays out of the
//! project's dependency tree. Tests run it as a separate process, as they run python-tuf.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use crate::python::workspace;

/// The `tough-client` binary, built on first use in the dev profile (cargo's lock on
/// `target/peers` keeps concurrent test binaries from building it twice; the benchmarks
/// build their own release copy there).
pub fn tough() -> PathBuf {
    static TOUGH: OnceLock<PathBuf> = OnceLock::new();
    TOUGH.get_or_init(build_tough).clone()
}

fn build_tough() -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let target_dir = workspace().join("target").join("peers");
    let manifest = workspace().join("tests/peers/tough/Cargo.toml");
    let status = Command::new(&cargo)
        .args(["build", "--locked", "--quiet", "--bin", "tough-client", "--manifest-path"])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target_dir)
        .status()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", Path::new(&cargo).display()));
    assert!(status.success(), "building the tough peer ({}) failed", manifest.display());
    target_dir.join("debug").join("tough-client")
}

/// tough's verdict on a repository: every target it lists (name, length, sha256, custom),
/// or its refusal on stderr. URLs may be `file://` or `http://`.
pub fn tough_list(root: &Path, metadata_url: &str, targets_url: &str) -> Result<Vec<serde_json::Value>, String> {
    let out = Command::new(tough()).arg("list").arg(root).args([metadata_url, targets_url]).output().unwrap();
    parse(out).map(|v| v.as_array().cloned().expect("a JSON array"))
}

/// What tough downloaded: the verified target and the root version it trusted then.
pub struct ToughDownload {
    /// The target's bytes.
    pub bytes: Vec<u8>,
    /// The version of the root tough ended its refresh with.
    pub root_version: u64,
}

/// Downloads `target` with tough (refresh, then the verified target), or tough's refusal.
pub fn tough_download(
    root: &Path,
    metadata_url: &str,
    targets_url: &str,
    target: &str,
) -> Result<ToughDownload, String> {
    let dir = tempfile_dir();
    let out = Command::new(tough()).arg(root).args([metadata_url, targets_url, target]).arg(&dir).output().unwrap();
    let result = parse(out).map(|printed| ToughDownload {
        bytes: std::fs::read(dir.join("target")).expect("tough wrote the target"),
        root_version: printed["root_version"].as_u64().expect("root_version"),
    });
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn parse(out: Output) -> Result<serde_json::Value, String> {
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(serde_json::from_slice(&out.stdout).expect("tough-client prints JSON"))
}

/// A fresh directory under `target/tmp` for one download.
fn tempfile_dir() -> PathBuf {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = crate::python::scratch().join(format!("tough-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("target/tmp");
    dir
}
