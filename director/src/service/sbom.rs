//! A vehicle's SBOM view: for each ECU, the SBOMs the image repository signs for the image
//! it last reported running, and the union of their components.

use chrono::Utc;
use metadata_schemas::json::Value;
use metadata_schemas::{Digest, HashAlgorithm};
use serde_json::json;

use super::{Director, Result, ServiceError, internal};
use crate::sbom::{cyclonedx_components, union};

/// The `{filename, format}` entries of an image target's `custom.sbom`.
fn listed_sboms(custom: Option<&Value<'_>>) -> Vec<(String, String)> {
    let Some(Value::Array(items)) = custom.and_then(|c| c.as_object()?.get("sbom")) else { return Vec::new() };
    items
        .iter()
        .filter_map(|i| {
            let o = i.as_object()?;
            Some((o.get("filename")?.as_str()?.to_string(), o.get("format")?.as_str().unwrap_or("").to_string()))
        })
        .collect()
}

impl Director {
    /// The vehicle's SBOMs and components, from the image repository as verified now.
    pub async fn vehicle_sbom(&self, vin: &str) -> Result<serde_json::Value> {
        self.store.vehicle(vin).await?.ok_or_else(|| ServiceError::NotFound(format!("vehicle {vin}")))?;
        let repository =
            self.images.as_ref().ok_or_else(|| ServiceError::Invalid("no image repository is configured".into()))?;
        let now = Utc::now();
        let (mut ecus, mut per_ecu) = (Vec::new(), Vec::new());
        for ecu in self.store.ecus(vin).await? {
            let installed: Option<serde_json::Value> =
                ecu.installed.as_deref().and_then(|t| serde_json::from_str(t).ok());
            let Some(image) = installed.as_ref().and_then(|i| i["filepath"].as_str()).map(str::to_string) else {
                continue;
            };
            let entry = repository.find(&image, now).map_err(internal)?;
            let mut sboms = Vec::new();
            let mut components = Vec::new();
            for (filename, format) in listed_sboms(entry.as_ref().and_then(|e| e.file.custom.as_ref())) {
                let Some(info) = repository.find(&filename, now).map_err(internal)? else { continue };
                let Some(Digest::Sha256(sha256)) = info.file.hashes.get(HashAlgorithm::Sha256) else { continue };
                let bytes = repository.read_target(&filename, sha256).map_err(internal)?;
                if format.starts_with("cyclonedx") {
                    let document: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
                    components.extend(cyclonedx_components(&document));
                }
                sboms.push(
                    json!({"filename": filename, "format": format, "sha256": metadata_schemas::hex::encode(sha256)}),
                );
            }
            ecus.push(json!({"ecu": ecu.serial, "hardware_id": ecu.hardware_id, "image": image, "sboms": sboms}));
            per_ecu.push((ecu.serial, components));
        }
        Ok(json!({"vin": vin, "ecus": ecus, "components": union(&per_ecu)}))
    }
}
