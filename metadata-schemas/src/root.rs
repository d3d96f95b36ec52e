//! Root metadata: the keys and thresholds of the four top-level roles.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use crate::decode::{Decode, Encode, ObjectBuilder, UnknownFields, as_object, optional, required};
use crate::error::{DecodeError, DecodeErrorKind};
use crate::json::Value;
use crate::key::Key;
use crate::{CommonFields, KeyId, MetadataType, Threshold};

/// The `signed` part of root metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Root {
    /// Version, expiry and spec version.
    pub common: CommonFields,
    /// Whether the repository uses consistent snapshots (absent means false).
    pub consistent_snapshot: Option<bool>,
    /// The keys the roles refer to, by key id.
    pub keys: BTreeMap<KeyId, Key>,
    /// Keys and thresholds of the top-level roles.
    pub roles: TopLevelRoles,
    /// Fields this crate does not define.
    pub unknown: UnknownFields,
}

/// The `roles` of root metadata: exactly the four top-level roles.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopLevelRoles {
    /// Who signs root.
    pub root: RoleKeys,
    /// Who signs the top-level targets.
    pub targets: RoleKeys,
    /// Who signs snapshot.
    pub snapshot: RoleKeys,
    /// Who signs timestamp.
    pub timestamp: RoleKeys,
}

/// The key ids allowed to sign a role, and how many distinct keys must sign.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleKeys {
    /// Authorized key ids, without repeats.
    pub keyids: Vec<KeyId>,
    /// How many distinct keys must sign.
    pub threshold: Threshold,
    /// Fields this crate does not define.
    pub unknown: UnknownFields,
}

impl Root {
    /// Whether consistent snapshots are on.
    pub fn consistent_snapshot(&self) -> bool {
        self.consistent_snapshot.unwrap_or(false)
    }

    /// The keys and threshold of a top-level role.
    pub fn role(&self, kind: MetadataType) -> &RoleKeys {
        match kind {
            MetadataType::Root => &self.roles.root,
            MetadataType::Targets => &self.roles.targets,
            MetadataType::Snapshot => &self.roles.snapshot,
            MetadataType::Timestamp => &self.roles.timestamp,
        }
    }
}

impl Decode for Root {
    fn decode(value: &Value<'_>) -> Result<Self, DecodeError> {
        let object = as_object(value)?;
        let common = CommonFields::decode(object, MetadataType::Root)?;
        Ok(Root {
            common,
            consistent_snapshot: optional(object, "consistent_snapshot")?,
            keys: required(object, "keys")?,
            roles: required(object, "roles")?,
            unknown: CommonFields::unknown_fields(object, &["consistent_snapshot", "keys", "roles"]),
        })
    }
}

impl Encode for Root {
    fn encode(&self) -> Value<'_> {
        self.common
            .encode(MetadataType::Root)
            .optional("consistent_snapshot", &self.consistent_snapshot)
            .field("keys", self.keys.encode())
            .field("roles", self.roles.encode())
            .finish(&self.unknown)
    }
}

const TOP_LEVEL: [&str; 4] = ["root", "snapshot", "targets", "timestamp"];

impl Decode for TopLevelRoles {
    fn decode(value: &Value<'_>) -> Result<Self, DecodeError> {
        let object = as_object(value)?;
        if let Some((name, _)) = object.iter().find(|(name, _)| !TOP_LEVEL.contains(name)) {
            return Err(DecodeError::invalid("root lists keys only for the four top-level roles").in_field(name));
        }
        Ok(TopLevelRoles {
            root: required(object, "root")?,
            targets: required(object, "targets")?,
            snapshot: required(object, "snapshot")?,
            timestamp: required(object, "timestamp")?,
        })
    }
}

impl Encode for TopLevelRoles {
    fn encode(&self) -> Value<'_> {
        ObjectBuilder::new()
            .field("root", self.root.encode())
            .field("targets", self.targets.encode())
            .field("snapshot", self.snapshot.encode())
            .field("timestamp", self.timestamp.encode())
            .finish(const { &UnknownFields(crate::json::Object::new()) })
    }
}

/// Decodes a key id list that must not repeat an id.
pub(crate) fn unique_keyids(object: &crate::json::Object<'_>) -> Result<Vec<KeyId>, DecodeError> {
    let keyids: Vec<KeyId> = required(object, "keyids")?;
    for (i, id) in keyids.iter().enumerate() {
        if keyids[..i].contains(id) {
            return Err(DecodeError::new(DecodeErrorKind::Duplicate(id.as_str().into())).in_field("keyids"));
        }
    }
    Ok(keyids)
}

impl Decode for RoleKeys {
    fn decode(value: &Value<'_>) -> Result<Self, DecodeError> {
        let object = as_object(value)?;
        Ok(RoleKeys {
            keyids: unique_keyids(object)?,
            threshold: required(object, "threshold")?,
            unknown: UnknownFields::collect(object, &["keyids", "threshold"]),
        })
    }
}

impl Encode for RoleKeys {
    fn encode(&self) -> Value<'_> {
        ObjectBuilder::new()
            .field("keyids", self.keyids.encode())
            .field("threshold", self.threshold.encode())
            .finish(&self.unknown)
    }
}
