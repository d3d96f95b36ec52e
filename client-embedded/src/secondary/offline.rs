//! Offline updates and the factory image on the secondary: an offline bundle's metadata in
//! place of director targets (from a primary, or from the recovery loader's own channel),
//! and the factory image recorded only once the image repository's `recovery` role signs
//! it for this hardware.

use embedded_storage::nor_flash::NorFlash;
use metadata_schemas::{Digest, TargetPath};
use update_verifier::uptane::{EcuIdentity, OfflineFloor, offline_image_for_ecu, verify_offline_metadata};
use update_verifier::{Limits, Source, TrustedSet};

use super::{Assignment, Result, Secondary, UpdateError, time_of};
use crate::Error;
use crate::device::Device;
use crate::ecu_key::EcuKey;
use crate::record::ImageInfo;
use crate::store::Store;

/// What proves a factory image at the factory line: the image repository's metadata,
/// with its `recovery` role, which lists the image for this ECU's hardware.
pub struct FactoryProof<'a> {
    /// The image repository's root.
    pub image_root: &'a [u8],
    /// Its timestamp, snapshot and top-level targets.
    pub timestamp: &'a [u8],
    /// See `timestamp`.
    pub snapshot: &'a [u8],
    /// See `timestamp`.
    pub targets: &'a [u8],
    /// The `recovery` role's metadata.
    pub recovery: &'a [u8],
    /// The factory image's target path.
    pub path: &'a str,
    /// The factory line's time (seconds since the Unix epoch), for expiry.
    pub now: u64,
}

impl<F: NorFlash, K: EcuKey, S: Store<F>> Secondary<F, K, S> {
    /// Factory provisioning of the factory region: the image the programmer wrote there
    /// is recorded only if the image repository's `recovery` role signs it for this ECU's
    /// hardware ([`update_verifier::uptane::verify_factory_image`]) and the region's bytes
    /// hash to it. One record: a cut leaves no factory image, and provisioning runs again.
    pub fn provision_factory(
        device: &mut Device<F, S>,
        ecu: &EcuIdentity,
        proof: &FactoryProof<'_>,
        scratch: &mut [u8],
    ) -> Result<(), F> {
        let verification = UpdateError::Verification;
        let mut trusted =
            TrustedSet::new(proof.image_root, time_of(proof.now), Limits::default()).map_err(verification)?;
        trusted.update_timestamp(proof.timestamp, Source::Remote).map_err(verification)?;
        trusted.update_snapshot(proof.snapshot, Source::Remote).map_err(verification)?;
        trusted.update_targets(proof.targets).map_err(verification)?;
        let path = TargetPath::new(proof.path);
        let (file, custom) = update_verifier::uptane::verify_factory_image(&mut trusted, proof.recovery, &path, ecu)
            .map_err(verification)?;
        let Some(Digest::Sha256(sha256)) = file.hashes.get(metadata_schemas::HashAlgorithm::Sha256) else {
            return Err(UpdateError::Verification(update_verifier::Error::NoKnownHash { path }));
        };
        let length = u32::try_from(file.length).map_err(|_| UpdateError::Device(Error::ImageTooLarge))?;
        let info = ImageInfo { length, sha256: *sha256, release_counter: custom.release_counter, targets_version: 0 };
        Ok(device.record_factory(info, scratch)?)
    }

    /// An offline bundle (USB stick, SD card, serial; the recovery loader's input): its
    /// offline snapshot and targets, signed by the offline keys the trusted director
    /// root names, no older than the newest bundle accepted and not expired at this
    /// cycle's time; with full verification, the image repository metadata handed over
    /// before must list the same image. Once accepted, the bundle's version and issue
    /// time become floors (one record). This ECU's image is picked out and then sent as
    /// in an online update (`begin_image`, chunks, `activate`); `None` when it runs it
    /// already. A bundle with no image for this ECU's hardware is refused.
    pub fn put_offline(&mut self, snapshot: &[u8], targets: &[u8]) -> Result<Option<Assignment>, F> {
        self.noting(|s| {
            let state = *s.device.state();
            let floor = OfflineFloor { time: time_of(s.cycle_time), targets_version: state.offline_version };
            let limits = s.limits;
            let root = s.verifier()?.root();
            let bundle =
                verify_offline_metadata(root, snapshot, targets, &floor, &limits).map_err(UpdateError::Verification)?;
            let image = offline_image_for_ecu(&bundle, &s.ecu, state.floors.release_counter)
                .map_err(UpdateError::Verification)?
                .ok_or(UpdateError::NoImageAssigned)?;
            s.check_full(&image)?;
            let raised = bundle.raised(&OfflineFloor { time: time_of(state.latest_time), ..floor });
            let issued = u64::try_from(raised.time.timestamp()).unwrap_or(0);
            s.device.accept_offline(raised.targets_version, issued)?;
            // No newer director targets authorize it: it keeps the director floor.
            s.assign(image, state.floors.targets_version)
        })
    }
}
