//! Which ECU installs what from a verified offline bundle, in the bundle's install
//! order: a pure function of the bundle and the ECUs' identities.

use metadata_schemas::uptane::HardwareId;
use metadata_schemas::{Digest, HashAlgorithm};
use update_verifier::uptane::{DirectorImage, EcuIdentity, OfflineBundle, offline_image_for_ecu};

/// What the plan knows of one ECU.
#[derive(Clone, Debug)]
pub struct EcuFacts {
    /// Who it is.
    pub identity: EcuIdentity,
    /// The release-counter floor the primary enforces for it.
    pub release_floor: u64,
    /// The SHA-256 of the image it runs, if known.
    pub installed_sha256: Option<[u8; 32]>,
}

/// What the bundle means for one ECU.
#[derive(Debug)]
pub enum OfflineStep {
    /// The bundle has no image for its hardware.
    Nothing,
    /// It runs the bundle's image already (the bundle applied again, after a power cut).
    UpToDate,
    /// Install this image.
    Install(Box<DirectorImage>),
    /// The bundle is not for it (its allow-lists leave the vehicle or the ECU out, or it
    /// lists two images for its hardware).
    Refused(update_verifier::Error),
}

/// Each ECU's step (by its index in `ecus`), hardware the bundle names first in its
/// install order, then the rest in the order given.
pub fn plan(bundle: &OfflineBundle, ecus: &[EcuFacts]) -> Vec<(usize, OfflineStep)> {
    let rank = |hardware: &HardwareId| bundle.custom().install_rank(hardware);
    let mut order: Vec<usize> = (0..ecus.len()).collect();
    order.sort_by_key(|&i| (rank(&ecus[i].identity.hardware_id), i));
    order.into_iter().map(|i| (i, step(bundle, &ecus[i]))).collect()
}

fn step(bundle: &OfflineBundle, ecu: &EcuFacts) -> OfflineStep {
    match offline_image_for_ecu(bundle, &ecu.identity, ecu.release_floor) {
        Ok(Some(image)) => {
            let wanted = match image.file.hashes.get(HashAlgorithm::Sha256) {
                Some(Digest::Sha256(d)) => Some(*d),
                _ => None,
            };
            if wanted.is_some() && wanted == ecu.installed_sha256 {
                OfflineStep::UpToDate
            } else {
                OfflineStep::Install(Box::new(image))
            }
        }
        Ok(None) => OfflineStep::Nothing,
        Err(e) => OfflineStep::Refused(e),
    }
}
