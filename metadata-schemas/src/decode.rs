//! Decoding typed metadata from [`Value`]s and encoding it back, field by field, so
//! that errors carry the path of the field and unknown fields survive a round trip.

use alloc::borrow::Cow;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use crate::error::{DecodeError, DecodeErrorKind};
use crate::json::{JsonType, Object, Value};

/// Reading a typed value from a JSON value.
pub trait Decode: Sized {
    /// Decodes `value`, or names what is wrong with it.
    fn decode(value: &Value<'_>) -> Result<Self, DecodeError>;

    /// Decodes an owned value; types holding large collections override it to free
    /// each part of the value as soon as it is decoded.
    fn decode_owned(value: Value<'_>) -> Result<Self, DecodeError> {
        Self::decode(&value)
    }
}

/// Writing a typed value as a JSON value (borrowing from `self`).
pub trait Encode {
    /// The JSON value of `self`.
    fn encode(&self) -> Value<'_>;
}

impl<T: Encode + ?Sized> Encode for &T {
    fn encode(&self) -> Value<'_> {
        (**self).encode()
    }
}

/// The error for a value of the wrong JSON type.
pub fn wrong_type(expected: JsonType, found: &Value<'_>) -> DecodeError {
    DecodeError::new(DecodeErrorKind::WrongType { expected, found: found.json_type() })
}

/// The object inside `value`.
pub fn as_object<'v, 'a>(value: &'v Value<'a>) -> Result<&'v Object<'a>, DecodeError> {
    value.as_object().ok_or_else(|| wrong_type(JsonType::Object, value))
}

/// The string inside `value`.
pub fn as_str<'v>(value: &'v Value<'_>) -> Result<&'v str, DecodeError> {
    value.as_str().ok_or_else(|| wrong_type(JsonType::String, value))
}

/// Decodes the required member `name` of `object`.
pub fn required<T: Decode>(object: &Object<'_>, name: &str) -> Result<T, DecodeError> {
    match object.get(name) {
        Some(value) => T::decode(value).map_err(|e| e.in_field(name)),
        None => Err(DecodeError::new(DecodeErrorKind::Missing).in_field(name)),
    }
}

/// Decodes the optional member `name` of `object`.
pub fn optional<T: Decode>(object: &Object<'_>, name: &str) -> Result<Option<T>, DecodeError> {
    object.get(name).map(|value| T::decode(value).map_err(|e| e.in_field(name))).transpose()
}

/// Members of an object that the schema does not define, kept so that a re-encoded
/// document still carries them (and still verifies).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UnknownFields(pub Object<'static>);

impl UnknownFields {
    /// The members of `object` whose names are not in `known`.
    pub fn collect(object: &Object<'_>, known: &[&str]) -> Self {
        UnknownFields(
            object
                .iter()
                .filter(|(k, _)| !known.contains(k))
                .map(|(k, v)| (Cow::Owned(String::from(k)), v.to_owned_value()))
                .collect(),
        )
    }

    /// The unknown member `name`.
    pub fn get(&self, name: &str) -> Option<&Value<'static>> {
        self.0.get(name)
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Builds the JSON object of a typed value, then adds its unknown fields.
pub struct ObjectBuilder<'a>(Object<'a>);

impl<'a> ObjectBuilder<'a> {
    /// An empty builder.
    pub fn new() -> Self {
        ObjectBuilder(Object::new())
    }

    /// Adds a member.
    pub fn field(mut self, name: &'static str, value: Value<'a>) -> Self {
        self.0.insert(name, value);
        self
    }

    /// Adds a member if `value` is present.
    pub fn optional<T: Encode>(self, name: &'static str, value: &'a Option<T>) -> Self {
        match value {
            Some(v) => self.field(name, v.encode()),
            None => self,
        }
    }

    /// Adds a member if `value` is present (a value made for the occasion).
    pub fn optional_value(self, name: &'static str, value: Option<Value<'a>>) -> Self {
        match value {
            Some(v) => self.field(name, v),
            None => self,
        }
    }

    /// Adds the unknown fields and returns the object value.
    pub fn finish(mut self, unknown: &'a UnknownFields) -> Value<'a> {
        for (k, v) in unknown.0.iter() {
            self.0.insert(k, borrow(v));
        }
        Value::Object(self.0)
    }
}

impl Default for ObjectBuilder<'_> {
    fn default() -> Self {
        Self::new()
    }
}

/// A value that borrows from `value`; strings are not copied.
pub fn borrow<'a>(value: &'a Value<'_>) -> Value<'a> {
    match value {
        Value::Null => Value::Null,
        Value::Bool(b) => Value::Bool(*b),
        Value::Number(n) => Value::Number(match n {
            crate::json::Number::Big(text) => crate::json::Number::Big(Cow::Borrowed(text)),
            crate::json::Number::Unsigned(v) => crate::json::Number::Unsigned(*v),
            crate::json::Number::Negative(v) => crate::json::Number::Negative(*v),
        }),
        Value::String(s) => Value::String(Cow::Borrowed(s)),
        Value::Array(items) => Value::Array(items.iter().map(borrow).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (Cow::Borrowed(k), borrow(v))).collect()),
    }
}

impl Decode for String {
    fn decode(value: &Value<'_>) -> Result<Self, DecodeError> {
        as_str(value).map(String::from)
    }
}

impl Encode for String {
    fn encode(&self) -> Value<'_> {
        Value::String(Cow::Borrowed(self))
    }
}

impl Decode for bool {
    fn decode(value: &Value<'_>) -> Result<Self, DecodeError> {
        match value {
            Value::Bool(b) => Ok(*b),
            other => Err(wrong_type(JsonType::Bool, other)),
        }
    }
}

impl Encode for bool {
    fn encode(&self) -> Value<'_> {
        Value::Bool(*self)
    }
}

impl Decode for u64 {
    fn decode(value: &Value<'_>) -> Result<Self, DecodeError> {
        match value {
            Value::Number(crate::json::Number::Unsigned(n)) => Ok(*n),
            Value::Number(_) => Err(DecodeError::new(DecodeErrorKind::OutOfRange { allowed: "0 to 2^64-1" })),
            other => Err(wrong_type(JsonType::Number, other)),
        }
    }
}

impl Encode for u64 {
    fn encode(&self) -> Value<'_> {
        Value::unsigned(*self)
    }
}

impl Decode for Value<'static> {
    fn decode(value: &Value<'_>) -> Result<Self, DecodeError> {
        Ok(value.to_owned_value())
    }
}

impl Encode for Value<'static> {
    fn encode(&self) -> Value<'_> {
        borrow(self)
    }
}

impl<T: Decode> Decode for Vec<T> {
    fn decode(value: &Value<'_>) -> Result<Self, DecodeError> {
        match value {
            Value::Array(items) => {
                items.iter().enumerate().map(|(i, item)| T::decode(item).map_err(|e| e.at_index(i))).collect()
            }
            other => Err(wrong_type(JsonType::Array, other)),
        }
    }
}

impl<T: Encode> Encode for Vec<T> {
    fn encode(&self) -> Value<'_> {
        Value::Array(self.iter().map(Encode::encode).collect())
    }
}

/// Map keys that are strings with rules of their own (role names, paths, key ids).
pub trait MapKey: Sized + Ord {
    /// Parses the key text.
    fn from_key(key: &str) -> Result<Self, DecodeError>;
    /// The key text.
    fn as_key(&self) -> &str;
}

impl MapKey for String {
    fn from_key(key: &str) -> Result<Self, DecodeError> {
        Ok(String::from(key))
    }
    fn as_key(&self) -> &str {
        self
    }
}

impl<K: MapKey, T: Decode> Decode for BTreeMap<K, T> {
    fn decode(value: &Value<'_>) -> Result<Self, DecodeError> {
        let object = as_object(value)?;
        let mut entries = Vec::with_capacity(object.len());
        for (k, v) in object.iter() {
            entries.push(map_entry(k, v)?);
        }
        // Members arrive sorted, so the tree is built in one pass from the exact-size list.
        Ok(entries.into_iter().collect())
    }

    fn decode_owned(value: Value<'_>) -> Result<Self, DecodeError> {
        let members = match value {
            Value::Object(object) => object.into_members(),
            other => return Err(wrong_type(JsonType::Object, &other)),
        };
        let mut entries = Vec::with_capacity(members.len());
        for (k, v) in members {
            entries.push(map_entry(&k, &v)?); // `v` is freed here, before the next entry
        }
        Ok(entries.into_iter().collect())
    }
}

fn map_entry<K: MapKey, T: Decode>(key: &str, value: &Value<'_>) -> Result<(K, T), DecodeError> {
    Ok((K::from_key(key).map_err(|e| e.in_field(key))?, T::decode(value).map_err(|e| e.in_field(key))?))
}

impl<K: MapKey, T: Encode> Encode for BTreeMap<K, T> {
    fn encode(&self) -> Value<'_> {
        Value::Object(self.iter().map(|(k, v)| (Cow::Borrowed(k.as_key()), v.encode())).collect())
    }
}
