//! The store's part of image encryption: policies, ECU decryption keys, content keys and
//! the blocks issued assignments list.

use sqlx::Row;

use super::{Result, Store, StoreError, Tx};
use crate::encryption::{ContentKeyRecord, Policy};

const CONTENT_KEY: &str = "SELECT target, plaintext_sha256, cek_at_rest, iv, ciphertext, ciphertext_length, \
     chunk_index, chunk_index_length FROM content_keys";

fn record(r: &sqlx::any::AnyRow) -> Result<ContentKeyRecord> {
    Ok(ContentKeyRecord {
        target: r.try_get("target")?,
        plaintext_sha256: r.try_get("plaintext_sha256")?,
        cek_at_rest: r.try_get("cek_at_rest")?,
        iv: r.try_get("iv")?,
        ciphertext: r.try_get("ciphertext")?,
        ciphertext_length: r.try_get("ciphertext_length")?,
        chunk_index: r.try_get("chunk_index")?,
        chunk_index_length: r.try_get("chunk_index_length")?,
    })
}

impl Store {
    /// Whether `name` is a ciphertext or chunk index this director made (devices may fetch it).
    pub async fn is_ciphertext(&self, name: &str) -> Result<bool> {
        let row = sqlx::query("SELECT target FROM content_keys WHERE ciphertext = $1 OR chunk_index = $1")
            .bind(name)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.is_some())
    }

    /// Every hardware id's policy that is not the default (never).
    pub async fn policies(&self) -> Result<Vec<(String, Policy)>> {
        let rows = sqlx::query("SELECT hardware_id, policy FROM encryption_policies ORDER BY hardware_id")
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| {
                let name: String = r.try_get("policy")?;
                let policy = Policy::parse(&name).ok_or_else(|| StoreError::Corrupt(format!("policy {name:?}")))?;
                Ok((r.try_get("hardware_id")?, policy))
            })
            .collect()
    }
}

impl Tx {
    /// A hardware id's encryption policy (never unless set).
    pub async fn policy(&mut self, hardware_id: &str) -> Result<Policy> {
        let row = sqlx::query("SELECT policy FROM encryption_policies WHERE hardware_id = $1")
            .bind(hardware_id)
            .fetch_optional(&mut *self.tx)
            .await?;
        let Some(row) = row else { return Ok(Policy::Never) };
        let name: String = row.try_get("policy")?;
        Policy::parse(&name).ok_or_else(|| StoreError::Corrupt(format!("policy {name:?}")))
    }

    /// Sets a hardware id's encryption policy.
    pub async fn set_policy(&mut self, hardware_id: &str, policy: Policy) -> Result<()> {
        sqlx::query("DELETE FROM encryption_policies WHERE hardware_id = $1")
            .bind(hardware_id)
            .execute(&mut *self.tx)
            .await?;
        sqlx::query("INSERT INTO encryption_policies (hardware_id, policy) VALUES ($1, $2)")
            .bind(hardware_id)
            .bind(policy.as_str())
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// An ECU's decryption public key (hex), if it registered one.
    pub async fn decryption_key(&mut self, vin: &str, serial: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT public_key FROM ecu_decryption_keys WHERE vin = $1 AND serial = $2")
            .bind(vin)
            .bind(serial)
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(row.map(|r| r.try_get("public_key")).transpose()?)
    }

    /// Registers (or rotates) an ECU's decryption public key (hex).
    pub async fn set_decryption_key(&mut self, vin: &str, serial: &str, public_key: &str, now: i64) -> Result<()> {
        sqlx::query("DELETE FROM ecu_decryption_keys WHERE vin = $1 AND serial = $2")
            .bind(vin)
            .bind(serial)
            .execute(&mut *self.tx)
            .await?;
        sqlx::query("INSERT INTO ecu_decryption_keys (vin, serial, public_key, registered) VALUES ($1, $2, $3, $4)")
            .bind(vin)
            .bind(serial)
            .bind(public_key)
            .bind(now)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// The content key of the image at `target` with this plaintext, if one was made.
    pub async fn content_key(&mut self, target: &str, plaintext_sha256: &str) -> Result<Option<ContentKeyRecord>> {
        let sql = format!("{CONTENT_KEY} WHERE target = $1 AND plaintext_sha256 = $2");
        let row = sqlx::query(&sql).bind(target).bind(plaintext_sha256).fetch_optional(&mut *self.tx).await?;
        row.as_ref().map(record).transpose()
    }

    /// Keeps a new content key; a conflict if its IV or ciphertext exists (never reused).
    pub async fn insert_content_key(&mut self, r: &ContentKeyRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO content_keys (target, plaintext_sha256, cek_at_rest, iv, ciphertext, ciphertext_length, \
             chunk_index, chunk_index_length) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&r.target)
        .bind(&r.plaintext_sha256)
        .bind(&r.cek_at_rest)
        .bind(&r.iv)
        .bind(&r.ciphertext)
        .bind(r.ciphertext_length)
        .bind(&r.chunk_index)
        .bind(r.chunk_index_length)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// The encryption block an assignment lists (canonical JSON), if encrypted.
    pub async fn assignment_encryption(&mut self, assignment: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT block FROM assignment_encryption WHERE assignment_id = $1")
            .bind(assignment)
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(row.map(|r| r.try_get("block")).transpose()?)
    }

    /// Records the encryption block of a new assignment.
    pub async fn set_assignment_encryption(&mut self, assignment: &str, block: &str) -> Result<()> {
        sqlx::query("INSERT INTO assignment_encryption (assignment_id, block) VALUES ($1, $2)")
            .bind(assignment)
            .bind(block)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }
}
