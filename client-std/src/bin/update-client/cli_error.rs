//! Why a primary command (`primary`, `status`, `offline`) failed, each naming what to do.

use std::fmt;
use std::path::PathBuf;

/// A command-line argument that cannot be used.
#[derive(Debug)]
pub enum Usage {
    /// An argument the command does not know.
    Unknown(String),
    /// An option given without its value.
    NeedsValue(String),
    /// An option whose value must be a number.
    NotANumber(&'static str),
    /// A required option left out.
    Required(&'static str),
    /// `--at` not of the form `YYYY-MM-DDTHH:MM:SSZ`.
    NotATime,
}

/// A primary command's failure.
#[derive(Debug)]
pub enum CliError {
    /// Bad arguments; `command` names the help that lists the right ones.
    Usage {
        /// `primary`, `status` or `offline`.
        command: &'static str,
        /// What is wrong.
        problem: Usage,
    },
    /// The primary (its configuration, state or a step of its work) failed.
    Primary(client_std::Error),
    /// Cycle `cycle` of several failed.
    Cycle {
        /// Which cycle, from 1.
        cycle: u32,
        /// Why.
        source: client_std::Error,
    },
    /// `--check-config` found problems (each printed above).
    ConfigProblems {
        /// The configuration file.
        path: PathBuf,
        /// How many.
        count: usize,
    },
    /// An ECU could not be updated (its reason printed above).
    EcuFailed {
        /// From an offline bundle.
        offline: bool,
    },
    /// `--until-done` ran out of cycles.
    NotDone {
        /// How many ran.
        cycles: u32,
    },
    /// The bundle holds no image for any ECU of this vehicle.
    EmptyBundle,
}

impl fmt::Display for Usage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Usage::Unknown(arg) => write!(f, "unknown argument {arg:?}"),
            Usage::NeedsValue(option) => write!(f, "{option} needs a value"),
            Usage::NotANumber(option) => write!(f, "{option} takes a number"),
            Usage::Required(option) => write!(f, "{option} is required"),
            Usage::NotATime => f.write_str("--at takes YYYY-MM-DDTHH:MM:SSZ"),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Usage { command, problem } => write!(f, "{problem} (see update-client {command} --help)"),
            CliError::Primary(e) => write!(f, "{e}"),
            CliError::Cycle { cycle, source } => write!(f, "cycle {cycle}: {source}"),
            CliError::ConfigProblems { path, count } => write!(f, "{count} problem(s) in {}", path.display()),
            CliError::EcuFailed { offline: false } => f.write_str("an ECU could not be updated"),
            CliError::EcuFailed { offline: true } => f.write_str("an ECU could not be updated from the bundle"),
            CliError::NotDone { cycles } => write!(f, "not done after {cycles} cycles"),
            CliError::EmptyBundle => f.write_str("the bundle has no image for any ECU of this vehicle"),
        }
    }
}

impl std::error::Error for CliError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CliError::Primary(e) | CliError::Cycle { source: e, .. } => Some(e),
            _ => None,
        }
    }
}

impl From<client_std::Error> for CliError {
    fn from(e: client_std::Error) -> Self {
        CliError::Primary(e)
    }
}
