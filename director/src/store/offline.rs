//! Offline installs as vehicles reported them.

use metadata_schemas::uptane::OfflineInstall;
use sqlx::Row;

use super::{Result, Store, Tx};

/// One offline install, as stored.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct OfflineRecord {
    /// The ECU.
    pub ecu: String,
    /// The image.
    pub image: String,
    /// The bundle's name.
    pub bundle: String,
    /// Its version.
    pub bundle_version: i64,
    /// When the primary installed it (Unix seconds, its clock).
    pub installed_at: i64,
    /// Why it failed, if it did.
    pub failure: Option<String>,
    /// When the director learnt of it.
    pub received: i64,
}

impl Tx {
    /// Records `installs` reported by `vin`'s manifest `manifest_sha256`; ones already
    /// recorded (reported again after a lost answer) are skipped. Those newly recorded.
    pub async fn record_offline_installs<'a>(
        &mut self,
        vin: &str,
        installs: &'a [OfflineInstall],
        manifest_sha256: &str,
        now: i64,
    ) -> Result<Vec<&'a OfflineInstall>> {
        let mut recorded = Vec::with_capacity(installs.len());
        for install in installs {
            let done = sqlx::query(
                "INSERT INTO offline_installs (vin, ecu, bundle, bundle_version, installed_at, image, failure, received, \
                 manifest_sha256) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
            )
            .bind(vin)
            .bind(install.ecu.as_str())
            .bind(install.bundle.as_str())
            .bind(i64::try_from(install.bundle_version).unwrap_or(i64::MAX))
            .bind(install.at.time().timestamp())
            .bind(install.image.as_str())
            .bind(install.failure.as_deref())
            .bind(now)
            .bind(manifest_sha256)
            .execute(&mut *self.tx)
            .await?;
            if done.rows_affected() > 0 {
                recorded.push(install);
            }
        }
        Ok(recorded)
    }
}

impl Store {
    /// `vin`'s offline installs, newest first (at most `limit`).
    pub async fn offline_installs(&self, vin: &str, limit: i64) -> Result<Vec<OfflineRecord>> {
        let rows = sqlx::query(
            "SELECT ecu, image, bundle, bundle_version, installed_at, failure, received FROM offline_installs \
             WHERE vin = $1 ORDER BY installed_at DESC, ecu LIMIT $2",
        )
        .bind(vin)
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(OfflineRecord {
                    ecu: r.try_get("ecu")?,
                    image: r.try_get("image")?,
                    bundle: r.try_get("bundle")?,
                    bundle_version: r.try_get("bundle_version")?,
                    installed_at: r.try_get("installed_at")?,
                    failure: r.try_get("failure")?,
                    received: r.try_get("received")?,
                })
            })
            .collect()
    }
}
