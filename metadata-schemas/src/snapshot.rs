//! Snapshot metadata: the version of every targets role.

use alloc::collections::BTreeMap;
use alloc::string::String;

use crate::decode::{Decode, Encode, UnknownFields, as_object, required};
use crate::error::DecodeError;
use crate::json::Value;
use crate::{CommonFields, MetaFile, MetadataType, RoleName};

/// The `signed` part of snapshot metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// Version, expiry and spec version.
    pub common: CommonFields,
    /// Listings by file name: `targets.json` and `<role>.json` for each delegated role.
    pub meta: BTreeMap<String, MetaFile>,
    /// Fields this crate does not define.
    pub unknown: UnknownFields,
}

impl Snapshot {
    /// The listing of `role`'s metadata file, by its unencoded name `<role>.json`.
    pub fn role_meta(&self, role: &RoleName) -> Option<&MetaFile> {
        let mut key = String::with_capacity(role.as_str().len() + 5);
        key.push_str(role.as_str());
        key.push_str(".json");
        self.meta.get(&key)
    }
}

impl Decode for Snapshot {
    fn decode(value: &Value<'_>) -> Result<Self, DecodeError> {
        let object = as_object(value)?;
        let common = CommonFields::decode(object, MetadataType::Snapshot)?;
        Ok(Snapshot {
            common,
            meta: required(object, "meta")?,
            unknown: CommonFields::unknown_fields(object, &["meta"]),
        })
    }
}

impl Encode for Snapshot {
    fn encode(&self) -> Value<'_> {
        self.common.encode(MetadataType::Snapshot).field("meta", self.meta.encode()).finish(&self.unknown)
    }
}
