//! Why an ECU was not updated in a cycle, and why a secondary conversation failed: typed,
//! so callers (the daemon's log, the tests, the director's report) tell them apart.

use std::fmt;
use std::sync::Arc;

use client_embedded::protocol::FrameError;
use metadata_schemas::uptane::AttackCode;

/// A conversation with one secondary that failed.
#[derive(Debug)]
pub struct SecondaryError {
    /// The secondary's serial.
    pub serial: String,
    /// What went wrong.
    pub problem: SecondaryProblem,
}

/// What went wrong talking to a secondary.
#[derive(Debug)]
#[non_exhaustive]
pub enum SecondaryProblem {
    /// No connection to its address (off, unplugged, a wrong address).
    Connect {
        /// The configured address.
        address: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The connection failed mid-conversation (or timed out).
    Io(std::io::Error),
    /// It closed the connection (a power cut or a reset).
    Closed,
    /// Its answer was not a frame of the protocol.
    Frame(FrameError),
    /// It refused a request, with the attack code it reports.
    Refused(AttackCode),
    /// It answered something else than the request calls for.
    Unexpected(&'static str),
    /// Its information names no hardware identifier.
    NoHardwareId,
    /// It took the director targets but found no image assigned to it.
    NothingAssigned,
}

impl SecondaryError {
    /// The attack code it refused with, if it refused.
    pub fn refused_with(&self) -> Option<AttackCode> {
        match self.problem {
            SecondaryProblem::Refused(code) => Some(code),
            _ => None,
        }
    }
}

impl fmt::Display for SecondaryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let serial = &self.serial;
        match &self.problem {
            SecondaryProblem::Connect { address, source } => write!(f, "{serial} at {address}: {source}"),
            SecondaryProblem::Io(e) => write!(f, "{serial}: {e}"),
            SecondaryProblem::Closed => write!(f, "{serial}: connection closed (power cut or reset)"),
            SecondaryProblem::Frame(e) => write!(f, "{serial}: not a protocol frame ({e:?})"),
            SecondaryProblem::Refused(code) => write!(f, "{serial} refused: {}", code.name()),
            SecondaryProblem::Unexpected(wanted) => write!(f, "{serial}: answered something else than {wanted}"),
            SecondaryProblem::NoHardwareId => write!(f, "{serial}: its information names no hardware id"),
            SecondaryProblem::NothingAssigned => write!(f, "{serial}: the director targets assign it nothing"),
        }
    }
}

impl std::error::Error for SecondaryError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.problem {
            SecondaryProblem::Connect { source, .. } | SecondaryProblem::Io(source) => Some(source),
            _ => None,
        }
    }
}

/// Why one ECU was not updated in a cycle.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum EcuFailure {
    /// It did not answer for its version report; the rest of the vehicle went on.
    Unreachable(Arc<crate::Error>),
    /// Its identity in the report cannot be used (no hardware id).
    BadIdentity,
    /// The director's image for it fails the Uptane checks (several images, a rollback).
    Directed(update_verifier::Error),
    /// The image repository could not be searched for the image (the cause was reported
    /// as a step when it happened).
    ImageRepositoryUnavailable,
    /// The image repository disagrees with the director (or does not list the image).
    ImageRepository(update_verifier::Error),
    /// Downloading, verifying or installing it failed.
    Delivery(Arc<crate::Error>),
}

impl EcuFailure {
    /// The attack code a secondary refused with, when that is why it failed.
    pub fn refused_with(&self) -> Option<AttackCode> {
        match self {
            EcuFailure::Delivery(e) => match e.as_ref() {
                crate::Error::Secondary(s) => s.refused_with(),
                _ => None,
            },
            _ => None,
        }
    }
}

impl fmt::Display for EcuFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EcuFailure::Unreachable(e) => write!(f, "unreachable: {e}"),
            EcuFailure::BadIdentity => f.write_str("its report names no hardware id"),
            EcuFailure::Directed(e) | EcuFailure::ImageRepository(e) => write!(f, "{e}"),
            EcuFailure::ImageRepositoryUnavailable => f.write_str("the image repository could not be searched"),
            EcuFailure::Delivery(e) => write!(f, "{e}"),
        }
    }
}
