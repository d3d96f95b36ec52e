//! Rollouts over a large fleet, timed (not a test: `cargo bench -p director --bench
//! rollouts [-- VEHICLES]`): a director on SQLite with VEHICLES vehicles (100,000 by
//! default; three ECUs each, tags and attributes) inserted straight into its store, then
//! the median of five runs of each query an operator or the gate makes: a page of the
//! inventory by selector, the fleet's adoption, a rollout's preview and its creation, a
//! rollout's status, and one evaluation (refresh, counters, gate, offers) of a running
//! rollout. Peak RSS at the end.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use director::store::{Ecu, EcuUpdate, Labels};

const KEY: &str = r#"{"keytype":"ed25519","keyval":{"public":"0000000000000000000000000000000000000000000000000000000000000000"},"scheme":"ed25519"}"#;
const FACTORY: &str = r#"{"filepath":"factory.bin","hashes":{"sha256":"00"},"length":7}"#;

fn ecu(serial: &str, hardware_id: &str) -> Ecu {
    Ecu {
        serial: serial.into(),
        hardware_id: hardware_id.into(),
        public_key: KEY.into(),
        verification: "partial".into(),
        report_counter: -1,
        reported_time: 0,
        installed: None,
        attack: 0,
        status: None,
    }
}

/// `n` vehicles, in transactions of 2,000.
async fn fleet(director: &director::service::Director, n: usize) {
    let regions = ["EU", "US", "UK", "JP"];
    for chunk in (0..n).collect::<Vec<_>>().chunks(2000) {
        let mut tx = director.store.begin().await.unwrap();
        for &i in chunk {
            let vin = format!("VIN{i:07}");
            tx.insert_vehicle(&vin, "gateway-1", "none", 0).await.unwrap();
            for (serial, hw) in [("gateway-1", "gateway-hw"), ("brake-1", "brake-hw"), ("wiper-1", "wiper-hw")] {
                tx.insert_ecu(&vin, &ecu(serial, hw)).await.unwrap();
            }
            let attributes = [("region", regions[i % 4]), ("hw_rev", if i % 3 == 0 { "B" } else { "A" })]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            tx.set_labels(&vin, &Labels { tags: vec!["fleet-7".into()], attributes }).await.unwrap();
            let updates: Vec<EcuUpdate<'_>> = ["gateway-1", "brake-1", "wiper-1"]
                .iter()
                .map(|s| EcuUpdate {
                    serial: s,
                    counter: 1,
                    time: 1,
                    installed: FACTORY,
                    attack: 0,
                    boot_state: Some("confirmed"),
                    install_result: None,
                    previous_image: None,
                    installed_path: "factory.bin",
                })
                .collect();
            tx.update_ecus(&vin, &updates).await.unwrap();
        }
        tx.commit().await.unwrap();
    }
}

/// The median of five runs of `work`.
async fn median<F, Fut>(mut work: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut times = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        work().await;
        times.push(start.elapsed());
    }
    times.sort();
    times[2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(100_000);
    let director = common::Director::start(None, None).await;
    let service = director.service.clone();
    let started = Instant::now();
    fleet(&service, n).await;
    println!("{n} vehicles inserted in {:.1} s (not part of the figures)", started.elapsed().as_secs_f64());

    let selector = director::selector::parse("attr.region==EU;hw_rev==B").unwrap();
    let sparse = director::selector::parse("attr.region==nowhere").unwrap();
    let page =
        median(|| async { assert_eq!(service.list_vehicles(&selector, "", 100).await.unwrap().vehicles.len(), 100) })
            .await;
    let scan =
        median(|| async { assert!(service.list_vehicles(&sparse, "", 100).await.unwrap().vehicles.is_empty()) }).await;
    let adoption = median(|| async { assert!(!service.store.adoption().await.unwrap().is_empty()) }).await;
    let request: director::rollouts::NewRollout = serde_json::from_value(serde_json::json!({
        "name": "bench", "selector": "attr.region==EU", "images": {"brake-hw": "brake/fw-2.bin"}}))
    .unwrap();
    let preview = median(|| async {
        service.preview_rollout(&request).await.unwrap();
    })
    .await;
    let ids = std::sync::Mutex::new(Vec::new());
    let create = median(|| async {
        let made = service.create_rollout("admin:bench", request.clone()).await.unwrap().id;
        ids.lock().unwrap().push(made);
    })
    .await;
    let ids = ids.into_inner().unwrap();
    let id = ids[0].clone();
    let status = median(|| async {
        service.rollout_status(&id).await.unwrap();
    })
    .await;
    service.command_rollout("admin:bench", &id, director::rollout::state::Command::Start, "bench").await.unwrap();
    for other in &ids[1..] {
        service
            .command_rollout("admin:bench", other, director::rollout::state::Command::Cancel, "bench")
            .await
            .unwrap();
    }
    // The first evaluations offer the first stage (500 at a time); later ones find the
    // canaries offered and refresh them: that is the steady state a timer meets.
    let first = Instant::now();
    service.evaluate_rollouts(chrono::Utc::now()).await.unwrap();
    let offering = first.elapsed();
    service.evaluate_rollouts(chrono::Utc::now()).await.unwrap();
    let steady = median(|| async {
        service.evaluate_rollouts(chrono::Utc::now()).await.unwrap();
    })
    .await;
    // One adoption sample per hour for a day, then the day's history read back.
    let hour = 3_600;
    let day_start = (chrono::Utc::now().timestamp() / hour) * hour - 24 * hour;
    let sampling = Instant::now();
    for k in 0..24 {
        assert!(service.sample_adoption(day_start + k * hour).await.unwrap());
    }
    let sample = sampling.elapsed() / 24;
    let history = median(|| async {
        assert!(!service.store.adoption_samples(day_start, None).await.unwrap().is_empty());
    })
    .await;
    let offered = service
        .store
        .rollout_vehicles(&id, Some(director::rollout::vehicle::VehicleState::Offered), "", 1000)
        .await
        .unwrap()
        .len();

    println!("\n{n} vehicles (3 ECUs each), SQLite, medians of 5:");
    println!("  inventory page (100 of a selector's vehicles)      {}", ms(page));
    println!("  inventory page, selector matching none (full scan) {}", ms(scan));
    println!("  fleet adoption                                     {}", ms(adoption));
    println!("  rollout preview ({} selected)                   {}", n / 4, ms(preview));
    println!("  rollout create                                     {}", ms(create));
    println!("  rollout status (counters per stratum, gate)        {}", ms(status));
    println!("  evaluation offering the first stage (one run)      {}", ms(offering));
    println!("  evaluation, {offered} canaries offered, steady state    {}", ms(steady));
    println!("  adoption sample (one period)                       {}", ms(sample));
    println!("  adoption history (24 samples)                      {}", ms(history));
    let pages = dashboard_pages(&director, &id).await;
    println!("\n  dashboard pages over HTTP (whole request, medians of 5):");
    for (path, time) in pages {
        println!("  {path:<50} {}", ms(time));
    }
    println!("  peak RSS                                           {:.0} MiB", peak_rss_mib());
}

/// Each dashboard page's median time over HTTP, logged in as the administrator.
async fn dashboard_pages(director: &common::Director, rollout: &str) -> Vec<(String, Duration)> {
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let login = http
        .post(format!("{}/ui/login", director.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={}", director.admin))
        .send()
        .await
        .unwrap();
    let cookie = login.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let paths = [
        "/ui/".to_string(),
        "/ui/rollouts".into(),
        format!("/ui/rollouts/{rollout}"),
        format!("/ui/rollouts/{rollout}?state=offered"),
        "/ui/vehicles".into(),
        "/ui/vehicles?q=VIN0000001".into(),
        "/ui/vehicles?selector=attr.region%3D%3DEU%3Bhw_rev%3D%3DB".into(),
        "/ui/vehicles/VIN0000001".into(),
        "/ui/images".into(),
        "/ui/keys".into(),
        "/ui/audit".into(),
    ];
    let mut out = Vec::new();
    for path in paths {
        let time = median(|| async {
            let page = http.get(format!("{}{path}", director.url)).header("cookie", &cookie).send().await.unwrap();
            assert_eq!(page.status(), 200, "{path}");
            page.bytes().await.unwrap();
        })
        .await;
        out.push((path, time));
    }
    out
}
