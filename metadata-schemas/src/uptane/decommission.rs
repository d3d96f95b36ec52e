//! A vehicle's decommissioning command and the device's last acknowledgement.
//!
//! The command travels twice: in the top-level `custom.command` of the vehicle's director
//! targets (online keys) and as the image repository's signed target
//! `decommission/<vin>.json` (its own keys, usually offline). A device acts only when
//! both carry the same vin, nonce and erase list, so one stolen online key cannot brick a
//! fleet. Before it erases its keys, the device sends a last signed manifest carrying the
//! nonce (`custom.decommission_ack`).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::decode::{Decode, Encode, ObjectBuilder, UnknownFields, as_object, as_str, required};
use crate::error::DecodeError;
use crate::json::Value;
use crate::targets::Targets;
use crate::{TargetPath, UtcTime};

use super::Vin;

/// The command's `type`.
pub const DECOMMISSION: &str = "decommission";

/// Where the image repository publishes a vehicle's command.
pub fn command_path(vin: &Vin) -> TargetPath {
    TargetPath::new(format!("decommission/{}.json", vin.as_str()))
}

/// What a decommissioned device erases. It keeps its trust roots and factory image, so
/// it can be provisioned again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum EraseItem {
    /// Its signing (ECU) keys and image decryption keys.
    Keys,
    /// Its credentials towards the backend: TLS client key and certificate, device token.
    Credentials,
    /// Downloaded images and other cached data.
    Downloads,
}

impl EraseItem {
    /// Every item, in the order a device erases them.
    pub const ALL: [EraseItem; 3] = [EraseItem::Keys, EraseItem::Credentials, EraseItem::Downloads];

    /// Its name in the command.
    pub fn as_str(self) -> &'static str {
        match self {
            EraseItem::Keys => "keys",
            EraseItem::Credentials => "credentials",
            EraseItem::Downloads => "downloads",
        }
    }

    /// The item named `name`.
    pub fn parse(name: &str) -> Option<EraseItem> {
        EraseItem::ALL.into_iter().find(|item| item.as_str() == name)
    }
}

impl Decode for EraseItem {
    fn decode(value: &Value<'_>) -> Result<Self, DecodeError> {
        // A device that does not know an item cannot honour it: the whole command fails.
        EraseItem::parse(as_str(value)?)
            .ok_or_else(|| DecodeError::invalid("erase items are keys, credentials, downloads"))
    }
}

impl Encode for EraseItem {
    fn encode(&self) -> Value<'_> {
        Value::string(self.as_str())
    }
}

/// A decommissioning command, as either repository signs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecommissionCommand {
    /// The vehicle.
    pub vin: Vin,
    /// Chosen by the director when an operator asked; the acknowledgement repeats it.
    pub nonce: String,
    /// When the command was issued.
    pub issued: UtcTime,
    /// What the device erases.
    pub erase: Vec<EraseItem>,
    /// Fields this crate does not define.
    pub unknown: UnknownFields,
}

const COMMAND_FIELDS: [&str; 5] = ["type", "vin", "nonce", "issued", "erase"];

impl DecommissionCommand {
    /// The command in the top-level `custom.command` of director targets, if any.
    pub fn from_targets(targets: &Targets) -> Result<Option<Self>, DecodeError> {
        let Some(Value::Object(custom)) = targets.custom() else { return Ok(None) };
        match custom.get("command") {
            None => Ok(None),
            Some(command) => Self::decode(command).map(Some).map_err(|e| e.in_field("command").in_field("custom")),
        }
    }

    /// Whether `other` commands the same thing: the same vehicle, nonce and erase list
    /// (each repository signs at its own time, so `issued` may differ).
    pub fn agrees_with(&self, other: &DecommissionCommand) -> bool {
        self.vin == other.vin && self.nonce == other.nonce && self.erase == other.erase
    }
}

impl Decode for DecommissionCommand {
    fn decode(value: &Value<'_>) -> Result<Self, DecodeError> {
        let object = as_object(value)?;
        let kind: String = required(object, "type")?;
        if kind != DECOMMISSION {
            return Err(DecodeError::invalid("the only command is decommission").in_field("type"));
        }
        let nonce: String = required(object, "nonce")?;
        if nonce.is_empty() {
            return Err(DecodeError::invalid("the nonce is empty").in_field("nonce"));
        }
        Ok(DecommissionCommand {
            vin: required(object, "vin")?,
            nonce,
            issued: required(object, "issued")?,
            erase: required(object, "erase")?,
            unknown: UnknownFields::collect(object, &COMMAND_FIELDS),
        })
    }
}

impl Encode for DecommissionCommand {
    fn encode(&self) -> Value<'_> {
        ObjectBuilder::new()
            .field("type", Value::string(DECOMMISSION))
            .field("vin", self.vin.encode())
            .field("nonce", Value::string(self.nonce.clone()))
            .field("issued", self.issued.encode())
            .field("erase", self.erase.encode())
            .finish(&self.unknown)
    }
}

/// The field of an acknowledgement: in a manifest's `custom`, and in the signed part of
/// an ECU's own version report.
pub const ACK_FIELD: &str = "decommission_ack";

/// The nonce a manifest acknowledges (its `custom.decommission_ack.nonce`), if it does.
pub fn acknowledged_nonce(custom: Option<&Value<'_>>) -> Option<String> {
    ack_nonce(custom?.as_object()?.get(ACK_FIELD))
}

/// The nonce of an acknowledgement object (`{"nonce": ...}`).
pub fn ack_nonce(ack: Option<&Value<'_>>) -> Option<String> {
    ack?.as_object()?.get("nonce")?.as_str().map(String::from)
}

/// The acknowledgement object of `nonce`.
pub fn ack_object(nonce: &str) -> Value<'static> {
    let mut ack = crate::json::Object::new();
    ack.insert("nonce", Value::string(String::from(nonce)));
    Value::Object(ack)
}

/// The `custom` of a manifest that acknowledges `nonce`.
pub fn acknowledgement(nonce: &str) -> Value<'static> {
    let mut custom = crate::json::Object::new();
    custom.insert(ACK_FIELD, ack_object(nonce));
    Value::Object(custom)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json;

    const COMMAND: &[u8] = br#"{"erase":["keys","credentials","downloads"],"issued":"2026-12-01T10:00:00Z","nonce":"4f1c","type":"decommission","vin":"VIN1"}"#;

    #[test]
    fn a_command_round_trips_and_names_what_is_wrong() {
        let command = DecommissionCommand::decode(&json::parse(COMMAND).unwrap()).unwrap();
        assert_eq!(command.erase, EraseItem::ALL.to_vec());
        assert_eq!(json::to_canonical(&command.encode()), COMMAND.to_vec());
        let text = core::str::from_utf8(COMMAND).unwrap();
        for (bad, field) in [
            (text.replace("\"type\":\"decommission\"", "\"type\":\"reboot\""), "type"),
            (text.replace("\"downloads\"", "\"firmware\""), "erase"),
            (text.replace("\"nonce\":\"4f1c\"", "\"nonce\":\"\""), "nonce"),
        ] {
            let error = format!("{}", DecommissionCommand::decode(&json::parse(bad.as_bytes()).unwrap()).unwrap_err());
            assert!(error.contains(field), "{field}: {error}");
        }
    }

    #[test]
    fn commands_agree_on_vehicle_nonce_and_erase_list_whatever_their_issue_time() {
        let command = DecommissionCommand::decode(&json::parse(COMMAND).unwrap()).unwrap();
        let later = DecommissionCommand { issued: UtcTime::parse("2026-12-02T00:00:00Z").unwrap(), ..command.clone() };
        assert!(command.agrees_with(&later));
        let other_nonce = DecommissionCommand { nonce: "9a".into(), ..command.clone() };
        let other_vin = DecommissionCommand { vin: Vin::new("VIN2").unwrap(), ..command.clone() };
        let less = DecommissionCommand { erase: alloc::vec![EraseItem::Downloads], ..command.clone() };
        for other in [other_nonce, other_vin, less] {
            assert!(!command.agrees_with(&other), "{other:?}");
        }
    }

    #[test]
    fn an_acknowledgement_carries_its_nonce() {
        let custom = acknowledgement("4f1c");
        assert_eq!(acknowledged_nonce(Some(&custom)).as_deref(), Some("4f1c"));
        assert_eq!(acknowledged_nonce(None), None);
        assert_eq!(acknowledged_nonce(Some(&json::parse(br#"{"other":1}"#).unwrap())), None);
    }
}
