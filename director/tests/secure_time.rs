//! Secure time on the director's side: one ECU whose clock is far ahead cannot lock its
//! vehicle out, and every accepted manifest is answered with a time attestation carrying
//! the reports' nonces, signed by the time key the director root names.

mod common;

use chrono::{DateTime, Utc};
use common::{Director, nonce_of};
use metadata_schemas::uptane::{AttackCode, EcuSerial};
use metadata_schemas::{Root, Signed};
use update_verifier::Error;
use update_verifier::uptane::verify_time_attestation;

#[tokio::test]
async fn uptane_one_ecu_with_its_clock_in_2999_does_not_lock_its_vehicle_out() {
    let director = Director::start(None, None).await;
    let mut vehicle = common::Vehicle::new("SKEW0001");
    let token = director.register(&vehicle).await;
    let future = DateTime::parse_from_rfc3339("2999-01-01T00:00:00Z").unwrap().with_timezone(&Utc);
    let serials: Vec<String> = vehicle.ecus.iter().map(|e| e.0.clone()).collect();
    let skewed = serials[1].clone();
    let reports = serials
        .iter()
        .map(|s| {
            let time = if *s == skewed { future } else { Utc::now() };
            (EcuSerial::new(s.as_str()).unwrap(), vehicle.report(s, time, AttackCode::NONE))
        })
        .collect();
    let manifest = vehicle.sign_manifest(reports);
    let (status, body) = director.put_manifest(&vehicle, &token, manifest).await;
    assert_eq!(status, 200, "the rest of the vehicle is heard: {body}");
    let events = director.admin_get("/vehicles/SKEW0001/events").await.1;
    let skew = events["events"].as_array().unwrap().iter().find(|e| e["kind"] == "clock-skew");
    let skew = skew.unwrap_or_else(|| panic!("no clock-skew event: {events}"));
    assert_eq!(skew["detail"]["ecu"], skewed.as_str());
    // Later honest reports are no time rollback.
    for _ in 0..2 {
        let (status, body) = director.check_in(&mut vehicle, &token).await;
        assert_eq!(status, 200, "{body}");
    }
    let (_, status) = director.admin_get("/vehicles/SKEW0001").await;
    let ecu = status["ecus"].as_array().unwrap().iter().find(|e| e["serial"] == skewed.as_str()).unwrap().clone();
    assert!(ecu["reported_time"].as_i64().unwrap() <= Utc::now().timestamp() + 300, "{ecu}");
}

#[tokio::test]
async fn director_time_attestations_carry_every_reports_nonce_signed_by_the_time_key() {
    let director = Director::start(None, None).await;
    let mut vehicle = common::Vehicle::new("TIME0001");
    let token = director.register(&vehicle).await;
    let (status, body) = director.check_in(&mut vehicle, &token).await;
    assert_eq!(status, 200, "{body}");
    let attestation = body["time_attestation"].as_str().expect("an attestation").as_bytes().to_vec();
    let (_, root) = director.director_file("TIME0001", &token, "1.root.json").await;
    let root: Signed<Root> = Signed::decode_unverified(&root).unwrap();
    let epoch = DateTime::UNIX_EPOCH;
    for (serial, counter) in &vehicle.counters {
        let time = verify_time_attestation(&root.signed, &attestation, nonce_of(serial, *counter), epoch).unwrap();
        assert!((Utc::now() - time).num_seconds().abs() < 60, "{serial}: {time}");
    }
    let stale = verify_time_attestation(&root.signed, &attestation, 12345, epoch).unwrap_err();
    assert!(matches!(stale, Error::StaleTimeAttestation), "{stale}");
    // Signed by the time key alone: dropping its signature breaks it.
    let mut unsigned: serde_json::Value = serde_json::from_slice(&attestation).unwrap();
    unsigned["signatures"] = serde_json::json!([]);
    let unsigned = serde_json::to_vec(&unsigned).unwrap();
    let (serial, counter) = vehicle.counters.iter().next().unwrap();
    let err = verify_time_attestation(&root.signed, &unsigned, nonce_of(serial, *counter), epoch).unwrap_err();
    assert!(matches!(err, Error::Unsigned { .. }), "{err}");
}
