//! The factory image's signature: the image repository's `recovery` role, delegated by its
//! top-level targets, lists it for the ECU's hardware. An ECU records a factory image only
//! after this check, so the image it falls back to when both slots are bad is as signed as
//! any update.

use metadata_schemas::uptane::{HardwareId, ImageTargetCustom};
use metadata_schemas::{DelegatedRoles, RoleName, TargetFile, TargetPath};

use super::EcuIdentity;
use crate::{Error, TrustedSet, roles_for_target};

/// The delegated role that signs factory images.
pub const RECOVERY_ROLE: &str = "recovery";

/// The factory image at `path`, as the `recovery` role (its metadata: `recovery`) lists it
/// in the verified image repository `trusted` (timestamp, snapshot and top-level targets
/// loaded): delegated that path by top-level targets, and built for `ecu`'s hardware.
pub fn verify_factory_image(
    trusted: &mut TrustedSet,
    recovery: &[u8],
    path: &TargetPath,
    ecu: &EcuIdentity,
) -> Result<(TargetFile, ImageTargetCustom), Error> {
    let role = RoleName::new(RECOVERY_ROLE).expect("a valid role name");
    let top = trusted.targets().ok_or(Error::OutOfOrder("the image repository's top-level targets first"))?;
    let not_delegated = || Error::NotDelegated { role: role.clone(), delegator: RoleName::targets() };
    let delegations = top.delegations.as_ref().ok_or_else(not_delegated)?;
    if !matches!(&delegations.roles, DelegatedRoles::List(_)) {
        return Err(not_delegated());
    }
    let path_sha256 = threshold_keys::digest::sha256(path.as_str().as_bytes());
    let delegated = roles_for_target(delegations, path.as_str(), &path_sha256);
    if !delegated.iter().any(|(name, _)| name == &role) {
        return Err(not_delegated());
    }
    let listed = trusted.update_delegated_targets(recovery, &role, &RoleName::targets())?;
    let file = listed.targets.get(path).cloned().ok_or_else(|| Error::NotInImageRepository { path: path.clone() })?;
    let custom = ImageTargetCustom::from_target(path, &file)
        .map_err(|e| Error::Malformed { role: role.clone(), source: e.into() })?;
    if !custom.hardware_identifiers.contains(&ecu.hardware_id) {
        let found = custom.hardware_identifiers.first().cloned().unwrap_or_else(|| HardwareId::new("-").expect("-"));
        return Err(Error::WrongHardware { ecu: ecu.serial.clone(), expected: ecu.hardware_id.clone(), found });
    }
    Ok((file, custom))
}
