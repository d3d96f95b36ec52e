//! Offline updates: the one check of an offline bundle's metadata, run alike by the
//! gateway and the MCU. The offline snapshot and targets must be signed by a threshold
//! of the offline keys the trusted director root names (`x-offline-updates`), agree with
//! each other, be no older than the newest offline targets the device accepted (so an
//! older bundle cannot be replayed after a newer one), and not be expired at the device's
//! time floor (it has no clock: the newest signed time it has seen). The image
//! repository's metadata in the bundle is then checked as in full verification.

use chrono::{DateTime, Utc};
use metadata_schemas::uptane::{DirectorTargetCustom, ImageTargetCustom, OfflineCustom, offline_role};
use metadata_schemas::{RoleName, Root, Snapshot, Targets, UnknownFields, Version};
use threshold_keys::RoleAuthority;

use super::{DirectorImage, EcuIdentity};
use crate::trusted_set::check_expiry;
use crate::verify::{self, check_listed_length_and_hashes};
use crate::{Authority, Error, Limits, Verified};

/// What a device keeps to judge the next bundle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OfflineFloor {
    /// The newest trusted time: online time attestations and accepted bundles' `issued`.
    pub time: DateTime<Utc>,
    /// The version of the newest offline targets accepted (0 before the first).
    pub targets_version: u64,
}

/// An offline bundle's metadata that passed every check.
#[derive(Clone, Debug)]
pub struct OfflineBundle {
    targets: Verified<Targets>,
    custom: OfflineCustom,
}

impl OfflineBundle {
    /// The offline targets.
    pub fn targets(&self) -> &Verified<Targets> {
        &self.targets
    }

    /// Name, issue time, allow-lists and install order.
    pub fn custom(&self) -> &OfflineCustom {
        &self.custom
    }

    /// The floor after accepting this bundle: its issue time and version, never lower.
    pub fn raised(&self, floor: &OfflineFloor) -> OfflineFloor {
        OfflineFloor {
            time: floor.time.max(self.custom.issued.time()),
            targets_version: floor.targets_version.max(self.targets.version().get()),
        }
    }
}

fn role(name: &str) -> RoleName {
    RoleName::new(name).expect("a valid role name")
}

/// Checks an offline snapshot and offline targets against the trusted director `root`
/// (not expired at the floor's time) and the device's `floor`.
pub fn verify_offline_metadata(
    root: &Root,
    snapshot: &[u8],
    targets: &[u8],
    floor: &OfflineFloor,
    limits: &Limits,
) -> Result<OfflineBundle, Error> {
    let (snapshot_role, targets_role) = (role("offline-snapshot"), role("offline-targets"));
    // An expired root is a freeze whether the bundle or the director brings the update.
    check_expiry(&RoleName::root(), root, floor.time)?;
    let keys = offline_role(root)
        .map_err(|e| Error::Malformed { role: RoleName::root(), source: e.into() })?
        .ok_or(Error::NoOfflineRole)?;
    let authority = RoleAuthority { keys: &root.keys, keyids: &keys.keyids, threshold: keys.threshold };

    let parsed = verify::parse(snapshot, &snapshot_role, limits.snapshot_max_length, limits)?;
    parsed.check_signatures(&snapshot_role, Authority::TrustedRoot, authority)?;
    let snapshot: Snapshot = parsed.into_decoded(&snapshot_role)?;
    check_expiry(&snapshot_role, &snapshot, floor.time)?;
    let listed = snapshot.role_meta(&RoleName::targets()).ok_or(Error::NotInSnapshot { role: targets_role.clone() })?;
    check_listed_length_and_hashes(&targets_role, listed, targets)?;

    let parsed = verify::parse(targets, &targets_role, limits.targets_max_length, limits)?;
    parsed.check_signatures(&targets_role, Authority::TrustedRoot, authority)?;
    let offline: Targets = parsed.into_decoded(&targets_role)?;
    let found = offline.common.version;
    if found != listed.version {
        return Err(Error::VersionMismatch {
            role: targets_role,
            found,
            listed: listed.version,
            listed_by: snapshot_role,
        });
    }
    if found.get() < floor.targets_version {
        let trusted = Version::new(floor.targets_version).expect("above zero");
        return Err(Error::Rollback { role: targets_role, trusted, found });
    }
    check_expiry(&targets_role, &offline, floor.time)?;
    if offline.delegations.is_some() {
        return Err(Error::DirectorDelegates);
    }
    let custom =
        OfflineCustom::from_targets(&offline).map_err(|e| Error::Malformed { role: targets_role, source: e.into() })?;
    Ok(OfflineBundle { targets: Verified::new(offline), custom })
}

/// This ECU's image in a verified bundle, if the bundle has one for its hardware: the
/// vehicle and the ECU must be allowed, exactly one image must be built for the ECU's
/// hardware, and its release counter must not be below the installed image's. It reads
/// as a director assignment, so the rest of the install path is the online one.
pub fn offline_image_for_ecu(
    bundle: &OfflineBundle,
    ecu: &EcuIdentity,
    installed_release_counter: u64,
) -> Result<Option<DirectorImage>, Error> {
    if !bundle.custom.allows_vehicle(&ecu.vin) {
        return Err(Error::OfflineNotForVehicle { vin: ecu.vin.clone() });
    }
    if !bundle.custom.allows_ecu(&ecu.serial) {
        return Err(Error::OfflineNotForEcu { ecu: ecu.serial.clone() });
    }
    let mut found: Option<DirectorImage> = None;
    for (path, file) in &bundle.targets.targets {
        let custom = ImageTargetCustom::from_target(path, file)
            .map_err(|e| Error::Malformed { role: role("offline-targets"), source: e.into() })?;
        if !custom.hardware_identifiers.contains(&ecu.hardware_id) {
            continue;
        }
        if found.is_some() {
            return Err(Error::AmbiguousImages { ecu: ecu.serial.clone() });
        }
        if custom.release_counter < installed_release_counter {
            return Err(Error::ReleaseCounterRollback {
                path: path.clone(),
                installed: installed_release_counter,
                offered: custom.release_counter,
            });
        }
        let custom = DirectorTargetCustom {
            ecu_identifier: ecu.serial.clone(),
            hardware_identifier: ecu.hardware_id.clone(),
            release_counter: custom.release_counter,
            encryption: None,
            unknown: UnknownFields::default(),
        };
        found = Some(DirectorImage { path: path.clone(), file: file.clone(), custom });
    }
    Ok(found)
}
