//! Full verification's last step (Uptane full_verification 11.2): the image repository
//! must vouch for exactly the image the director names.

use metadata_schemas::Hashes;
use metadata_schemas::uptane::ImageTargetCustom;

use super::DirectorImage;
use crate::{Error, TargetInfo};

/// Checks the director's image against the image repository's listing of the same
/// path (`None` when the image repository's delegation search found nothing):
/// same length and hashes of the unencrypted image, the ECU's hardware among the
/// image's, the same release counter.
pub fn check_against_image_repository(director: &DirectorImage, image: Option<&TargetInfo>) -> Result<(), Error> {
    let image = image.ok_or_else(|| Error::NotInImageRepository { path: director.path.clone() })?;
    let mismatch = |field| Err(Error::RepositoryMismatch { path: director.path.clone(), field });
    let custom = ImageTargetCustom::from_target(&image.path, &image.file)
        .map_err(|e| Error::Malformed { role: image.role.clone(), source: e.into() })?;
    // An encrypted image's target lists the plaintext's length and hashes too.
    let (length, hashes) = (director.file.length, &director.file.hashes);
    if length != image.file.length {
        return mismatch("length");
    }
    if !same_digests(hashes, &image.file.hashes) {
        return mismatch("hashes");
    }
    if !custom.hardware_identifiers.contains(&director.custom.hardware_identifier) {
        return mismatch("hardware identifier");
    }
    if custom.release_counter != director.custom.release_counter {
        return mismatch("release counter");
    }
    Ok(())
}

/// Every known digest the director lists is listed identically by the image
/// repository, and they share at least one.
fn same_digests(director: &Hashes, image: &Hashes) -> bool {
    !director.known().is_empty() && director.known().iter().all(|d| image.get(d.algorithm()) == Some(d))
}
