//! Why verification failed: one variant per check, each naming the role, what was
//! found, and the rule (TUF 1.0.31 section or Uptane 2.1) it enforces.

use alloc::boxed::Box;
use core::fmt;

use metadata_schemas::uptane::{AttackCode, EcuSerial, HardwareId, Vin};
use metadata_schemas::{HashAlgorithm, RoleName, TargetPath, UtcTime, Version};
use threshold_keys::ThresholdReport;

/// A verification failure.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    // --- The bytes themselves ---
    /// Not well-formed metadata of the expected role.
    Malformed {
        /// The role being read.
        role: RoleName,
        /// What the parser or decoder found.
        source: metadata_schemas::Error,
    },
    /// More bytes than the listed length or the configured limit (endless data).
    TooLong {
        /// The role being read.
        role: RoleName,
        /// The most bytes allowed.
        limit: u64,
    },
    /// Length differs from what timestamp or snapshot lists (TUF 5.5.2, 5.6.2).
    LengthMismatch {
        /// The role being read.
        role: RoleName,
        /// Listed length.
        expected: u64,
        /// Received length.
        found: u64,
    },
    /// A hash differs from what timestamp or snapshot lists (TUF 5.5.2, 5.6.2).
    HashMismatch {
        /// The role being read.
        role: RoleName,
        /// The algorithm whose digest differs.
        algorithm: HashAlgorithm,
    },

    // --- Signatures ---
    /// Not signed by a threshold of the authorized keys (TUF 5.3.4, 5.4.2, 5.5.3, 5.6.3).
    Unsigned {
        /// The role being read.
        role: RoleName,
        /// Whose keys were required.
        authority: Authority,
        /// Which keys signed and which are missing.
        report: Box<ThresholdReport>,
    },

    // --- Versions and time ---
    /// A new root whose version is not the trusted version + 1 (TUF 5.3.5).
    RootVersion {
        /// Trusted version + 1.
        expected: Version,
        /// The new root's version.
        found: Version,
    },
    /// A version lower than the trusted one (rollback; TUF 5.4.3, 5.5.5; Uptane).
    Rollback {
        /// The role whose version went down.
        role: RoleName,
        /// Trusted version.
        trusted: Version,
        /// Offered version.
        found: Version,
    },
    /// A version that differs from the one another role lists (mix-and-match; TUF 5.5.4, 5.6.4).
    VersionMismatch {
        /// The role read.
        role: RoleName,
        /// Its version.
        found: Version,
        /// The version listed for it.
        listed: Version,
        /// The role that lists it.
        listed_by: RoleName,
    },
    /// A role listed in the trusted snapshot is missing from the new one (TUF 5.5.5).
    RoleRemoved {
        /// The missing role.
        role: RoleName,
    },
    /// Expired metadata (freeze; TUF 5.3.10, 5.4.4, 5.5.6, 5.6.5).
    Expired {
        /// The role.
        role: RoleName,
        /// Its version.
        version: Version,
        /// When it expired.
        expires: UtcTime,
    },
    /// The director root names no time key (`x-time-keyid`), so no time attestation can
    /// be checked.
    NoTimeKey,
    /// The director root names no offline keys (`x-offline-updates`): the device takes
    /// no offline updates.
    NoOfflineRole,
    /// A time attestation that does not carry this ECU's latest nonce: an old one
    /// replayed, or one made for another report.
    StaleTimeAttestation,

    // --- Structure ---
    /// The repository does not have a file that the workflow needs.
    Missing {
        /// The role.
        role: RoleName,
    },
    /// A targets role that snapshot does not list (TUF 5.6.1, 5.6.7).
    NotInSnapshot {
        /// The role.
        role: RoleName,
    },
    /// The delegator does not delegate to this role.
    NotDelegated {
        /// The role.
        role: RoleName,
        /// The supposed delegator.
        delegator: RoleName,
    },
    /// A step taken before the one it depends on (a driver bug, not an attack).
    OutOfOrder(&'static str),

    // --- Targets ---
    /// The target lists no hash algorithm this build can compute (TUF 5.7.3).
    NoKnownHash {
        /// The target.
        path: TargetPath,
    },
    /// The target content is longer than listed (endless data; TUF 5.7.3).
    TargetTooLong {
        /// The target.
        path: TargetPath,
        /// Listed length.
        length: u64,
    },
    /// The target content is shorter than listed.
    TargetTooShort {
        /// The target.
        path: TargetPath,
        /// Listed length.
        length: u64,
        /// Bytes received.
        received: u64,
    },
    /// A hash of the target content differs from the listed one (TUF 5.7.3).
    TargetHashMismatch {
        /// The target.
        path: TargetPath,
        /// The algorithm whose digest differs.
        algorithm: HashAlgorithm,
    },

    // --- Uptane ---
    /// Director metadata for another vehicle (Uptane 5.4.4: vehicle id).
    WrongVehicle {
        /// This vehicle.
        expected: Vin,
        /// The vehicle the metadata names.
        found: Vin,
    },
    /// An image for other hardware (Uptane 5.4.4: hardware identifier).
    WrongHardware {
        /// The ECU.
        ecu: EcuSerial,
        /// The ECU's hardware id.
        expected: HardwareId,
        /// The hardware id the metadata names.
        found: HardwareId,
    },
    /// Director targets metadata that delegates (Uptane check_targets 7).
    DirectorDelegates,
    /// An offline bundle whose allow-list leaves this vehicle out.
    OfflineNotForVehicle {
        /// This vehicle.
        vin: Vin,
    },
    /// An offline bundle whose allow-list leaves this ECU out.
    OfflineNotForEcu {
        /// This ECU.
        ecu: EcuSerial,
    },
    /// More than one image listed for one ECU.
    AmbiguousImages {
        /// The ECU.
        ecu: EcuSerial,
    },
    /// A release counter below the installed image's (Uptane 5.4.4: rollback).
    ReleaseCounterRollback {
        /// The target offered.
        path: TargetPath,
        /// The installed image's counter.
        installed: u64,
        /// The offered image's counter.
        offered: u64,
    },
    /// The director names an image the image repository does not list (Uptane 5.4.4.2).
    NotInImageRepository {
        /// The target.
        path: TargetPath,
    },
    /// The director's and the image repository's metadata for an image differ (Uptane 5.4.4.2).
    RepositoryMismatch {
        /// The target.
        path: TargetPath,
        /// What differs.
        field: &'static str,
    },
}

/// Whose keys must sign a role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Authority {
    /// The trusted root's keys for the role.
    TrustedRoot,
    /// A new root's own root keys (TUF 5.3.4 (2)).
    NewRoot,
    /// The keys a delegating targets role names.
    Delegator(RoleName),
}

impl fmt::Display for Authority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Authority::TrustedRoot => f.write_str("keys of the trusted root"),
            Authority::NewRoot => f.write_str("the new root's own keys"),
            Authority::Delegator(role) => write!(f, "keys delegated by {role}"),
        }
    }
}

impl Error {
    /// The Uptane attack code an ECU reports for this failure.
    pub fn attack_code(&self) -> AttackCode {
        match self {
            Error::Malformed { .. } | Error::OutOfOrder(_) => AttackCode::MALFORMED,
            Error::Missing { .. } => AttackCode::INCOMPLETE,
            Error::TooLong { .. } | Error::TargetTooLong { .. } => AttackCode::ENDLESS_DATA,
            Error::LengthMismatch { .. } | Error::HashMismatch { .. } => AttackCode::MIX_AND_MATCH,
            Error::Unsigned { .. } => AttackCode::BAD_SIGNATURE,
            Error::RootVersion { .. } | Error::Rollback { .. } | Error::RoleRemoved { .. } => AttackCode::ROLLBACK,
            Error::ReleaseCounterRollback { .. } => AttackCode::ROLLBACK,
            Error::VersionMismatch { .. } | Error::NotInSnapshot { .. } | Error::NotDelegated { .. } => {
                AttackCode::MIX_AND_MATCH
            }
            Error::Expired { .. } | Error::StaleTimeAttestation => AttackCode::FREEZE,
            Error::NoTimeKey | Error::NoOfflineRole => AttackCode::MALFORMED,
            Error::NoKnownHash { .. } | Error::TargetTooShort { .. } | Error::TargetHashMismatch { .. } => {
                AttackCode::TAMPERED_IMAGE
            }
            Error::WrongVehicle { .. }
            | Error::WrongHardware { .. }
            | Error::AmbiguousImages { .. }
            | Error::OfflineNotForVehicle { .. }
            | Error::OfflineNotForEcu { .. }
            | Error::DirectorDelegates => AttackCode::WRONG_TARGET,
            Error::NotInImageRepository { .. } | Error::RepositoryMismatch { .. } => AttackCode::REPOSITORY_MISMATCH,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Malformed { role, source } => write!(f, "{role}: {source}"),
            Error::TooLong { role, limit } => {
                write!(f, "{role}: longer than {limit} bytes (endless data)")
            }
            Error::LengthMismatch { role, expected, found } => {
                write!(f, "{role}: {found} bytes, but {expected} listed (TUF 5.5.2/5.6.2)")
            }
            Error::HashMismatch { role, algorithm } => {
                write!(f, "{role}: {} differs from the listed hash (TUF 5.5.2/5.6.2)", algorithm.name())
            }
            Error::Unsigned { role, authority: Authority::TrustedRoot, report } if role.is_top_level() => {
                write!(f, "{role}: {report}")
            }
            Error::Unsigned { role, authority, report } => write!(f, "{role}: {report} ({authority})"),
            Error::RootVersion { expected, found } => {
                write!(f, "root v{found}: expected version {expected} (rollback, TUF 5.3.5)")
            }
            Error::Rollback { role, trusted, found } => {
                write!(f, "{role} v{found}: older than trusted version {trusted} (rollback)")
            }
            Error::VersionMismatch { role, found, listed, listed_by } => {
                write!(f, "{role} v{found}: version {listed} listed in {listed_by} (mix-and-match)")
            }
            Error::RoleRemoved { role } => {
                write!(f, "snapshot: {role} is listed in the trusted snapshot but not in the new one (TUF 5.5.5)")
            }
            Error::Expired { role, version, expires } => write!(f, "{role} v{version}: expired at {expires} (freeze)"),
            Error::NoTimeKey => f.write_str("the director root names no time key (x-time-keyid)"),
            Error::NoOfflineRole => f.write_str(
                "the director root names no offline keys (x-offline-updates): this device takes no offline updates",
            ),
            Error::OfflineNotForVehicle { vin } => {
                write!(f, "the offline bundle's allow-list does not name vehicle {vin}")
            }
            Error::OfflineNotForEcu { ecu } => write!(f, "the offline bundle's allow-list does not name ECU {ecu}"),
            Error::StaleTimeAttestation => f.write_str(
                "the time attestation does not carry this ECU's latest nonce (replayed or for another report)",
            ),
            Error::Missing { role } => write!(f, "{role}: the repository does not have it"),
            Error::NotInSnapshot { role } => {
                write!(f, "{role}: not listed in snapshot (TUF 5.6.1)")
            }
            Error::NotDelegated { role, delegator } => {
                write!(f, "{role}: {delegator} does not delegate to it")
            }
            Error::OutOfOrder(what) => write!(f, "verification steps out of order: {what}"),
            Error::NoKnownHash { path } => write!(f, "target {path}: no sha256 or sha512 hash to verify it with"),
            Error::TargetTooLong { path, length } => {
                write!(f, "target {path}: more than the listed {length} bytes (endless data)")
            }
            Error::TargetTooShort { path, length, received } => {
                write!(f, "target {path}: {received} bytes, but {length} listed")
            }
            Error::TargetHashMismatch { path, algorithm } => {
                write!(f, "target {path}: {} differs from the listed hash (TUF 5.7.3)", algorithm.name())
            }
            Error::WrongVehicle { expected, found } => {
                write!(f, "director targets are for vehicle {found}, not {expected}")
            }
            Error::WrongHardware { ecu, expected, found } => {
                write!(f, "ECU {ecu}: image is for hardware {found}, the ECU is {expected} (Uptane verify_image 3)")
            }
            Error::DirectorDelegates => f.write_str("director targets must not delegate (Uptane check_targets 7)"),
            Error::AmbiguousImages { ecu } => {
                write!(f, "ECU {ecu}: director lists more than one image (Uptane check_targets 8)")
            }
            Error::ReleaseCounterRollback { path, installed, offered } => {
                write!(
                    f,
                    "target {path}: release counter {offered} is below the installed {installed} (rollback, Uptane verify_image 5)"
                )
            }
            Error::NotInImageRepository { path } => {
                write!(
                    f,
                    "target {path}: named by the director, absent from the image repository (Uptane full_verification 11.1)"
                )
            }
            Error::RepositoryMismatch { path, field } => {
                write!(
                    f,
                    "target {path}: director and image repository disagree on {field} (Uptane full_verification 11.2)"
                )
            }
        }
    }
}

impl core::error::Error for Error {}
