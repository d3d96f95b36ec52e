//! Decommissioning a vehicle through the director's API, on SQLite and on PostgreSQL:
//! the command goes out only once the image repository signs the same one, the vehicle's
//! last signed manifest acknowledges it, and from then on its credentials are refused
//! (410) and it takes no image; a request can be withdrawn until the command is out; an
//! unanswered command times out; every step is in the audit log.

mod common;

use chrono::{Duration, Utc};
use common::{Director, Vehicle};
use metadata_schemas::uptane::{
    AttackCode, DecommissionCommand, EcuSerial, EraseItem, Vin, acknowledgement, command_path,
};
use metadata_schemas::{Encode, RoleName, UtcTime};

/// The image repository signs a decommission command for `vin` with `nonce`.
fn sign_in_image_repository(d: &mut Director, vin: &str, nonce: &str) {
    let command = DecommissionCommand {
        vin: Vin::new(vin).unwrap(),
        nonce: nonce.into(),
        issued: UtcTime::new(Utc::now()),
        erase: EraseItem::ALL.to_vec(),
        unknown: Default::default(),
    };
    let bytes = metadata_schemas::json::to_canonical(&command.encode());
    let path = command_path(&command.vin);
    d.images.add_target(&RoleName::targets(), path.as_str(), &bytes, None);
    d.images.publish();
    d.write_images();
}

/// A manifest of fresh reports from every ECU whose `custom` acknowledges `nonce`.
fn acknowledging(vehicle: &mut Vehicle, nonce: &str) -> Vec<u8> {
    let serials: Vec<String> = vehicle.ecus.iter().map(|(s, _, _)| s.clone()).collect();
    let reports = serials
        .iter()
        .map(|s| (EcuSerial::new(s.as_str()).unwrap(), vehicle.report(s, Utc::now(), AttackCode::NONE)))
        .collect();
    let manifest = metadata_schemas::uptane::VehicleVersionManifest {
        vin: Vin::new(vehicle.vin.as_str()).unwrap(),
        primary_ecu_serial: EcuSerial::new(vehicle.primary()).unwrap(),
        ecu_version_reports: reports,
        unknown: {
            let mut unknown = metadata_schemas::UnknownFields::default();
            unknown.0.insert("custom", acknowledgement(nonce));
            unknown
        },
    };
    let mut signed = metadata_schemas::Signed::unsigned(manifest);
    signed.signatures.push(threshold_keys::Signer::sign(&vehicle.ecus[0].2, &signed.canonical_signed()).unwrap());
    signed.to_canonical_json()
}

fn command_in(targets: &metadata_schemas::Targets) -> Option<DecommissionCommand> {
    DecommissionCommand::from_targets(targets).unwrap()
}

async fn audit_actions(d: &Director) -> Vec<String> {
    let (_, audit) = d.admin_get("/audit?limit=1000").await;
    audit["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_string()).collect()
}

async fn end_to_end(database_url: Option<String>) {
    let mut d = Director::start(database_url, None).await;
    let mut vehicle = Vehicle::new("DECOM0001");
    let token = d.register(&vehicle).await;
    assert_eq!(d.check_in(&mut vehicle, &token).await.0, 200);
    let (status, _) = d
        .admin_post(
            "/assignments",
            serde_json::json!({"vehicles": [vehicle.vin], "images": {"brake-hw": "brake/fw-2.bin"}}),
        )
        .await;
    assert_eq!(status, 201);

    let path = format!("/vehicles/{}/decommission", vehicle.vin);
    let (status, body) = d.admin_post(&path, serde_json::json!({"reason": ""})).await;
    assert_eq!(status, 400, "a request without a reason: {body}");
    let (status, body) = d.admin_post(&path, serde_json::json!({"reason": "end of life", "erase": ["firmware"]})).await;
    assert_eq!(status, 400, "an unknown erase item: {body}");
    let (status, request) = d.admin_post(&path, serde_json::json!({"reason": "end of life, scrapped"})).await;
    assert_eq!(status, 201, "{request}");
    assert_eq!(request["state"], "decommission_requested");
    let nonce = request["nonce"].as_str().unwrap().to_string();
    assert!(request["image_repository"].as_str().unwrap().contains(&format!("--nonce {nonce}")), "{request}");
    let (status, _) = d.admin_post(&path, serde_json::json!({"reason": "twice"})).await;
    assert_eq!(status, 409, "a second request");
    let (status, body) = d
        .admin_post(
            "/assignments",
            serde_json::json!({"vehicles": [vehicle.vin], "images": {"wiper-hw": "wiper/fw-2.bin"}}),
        )
        .await;
    assert_eq!(status, 409, "a vehicle being decommissioned takes no new image: {body}");

    // The director alone does not issue it.
    let progress = d.service.follow_decommissions(Utc::now()).await.unwrap();
    assert_eq!(progress.issued, 0);
    assert_eq!(command_in(&d.director_targets(&vehicle.vin, &token).await), None);

    sign_in_image_repository(&mut d, &vehicle.vin, &nonce);
    let progress = d.service.follow_decommissions(Utc::now()).await.unwrap();
    assert_eq!(progress.issued, 1);
    let targets = d.director_targets(&vehicle.vin, &token).await;
    let command = command_in(&targets).expect("the command in the vehicle's targets");
    assert_eq!((command.vin.as_str(), command.nonce.as_str()), (vehicle.vin.as_str(), nonce.as_str()));
    assert_eq!(command.erase, EraseItem::ALL.to_vec());
    assert!(targets.targets.is_empty(), "no image left to install: {:?}", targets.targets.keys());
    let (_, status) = d.admin_get(&format!("/vehicles/{}", vehicle.vin)).await;
    assert!(status["assignments"].as_array().unwrap().iter().all(|a| a["state"] == "cancelled"), "{status}");

    // An acknowledgement of another nonce changes nothing.
    let wrong = acknowledging(&mut vehicle, "not-the-nonce");
    assert_eq!(d.put_manifest(&vehicle, &token, wrong).await.0, 200);
    assert_eq!(d.admin_get(&path).await.1["state"], "command_issued");

    let ack = acknowledging(&mut vehicle, &nonce);
    assert_eq!(d.put_manifest(&vehicle, &token, ack).await.0, 200);
    let (_, record) = d.admin_get(&path).await;
    assert_eq!(record["state"], "decommissioned", "{record}");
    assert!(record["acknowledged_by_manifest"].as_str().is_some_and(|h| h.len() == 64), "{record}");

    // Its credentials are refused from now on, and nothing it sends is taken.
    let (status, body) = d.director_file(&vehicle.vin, &token, "timestamp.json").await;
    assert_eq!(status, 410, "{}", String::from_utf8_lossy(&body));
    let (status, body) = d.check_in(&mut vehicle, &token).await;
    assert_eq!(status, 410, "{body}");
    assert!(body["error"].as_str().unwrap().contains("decommissioned"), "{body}");
    assert_eq!(d.director_file(&vehicle.vin, &format!("{}:wrong-token", vehicle.vin), "timestamp.json").await.0, 401);
    let actions = audit_actions(&d).await;
    for action in ["decommission-request", "decommission-issue", "decommission-acknowledged"] {
        assert!(actions.iter().any(|a| a == action), "{action} in {actions:?}");
    }
    let (_, events) = d.admin_get(&format!("/vehicles/{}/events", vehicle.vin)).await;
    let kinds: Vec<&str> = events["events"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"decommission-ack-refused"), "{kinds:?}");
}

#[tokio::test]
async fn a_vehicle_is_decommissioned_only_when_both_repositories_sign_and_its_manifest_acknowledges() {
    end_to_end(None).await;
}

#[tokio::test]
async fn a_vehicle_is_decommissioned_end_to_end_on_postgresql() {
    let server = common::postgres::Postgres::start();
    end_to_end(Some(server.url.clone())).await;
}

#[tokio::test]
async fn a_decommission_command_the_image_repository_signs_with_another_nonce_is_not_issued() {
    let mut d = Director::start(None, None).await;
    let vehicle = Vehicle::new("DECOM0002");
    let token = d.register(&vehicle).await;
    let path = format!("/vehicles/{}/decommission", vehicle.vin);
    assert_eq!(d.admin_post(&path, serde_json::json!({"reason": "stolen"})).await.0, 201);
    sign_in_image_repository(&mut d, &vehicle.vin, "an-old-nonce");
    assert_eq!(d.service.follow_decommissions(Utc::now()).await.unwrap().issued, 0);
    assert_eq!(d.admin_get(&path).await.1["state"], "decommission_requested");
    assert_eq!(command_in(&d.director_targets(&vehicle.vin, &token).await), None);
}

#[tokio::test]
async fn a_decommission_request_can_be_withdrawn_until_its_command_goes_out() {
    let mut d = Director::start(None, None).await;
    let vehicle = Vehicle::new("DECOM0003");
    d.register(&vehicle).await;
    let path = format!("/vehicles/{}/decommission", vehicle.vin);
    assert_eq!(d.admin_post(&path, serde_json::json!({"reason": "sold"})).await.0, 201);
    let (status, _) = d.admin_send(reqwest::Method::DELETE, &path, serde_json::Value::Null).await;
    assert_eq!(status, 200);
    assert_eq!(d.admin_get(&path).await.0, 404, "nothing asked any more");
    let (status, request) = d.admin_post(&path, serde_json::json!({"reason": "sold after all"})).await;
    assert_eq!(status, 201);
    sign_in_image_repository(&mut d, &vehicle.vin, request["nonce"].as_str().unwrap());
    assert_eq!(d.service.follow_decommissions(Utc::now()).await.unwrap().issued, 1);
    let (status, body) = d.admin_send(reqwest::Method::DELETE, &path, serde_json::Value::Null).await;
    assert_eq!(status, 409, "the device may be erasing already: {body}");
    assert_eq!(audit_actions(&d).await.iter().filter(|a| *a == "decommission-cancel").count(), 1);
}

#[tokio::test]
async fn an_unacknowledged_decommission_times_out_and_the_vehicle_is_refused() {
    let mut d = Director::start(None, None).await;
    let vehicle = Vehicle::new("DECOM0004");
    let token = d.register(&vehicle).await;
    let path = format!("/vehicles/{}/decommission", vehicle.vin);
    let (_, request) = d.admin_post(&path, serde_json::json!({"reason": "lost at sea"})).await;
    sign_in_image_repository(&mut d, &vehicle.vin, request["nonce"].as_str().unwrap());
    let now = Utc::now();
    assert_eq!(d.service.follow_decommissions(now).await.unwrap().issued, 1);
    let timeout = Duration::seconds(d.service.config.decommission_ack_timeout_secs as i64);
    assert_eq!(d.service.follow_decommissions(now + timeout - Duration::seconds(5)).await.unwrap().timed_out, 0);
    assert_eq!(d.director_file(&vehicle.vin, &token, "timestamp.json").await.0, 200, "still waiting");
    assert_eq!(d.service.follow_decommissions(now + timeout + Duration::seconds(1)).await.unwrap().timed_out, 1);
    assert_eq!(d.admin_get(&path).await.1["state"], "decommissioned_unacknowledged");
    assert_eq!(d.director_file(&vehicle.vin, &token, "timestamp.json").await.0, 410);
    assert!(audit_actions(&d).await.iter().any(|a| a == "decommission-timed-out"));
}
