//! `director init`, `director serve` and `director import-root`.

use std::path::{Path, PathBuf};

use super::{CommandError, Result, pairs};
use crate::config::{CONFIG_FILE, Config, ImageRepoConfig, TlsConfig};
use crate::setup::{self, InitOptions, SetupError};

/// `director init`'s choices, as given on the command line.
#[derive(Clone, Debug, Default)]
pub struct Init {
    /// Database URL.
    pub database_url: Option<String>,
    /// Listen address.
    pub listen: Option<String>,
    /// The image repository and its trusted root.
    pub images: Option<(PathBuf, PathBuf)>,
    /// Server certificate and key.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// CA of device certificates.
    pub client_ca: Option<PathBuf>,
}

fn absolute(path: PathBuf) -> PathBuf {
    std::fs::canonicalize(&path).unwrap_or(path)
}

/// `director init`: makes the data directory and says what it made.
pub async fn init(dir: &Path, given: Init) -> Result {
    let client_ca = given.client_ca.map(absolute);
    let options = InitOptions {
        database_url: given.database_url,
        listen: given.listen,
        tls: given.tls.map(|(cert, key)| TlsConfig { cert: absolute(cert), key: absolute(key), client_ca }),
        image_repository: given.images.map(|(dir, root)| ImageRepoConfig { dir: absolute(dir), root: absolute(root) }),
        lifetimes: None,
    };
    let made = setup::init(dir, options).await?;
    println!("created {}", dir.display());
    println!("administrator token (shown once): {}", made.admin_token);
    let protection = if std::env::var(crate::keys::PASSPHRASE_ENV).is_ok() {
        "encrypted"
    } else {
        "NOT encrypted (set DIRECTOR_PASSPHRASE)"
    };
    println!("offline root key: {} ({protection}); move it off this machine", made.root_key.display());
    println!(
        "offline-updates key (signs offline bundles): {} ({protection}); move it off this machine",
        made.offline_updates_key.display()
    );
    Ok(())
}

/// `director serve`: the API on its address (and the metrics on theirs, if configured),
/// the rollout evaluations beside them; a missing data directory is made first.
pub async fn serve(data: &Path, listen: Option<String>, database_url: Option<String>) -> Result {
    if !data.join(CONFIG_FILE).exists() {
        init(data, Init { database_url: database_url.clone(), listen: listen.clone(), ..Default::default() }).await?;
    }
    if listen.is_some() || database_url.is_some() {
        let mut config = Config::load(data)?;
        config.listen = listen.unwrap_or(config.listen);
        config.database_url = database_url.unwrap_or(config.database_url);
        config.save(data)?;
    }
    let director = setup::open(data).await?;
    crate::log::init(director.config.log_format);
    let tls = director.config.tls.as_ref().map(crate::server::tls_config).transpose()?;
    let limits = director.config.limits.clone();
    // The metrics address first: once the director says where it listens, all is up.
    if let Some(address) = &director.config.metrics_listen {
        let metrics = bind(address, "http", "metrics").await?;
        let app = crate::api::metrics_router(director.clone());
        tokio::spawn(crate::server::serve(metrics, app, None, limits.clone()));
    }
    let address = director.config.listen.clone();
    let listener = bind(&address, if tls.is_some() { "https" } else { "http" }, "director").await?;
    tokio::spawn(crate::rollouts::evaluate_every(director.clone()));
    let app = crate::api::router(director);
    let served = crate::server::serve(listener, app, tls, limits).await;
    served.map_err(|error| SetupError::Listen { address, error }.into())
}

/// Binds `address` and says where `what` listens.
async fn bind(address: &str, scheme: &str, what: &str) -> Result<tokio::net::TcpListener> {
    let failed = |error| CommandError::Setup(SetupError::Listen { address: address.to_string(), error });
    let listener = tokio::net::TcpListener::bind(address).await.map_err(failed)?;
    let bound = listener.local_addr().map_err(failed)?;
    println!("{what} listening on {scheme}://{bound}");
    Ok(listener)
}

/// `director import-root`: the next root from `root`, with new online keys (`ROLE=SOURCE`).
pub async fn import_root(dir: &Path, root: &Path, keys: &[String]) -> Result {
    let bytes = std::fs::read(root).map_err(|error| CommandError::Read { path: root.to_path_buf(), error })?;
    let keys = pairs("--key", keys, "ROLE=SOURCE")?;
    let version = setup::import_root(dir, &bytes, &keys).await?;
    println!("director root v{version} installed; vehicles re-signed");
    Ok(())
}
