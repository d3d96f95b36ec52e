//! The store's part of rollout outcomes and adoption over time: failures by code,
//! time-to-confirm at a rank, and the adoption samples, one per sample period.

use sqlx::Row;

use super::{ImageCount, Result, Store, Tx};

/// One adoption sample row: at `at`, `ecus` ECUs of `hardware_id` ran `image` (`None`:
/// not reported yet), `confirmed` of them confirmed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdoptionSample {
    /// The start of its sample period (Unix seconds).
    pub at: i64,
    /// What it counted.
    pub count: ImageCount,
}

impl Store {
    /// A rollout's failed, rolled-back and timed-out vehicles by failure code, most first.
    pub async fn rollout_failures(&self, id: &str) -> Result<Vec<(String, u64)>> {
        let rows = sqlx::query(
            "SELECT COALESCE(failure_code, 'unknown') AS code, COUNT(*) AS n FROM rollout_vehicles \
             WHERE rollout = $1 AND state IN ('failed', 'rolled_back', 'timed_out') \
             GROUP BY COALESCE(failure_code, 'unknown') ORDER BY n DESC, code",
        )
        .bind(id)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(|r| Ok((r.try_get("code")?, r.try_get::<i64, _>("n")? as u64))).collect()
    }

    /// How many of a rollout's vehicles confirmed, with a time from offer to confirmation.
    pub async fn rollout_confirmed_count(&self, id: &str) -> Result<u64> {
        let row =
            sqlx::query("SELECT COUNT(*) AS n FROM rollout_vehicles WHERE rollout = $1 AND confirm_secs IS NOT NULL")
                .bind(id)
                .fetch_one(&self.read)
                .await?;
        Ok(row.try_get::<i64, _>("n")? as u64)
    }

    /// The time from offer to confirmation at 0-based `rank`, shortest first (along the
    /// index on (rollout, confirm_secs)).
    pub async fn rollout_confirm_secs_at(&self, id: &str, rank: u64) -> Result<Option<i64>> {
        let row = sqlx::query(
            "SELECT confirm_secs FROM rollout_vehicles WHERE rollout = $1 AND confirm_secs IS NOT NULL \
             ORDER BY confirm_secs LIMIT 1 OFFSET $2",
        )
        .bind(id)
        .bind(rank as i64)
        .fetch_optional(&self.read)
        .await?;
        row.map(|r| r.try_get("confirm_secs")).transpose().map_err(Into::into)
    }

    /// The adoption samples since `since` (Unix seconds), oldest first, of one hardware id
    /// if given.
    pub async fn adoption_samples(&self, since: i64, hardware_id: Option<&str>) -> Result<Vec<AdoptionSample>> {
        let rows = sqlx::query(
            "SELECT at, hardware_id, image, ecus, confirmed FROM adoption_samples \
             WHERE at >= $1 AND ($2 = '' OR hardware_id = $2) ORDER BY at, hardware_id, image LIMIT 100000",
        )
        .bind(since)
        .bind(hardware_id.unwrap_or(""))
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                let image: String = r.try_get("image")?;
                Ok(AdoptionSample {
                    at: r.try_get("at")?,
                    count: ImageCount {
                        hardware_id: r.try_get("hardware_id")?,
                        image: (!image.is_empty()).then_some(image),
                        ecus: r.try_get::<i64, _>("ecus")? as u64,
                        confirmed: r.try_get::<i64, _>("confirmed")? as u64,
                    },
                })
            })
            .collect()
    }

    /// Whether the sample period starting `at` has its sample.
    pub async fn has_adoption_sample(&self, at: i64) -> Result<bool> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM adoption_samples WHERE at = $1")
            .bind(at)
            .fetch_one(&self.read)
            .await?;
        Ok(row.try_get::<i64, _>("n")? > 0)
    }
}

impl Tx {
    /// Records the sample of the period starting `at`; rows another process recorded for
    /// that period first stay as they are.
    pub async fn record_adoption(&mut self, at: i64, counts: &[ImageCount]) -> Result<()> {
        for c in counts {
            sqlx::query(
                "INSERT INTO adoption_samples (at, hardware_id, image, ecus, confirmed) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (at, hardware_id, image) DO NOTHING",
            )
            .bind(at)
            .bind(&c.hardware_id)
            .bind(c.image.as_deref().unwrap_or(""))
            .bind(c.ecus as i64)
            .bind(c.confirmed as i64)
            .execute(&mut *self.tx)
            .await?;
        }
        Ok(())
    }
}
