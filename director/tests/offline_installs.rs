//! Offline installs a vehicle's primary reports in its next signed manifest, on SQLite and
//! on PostgreSQL: recorded once (a journal sent again adds nothing), shown with the
//! vehicle and in its events and the audit log; the ECU's open assignment is withdrawn and
//! its directed image leaves the targets; an install naming an ECU outside the inventory,
//! or malformed, refuses the whole manifest and records nothing.

mod common;

use chrono::Utc;
use common::{Director, Vehicle};
use metadata_schemas::json::{Object, Value};
use metadata_schemas::uptane::{EcuSerial, OFFLINE_INSTALLS_FIELD, OfflineInstall};
use metadata_schemas::{Encode, UtcTime};

/// A manifest of fresh reports whose `custom` carries `installs`.
fn reporting(vehicle: &mut Vehicle, installs: Value<'static>) -> Vec<u8> {
    let serials: Vec<String> = vehicle.ecus.iter().map(|(s, _, _)| s.clone()).collect();
    let reports = serials
        .iter()
        .map(|s| {
            (
                EcuSerial::new(s.as_str()).unwrap(),
                vehicle.report(s, Utc::now(), metadata_schemas::uptane::AttackCode::NONE),
            )
        })
        .collect();
    let manifest = metadata_schemas::uptane::VehicleVersionManifest {
        vin: metadata_schemas::uptane::Vin::new(vehicle.vin.as_str()).unwrap(),
        primary_ecu_serial: EcuSerial::new(vehicle.primary()).unwrap(),
        ecu_version_reports: reports,
        unknown: {
            let mut custom = Object::new();
            custom.insert(OFFLINE_INSTALLS_FIELD, installs);
            let mut unknown = metadata_schemas::UnknownFields::default();
            unknown.0.insert("custom", Value::Object(custom));
            unknown
        },
    };
    let mut signed = metadata_schemas::Signed::unsigned(manifest);
    signed.signatures.push(threshold_keys::Signer::sign(&vehicle.ecus[0].2, &signed.canonical_signed()).unwrap());
    signed.to_canonical_json()
}

fn install(ecu: &str, image: &str, failure: Option<&str>) -> Value<'static> {
    OfflineInstall {
        ecu: EcuSerial::new(ecu).unwrap(),
        image: image.into(),
        bundle: "usb-2026-12".into(),
        bundle_version: 7,
        at: UtcTime::new(Utc::now()),
        failure: failure.map(str::to_string),
        unknown: Default::default(),
    }
    .encode()
    .into_owned()
}

async fn offline_installs(database_url: Option<String>) {
    let d = Director::start(database_url, None).await;
    let mut vehicle = Vehicle::new("OFFLINE001");
    let token = d.register(&vehicle).await;
    assert_eq!(d.check_in(&mut vehicle, &token).await.0, 200);
    let body = serde_json::json!({"vehicles": [vehicle.vin], "images": {"brake-hw": "brake/fw-2.bin"}});
    assert_eq!(d.admin_post("/assignments", body).await.0, 201);
    let before = d.director_targets(&vehicle.vin, &token).await;
    assert_eq!(before.targets.len(), 1, "brake/fw-2.bin is directed");

    // An install for an ECU outside the inventory refuses the manifest, and records nothing.
    let bad = Value::Array(vec![install("door-9", "door/fw-1.bin", None)]);
    let manifest = reporting(&mut vehicle, bad);
    assert_eq!(d.put_manifest(&vehicle, &token, manifest).await.0, 400);
    let malformed = Value::Array(vec![Value::string("not an install")]);
    let manifest = reporting(&mut vehicle, malformed);
    assert_eq!(d.put_manifest(&vehicle, &token, manifest).await.0, 400);
    let (_, status) = d.admin_get(&format!("/vehicles/{}", vehicle.vin)).await;
    assert_eq!(status["offline_installs"].as_array().unwrap().len(), 0);

    let installs =
        Value::Array(vec![install("brake-1", "brake/fw-3.bin", None), install("wiper-1", "", Some("refused"))]);
    let manifest = reporting(&mut vehicle, installs.clone());
    assert_eq!(d.put_manifest(&vehicle, &token, manifest).await.0, 200);
    // The same journal again (the primary lost the answer): nothing twice.
    let again = reporting(&mut vehicle, installs);
    assert_eq!(d.put_manifest(&vehicle, &token, again).await.0, 200);
    let (_, status) = d.admin_get(&format!("/vehicles/{}", vehicle.vin)).await;
    let recorded = status["offline_installs"].as_array().unwrap();
    assert_eq!(recorded.len(), 2, "{recorded:#?}");
    assert!(recorded.iter().any(|i| i["ecu"] == "brake-1" && i["failure"].is_null() && i["bundle_version"] == 7));
    assert!(recorded.iter().any(|i| i["ecu"] == "wiper-1" && i["failure"] == "refused"));
    let assignment = status["assignments"].as_array().unwrap().iter().find(|a| a["ecu"] == "brake-1").cloned();
    assert_eq!(assignment.map(|a| a["state"].clone()), Some(serde_json::json!("cancelled")), "{status:#}");
    let after = d.director_targets(&vehicle.vin, &token).await;
    assert!(after.targets.is_empty(), "the replaced image is no longer directed: {:?}", after.targets.keys());
    let (_, events) = d.admin_get(&format!("/vehicles/{}/events", vehicle.vin)).await;
    let kinds: Vec<&str> = events["events"].as_array().unwrap().iter().filter_map(|e| e["kind"].as_str()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "installed-offline").count(), 1, "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| **k == "offline-install-failed").count(), 1, "{kinds:?}");
    let (_, audit) = d.admin_get("/audit?limit=1000").await;
    let actions: Vec<&str> = audit["entries"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    assert!(actions.contains(&"installed-offline"), "{actions:?}");
}

#[tokio::test]
async fn offline_installs_are_recorded_once_shown_and_end_the_directed_image_on_sqlite() {
    offline_installs(None).await;
}

#[tokio::test]
async fn offline_installs_are_recorded_once_shown_and_end_the_directed_image_on_postgresql() {
    let server = common::postgres::Postgres::start();
    offline_installs(Some(server.database("offline_installs"))).await;
}
