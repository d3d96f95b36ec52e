//! The store's part of the evidence pack: which ECUs run a release, from their signed
//! reports, and when its assignment was installed; and each hardware id's end of
//! security support as last seen (a moved end is audited).

use sqlx::Row;

use super::{Result, Store};

/// One ECU that reports a release.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deployed {
    /// The vehicle.
    pub vin: String,
    /// The ECU.
    pub serial: String,
    /// Its hardware.
    pub hardware_id: String,
    /// `trial` or `confirmed`, as its last signed report says (none: it does not say).
    pub boot_state: Option<String>,
    /// The time its last accepted report gave (Unix seconds).
    pub reported_time: i64,
    /// When the director saw its assignment of the release installed, if one was.
    pub installed_at: Option<i64>,
}

impl Store {
    /// Every ECU whose last signed report says it runs `path`, in vin and serial order.
    pub async fn deployed(&self, path: &str) -> Result<Vec<Deployed>> {
        let rows = sqlx::query(
            "SELECT e.vin, e.serial, e.hardware_id, e.boot_state, e.reported_time, \
             (SELECT MAX(a.updated) FROM assignments a WHERE a.vin = e.vin AND a.serial = e.serial \
              AND a.target = $1 AND a.state = 'installed') AS installed_at \
             FROM ecus e WHERE e.installed_path = $1 ORDER BY e.vin, e.serial",
        )
        .bind(path)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Deployed {
                    vin: r.try_get("vin")?,
                    serial: r.try_get("serial")?,
                    hardware_id: r.try_get("hardware_id")?,
                    boot_state: r.try_get("boot_state")?,
                    reported_time: r.try_get("reported_time")?,
                    installed_at: r.try_get("installed_at")?,
                })
            })
            .collect()
    }
}

impl Store {
    /// Each hardware id's end of security support as last seen.
    pub async fn support_periods(&self) -> Result<std::collections::BTreeMap<String, i64>> {
        let rows = sqlx::query("SELECT hardware_id, end_of_security_support FROM support_periods")
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(|r| Ok((r.try_get("hardware_id")?, r.try_get("end_of_security_support")?))).collect()
    }
}

impl super::Tx {
    /// Keeps a hardware id's end of security support as seen at `now`.
    pub async fn put_support_period(&mut self, hardware_id: &str, end: i64, now: i64) -> Result<()> {
        sqlx::query("DELETE FROM support_periods WHERE hardware_id = $1")
            .bind(hardware_id)
            .execute(&mut *self.tx)
            .await?;
        sqlx::query("INSERT INTO support_periods (hardware_id, end_of_security_support, seen) VALUES ($1, $2, $3)")
            .bind(hardware_id)
            .bind(end)
            .bind(now)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }
}
