//! Delegations: which roles may sign for which target paths, with whose keys.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::decode::{Decode, Encode, ObjectBuilder, UnknownFields, as_object, optional, required};
use crate::error::{DecodeError, DecodeErrorKind};
use crate::json::Value;
use crate::key::Key;
use crate::root::unique_keyids;
use crate::{KeyId, RoleName, Threshold};

/// The `delegations` object of targets metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delegations {
    /// Keys the delegated roles refer to.
    pub keys: BTreeMap<KeyId, Key>,
    /// The delegated roles: a list, or succinct hash bins (TAP 15).
    pub roles: DelegatedRoles,
    /// Fields this crate does not define.
    pub unknown: UnknownFields,
}

/// Either an ordered list of roles or a succinct description of hash bins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DelegatedRoles {
    /// Roles in priority order, with unique names.
    List(Vec<DelegatedRole>),
    /// `2^bit_length` bins named `<prefix>-<hex index>` (TAP 15).
    Succinct(SuccinctRoles),
}

/// One delegated role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DelegatedRole {
    /// The role's name (never a top-level role name).
    pub name: RoleName,
    /// Authorized key ids.
    pub keyids: Vec<KeyId>,
    /// How many distinct keys must sign.
    pub threshold: Threshold,
    /// Whether the search stops after this role's subtree.
    pub terminating: bool,
    /// Which target paths the role may sign for.
    pub paths: PathSpec,
    /// Fields this crate does not define.
    pub unknown: UnknownFields,
}

/// The target paths a delegated role is trusted for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathSpec {
    /// Shell-style patterns matched segment by segment (`paths`).
    Patterns(Vec<String>),
    /// Hex prefixes of the SHA-256 of the target path (`path_hash_prefixes`).
    HashPrefixes(Vec<String>),
}

/// Succinct hash-bin delegation (TAP 15): every bin is terminating and uses the same keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SuccinctRoles {
    /// Authorized key ids of every bin.
    pub keyids: Vec<KeyId>,
    /// Threshold of every bin.
    pub threshold: Threshold,
    /// Number of leading bits of the path hash that pick the bin: 1 to 32.
    pub bit_length: u8,
    /// Bin names are `<name_prefix>-<index in hex>`.
    pub name_prefix: String,
    /// Fields this crate does not define.
    pub unknown: UnknownFields,
}

impl Delegations {
    /// The delegated role called `name`, with its keys and threshold.
    pub fn find_role(&self, name: &RoleName) -> Option<(&[KeyId], Threshold)> {
        match &self.roles {
            DelegatedRoles::List(roles) => {
                roles.iter().find(|r| &r.name == name).map(|r| (r.keyids.as_slice(), r.threshold))
            }
            DelegatedRoles::Succinct(s) => s.is_bin(name).then_some((s.keyids.as_slice(), s.threshold)),
        }
    }
}

impl SuccinctRoles {
    /// How many bins there are.
    pub fn bin_count(&self) -> u64 {
        1u64 << self.bit_length
    }

    /// Hex digits of a bin index: enough for the largest index.
    fn suffix_len(&self) -> usize {
        let bits = u32::from(self.bit_length);
        bits.div_ceil(4) as usize
    }

    /// The name of bin `index`.
    pub fn bin_name(&self, index: u64) -> RoleName {
        let name = format!("{}-{:0width$x}", self.name_prefix, index, width = self.suffix_len());
        RoleName::new(name).unwrap_or_else(RoleName::targets) // never empty: it has a '-'
    }

    /// The bin for a path whose SHA-256 digest starts with `hash_prefix` (4 bytes).
    pub fn bin_for_hash(&self, hash_prefix: [u8; 4]) -> RoleName {
        let index = u32::from_be_bytes(hash_prefix) >> (32 - u32::from(self.bit_length));
        self.bin_name(u64::from(index))
    }

    /// Whether `name` is one of the bins.
    pub fn is_bin(&self, name: &RoleName) -> bool {
        let Some(suffix) = name.as_str().strip_prefix(self.name_prefix.as_str()).and_then(|s| s.strip_prefix('-'))
        else {
            return false;
        };
        suffix.len() == self.suffix_len()
            && suffix.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            && u64::from_str_radix(suffix, 16).is_ok_and(|i| i < self.bin_count())
    }
}

impl Decode for Delegations {
    fn decode(value: &Value<'_>) -> Result<Self, DecodeError> {
        let object = as_object(value)?;
        let keys = required(object, "keys")?;
        let list: Option<Vec<DelegatedRole>> = optional(object, "roles")?;
        let succinct: Option<SuccinctRoles> = optional(object, "succinct_roles")?;
        let roles = match (list, succinct) {
            (Some(list), None) => {
                for (i, role) in list.iter().enumerate() {
                    if list[..i].iter().any(|r| r.name == role.name) {
                        return Err(
                            DecodeError::new(DecodeErrorKind::Duplicate(role.name.as_str().into())).in_field("roles")
                        );
                    }
                }
                DelegatedRoles::List(list)
            }
            (None, Some(succinct)) => DelegatedRoles::Succinct(succinct),
            _ => {
                return Err(DecodeError::invalid("delegations must have exactly one of roles and succinct_roles"));
            }
        };
        Ok(Delegations { keys, roles, unknown: UnknownFields::collect(object, &["keys", "roles", "succinct_roles"]) })
    }
}

impl Encode for Delegations {
    fn encode(&self) -> Value<'_> {
        let builder = ObjectBuilder::new().field("keys", self.keys.encode());
        let builder = match &self.roles {
            DelegatedRoles::List(roles) => builder.field("roles", roles.encode()),
            DelegatedRoles::Succinct(s) => builder.field("succinct_roles", s.encode()),
        };
        builder.finish(&self.unknown)
    }
}

impl Decode for DelegatedRole {
    fn decode(value: &Value<'_>) -> Result<Self, DecodeError> {
        let object = as_object(value)?;
        let name: RoleName = required(object, "name")?;
        if name.is_top_level() {
            return Err(DecodeError::invalid("a delegated role cannot have a top-level role name").in_field("name"));
        }
        let paths = match (optional(object, "paths")?, optional(object, "path_hash_prefixes")?) {
            (Some(patterns), None) => PathSpec::Patterns(patterns),
            (None, Some(prefixes)) => PathSpec::HashPrefixes(prefixes),
            _ => {
                return Err(DecodeError::invalid("a delegated role needs exactly one of paths and path_hash_prefixes"));
            }
        };
        Ok(DelegatedRole {
            name,
            keyids: unique_keyids(object)?,
            threshold: required(object, "threshold")?,
            terminating: required(object, "terminating")?,
            paths,
            unknown: UnknownFields::collect(
                object,
                &["name", "keyids", "threshold", "terminating", "paths", "path_hash_prefixes"],
            ),
        })
    }
}

impl Encode for DelegatedRole {
    fn encode(&self) -> Value<'_> {
        let builder = ObjectBuilder::new()
            .field("name", self.name.encode())
            .field("keyids", self.keyids.encode())
            .field("threshold", self.threshold.encode())
            .field("terminating", Value::Bool(self.terminating));
        match &self.paths {
            PathSpec::Patterns(p) => builder.field("paths", p.encode()),
            PathSpec::HashPrefixes(p) => builder.field("path_hash_prefixes", p.encode()),
        }
        .finish(&self.unknown)
    }
}

impl Decode for SuccinctRoles {
    fn decode(value: &Value<'_>) -> Result<Self, DecodeError> {
        let object = as_object(value)?;
        let bit_length: u64 = required(object, "bit_length")?;
        let bit_length = u8::try_from(bit_length).ok().filter(|b| (1..=32).contains(b)).ok_or_else(|| {
            DecodeError::new(DecodeErrorKind::OutOfRange { allowed: "1 to 32" }).in_field("bit_length")
        })?;
        Ok(SuccinctRoles {
            keyids: unique_keyids(object)?,
            threshold: required(object, "threshold")?,
            bit_length,
            name_prefix: required(object, "name_prefix")?,
            unknown: UnknownFields::collect(object, &["keyids", "threshold", "bit_length", "name_prefix"]),
        })
    }
}

impl Encode for SuccinctRoles {
    fn encode(&self) -> Value<'_> {
        ObjectBuilder::new()
            .field("keyids", self.keyids.encode())
            .field("threshold", self.threshold.encode())
            .field("bit_length", Value::unsigned(u64::from(self.bit_length)))
            .field("name_prefix", self.name_prefix.encode())
            .finish(&self.unknown)
    }
}
