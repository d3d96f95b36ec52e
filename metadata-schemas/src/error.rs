//! Typed errors: a syntax error with its byte offset, or a decoding error with the
//! path of the field that was wrong.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::json::JsonType;

/// A JSON syntax error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonError {
    /// What was wrong.
    pub kind: JsonErrorKind,
    /// Byte offset in the input where it was found.
    pub offset: usize,
}

/// The kinds of JSON syntax error.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum JsonErrorKind {
    /// The input is not valid UTF-8.
    InvalidUtf8,
    /// The input ended inside a value.
    UnexpectedEnd,
    /// A byte that cannot appear here.
    UnexpectedByte(u8),
    /// Something follows the document.
    TrailingData,
    /// A raw control character inside a string.
    ControlCharacter,
    /// An unknown or malformed escape sequence.
    InvalidEscape,
    /// A `\u` escape of half a surrogate pair, which has no UTF-8 encoding.
    LoneSurrogate,
    /// A number with a fraction or exponent; TUF metadata holds integers only.
    Float,
    /// An integer with more digits than any parser of TUF metadata accepts.
    NumberTooLong,
    /// A key repeated in one object.
    DuplicateKey(String),
    /// Nesting deeper than the configured limit.
    TooDeep,
}

impl JsonError {
    pub(crate) fn new(kind: JsonErrorKind, offset: usize) -> Self {
        JsonError { kind, offset }
    }
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            JsonErrorKind::InvalidUtf8 => f.write_str("invalid UTF-8")?,
            JsonErrorKind::UnexpectedEnd => f.write_str("unexpected end of input")?,
            JsonErrorKind::UnexpectedByte(b) if b.is_ascii_graphic() => write!(f, "unexpected '{}'", char::from(*b))?,
            JsonErrorKind::UnexpectedByte(b) => write!(f, "unexpected byte 0x{b:02x}")?,
            JsonErrorKind::TrailingData => f.write_str("data after the end of the document")?,
            JsonErrorKind::ControlCharacter => f.write_str("raw control character in a string")?,
            JsonErrorKind::InvalidEscape => f.write_str("invalid escape sequence")?,
            JsonErrorKind::LoneSurrogate => f.write_str("unpaired UTF-16 surrogate escape")?,
            JsonErrorKind::Float => f.write_str("floating-point number (TUF metadata allows integers only)")?,
            JsonErrorKind::NumberTooLong => f.write_str("integer with too many digits")?,
            JsonErrorKind::DuplicateKey(k) => write!(f, "duplicate key {k:?}")?,
            JsonErrorKind::TooDeep => f.write_str("nesting too deep")?,
        }
        write!(f, " at byte {}", self.offset)
    }
}

/// A well-formed JSON document that is not valid metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// Where: field names and indices from the document root, outermost first.
    pub path: Vec<PathSegment>,
    /// What was wrong there.
    pub kind: DecodeErrorKind,
}

/// One step of a path into a document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathSegment {
    /// An object member.
    Field(String),
    /// An array element.
    Index(usize),
}

/// The kinds of decoding error.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// A required field is absent.
    Missing,
    /// The value has the wrong JSON type.
    WrongType {
        /// What the schema wants.
        expected: JsonType,
        /// What the document has.
        found: JsonType,
    },
    /// An integer outside the allowed range.
    OutOfRange {
        /// The allowed range, for the message.
        allowed: &'static str,
    },
    /// A value that breaks a rule of the format.
    Invalid {
        /// The rule, for the message.
        rule: &'static str,
    },
    /// `_type` names another kind of metadata.
    WrongMetadataType {
        /// The type expected here.
        expected: &'static str,
        /// The type found.
        found: String,
    },
    /// A value that must be unique is repeated.
    Duplicate(String),
}

impl DecodeError {
    /// An error at the current position; the callers add the path as it unwinds.
    pub fn new(kind: DecodeErrorKind) -> Self {
        DecodeError { path: Vec::new(), kind }
    }

    /// A value that breaks `rule`.
    pub fn invalid(rule: &'static str) -> Self {
        Self::new(DecodeErrorKind::Invalid { rule })
    }

    /// Prefixes the path with a field name.
    pub fn in_field(mut self, name: &str) -> Self {
        self.path.insert(0, PathSegment::Field(name.into()));
        self
    }

    /// Prefixes the path with an array index.
    pub fn at_index(mut self, index: usize) -> Self {
        self.path.insert(0, PathSegment::Index(index));
        self
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str("document")?;
        }
        for (i, segment) in self.path.iter().enumerate() {
            match segment {
                PathSegment::Field(name) if i == 0 => f.write_str(name)?,
                PathSegment::Field(name) if is_plain(name) => write!(f, ".{name}")?,
                PathSegment::Field(name) => write!(f, "[{name:?}]")?,
                PathSegment::Index(i) => write!(f, "[{i}]")?,
            }
        }
        f.write_str(": ")?;
        match &self.kind {
            DecodeErrorKind::Missing => f.write_str("missing"),
            DecodeErrorKind::WrongType { expected, found } => {
                write!(f, "expected {expected}, found {found}")
            }
            DecodeErrorKind::OutOfRange { allowed } => {
                write!(f, "out of range (allowed: {allowed})")
            }
            DecodeErrorKind::Invalid { rule } => f.write_str(rule),
            DecodeErrorKind::WrongMetadataType { expected, found } => {
                write!(f, "metadata type is {found:?}, expected {expected:?}")
            }
            DecodeErrorKind::Duplicate(v) => write!(f, "{v:?} is listed twice"),
        }
    }
}

fn is_plain(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Any failure to read metadata from bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Not well-formed JSON.
    Json(JsonError),
    /// Well-formed, but not valid metadata.
    Decode(DecodeError),
}

impl From<JsonError> for Error {
    fn from(e: JsonError) -> Self {
        Error::Json(e)
    }
}

impl From<DecodeError> for Error {
    fn from(e: DecodeError) -> Self {
        Error::Decode(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Json(e) => write!(f, "malformed JSON: {e}"),
            Error::Decode(e) => write!(f, "invalid metadata: {e}"),
        }
    }
}

impl core::error::Error for JsonError {}
impl core::error::Error for DecodeError {}
impl core::error::Error for Error {}
