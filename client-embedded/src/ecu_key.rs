//! The ECU's own key, which signs its version reports.

use alloc::string::String;

use ed25519_dalek::Signer as _;
use metadata_schemas::{Key, KeyId, Signature, UnknownFields, hex};

/// Something that signs this ECU's version reports.
pub trait EcuKey {
    /// The key id the director knows the ECU key by.
    fn key_id(&self) -> &KeyId;

    /// Signs `message` (canonical JSON of the report). An erased key signs nothing that
    /// verifies.
    fn sign(&self, message: &[u8]) -> Signature;

    /// Erases the key (decommissioning): from RAM, and from wherever the firmware keeps
    /// it at rest (its flash page or secure element slot). Called again at every start of
    /// a decommissioned ECU, so a cut between the two still ends erased.
    fn erase(&mut self);
}

/// An Ed25519 ECU key held in memory (provisioned into the MCU at the factory).
pub struct Ed25519EcuKey {
    /// `None` once erased (the key's bytes are zeroed as it is dropped).
    signing: Option<ed25519_dalek::SigningKey>,
    public: Key,
    key_id: KeyId,
}

impl Ed25519EcuKey {
    /// The key with this 32-byte seed.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        let signing = ed25519_dalek::SigningKey::from_bytes(seed);
        let public = Key::new("ed25519", "ed25519", hex::encode(signing.verifying_key().as_bytes()));
        let key_id = threshold_keys::default_key_id(&public);
        Ed25519EcuKey { signing: Some(signing), public, key_id }
    }

    /// The public key entry, as the director lists it.
    pub fn public_key(&self) -> &Key {
        &self.public
    }
}

impl EcuKey for Ed25519EcuKey {
    fn key_id(&self) -> &KeyId {
        &self.key_id
    }

    fn sign(&self, message: &[u8]) -> Signature {
        let sig: String = self.signing.as_ref().map(|k| hex::encode(&k.sign(message).to_bytes())).unwrap_or_default();
        Signature { keyid: self.key_id.clone(), sig, unknown: UnknownFields::default() }
    }

    fn erase(&mut self) {
        self.signing = None;
    }
}
