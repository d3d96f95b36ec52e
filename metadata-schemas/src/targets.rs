//! Targets metadata (top-level and delegated): the files clients may install.

use alloc::collections::BTreeMap;

use crate::decode::{Decode, Encode, ObjectBuilder, UnknownFields, as_object, optional, required};
use crate::delegation::Delegations;
use crate::error::DecodeError;
use crate::json::Value;
use crate::{CommonFields, Hashes, MetadataType, TargetPath};

/// The `signed` part of targets metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Targets {
    /// Version, expiry and spec version.
    pub common: CommonFields,
    /// The files this role lists, by target path.
    pub targets: BTreeMap<TargetPath, TargetFile>,
    /// Roles this role delegates to, if any.
    pub delegations: Option<Delegations>,
    /// Fields this crate does not define (Uptane's top-level `custom` lives here).
    pub unknown: UnknownFields,
}

/// A target file: its length, hashes and free-form `custom` data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetFile {
    /// Length in bytes.
    pub length: u64,
    /// Digests of the content.
    pub hashes: Hashes,
    /// Application data (Uptane puts hardware ids and release counters here).
    pub custom: Option<Value<'static>>,
    /// Fields this crate does not define.
    pub unknown: UnknownFields,
}

impl Targets {
    /// An empty targets document.
    pub fn new(common: CommonFields) -> Self {
        Targets { common, targets: BTreeMap::new(), delegations: None, unknown: UnknownFields::default() }
    }

    /// The top-level `custom` object (an Uptane extension; unknown to TUF).
    pub fn custom(&self) -> Option<&Value<'static>> {
        self.unknown.get("custom")
    }
}

impl Decode for Targets {
    fn decode(value: &Value<'_>) -> Result<Self, DecodeError> {
        let object = as_object(value)?;
        let common = CommonFields::decode(object, MetadataType::Targets)?;
        Ok(Targets {
            common,
            targets: required(object, "targets")?,
            delegations: optional(object, "delegations")?,
            unknown: CommonFields::unknown_fields(object, &["targets", "delegations"]),
        })
    }

    /// Takes the `targets` map out of the value and decodes it entry by entry, so that a
    /// large targets file never has its value tree and its typed form in memory whole.
    fn decode_owned(value: Value<'_>) -> Result<Self, DecodeError> {
        let mut object = match value {
            Value::Object(object) => object,
            other => return Err(crate::decode::wrong_type(crate::json::JsonType::Object, &other)),
        };
        let common = CommonFields::decode(&object, MetadataType::Targets)?;
        let targets = object
            .remove("targets")
            .ok_or_else(|| DecodeError::new(crate::error::DecodeErrorKind::Missing).in_field("targets"))?;
        let targets = BTreeMap::decode_owned(targets).map_err(|e| e.in_field("targets"))?;
        Ok(Targets {
            common,
            targets,
            delegations: optional(&object, "delegations")?,
            unknown: CommonFields::unknown_fields(&object, &["delegations"]),
        })
    }
}

impl Encode for Targets {
    fn encode(&self) -> Value<'_> {
        self.common
            .encode(MetadataType::Targets)
            .field("targets", self.targets.encode())
            .optional("delegations", &self.delegations)
            .finish(&self.unknown)
    }
}

impl TargetFile {
    /// A target with no custom data.
    pub fn new(length: u64, hashes: Hashes) -> Self {
        TargetFile { length, hashes, custom: None, unknown: UnknownFields::default() }
    }
}

impl Decode for TargetFile {
    fn decode(value: &Value<'_>) -> Result<Self, DecodeError> {
        let object = as_object(value)?;
        Ok(TargetFile {
            length: required(object, "length")?,
            hashes: required(object, "hashes")?,
            custom: optional(object, "custom")?,
            unknown: UnknownFields::collect(object, &["length", "hashes", "custom"]),
        })
    }
}

impl Encode for TargetFile {
    fn encode(&self) -> Value<'_> {
        ObjectBuilder::new()
            .field("length", self.length.encode())
            .field("hashes", self.hashes.encode())
            .optional("custom", &self.custom)
            .finish(&self.unknown)
    }
}
