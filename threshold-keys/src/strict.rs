//! Encoding rules checked before any backend sees a key or signature, so that ring
//! and RustCrypto are asked only questions on which they agree: canonical encodings,
//! no small-order Ed25519 points, ECDSA scalars in range, RSA sizes ring accepts.

use crate::der;

/// Why an input was refused before verification.
pub type Reason = &'static str;

/// The field prime 2^255 - 19, little-endian.
const ED25519_P: [u8; 32] = {
    let mut p = [0xff; 32];
    p[0] = 0xed;
    p[31] = 0x7f;
    p
};

/// The group order L = 2^252 + 27742317777372353535851937790883648493, little-endian.
const ED25519_L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// The y coordinates (sign bit cleared) of the eight points of small order: the
/// identity, the point of order 2, two of order 4 (y = 0) and four of order 8.
/// A test derives them from curve25519-dalek's torsion subgroup.
pub(crate) const ED25519_SMALL_ORDER_Y: [[u8; 32]; 5] = [
    [0; 32],
    {
        let mut one = [0; 32];
        one[0] = 1;
        one
    },
    {
        let mut minus_one = ED25519_P;
        minus_one[0] = 0xec;
        minus_one
    },
    [
        0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0, 0xd5, 0xdf,
        0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05,
    ],
    [
        0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67, 0x0f, 0x2a, 0x20,
        0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a,
    ],
];

/// `a < b` for little-endian 256-bit numbers.
fn less_than_le(a: &[u8; 32], b: &[u8; 32]) -> bool {
    for i in (0..32).rev() {
        if a[i] != b[i] {
            return a[i] < b[i];
        }
    }
    false
}

/// An Ed25519 point encoding that is canonical (y < p) and not of small order.
pub(crate) fn ed25519_point(encoding: &[u8; 32]) -> Result<(), Reason> {
    let mut y = *encoding;
    y[31] &= 0x7f;
    if !less_than_le(&y, &ED25519_P) {
        return Err("non-canonical Ed25519 point encoding");
    }
    if ED25519_SMALL_ORDER_Y.contains(&y) {
        return Err("Ed25519 point of small order");
    }
    Ok(())
}

/// An Ed25519 signature: 64 bytes, R canonical and not of small order, S < L.
pub(crate) fn ed25519_signature(signature: &[u8]) -> Result<&[u8; 64], Reason> {
    let signature: &[u8; 64] = signature.try_into().map_err(|_| "Ed25519 signature is not 64 bytes")?;
    let (r, s) = signature.split_at(32);
    let r: &[u8; 32] = r.try_into().map_err(|_| "Ed25519 signature is not 64 bytes")?;
    let s: &[u8; 32] = s.try_into().map_err(|_| "Ed25519 signature is not 64 bytes")?;
    ed25519_point(r).map_err(|_| "Ed25519 signature R is non-canonical or of small order")?;
    if !less_than_le(s, &ED25519_L) {
        return Err("Ed25519 signature S is not reduced modulo the group order");
    }
    Ok(signature)
}

/// The P-256 field prime, big-endian.
const P256_P: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
];

/// The P-256 group order n, big-endian.
const P256_N: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa,
    0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/// An uncompressed P-256 point with both coordinates below p (on-curve is checked by
/// the backends).
pub(crate) fn p256_point(point: &[u8]) -> Result<[u8; 65], Reason> {
    let point: [u8; 65] = point.try_into().map_err(|_| "P-256 public key is not an uncompressed point")?;
    if point[0] != 0x04 {
        return Err("P-256 public key is not an uncompressed point");
    }
    if point[1..33] >= P256_P[..] || point[33..] >= P256_P[..] {
        return Err("P-256 coordinate not below the field prime");
    }
    Ok(point)
}

/// A strictly DER-encoded ECDSA P-256 signature with 1 <= r, s < n.
pub(crate) fn p256_signature(der_bytes: &[u8]) -> Result<(), Reason> {
    let (r, s) = der::ecdsa_signature(der_bytes).ok_or("ECDSA signature is not strict DER")?;
    if !der::less_than(r, &P256_N) || !der::less_than(s, &P256_N) {
        return Err("ECDSA signature scalar not below the group order");
    }
    Ok(())
}

/// RSA key limits shared with ring: 2048 to 8192 bits, odd exponent from 3 below 2^33.
pub(crate) fn rsa_key(modulus: &[u8], exponent: &[u8]) -> Result<usize, Reason> {
    let bits = modulus.len() * 8 - modulus[0].leading_zeros() as usize;
    if !(2048..=8192).contains(&bits) {
        return Err("RSA modulus must have 2048 to 8192 bits");
    }
    if modulus[modulus.len() - 1] & 1 == 0 {
        return Err("RSA modulus is even");
    }
    let e =
        exponent.iter().try_fold(0u64, |acc, &b| if acc >> 55 == 0 { Some((acc << 8) | u64::from(b)) } else { None });
    match e {
        Some(e) if e >= 3 && e % 2 == 1 && e < (1 << 33) => Ok(bits),
        _ => Err("RSA exponent must be odd, at least 3 and below 2^33"),
    }
}
