//! Timestamp metadata: the current snapshot version, re-signed often.

use alloc::borrow::Cow;
use alloc::collections::BTreeMap;
use alloc::string::String;

use crate::decode::{Decode, Encode, UnknownFields, as_object, required};
use crate::error::{DecodeError, DecodeErrorKind};
use crate::json::Value;
use crate::{CommonFields, MetaFile, MetadataType};

/// The `signed` part of timestamp metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timestamp {
    /// Version, expiry and spec version.
    pub common: CommonFields,
    /// The listing of `snapshot.json` in `meta`.
    pub snapshot: MetaFile,
    /// Any other entries of `meta`, kept for the round trip.
    pub other_meta: BTreeMap<String, MetaFile>,
    /// Fields this crate does not define.
    pub unknown: UnknownFields,
}

const SNAPSHOT_JSON: &str = "snapshot.json";

impl Timestamp {
    /// A timestamp listing `snapshot`.
    pub fn new(common: CommonFields, snapshot: MetaFile) -> Self {
        Timestamp { common, snapshot, other_meta: BTreeMap::new(), unknown: UnknownFields::default() }
    }
}

impl Decode for Timestamp {
    fn decode(value: &Value<'_>) -> Result<Self, DecodeError> {
        let object = as_object(value)?;
        let common = CommonFields::decode(object, MetadataType::Timestamp)?;
        let mut other_meta: BTreeMap<String, MetaFile> = required(object, "meta")?;
        let snapshot = other_meta
            .remove(SNAPSHOT_JSON)
            .ok_or_else(|| DecodeError::new(DecodeErrorKind::Missing).in_field(SNAPSHOT_JSON).in_field("meta"))?;
        Ok(Timestamp { common, snapshot, other_meta, unknown: CommonFields::unknown_fields(object, &["meta"]) })
    }
}

impl Encode for Timestamp {
    fn encode(&self) -> Value<'_> {
        let mut meta = match self.other_meta.encode() {
            Value::Object(o) => o,
            _ => crate::json::Object::new(),
        };
        meta.insert(Cow::Borrowed(SNAPSHOT_JSON), self.snapshot.encode());
        self.common.encode(MetadataType::Timestamp).field("meta", Value::Object(meta)).finish(&self.unknown)
    }
}
