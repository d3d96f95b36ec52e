//! The three commands.

use std::io::IsTerminal;
use std::path::Path;

use client_std::{
    ClientIdentity, DirectoryTransport, Error, HttpTransport, TlsOptions, Transport, Updater, UpdaterConfig,
};

use crate::args::Args;

/// A failure to report on stderr.
pub type Failure = Box<dyn std::error::Error>;

fn required<'a, T: ?Sized>(value: &'a Option<impl AsRef<T>>, option: &str) -> Result<&'a T, Failure> {
    value.as_ref().map(AsRef::as_ref).ok_or_else(|| format!("{option} is required").into())
}

/// `init`: copies the trusted root to `MD/root.json`; no network.
pub fn init(args: &Args, trusted_root: &Path) -> Result<(), Failure> {
    let metadata_dir: &Path = required(&args.metadata_dir, "--metadata-dir")?;
    let bytes = std::fs::read(trusted_root).map_err(|e| format!("{}: {e}", trusted_root.display()))?;
    client_std::MetadataDir::open(metadata_dir)?.write("root.json", &bytes)?;
    Ok(())
}

fn updater(args: &Args, targets_base_url: &str) -> Result<Updater<Box<dyn Transport>>, Failure> {
    let metadata_dir: &Path = required(&args.metadata_dir, "--metadata-dir")?;
    let metadata_url: &str = required(&args.metadata_url, "--metadata-url")?;
    let mut config = UpdaterConfig::new(metadata_dir, metadata_url, targets_base_url);
    config.tls = TlsOptions {
        ca_bundle: args.ca_bundle.clone(),
        client_identity: match (&args.client_cert, &args.client_key) {
            (Some(cert), Some(key)) => {
                Some(ClientIdentity { certificate_chain: cert.clone(), private_key: key.clone() })
            }
            (None, None) => None,
            _ => return Err("--client-cert and --client-key go together".into()),
        },
    };
    if let Some(rate) = args.min_rate {
        config.timeouts.min_rate = rate;
    }
    if let Some(seconds) = args.rate_window {
        config.timeouts.rate_window = std::time::Duration::from_secs(seconds);
    }
    // file:// reads a repository from a local directory (a USB stick, a mounted image).
    let transport: Box<dyn Transport> = if metadata_url.starts_with("file://") {
        Box::new(DirectoryTransport)
    } else {
        Box::new(HttpTransport::new(config.timeouts, &config.tls)?)
    };
    Ok(Updater::with_transport(config, transport)?)
}

/// `refresh`: the TUF workflow for the top-level roles.
pub fn refresh(args: &Args) -> Result<(), Failure> {
    let mut updater = updater(args, "")?;
    updater.refresh()?;
    if let Some(trusted) = updater.trusted() {
        log::info!(
            "trusted: root v{}, timestamp v{}, snapshot v{}, targets v{}",
            trusted.root().version(),
            trusted.timestamp().map_or(0, |t| t.version().get()),
            trusted.snapshot().map_or(0, |s| s.version().get()),
            trusted.targets().map_or(0, |t| t.version().get())
        );
    }
    Ok(())
}

/// `download`: refresh, then each target in order; stops at the first failure.
pub fn download(args: &Args) -> Result<(), Failure> {
    let target_dir: &Path = required(&args.target_dir, "--target-dir")?;
    let base_url: &str = required(&args.target_base_url, "--target-base-url")?;
    if args.target_names.is_empty() {
        return Err("--target-name is required".into());
    }
    let mut updater = updater(args, base_url)?;
    updater.refresh()?;
    for name in &args.target_names {
        let info = updater.get_target_info(name)?.ok_or_else(|| Error::TargetNotFound(name.clone()))?;
        if let Some(path) = updater.find_cached_target(&info, target_dir)? {
            log::info!("{name}: already in {}", path.display());
            continue;
        }
        let bar = if info.file.length >= 1 << 20 { progress_bar(info.file.length, name) } else { None };
        let path = updater.download_target_with_progress(&info, target_dir, &mut |received| {
            if let Some(bar) = &bar {
                bar.set_position(received);
            }
        })?;
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        log::info!("{name}: verified, {} bytes, saved as {}", info.file.length, path.display());
    }
    Ok(())
}

/// A progress bar of `length` bytes, when stderr is a terminal.
pub(crate) fn progress_bar(length: u64, name: &str) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(length);
    let style =
        indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style.progress_chars("=> "));
    bar.set_message(name.to_string());
    Some(bar)
}
