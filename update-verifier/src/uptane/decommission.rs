//! Whether a decommissioning command may be carried out: the director's (top-level
//! `custom.command` of verified director targets) must be for this vehicle and agree
//! with the image repository's signed `decommission/<vin>.json`. The director alone, as a
//! thief of its online keys would be, commands nothing.

use core::fmt;

use metadata_schemas::uptane::{DecommissionCommand, Vin};
use metadata_schemas::{Decode, Targets, json};

use crate::Verified;

/// Why a decommissioning command is not carried out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecommissionRefusal {
    /// The director's command, or the image repository's, cannot be read.
    Malformed {
        /// Which repository's.
        repository: &'static str,
        /// What is wrong.
        source: metadata_schemas::Error,
    },
    /// The command names another vehicle.
    WrongVehicle {
        /// The vehicle it names.
        found: Vin,
    },
    /// The image repository does not sign the command: only the director does.
    NotInImageRepository,
    /// The image repository signs a different command (vehicle, nonce or erase list).
    Disagree,
}

impl fmt::Display for DecommissionRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecommissionRefusal::Malformed { repository, source } => {
                write!(f, "the {repository}'s decommissioning command: {source}")
            }
            DecommissionRefusal::WrongVehicle { found } => {
                write!(f, "the decommissioning command is for vehicle {found}")
            }
            DecommissionRefusal::NotInImageRepository => f.write_str(
                "the director commands decommissioning but the image repository does not sign it: \
                 one repository alone cannot decommission a vehicle",
            ),
            DecommissionRefusal::Disagree => {
                f.write_str("the image repository signs a different decommissioning command than the director")
            }
        }
    }
}

/// The command to carry out, if the director issues one that the image repository's
/// (`image_repository`: the verified bytes of its `decommission/<vin>.json`, if it lists
/// one) agrees with.
pub fn check_decommission(
    director: &Verified<Targets>,
    image_repository: Option<&[u8]>,
    vin: &Vin,
) -> Result<Option<DecommissionCommand>, DecommissionRefusal> {
    let malformed = |repository| {
        move |e: metadata_schemas::DecodeError| DecommissionRefusal::Malformed {
            repository,
            source: metadata_schemas::Error::Decode(e),
        }
    };
    let Some(command) = DecommissionCommand::from_targets(director).map_err(malformed("director"))? else {
        return Ok(None);
    };
    if &command.vin != vin {
        return Err(DecommissionRefusal::WrongVehicle { found: command.vin });
    }
    let bytes = image_repository.ok_or(DecommissionRefusal::NotInImageRepository)?;
    let value = json::parse(bytes).map_err(|e| DecommissionRefusal::Malformed {
        repository: "image repository",
        source: metadata_schemas::Error::Json(e),
    })?;
    let signed = DecommissionCommand::decode(&value).map_err(malformed("image repository"))?;
    if !command.agrees_with(&signed) {
        return Err(DecommissionRefusal::Disagree);
    }
    Ok(Some(command))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::{String, ToString};
    use alloc::vec;
    use metadata_schemas::uptane::EraseItem;
    use metadata_schemas::{CommonFields, Encode, UtcTime, Version};

    fn command(vin: &str, nonce: &str) -> DecommissionCommand {
        DecommissionCommand {
            vin: Vin::new(vin).unwrap(),
            nonce: nonce.into(),
            issued: UtcTime::parse("2026-12-01T10:00:00Z").unwrap(),
            erase: EraseItem::ALL.to_vec(),
            unknown: Default::default(),
        }
    }

    fn director(command: Option<&DecommissionCommand>) -> Verified<Targets> {
        let expires = UtcTime::parse("2030-01-01T00:00:00Z").unwrap();
        let mut targets = Targets::new(CommonFields::new(Version::new(1).unwrap(), expires));
        let mut custom = json::Object::new();
        custom.insert("vin", json::Value::string(String::from("VIN1")));
        if let Some(command) = command {
            custom.insert("command", command.encode().to_owned_value());
        }
        targets.unknown.0.insert("custom", json::Value::Object(custom));
        Verified::new(targets)
    }

    fn bytes(command: &DecommissionCommand) -> vec::Vec<u8> {
        json::to_canonical(&command.encode())
    }

    #[test]
    fn a_command_both_repositories_sign_alike_is_carried_out() {
        let ours = command("VIN1", "n1");
        let vin = Vin::new("VIN1").unwrap();
        assert_eq!(check_decommission(&director(Some(&ours)), Some(&bytes(&ours)), &vin), Ok(Some(ours.clone())));
        assert_eq!(check_decommission(&director(None), Some(&bytes(&ours)), &vin), Ok(None), "no director command");
    }

    #[test]
    fn attack_decommission_signed_by_the_director_alone_is_refused() {
        let ours = command("VIN1", "n1");
        let vin = Vin::new("VIN1").unwrap();
        let refused = check_decommission(&director(Some(&ours)), None, &vin);
        assert_eq!(refused, Err(DecommissionRefusal::NotInImageRepository));
        assert!(refused.unwrap_err().to_string().contains("one repository alone"));
    }

    #[test]
    fn attack_decommission_with_another_nonce_or_vehicle_is_refused() {
        let vin = Vin::new("VIN1").unwrap();
        let ours = command("VIN1", "n1");
        let replayed = command("VIN1", "n0");
        assert_eq!(
            check_decommission(&director(Some(&ours)), Some(&bytes(&replayed)), &vin),
            Err(DecommissionRefusal::Disagree)
        );
        let elsewhere = command("VIN2", "n1");
        assert_eq!(
            check_decommission(&director(Some(&elsewhere)), Some(&bytes(&elsewhere)), &vin),
            Err(DecommissionRefusal::WrongVehicle { found: Vin::new("VIN2").unwrap() })
        );
        let garbage = check_decommission(&director(Some(&ours)), Some(b"{"), &vin);
        assert!(matches!(garbage, Err(DecommissionRefusal::Malformed { repository: "image repository", .. })));
    }
}
