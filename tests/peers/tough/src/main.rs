//! The tough peer: awslabs' TUF client, built in its own workspace (tough brings its own
//! TLS provider, aws-lc, which stays out of the project's dependency tree).
//!
//! ```text
//! tough-client ROOT METADATA_URL TARGETS_URL TARGET OUT_DIR   downloads TARGET to OUT_DIR/target,
//!                                                              prints {"root_version": N}
//! tough-client list ROOT METADATA_URL TARGETS_URL              prints every target as JSON
//! ```
//!
//! URLs may be `http(s)://` or `file://`. Exit status 1 names tough's refusal on stderr.
//! TOUGH_BACKOFF_MS sets tough's initial retry backoff, which its HTTP transport also
//! sleeps before the first attempt of every request (default 100 ms).

use futures::StreamExt;
use std::io::Write;
use tough::{
    DefaultTransport, ExpirationEnforcement, HttpTransportBuilder, Limits, Repository,
    RepositoryLoader, TargetName, Transport,
};

const USAGE: &str = "usage: tough-client ROOT METADATA_URL TARGETS_URL TARGET OUT_DIR\n       tough-client list ROOT METADATA_URL TARGETS_URL";

fn http_transport() -> tough::HttpTransport {
    let builder = HttpTransportBuilder::new();
    match std::env::var("TOUGH_BACKOFF_MS")
        .ok()
        .and_then(|ms| ms.parse().ok())
    {
        Some(ms) => builder
            .initial_backoff(std::time::Duration::from_millis(ms))
            .build(),
        None => builder.build(),
    }
}

fn fail(what: &str, e: impl std::fmt::Display) -> ! {
    eprintln!("tough: {what}: {e}");
    std::process::exit(1)
}

async fn load(root: &str, metadata_url: &str, targets_url: &str, transport: impl Transport + 'static) -> Repository {
    let root = std::fs::read(root).unwrap_or_else(|e| fail(root, e));
    let limits = Limits {
        max_targets_size: 1 << 30,
        max_snapshot_size: 1 << 30,
        ..Limits::default()
    };
    let url = |u: &str| url::Url::parse(u).unwrap_or_else(|e| fail(u, e));
    RepositoryLoader::new(&root, url(metadata_url), url(targets_url))
        .transport(transport)
        .limits(limits)
        .expiration_enforcement(ExpirationEnforcement::Safe)
        .load()
        .await
        .unwrap_or_else(|e| fail("cannot load the repository", e))
}

/// Every target as {name, length, sha256, custom}, in name order.
async fn list(root: &str, metadata_url: &str, targets_url: &str) {
    let repo = load(root, metadata_url, targets_url, DefaultTransport::new()).await;
    let mut targets: Vec<serde_json::Value> = repo
        .all_targets()
        .map(|(name, target)| {
            let sha256: String = target.hashes.sha256.iter().map(|b| format!("{b:02x}")).collect();
            serde_json::json!({
                "name": name.raw(),
                "length": target.length,
                "sha256": sha256,
                "custom": target.custom,
                "root_version": u64::from(repo.root().signed.version),
            })
        })
        .collect();
    targets.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    println!("{}", serde_json::Value::Array(targets));
}

async fn download(root: &str, metadata_url: &str, targets_url: &str, target: &str, out_dir: &str) {
    let repo = load(root, metadata_url, targets_url, http_transport()).await;
    let name = TargetName::new(target).unwrap_or_else(|e| fail(target, e));
    let mut stream = repo
        .read_target(&name)
        .await
        .unwrap_or_else(|e| fail(target, e))
        .unwrap_or_else(|| fail(target, "not listed"));
    let path = std::path::Path::new(out_dir).join("target");
    let mut file = std::fs::File::create(&path).unwrap_or_else(|e| fail(out_dir, e));
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap_or_else(|e| fail(target, e));
        file.write_all(&chunk).unwrap_or_else(|e| fail(out_dir, e));
    }
    println!("{}", serde_json::json!({"root_version": u64::from(repo.root().signed.version)}));
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match &args[..] {
        [cmd, root, metadata_url, targets_url] if cmd == "list" => list(root, metadata_url, targets_url).await,
        [root, metadata_url, targets_url, target, out_dir] => {
            download(root, metadata_url, targets_url, target, out_dir).await
        }
        _ => fail("bad arguments", USAGE),
    }
}
