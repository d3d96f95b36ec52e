//! Writers: the canonical form that signatures cover, and indented JSON for files.

use alloc::vec::Vec;

use super::{Number, Object, Value};

/// The canonical JSON of `value` (securesystemslib's OLPC form): sorted keys, no
/// whitespace, only `"` and `\` escaped, every other character written raw.
pub fn to_canonical(value: &Value<'_>) -> Vec<u8> {
    to_canonical_with_capacity(value, 0)
}

/// [`to_canonical`] into a buffer of `capacity` bytes to start with. The canonical
/// form of parsed input is never longer than the input, so its length avoids regrowth.
pub fn to_canonical_with_capacity(value: &Value<'_>, capacity: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(capacity);
    write_canonical(value, &mut out);
    out
}

/// Appends the canonical JSON of `value` to `out`.
pub fn write_canonical(value: &Value<'_>, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => write_number(n, out),
        Value::String(s) => write_canonical_string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        Value::Object(object) => write_canonical_object(object, out),
    }
}

fn write_canonical_object(object: &Object<'_>, out: &mut Vec<u8>) {
    out.push(b'{');
    for (i, (key, value)) in object.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_canonical_string(key, out);
        out.push(b':');
        write_canonical(value, out);
    }
    out.push(b'}');
}

fn write_canonical_string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    let mut rest = s.as_bytes();
    while let Some(i) = memchr::memchr2(b'"', b'\\', rest) {
        out.extend_from_slice(&rest[..i]);
        out.push(b'\\');
        out.push(rest[i]);
        rest = &rest[i + 1..];
    }
    out.extend_from_slice(rest);
    out.push(b'"');
}

fn write_number(n: &Number<'_>, out: &mut Vec<u8>) {
    match n {
        Number::Unsigned(v) => write_u64(*v, out),
        Number::Negative(v) => {
            out.push(b'-');
            write_u64(v.unsigned_abs(), out);
        }
        Number::Big(text) => out.extend_from_slice(text.as_bytes()),
    }
}

fn write_u64(mut v: u64, out: &mut Vec<u8>) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// Indented JSON for metadata files: one-space indent and sorted keys as python-tuf
/// writes, with control characters escaped so that the file is valid JSON.
pub fn to_pretty(value: &Value<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    write_pretty(value, 0, &mut out);
    out
}

/// Appends indented JSON of `value` at nesting `level` to `out`.
pub fn write_pretty(value: &Value<'_>, level: usize, out: &mut Vec<u8>) {
    match value {
        Value::String(s) => write_json_string(s, out),
        Value::Array(items) if !items.is_empty() => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                newline(level + 1, out);
                write_pretty(item, level + 1, out);
            }
            newline(level, out);
            out.push(b']');
        }
        Value::Object(object) if !object.is_empty() => {
            out.push(b'{');
            for (i, (key, item)) in object.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                newline(level + 1, out);
                write_json_string(key, out);
                out.extend_from_slice(b": ");
                write_pretty(item, level + 1, out);
            }
            newline(level, out);
            out.push(b'}');
        }
        other => write_canonical(other, out),
    }
}

fn newline(level: usize, out: &mut Vec<u8>) {
    out.push(b'\n');
    out.resize(out.len() + level, b' ');
}

fn write_json_string(s: &str, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for &b in s.as_bytes() {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0..=0x1f => {
                out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]])
            }
            _ => out.push(b),
        }
    }
    out.push(b'"');
}
