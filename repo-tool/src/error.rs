//! What can go wrong, each naming what was wrong so a key holder can act on it.

use std::fmt;
use std::path::{Path, PathBuf};

/// A repository or ceremony failure.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file failed.
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A file of the repository is not what it should be.
    Corrupt(String),
    /// Metadata does not parse or decode.
    Metadata {
        /// Which file.
        file: String,
        /// What is wrong.
        source: metadata_schemas::Error,
    },
    /// A key file or token cannot be used.
    Key(String),
    /// Not enough keys were available to reach a role's threshold.
    Threshold {
        /// The role.
        role: String,
        /// Who signed and who is missing.
        report: Box<threshold_keys::ThresholdReport>,
    },
    /// The repository's own output fails client-side verification.
    Verification(update_verifier::Error),
    /// A role's metadata as loaded is not signed by its keys: someone changed it
    /// outside repo-tool.
    Tampered {
        /// The file.
        file: String,
        /// Who signed what is there now.
        report: Box<threshold_keys::ThresholdReport>,
    },
    /// A proposal cannot be applied or merged.
    Proposal(String),
    /// Bad input from the command line.
    Usage(String),
    /// The key agent cannot be used.
    Agent(crate::agent::AgentError),
    /// `status --check` found problems (expired metadata, proposals short of signatures).
    Check(Vec<String>),
}

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        Error::Io { path: path.as_ref().to_path_buf(), source }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Error::Corrupt(what) => write!(f, "repository is damaged: {what}"),
            Error::Metadata { file, source } => write!(f, "{file}: {source}"),
            Error::Key(what) => write!(f, "key: {what}"),
            Error::Threshold { role, report } => write!(f, "{role}: {report}"),
            Error::Verification(e) => write!(f, "verification failed: {e}"),
            Error::Tampered { file, report } => write!(
                f,
                "{file} was changed outside repo-tool: its content is not signed by its keys ({report}); \
                 restore it from the published copy or a backup (nothing was signed)"
            ),
            Error::Proposal(what) => write!(f, "proposal: {what}"),
            Error::Usage(what) => f.write_str(what),
            Error::Agent(e) => write!(f, "{e}"),
            Error::Check(problems) => {
                write!(f, "status --check: {} problem(s): {}", problems.len(), problems.join("; "))
            }
        }
    }
}

impl std::error::Error for Error {}

impl From<update_verifier::Error> for Error {
    fn from(e: update_verifier::Error) -> Self {
        Error::Verification(e)
    }
}
