//! The `director` command line's commands, each a small driver over the service: `serve`,
//! `init`, `import-root`, and the administration a running director's API also offers
//! (`register`, `assign`, `vehicles`, `status`, ...), run directly on the data directory.

mod admin;
mod decommission;
mod evidence;
mod fleet;
mod serve;

use std::fmt;

pub use admin::{
    AdminToken, Assign, Encryption, Operator, PASSWORD_ENV, Register, admin_token, assign, encryption, operator,
    register, root, vehicle_status,
};
pub use decommission::{Decommission, decommission};
pub use evidence::{Evidence, write_evidence};
pub use fleet::{fleet_status, vehicles};
pub use serve::{Init, import_root, init, serve};

use crate::selector::SelectorError;
use crate::service::ServiceError;
use crate::setup::SetupError;
use crate::store::StoreError;

/// Why a command failed.
#[derive(Debug)]
pub enum CommandError {
    /// An argument not in the form it takes.
    Usage {
        /// The argument as given (`--image brake-hw`).
        given: String,
        /// The form it takes (`HW=PATH`).
        expected: &'static str,
    },
    /// A file could not be read.
    Read {
        /// Which.
        path: std::path::PathBuf,
        /// What the system said.
        error: std::io::Error,
    },
    /// A file is not the JSON it should be.
    Json {
        /// Which.
        path: std::path::PathBuf,
        /// What the parser said.
        error: serde_json::Error,
    },
    /// A file could not be written.
    Write {
        /// Which.
        path: std::path::PathBuf,
        /// What the system said.
        error: std::io::Error,
    },
    /// The evidence folder holds files already (a pack never mixes with another).
    NotEmpty(std::path::PathBuf),
    /// The audit log's chain is broken: an entry changed, added or removed.
    AuditBroken(crate::audit::Break),
    /// The image repository lists a file it does not hold.
    Image(String),
    /// A selector that does not parse.
    Selector(SelectorError),
    /// Setting up, opening or serving the data directory.
    Setup(SetupError),
    /// The service refused the request or failed.
    Service(ServiceError),
    /// The database.
    Store(StoreError),
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::Usage { given, expected } => write!(f, "{given}: takes {expected}"),
            CommandError::Read { path, error } => write!(f, "{}: {error}", path.display()),
            CommandError::Json { path, error } => write!(f, "{}: {error}", path.display()),
            CommandError::Write { path, error } => write!(f, "{}: {error}", path.display()),
            CommandError::NotEmpty(path) => {
                write!(f, "{}: not empty; give a new folder for the evidence pack", path.display())
            }
            CommandError::AuditBroken(e) => write!(f, "the audit log does not verify: {e}"),
            CommandError::Image(e) => write!(f, "the image repository: {e}"),
            CommandError::Selector(e) => write!(f, "{e}"),
            CommandError::Setup(e) => write!(f, "{e}"),
            CommandError::Service(e) => write!(f, "{}", service_message(e)),
            CommandError::Store(e) => write!(f, "the database: {e}"),
        }
    }
}

/// A service error in the words the API would answer with.
fn service_message(e: &ServiceError) -> String {
    match e {
        ServiceError::Invalid(m)
        | ServiceError::Conflict(m)
        | ServiceError::Unauthorized(m)
        | ServiceError::Gone(m) => m.clone(),
        ServiceError::NotFound(m) => format!("{m} not found"),
        ServiceError::Refused(r) => format!("manifest refused: {r}"),
        ServiceError::Internal(m) => format!("internal error: {m}"),
    }
}

impl std::error::Error for CommandError {}

impl From<SetupError> for CommandError {
    fn from(e: SetupError) -> Self {
        CommandError::Setup(e)
    }
}

impl From<ServiceError> for CommandError {
    fn from(e: ServiceError) -> Self {
        CommandError::Service(e)
    }
}

impl From<StoreError> for CommandError {
    fn from(e: StoreError) -> Self {
        CommandError::Store(e)
    }
}

impl From<SelectorError> for CommandError {
    fn from(e: SelectorError) -> Self {
        CommandError::Selector(e)
    }
}

/// `Result` with a [`CommandError`].
pub type Result<T = (), E = CommandError> = std::result::Result<T, E>;

/// Splits `NAME=VALUE` arguments given to `flag`.
pub fn pairs(flag: &str, given: &[String], expected: &'static str) -> Result<Vec<(String, String)>> {
    given
        .iter()
        .map(|g| {
            g.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| CommandError::Usage { given: format!("{flag} {g}"), expected })
        })
        .collect()
}

/// Pretty JSON on standard output.
fn print_json(value: &serde_json::Value) {
    println!("{}", serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string()));
}
