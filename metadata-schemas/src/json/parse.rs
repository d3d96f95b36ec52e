//! A strict JSON parser for metadata: RFC 8259 syntax, integers only, unique keys,
//! bounded nesting, and no lone surrogates (their UTF-8 encoding, which signing needs,
//! does not exist).

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

use super::{Number, Object, Value};
use crate::error::{JsonError, JsonErrorKind};

/// Options of the parser.
#[derive(Clone, Copy, Debug)]
pub struct ParseOptions {
    /// Deepest nesting of arrays and objects accepted (the document itself is depth 1).
    pub max_depth: usize,
}

impl ParseOptions {
    /// Nesting depth accepted by default: TUF metadata needs 7, Uptane custom data a few more.
    pub const DEFAULT_MAX_DEPTH: usize = 64;
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions { max_depth: Self::DEFAULT_MAX_DEPTH }
    }
}

/// Parses one JSON document with the default options.
pub fn parse(input: &[u8]) -> Result<Value<'_>, JsonError> {
    parse_with(input, ParseOptions::default())
}

/// Parses one JSON document.
pub fn parse_with(input: &[u8], options: ParseOptions) -> Result<Value<'_>, JsonError> {
    let text = core::str::from_utf8(input).map_err(|e| JsonError::new(JsonErrorKind::InvalidUtf8, e.valid_up_to()))?;
    let mut parser = Parser {
        text,
        bytes: input,
        pos: 0,
        depth: 0,
        max_depth: options.max_depth,
        members: Vec::new(),
        items: Vec::new(),
    };
    parser.skip_whitespace();
    let value = parser.value()?;
    parser.skip_whitespace();
    if parser.pos != input.len() {
        return Err(parser.error(JsonErrorKind::TrailingData));
    }
    Ok(value)
}

/// Python refuses to convert longer integer text (its `int_max_str_digits` default).
const MAX_INTEGER_DIGITS: usize = 4300;

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    depth: usize,
    max_depth: usize,
    /// Members of the objects being parsed, innermost last: each object takes an
    /// exact-size copy of its own when it closes, so no container is over-allocated.
    members: Vec<(Cow<'a, str>, Value<'a>)>,
    /// Items of the arrays being parsed, the same way.
    items: Vec<Value<'a>>,
}

impl<'a> Parser<'a> {
    fn error(&self, kind: JsonErrorKind) -> JsonError {
        JsonError::new(kind, self.pos)
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn unexpected(&self) -> JsonError {
        match self.peek() {
            None => self.error(JsonErrorKind::UnexpectedEnd),
            Some(b) => self.error(JsonErrorKind::UnexpectedByte(b)),
        }
    }

    fn expect(&mut self, byte: u8) -> Result<(), JsonError> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn literal(&mut self, word: &'static str, value: Value<'a>) -> Result<Value<'a>, JsonError> {
        if self.bytes[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(value)
        } else {
            Err(self.unexpected())
        }
    }

    fn value(&mut self) -> Result<Value<'a>, JsonError> {
        match self.peek() {
            Some(b'{') => self.nested(Self::object),
            Some(b'[') => self.nested(Self::array),
            Some(b'"') => Ok(Value::String(self.string()?)),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'n') => self.literal("null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.unexpected()),
        }
    }

    fn nested(&mut self, inner: fn(&mut Self) -> Result<Value<'a>, JsonError>) -> Result<Value<'a>, JsonError> {
        if self.depth == self.max_depth {
            return Err(self.error(JsonErrorKind::TooDeep));
        }
        self.depth += 1;
        let value = inner(self);
        self.depth -= 1;
        value
    }

    fn object(&mut self) -> Result<Value<'a>, JsonError> {
        let start = self.pos;
        self.pos += 1; // '{'
        self.skip_whitespace();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Value::Object(Object::new()));
        }
        let first = self.members.len();
        loop {
            self.skip_whitespace();
            if self.peek() != Some(b'"') {
                return Err(self.unexpected());
            }
            let key = self.string()?;
            self.skip_whitespace();
            self.expect(b':')?;
            self.skip_whitespace();
            let value = self.value()?;
            self.members.push((key, value));
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    break;
                }
                _ => return Err(self.unexpected()),
            }
        }
        let members: Vec<_> = self.members.drain(first..).collect();
        Object::from_members(members)
            .map(Value::Object)
            .map_err(|dup| JsonError::new(JsonErrorKind::DuplicateKey(dup.0), start))
    }

    fn array(&mut self) -> Result<Value<'a>, JsonError> {
        self.pos += 1; // '['
        self.skip_whitespace();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Value::Array(Vec::new()));
        }
        let first = self.items.len();
        loop {
            self.skip_whitespace();
            let item = self.value()?;
            self.items.push(item);
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::Array(self.items.drain(first..).collect()));
                }
                _ => return Err(self.unexpected()),
            }
        }
    }

    fn number(&mut self) -> Result<Value<'a>, JsonError> {
        let start = self.pos;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.pos += 1;
        }
        let digits_start = self.pos;
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                while let Some(b'0'..=b'9') = self.peek() {
                    self.pos += 1;
                }
            }
            _ => return Err(self.unexpected()),
        }
        if let Some(b'.' | b'e' | b'E') = self.peek() {
            return Err(self.error(JsonErrorKind::Float));
        }
        if let Some(b'0'..=b'9') = self.peek() {
            // A leading zero followed by more digits.
            return Err(self.unexpected());
        }
        let digits = &self.text[digits_start..self.pos];
        if digits.len() > MAX_INTEGER_DIGITS {
            return Err(JsonError::new(JsonErrorKind::NumberTooLong, start));
        }
        let magnitude = digits.parse::<u64>().ok();
        let number = match (negative, magnitude) {
            (false, Some(n)) | (true, Some(n @ 0)) => Number::Unsigned(n), // Python reads -0 as 0
            (true, Some(n)) if n <= i64::MAX as u64 + 1 => Number::Negative((n as i128).wrapping_neg() as i64),
            _ => Number::Big(Cow::Borrowed(&self.text[start..self.pos])),
        };
        Ok(Value::Number(number))
    }

    /// Parses a string starting at its opening quote.
    fn string(&mut self) -> Result<Cow<'a, str>, JsonError> {
        self.pos += 1; // opening quote
        let start = self.pos;
        let end = match memchr::memchr2(b'"', b'\\', &self.bytes[start..]) {
            Some(i) => start + i,
            None => {
                self.pos = self.bytes.len();
                return Err(self.error(JsonErrorKind::UnexpectedEnd));
            }
        };
        self.check_no_control(start, end)?;
        if self.bytes[end] == b'"' {
            self.pos = end + 1;
            return Ok(Cow::Borrowed(&self.text[start..end]));
        }
        let mut owned = String::from(&self.text[start..end]);
        self.pos = end;
        self.escaped_rest(&mut owned)?;
        Ok(Cow::Owned(owned))
    }

    fn check_no_control(&self, start: usize, end: usize) -> Result<(), JsonError> {
        match self.bytes[start..end].iter().position(|&b| b < 0x20) {
            Some(i) => Err(JsonError::new(JsonErrorKind::ControlCharacter, start + i)),
            None => Ok(()),
        }
    }

    /// Continues a string whose next byte is a backslash; ends after the closing quote.
    fn escaped_rest(&mut self, out: &mut String) -> Result<(), JsonError> {
        loop {
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(b'\\') => {
                    self.pos += 1;
                    self.escape(out)?;
                }
                Some(_) => {
                    let start = self.pos;
                    let end = match memchr::memchr2(b'"', b'\\', &self.bytes[start..]) {
                        Some(i) => start + i,
                        None => {
                            self.pos = self.bytes.len();
                            return Err(self.error(JsonErrorKind::UnexpectedEnd));
                        }
                    };
                    self.check_no_control(start, end)?;
                    out.push_str(&self.text[start..end]);
                    self.pos = end;
                }
                None => return Err(self.error(JsonErrorKind::UnexpectedEnd)),
            }
        }
    }

    /// Decodes one escape; `pos` is just after the backslash.
    fn escape(&mut self, out: &mut String) -> Result<(), JsonError> {
        let c = match self.peek() {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                let at = self.pos - 1;
                self.pos += 1;
                let first = self.hex4()?;
                let c = match first {
                    0xD800..=0xDBFF => {
                        if !self.bytes[self.pos..].starts_with(b"\\u") {
                            return Err(JsonError::new(JsonErrorKind::LoneSurrogate, at));
                        }
                        self.pos += 2;
                        let second = self.hex4()?;
                        if !(0xDC00..=0xDFFF).contains(&second) {
                            return Err(JsonError::new(JsonErrorKind::LoneSurrogate, at));
                        }
                        0x10000 + ((u32::from(first) - 0xD800) << 10) + (u32::from(second) - 0xDC00)
                    }
                    0xDC00..=0xDFFF => {
                        return Err(JsonError::new(JsonErrorKind::LoneSurrogate, at));
                    }
                    other => u32::from(other),
                };
                out.push(char::from_u32(c).ok_or_else(|| JsonError::new(JsonErrorKind::LoneSurrogate, at))?);
                return Ok(());
            }
            _ => return Err(self.error(JsonErrorKind::InvalidEscape)),
        };
        self.pos += 1;
        out.push(c);
        Ok(())
    }

    fn hex4(&mut self) -> Result<u16, JsonError> {
        let digits = self.bytes.get(self.pos..self.pos + 4).ok_or_else(|| self.error(JsonErrorKind::UnexpectedEnd))?;
        let mut value = 0u16;
        for &d in digits {
            let nibble = match d {
                b'0'..=b'9' => d - b'0',
                b'a'..=b'f' => d - b'a' + 10,
                b'A'..=b'F' => d - b'A' + 10,
                _ => return Err(self.error(JsonErrorKind::InvalidEscape)),
            };
            value = (value << 4) | u16::from(nibble);
        }
        self.pos += 4;
        Ok(value)
    }
}
