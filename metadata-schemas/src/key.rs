//! Public keys as metadata lists them. Which key types can verify is decided by
//! threshold-keys; here a key of any type is a valid entry.

use alloc::string::String;

use crate::decode::{Decode, Encode, ObjectBuilder, UnknownFields, as_object, optional, required};
use crate::error::DecodeError;
use crate::json::Value;

/// A public key entry: `{"keytype", "scheme", "keyval": {"public"}}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key {
    /// Key type, e.g. `ed25519`, `ecdsa`, `rsa`.
    pub keytype: String,
    /// Signature scheme, e.g. `ed25519`, `ecdsa-sha2-nistp256`, `rsassa-pss-sha256`.
    pub scheme: String,
    /// The key value.
    pub keyval: KeyVal,
    /// Fields this crate does not define (such as `keyid_hash_algorithms`).
    pub unknown: UnknownFields,
}

/// The `keyval` object of a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyVal {
    /// The public key: hex for ed25519, PEM for ecdsa and rsa. Other key types may
    /// carry something else, so it is optional here.
    pub public: Option<String>,
    /// Other members.
    pub unknown: UnknownFields,
}

impl Key {
    /// A key entry with a `public` value.
    pub fn new(keytype: &str, scheme: &str, public: String) -> Self {
        Key {
            keytype: String::from(keytype),
            scheme: String::from(scheme),
            keyval: KeyVal { public: Some(public), unknown: UnknownFields::default() },
            unknown: UnknownFields::default(),
        }
    }
}

impl Decode for Key {
    fn decode(value: &Value<'_>) -> Result<Self, DecodeError> {
        let object = as_object(value)?;
        Ok(Key {
            keytype: required(object, "keytype")?,
            scheme: required(object, "scheme")?,
            keyval: required(object, "keyval")?,
            unknown: UnknownFields::collect(object, &["keytype", "scheme", "keyval"]),
        })
    }
}

impl Encode for Key {
    fn encode(&self) -> Value<'_> {
        ObjectBuilder::new()
            .field("keytype", self.keytype.encode())
            .field("scheme", self.scheme.encode())
            .field("keyval", self.keyval.encode())
            .finish(&self.unknown)
    }
}

impl Decode for KeyVal {
    fn decode(value: &Value<'_>) -> Result<Self, DecodeError> {
        let object = as_object(value)?;
        Ok(KeyVal { public: optional(object, "public")?, unknown: UnknownFields::collect(object, &["public"]) })
    }
}

impl Encode for KeyVal {
    fn encode(&self) -> Value<'_> {
        ObjectBuilder::new().optional("public", &self.public).finish(&self.unknown)
    }
}
