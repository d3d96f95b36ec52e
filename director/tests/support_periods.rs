//! The director watches each hardware id's end of security support in the image
//! repository: an end moved earlier is accepted (it is signed) but audited once as a
//! warning, so the users of that hardware can be told.

mod common;

use chrono::{Duration, Utc};
use common::Director;
use metadata_schemas::json::Value;
use metadata_schemas::{RoleName, TargetPath};

/// The wiper image's support period now ends at `end`.
fn wiper_support_ends(d: &mut Director, end: chrono::DateTime<Utc>) {
    let targets = d.images.targets.get_mut(&RoleName::targets()).unwrap();
    let file = targets.targets.get_mut(&TargetPath::new("wiper/fw-2.bin")).unwrap();
    let Some(Value::Object(custom)) = file.custom.as_mut() else { panic!("custom") };
    let mut lifecycle = metadata_schemas::json::Object::new();
    lifecycle.insert("record", Value::string("lifecycle/wiper-hw.json".to_string()));
    lifecycle.insert("end_of_security_support", Value::string(end.format("%Y-%m-%dT%H:%M:%SZ").to_string()));
    custom.insert("lifecycle", Value::Object(lifecycle));
    d.images.touch(&RoleName::targets());
    d.images.publish();
    d.write_images();
}

#[tokio::test]
async fn a_support_end_moved_earlier_is_audited_once_and_a_later_one_is_not() {
    let mut d = Director::start(None, None).await;
    let now = Utc::now().timestamp();
    assert!(d.service.watch_support_periods(now).await.unwrap().is_empty(), "first seen");
    wiper_support_ends(&mut d, Utc::now() + Duration::days(400));
    assert!(d.service.watch_support_periods(now).await.unwrap().is_empty(), "moved later");
    wiper_support_ends(&mut d, Utc::now() + Duration::days(30));
    assert_eq!(d.service.watch_support_periods(now).await.unwrap(), vec!["wiper-hw".to_string()]);
    assert!(d.service.watch_support_periods(now).await.unwrap().is_empty(), "told once");
    let (_, audit) = d.admin_get("/audit?limit=1000").await;
    let warnings: Vec<&serde_json::Value> =
        audit["entries"].as_array().unwrap().iter().filter(|e| e["action"] == "support-end-earlier").collect();
    assert_eq!(warnings.len(), 1, "{audit}");
    assert!(warnings[0]["detail"].as_str().unwrap().contains("wiper-hw"));
}
