//! A vehicle's software bill of materials: the union of the SBOMs the image repository
//! signs for the images its ECUs run (each image target's `custom.sbom`), read from
//! CycloneDX JSON. Pure over the documents; the service finds and reads them.

use std::collections::BTreeMap;

use serde::Serialize;

/// One component, and the ECUs whose images include it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Component {
    /// Its name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Its package URL, if the SBOM gives one.
    pub purl: Option<String>,
    /// The ECUs whose installed image lists it.
    pub ecus: Vec<String>,
}

/// A component as an SBOM names it: name, version, package URL.
pub type Named = (String, String, Option<String>);

/// The components of a CycloneDX JSON document (`components[]`, nested ones included).
pub fn cyclonedx_components(document: &serde_json::Value) -> Vec<Named> {
    let mut out = Vec::new();
    let mut stack: Vec<&serde_json::Value> = vec![document];
    while let Some(node) = stack.pop() {
        for c in node["components"].as_array().into_iter().flatten() {
            let text = |field: &str| c[field].as_str().map(str::to_string);
            if let Some(name) = text("name") {
                out.push((name, text("version").unwrap_or_default(), text("purl")));
            }
            stack.push(c);
        }
    }
    out
}

/// The union of each ECU's components, one entry per (name, version, purl), in order.
pub fn union(per_ecu: &[(String, Vec<Named>)]) -> Vec<Component> {
    let mut merged: BTreeMap<Named, Vec<String>> = BTreeMap::new();
    for (ecu, components) in per_ecu {
        for key in components {
            let ecus = merged.entry(key.clone()).or_default();
            if !ecus.contains(ecu) {
                ecus.push(ecu.clone());
            }
        }
    }
    merged.into_iter().map(|((name, version, purl), ecus)| Component { name, version, purl, ecus }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_are_read_nested_and_merged_once_per_version_with_their_ecus() {
        let brake = serde_json::json!({"bomFormat": "CycloneDX", "components": [
            {"name": "brake-fw", "version": "2", "purl": "pkg:generic/brake-fw@2"},
            {"name": "rtos", "version": "10.5", "components": [{"name": "tcp", "version": "1.1"}]}]});
        let wiper =
            serde_json::json!({"components": [{"name": "rtos", "version": "10.5"}, {"name": "rtos", "version": "9"}]});
        let read = cyclonedx_components(&brake);
        assert_eq!(read.len(), 3, "{read:?}");
        let all = union(&[("brake-1".into(), read), ("wiper-1".into(), cyclonedx_components(&wiper))]);
        let rtos: Vec<&Component> = all.iter().filter(|c| c.name == "rtos").collect();
        assert_eq!(rtos.len(), 2, "two versions stay apart");
        assert_eq!(rtos.iter().find(|c| c.version == "10.5").unwrap().ecus, vec!["brake-1", "wiper-1"]);
        assert!(cyclonedx_components(&serde_json::json!({"spdxVersion": "SPDX-2.3"})).is_empty());
    }
}
