//! A hardware id's support period reaches the primary through its director targets, and a
//! clock moved past the end changes what the primary shows (`update-client status` and a
//! cycle's notice): supported, then ending, then ended.

mod harness;

use chrono::{Duration, Utc};
use client_std::primary::status::status;
use harness::{Vehicle, firmware};
use metadata_schemas::json::{Object, Value};
use metadata_schemas::uptane::SupportState;
use metadata_schemas::{RoleName, TargetPath};

const ALL_FW2: [(&str, &str); 3] =
    [("gateway-hw", "gateway/fw-2.bin"), ("brake-hw", "brake/fw-2.bin"), ("wiper-hw", "wiper/fw-2.bin")];

/// Firmware whose gateway and brake images declare security support until `end` (as
/// `repo-tool lifecycle set` writes it).
fn firmware_supported_until(end: chrono::DateTime<Utc>) -> repo_simulator::RepoSim {
    let mut sim = firmware();
    let targets = sim.targets.get_mut(&RoleName::targets()).unwrap();
    for (path, hw) in [("gateway/fw-2.bin", "gateway-hw"), ("brake/fw-2.bin", "brake-hw")] {
        let file = targets.targets.get_mut(&TargetPath::new(path)).unwrap();
        let Some(Value::Object(custom)) = file.custom.as_mut() else { panic!("{path} has custom") };
        let mut lifecycle = Object::new();
        lifecycle.insert("record", Value::string(format!("lifecycle/{hw}.json")));
        lifecycle.insert("end_of_security_support", Value::string(end.format("%Y-%m-%dT%H:%M:%SZ").to_string()));
        custom.insert("lifecycle", Value::Object(lifecycle));
    }
    sim.touch(&RoleName::targets());
    sim.publish();
    sim
}

#[test]
fn a_hardware_id_passing_its_end_of_support_changes_what_the_primary_shows() {
    let end = Utc::now() + Duration::days(100);
    let vehicle = Vehicle::new(firmware_supported_until(end));
    vehicle.assign(&ALL_FW2);
    let report = vehicle.cycle().unwrap();
    let notice = report.notices["gateway-1"].words();
    assert!(notice.contains("ENDING on") && notice.contains("days left"), "{notice}");

    vehicle.until_done(4);
    vehicle.cycle().unwrap(); // every ECU has verified targets that declare the period
    // Each ECU's signed report says where its own hardware's support stands.
    let manifest = vehicle.status()["last_manifest"].clone();
    for serial in ["gateway-1", "brake-1"] {
        let said = &manifest["signed"]["ecu_version_reports"][serial]["signed"]["custom"]["lifecycle_state"];
        assert_eq!(said, "ending", "{serial}: {manifest}");
    }
    assert!(manifest["signed"]["ecu_version_reports"]["wiper-1"]["signed"]["custom"]["lifecycle_state"].is_null());
    let at = |t: chrono::DateTime<Utc>| status(&vehicle.config, t.timestamp()).unwrap();
    let now = at(Utc::now());
    assert!(matches!(now.support["gateway-hw"].1, SupportState::Ending { days_left: 99 | 100 }), "{now:?}");
    assert!(now.support.contains_key("brake-hw"), "the secondaries' hardware too: {now:?}");
    assert!(!now.support.contains_key("wiper-hw"), "no period declared for it");
    let before = at(end - Duration::days(400));
    assert_eq!(before.support["gateway-hw"].1, SupportState::Supported);
    let after = at(end + Duration::seconds(1));
    assert_eq!(after.support["gateway-hw"].1, SupportState::Ended);
    let words = after.lines().join("\n");
    assert!(
        words.contains("gateway-hw: security support ENDED on") && words.contains("no further security update"),
        "{words}"
    );
    assert_eq!(after.to_json()["support"]["brake-hw"]["state"], "ended");
    assert_eq!(now.to_json()["support"]["gateway-hw"]["state"], "ending");
    assert!(now.lines()[0].starts_with("runs gateway/fw-2.bin, installed 20"), "{:?}", now.lines());
    assert!(now.to_json()["installed"].as_str().is_some(), "{}", now.to_json());
}
