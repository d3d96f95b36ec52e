//! The director's API end to end over HTTP on 127.0.0.1 with a real SQLite file (and
//! the main flow again on a real PostgreSQL server): registration, per-vehicle director
//! repositories a TUF client verifies, manifests and their refusals, assignments with
//! partial-bundle safety, authentication, bad input, audit and metrics.

mod common;

use chrono::Utc;
use common::{Director, Vehicle};
use metadata_schemas::uptane::{AttackCode, EcuSerial};

async fn registered(director: &Director, vin: &str) -> (Vehicle, String) {
    let vehicle = Vehicle::new(vin);
    let token = director.register(&vehicle).await;
    (vehicle, token)
}

/// The main flow on any database.
async fn main_flow(director: Director) {
    let (mut vehicle, token) = registered(&director, "VIN0001").await;
    let targets = director.director_targets("VIN0001", &token).await;
    assert!(targets.targets.is_empty());
    assert_eq!(
        targets.unknown.0.get("custom").and_then(|c| c.as_object()).and_then(|c| c.get("vin")).and_then(|v| v.as_str()),
        Some("VIN0001"),
        "the vin is listed even with no targets"
    );

    let (status, body) = director.check_in(&mut vehicle, &token).await;
    assert_eq!(status, 200, "{body}");

    let (status, body) = director
        .admin_post(
            "/assignments",
            serde_json::json!({"vehicles": ["VIN0001"], "images": {"brake-hw": "brake/fw-2.bin"}}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let targets = director.director_targets("VIN0001", &token).await;
    let (path, file) = targets.targets.iter().next().expect("the assigned image");
    assert_eq!(path.as_str(), "brake/fw-2.bin");
    let custom = file.custom.as_ref().unwrap().as_object().unwrap();
    assert_eq!(custom.get("ecu_identifier").and_then(|v| v.as_str()), Some("brake-1"));
    assert_eq!(custom.get("release_counter").and_then(|v| v.as_u64()), Some(2));

    // A second assignment waits for the first bundle (partial-bundle safety).
    let (status, _) = director
        .admin_post(
            "/assignments",
            serde_json::json!({"vehicles": ["VIN0001"], "images": {"wiper-hw": "wiper/fw-2.bin"}}),
        )
        .await;
    assert_eq!(status, 201);
    let targets = director.director_targets("VIN0001", &token).await;
    assert_eq!(targets.targets.len(), 1, "the wiper image is queued, not issued");

    // The brake ECU reports the new image: the bundle completes and the queued one issues.
    vehicle.installed.insert("brake-1".into(), ("brake/fw-2.bin".into(), b"brake firmware 2".to_vec()));
    let (status, body) = director.check_in(&mut vehicle, &token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["resolved"][0]["state"], "installed");
    assert_eq!(body["new_metadata"], true);
    let targets = director.director_targets("VIN0001", &token).await;
    assert_eq!(targets.targets.keys().map(|p| p.as_str().to_string()).collect::<Vec<_>>(), ["wiper/fw-2.bin"]);

    let (status, status_body) = director.admin_get("/vehicles/VIN0001").await;
    assert_eq!(status, 200);
    let mut states: Vec<(&str, &str)> = status_body["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["target"].as_str().unwrap(), a["state"].as_str().unwrap()))
        .collect();
    states.sort();
    assert_eq!(states, [("brake/fw-2.bin", "installed"), ("wiper/fw-2.bin", "issued")], "{status_body}");
}

#[tokio::test]
async fn sqlite_register_assign_report_and_partial_bundle_safety() {
    main_flow(Director::start(None, None).await).await;
}

#[tokio::test]
async fn postgres_register_assign_report_and_partial_bundle_safety() {
    let server = common::postgres::Postgres::start();
    main_flow(Director::start(Some(server.database("director")), None).await).await;
}

#[tokio::test]
async fn uptane_manifest_replay_is_refused_and_changes_nothing() {
    let director = Director::start(None, None).await;
    let (mut vehicle, token) = registered(&director, "VIN0002").await;
    let manifest = vehicle.manifest();
    assert_eq!(director.put_manifest(&vehicle, &token, manifest.clone()).await.0, 200);
    let before = director.admin_get("/vehicles/VIN0002").await.1;
    let (status, body) = director.put_manifest(&vehicle, &token, manifest).await;
    assert_eq!((status, body["reason"].as_str()), (400, Some("replay")), "{body}");
    let after = director.admin_get("/vehicles/VIN0002").await.1;
    assert_eq!(before["ecus"], after["ecus"], "a refused manifest changes nothing");
    let events = director.admin_get("/vehicles/VIN0002/events").await.1;
    assert!(
        events["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "manifest-refused" && e["detail"]["reason"] == "replay")
    );
}

#[tokio::test]
async fn uptane_manifest_must_be_signed_by_the_primary_and_each_report_by_its_ecu() {
    let director = Director::start(None, None).await;
    let (mut vehicle, token) = registered(&director, "VIN0003").await;
    // The manifest signed by the brake ECU's key instead of the primary's.
    let mut manifest: serde_json::Value = serde_json::from_slice(&vehicle.manifest()).unwrap();
    let other = Vehicle::new("VIN0003");
    let mut forged = other.sign_manifest(Default::default());
    let forged_json: serde_json::Value = serde_json::from_slice(&forged).unwrap();
    manifest["signatures"] = forged_json["signatures"].clone();
    let (status, body) = director.put_manifest(&vehicle, &token, serde_json::to_vec(&manifest).unwrap()).await;
    assert_eq!((status, body["reason"].as_str()), (400, Some("bad-signature")), "{body}");
    // A report signed by another key.
    let serials: Vec<String> = vehicle.ecus.iter().map(|e| e.0.clone()).collect();
    let mut reports: std::collections::BTreeMap<EcuSerial, _> = serials
        .iter()
        .map(|s| (EcuSerial::new(s.as_str()).unwrap(), vehicle.report(s, Utc::now(), AttackCode::NONE)))
        .collect();
    let mut stranger = Vehicle::new("VIN0003");
    stranger.counters = vehicle.counters.clone();
    reports.insert(EcuSerial::new("brake-1").unwrap(), stranger.report("brake-1", Utc::now(), AttackCode::NONE));
    forged = vehicle.sign_manifest(reports);
    let (status, body) = director.put_manifest(&vehicle, &token, forged).await;
    assert_eq!((status, body["reason"].as_str()), (400, Some("bad-signature")), "{body}");
}

#[tokio::test]
async fn uptane_manifest_may_lack_an_unreachable_ecu_but_not_the_primary_nor_add_an_unknown_one() {
    let director = Director::start(None, None).await;
    let (mut vehicle, token) = registered(&director, "VIN0004").await;
    let mut reports: std::collections::BTreeMap<EcuSerial, _> = Default::default();
    for serial in ["gateway-1", "brake-1"] {
        reports.insert(EcuSerial::new(serial).unwrap(), vehicle.report(serial, Utc::now(), AttackCode::NONE));
    }
    // wiper-1 did not answer the primary: the rest of the vehicle is heard.
    let manifest = vehicle.sign_manifest(reports.clone());
    let (status, body) = director.put_manifest(&vehicle, &token, manifest).await;
    assert_eq!(status, 200, "{body}");
    let events = director.admin_get("/vehicles/VIN0004/events").await.1;
    let missing = events["events"].as_array().unwrap().iter().find(|e| e["kind"] == "ecus-missing");
    assert_eq!(missing.map(|e| e["detail"]["ecus"].clone()), Some(serde_json::json!(["wiper-1"])), "{events}");
    let status = director.admin_get("/vehicles/VIN0004").await.1;
    let wiper = status["ecus"].as_array().unwrap().iter().find(|e| e["serial"] == "wiper-1").unwrap().clone();
    assert_eq!(wiper["report_counter"], -1, "its record stays as it was: {wiper}");
    // Without the primary's own report the manifest is refused.
    let mut without_primary = reports.clone();
    without_primary.remove(&EcuSerial::new("gateway-1").unwrap());
    without_primary.insert(EcuSerial::new("brake-1").unwrap(), vehicle.report("brake-1", Utc::now(), AttackCode::NONE));
    let (status, body) = director.put_manifest(&vehicle, &token, vehicle.sign_manifest(without_primary)).await;
    assert_eq!((status, body["reason"].as_str()), (400, Some("missing-ecu")), "{body}");
    // A report from an ECU the inventory does not have is refused.
    let mut intruder = Vehicle::new("VIN0004");
    intruder.ecus[1].0 = "stowaway-1".into();
    intruder.installed.insert("stowaway-1".into(), ("x".into(), b"x".to_vec()));
    for serial in ["gateway-1", "brake-1", "wiper-1"] {
        reports.insert(EcuSerial::new(serial).unwrap(), vehicle.report(serial, Utc::now(), AttackCode::NONE));
    }
    reports.insert(EcuSerial::new("stowaway-1").unwrap(), intruder.report("stowaway-1", Utc::now(), AttackCode::NONE));
    let manifest = vehicle.sign_manifest(reports);
    let (status, body) = director.put_manifest(&vehicle, &token, manifest).await;
    assert_eq!((status, body["reason"].as_str()), (400, Some("unknown-ecu")), "{body}");
}

#[tokio::test]
async fn uptane_reported_time_must_not_go_back() {
    let director = Director::start(None, None).await;
    let (mut vehicle, token) = registered(&director, "VIN0005").await;
    assert_eq!(director.check_in(&mut vehicle, &token).await.0, 200);
    let serials: Vec<String> = vehicle.ecus.iter().map(|e| e.0.clone()).collect();
    let earlier = Utc::now() - chrono::Duration::days(1);
    let reports = serials
        .iter()
        .map(|s| (EcuSerial::new(s.as_str()).unwrap(), vehicle.report(s, earlier, AttackCode::NONE)))
        .collect();
    let manifest = vehicle.sign_manifest(reports);
    let (status, body) = director.put_manifest(&vehicle, &token, manifest).await;
    assert_eq!((status, body["reason"].as_str()), (400, Some("time-rollback")), "{body}");
}

#[tokio::test]
async fn uptane_reported_attacks_are_recorded_and_fail_the_assignment() {
    let director = Director::start(None, None).await;
    let (mut vehicle, token) = registered(&director, "VIN0006").await;
    assert_eq!(director.check_in(&mut vehicle, &token).await.0, 200);
    director
        .admin_post(
            "/assignments",
            serde_json::json!({"vehicles": ["VIN0006"], "images": {"brake-hw": "brake/fw-2.bin"}}),
        )
        .await;
    let serials: Vec<String> = vehicle.ecus.iter().map(|e| e.0.clone()).collect();
    let reports = serials
        .iter()
        .map(|s| {
            let attack = if s == "brake-1" { AttackCode::TAMPERED_IMAGE } else { AttackCode::NONE };
            (EcuSerial::new(s.as_str()).unwrap(), vehicle.report(s, Utc::now(), attack))
        })
        .collect();
    let manifest = vehicle.sign_manifest(reports);
    let (status, body) = director.put_manifest(&vehicle, &token, manifest).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["resolved"][0]["state"], "failed");
    let targets = director.director_targets("VIN0006", &token).await;
    assert!(targets.targets.is_empty(), "a failed image leaves the director targets");
    let status = director.admin_get("/vehicles/VIN0006").await.1;
    assert_eq!(status["ecus"].as_array().unwrap().iter().find(|e| e["serial"] == "brake-1").unwrap()["attack"], 5);
}

#[tokio::test]
async fn an_installed_image_other_than_directed_fails_the_assignment() {
    let director = Director::start(None, None).await;
    let (mut vehicle, token) = registered(&director, "VIN0007").await;
    assert_eq!(director.check_in(&mut vehicle, &token).await.0, 200);
    director
        .admin_post(
            "/assignments",
            serde_json::json!({"vehicles": ["VIN0007"], "images": {"brake-hw": "brake/fw-2.bin"}}),
        )
        .await;
    vehicle.installed.insert("brake-1".into(), ("brake/fw-3.bin".into(), b"brake firmware 3".to_vec()));
    let (status, body) = director.check_in(&mut vehicle, &token).await;
    assert_eq!((status, body["resolved"][0]["state"].as_str()), (200, Some("failed")), "{body}");
}

#[tokio::test]
async fn assignments_name_verified_targets_for_the_ecus_hardware() {
    let director = Director::start(None, None).await;
    registered(&director, "VIN0008").await;
    let (status, body) = director
        .admin_post(
            "/assignments",
            serde_json::json!({"vehicles": ["VIN0008"], "images": {"brake-hw": "brake/missing.bin"}}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("not in the image repository"), "{body}");
    let (status, body) = director
        .admin_post(
            "/assignments",
            serde_json::json!({"vehicles": ["VIN0008"], "images": {"brake-hw": "wiper/fw-2.bin"}}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("not built for hardware brake-hw"), "{body}");
    let (status, _) = director
        .admin_post("/assignments", serde_json::json!({"vehicles": ["NOPE"], "images": {"brake-hw": "brake/fw-2.bin"}}))
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn devices_and_administrators_must_authenticate() {
    let director = Director::start(None, None).await;
    let (vehicle, token) = registered(&director, "VIN0009").await;
    let (_, other_token) = registered(&director, "VIN0010").await;
    assert_eq!(director.director_file("VIN0009", "", "timestamp.json").await.0, 401);
    assert_eq!(director.director_file("VIN0009", "VIN0009:wrong", "timestamp.json").await.0, 401);
    assert_eq!(director.director_file("VIN0009", &other_token, "timestamp.json").await.0, 403);
    assert_eq!(director.director_file("VIN0009", &token, "timestamp.json").await.0, 200);
    let r = director.http.get(format!("{}/api/v1/admin/audit", director.url)).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let r = director
        .http
        .get(format!("{}/api/v1/admin/audit", director.url))
        .bearer_auth(&director.viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "a viewer reads");
    let r = director
        .http
        .post(format!("{}/api/v1/admin/vehicles", director.url))
        .bearer_auth(&director.viewer)
        .json(&Vehicle::new("VIN0099").registration())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403, "a viewer may not register vehicles");
    let (status, _) = director.admin_post("/vehicles", vehicle.registration()).await;
    assert_eq!(status, 409, "the vin is taken");
}

#[tokio::test]
async fn bad_input_gets_4xx_with_a_reason() {
    let director = Director::start(None, None).await;
    let (vehicle, token) = registered(&director, "VIN0011").await;
    for body in [b"{".to_vec(), b"[]".to_vec(), b"{\"signed\": 5, \"signatures\": []}".to_vec(), vec![0xFF; 64]] {
        let (status, reply) = director.put_manifest(&vehicle, &token, body).await;
        assert_eq!(status, 400, "{reply}");
        assert!(reply["error"].is_string());
    }
    let (status, _) = director.put_manifest(&vehicle, &token, vec![b' '; 2 << 20]).await;
    assert_eq!(status, 413, "bodies over the limit");
    let (status, reply) = director.admin_post("/vehicles", serde_json::json!({"vin": 5})).await;
    assert_eq!(status, 400, "{reply}");
    let (status, reply) = director
        .admin_post("/vehicles", serde_json::json!({"vin": "../x", "primary_ecu_serial": "a", "ecus": []}))
        .await;
    assert_eq!(status, 400, "{reply}");
    let (status, reply) = director.admin_post("/assignments", serde_json::json!({"vehicles": "VIN0011"})).await;
    assert_eq!(status, 400, "{reply}");
}

#[tokio::test]
async fn the_audit_log_is_a_hash_chain_and_metrics_count() {
    let director = Director::start(None, None).await;
    let (mut vehicle, token) = registered(&director, "VIN0012").await;
    director.check_in(&mut vehicle, &token).await;
    let replay = {
        let m = vehicle.manifest();
        director.put_manifest(&vehicle, &token, m.clone()).await;
        m
    };
    director.put_manifest(&vehicle, &token, replay).await;
    let audit = director.admin_get("/audit").await.1;
    let entries = audit["entries"].as_array().unwrap();
    assert!(entries.len() >= 4, "{audit}");
    let mut prev = "0".repeat(64);
    for e in entries {
        assert_eq!(e["prev_hash"], prev.as_str());
        let hash = director::store::AuditEntry::compute_hash(
            &prev,
            e["seq"].as_i64().unwrap(),
            e["time"].as_i64().unwrap(),
            e["actor"].as_str().unwrap(),
            e["action"].as_str().unwrap(),
            e["detail"].as_str().unwrap(),
        );
        assert_eq!(e["hash"], hash.as_str(), "entry {} verifies", e["seq"]);
        prev = hash;
    }
    let r = director
        .http
        .get(format!("{}/api/v1/admin/metrics", director.url))
        .bearer_auth(&director.admin)
        .send()
        .await
        .unwrap();
    let text = r.text().await.unwrap();
    assert!(text.contains("director_manifests_total{outcome=\"accepted\",reason=\"\"} 2"), "{text}");
    assert!(text.contains("director_manifests_total{outcome=\"refused\",reason=\"replay\"} 1"), "{text}");
    assert!(
        text.contains("director_requests_total{route=\"/api/v1/vehicles/{vin}/manifest\",status=\"200\"} 2"),
        "{text}"
    );
    let openapi = director
        .http
        .get(format!("{}/openapi.json", director.url))
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert!(openapi["paths"]["/api/v1/vehicles/{vin}/manifest"]["put"].is_object());
    assert!(openapi["paths"]["/api/v1/vehicles/{vin}/director/targets/{name}"]["get"].is_object());
    assert!(openapi["paths"]["/api/v1/admin/encryption/{hardware_id}"]["put"].is_object());
    assert!(openapi["paths"]["/api/v1/admin/vehicles/{vin}/ecus/{serial}/decryption-key"]["put"].is_object());
}

#[tokio::test]
async fn a_timestamp_near_expiry_is_re_signed_when_served() {
    let lifetimes = director::config::Lifetimes { timestamp: 3600, timestamp_margin: 7200, ..Default::default() };
    let director = Director::start(None, Some(lifetimes)).await;
    let (_, token) = registered(&director, "VIN0013").await;
    let version = |bytes: Vec<u8>| {
        serde_json::from_slice::<serde_json::Value>(&bytes).unwrap()["signed"]["version"].as_u64().unwrap()
    };
    let first = version(director.director_file("VIN0013", &token, "timestamp.json").await.1);
    let second = version(director.director_file("VIN0013", &token, "timestamp.json").await.1);
    assert!(second > first, "a timestamp within the margin is re-signed ({first} then {second})");
}

/// An assignment naming an unknown vehicle is refused whole: no vehicle it names gets
/// anything (the request is done whole or not at all).
async fn partial_assignment(director: Director) {
    let (_, token) = registered(&director, "FLEET004").await;
    let (status, body) = director
        .admin_post(
            "/assignments",
            serde_json::json!({"vehicles": ["FLEET004", "NOPE"], "images": {"brake-hw": "brake/fw-2.bin"}}),
        )
        .await;
    assert_eq!(status, 404, "{body}");
    assert!(body.to_string().contains("NOPE"), "{body}");
    assert!(director.director_targets("FLEET004", &token).await.targets.is_empty(), "FLEET004 was issued an update");
    let (_, vehicle) = director.admin_get("/vehicles/FLEET004").await;
    assert_eq!(vehicle["assignments"].as_array().unwrap().len(), 0, "{vehicle}");
    let (_, audit) = director.admin_get("/audit").await;
    assert!(!audit.to_string().contains("\"assign\""), "a refused request left an audit entry: {audit}");
}

#[tokio::test]
async fn sqlite_an_assignment_naming_an_unknown_vehicle_changes_no_vehicle() {
    partial_assignment(Director::start(None, None).await).await;
}

#[tokio::test]
async fn postgres_an_assignment_naming_an_unknown_vehicle_changes_no_vehicle() {
    let server = common::postgres::Postgres::start();
    partial_assignment(Director::start(Some(server.database("partial")), None).await).await;
}

/// The top-level `custom.lifecycle` of a vehicle's director targets.
fn lifecycle(targets: &metadata_schemas::Targets) -> Option<String> {
    let custom = targets.unknown.0.get("custom")?.as_object()?;
    Some(String::from_utf8(metadata_schemas::json::to_canonical(custom.get("lifecycle")?)).unwrap())
}

#[tokio::test]
async fn an_issued_images_support_period_is_copied_into_the_vehicles_director_targets() {
    let director = Director::start(None, None).await;
    let (mut vehicle, token) = registered(&director, "VIN0001").await;
    assert_eq!(director.check_in(&mut vehicle, &token).await.0, 200);
    let assign = |images: serde_json::Value| serde_json::json!({"vehicles": ["VIN0001"], "images": images});
    // The brake images declare no support period: nothing is copied.
    assert_eq!(
        director.admin_post("/assignments", assign(serde_json::json!({"brake-hw": "brake/fw-2.bin"}))).await.0,
        201
    );
    assert_eq!(lifecycle(&director.director_targets("VIN0001", &token).await), None);
    director.service.cancel("admin:test", "VIN0001").await.unwrap();
    // The wiper's does (the test repository's wiper images end their support in 90 days).
    assert_eq!(
        director.admin_post("/assignments", assign(serde_json::json!({"wiper-hw": "wiper/fw-2.bin"}))).await.0,
        201
    );
    let copied = lifecycle(&director.director_targets("VIN0001", &token).await).expect("the wiper's support period");
    assert!(copied.starts_with(r#"{"wiper-hw":{"end_of_security_support":""#), "{copied}");
    assert!(copied.ends_with(r#"","record":"lifecycle/wiper-hw.json"}}"#), "{copied}");
}
