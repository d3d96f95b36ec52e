//! Simulates vehicles of three ECUs checking in with a director on 127.0.0.1: PUT a
//! manifest (four signatures: three ECU reports and the vehicle's), GET timestamp.json,
//! and GET snapshot and targets when the timestamp lists a new snapshot. Manifests are
//! signed before the clock starts, so the client's signing does not compete with the
//! director for the CPU. Prints sustained check-ins per second and p50/p99 latency.
//!
//! director-load URL ADMIN_TOKEN VEHICLES SECONDS [RATE] [CONCURRENCY] [BRAKE_IMAGE]
//! (RATE 0: as fast as the director answers; otherwise check-ins started per second;
//! BRAKE_IMAGE: a rollout of that image to every vehicle is started, and every vehicle
//! offered it, before the clock starts: each check-in then has a rollout to follow)

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use metadata_schemas::json::Value;
use metadata_schemas::uptane::{AttackCode, EcuSerial, EcuVersionReport, InstalledImage, VehicleVersionManifest, Vin};
use metadata_schemas::{Digest, Encode, Hashes, Signed, TargetPath, UnknownFields, UtcTime};
use threshold_keys::{KeyAlgorithm, KeyFileSigner, Signer};
use tokio::sync::Mutex;

struct Vehicle {
    vin: String,
    token: String,
    manifests: Vec<Vec<u8>>,
    snapshot: u64,
}

fn report(serial: &str, key: &KeyFileSigner, counter: u64) -> Value<'static> {
    let report = EcuVersionReport {
        ecu_serial: EcuSerial::new(serial).unwrap(),
        installed_image: InstalledImage {
            filepath: TargetPath::new("factory.bin"),
            length: 7,
            hashes: Hashes::new(vec![Digest::Sha256(threshold_keys::digest::sha256(b"factory"))]).unwrap(),
            unknown: UnknownFields::default(),
        },
        attacks_detected: AttackCode::NONE,
        latest_time: UtcTime::new(Utc::now()),
        report_counter: counter,
        nonce: None,
        decryption_key: None,
        status: None,
        unknown: UnknownFields::default(),
    };
    let mut signed = Signed::unsigned(report);
    signed.signatures.push(key.sign(&signed.canonical_signed()).unwrap());
    signed.encode().to_owned_value()
}

/// `count` manifests with growing counters, signed by the primary.
fn manifests(vin: &str, keys: &[(String, KeyFileSigner)], count: usize) -> Vec<Vec<u8>> {
    (1..=count as u64)
        .map(|counter| {
            let reports = keys.iter().map(|(s, k)| (EcuSerial::new(s.as_str()).unwrap(), report(s, k, counter))).collect();
            let manifest = VehicleVersionManifest {
                vin: Vin::new(vin).unwrap(),
                primary_ecu_serial: EcuSerial::new(keys[0].0.as_str()).unwrap(),
                ecu_version_reports: reports,
                unknown: UnknownFields::default(),
            };
            let mut signed = Signed::unsigned(manifest);
            signed.signatures.push(keys[0].1.sign(&signed.canonical_signed()).unwrap());
            signed.to_canonical_json()
        })
        .collect()
}

async fn register(http: &reqwest::Client, url: &str, admin: &str, vin: &str, keys: &[(String, KeyFileSigner)]) -> String {
    let ecus: Vec<serde_json::Value> = keys
        .iter()
        .zip(["gateway-hw", "brake-hw", "wiper-hw"])
        .map(|((serial, key), hw)| {
            let public = String::from_utf8(metadata_schemas::json::to_canonical(&key.public_key().encode())).unwrap();
            serde_json::json!({"serial": serial, "hardware_id": hw, "public_key": serde_json::from_str::<serde_json::Value>(&public).unwrap()})
        })
        .collect();
    let body = serde_json::json!({"vin": vin, "primary_ecu_serial": keys[0].0, "ecus": ecus});
    let r = http.post(format!("{url}/api/v1/admin/vehicles")).bearer_auth(admin).json(&body).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 201, "{}", r.text().await.unwrap_or_default());
    r.json::<serde_json::Value>().await.unwrap()["device_token"].as_str().unwrap().to_string()
}

/// One check-in; whether every answer was the expected one.
async fn check_in(http: &reqwest::Client, url: &str, vehicle: &mut Vehicle, manifest: Vec<u8>) -> bool {
    let base = format!("{url}/api/v1/vehicles/{}", vehicle.vin);
    let put = http.put(format!("{base}/manifest")).bearer_auth(&vehicle.token).body(manifest).send().await;
    if !put.is_ok_and(|r| r.status().is_success()) {
        return false;
    }
    let Ok(r) = http.get(format!("{base}/director/timestamp.json")).bearer_auth(&vehicle.token).send().await else { return false };
    let Ok(timestamp) = r.json::<serde_json::Value>().await else { return false };
    let snapshot = timestamp["signed"]["meta"]["snapshot.json"]["version"].as_u64().unwrap_or(0);
    if snapshot != vehicle.snapshot {
        vehicle.snapshot = snapshot;
        let Ok(r) = http.get(format!("{base}/director/{snapshot}.snapshot.json")).bearer_auth(&vehicle.token).send().await else { return false };
        let Ok(s) = r.json::<serde_json::Value>().await else { return false };
        let targets = s["signed"]["meta"]["targets.json"]["version"].as_u64().unwrap_or(0);
        let r = http.get(format!("{base}/director/{targets}.targets.json")).bearer_auth(&vehicle.token).send().await;
        if !r.is_ok_and(|r| r.status().is_success()) {
            return false;
        }
    }
    true
}

/// Starts a rollout of `image` to every brake ECU and waits (at most a minute) until
/// every vehicle has been offered it.
async fn start_rollout(http: &reqwest::Client, url: &str, admin: &str, image: &str, count: usize) {
    let body = serde_json::json!({"name": "load", "images": {"brake-hw": image}, "stages": [{"percent": 100}]});
    let r = http.post(format!("{url}/api/v1/admin/rollouts")).bearer_auth(admin).json(&body).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 201, "{}", r.text().await.unwrap_or_default());
    let id = r.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let start = serde_json::json!({"reason": "load"});
    let r = http.post(format!("{url}/api/v1/admin/rollouts/{id}/start")).bearer_auth(admin).json(&start).send().await.unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap_or_default());
    let give_up = Instant::now() + Duration::from_secs(60);
    loop {
        let r = http.get(format!("{url}/api/v1/admin/rollouts/{id}")).bearer_auth(admin).send().await.unwrap();
        let offered = r.json::<serde_json::Value>().await.unwrap()["counters"]["offered"].as_u64().unwrap_or(0);
        if offered as usize >= count {
            return;
        }
        assert!(Instant::now() < give_up, "only {offered} of {count} vehicles offered within a minute");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (url, admin) = (args[1].clone(), args[2].clone());
    let count: usize = args[3].parse().unwrap();
    let seconds: u64 = args[4].parse().unwrap();
    let rate: u64 = args.get(5).map_or(0, |r| r.parse().unwrap());
    let concurrency: usize = args.get(6).map_or(64, |c| c.parse().unwrap());
    let rollout_image = args.get(7).cloned();
    let http = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build().unwrap();

    // Check-ins each vehicle may need: enough for the run at up to 4,000 per second.
    let per_vehicle = ((seconds * if rate == 0 { 4000 } else { rate }) as usize).div_ceil(count) + 2;
    eprintln!("registering {count} vehicles and signing {per_vehicle} manifests each...");
    let mut fleet = Vec::with_capacity(count);
    let run = std::process::id();
    for i in 0..count {
        let vin = format!("LOAD{run}X{i:06}");
        let keys: Vec<(String, KeyFileSigner)> = ["gateway-1", "brake-1", "wiper-1"]
            .iter()
            .map(|s| (s.to_string(), KeyFileSigner::generate(KeyAlgorithm::Ed25519).unwrap()))
            .collect();
        let token = register(&http, &url, &admin, &vin, &keys).await;
        let mut manifests = manifests(&vin, &keys, per_vehicle);
        manifests.reverse(); // popped from the end in counter order
        fleet.push(Arc::new(Mutex::new(Vehicle { vin, token, manifests, snapshot: 0 })));
    }

    if let Some(image) = &rollout_image {
        eprintln!("starting a rollout of {image} to all {count} vehicles...");
        start_rollout(&http, &url, &admin, image, count).await;
    }

    let start = Instant::now();
    let deadline = start + Duration::from_secs(seconds);
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let failures = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (http, url, fleet, latencies, failures, next) =
            (http.clone(), url.clone(), fleet.clone(), latencies.clone(), failures.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let due = if rate == 0 { Instant::now() } else { start + Duration::from_nanos(n * 1_000_000_000 / rate) };
                if due >= deadline {
                    break;
                }
                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                    tokio::time::sleep(wait).await;
                }
                let mut vehicle = fleet[n as usize % fleet.len()].lock().await;
                let Some(manifest) = vehicle.manifests.pop() else { break };
                // Latency from when the check-in was due: queueing counts too.
                let ok = check_in(&http, &url, &mut vehicle, manifest).await;
                mine.push(due.elapsed());
                if !ok {
                    failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
            latencies.lock().await.extend(mine);
        }));
    }
    for w in workers {
        w.await.unwrap();
    }
    let elapsed = start.elapsed().as_secs_f64().min(seconds as f64).max(1e-9);
    let mut latencies = latencies.lock().await.clone();
    latencies.sort();
    let done = latencies.len();
    let failed = failures.load(std::sync::atomic::Ordering::Relaxed);
    let summary: BTreeMap<&str, serde_json::Value> = [
        ("vehicles", serde_json::json!(count)),
        ("check_ins", serde_json::json!(done)),
        ("failed", serde_json::json!(failed)),
        ("per_second", serde_json::json!((done as f64 / elapsed).round())),
        ("p50_ms", serde_json::json!((percentile(&latencies, 0.50).as_secs_f64() * 1e4).round() / 10.0)),
        ("p99_ms", serde_json::json!((percentile(&latencies, 0.99).as_secs_f64() * 1e4).round() / 10.0)),
    ]
    .into_iter()
    .collect();
    println!("{}", serde_json::to_string(&summary).unwrap());
}
