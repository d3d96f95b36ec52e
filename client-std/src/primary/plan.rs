//! What the primary does for each ECU in a cycle, decided without I/O from the verified
//! director targets, what the image repository lists, and the ECU's report: nothing new,
//! an image to install (checked against both repositories), or why not. The driver in
//! `cycle.rs` gathers the inputs and carries the plans out.

use std::collections::BTreeMap;

use metadata_schemas::json::Value;
use metadata_schemas::uptane::{EcuSerial, HardwareId, Vin};
use metadata_schemas::{Digest, HashAlgorithm, TargetPath, Targets};
use update_verifier::uptane::{DirectorImage, EcuIdentity, check_against_image_repository, image_for_ecu};
use update_verifier::{TargetInfo, Verified};

use super::failure::EcuFailure;

/// Where an ECU's image goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    /// The primary's own inactive slot.
    Own,
    /// A secondary over the protocol.
    Secondary {
        /// Its address.
        address: String,
        /// Whether it runs full verification (it needs the image repository's metadata).
        full: bool,
    },
}

/// One ECU's report for this cycle, as the primary collected it.
#[derive(Clone, Debug)]
pub struct Reported {
    /// Its serial.
    pub serial: EcuSerial,
    /// The hardware it says it is (none if it did not say).
    pub hardware_id: Option<HardwareId>,
    /// The SHA-256 of the image it runs, read (not verified: the director verifies the
    /// report) to skip images already installed.
    pub installed_sha256: Option<[u8; 32]>,
    /// The signed version report, for the manifest.
    pub report: Value<'static>,
    /// Where its image goes.
    pub destination: Destination,
    /// The lowest release counter the primary lets it take: its own image's floor (0 for
    /// a secondary, which enforces its floors itself).
    pub release_floor: u64,
}

/// What the image repository says of each directed target path. A path the driver
/// could not search is absent; `None` is a path the repository does not list.
pub type ImageRepositoryListing = BTreeMap<TargetPath, Option<TargetInfo>>;

/// What to do for one ECU.
#[derive(Clone, Debug)]
#[expect(clippy::large_enum_variant, reason = "one plan per ECU, a handful per cycle")]
pub enum EcuPlan {
    /// It runs what the director wants, or the director wants nothing new.
    UpToDate,
    /// Download `image` (as the image repository lists it) and install it.
    Install {
        /// The director's entry.
        image: DirectorImage,
        /// The image repository's entry (same length and hashes).
        listed: TargetInfo,
    },
    /// It cannot be updated this cycle.
    Failed(EcuFailure),
}

/// Every target path the director targets name (the image repository is searched for each).
pub fn directed_paths(targets: &Verified<Targets>) -> Vec<TargetPath> {
    targets.targets.keys().cloned().collect()
}

/// The plan for `ecu`.
pub fn plan(targets: &Verified<Targets>, vin: &Vin, listing: &ImageRepositoryListing, ecu: &Reported) -> EcuPlan {
    let Some(hardware_id) = ecu.hardware_id.clone() else {
        return EcuPlan::Failed(EcuFailure::BadIdentity);
    };
    let identity = EcuIdentity { vin: vin.clone(), serial: ecu.serial.clone(), hardware_id };
    let image = match image_for_ecu(targets, &identity, ecu.release_floor) {
        Err(e) => return EcuPlan::Failed(EcuFailure::Directed(e)),
        Ok(None) => return EcuPlan::UpToDate,
        Ok(Some(image)) => image,
    };
    let wanted = match image.file.hashes.get(HashAlgorithm::Sha256) {
        Some(Digest::Sha256(d)) => Some(*d),
        _ => None,
    };
    if wanted.is_some() && ecu.installed_sha256 == wanted {
        return EcuPlan::UpToDate;
    }
    let Some(listed) = listing.get(&image.path) else {
        return EcuPlan::Failed(EcuFailure::ImageRepositoryUnavailable);
    };
    match check_against_image_repository(&image, listed.as_ref()) {
        Err(e) => EcuPlan::Failed(EcuFailure::ImageRepository(e)),
        // The check refuses an image the repository does not list.
        Ok(()) => listed.clone().map_or(EcuPlan::Failed(EcuFailure::ImageRepositoryUnavailable), |listed| {
            EcuPlan::Install { listed, image }
        }),
    }
}

/// The root versions to send, oldest first, to an ECU that trusts root `has` when the
/// primary trusts `latest` (it verifies each against the one before). An ECU that
/// reports no root (0) is not provisioned: it gets none.
pub fn roots_to_send(has: u64, latest: u64) -> impl Iterator<Item = u64> {
    has.checked_add(1).filter(|_| has != 0).map(|first| first..=latest).into_iter().flatten()
}

#[cfg(test)]
mod tests;
