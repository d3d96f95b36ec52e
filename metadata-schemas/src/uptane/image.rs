//! The image repository's target `custom`: which hardware an image is for.

use alloc::vec::Vec;

use crate::TargetPath;
use crate::decode::{Decode, Encode, ObjectBuilder, UnknownFields, as_object, required};
use crate::error::{DecodeError, DecodeErrorKind};
use crate::json::Value;
use crate::targets::TargetFile;

use super::{HardwareId, in_target};

/// The `custom` of an image-repository target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageTargetCustom {
    /// Hardware the image may be installed on.
    pub hardware_identifiers: Vec<HardwareId>,
    /// Anti-rollback counter of the image.
    pub release_counter: u64,
    /// Fields this crate does not define.
    pub unknown: UnknownFields,
}

impl ImageTargetCustom {
    /// Reads the image-repository fields from a target's `custom`.
    pub fn from_target(path: &TargetPath, target: &TargetFile) -> Result<Self, DecodeError> {
        match &target.custom {
            Some(custom) => Self::decode(custom).map_err(|e| in_target(path, e)),
            None => Err(in_target(path, DecodeError::new(DecodeErrorKind::Missing))),
        }
    }
}

impl ImageTargetCustom {
    /// The support period the image's hardware is covered by (`custom.lifecycle`), if
    /// the repository declared one.
    pub fn lifecycle(&self) -> Result<Option<super::LifecycleRef>, DecodeError> {
        self.unknown
            .get("lifecycle")
            .map(|v| super::LifecycleRef::decode(v).map_err(|e| e.in_field("lifecycle")))
            .transpose()
    }
}

impl Decode for ImageTargetCustom {
    fn decode(value: &Value<'_>) -> Result<Self, DecodeError> {
        let object = as_object(value)?;
        Ok(ImageTargetCustom {
            hardware_identifiers: required(object, "hardware_identifiers")?,
            release_counter: required(object, "release_counter")?,
            unknown: UnknownFields::collect(object, &["hardware_identifiers", "release_counter"]),
        })
    }
}

impl Encode for ImageTargetCustom {
    fn encode(&self) -> Value<'_> {
        ObjectBuilder::new()
            .field("hardware_identifiers", self.hardware_identifiers.encode())
            .field("release_counter", self.release_counter.encode())
            .finish(&self.unknown)
    }
}
