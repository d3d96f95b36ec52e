//! Lowercase hexadecimal, as TUF writes key ids, hashes and signatures.

use alloc::string::String;
use alloc::vec::Vec;

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Lowercase hex of `bytes`.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

fn nibble(c: u8, allow_upper: bool) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' if allow_upper => Some(c - b'A' + 10),
        _ => None,
    }
}

fn decode_with(text: &str, allow_upper: bool) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    if bytes.len() % 2 != 0 {
        return None;
    }
    bytes
        .chunks_exact(2)
        .map(|pair| Some((nibble(pair[0], allow_upper)? << 4) | nibble(pair[1], allow_upper)?))
        .collect()
}

/// Bytes of hex text in either case (signatures, where nothing is re-encoded).
pub fn decode(text: &str) -> Option<Vec<u8>> {
    decode_with(text, true)
}

/// Bytes of lowercase hex text: the only form that re-encodes to the same text.
pub fn decode_lower(text: &str) -> Option<Vec<u8>> {
    decode_with(text, false)
}

/// Exactly `N` bytes from lowercase hex text.
pub fn decode_lower_array<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (slot, pair) in out.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
        *slot = (nibble(pair[0], false)? << 4) | nibble(pair[1], false)?;
    }
    Some(out)
}
