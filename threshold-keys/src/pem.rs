//! PEM: the armour python-tuf puts around ECDSA and RSA public keys.

use alloc::string::String;
use alloc::vec::Vec;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// The DER bytes inside a PEM block with the given label (`PUBLIC KEY`). Line breaks
/// (LF or CRLF) may fall anywhere in the body; anything else outside base64 is refused.
pub fn decode(text: &str, label: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    let body = text.strip_prefix("-----BEGIN ")?.strip_prefix(label)?.strip_prefix("-----")?;
    let body = body.strip_suffix("-----")?.strip_suffix(label)?.strip_suffix("-----END ")?;
    let compact: Vec<u8> = body.bytes().filter(|b| !matches!(b, b'\n' | b'\r')).collect();
    base64_decode(&compact)
}

/// A PEM block with 64-character lines and a final newline, as OpenSSL writes it.
pub fn encode(der: &[u8], label: &str) -> String {
    let b64 = base64_encode(der);
    let mut out = alloc::format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(core::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&alloc::format!("-----END {label}-----\n"));
    out
}

fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, &b)| acc | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn sextet(c: u8) -> Option<u32> {
    ALPHABET.iter().position(|&a| a == c).map(|p| p as u32)
}

/// Strict base64: padded to a multiple of 4, padding only at the end, unused bits zero.
fn base64_decode(data: &[u8]) -> Option<Vec<u8>> {
    if data.len() % 4 != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(data.len() / 4 * 3);
    let chunks = data.len() / 4;
    for (index, chunk) in data.chunks_exact(4).enumerate() {
        let padding = chunk.iter().rev().take_while(|&&c| c == b'=').count();
        if padding > 2 || (padding > 0 && index + 1 != chunks) {
            return None;
        }
        let mut n = 0u32;
        for &c in &chunk[..4 - padding] {
            n = (n << 6) | sextet(c)?;
        }
        n <<= 6 * padding as u32;
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        let keep = 3 - padding;
        if bytes[keep..].iter().any(|&b| b != 0) {
            return None; // non-zero unused bits: a second encoding of the same bytes
        }
        out.extend_from_slice(&bytes[..keep]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn base64_round_trips_every_length() {
        for len in 0..70 {
            let data: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let pem = encode(&data, "PUBLIC KEY");
            assert_eq!(decode(&pem, "PUBLIC KEY").as_deref(), Some(&data[..]), "len {len}");
        }
    }

    #[test]
    fn malformed_pem_is_refused() {
        assert_eq!(
            decode("-----BEGIN PUBLIC KEY-----\nAAE=\n-----END PUBLIC KEY-----\n", "PUBLIC KEY"),
            Some(vec![0, 1])
        );
        assert_eq!(decode("-----BEGIN PUBLIC KEY-----\nAAF=\n-----END PUBLIC KEY-----", "PUBLIC KEY"), None);
        assert_eq!(decode("-----BEGIN PRIVATE KEY-----\nAAE=\n-----END PRIVATE KEY-----", "PUBLIC KEY"), None);
        assert_eq!(decode("-----BEGIN PUBLIC KEY-----\nAA=E\n-----END PUBLIC KEY-----", "PUBLIC KEY"), None);
        assert_eq!(decode("-----BEGIN PUBLIC KEY-----\nAA E=\n-----END PUBLIC KEY-----", "PUBLIC KEY"), None);
        assert_eq!(decode("", "PUBLIC KEY"), None);
    }
}
