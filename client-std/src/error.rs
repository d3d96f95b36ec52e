//! Client errors: a verification failure names the role, the check and the spec
//! section; a transport or file failure names the URL or path.

use std::fmt;
use std::path::PathBuf;

use crate::transport::TransportError;

/// Why an update step failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Metadata or a target failed verification.
    Verification(update_verifier::Error),
    /// A network or transport failure.
    Transport {
        /// What was requested.
        url: String,
        /// What went wrong.
        source: TransportError,
    },
    /// Reading or writing a local file failed.
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The configuration is unusable (for example an unreadable CA bundle).
    Config(String),
    /// No trusted role lists this target.
    TargetNotFound(String),
    /// The operation needs a refresh first.
    NotRefreshed,
    /// A secondary could not be reached, or refused (the primary's cycle).
    Secondary(crate::primary::SecondaryError),
    /// The director refused the vehicle version manifest.
    ManifestRefused {
        /// The HTTP status.
        status: u16,
        /// The director's explanation.
        body: String,
    },
    /// The primary's key could not sign.
    Sign(threshold_keys::SignError),
    /// A stop was asked for (SIGTERM): the cycle ended at a step boundary.
    Stopped,
    /// The primary's own encrypted image could not be decrypted.
    Decrypt(crate::primary::DecryptError),
    /// Offline updates are off in the configuration (`offline.enabled`).
    OfflineDisabled,
    /// A directory that is not a usable offline bundle.
    Bundle {
        /// The bundle's file or directory at fault.
        path: PathBuf,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// The device is decommissioned: its keys are erased and it runs no more cycles.
    Decommissioned {
        /// The nonce of the command it carried out.
        nonce: String,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }
}

impl From<update_verifier::Error> for Error {
    fn from(e: update_verifier::Error) -> Self {
        Error::Verification(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Verification(e) => write!(f, "{e}"),
            Error::Transport { url, source } => write!(f, "{url}: {source}"),
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Error::Config(why) => write!(f, "configuration: {why}"),
            Error::TargetNotFound(path) => {
                write!(f, "target {path}: no trusted targets role lists it")
            }
            Error::NotRefreshed => f.write_str("refresh the metadata first"),
            Error::Secondary(e) => write!(f, "secondary {e}"),
            Error::ManifestRefused { status, body } => write!(f, "director: manifest refused ({status}): {body}"),
            Error::Sign(e) => write!(f, "signing with the primary's key: {e}"),
            Error::Stopped => f.write_str("stopped on request; the next start resumes"),
            Error::Decrypt(e) => write!(f, "own image: {e}"),
            Error::OfflineDisabled => f.write_str(
                "offline updates are off: set \"offline\": {\"enabled\": true} in the primary's configuration",
            ),
            Error::Bundle { path, problem } => write!(f, "offline bundle {}: {problem}", path.display()),
            Error::Decommissioned { nonce } => write!(
                f,
                "this device is decommissioned (command {nonce}): its keys and credentials are erased; \
                 provision it again to bring it back into service"
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Verification(e) => Some(e),
            Error::Transport { source, .. } => Some(source),
            Error::Io { source, .. } => Some(source),
            Error::Secondary(e) => Some(e),
            _ => None,
        }
    }
}
