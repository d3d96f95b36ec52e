//! Staged rollouts against a real director (SQLite, and a real PostgreSQL server): a
//! fleet of simulated vehicles with scripted outcomes, and one test per failure of the
//! tools the design names (success counted at write, silent devices never timing out,
//! the same canaries every time, no automatic pause).

mod common;

use common::Director;
use common::fleet::{Outcome, fleet};
use reqwest::Method;
use serde_json::{Value, json};

async fn rollout(director: &Director, body: Value) -> Value {
    let (status, created) = director.admin_post("/rollouts", body).await;
    assert_eq!(status, 201, "{created}");
    created
}

async fn command(director: &Director, id: &str, command: &str, reason: &str) -> (u16, Value) {
    director.admin_send(Method::POST, &format!("/rollouts/{id}/{command}"), json!({"reason": reason})).await
}

async fn evaluate(director: &Director) {
    director.service.evaluate_rollouts(chrono::Utc::now()).await.unwrap();
}

async fn vins_in(director: &Director, id: &str, state: &str) -> Vec<String> {
    let (_, body) = director.admin_get(&format!("/rollouts/{id}/vehicles?state={state}&limit=1000")).await;
    body["vehicles"].as_array().unwrap().iter().map(|v| v["vin"].as_str().unwrap().to_string()).collect()
}

fn two_stages() -> Value {
    json!({"name": "brake fw-2", "images": {"brake-hw": "brake/fw-2.bin"},
           "stages": [{"percent": 10}, {"percent": 100}], "min_finished": 2})
}

async fn stages_advance_only_on_confirmed_boots(director: Director) {
    let mut fleet = fleet(&director, 40).await;
    let created = rollout(&director, two_stages()).await;
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(created["status"]["state"], "draft");
    assert_eq!(created["strata"].as_array().unwrap().len(), 4, "{created}");
    assert_eq!(command(&director, &id, "start", "").await.0, 400, "a command needs a reason");
    assert_eq!(command(&director, &id, "start", "change board approved CB-17").await.0, 200);
    evaluate(&director).await;
    let canaries = vins_in(&director, &id, "offered").await;
    assert_eq!(canaries.len(), 4, "10% of each stratum of 10, rounded up: one canary each: {canaries:?}");

    // Written and booted on trial is not success: the gate holds.
    for vin in &canaries {
        fleet.report(&director, vin, Outcome::Trial).await;
    }
    evaluate(&director).await;
    let status = director.admin_get(&format!("/rollouts/{id}")).await.1;
    assert_eq!(status["status"], json!({"state": "running", "stage": 0}), "{status}");
    assert_eq!(status["counters"]["trial"], 4, "{status}");
    assert!(status["gate"].as_str().unwrap().contains("0 finished"), "{status}");

    // Confirmed boots: the stage advances and the rest of the fleet is offered it.
    for vin in &canaries {
        fleet.report(&director, vin, Outcome::Confirms).await;
    }
    evaluate(&director).await;
    let status = director.admin_get(&format!("/rollouts/{id}")).await.1;
    assert_eq!(status["status"], json!({"state": "running", "stage": 1}), "{status}");
    assert_eq!(vins_in(&director, &id, "offered").await.len(), 36);
    for vin in vins_in(&director, &id, "offered").await {
        fleet.report(&director, &vin, Outcome::Confirms).await;
    }
    evaluate(&director).await;
    let status = director.admin_get(&format!("/rollouts/{id}")).await.1;
    assert_eq!(status["status"]["state"], "completed", "{status}");
    assert_eq!(status["counters"]["confirmed"], 40, "{status}");
    let audit = director.admin_get("/audit?limit=1000").await.1;
    let actions: Vec<&str> =
        audit["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for action in ["rollout-create", "rollout-start", "rollout-gate"] {
        assert!(actions.contains(&action), "{action}: {actions:?}");
    }
    let start = audit["entries"].as_array().unwrap().iter().find(|e| e["action"] == "rollout-start").unwrap();
    assert!(start["detail"].as_str().unwrap().contains("change board approved CB-17"), "{start}");
}

#[tokio::test]
async fn a_rollout_advances_only_on_confirmed_boots_never_on_images_written() {
    stages_advance_only_on_confirmed_boots(Director::start(None, None).await).await;
}

#[tokio::test]
async fn postgres_a_rollout_advances_only_on_confirmed_boots_never_on_images_written() {
    let server = common::postgres::Postgres::start();
    stages_advance_only_on_confirmed_boots(Director::start(Some(server.database("director")), None).await).await;
}

#[tokio::test]
async fn rollbacks_in_one_stratum_pause_the_rollout_by_themselves_with_the_reason_in_words() {
    let director = Director::start(None, None).await;
    let mut fleet = fleet(&director, 40).await;
    let body = json!({"name": "brake fw-2", "images": {"brake-hw": "brake/fw-2.bin"},
                      "stages": [{"percent": 50}, {"percent": 100}], "min_finished": 4});
    let id = rollout(&director, body).await["id"].as_str().unwrap().to_string();
    command(&director, &id, "start", "go").await;
    evaluate(&director).await;
    let offered = vins_in(&director, &id, "offered").await;
    assert_eq!(offered.len(), 20, "half of each stratum");
    let (_, page) = director.admin_get(&format!("/rollouts/{id}/vehicles?state=offered&limit=1000")).await;
    for v in page["vehicles"].as_array().unwrap() {
        let vin = v["vin"].as_str().unwrap();
        let bad = v["stratum"] == "brake-hw/B/US";
        fleet.report(&director, vin, if bad { Outcome::Reverts } else { Outcome::Confirms }).await;
    }
    evaluate(&director).await;
    let status = director.admin_get(&format!("/rollouts/{id}")).await.1;
    assert_eq!(status["status"]["state"], "paused", "{status}");
    let reason = status["status"]["reason"].as_str().unwrap();
    assert_eq!(
        reason, "paused by the gate: rollback rate 100% > 1% in stratum brake-hw/B/US after 5 finished",
        "{status}"
    );
    assert!(vins_in(&director, &id, "eligible").await.len() == 20, "a pause offers no one new");
    let (code, answer) = command(&director, &id, "advance", "push on").await;
    assert_eq!(code, 409, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("resume it first"), "{answer}");
    // A vehicle that went back may try again (a power cut can end a trial too) until the
    // operator aborts: then the image leaves its director targets.
    let vin = vins_in(&director, &id, "rolled_back").await[0].clone();
    let token = fleet.vehicles[&vin].1.clone();
    assert_eq!(director.director_targets(&vin, &token).await.targets.len(), 1, "still offered while paused");
    assert_eq!(command(&director, &id, "abort", "brake-hw/B/US reverts").await.0, 200);
    assert_eq!(director.director_targets(&vin, &token).await.targets.len(), 0, "withdrawn by the abort");
    assert_eq!(vins_in(&director, &id, "rolled_back").await.len(), 5, "still counted as rolled back");
}

#[tokio::test]
async fn each_rollout_picks_other_canaries_and_a_preview_shows_a_plan_create_keeps() {
    let director = Director::start(None, None).await;
    fleet(&director, 200).await;
    let body =
        json!({"name": "p", "images": {"brake-hw": "brake/fw-2.bin"}, "stages": [{"percent": 5}, {"percent": 100}]});
    let (status, preview) = director.admin_post("/rollouts/preview", body.clone()).await;
    assert_eq!(status, 200, "{preview}");
    let first: Vec<Value> = preview["first_stage"].as_array().unwrap().clone();
    assert_eq!(first.len(), 12, "5% of 50 per stratum is 2.5, rounded up: 3 x 4 strata");
    let mut keep = body.clone();
    keep["salt"] = preview["salt"].clone();
    let kept = rollout(&director, keep).await["id"].as_str().unwrap().to_string();
    let other = rollout(&director, body).await["id"].as_str().unwrap().to_string();
    for id in [&kept, &other] {
        command(&director, id, "start", "go").await;
    }
    evaluate(&director).await;
    let mut kept_canaries = vins_in(&director, &kept, "offered").await;
    kept_canaries.sort();
    let mut expected: Vec<String> = first.iter().map(|v| v.as_str().unwrap().to_string()).collect();
    expected.sort();
    assert_eq!(kept_canaries, expected, "the preview's plan, kept");
    let second = vins_in(&director, &other, "eligible").await;
    let same = kept_canaries.iter().filter(|v| !second.contains(v)).count();
    assert!(same < 6, "another salt, other canaries: {same} of 12 the same");
}

#[tokio::test]
async fn an_abort_withdraws_the_update_from_vehicles_that_have_not_started() {
    let director = Director::start(None, None).await;
    let mut fleet = fleet(&director, 20).await;
    let body = json!({"name": "a", "images": {"brake-hw": "brake/fw-2.bin"}, "stages": [{"percent": 100}]});
    let id = rollout(&director, body).await["id"].as_str().unwrap().to_string();
    command(&director, &id, "start", "go").await;
    evaluate(&director).await;
    let offered = vins_in(&director, &id, "offered").await;
    assert_eq!(offered.len(), 20);
    fleet.report(&director, &offered[0], Outcome::Confirms).await;
    // An operator's own assignment, queued behind the rollout's, is not the rollout's to withdraw.
    let by_hand = json!({"vehicles": [offered[1]], "images": {"wiper-hw": "wiper/fw-2.bin"}});
    assert_eq!(director.admin_post("/assignments", by_hand).await.0, 201);
    let (code, _) = command(&director, &id, "abort", "a field report of brake noise").await;
    assert_eq!(code, 200);
    assert_eq!(vins_in(&director, &id, "withdrawn").await.len(), 19);
    let status = director.admin_get(&format!("/vehicles/{}", offered[1])).await.1;
    let mut states: Vec<(&str, &str)> = status["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["target"].as_str().unwrap(), a["state"].as_str().unwrap()))
        .collect();
    states.sort();
    assert_eq!(states, [("brake/fw-2.bin", "cancelled"), ("wiper/fw-2.bin", "issued")], "{status}");
    let token = &fleet.vehicles[&offered[1]].1;
    let targets = director.director_targets(&offered[1], token).await.targets;
    assert_eq!(
        targets.keys().map(|t| t.as_str()).collect::<Vec<_>>(),
        ["wiper/fw-2.bin"],
        "issued once the rollout's left"
    );
    assert_eq!(command(&director, &id, "resume", "oops").await.0, 409, "it has ended");
}

#[tokio::test]
async fn a_vehicle_silent_after_its_offer_times_out_and_one_never_seen_since_does_not() {
    let director = Director::start(None, None).await;
    let mut fleet = fleet(&director, 8).await;
    let body = json!({"name": "t", "images": {"brake-hw": "brake/fw-2.bin"}, "stages": [{"percent": 100}],
                      "device_timeout_hours": 72, "min_finished": 1});
    let id = rollout(&director, body).await["id"].as_str().unwrap().to_string();
    command(&director, &id, "start", "go").await;
    evaluate(&director).await;
    let offered = vins_in(&director, &id, "offered").await;
    // VIN0000 checks in after the offer (times are in whole seconds) and never installs;
    // the others are not heard from.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (vehicle, token) = fleet.vehicles.get_mut(&offered[0]).unwrap();
    assert_eq!(director.check_in(vehicle, token).await.0, 200);
    let later = chrono::Utc::now() + chrono::Duration::hours(73);
    director.service.evaluate_rollouts(later).await.unwrap();
    assert_eq!(vins_in(&director, &id, "timed_out").await, [offered[0].clone()]);
    assert_eq!(vins_in(&director, &id, "offered").await.len(), 7, "never seen since the offer: reported, not counted");
    let status = director.admin_get(&format!("/rollouts/{id}")).await.1;
    assert_eq!(status["counters"]["timed_out"], 1, "{status}");
}

#[tokio::test]
async fn a_manual_gate_holds_a_successful_stage_until_an_operator_advances_it() {
    let director = Director::start(None, None).await;
    let mut fleet = fleet(&director, 8).await;
    let body = json!({"name": "m", "images": {"brake-hw": "brake/fw-2.bin"}, "min_finished": 1,
                      "stages": [{"percent": 50, "manual": true}, {"percent": 100}]});
    let id = rollout(&director, body).await["id"].as_str().unwrap().to_string();
    command(&director, &id, "start", "go").await;
    evaluate(&director).await;
    for vin in vins_in(&director, &id, "offered").await {
        fleet.report(&director, &vin, Outcome::Confirms).await;
    }
    evaluate(&director).await;
    let status = director.admin_get(&format!("/rollouts/{id}")).await.1;
    assert_eq!(status["status"], json!({"state": "running", "stage": 0}), "{status}");
    assert_eq!(status["gate"], "hold: a manual gate: advance it by hand", "{status}");
    assert_eq!(command(&director, &id, "advance", "canaries look good, QA-22").await.0, 200);
    evaluate(&director).await;
    assert_eq!(vins_in(&director, &id, "offered").await.len(), 4, "the second stage's vehicles");
}

#[tokio::test]
async fn adoption_and_each_rollouts_standing_are_in_the_api_and_in_prometheus() {
    let director = Director::start(None, None).await;
    let mut fleet = fleet(&director, 8).await;
    let body = json!({"name": "m", "images": {"brake-hw": "brake/fw-2.bin"}, "stages": [{"percent": 100}]});
    let id = rollout(&director, body).await["id"].as_str().unwrap().to_string();
    command(&director, &id, "start", "go").await;
    evaluate(&director).await;
    for vin in vins_in(&director, &id, "offered").await.iter().take(2) {
        fleet.report(&director, vin, Outcome::Confirms).await;
    }
    evaluate(&director).await;
    let adoption = director.admin_get("/fleet/adoption").await.1;
    let brake = adoption["hardware"].as_array().unwrap().iter().find(|h| h["hardware_id"] == "brake-hw").unwrap();
    assert_eq!(brake["ecus"], 8, "{adoption}");
    let on = |image: &str| brake["images"].as_array().unwrap().iter().find(|i| i["image"] == image).cloned().unwrap();
    assert_eq!(
        (on("brake/fw-2.bin")["ecus"].clone(), on("brake/fw-2.bin")["percent"].clone()),
        (json!(2), json!(25.0))
    );
    assert_eq!(on("brake/fw-2.bin")["confirmed"], 2);
    assert_eq!(on("factory.bin")["ecus"], 6);

    let metrics =
        director.http.get(format!("{}/metrics", director.url)).bearer_auth(&director.admin).send().await.unwrap();
    let text = metrics.text().await.unwrap();
    for line in [
        "director_fleet_image_ecus{hardware_id=\"brake-hw\",image=\"brake/fw-2.bin\",confirmed=\"true\"} 2".to_string(),
        format!("director_rollout_state{{rollout=\"{id}\",state=\"running\"}} 1"),
        format!(
            "director_rollout_vehicles{{rollout=\"{id}\",stage=\"0\",stratum=\"brake-hw/A/EU\",state=\"confirmed\"}} 1"
        ),
    ] {
        assert!(text.contains(&line), "{line} in:\n{text}");
    }
}

#[tokio::test]
async fn offers_go_out_only_inside_the_rollouts_maintenance_windows() {
    use chrono::{Datelike, Timelike};
    let director = Director::start(None, None).await;
    fleet(&director, 4).await;
    // Half past the hour two hours on: inside HH:00-HH:59 whatever the minute now.
    let later = chrono::Utc::now() + chrono::Duration::hours(2);
    let inside = later.with_minute(30).unwrap().with_second(0).unwrap();
    let day = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][inside.weekday().num_days_from_monday() as usize];
    let window = format!("{day} {:02}:00-{:02}:59", inside.hour(), inside.hour());
    let body =
        json!({"name": "w", "images": {"brake-hw": "brake/fw-2.bin"}, "stages": [{"percent": 100}], "windows": window});
    let id = rollout(&director, body).await["id"].as_str().unwrap().to_string();
    command(&director, &id, "start", "go").await;
    evaluate(&director).await;
    assert!(vins_in(&director, &id, "offered").await.is_empty(), "outside {window}: no offer");
    let status = director.admin_get(&format!("/rollouts/{id}")).await.1;
    assert_eq!((status["windows"].as_str(), status["in_window"].as_bool()), (Some(window.as_str()), Some(false)));
    director.service.evaluate_rollouts(inside).await.unwrap();
    assert_eq!(vins_in(&director, &id, "offered").await.len(), 4, "inside {window}");

    let bad = json!({"name": "w", "images": {"brake-hw": "brake/fw-2.bin"}, "windows": "weekdays at night"});
    let (status, body) = director.admin_post("/rollouts", bad).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().contains("Mon-Fri 01:00-05:00"), "{body}");
}

/// Two director processes' worth of services on one PostgreSQL server, evaluating the
/// same rollout at once while vehicles check in: every vehicle is offered exactly once,
/// the gate moves the rollout once per change, and each confirmation counts once.
#[tokio::test]
async fn postgres_two_directors_at_once_offer_each_vehicle_once_and_count_each_manifest_once() {
    let server = common::postgres::Postgres::start();
    let director = Director::start(Some(server.database("director")), None).await;
    let mut fleet = fleet(&director, 60).await;
    let second = director::setup::open(&director.data()).await.unwrap();
    let body = json!({"name": "two", "images": {"brake-hw": "brake/fw-2.bin"}, "min_finished": 1,
                      "stages": [{"percent": 10}, {"percent": 100}]});
    let id = rollout(&director, body).await["id"].as_str().unwrap().to_string();
    command(&director, &id, "start", "go").await;
    let both = || async {
        let now = chrono::Utc::now();
        let (a, b) = tokio::join!(director.service.evaluate_rollouts(now), second.evaluate_rollouts(now));
        a.unwrap();
        b.unwrap();
    };
    both().await;
    let canaries = vins_in(&director, &id, "offered").await;
    assert_eq!(canaries.len(), 8, "ceil(10% of 15) in each of 4 strata: {canaries:?}");
    for vin in &canaries {
        fleet.report(&director, vin, Outcome::Confirms).await;
    }
    both().await; // advances once, and the two offer the rest between them
    both().await;
    let offered = vins_in(&director, &id, "offered").await;
    assert_eq!(offered.len(), 52, "every other vehicle, once");
    // The rest confirm, their manifests split between the two directors and arriving
    // while both evaluate: each is counted once.
    let manifests: Vec<(String, String, Vec<u8>)> = offered
        .iter()
        .map(|vin| (vin.clone(), fleet.vehicles[vin].1.clone(), fleet.manifest_after(vin, Outcome::Confirms)))
        .collect();
    let vehicles = &fleet.vehicles;
    let checkins = manifests.iter().enumerate().map(|(i, (vin, token, manifest))| {
        let (first, second) = (&director, &second);
        async move {
            if i % 2 == 0 {
                let (code, body) = first.put_manifest(&vehicles[vin].0, token, manifest.clone()).await;
                assert_eq!(code, 200, "{vin}: {body}");
            } else {
                let hash = director::config::token_hash(token);
                second.ingest(vin, Some(&hash), manifest).await.unwrap();
            }
        }
    });
    let (_, (), ()) = tokio::join!(futures_join_all(checkins), both(), both());
    let status = director.admin_get(&format!("/rollouts/{id}")).await.1;
    assert_eq!(
        (&status["counters"]["confirmed"], &status["counters"]["finished"]),
        (&json!(60), &json!(60)),
        "{status}"
    );
    for vin in fleet.vehicles.keys() {
        let status = director.admin_get(&format!("/vehicles/{vin}")).await.1;
        let assignments = status["assignments"].as_array().unwrap();
        assert_eq!(assignments.len(), 1, "{vin} was offered the update once: {status}");
    }
    let audit = director.admin_get("/audit?limit=1000").await.1;
    let gates: Vec<&Value> =
        audit["entries"].as_array().unwrap().iter().filter(|e| e["action"] == "rollout-gate").collect();
    assert_eq!(gates.len(), 1, "one advance: {gates:?}");
}

/// `director status` on the data directory: its standard output.
fn director_status(director: &Director) -> String {
    let output =
        std::process::Command::new(env!("CARGO_BIN_EXE_director")).arg("status").arg(director.data()).output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(output.status.success(), "{text}{}", String::from_utf8_lossy(&output.stderr));
    text
}

#[tokio::test]
async fn one_vehicle_refusing_an_attack_pauses_the_rollout_at_once_and_failures_are_counted_by_code() {
    let director = Director::start(None, None).await;
    let mut fleet = fleet(&director, 40).await;
    let body = json!({"name": "brake fw-2", "images": {"brake-hw": "brake/fw-2.bin"},
                      "stages": [{"percent": 50}, {"percent": 100}], "min_finished": 20});
    let id = rollout(&director, body).await["id"].as_str().unwrap().to_string();
    command(&director, &id, "start", "go").await;
    evaluate(&director).await;
    let offered = vins_in(&director, &id, "offered").await;
    fleet.report(&director, &offered[0], Outcome::RefusesAttack).await;
    fleet.report(&director, &offered[1], Outcome::Reverts).await;
    for vin in &offered[2..6] {
        fleet.report(&director, vin, Outcome::Confirms).await;
    }
    // The counters follow the manifests as they arrive: no evaluation has run since.
    let status = director.admin_get(&format!("/rollouts/{id}")).await.1;
    let counters = &status["counters"];
    assert_eq!(
        (&counters["confirmed"], &counters["failed"], &counters["rolled_back"], &counters["attacks"]),
        (&json!(4), &json!(1), &json!(1), &json!(1)),
        "{status}"
    );
    assert_eq!(
        status["outcomes"]["failures"],
        json!([{"code": "reverted_unconfirmed", "vehicles": 1}, {"code": "verification_failed:freeze", "vehicles": 1}]),
        "{status}"
    );
    assert_eq!(
        status["outcomes"]["funnel"],
        json!({"selected": 40, "admitted": 20, "offered": 20, "trial": 5, "confirmed": 4}),
        "a rolled-back vehicle booted the image on trial too"
    );
    let p50 = status["outcomes"]["time_to_confirm_secs"]["p50"].as_i64().expect("a median");
    assert!((0..60).contains(&p50), "{status}");

    // 6 finished, fewer than the 20 a share needs: the attack pauses the rollout all the same.
    evaluate(&director).await;
    let status = director.admin_get(&format!("/rollouts/{id}")).await.1;
    assert_eq!(status["status"]["reason"], "paused by the gate: 1 vehicle(s) reported an attack", "{status}");
    let metrics =
        director.http.get(format!("{}/metrics", director.url)).bearer_auth(&director.admin).send().await.unwrap();
    let text = metrics.text().await.unwrap();
    let line = format!("director_rollout_failures{{rollout=\"{id}\",code=\"verification_failed:freeze\"}} 1");
    assert!(text.contains(&line), "{line} in:\n{text}");

    let text = director_status(&director);
    for line in [
        format!("rollout {id} \"brake fw-2\": paused stage 1"),
        "  paused: paused by the gate: 1 vehicle(s) reported an attack".to_string(),
        "  selected 40 -> admitted 20 -> offered 20 -> trial 5 -> confirmed 4".to_string(),
        "  failures: reverted_unconfirmed 1, verification_failed:freeze 1".to_string(),
    ] {
        assert!(text.lines().any(|l| l == line), "{line:?} in:\n{text}");
    }
}

#[tokio::test]
async fn adoption_is_sampled_once_a_period_by_whichever_director_comes_first_and_kept_as_history() {
    let director = Director::start(None, None).await;
    let mut fleet = fleet(&director, 4).await;
    let body = json!({"name": "h", "images": {"brake-hw": "brake/fw-2.bin"}, "stages": [{"percent": 100}]});
    let id = rollout(&director, body).await["id"].as_str().unwrap().to_string();
    command(&director, &id, "start", "go").await;
    let hour = 3_600;
    let t0 = (chrono::Utc::now().timestamp() / hour) * hour;
    assert!(director.service.sample_adoption(t0 + 10).await.unwrap(), "the first of its period");
    let second = director::setup::open(&director.data()).await.unwrap();
    assert!(!second.sample_adoption(t0 + 20).await.unwrap(), "another process, the same period: no second sample");
    evaluate(&director).await;
    for vin in vins_in(&director, &id, "offered").await.iter().take(3) {
        fleet.report(&director, vin, Outcome::Confirms).await;
    }
    assert!(second.sample_adoption(t0 + hour).await.unwrap(), "the next period");
    let history = director.admin_get(&format!("/fleet/adoption/history?since={t0}&hardware_id=brake-hw")).await.1;
    let on = |sample: &Value, image: &str| {
        sample["images"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["image"] == image)
            .map(|i| (i["ecus"].clone(), i["confirmed"].clone()))
    };
    let samples = history["samples"].as_array().unwrap();
    assert_eq!(samples.len(), 2, "{history}");
    assert_eq!((samples[0]["at"].as_i64(), samples[1]["at"].as_i64()), (Some(t0), Some(t0 + hour)));
    assert_eq!(on(&samples[0], "factory.bin"), Some((json!(4), json!(0))), "{history}");
    assert_eq!(on(&samples[0], "brake/fw-2.bin"), None);
    assert_eq!(on(&samples[1], "brake/fw-2.bin"), Some((json!(3), json!(3))), "{history}");
    assert!(samples.iter().all(|s| s["images"].as_array().unwrap().iter().all(|i| i["hardware_id"] == "brake-hw")));
}

/// Runs every future at once and waits for all (the few lines `futures::join_all` would be).
async fn futures_join_all<F: Future<Output = ()>>(futures: impl IntoIterator<Item = F>) {
    let mut set = Vec::new();
    for f in futures {
        set.push(Box::pin(f));
    }
    std::future::poll_fn(|cx| {
        set.retain_mut(|f| f.as_mut().poll(cx).is_pending());
        if set.is_empty() { std::task::Poll::Ready(()) } else { std::task::Poll::Pending }
    })
    .await;
}
