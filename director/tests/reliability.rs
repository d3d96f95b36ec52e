//! The director under stress: SIGKILL in the middle of manifest ingestion loses no
//! acknowledged write and leaves no half-applied one; concurrent manifests for one
//! vehicle are applied one after another, in counter order.

mod common;

use std::process::Command;
use std::sync::Arc;

use common::Vehicle;
use common::process::{init, serve};
use tokio::sync::Mutex;

async fn register(http: &reqwest::Client, url: &str, admin: &str, vehicle: &Vehicle) -> String {
    let r = http
        .post(format!("{url}/api/v1/admin/vehicles"))
        .bearer_auth(admin)
        .json(&vehicle.registration())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    r.json::<serde_json::Value>().await.unwrap()["device_token"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_during_ingestion_loses_no_acknowledged_manifest_and_applies_none_by_half() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let admin = init(&data);
    let (mut child, url) = serve(&data);
    let http = common::http_client().build().unwrap();
    let mut fleet = Vec::new();
    for i in 0..8 {
        let vehicle = Vehicle::new(&format!("KILL{i:04}"));
        let token = register(&http, &url, &admin, &vehicle).await;
        fleet.push((vehicle, token));
    }
    // Per vehicle: the highest counter acknowledged with 200.
    let acknowledged = Arc::new(Mutex::new(vec![0u64; fleet.len()]));
    let mut tasks = Vec::new();
    for (i, (mut vehicle, token)) in fleet.into_iter().enumerate() {
        let (http, url, acknowledged) = (http.clone(), url.clone(), acknowledged.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let manifest = vehicle.manifest();
                let counter = vehicle.counters["gateway-1"];
                let sent = http
                    .put(format!("{url}/api/v1/vehicles/{}/manifest", vehicle.vin))
                    .bearer_auth(&token)
                    .body(manifest)
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status().as_u16() == 200 => acknowledged.lock().await[i] = counter,
                    Ok(r) => panic!("refused while running: {} {}", r.status(), r.text().await.unwrap_or_default()),
                    Err(_) => return (vehicle, token), // the director is gone
                }
            }
        }));
    }
    // Kill once enough has been acknowledged.
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        if acknowledged.lock().await.iter().sum::<u64>() >= 200 {
            break;
        }
    }
    child.kill(); // SIGKILL
    let mut fleet = Vec::new();
    for t in tasks {
        fleet.push(t.await.unwrap());
    }
    let acknowledged = acknowledged.lock().await.clone();

    let (mut child, url) = serve(&data);
    for (i, (vehicle, _)) in fleet.iter().enumerate() {
        let status: serde_json::Value = http
            .get(format!("{url}/api/v1/admin/vehicles/{}", vehicle.vin))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let stored: Vec<u64> =
            status["ecus"].as_array().unwrap().iter().map(|e| e["report_counter"].as_u64().unwrap()).collect();
        let sent = vehicle.counters["gateway-1"];
        assert!(stored.iter().all(|&c| c == stored[0]), "{}: ECUs updated by half: {stored:?}", vehicle.vin);
        assert!(
            stored[0] >= acknowledged[i],
            "{}: acknowledged counter {} lost (stored {})",
            vehicle.vin,
            acknowledged[i],
            stored[0]
        );
        assert!(stored[0] <= sent, "{}: stored {} was never sent", vehicle.vin, stored[0]);
        let manifest = &status["last_manifest"]["signed"]["ecu_version_reports"]["brake-1"]["signed"]["report_counter"];
        assert_eq!(manifest.as_u64(), Some(stored[0]), "{}: the stored manifest and the inventory agree", vehicle.vin);
    }
    // The audit chain is whole after the kill.
    let audit: serde_json::Value = http
        .get(format!("{url}/api/v1/admin/audit?limit=1000"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut prev = "0".repeat(64);
    for e in audit["entries"].as_array().unwrap() {
        assert_eq!(e["prev_hash"], prev.as_str());
        prev = e["hash"].as_str().unwrap().to_string();
    }
    // And check-ins go on where they stopped.
    let (mut vehicle, token) = fleet.pop().unwrap();
    let manifest = vehicle.manifest();
    let r = http
        .put(format!("{url}/api/v1/vehicles/{}/manifest", vehicle.vin))
        .bearer_auth(&token)
        .body(manifest)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    child.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_manifests_for_one_vehicle_apply_one_at_a_time_in_order() {
    let director = common::Director::start(None, None).await;
    let mut vehicle = Vehicle::new("ORDER0001");
    let token = director.register(&vehicle).await;
    let manifests: Vec<(u64, Vec<u8>)> = (0..24)
        .map(|_| {
            let m = vehicle.manifest();
            (vehicle.counters["gateway-1"], m)
        })
        .collect();
    let director = Arc::new(director);
    let accepted = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for (counter, manifest) in manifests.into_iter().rev() {
        let (director, token, accepted, vehicle_vin) =
            (director.clone(), token.clone(), accepted.clone(), vehicle.vin.clone());
        tasks.push(tokio::spawn(async move {
            let r = director
                .http
                .put(format!("{}/api/v1/vehicles/{vehicle_vin}/manifest", director.url))
                .bearer_auth(&token)
                .body(manifest)
                .send()
                .await
                .unwrap();
            match r.status().as_u16() {
                200 => accepted.lock().await.push(counter),
                400 => assert_eq!(r.json::<serde_json::Value>().await.unwrap()["reason"], "replay"),
                other => panic!("status {other}"),
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let accepted = accepted.lock().await.clone();
    assert!(!accepted.is_empty());
    let status = director.admin_get("/vehicles/ORDER0001").await.1;
    let stored = status["ecus"][0]["report_counter"].as_u64().unwrap();
    assert_eq!(stored, *accepted.iter().max().unwrap(), "the last applied manifest is the newest accepted");
    // Events record acceptances in application order: counters strictly grow.
    let events = director.admin_get("/vehicles/ORDER0001/events?limit=1000").await.1;
    let refused = events["events"].as_array().unwrap().iter().filter(|e| e["kind"] == "manifest-refused").count();
    assert_eq!(refused + accepted.len(), 24, "every manifest was either applied whole or refused");
}

#[tokio::test]
async fn an_admin_token_added_while_the_director_serves_is_accepted_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let admin = init(&data);
    let (_serving, url) = serve(&data);
    let http = common::http_client().build().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_director"))
        .args(["admin-token", data.to_str().unwrap(), "--name", "dashboard", "--role", "viewer"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();

    // Accepted by the running server without a restart, with the role it was given.
    let audit = http.get(format!("{url}/api/v1/admin/audit")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(audit.status().as_u16(), 200);
    let audit: serde_json::Value = audit.json().await.unwrap();
    let made = audit["entries"].as_array().unwrap().iter().find(|e| e["action"] == "add-admin-token");
    let made = made.unwrap_or_else(|| panic!("no add-admin-token entry in {audit}"));
    assert!(made["detail"].as_str().unwrap().contains("dashboard"), "{made}");
    let vehicle = Vehicle::new("VIEWER01");
    let refused = http
        .post(format!("{url}/api/v1/admin/vehicles"))
        .bearer_auth(&token)
        .json(&vehicle.registration())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 403, "a viewer may not register vehicles");
    register(&http, &url, &admin, &vehicle).await;

    let bad_role = Command::new(env!("CARGO_BIN_EXE_director"))
        .args(["admin-token", data.to_str().unwrap(), "--name", "x", "--role", "root"])
        .output()
        .unwrap();
    assert!(!bad_role.status.success());
    assert!(String::from_utf8_lossy(&bad_role.stderr).contains("viewer, operator or admin"));
}

#[test]
fn a_failed_init_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let init = |data: &std::path::Path| {
        Command::new(env!("CARGO_BIN_EXE_director"))
            .args(["init", data.to_str().unwrap(), "--database-url", "sqlite:///proc/no-such-dir/director.db?mode=rwc"])
            .output()
            .unwrap()
    };
    // A new directory: gone again after the database could not be opened.
    let fresh = dir.path().join("fresh");
    let out = init(&fresh);
    assert!(!out.status.success());
    assert!(!fresh.exists(), "keys or configuration were left in {}", fresh.display());
    // A directory with the operator's files in it: those stay, nothing else does.
    let existing = dir.path().join("existing");
    std::fs::create_dir(&existing).unwrap();
    std::fs::write(existing.join("server.pem"), b"the operator's certificate").unwrap();
    assert!(!init(&existing).status.success());
    let left: Vec<_> = std::fs::read_dir(&existing).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, ["server.pem"]);
    // And init then works there.
    let ok = Command::new(env!("CARGO_BIN_EXE_director")).args(["init", existing.to_str().unwrap()]).output().unwrap();
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
}
