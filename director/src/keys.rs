//! The director's keys: online keys (targets, snapshot, timestamp, time) from key files or
//! PKCS#11 tokens, opened once at start; key files are encrypted when
//! `DIRECTOR_PASSPHRASE` is set and otherwise rely on their 0600 mode.

use std::path::Path;

use threshold_keys::{KeyFileSigner, Pkcs11Signer, Pkcs11Uri, Signer};

use crate::setup::SetupError;

/// The environment variable holding the key-file passphrase.
pub const PASSPHRASE_ENV: &str = "DIRECTOR_PASSPHRASE";

/// A signer the server can share between requests.
pub type SharedSigner = Box<dyn Signer + Send + Sync>;

/// The online signers.
pub struct OnlineSigners {
    /// Director targets.
    pub targets: SharedSigner,
    /// Snapshots.
    pub snapshot: SharedSigner,
    /// Timestamps.
    pub timestamp: SharedSigner,
    /// Time attestations, when the director root names a time key.
    pub time: Option<SharedSigner>,
}

/// Opens a key: a `pkcs11:` URI, or a key file (relative to `dir`).
pub fn open(source: &str, dir: &Path) -> Result<SharedSigner, SetupError> {
    let bad = |reason: String| SetupError::Key { source: source.to_string(), reason };
    if source.starts_with("pkcs11:") {
        let uri = Pkcs11Uri::parse(source).map_err(bad)?;
        return Ok(Box::new(Pkcs11Signer::open(&uri).map_err(bad)?));
    }
    let path = dir.join(source);
    let text = std::fs::read_to_string(&path).map_err(crate::setup::io(&path))?;
    let passphrase = std::env::var(PASSPHRASE_ENV).ok();
    let bad =
        |e: threshold_keys::KeyFileError| SetupError::Key { source: path.display().to_string(), reason: e.to_string() };
    KeyFileSigner::from_pem(&text, passphrase.as_deref().map(str::as_bytes))
        .map(|s| Box::new(s) as SharedSigner)
        .map_err(bad)
}

/// Writes a new key file with mode 0600, encrypted if a passphrase is set.
pub fn write_key_file(signer: &KeyFileSigner, path: &Path) -> Result<(), SetupError> {
    let pem = match std::env::var(PASSPHRASE_ENV) {
        Ok(passphrase) => signer
            .to_encrypted_pem(passphrase.as_bytes())
            .map_err(|e| SetupError::Key { source: path.display().to_string(), reason: e.to_string() })?,
        Err(_) => signer.to_pem(),
    };
    write_private(path, pem.as_bytes()).map_err(crate::setup::io(path))
}

/// Writes a new secret file (mode 0600; never over an existing one), synced to disk.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    std::io::Write::write_all(&mut file, bytes).and_then(|()| file.sync_all())
}
