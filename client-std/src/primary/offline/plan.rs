//! Which ECU installs what from a verified offline bundle, in the bundle's install
//! order: a pure function of the bundle and the ECUs' identities.

use metadata_schemas::uptane::HardwareId;
use update_verifier::uptane::{DirectorImage, EcuIdentity, OfflineBundle, offline_image_for_ecu};

/// What the bundle means for one ECU.
#[derive(Debug)]
pub enum OfflineStep {
    /// The bundle has no image for its hardware.
    Nothing,
    /// Install this image.
    Install(Box<DirectorImage>),
    /// The bundle is not for it (its allow-lists leave the vehicle or the ECU out, or it
    /// lists two images for its hardware).
    Refused(update_verifier::Error),
}

/// Each ECU's step (by its index in `ecus`: its identity and the release counter floor
/// the primary enforces for it), hardware the bundle names first in its install order,
/// then the rest in the order given.
pub fn plan(bundle: &OfflineBundle, ecus: &[(EcuIdentity, u64)]) -> Vec<(usize, OfflineStep)> {
    let rank = |hardware: &HardwareId| bundle.custom().install_rank(hardware);
    let mut order: Vec<usize> = (0..ecus.len()).collect();
    order.sort_by_key(|&i| (rank(&ecus[i].0.hardware_id), i));
    order
        .into_iter()
        .map(|i| {
            let (ecu, floor) = &ecus[i];
            let step = match offline_image_for_ecu(bundle, ecu, *floor) {
                Ok(Some(image)) => OfflineStep::Install(Box::new(image)),
                Ok(None) => OfflineStep::Nothing,
                Err(e) => OfflineStep::Refused(e),
            };
            (i, step)
        })
        .collect()
}
