//! What can go wrong setting up, opening or serving a data directory, each naming the
//! file, key or setting at fault and, where it helps, how to fix it.

use std::fmt;
use std::path::PathBuf;

use crate::encryption::EncryptionError;
use crate::service::ServiceError;
use crate::store::StoreError;

/// A data directory that could not be made, opened or served.
#[derive(Debug)]
pub enum SetupError {
    /// A file or directory could not be read or written.
    Io {
        /// Which.
        path: PathBuf,
        /// What the system said.
        error: std::io::Error,
    },
    /// `director.json` (or another JSON file) is not what it should be.
    Json {
        /// Which file.
        path: PathBuf,
        /// What the parser said.
        error: serde_json::Error,
    },
    /// The directory already holds a director.
    AlreadyInitialized(PathBuf),
    /// A key could not be made, opened or used.
    Key {
        /// The key file or `pkcs11:` URI.
        source: String,
        /// What the key library said.
        reason: String,
    },
    /// The database could not be opened or written.
    Store(StoreError),
    /// The database holds no director root (it was not made by `director init`).
    NoRoot,
    /// A director root that does not decode, verify or chain from the one before.
    Root {
        /// Which version.
        version: i64,
        /// What the verifier said.
        reason: String,
    },
    /// An online key the director root does not authorize for its role.
    NotAuthorized {
        /// The role.
        role: &'static str,
        /// The key's short id.
        key: String,
        /// The root version.
        version: i64,
    },
    /// `--key ROLE=...` naming no online role.
    UnknownRole(String),
    /// A TLS certificate or key that cannot be used.
    Tls {
        /// The file (or the setting) at fault.
        what: String,
        /// What rustls said.
        reason: String,
    },
    /// The image content key.
    Encryption(EncryptionError),
    /// Re-signing the vehicles' metadata with new keys failed.
    Resign(ServiceError),
    /// An address to listen on could not be bound.
    Listen {
        /// The address.
        address: String,
        /// What the system said.
        error: std::io::Error,
    },
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetupError::Io { path, error } => write!(f, "{}: {error}", path.display()),
            SetupError::Json { path, error } => write!(f, "{}: {error}", path.display()),
            SetupError::AlreadyInitialized(dir) => {
                write!(f, "{} already holds a director (serve it, or init another directory)", dir.display())
            }
            SetupError::Key { source, reason } => write!(f, "{source}: {reason}"),
            SetupError::Store(e) => write!(f, "the database: {e}"),
            SetupError::NoRoot => f.write_str("the database holds no director root (was it made by `director init`?)"),
            SetupError::Root { version, reason } => write!(f, "director root v{version}: {reason}"),
            SetupError::NotAuthorized { role, key, version } => {
                write!(f, "the {role} key {key} is not authorized by director root v{version}")
            }
            SetupError::UnknownRole(role) => write!(f, "--key {role}=...: targets, snapshot, timestamp or time"),
            SetupError::Tls { what, reason } => write!(f, "TLS {what}: {reason}"),
            SetupError::Encryption(e) => write!(f, "image encryption: {e}"),
            SetupError::Resign(e) => write!(f, "re-signing vehicles: {e:?}"),
            SetupError::Listen { address, error } => write!(f, "listening on {address}: {error}"),
        }
    }
}

impl std::error::Error for SetupError {}

impl From<StoreError> for SetupError {
    fn from(e: StoreError) -> Self {
        SetupError::Store(e)
    }
}

/// `Result` with a [`SetupError`].
pub type Result<T, E = SetupError> = std::result::Result<T, E>;

/// A closure making the I/O error of `path` a [`SetupError`].
pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> SetupError {
    let path = path.into();
    move |error| SetupError::Io { path, error }
}
