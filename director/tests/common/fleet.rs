//! A fleet of simulated vehicles with scripted outcomes, registered with a director and
//! checking in as their ECUs would report: the rollout tests' and the dashboard's.

use std::collections::BTreeMap;

use metadata_schemas::TargetPath;
use metadata_schemas::uptane::{AttackCode, BootState, InstallResult, InstallStatus};
use serde_json::json;

use super::{Director, Vehicle};

/// A registered fleet: `n` vehicles, even ones in the EU, odd ones in the US, every
/// other pair rev B; each has checked in once (the director knows what they run).
pub struct Fleet {
    pub vehicles: BTreeMap<String, (Vehicle, String)>,
}

pub async fn fleet(director: &Director, n: usize) -> Fleet {
    let mut vehicles = BTreeMap::new();
    for i in 0..n {
        let mut vehicle = Vehicle::new(&format!("VIN{i:04}"));
        let mut registration = vehicle.registration();
        let (region, rev) = (if i % 2 == 0 { "EU" } else { "US" }, if (i / 2) % 2 == 0 { "A" } else { "B" });
        registration["attributes"] = json!({"region": region, "hw_rev": rev});
        let (status, body) = director.admin_post("/vehicles", registration).await;
        assert_eq!(status, 201, "{body}");
        let token = body["device_token"].as_str().unwrap().to_string();
        assert_eq!(director.check_in(&mut vehicle, &token).await.0, 200);
        vehicles.insert(vehicle.vin.clone(), (vehicle, token));
    }
    Fleet { vehicles }
}

/// What a vehicle's brake ECU does with the offered image.
#[derive(Clone, Copy)]
pub enum Outcome {
    /// Installs, boots and confirms.
    Confirms,
    /// Installs and boots on trial, not confirmed yet.
    Trial,
    /// Boots on trial, never confirms, goes back to the factory image.
    Reverts,
    /// Refuses the update: its metadata is a freeze attack.
    RefusesAttack,
}

impl Fleet {
    /// The vehicle checks in after doing `outcome` with the brake image.
    pub async fn report(&mut self, director: &Director, vin: &str, outcome: Outcome) {
        let manifest = self.manifest_after(vin, outcome);
        let (vehicle, token) = &self.vehicles[vin];
        let (code, body) = director.put_manifest(vehicle, token, manifest).await;
        assert_eq!(code, 200, "{vin}: {body}");
    }

    /// The manifest the vehicle sends after doing `outcome` with the brake image.
    pub fn manifest_after(&mut self, vin: &str, outcome: Outcome) -> Vec<u8> {
        let (vehicle, _) = self.vehicles.get_mut(vin).unwrap();
        let status = |boot_state, install_result, previous: &str| InstallStatus {
            boot_state,
            previous_image: Some(TargetPath::new(previous)),
            install_result: Some(install_result),
            unknown: Default::default(),
        };
        let (running, status) = match outcome {
            Outcome::Confirms => ("brake/fw-2.bin", status(BootState::Confirmed, InstallResult::Ok, "factory.bin")),
            Outcome::Trial => ("brake/fw-2.bin", status(BootState::Trial, InstallResult::Ok, "factory.bin")),
            Outcome::Reverts => {
                ("factory.bin", status(BootState::Confirmed, InstallResult::RevertedUnconfirmed, "brake/fw-2.bin"))
            }
            Outcome::RefusesAttack => {
                let freeze = AttackCode::from_name("freeze").unwrap();
                vehicle.attacks.insert("brake-1".into(), freeze);
                ("factory.bin", status(BootState::Confirmed, InstallResult::VerificationFailed(freeze), "factory.bin"))
            }
        };
        let bytes: &[u8] = if running == "factory.bin" { b"factory" } else { b"brake firmware 2" };
        vehicle.installed.insert("brake-1".into(), (running.to_string(), bytes.to_vec()));
        vehicle.statuses.insert("brake-1".into(), status);
        vehicle.manifest()
    }
}
