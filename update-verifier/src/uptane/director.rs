//! Checks on director targets shared by partial and full verification, and picking
//! this ECU's image.

use metadata_schemas::uptane::{DirectorTargetCustom, EcuSerial, HardwareId, VehicleCustom, Vin};
use metadata_schemas::{RoleName, TargetFile, TargetPath, Targets};

use crate::{Error, Verified};

/// Who this ECU is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EcuIdentity {
    /// The vehicle it is built into.
    pub vin: Vin,
    /// Its serial.
    pub serial: EcuSerial,
    /// Its hardware identifier.
    pub hardware_id: HardwareId,
}

/// The image the director assigns to one ECU.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirectorImage {
    /// The target path (the same name as in the image repository).
    pub path: TargetPath,
    /// Length and hashes of what the ECU downloads.
    pub file: TargetFile,
    /// ECU, hardware, release counter and encryption.
    pub custom: DirectorTargetCustom,
}

fn malformed(e: metadata_schemas::DecodeError) -> Error {
    Error::Malformed { role: RoleName::targets(), source: e.into() }
}

/// The checks of director targets beyond TUF's: for this vehicle (top-level `custom`
/// names it), no delegations (Uptane check_targets 7), each ECU at most once
/// (check_targets 8), and director fields on every target.
pub fn check_director_targets(targets: &Verified<Targets>, vin: &Vin) -> Result<(), Error> {
    let vehicle = VehicleCustom::from_targets(targets).map_err(malformed)?;
    if &vehicle.vin != vin {
        return Err(Error::WrongVehicle { expected: vin.clone(), found: vehicle.vin });
    }
    if targets.delegations.is_some() {
        return Err(Error::DirectorDelegates);
    }
    let mut seen: alloc::vec::Vec<EcuSerial> = alloc::vec::Vec::with_capacity(targets.targets.len());
    for (path, file) in &targets.targets {
        let custom = DirectorTargetCustom::from_target(path, file).map_err(malformed)?;
        if seen.contains(&custom.ecu_identifier) {
            return Err(Error::AmbiguousImages { ecu: custom.ecu_identifier });
        }
        seen.push(custom.ecu_identifier);
    }
    Ok(())
}

/// This ECU's image in checked director targets, if the director assigns one:
/// built for its hardware (Uptane verify_image 3) and with a release counter not below
/// the installed image's (verify_image 5).
pub fn image_for_ecu(
    targets: &Verified<Targets>,
    ecu: &EcuIdentity,
    installed_release_counter: u64,
) -> Result<Option<DirectorImage>, Error> {
    for (path, file) in &targets.targets {
        let custom = DirectorTargetCustom::from_target(path, file).map_err(malformed)?;
        if custom.ecu_identifier != ecu.serial {
            continue;
        }
        if custom.hardware_identifier != ecu.hardware_id {
            return Err(Error::WrongHardware {
                ecu: ecu.serial.clone(),
                expected: ecu.hardware_id.clone(),
                found: custom.hardware_identifier,
            });
        }
        if custom.release_counter < installed_release_counter {
            return Err(Error::ReleaseCounterRollback {
                path: path.clone(),
                installed: installed_release_counter,
                offered: custom.release_counter,
            });
        }
        return Ok(Some(DirectorImage { path: path.clone(), file: file.clone(), custom }));
    }
    Ok(None)
}
