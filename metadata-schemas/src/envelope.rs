//! The signed envelope `{"signed": ..., "signatures": [...]}`.
//!
//! Verification works on the envelope: canonicalize `signed` exactly as received
//! (unknown fields included), check signatures over those bytes, and only then decode
//! the typed struct from the same value.

use alloc::string::String;
use alloc::vec::Vec;

use crate::KeyId;
use crate::decode::{Decode, Encode, ObjectBuilder, UnknownFields, as_object, required, wrong_type};
use crate::error::{DecodeError, DecodeErrorKind, Error};
use crate::json::{self, JsonType, ParseOptions, Value};

/// A parsed, not yet verified, metadata document.
#[derive(Clone, Debug)]
pub struct Envelope<'a> {
    /// Always an object.
    signed: Value<'a>,
    /// The signatures, with unique key ids.
    pub signatures: Vec<Signature>,
    /// Other top-level members.
    pub unknown: UnknownFields,
    /// Length of the parsed input: an upper bound on the canonical form's length.
    source_len: usize,
}

/// One signature: a key id and the signature bytes in hex.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    /// Which key signed.
    pub keyid: KeyId,
    /// The signature in hex, as given; bad hex just fails to verify.
    pub sig: String,
    /// Fields this crate does not define.
    pub unknown: UnknownFields,
}

impl<'a> Envelope<'a> {
    /// Parses an envelope with default parser options.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, Error> {
        Self::parse_with(bytes, ParseOptions::default())
    }

    /// Parses an envelope.
    pub fn parse_with(bytes: &'a [u8], options: ParseOptions) -> Result<Self, Error> {
        let value = json::parse_with(bytes, options)?;
        let mut envelope = Self::from_value(value)?;
        envelope.source_len = bytes.len();
        Ok(envelope)
    }

    /// Splits a parsed document into its parts.
    pub fn from_value(value: Value<'a>) -> Result<Self, DecodeError> {
        let mut object = match value {
            Value::Object(o) => o,
            other => return Err(wrong_type(JsonType::Object, &other)),
        };
        let signatures: Vec<Signature> = required(&object, "signatures")?;
        for (i, sig) in signatures.iter().enumerate() {
            if signatures[..i].iter().any(|s| s.keyid == sig.keyid) {
                // Two signatures under one key id make the document ambiguous (python-tuf refuses it too).
                return Err(DecodeError::new(DecodeErrorKind::Duplicate(sig.keyid.as_str().into()))
                    .at_index(i)
                    .in_field("signatures"));
            }
        }
        let signed = match object.remove("signed") {
            Some(signed @ Value::Object(_)) => signed,
            Some(other) => return Err(wrong_type(JsonType::Object, &other).in_field("signed")),
            None => return Err(DecodeError::new(DecodeErrorKind::Missing).in_field("signed")),
        };
        let unknown = UnknownFields::collect(&object, &["signatures"]);
        Ok(Envelope { signed, signatures, unknown, source_len: 0 })
    }

    /// The `signed` value as received (an object).
    pub fn signed(&self) -> &Value<'a> {
        &self.signed
    }

    /// The `_type` of the signed object, if it is a string.
    pub fn signed_type(&self) -> Option<&str> {
        self.signed.as_object().and_then(|o| o.get("_type")).and_then(Value::as_str)
    }

    /// The bytes signatures cover: the canonical JSON of `signed`.
    pub fn canonical_signed(&self) -> Vec<u8> {
        json::to_canonical_with_capacity(&self.signed, self.source_len)
    }

    /// Decodes the typed `signed` part. Call after the signatures were verified.
    pub fn decode_signed<T: Decode>(&self) -> Result<T, DecodeError> {
        T::decode(&self.signed).map_err(|e| e.in_field("signed"))
    }

    /// Like [`Envelope::decode_signed`], consuming the envelope so that the value tree
    /// is freed while the typed form is built.
    pub fn into_decoded<T: Decode>(self) -> Result<T, DecodeError> {
        T::decode_owned(self.signed).map_err(|e| e.in_field("signed"))
    }
}

impl Decode for Signature {
    fn decode(value: &Value<'_>) -> Result<Self, DecodeError> {
        let object = as_object(value)?;
        Ok(Signature {
            keyid: required(object, "keyid")?,
            sig: required(object, "sig")?,
            unknown: UnknownFields::collect(object, &["keyid", "sig"]),
        })
    }
}

impl Encode for Signature {
    fn encode(&self) -> Value<'_> {
        ObjectBuilder::new().field("keyid", self.keyid.encode()).field("sig", self.sig.encode()).finish(&self.unknown)
    }
}

/// A typed document with its signatures, for writing metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signed<T> {
    /// The signed part.
    pub signed: T,
    /// Signatures over the canonical JSON of `signed`.
    pub signatures: Vec<Signature>,
    /// Other top-level members.
    pub unknown: UnknownFields,
}

impl<T: Encode> Signed<T> {
    /// A document with no signatures yet.
    pub fn unsigned(signed: T) -> Self {
        Signed { signed, signatures: Vec::new(), unknown: UnknownFields::default() }
    }

    /// The bytes to sign.
    pub fn canonical_signed(&self) -> Vec<u8> {
        json::to_canonical(&self.signed.encode())
    }

    /// The whole document as indented JSON, the way metadata files are written.
    pub fn to_pretty_json(&self) -> Vec<u8> {
        json::to_pretty(&self.encode())
    }

    /// The whole document as canonical JSON (compact).
    pub fn to_canonical_json(&self) -> Vec<u8> {
        json::to_canonical(&self.encode())
    }
}

impl<T: Encode> Encode for Signed<T> {
    fn encode(&self) -> Value<'_> {
        ObjectBuilder::new()
            .field("signed", self.signed.encode())
            .field("signatures", self.signatures.encode())
            .finish(&self.unknown)
    }
}

impl<T: Decode> Signed<T> {
    /// Decodes a whole document WITHOUT checking signatures: for tools that inspect
    /// or re-sign metadata, never for deciding what to trust.
    pub fn decode_unverified(bytes: &[u8]) -> Result<Self, Error> {
        let envelope = Envelope::parse(bytes)?;
        let signed = envelope.decode_signed()?;
        Ok(Signed { signed, signatures: envelope.signatures, unknown: envelope.unknown })
    }
}
