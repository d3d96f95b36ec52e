//! The JSON value model of TUF metadata: integers only, object members sorted by key.
//!
//! Strings borrow from the input where they contain no escape, so parsing a large
//! targets file allocates little. Objects keep their members sorted by key (byte
//! order, which for UTF-8 is code point order, as Python's `sorted` uses), so the
//! canonical encoder writes them as they are.

mod parse;
mod write;

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

pub use parse::{ParseOptions, parse, parse_with};
pub use write::{to_canonical, to_canonical_with_capacity, to_pretty, write_canonical, write_pretty};

/// A JSON value as TUF metadata uses it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value<'a> {
    /// `null`
    Null,
    /// `true` or `false`
    Bool(bool),
    /// An integer of any size.
    Number(Number<'a>),
    /// A string (already unescaped).
    String(Cow<'a, str>),
    /// An array.
    Array(Vec<Value<'a>>),
    /// An object with unique keys, kept sorted.
    Object(Object<'a>),
}

/// A JSON integer. Floats are not part of TUF metadata (securesystemslib cannot
/// canonicalize them), so there is no float variant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Number<'a> {
    /// A non-negative integer that fits in `u64`.
    Unsigned(u64),
    /// A negative integer that fits in `i64`.
    Negative(i64),
    /// Any other integer, as canonical decimal text (optional `-`, no leading zeros).
    Big(Cow<'a, str>),
}

/// The JSON type of a value, for error messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JsonType {
    /// `null`
    Null,
    /// `true` / `false`
    Bool,
    /// an integer
    Number,
    /// a string
    String,
    /// an array
    Array,
    /// an object
    Object,
}

impl fmt::Display for JsonType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            JsonType::Null => "null",
            JsonType::Bool => "a boolean",
            JsonType::Number => "an integer",
            JsonType::String => "a string",
            JsonType::Array => "an array",
            JsonType::Object => "an object",
        })
    }
}

impl<'a> Value<'a> {
    /// The JSON type of this value.
    pub fn json_type(&self) -> JsonType {
        match self {
            Value::Null => JsonType::Null,
            Value::Bool(_) => JsonType::Bool,
            Value::Number(_) => JsonType::Number,
            Value::String(_) => JsonType::String,
            Value::Array(_) => JsonType::Array,
            Value::Object(_) => JsonType::Object,
        }
    }

    /// A string value built from anything string-like.
    pub fn string(s: impl Into<Cow<'a, str>>) -> Self {
        Value::String(s.into())
    }

    /// An unsigned integer value.
    pub fn unsigned(n: u64) -> Self {
        Value::Number(Number::Unsigned(n))
    }

    /// The string, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The object, if this is an object.
    pub fn as_object(&self) -> Option<&Object<'a>> {
        match self {
            Value::Object(o) => Some(o),
            _ => None,
        }
    }

    /// The value as `u64`, if it is a non-negative integer that fits.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Number(Number::Unsigned(n)) => Some(*n),
            _ => None,
        }
    }

    /// A copy that borrows nothing, for keeping beyond the input's lifetime.
    pub fn into_owned(self) -> Value<'static> {
        match self {
            Value::Null => Value::Null,
            Value::Bool(b) => Value::Bool(b),
            Value::Number(n) => Value::Number(n.into_owned()),
            Value::String(s) => Value::String(Cow::Owned(s.into_owned())),
            Value::Array(items) => Value::Array(items.into_iter().map(Value::into_owned).collect()),
            Value::Object(o) => Value::Object(o.into_owned()),
        }
    }

    /// An owned deep copy of a borrowed value.
    pub fn to_owned_value(&self) -> Value<'static> {
        self.clone().into_owned()
    }
}

impl Number<'_> {
    /// A copy that borrows nothing.
    pub fn into_owned(self) -> Number<'static> {
        match self {
            Number::Unsigned(n) => Number::Unsigned(n),
            Number::Negative(n) => Number::Negative(n),
            Number::Big(s) => Number::Big(Cow::Owned(s.into_owned())),
        }
    }
}

/// A JSON object: members with unique keys, sorted by key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Object<'a> {
    members: Vec<(Cow<'a, str>, Value<'a>)>,
}

/// A key that occurs twice in one object; JSON parsers disagree on which one wins,
/// so TUF metadata with one is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DuplicateKey(pub String);

impl<'a> Object<'a> {
    /// An empty object.
    pub const fn new() -> Self {
        Object { members: Vec::new() }
    }

    /// An object from members in any order; fails on a repeated key.
    pub fn from_members(mut members: Vec<(Cow<'a, str>, Value<'a>)>) -> Result<Self, DuplicateKey> {
        // Input written by python-tuf is already sorted: the check makes that case linear.
        if !members.is_sorted_by(|a, b| a.0 < b.0) {
            members.sort_by(|a, b| a.0.cmp(&b.0));
            if let Some(pair) = members.windows(2).find(|w| w[0].0 == w[1].0) {
                return Err(DuplicateKey(pair[0].0.clone().into_owned()));
            }
        }
        Ok(Object { members })
    }

    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<&Value<'a>> {
        // Most objects are small: a scan beats a binary search there.
        if self.members.len() <= 8 {
            return self.members.iter().find(|(k, _)| k == key).map(|(_, v)| v);
        }
        self.members.binary_search_by(|(k, _)| k.as_ref().cmp(key)).ok().map(|i| &self.members[i].1)
    }

    /// Sets `key` to `value`, replacing an existing member.
    pub fn insert(&mut self, key: impl Into<Cow<'a, str>>, value: Value<'a>) {
        let key = key.into();
        // Parsed and encoded objects arrive in key order: one compare, then a push.
        if self.members.last().is_none_or(|(last, _)| last.as_ref() < key.as_ref()) {
            self.members.push((key, value));
            return;
        }
        match self.members.binary_search_by(|(k, _)| k.as_ref().cmp(&key)) {
            Ok(i) => self.members[i].1 = value,
            Err(i) => self.members.insert(i, (key, value)),
        }
    }

    /// Removes and returns the member under `key`.
    pub fn remove(&mut self, key: &str) -> Option<Value<'a>> {
        let i = self.members.binary_search_by(|(k, _)| k.as_ref().cmp(key)).ok()?;
        Some(self.members.remove(i).1)
    }

    /// The members in key order, by value.
    pub fn into_members(self) -> Vec<(Cow<'a, str>, Value<'a>)> {
        self.members
    }

    /// Members in key order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &Value<'a>)> {
        self.members.iter().map(|(k, v)| (k.as_ref(), v))
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether the object has no members.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// A copy that borrows nothing.
    pub fn into_owned(self) -> Object<'static> {
        Object {
            members: self.members.into_iter().map(|(k, v)| (Cow::Owned(k.into_owned()), v.into_owned())).collect(),
        }
    }
}

impl<'a> FromIterator<(Cow<'a, str>, Value<'a>)> for Object<'a> {
    /// Later members replace earlier ones with the same key.
    fn from_iter<I: IntoIterator<Item = (Cow<'a, str>, Value<'a>)>>(iter: I) -> Self {
        let mut object = Object::new();
        for (k, v) in iter {
            object.insert(k, v);
        }
        object
    }
}
