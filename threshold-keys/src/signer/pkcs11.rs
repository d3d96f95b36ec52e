//! Keys on PKCS#11 tokens and HSMs, addressed by RFC 7512 URIs such as
//! `pkcs11:token=ceremony;object=root-2?pin-value=1234&module-path=/usr/lib/softhsm/libsofthsm2.so`.
//! Ed25519 signs with CKM_EDDSA; ECDSA P-256 hashes on the host and signs the digest
//! with CKM_ECDSA, and the token's `r || s` is converted to DER.

use std::collections::HashMap;
use std::format;
use std::path::PathBuf;
use std::string::{String, ToString};
use std::sync::{Mutex, OnceLock};
use std::vec;
use std::vec::Vec;

use cryptoki::context::{CInitializeArgs, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use metadata_schemas::{Key, KeyId, Signature, UnknownFields, hex};

use super::{KeyAlgorithm, SignError, Signer};
use crate::{PublicKey, default_key_id, der, digest};

/// Where SoftHSM2 installs its module on Debian; `module-path` or `PKCS11_MODULE` override it.
const DEFAULT_MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
/// DER OID 1.3.101.112 (Ed25519).
const ED25519_PARAMS: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x70];
/// DER OID 1.2.840.10045.3.1.7 (P-256).
const P256_PARAMS: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

/// A parsed `pkcs11:` URI (the attributes this crate uses).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pkcs11Uri {
    /// The token label.
    pub token: Option<String>,
    /// The key's label (`object`).
    pub object: Option<String>,
    /// The key's `CKA_ID`.
    pub id: Option<Vec<u8>>,
    /// The user PIN (`pin-value`, or read from `pin-source=file:...`).
    pub pin: Option<String>,
    /// The PKCS#11 module to load.
    pub module: PathBuf,
}

impl Pkcs11Uri {
    /// Parses an RFC 7512 URI.
    pub fn parse(uri: &str) -> Result<Self, String> {
        let rest = uri.strip_prefix("pkcs11:").ok_or_else(|| format!("{uri}: not a pkcs11: URI"))?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let mut parsed = Pkcs11Uri {
            token: None,
            object: None,
            id: None,
            pin: None,
            module: std::env::var_os("PKCS11_MODULE").map_or_else(|| PathBuf::from(DEFAULT_MODULE), PathBuf::from),
        };
        for attribute in path.split(';').filter(|a| !a.is_empty()) {
            let (name, value) =
                attribute.split_once('=').ok_or_else(|| format!("{uri}: attribute {attribute:?} has no value"))?;
            let value = unescape(value).ok_or_else(|| format!("{uri}: bad percent-escape in {name}"))?;
            match name {
                "token" => parsed.token = Some(text(value, name)?),
                "object" => parsed.object = Some(text(value, name)?),
                "id" => parsed.id = Some(value),
                _ => {} // type, manufacturer, serial...: not needed to find a key
            }
        }
        for attribute in query.split('&').filter(|a| !a.is_empty()) {
            let (name, value) =
                attribute.split_once('=').ok_or_else(|| format!("{uri}: attribute {attribute:?} has no value"))?;
            let value = text(unescape(value).ok_or_else(|| format!("{uri}: bad percent-escape in {name}"))?, name)?;
            match name {
                "pin-value" => parsed.pin = Some(value),
                "pin-source" => {
                    let file = value.strip_prefix("file:").unwrap_or(&value);
                    let pin = std::fs::read_to_string(file).map_err(|e| format!("pin-source {file}: {e}"))?;
                    parsed.pin = Some(pin.trim_end_matches(['\n', '\r']).to_string());
                }
                "module-path" => parsed.module = PathBuf::from(value),
                _ => {}
            }
        }
        if parsed.object.is_none() && parsed.id.is_none() {
            return Err(format!("{uri}: name the key with object= or id="));
        }
        Ok(parsed)
    }
}

fn text(bytes: Vec<u8>, name: &str) -> Result<String, String> {
    String::from_utf8(bytes).map_err(|_| format!("{name} is not UTF-8"))
}

fn unescape(value: &str) -> Option<Vec<u8>> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

/// One initialized context per module: a module may be initialized once per process.
fn context(module: &PathBuf) -> Result<Pkcs11, String> {
    static CONTEXTS: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();
    let mut contexts = CONTEXTS.get_or_init(Default::default).lock().map_err(|_| "PKCS#11 context lock poisoned")?;
    if let Some(ctx) = contexts.get(module) {
        return Ok(ctx.clone());
    }
    let ctx = Pkcs11::new(module).map_err(|e| format!("{}: {e}", module.display()))?;
    match ctx.initialize(CInitializeArgs::OsThreads) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(format!("{}: {e}", module.display())),
    }
    contexts.insert(module.clone(), ctx.clone());
    Ok(ctx)
}

/// A logged-in session on the token the URI names.
fn session(uri: &Pkcs11Uri) -> Result<Session, String> {
    let ctx = context(&uri.module)?;
    let slots = ctx.get_slots_with_token().map_err(|e| e.to_string())?;
    let slot = slots
        .into_iter()
        .find(|slot| match (&uri.token, ctx.get_token_info(*slot)) {
            (None, _) => true,
            (Some(label), Ok(info)) => info.label().trim_end() == label,
            (Some(_), Err(_)) => false,
        })
        .ok_or_else(|| format!("no token {:?}", uri.token.as_deref().unwrap_or("")))?;
    let session = ctx.open_rw_session(slot).map_err(|e| e.to_string())?;
    if let Some(pin) = &uri.pin {
        match session.login(UserType::User, Some(&AuthPin::from(pin.clone()))) {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(CkError::Pkcs11(RvError::PinIncorrect, _)) => return Err("wrong PIN".into()),
            Err(e) => return Err(format!("login: {e}")),
        }
    }
    Ok(session)
}

fn template(uri: &Pkcs11Uri, class: ObjectClass) -> Vec<Attribute> {
    let mut template = vec![Attribute::Class(class)];
    if let Some(label) = &uri.object {
        template.push(Attribute::Label(label.as_bytes().to_vec()));
    }
    if let Some(id) = &uri.id {
        template.push(Attribute::Id(id.clone()));
    }
    template
}

fn find_one(session: &Session, uri: &Pkcs11Uri, class: ObjectClass) -> Result<ObjectHandle, String> {
    let found = session.find_objects(&template(uri, class)).map_err(|e| e.to_string())?;
    match found.as_slice() {
        [one] => Ok(*one),
        [] => {
            let kind = if class == ObjectClass::PRIVATE_KEY { "private key" } else { "public key" };
            Err(format!("no {kind} named {:?} on the token", uri.object.as_deref().unwrap_or("(by id)")))
        }
        _ => Err(format!("{} objects match {:?}: name the key by id", found.len(), uri.object)),
    }
}

/// Strips the DER OCTET STRING that tokens wrap around `CKA_EC_POINT`.
fn ec_point(bytes: &[u8], raw_len: usize) -> Option<&[u8]> {
    match bytes {
        b if b.len() == raw_len => Some(b),
        [0x04, len, rest @ ..] if usize::from(*len) == raw_len && rest.len() == raw_len => Some(rest),
        _ => None,
    }
}

/// A signer whose private key stays in a PKCS#11 token.
pub struct Pkcs11Signer {
    session: Mutex<Session>,
    key: ObjectHandle,
    algorithm: KeyAlgorithm,
    public: PublicKey,
    entry: Key,
    key_id: KeyId,
}

impl core::fmt::Debug for Pkcs11Signer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Pkcs11Signer").field("key_id", &self.key_id).finish_non_exhaustive()
    }
}

impl Pkcs11Signer {
    /// Opens the key the URI names (its public half is read from the token).
    pub fn open(uri: &Pkcs11Uri) -> Result<Self, String> {
        let session = session(uri)?;
        let key = find_one(&session, uri, ObjectClass::PRIVATE_KEY)?;
        let public_handle = find_one(&session, uri, ObjectClass::PUBLIC_KEY)?;
        let attributes = session
            .get_attributes(public_handle, &[AttributeType::KeyType, AttributeType::EcPoint])
            .map_err(|e| e.to_string())?;
        let (mut key_type, mut point) = (None, None);
        for attribute in attributes {
            match attribute {
                Attribute::KeyType(t) => key_type = Some(t),
                Attribute::EcPoint(p) => point = Some(p),
                _ => {}
            }
        }
        let point = point.ok_or("the public key has no CKA_EC_POINT")?;
        let (algorithm, public) = match key_type {
            Some(KeyType::EC_EDWARDS) => {
                let raw = ec_point(&point, 32).ok_or("unexpected Ed25519 point encoding")?;
                (KeyAlgorithm::Ed25519, PublicKey::Ed25519(raw.try_into().map_err(|_| "bad Ed25519 point")?))
            }
            Some(KeyType::EC) => {
                let raw = ec_point(&point, 65).ok_or("only P-256 EC keys are supported")?;
                (KeyAlgorithm::EcdsaP256, PublicKey::EcdsaP256(raw.try_into().map_err(|_| "bad P-256 point")?))
            }
            other => return Err(format!("unsupported key type {other:?}: use Ed25519 or ECDSA P-256")),
        };
        let entry = public.to_metadata();
        let key_id = default_key_id(&entry);
        Ok(Pkcs11Signer { session: Mutex::new(session), key, algorithm, public, entry, key_id })
    }

    /// Generates a key pair in the token, labelled with the URI's `object`, and opens it.
    pub fn generate(uri: &Pkcs11Uri, algorithm: KeyAlgorithm) -> Result<Self, String> {
        let label = uri.object.clone().ok_or("name the new key with object=")?;
        let session = session(uri)?;
        let id = digest::sha256(label.as_bytes())[..8].to_vec();
        let (mechanism, params) = match algorithm {
            KeyAlgorithm::Ed25519 => (Mechanism::EccEdwardsKeyPairGen, ED25519_PARAMS),
            KeyAlgorithm::EcdsaP256 => (Mechanism::EccKeyPairGen, P256_PARAMS),
        };
        let common = |private: bool| {
            let mut t =
                vec![Attribute::Token(true), Attribute::Label(label.as_bytes().to_vec()), Attribute::Id(id.clone())];
            if private {
                t.extend([
                    Attribute::Sign(true),
                    Attribute::Private(true),
                    Attribute::Sensitive(true),
                    Attribute::Extractable(false),
                ]);
            } else {
                t.extend([Attribute::Verify(true), Attribute::EcParams(params.to_vec())]);
            }
            t
        };
        session
            .generate_key_pair(&mechanism, &common(false), &common(true))
            .map_err(|e| format!("key generation: {e}"))?;
        drop(session);
        Self::open(uri)
    }

    /// The public key.
    pub fn public(&self) -> &PublicKey {
        &self.public
    }
}

impl Signer for Pkcs11Signer {
    fn key_id(&self) -> &KeyId {
        &self.key_id
    }

    fn public_key(&self) -> &Key {
        &self.entry
    }

    fn sign(&self, message: &[u8]) -> Result<Signature, SignError> {
        let session = self.session.lock().map_err(|_| SignError::Device("session lock poisoned".into()))?;
        let signature = match self.algorithm {
            KeyAlgorithm::Ed25519 => {
                let mechanism = Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure));
                session.sign(&mechanism, self.key, message)
            }
            KeyAlgorithm::EcdsaP256 => session
                .sign(&Mechanism::Ecdsa, self.key, &digest::sha256(message))
                .map(|raw| der::ecdsa_der_from_raw(&raw)),
        }
        .map_err(|e| SignError::Device(e.to_string()))?;
        Ok(Signature { keyid: self.key_id.clone(), sig: hex::encode(&signature), unknown: UnknownFields::default() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7512_uris_parse() {
        let uri =
            Pkcs11Uri::parse("pkcs11:token=my%20token;object=root-2;id=%01%02?pin-value=1234&module-path=/lib/x.so")
                .unwrap();
        assert_eq!(uri.token.as_deref(), Some("my token"));
        assert_eq!(uri.object.as_deref(), Some("root-2"));
        assert_eq!(uri.id.as_deref(), Some(&[1u8, 2][..]));
        assert_eq!(uri.pin.as_deref(), Some("1234"));
        assert_eq!(uri.module, PathBuf::from("/lib/x.so"));
        assert!(Pkcs11Uri::parse("pkcs11:token=t").is_err(), "no key named");
        assert!(Pkcs11Uri::parse("file:///x").is_err());
        assert!(Pkcs11Uri::parse("pkcs11:object=%zz").is_err());
    }

    #[test]
    fn raw_ecdsa_signatures_become_strict_der() {
        let mut raw = [0u8; 64];
        raw[0] = 0x80; // r needs a sign-padding zero
        raw[63] = 1; // s = 1 after stripping leading zeros
        let der_bytes = der::ecdsa_der_from_raw(&raw);
        let (r, s) = der::ecdsa_signature(&der_bytes).unwrap();
        assert_eq!((r.len(), s), (32, &[1u8][..]));
    }
}
