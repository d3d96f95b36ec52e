//! The director's part of image encryption: each hardware id's policy, each ECU's
//! decryption key (registered, or announced in its signed report), and the encryption
//! block an assignment carries when its image is encrypted for its ECU.

use chrono::{DateTime, Utc};
use metadata_schemas::{Decode, Encode, json};
use serde_json::json;

use super::{Director, Result, ServiceError, internal, now, valid_name};
use crate::encryption::{ContentKeyRecord, Policy};
use crate::store::{Assignment, Tx};

impl Director {
    /// Encrypts an assignment's image for its ECU when the hardware id's policy asks for
    /// it: the image's content key (made once, its ciphertext written once) wrapped for
    /// the ECU's decryption key. `required` without a registered key refuses the request.
    pub(super) async fn encrypt_for(&self, tx: &mut Tx, a: &Assignment) -> Result<()> {
        let policy = tx.policy(&a.hardware_id).await?;
        let key = tx.decryption_key(&a.vin, &a.serial).await?;
        let key = match (policy, key) {
            (Policy::Never, _) | (Policy::Optional, None) => return Ok(()),
            (Policy::Required, None) => {
                return Err(ServiceError::Invalid(format!(
                    "{} ({}): hardware {} requires encrypted images and the ECU has no decryption key; \
                     register one (PUT /api/v1/admin/vehicles/{}/ecus/{}/decryption-key)",
                    a.serial, a.vin, a.hardware_id, a.vin, a.serial
                )));
            }
            (_, Some(key)) => key,
        };
        let public: [u8; 32] = metadata_schemas::hex::decode_lower_array(&key)
            .ok_or_else(|| ServiceError::Internal(format!("{}: stored decryption key {key:?}", a.serial)))?;
        let record = self.content_key(tx, a).await?;
        let block =
            self.encryption.block_for(&record, (&a.serial, &public), a.release_counter as u64).map_err(internal)?;
        let canonical = String::from_utf8(json::to_canonical(&block.encode())).map_err(internal)?;
        tx.set_assignment_encryption(&a.id, &canonical).await?;
        Ok(())
    }

    /// The content key of an assignment's image: the one made before for this plaintext,
    /// or a new one (its ciphertext written now).
    async fn content_key(&self, tx: &mut Tx, a: &Assignment) -> Result<ContentKeyRecord> {
        let value = json::parse(a.target_file.as_bytes()).map_err(internal)?;
        let file = metadata_schemas::TargetFile::decode(&value).map_err(internal)?;
        let Some(metadata_schemas::Digest::Sha256(sha256)) = file.hashes.get(metadata_schemas::HashAlgorithm::Sha256)
        else {
            return Err(ServiceError::Invalid(format!(
                "{}: the image repository lists no sha256 to encrypt it by",
                a.target
            )));
        };
        let sha256_hex = metadata_schemas::hex::encode(sha256);
        if let Some(record) = tx.content_key(&a.target, &sha256_hex).await? {
            return Ok(record);
        }
        let images =
            self.images.as_ref().ok_or_else(|| ServiceError::Invalid("no image repository is configured".into()))?;
        let plaintext = images.read_target(&a.target, sha256).map_err(|e| ServiceError::Invalid(e.to_string()))?;
        let record = self.encryption.encrypt(&a.target, &plaintext).map_err(internal)?;
        tx.insert_content_key(&record).await?;
        Ok(record)
    }

    /// Sets a hardware id's encryption policy.
    pub async fn set_policy(&self, actor: &str, hardware_id: &str, policy: Policy) -> Result<()> {
        valid_name("hardware id", hardware_id)?;
        let now = now();
        let mut tx = self.store.begin().await?;
        tx.set_policy(hardware_id, policy).await?;
        let detail = json!({"hardware_id": hardware_id, "policy": policy.as_str()}).to_string();
        tx.audit(actor, "encryption-policy", &detail, now.timestamp()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Registers or rotates an ECU's decryption key (32 bytes, hex): later assignments are
    /// wrapped for it.
    pub async fn set_decryption_key(&self, actor: &str, vin: &str, serial: &str, public_key: &str) -> Result<()> {
        let key: Option<[u8; 32]> = metadata_schemas::hex::decode_lower_array(public_key);
        if key.is_none() {
            return Err(ServiceError::Invalid("decryption_key: 64 lowercase hex digits (an X25519 public key)".into()));
        }
        let now = now();
        let mut tx = self.store.begin().await?;
        if !tx.ecus(vin).await?.iter().any(|e| e.serial == serial) {
            return Err(ServiceError::NotFound(format!("ECU {serial} of vehicle {vin}")));
        }
        tx.set_decryption_key(vin, serial, public_key, now.timestamp()).await?;
        let detail = json!({"vin": vin, "serial": serial, "decryption_key": public_key}).to_string();
        tx.audit(actor, "decryption-key", &detail, now.timestamp()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Takes the decryption key an ECU's signed report announces, if it is new: the
    /// report is signed by the ECU's own key, so this is the ECU rotating its key.
    pub(super) async fn take_announced_key(
        &self,
        tx: &mut Tx,
        vin: &str,
        serial: &str,
        key: &[u8; 32],
        now: DateTime<Utc>,
    ) -> Result<()> {
        let hex = metadata_schemas::hex::encode(key);
        if tx.decryption_key(vin, serial).await?.as_deref() == Some(hex.as_str()) {
            return Ok(());
        }
        tx.set_decryption_key(vin, serial, &hex, now.timestamp()).await?;
        let detail = json!({"ecu": serial, "decryption_key": hex, "what": "announced in the ECU's signed report"});
        tx.event(vin, "decryption-key", &detail.to_string(), now.timestamp()).await?;
        tx.audit(&format!("ecu:{vin}/{serial}"), "decryption-key", &detail.to_string(), now.timestamp()).await?;
        Ok(())
    }
}
