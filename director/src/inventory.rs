//! The fleet inventory, for operators: vehicles listed by selector a page at a time, an
//! operator's tags and attributes on each, and saved groups (named selectors). Which
//! vehicles a selector takes is decided by [`crate::selector`]; this only drives.

use serde_json::json;

use crate::selector::{self, Selector, VehicleView};
use crate::service::{Director, Result, ServiceError, valid_name};
use crate::store::{Group, InventoryRow, Labels};

/// Vehicles read from the database at a time while a page fills.
const BATCH: i64 = 1000;
/// Most tags, and most attributes, one vehicle carries.
const MOST_LABELS: usize = 64;

/// One page of a listing.
#[derive(Debug)]
pub struct VehiclePage {
    /// The vehicles selected, in VIN order.
    pub vehicles: Vec<InventoryRow>,
    /// Where the next page starts (`after`), if there may be one.
    pub next: Option<String>,
}

/// Whether `selector` takes `row`.
pub fn selected(selector: &Selector, row: &InventoryRow) -> bool {
    let ecus: Vec<(String, Option<String>)> =
        row.ecus.iter().map(|e| (e.hardware_id.clone(), e.installed.clone())).collect();
    let view = VehicleView {
        tags: &row.labels.tags,
        attributes: &row.labels.attributes,
        ecus: &ecus,
        last_seen: row.last_seen,
    };
    selector.matches(&view)
}

/// A vehicle as the listing shows it.
pub fn row_json(row: &InventoryRow) -> serde_json::Value {
    let ecus: Vec<serde_json::Value> = row
        .ecus
        .iter()
        .map(|e| {
            json!({"serial": e.serial, "hardware_id": e.hardware_id, "installed": e.installed, "attack": e.attack,
                   "status": e.status.map(crate::store::EcuStatus::to_json)})
        })
        .collect();
    json!({"vin": row.vin, "registered": row.registered, "last_seen": row.last_seen,
           "tags": row.labels.tags, "attributes": row.labels.attributes, "ecus": ecus})
}

/// Checks an operator's labels, and sorts the tags (each once).
pub(crate) fn valid_labels(labels: &mut Labels) -> Result<()> {
    if labels.tags.len() > MOST_LABELS || labels.attributes.len() > MOST_LABELS {
        return Err(ServiceError::Invalid(format!("at most {MOST_LABELS} tags and {MOST_LABELS} attributes")));
    }
    for tag in &labels.tags {
        valid_name("tag", tag)?;
    }
    for (name, value) in &labels.attributes {
        valid_name("attribute", name)?;
        if value.len() > 256 || value.chars().any(char::is_control) {
            return Err(ServiceError::Invalid(format!(
                "attribute {name}: a value of at most 256 characters, no control characters"
            )));
        }
    }
    labels.tags.sort();
    labels.tags.dedup();
    Ok(())
}

impl Director {
    /// Up to `limit` vehicles after `after` (a VIN) that `selector` takes.
    pub async fn list_vehicles(&self, selector: &Selector, after: &str, limit: usize) -> Result<VehiclePage> {
        let mut vehicles = Vec::new();
        let mut cursor = after.to_string();
        let prefilter = selector.prefilter();
        loop {
            let batch = self.store.inventory_batch(&cursor, BATCH, prefilter.as_ref()).await?;
            let exhausted = (batch.len() as i64) < BATCH;
            for row in batch {
                cursor.clone_from(&row.vin);
                if selected(selector, &row) {
                    vehicles.push(row);
                    if vehicles.len() == limit {
                        return Ok(VehiclePage { vehicles, next: Some(cursor) });
                    }
                }
            }
            if exhausted {
                return Ok(VehiclePage { vehicles, next: None });
            }
        }
    }

    /// The selector of a saved group.
    pub async fn group_selector(&self, name: &str) -> Result<Selector> {
        let groups = self.store.groups().await?;
        let group =
            groups.iter().find(|g| g.name == name).ok_or_else(|| ServiceError::NotFound(format!("group {name}")))?;
        selector::parse(&group.selector).map_err(|e| ServiceError::Internal(format!("group {name}: {e}")))
    }

    /// Replaces a vehicle's tags and attributes; the labels as kept (tags sorted, once).
    pub async fn set_labels(&self, actor: &str, vin: &str, mut labels: Labels) -> Result<Labels> {
        valid_labels(&mut labels)?;
        let now = chrono::Utc::now().timestamp();
        let mut tx = self.store.begin().await?;
        tx.lock_vehicle(vin).await?.ok_or_else(|| ServiceError::NotFound(format!("vehicle {vin}")))?;
        tx.set_labels(vin, &labels).await?;
        let detail = json!({"vin": vin, "tags": labels.tags, "attributes": labels.attributes}).to_string();
        tx.audit(actor, "set-labels", &detail, now).await?;
        tx.commit().await?;
        Ok(labels)
    }

    /// Saves a group under `name` (replacing one of that name).
    pub async fn save_group(&self, actor: &str, name: &str, selector_text: &str) -> Result<Group> {
        valid_name("group", name)?;
        selector::parse(selector_text).map_err(|e| ServiceError::Invalid(e.to_string()))?;
        let group =
            Group { name: name.into(), selector: selector_text.into(), created: chrono::Utc::now().timestamp() };
        let mut tx = self.store.begin().await?;
        tx.put_group(&group).await?;
        let detail = json!({"group": name, "selector": selector_text}).to_string();
        tx.audit(actor, "save-group", &detail, group.created).await?;
        tx.commit().await?;
        Ok(group)
    }

    /// Removes a group.
    pub async fn delete_group(&self, actor: &str, name: &str) -> Result<()> {
        let mut tx = self.store.begin().await?;
        if !tx.delete_group(name).await? {
            return Err(ServiceError::NotFound(format!("group {name}")));
        }
        tx.audit(actor, "delete-group", &json!({"group": name}).to_string(), chrono::Utc::now().timestamp()).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// The fleet's adoption as the API shows it: per hardware id, its ECUs, and the share
/// of them on each image (and of those, confirmed).
pub fn adoption_json(counts: &[crate::store::ImageCount]) -> serde_json::Value {
    let mut by_hardware: std::collections::BTreeMap<&str, Vec<&crate::store::ImageCount>> = Default::default();
    for c in counts {
        by_hardware.entry(&c.hardware_id).or_default().push(c);
    }
    let hardware: Vec<serde_json::Value> = by_hardware
        .iter()
        .map(|(hw, images)| {
            let total: u64 = images.iter().map(|c| c.ecus).sum();
            let images: Vec<serde_json::Value> = images
                .iter()
                .map(|c| {
                    serde_json::json!({"image": c.image, "ecus": c.ecus, "confirmed": c.confirmed,
                                       "percent": (c.ecus as f64 * 10_000.0 / total as f64).round() / 100.0})
                })
                .collect();
            serde_json::json!({"hardware_id": hw, "ecus": total, "images": images})
        })
        .collect();
    serde_json::json!({"hardware": hardware})
}
