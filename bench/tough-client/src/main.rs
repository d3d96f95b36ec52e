//! Usage: tough-client ROOT METADATA_URL TARGETS_URL TARGET OUT_DIR
//! Loads the repository (verifying all metadata, as tough does) and downloads TARGET.
//! TOUGH_BACKOFF_MS sets tough's initial retry backoff, which its HTTP transport also
//! sleeps before the first attempt of every request (default 100 ms).

use futures::StreamExt;
use std::io::Write;
use tough::{HttpTransportBuilder, Limits, RepositoryLoader, TargetName};

fn transport() -> tough::HttpTransport {
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

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [root, metadata_url, targets_url, target, out_dir] = &args[..] else {
        eprintln!("usage: tough-client ROOT METADATA_URL TARGETS_URL TARGET OUT_DIR");
        std::process::exit(1);
    };
    let root = std::fs::read(root).expect("root");
    let limits = Limits {
        max_targets_size: 1 << 30,
        max_snapshot_size: 1 << 30,
        ..Limits::default()
    };
    let repo = RepositoryLoader::new(
        &root,
        url::Url::parse(metadata_url).unwrap(),
        url::Url::parse(targets_url).unwrap(),
    )
    .transport(transport())
    .limits(limits)
    .load()
    .await
    .unwrap_or_else(|e| {
        eprintln!("tough: {e}");
        std::process::exit(1)
    });
    let name = TargetName::new(target.as_str()).expect("target name");
    let mut stream = repo
        .read_target(&name)
        .await
        .expect("read_target")
        .expect("target listed");
    let mut file =
        std::fs::File::create(std::path::Path::new(out_dir).join("target")).expect("create");
    while let Some(chunk) = stream.next().await {
        file.write_all(&chunk.expect("verified chunk"))
            .expect("write");
    }
}
