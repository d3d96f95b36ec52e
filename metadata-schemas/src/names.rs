//! Names: key ids, role names (and the file names they become), target paths (and
//! the checks before they become file names), and non-empty identifiers.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::Version;
use crate::decode::{Decode, Encode, MapKey, as_str};
use crate::error::DecodeError;
use crate::json::Value;

macro_rules! string_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl core::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl Decode for $name {
            fn decode(value: &Value<'_>) -> Result<Self, DecodeError> {
                <$name as MapKey>::from_key(as_str(value)?)
            }
        }

        impl Encode for $name {
            fn encode(&self) -> Value<'_> {
                Value::string(self.0.as_str())
            }
        }
    };
}

string_newtype!(
    /// A key id: in TUF, the hex SHA-256 of the key's canonical JSON, but any string is
    /// accepted (python-tuf does not check it); identity comes from the key itself.
    KeyId
);

impl KeyId {
    /// A key id from text.
    pub fn new(text: impl Into<String>) -> Self {
        KeyId(text.into())
    }

    /// The first 8 characters, for messages ("9f3c1a2b..").
    pub fn short(&self) -> &str {
        let end = self.0.char_indices().nth(8).map_or(self.0.len(), |(i, _)| i);
        &self.0[..end]
    }
}

impl MapKey for KeyId {
    fn from_key(key: &str) -> Result<Self, DecodeError> {
        Ok(KeyId(String::from(key)))
    }
    fn as_key(&self) -> &str {
        &self.0
    }
}

string_newtype!(
    /// A role name: a top-level role or a delegated role; never empty.
    RoleName
);

impl RoleName {
    /// The root role.
    pub fn root() -> Self {
        RoleName(String::from("root"))
    }
    /// The top-level targets role.
    pub fn targets() -> Self {
        RoleName(String::from("targets"))
    }
    /// The snapshot role.
    pub fn snapshot() -> Self {
        RoleName(String::from("snapshot"))
    }
    /// The timestamp role.
    pub fn timestamp() -> Self {
        RoleName(String::from("timestamp"))
    }

    /// A role name from text, if it is not empty.
    pub fn new(text: impl Into<String>) -> Option<Self> {
        let text = text.into();
        (!text.is_empty()).then_some(RoleName(text))
    }

    /// Whether this names one of the four top-level roles.
    pub fn is_top_level(&self) -> bool {
        matches!(self.0.as_str(), "root" | "targets" | "snapshot" | "timestamp")
    }

    /// The file name of this role's metadata (`<name>.json`), with the name
    /// percent-encoded so that it can never leave the metadata directory.
    pub fn file_name(&self) -> String {
        let mut out = percent_encode(&self.0);
        out.push_str(".json");
        out
    }

    /// The consistent-snapshot file name `<version>.<name>.json`.
    pub fn versioned_file_name(&self, version: Version) -> String {
        alloc::format!("{version}.{}", self.file_name())
    }
}

impl MapKey for RoleName {
    fn from_key(key: &str) -> Result<Self, DecodeError> {
        RoleName::new(key).ok_or_else(|| DecodeError::invalid("role name is empty"))
    }
    fn as_key(&self) -> &str {
        &self.0
    }
}

/// Percent-encodes every byte except `A-Z a-z 0-9 _ . - ~`, so that the result is one
/// safe path segment.
pub fn percent_encode(text: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(text.len());
    for &b in text.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
    out
}

string_newtype!(
    /// A target path: a URL path relative to the targets base URL, as listed in targets
    /// metadata. Any string is a valid entry; [`TargetPath::file_path_segments`] checks
    /// it before it becomes a file name.
    TargetPath
);

/// Why a target path cannot be used as a relative file path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnsafePath {
    /// The path is empty.
    Empty,
    /// The path starts with `/`.
    Absolute,
    /// A segment is `..` or `.`.
    DotSegment,
    /// Two slashes in a row, or a trailing slash.
    EmptySegment,
    /// A backslash, NUL or other control character.
    ForbiddenCharacter,
}

impl fmt::Display for UnsafePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UnsafePath::Empty => "the path is empty",
            UnsafePath::Absolute => "the path is absolute",
            UnsafePath::DotSegment => "the path has a '.' or '..' segment",
            UnsafePath::EmptySegment => "the path has an empty segment",
            UnsafePath::ForbiddenCharacter => "the path has a backslash or control character",
        })
    }
}

impl TargetPath {
    /// A target path from text.
    pub fn new(text: impl Into<String>) -> Self {
        TargetPath(text.into())
    }

    /// The `/`-separated segments of this path if it is safe to join under a directory:
    /// relative, with no `..`, `.` or empty segment, and no backslash or control character.
    pub fn file_path_segments(&self) -> Result<Vec<&str>, UnsafePath> {
        if self.0.is_empty() {
            return Err(UnsafePath::Empty);
        }
        if self.0.starts_with('/') {
            return Err(UnsafePath::Absolute);
        }
        if self.0.chars().any(|c| c == '\\' || c.is_control()) {
            return Err(UnsafePath::ForbiddenCharacter);
        }
        let segments: Vec<&str> = self.0.split('/').collect();
        if segments.iter().any(|s| s.is_empty()) {
            return Err(UnsafePath::EmptySegment);
        }
        if segments.iter().any(|s| *s == ".." || *s == ".") {
            return Err(UnsafePath::DotSegment);
        }
        Ok(segments)
    }

    /// The consistent-snapshot URL path `<dirname>/<hexdigest>.<basename>`.
    pub fn hash_prefixed(&self, digest_hex: &str) -> String {
        match self.0.rsplit_once('/') {
            Some((dir, base)) => alloc::format!("{dir}/{digest_hex}.{base}"),
            None => alloc::format!("{digest_hex}.{}", self.0),
        }
    }
}

impl From<&str> for TargetPath {
    fn from(text: &str) -> Self {
        TargetPath(String::from(text))
    }
}

impl From<String> for TargetPath {
    fn from(text: String) -> Self {
        TargetPath(text)
    }
}

impl MapKey for TargetPath {
    fn from_key(key: &str) -> Result<Self, DecodeError> {
        Ok(TargetPath(String::from(key)))
    }
    fn as_key(&self) -> &str {
        &self.0
    }
}

/// Declares a non-empty string identifier type with JSON encoding.
#[macro_export]
#[doc(hidden)]
macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(alloc::string::String);

        impl $name {
            /// An identifier from text, if it is not empty.
            pub fn new(text: impl Into<alloc::string::String>) -> Option<Self> {
                let text = text.into();
                (!text.is_empty()).then_some($name(text))
            }

            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl core::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl $crate::decode::MapKey for $name {
            fn from_key(key: &str) -> Result<Self, $crate::error::DecodeError> {
                $name::new(key).ok_or_else(|| $crate::error::DecodeError::invalid("identifier is empty"))
            }
            fn as_key(&self) -> &str {
                &self.0
            }
        }

        impl $crate::decode::Decode for $name {
            fn decode(value: &$crate::json::Value<'_>) -> Result<Self, $crate::error::DecodeError> {
                <$name as $crate::decode::MapKey>::from_key($crate::decode::as_str(value)?)
            }
        }

        impl $crate::decode::Encode for $name {
            fn encode(&self) -> $crate::json::Value<'_> {
                $crate::json::Value::string(self.0.as_str())
            }
        }
    };
}
