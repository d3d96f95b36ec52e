//! The little DER this crate reads: SubjectPublicKeyInfo for EC and RSA keys, and
//! ECDSA signatures. Strict: definite minimal lengths, minimal positive integers,
//! nothing left over. Both backends then see only canonical encodings.

use alloc::vec::Vec;

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OID: u8 = 0x06;
const NULL: u8 = 0x05;

/// OID 1.2.840.10045.2.1 (id-ecPublicKey).
const EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
/// OID 1.2.840.10045.3.1.7 (prime256v1 / secp256r1).
const P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// OID 1.2.840.113549.1.1.1 (rsaEncryption).
const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

/// A cursor over DER bytes.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Reader { rest: bytes }
    }

    fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// Reads one element with `tag`, returning its contents.
    fn element(&mut self, tag: u8) -> Option<&'a [u8]> {
        let (&found, rest) = self.rest.split_first()?;
        if found != tag {
            return None;
        }
        let (&first, mut rest) = rest.split_first()?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 2 || rest.len() < count {
                return None; // indefinite, or longer than any key we accept
            }
            let len = rest[..count].iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            rest = &rest[count..];
            if len < 0x80 || (count == 2 && len < 0x100) {
                return None; // not the minimal length encoding
            }
            len
        };
        if rest.len() < len {
            return None;
        }
        let (contents, rest) = rest.split_at(len);
        self.rest = rest;
        Some(contents)
    }

    /// Reads a positive INTEGER in minimal form, returning its magnitude without the
    /// sign-padding zero.
    fn positive_integer(&mut self) -> Option<&'a [u8]> {
        let contents = self.element(INTEGER)?;
        match contents {
            [] => None,
            [first, ..] if first & 0x80 != 0 => None,      // negative
            [0, second, ..] if second & 0x80 == 0 => None, // superfluous leading zero
            [0, rest @ ..] if !rest.is_empty() => Some(rest),
            [0] => None, // zero is not positive
            _ => Some(contents),
        }
    }
}

/// Reads a whole DER value that must be exactly one SEQUENCE.
fn sequence(bytes: &[u8]) -> Option<Reader<'_>> {
    let mut outer = Reader::new(bytes);
    let inner = outer.element(SEQUENCE)?;
    outer.is_empty().then(|| Reader::new(inner))
}

/// The algorithm and key bytes of a SubjectPublicKeyInfo.
pub(crate) enum Spki<'a> {
    /// An uncompressed P-256 point (65 bytes, `04 || X || Y`).
    EcP256(&'a [u8]),
    /// An RSA key: the DER RSAPublicKey, and the modulus and exponent magnitudes.
    Rsa { rsa_public_key: &'a [u8], modulus: &'a [u8], exponent: &'a [u8] },
}

/// Parses a SubjectPublicKeyInfo holding a P-256 or RSA key.
pub(crate) fn parse_spki(der: &[u8]) -> Option<Spki<'_>> {
    let mut spki = sequence(der)?;
    let mut algorithm = Reader::new(spki.element(SEQUENCE)?);
    let key_bits = spki.element(BIT_STRING)?;
    if !spki.is_empty() {
        return None;
    }
    let (&unused_bits, key) = key_bits.split_first()?;
    if unused_bits != 0 {
        return None;
    }
    let oid = algorithm.element(OID)?;
    if oid == EC_PUBLIC_KEY {
        if algorithm.element(OID)? != P256 || !algorithm.is_empty() {
            return None;
        }
        return Some(Spki::EcP256(key));
    }
    if oid == RSA_ENCRYPTION {
        if !algorithm.element(NULL)?.is_empty() || !algorithm.is_empty() {
            return None;
        }
        let mut rsa = sequence(key)?;
        let modulus = rsa.positive_integer()?;
        let exponent = rsa.positive_integer()?;
        return rsa.is_empty().then_some(Spki::Rsa { rsa_public_key: key, modulus, exponent });
    }
    None
}

/// The DER SubjectPublicKeyInfo of an uncompressed P-256 point.
pub(crate) fn p256_spki(point: &[u8; 65]) -> Vec<u8> {
    const PREFIX: [u8; 26] = [
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
        0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
    ];
    let mut out = Vec::with_capacity(PREFIX.len() + point.len());
    out.extend_from_slice(&PREFIX);
    out.extend_from_slice(point);
    out
}

/// The DER SubjectPublicKeyInfo of an RSA key given as DER `RSAPublicKey`.
pub(crate) fn rsa_spki(rsa_public_key: &[u8]) -> Vec<u8> {
    let mut algorithm = element(OID, RSA_ENCRYPTION);
    algorithm.extend_from_slice(&[NULL, 0]);
    let mut bits = Vec::with_capacity(rsa_public_key.len() + 1);
    bits.push(0);
    bits.extend_from_slice(rsa_public_key);
    let mut body = element(SEQUENCE, &algorithm);
    body.extend_from_slice(&element(BIT_STRING, &bits));
    element(SEQUENCE, &body)
}

/// One DER element with minimal length encoding.
fn element(tag: u8, contents: &[u8]) -> Vec<u8> {
    let len = contents.len();
    let mut out = Vec::with_capacity(len + 4);
    out.push(tag);
    match len {
        0..=0x7f => out.push(len as u8),
        0x80..=0xff => out.extend_from_slice(&[0x81, len as u8]),
        _ => out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]),
    }
    out.extend_from_slice(contents);
    out
}

/// A DER ECDSA signature from the fixed-width `r || s` form tokens return.
#[cfg(feature = "pkcs11")]
pub(crate) fn ecdsa_der_from_raw(raw: &[u8]) -> Vec<u8> {
    let (r, s) = raw.split_at(raw.len() / 2);
    let integer = |bytes: &[u8]| {
        let trimmed = match bytes.iter().position(|&b| b != 0) {
            Some(i) => &bytes[i..],
            None => &[0u8][..],
        };
        // A set high bit would read as negative: pad with a zero byte.
        let mut contents = Vec::with_capacity(trimmed.len() + 1);
        if trimmed[0] & 0x80 != 0 {
            contents.push(0);
        }
        contents.extend_from_slice(trimmed);
        element(INTEGER, &contents)
    };
    let mut body = integer(r);
    body.extend_from_slice(&integer(s));
    element(SEQUENCE, &body)
}

/// The `r` and `s` magnitudes of a strictly encoded ECDSA signature.
pub(crate) fn ecdsa_signature(der: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut seq = sequence(der)?;
    let r = seq.positive_integer()?;
    let s = seq.positive_integer()?;
    seq.is_empty().then_some((r, s))
}

/// Compares big-endian magnitudes without leading zeros.
pub(crate) fn less_than(a: &[u8], b: &[u8]) -> bool {
    a.len() < b.len() || (a.len() == b.len() && a < b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn integers_must_be_minimal_and_positive() {
        let parse = |bytes: &[u8]| Reader::new(bytes).positive_integer().map(<[u8]>::to_vec);
        assert_eq!(parse(&[2, 1, 5]), Some(vec![5]));
        assert_eq!(parse(&[2, 2, 0, 0x80]), Some(vec![0x80]));
        assert_eq!(parse(&[2, 1, 0x80]), None, "negative");
        assert_eq!(parse(&[2, 2, 0, 5]), None, "leading zero");
        assert_eq!(parse(&[2, 1, 0]), None, "zero");
        assert_eq!(parse(&[2, 0]), None, "empty");
        assert_eq!(parse(&[2, 0x81, 1, 5]), None, "long form for a short length");
        assert_eq!(parse(&[2, 0x80, 5]), None, "indefinite length");
        assert_eq!(parse(&[2, 2, 5]), None, "truncated");
    }

    #[test]
    fn ecdsa_signature_rejects_trailing_data() {
        assert!(ecdsa_signature(&[0x30, 6, 2, 1, 1, 2, 1, 1]).is_some());
        assert!(ecdsa_signature(&[0x30, 6, 2, 1, 1, 2, 1, 1, 0]).is_none());
        assert!(ecdsa_signature(&[0x30, 7, 2, 1, 1, 2, 1, 1, 0]).is_none());
        assert!(ecdsa_signature(&[0x30, 3, 2, 1, 1]).is_none());
    }
}
