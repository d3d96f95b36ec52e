//! Time attestations: the director's signed word of the current time, carrying the
//! nonces ECUs sent in their latest version reports. An ECU takes a new time only from an
//! attestation that carries its own fresh nonce and is signed by the time key its
//! director root names (`x-time-keyid`), and never lets its time go backwards.

use alloc::vec::Vec;

use crate::UtcTime;
use crate::decode::{Decode, Encode, ObjectBuilder, UnknownFields, as_object, required};
use crate::error::DecodeError;
use crate::json::Value;

/// The name of the director root field that names the time key (a key id in the root's
/// `keys`), an extension field that TUF clients ignore.
pub const TIME_KEY_FIELD: &str = "x-time-keyid";

/// The `signed` part of a time attestation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeAttestation {
    /// The director's time.
    pub time: UtcTime,
    /// The nonces of the reports this attestation answers.
    pub nonces: Vec<u64>,
    /// Fields this crate does not define.
    pub unknown: UnknownFields,
}

impl Decode for TimeAttestation {
    fn decode(value: &Value<'_>) -> Result<Self, DecodeError> {
        let object = as_object(value)?;
        Ok(TimeAttestation {
            time: required(object, "time")?,
            nonces: required(object, "nonces")?,
            unknown: UnknownFields::collect(object, &["time", "nonces"]),
        })
    }
}

impl Encode for TimeAttestation {
    fn encode(&self) -> Value<'_> {
        ObjectBuilder::new()
            .field("time", self.time.encode())
            .field("nonces", self.nonces.encode())
            .finish(&self.unknown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json;

    #[test]
    fn an_attestation_round_trips_with_unknown_fields() {
        let text = br#"{"nonces":[1,18446744073709551615],"time":"2030-01-01T00:00:00Z","x-extra":true}"#;
        let value = json::parse(text).unwrap();
        let attestation = TimeAttestation::decode(&value).unwrap();
        assert_eq!(attestation.nonces, [1, u64::MAX]);
        assert_eq!(json::to_canonical(&attestation.encode()), text.to_vec());
    }

    #[test]
    fn an_attestation_without_nonces_is_refused() {
        let value = json::parse(br#"{"time":"2030-01-01T00:00:00Z"}"#).unwrap();
        assert!(TimeAttestation::decode(&value).is_err());
        let value = json::parse(br#"{"time":"2030-01-01T00:00:00Z","nonces":["x"]}"#).unwrap();
        assert!(TimeAttestation::decode(&value).is_err());
    }
}
