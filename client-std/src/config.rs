//! What an [`crate::Updater`] needs: where metadata lives locally, where the repository
//! is, limits, timeouts and TLS options.

use std::path::PathBuf;
use std::time::Duration;

use update_verifier::Limits;

/// Configuration of an updater.
#[derive(Clone, Debug)]
pub struct UpdaterConfig {
    /// Local directory of trusted metadata; must hold `root.json`.
    pub metadata_dir: PathBuf,
    /// Prefix for metadata file names; ends with `/`, used as given (never decoded).
    pub metadata_base_url: String,
    /// Prefix for target paths; ends with `/`, used as given.
    pub targets_base_url: String,
    /// Size and work limits of the verifier.
    pub limits: Limits,
    /// Network timeouts.
    pub timeouts: Timeouts,
    /// TLS options for `https://` URLs.
    pub tls: TlsOptions,
}

impl UpdaterConfig {
    /// A configuration with default limits, timeouts and TLS (the platform's web PKI roots).
    pub fn new(metadata_dir: impl Into<PathBuf>, metadata_base_url: &str, targets_base_url: &str) -> Self {
        UpdaterConfig {
            metadata_dir: metadata_dir.into(),
            metadata_base_url: metadata_base_url.to_string(),
            targets_base_url: targets_base_url.to_string(),
            limits: Limits::default(),
            timeouts: Timeouts::default(),
            tls: TlsOptions::default(),
        }
    }
}

/// Bounds on slow or hanging servers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Connecting (default 10 s).
    pub connect: Duration,
    /// Between two reads of a response (default 30 s): a stalled server fails.
    pub read: Duration,
    /// The slowest transfer accepted, in bytes per second averaged over each
    /// `rate_window` (default 1024; 0 accepts any rate): a server that trickles bytes
    /// (slow retrieval) fails instead of holding the client forever.
    pub min_rate: u64,
    /// How long a transfer is watched before its rate counts (default 30 s).
    pub rate_window: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            read: Duration::from_secs(30),
            min_rate: 1024,
            rate_window: Duration::from_secs(30),
        }
    }
}

/// TLS options. Certificate verification is always on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// A PEM bundle of CA certificates to trust instead of the web PKI roots.
    pub ca_bundle: Option<PathBuf>,
    /// A client certificate chain and its private key (PEM), for mutual TLS.
    pub client_identity: Option<ClientIdentity>,
}

/// A client certificate for mutual TLS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientIdentity {
    /// PEM certificate chain, leaf first.
    pub certificate_chain: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub private_key: PathBuf,
}
