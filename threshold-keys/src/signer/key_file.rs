//! Key-file signers: Ed25519 and ECDSA P-256 keys in PKCS#8, encrypted at rest with a
//! passphrase (PBES2: scrypt + AES-256-CBC, the format `openssl pkcs8` reads).

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use metadata_schemas::{Key, KeyId, Signature, UnknownFields, hex};
use pkcs8::der::{Decode as _, Encode as _};
use pkcs8::{EncryptedPrivateKeyInfo, ObjectIdentifier, PrivateKeyInfo, pkcs5::pbes2};
use rand_core::{OsRng, RngCore};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair};
use zeroize::Zeroizing;

use super::{SignError, Signer};
use crate::{PublicKey, default_key_id, pem};

const ED25519_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const EC_PUBLIC_KEY_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const P256_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");

/// Key algorithms a key file can hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyAlgorithm {
    /// Ed25519.
    Ed25519,
    /// ECDSA on P-256 with SHA-256 (python-tuf's default).
    EcdsaP256,
}

/// The scrypt cost of new key files: 2^15 rounds with r = 8 take 32 MiB and about 0.1 s,
/// twice OpenSSL's default, and cheap enough for online keys that a timer opens often.
pub const SCRYPT_LOG_N: u8 = 15;

/// Why a key file cannot be read or written.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyFileError {
    /// Not a PEM private key.
    NotPem,
    /// The passphrase does not decrypt the key (or the file is corrupted).
    WrongPassphrase,
    /// An encrypted key was given without a passphrase.
    PassphraseRequired,
    /// The key is not Ed25519 or ECDSA P-256, or its encoding is invalid.
    UnsupportedKey(&'static str),
    /// Randomness or encryption failed.
    Crypto,
}

impl fmt::Display for KeyFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyFileError::NotPem => f.write_str("not a PEM private key file"),
            KeyFileError::WrongPassphrase => f.write_str("wrong passphrase, or a corrupted key file"),
            KeyFileError::PassphraseRequired => f.write_str("the key file is encrypted: a passphrase is required"),
            KeyFileError::UnsupportedKey(why) => write!(f, "unsupported private key: {why}"),
            KeyFileError::Crypto => f.write_str("key generation or encryption failed"),
        }
    }
}

impl std::error::Error for KeyFileError {}

enum Pair {
    Ed25519(Ed25519KeyPair),
    EcdsaP256(EcdsaKeyPair),
}

/// A signer holding a private key from a key file.
pub struct KeyFileSigner {
    pair: Pair,
    pkcs8: Zeroizing<Vec<u8>>,
    public: PublicKey,
    entry: Key,
    key_id: KeyId,
    rng: SystemRandom,
}

impl fmt::Debug for KeyFileSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyFileSigner").field("key_id", &self.key_id).finish_non_exhaustive()
    }
}

impl KeyFileSigner {
    /// A new random key.
    pub fn generate(algorithm: KeyAlgorithm) -> Result<Self, KeyFileError> {
        let rng = SystemRandom::new();
        let document = match algorithm {
            KeyAlgorithm::Ed25519 => Ed25519KeyPair::generate_pkcs8(&rng),
            KeyAlgorithm::EcdsaP256 => EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng),
        }
        .map_err(|_| KeyFileError::Crypto)?;
        Self::from_pkcs8_der(document.as_ref())
    }

    /// A signer from an unencrypted PKCS#8 DER private key (v1 or v2).
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyFileError> {
        let info = PrivateKeyInfo::from_der(der).map_err(|_| KeyFileError::UnsupportedKey("not PKCS#8"))?;
        let rng = SystemRandom::new();
        let (pair, public) = if info.algorithm.oid == ED25519_OID {
            let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
                .map_err(|_| KeyFileError::UnsupportedKey("invalid Ed25519 key"))?;
            let point: [u8; 32] = pair.public_key().as_ref().try_into().map_err(|_| KeyFileError::Crypto)?;
            (Pair::Ed25519(pair), PublicKey::Ed25519(point))
        } else if info.algorithm.oid == EC_PUBLIC_KEY_OID && info.algorithm.parameters_oid().ok() == Some(P256_OID) {
            let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, der, &rng)
                .map_err(|_| KeyFileError::UnsupportedKey("invalid P-256 key"))?;
            let point: [u8; 65] = pair.public_key().as_ref().try_into().map_err(|_| KeyFileError::Crypto)?;
            (Pair::EcdsaP256(pair), PublicKey::EcdsaP256(point))
        } else {
            return Err(KeyFileError::UnsupportedKey("only Ed25519 and ECDSA P-256 private keys are supported"));
        };
        let entry = public.to_metadata();
        let key_id = default_key_id(&entry);
        Ok(KeyFileSigner { pair, pkcs8: Zeroizing::new(der.to_vec()), public, entry, key_id, rng })
    }

    /// A signer from a PEM key file: `ENCRYPTED PRIVATE KEY` with its passphrase, or an
    /// unencrypted `PRIVATE KEY` (as python-tuf and OpenSSL write them, for import).
    pub fn from_pem(text: &str, passphrase: Option<&[u8]>) -> Result<Self, KeyFileError> {
        if let Some(der) = pem::decode(text, "ENCRYPTED PRIVATE KEY") {
            let passphrase = passphrase.ok_or(KeyFileError::PassphraseRequired)?;
            let info = EncryptedPrivateKeyInfo::from_der(&der).map_err(|_| KeyFileError::NotPem)?;
            let plain = info.decrypt(passphrase).map_err(|_| KeyFileError::WrongPassphrase)?;
            return Self::from_pkcs8_der(plain.as_bytes());
        }
        let der = Zeroizing::new(pem::decode(text, "PRIVATE KEY").ok_or(KeyFileError::NotPem)?);
        Self::from_pkcs8_der(&der)
    }

    /// The private key as an encrypted PKCS#8 PEM file (scrypt, N = 2^[`SCRYPT_LOG_N`],
    /// r = 8, p = 1, then AES-256-CBC); files with other scrypt or PBKDF2 costs open too.
    pub fn to_encrypted_pem(&self, passphrase: &[u8]) -> Result<String, KeyFileError> {
        let mut salt = [0u8; 16];
        let mut iv = [0u8; 16];
        OsRng.try_fill_bytes(&mut salt).map_err(|_| KeyFileError::Crypto)?;
        OsRng.try_fill_bytes(&mut iv).map_err(|_| KeyFileError::Crypto)?;
        let cost = pkcs8::pkcs5::scrypt::Params::new(SCRYPT_LOG_N, 8, 1, 32).map_err(|_| KeyFileError::Crypto)?;
        let params = pbes2::Parameters::scrypt_aes256cbc(cost, &salt, &iv).map_err(|_| KeyFileError::Crypto)?;
        let encrypted_data = params.encrypt(passphrase, &self.pkcs8).map_err(|_| KeyFileError::Crypto)?;
        let info = EncryptedPrivateKeyInfo { encryption_algorithm: params.into(), encrypted_data: &encrypted_data };
        let der = info.to_der().map_err(|_| KeyFileError::Crypto)?;
        Ok(pem::encode(&der, "ENCRYPTED PRIVATE KEY"))
    }

    /// The private key as an unencrypted PKCS#8 PEM file, for keys whose file system
    /// protection is their only protection (online keys of a service, with mode 0600).
    pub fn to_pem(&self) -> String {
        pem::encode(&self.pkcs8, "PRIVATE KEY")
    }

    /// The public key.
    pub fn public(&self) -> &PublicKey {
        &self.public
    }

    /// The signature bytes over `message`.
    pub fn sign_bytes(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        match &self.pair {
            Pair::Ed25519(pair) => Ok(pair.sign(message).as_ref().to_vec()),
            Pair::EcdsaP256(pair) => {
                pair.sign(&self.rng, message).map(|s| s.as_ref().to_vec()).map_err(|_| SignError::Crypto)
            }
        }
    }
}

impl Signer for KeyFileSigner {
    fn key_id(&self) -> &KeyId {
        &self.key_id
    }

    fn public_key(&self) -> &Key {
        &self.entry
    }

    fn sign(&self, message: &[u8]) -> Result<Signature, SignError> {
        Ok(Signature {
            keyid: self.key_id.clone(),
            sig: hex::encode(&self.sign_bytes(message)?),
            unknown: UnknownFields::default(),
        })
    }
}
