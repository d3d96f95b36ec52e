//! The store's part of the fleet inventory: each vehicle's tags and attributes, saved
//! groups, and vehicles read in VIN order a batch at a time with what a selector looks at.

use std::collections::BTreeMap;

use sqlx::Row;

use super::{Result, Store, StoreError, Tx};
use crate::selector::Prefilter;

/// An operator's labels of one vehicle.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Labels {
    /// Tags, sorted.
    pub tags: Vec<String>,
    /// Attributes by name.
    pub attributes: BTreeMap<String, String>,
}

/// One ECU as the inventory lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InventoryEcu {
    /// Its serial.
    pub serial: String,
    /// Its hardware id.
    pub hardware_id: String,
    /// The image path it last reported running.
    pub installed: Option<String>,
    /// The attack code it last reported (0: none).
    pub attack: i64,
    /// Its boot state and last install result, as its last report said.
    pub status: Option<super::EcuStatus>,
}

/// One vehicle as the inventory lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InventoryRow {
    /// Its VIN.
    pub vin: String,
    /// When it was registered (Unix seconds).
    pub registered: i64,
    /// When its last manifest was accepted (Unix seconds; 0: never).
    pub last_seen: i64,
    /// Its labels.
    pub labels: Labels,
    /// Its ECUs, by serial.
    pub ecus: Vec<InventoryEcu>,
}

/// A saved selector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// Its name.
    pub name: String,
    /// The selector, as written.
    pub selector: String,
    /// When it was saved (Unix seconds).
    pub created: i64,
}

/// The image path in an ECU's `installed` JSON entry (for rows written before the
/// `installed_path` column existed; [`Store::open`] fills it in from this).
pub(super) fn path_in_entry(text: &str) -> Result<Option<String>> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|_| StoreError::Corrupt("installed image entry".into()))?;
    Ok(value.get("filepath").and_then(|p| p.as_str()).map(String::from))
}

/// `p` as SQL over `vehicles.vin`, its values appended to `binds` (numbered from $3).
fn condition(p: &Prefilter, binds: &mut Vec<String>) -> String {
    let list = |values: &[String], binds: &mut Vec<String>| {
        let marks: Vec<String> = values
            .iter()
            .map(|v| {
                binds.push(v.clone());
                format!("${}", binds.len() + 2)
            })
            .collect();
        marks.join(", ")
    };
    match p {
        Prefilter::Attr { name, values } => {
            binds.push(name.clone());
            let name_mark = binds.len() + 2;
            let values = list(values, binds);
            format!("vin IN (SELECT vin FROM vehicle_attributes WHERE name = ${name_mark} AND value IN ({values}))")
        }
        Prefilter::Tag(values) => {
            format!("vin IN (SELECT vin FROM vehicle_tags WHERE tag IN ({}))", list(values, binds))
        }
        Prefilter::HardwareId(values) => {
            format!("vin IN (SELECT vin FROM ecus WHERE hardware_id IN ({}))", list(values, binds))
        }
        Prefilter::All(parts) => {
            format!("({})", parts.iter().map(|p| condition(p, binds)).collect::<Vec<_>>().join(" AND "))
        }
        Prefilter::Any(parts) => {
            format!("({})", parts.iter().map(|p| condition(p, binds)).collect::<Vec<_>>().join(" OR "))
        }
    }
}

/// The rows of `table_sql` (selecting `vin` and more) for the batch's vehicles: by VIN
/// range when the batch is every vehicle of the range, else by the VINs themselves.
fn rows_of<'q>(table_sql: &str, batch: &'q [InventoryRow], after: &'q str, contiguous: bool) -> (String, Vec<&'q str>) {
    if contiguous {
        let last = batch.last().map(|r| r.vin.as_str()).unwrap_or(after);
        return (format!("{table_sql} WHERE vin > $1 AND vin <= $2"), vec![after, last]);
    }
    let marks: Vec<String> = (1..=batch.len()).map(|i| format!("${i}")).collect();
    (format!("{table_sql} WHERE vin IN ({})", marks.join(", ")), batch.iter().map(|r| r.vin.as_str()).collect())
}

impl Store {
    /// Up to `limit` vehicles after `after` in VIN order that pass `prefilter`, with
    /// their labels and ECUs.
    pub async fn inventory_batch(
        &self,
        after: &str,
        limit: i64,
        prefilter: Option<&Prefilter>,
    ) -> Result<Vec<InventoryRow>> {
        let mut binds = Vec::new();
        let condition = prefilter.map(|p| format!(" AND {}", condition(p, &mut binds))).unwrap_or_default();
        let sql = format!(
            "SELECT vin, registered, manifest_time FROM vehicles WHERE vin > $1{condition} ORDER BY vin LIMIT $2"
        );
        let mut query = sqlx::query(&sql).bind(after).bind(limit);
        for value in &binds {
            query = query.bind(value.as_str());
        }
        let rows = query.fetch_all(&self.read).await?;
        self.filled(&rows, after, prefilter.is_none()).await
    }

    /// These vehicles (those of them that exist), with their labels and ECUs, in VIN order.
    pub async fn inventory_rows_of(&self, vins: &[String]) -> Result<Vec<InventoryRow>> {
        if vins.is_empty() {
            return Ok(Vec::new());
        }
        let marks: Vec<String> = (1..=vins.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT vin, registered, manifest_time FROM vehicles WHERE vin IN ({}) ORDER BY vin",
            marks.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for vin in vins {
            query = query.bind(vin.as_str());
        }
        let rows = query.fetch_all(&self.read).await?;
        self.filled(&rows, "", false).await
    }

    /// Inventory rows for these `vehicles` rows, their ECUs, tags and attributes read
    /// by VIN range (`contiguous`: every vehicle after `after` up to the last) or by VIN.
    async fn filled(&self, vehicles: &[sqlx::any::AnyRow], after: &str, contiguous: bool) -> Result<Vec<InventoryRow>> {
        let mut batch = Vec::new();
        let mut index = BTreeMap::new();
        for row in vehicles {
            let vin: String = row.try_get("vin")?;
            index.insert(vin.clone(), batch.len());
            let (registered, last_seen) = (row.try_get("registered")?, row.try_get("manifest_time")?);
            batch.push(InventoryRow { vin, registered, last_seen, labels: Labels::default(), ecus: Vec::new() });
        }
        if batch.is_empty() {
            return Ok(batch);
        }
        let fetch = |table_sql: &str| {
            let (sql, vins) = rows_of(table_sql, &batch, after, contiguous);
            async move {
                let mut query = sqlx::query(&sql);
                for vin in vins {
                    query = query.bind(vin);
                }
                query.fetch_all(&self.read).await
            }
        };
        let ecus =
            fetch("SELECT vin, serial, hardware_id, installed_path, attack, boot_state, install_result FROM ecus")
                .await?;
        let tags = fetch("SELECT vin, tag FROM vehicle_tags").await?;
        let attributes = fetch("SELECT vin, name, value FROM vehicle_attributes").await?;
        attach(&mut batch, &index, [&ecus, &tags, &attributes])?;
        Ok(batch)
    }

    /// A vehicle's labels.
    pub async fn labels(&self, vin: &str) -> Result<Labels> {
        let mut labels = Labels::default();
        let tags = sqlx::query("SELECT tag FROM vehicle_tags WHERE vin = $1 ORDER BY tag").bind(vin);
        for row in tags.fetch_all(&self.read).await? {
            labels.tags.push(row.try_get("tag")?);
        }
        let attributes = sqlx::query("SELECT name, value FROM vehicle_attributes WHERE vin = $1").bind(vin);
        for row in attributes.fetch_all(&self.read).await? {
            labels.attributes.insert(row.try_get("name")?, row.try_get("value")?);
        }
        Ok(labels)
    }

    /// Every saved group, by name.
    pub async fn groups(&self) -> Result<Vec<Group>> {
        let rows = sqlx::query("SELECT name, selector, created FROM vehicle_groups ORDER BY name")
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Group { name: r.try_get("name")?, selector: r.try_get("selector")?, created: r.try_get("created")? })
            })
            .collect()
    }
}

impl Tx {
    /// Replaces a vehicle's labels.
    pub async fn set_labels(&mut self, vin: &str, labels: &Labels) -> Result<()> {
        sqlx::query("DELETE FROM vehicle_tags WHERE vin = $1").bind(vin).execute(&mut *self.tx).await?;
        sqlx::query("DELETE FROM vehicle_attributes WHERE vin = $1").bind(vin).execute(&mut *self.tx).await?;
        for tag in &labels.tags {
            sqlx::query("INSERT INTO vehicle_tags (vin, tag) VALUES ($1, $2)")
                .bind(vin)
                .bind(tag)
                .execute(&mut *self.tx)
                .await?;
        }
        for (name, value) in &labels.attributes {
            sqlx::query("INSERT INTO vehicle_attributes (vin, name, value) VALUES ($1, $2, $3)")
                .bind(vin)
                .bind(name)
                .bind(value)
                .execute(&mut *self.tx)
                .await?;
        }
        Ok(())
    }

    /// Saves a group (replacing one of the same name).
    pub async fn put_group(&mut self, group: &Group) -> Result<()> {
        sqlx::query(
            "INSERT INTO vehicle_groups (name, selector, created) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET selector = excluded.selector, created = excluded.created",
        )
        .bind(&group.name)
        .bind(&group.selector)
        .bind(group.created)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Removes a group; whether there was one.
    pub async fn delete_group(&mut self, name: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM vehicle_groups WHERE name = $1").bind(name).execute(&mut *self.tx).await?;
        Ok(done.rows_affected() > 0)
    }
}

/// How many ECUs of a hardware id run an image, and how many of those confirmed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageCount {
    /// The hardware id.
    pub hardware_id: String,
    /// The image path (`None`: not reported yet).
    pub image: Option<String>,
    /// ECUs running it.
    pub ecus: u64,
    /// Of those, the ones whose reports say it is confirmed.
    pub confirmed: u64,
}

impl Store {
    /// For every hardware id, the ECUs on each image (the fleet's adoption now).
    pub async fn adoption(&self) -> Result<Vec<ImageCount>> {
        // Grouped along the index on (hardware_id, installed_path, boot_state): no sort.
        let rows = sqlx::query(
            "SELECT hardware_id, installed_path, boot_state, COUNT(*) AS n FROM ecus \
             GROUP BY hardware_id, installed_path, boot_state",
        )
        .fetch_all(&self.read)
        .await?;
        let mut counts: BTreeMap<(String, Option<String>), (u64, u64)> = BTreeMap::new();
        for r in &rows {
            let image: Option<String> = r.try_get("installed_path")?;
            let confirmed = r.try_get::<Option<String>, _>("boot_state")?.as_deref() == Some("confirmed");
            let n = r.try_get::<i64, _>("n")? as u64;
            let entry = counts.entry((r.try_get("hardware_id")?, image)).or_default();
            entry.0 += n;
            if confirmed {
                entry.1 += n;
            }
        }
        Ok(counts
            .into_iter()
            .map(|((hardware_id, image), (ecus, confirmed))| ImageCount { hardware_id, image, ecus, confirmed })
            .collect())
    }
}

/// Puts each vehicle's ECU, tag and attribute rows (found by VIN through `index`) into
/// its place in `batch`, sorted.
fn attach(
    batch: &mut [InventoryRow],
    index: &BTreeMap<String, usize>,
    [ecus, tags, attributes]: [&[sqlx::any::AnyRow]; 3],
) -> Result<()> {
    for row in ecus {
        let ecu = InventoryEcu {
            serial: row.try_get("serial")?,
            hardware_id: row.try_get("hardware_id")?,
            installed: row.try_get("installed_path")?,
            attack: row.try_get("attack")?,
            status: super::install_status(row)?,
        };
        batch[index[&row.try_get::<String, _>("vin")?]].ecus.push(ecu);
    }
    for row in tags {
        batch[index[&row.try_get::<String, _>("vin")?]].labels.tags.push(row.try_get("tag")?);
    }
    for row in attributes {
        let vehicle = &mut batch[index[&row.try_get::<String, _>("vin")?]];
        vehicle.labels.attributes.insert(row.try_get("name")?, row.try_get("value")?);
    }
    for vehicle in batch.iter_mut() {
        vehicle.ecus.sort_by(|a, b| a.serial.cmp(&b.serial));
        vehicle.labels.tags.sort();
    }
    Ok(())
}
