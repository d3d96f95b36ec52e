//! The evidence pack's documents, as pure functions over what the drivers read: the
//! deployment record of a release (the CRA's "patch deployed" figure, from the ECUs'
//! signed reports) and the index that hashes every file of the pack.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::store::Deployed;

/// One file of the pack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackFile {
    /// Its path inside the pack (`/`-separated).
    pub name: String,
    /// SHA-256 (hex) of its bytes.
    pub sha256: String,
    /// Its length.
    pub length: u64,
}

impl PackFile {
    /// The entry of `bytes` under `name`.
    pub fn of(name: &str, bytes: &[u8]) -> PackFile {
        let sha256 = metadata_schemas::hex::encode(&threshold_keys::digest::sha256(bytes));
        PackFile { name: name.to_string(), sha256, length: bytes.len() as u64 }
    }
}

/// The pack's index: every file with its hash and length.
pub fn index(files: &[PackFile]) -> Value {
    let files: Vec<Value> =
        files.iter().map(|f| json!({"file": f.name, "sha256": f.sha256, "length": f.length})).collect();
    json!({"files": files})
}

/// A release's deployment record: which vehicles and ECUs run it by their last signed
/// report, how many of them confirmed it, and when.
pub fn deployment_record(release: &str, deployed: &[Deployed]) -> Value {
    let vehicles: BTreeSet<&str> = deployed.iter().map(|d| d.vin.as_str()).collect();
    let confirmed = deployed.iter().filter(|d| d.boot_state.as_deref() == Some("confirmed")).count();
    let on_trial = deployed.iter().filter(|d| d.boot_state.as_deref() == Some("trial")).count();
    let ecus: Vec<Value> = deployed
        .iter()
        .map(|d| {
            json!({"vin": d.vin, "ecu": d.serial, "hardware_id": d.hardware_id, "boot_state": d.boot_state,
                   "reported_time": d.reported_time, "reported": utc(Some(d.reported_time)),
                   "installed_at": d.installed_at, "installed": utc(d.installed_at)})
        })
        .collect();
    json!({
        "release": release,
        "vehicles": vehicles.len(),
        "ecus_running": deployed.len(),
        "ecus_confirmed": confirmed,
        "ecus_on_trial": on_trial,
        "ecus": ecus,
        "source": "each ECU's last signed version report, as the director accepted it (manifests/ holds them)",
    })
}

/// Unix seconds as an RFC 3339 UTC time, for a reader.
fn utc(seconds: Option<i64>) -> Option<String> {
    chrono::DateTime::from_timestamp(seconds?, 0).map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

/// A name inside the pack for a target path or vin (`/` would make folders).
pub fn file_name(path: &str) -> String {
    path.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployed(vin: &str, serial: &str, state: Option<&str>) -> Deployed {
        Deployed {
            vin: vin.into(),
            serial: serial.into(),
            hardware_id: "brake-hw".into(),
            boot_state: state.map(String::from),
            reported_time: 10,
            installed_at: Some(9),
        }
    }

    #[test]
    fn a_deployment_record_counts_vehicles_once_and_ecus_by_boot_state() {
        let rows = [
            deployed("V1", "brake-1", Some("confirmed")),
            deployed("V1", "brake-2", Some("trial")),
            deployed("V2", "brake-1", Some("confirmed")),
            deployed("V3", "brake-1", None),
        ];
        let record = deployment_record("brake/fw-2.bin", &rows);
        assert_eq!(record["vehicles"], 3);
        assert_eq!(record["ecus_running"], 4);
        assert_eq!((record["ecus_confirmed"].as_u64(), record["ecus_on_trial"].as_u64()), (Some(2), Some(1)));
        assert_eq!(deployment_record("x", &[])["vehicles"], 0);
        assert_eq!(record["ecus"][0]["installed"], "1970-01-01T00:00:09Z");
    }

    #[test]
    fn file_names_stay_inside_their_folder() {
        assert_eq!(file_name("brake/fw-2.bin"), "brake_fw-2.bin");
        assert_eq!(file_name("../../etc/passwd"), ".._.._etc_passwd");
        assert!(!file_name("a/b\\c").contains(['/', '\\']));
    }

    #[test]
    fn the_index_lists_each_file_with_its_hash() {
        let file = PackFile::of("a.json", b"{}");
        assert_eq!(file.sha256, "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
        assert_eq!(index(&[file])["files"][0]["length"], 2);
    }
}
