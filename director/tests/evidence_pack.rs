//! `director evidence` over a small fleet: every file the index lists is there with the
//! hash it names, the audit log records the same hashes, the deployment record's counts
//! are those the database holds (recomputed here with SQL of the test's own), and the
//! signed manifests it cites verify with the vehicles' primary keys.

mod common;

use common::{Director, Vehicle};
use metadata_schemas::json::Value;
use metadata_schemas::uptane::{BootState, InstallResult, InstallStatus};
use metadata_schemas::{RoleName, TargetPath};
use sqlx::Row;

const SBOM: &[u8] =
    br#"{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"name":"brake-fw","version":"2"}]}"#;

/// The brake image lists its SBOM, a signed target beside it (as `targets add --sbom`).
fn with_sbom(d: &mut Director) {
    d.images.add_target(&RoleName::targets(), "brake/fw-2.bin.cdx.json", SBOM, None);
    let targets = d.images.targets.get_mut(&RoleName::targets()).unwrap();
    let image = targets.targets.get_mut(&TargetPath::new("brake/fw-2.bin")).unwrap();
    let Some(Value::Object(custom)) = image.custom.as_mut() else { panic!("the image has custom") };
    let mut entry = metadata_schemas::json::Object::new();
    entry.insert("filename", Value::string("brake/fw-2.bin.cdx.json".to_string()));
    entry.insert("format", Value::string("cyclonedx-json-1.6".to_string()));
    custom.insert("sbom", Value::Array(vec![Value::Object(entry)]));
    d.images.touch(&RoleName::targets());
    d.images.publish();
    d.write_images();
}

fn status(boot_state: BootState) -> InstallStatus {
    InstallStatus {
        boot_state,
        previous_image: Some(TargetPath::new("factory.bin")),
        install_result: Some(InstallResult::Ok),
        unknown: Default::default(),
    }
}

/// Four vehicles: three assigned brake/fw-2 (two confirmed it, one is on trial), one not.
async fn fleet(d: &Director) -> Vec<Vehicle> {
    let mut vehicles = Vec::new();
    for i in 1..=4 {
        let mut vehicle = Vehicle::new(&format!("EVID{i:04}"));
        let token = d.register(&vehicle).await;
        assert_eq!(d.check_in(&mut vehicle, &token).await.0, 200);
        if i <= 3 {
            let body = serde_json::json!({"vehicles": [vehicle.vin], "images": {"brake-hw": "brake/fw-2.bin"}});
            assert_eq!(d.admin_post("/assignments", body).await.0, 201);
            vehicle.installed.insert("brake-1".into(), ("brake/fw-2.bin".into(), b"brake firmware 2".to_vec()));
            let state = if i == 3 { BootState::Trial } else { BootState::Confirmed };
            vehicle.statuses.insert("brake-1".into(), status(state));
            assert_eq!(d.check_in(&mut vehicle, &token).await.0, 200);
        }
        vehicles.push(vehicle);
    }
    vehicles
}

fn sha256_hex(bytes: &[u8]) -> String {
    metadata_schemas::hex::encode(&threshold_keys::digest::sha256(bytes))
}

#[tokio::test]
async fn the_evidence_pack_hashes_every_file_and_its_deployment_record_matches_the_database() {
    let mut d = Director::start(None, None).await;
    with_sbom(&mut d);
    let vehicles = fleet(&d).await;
    let out = d.dir.path().join("evidence");
    let report = d.dir.path().join("evidence-report.json");
    std::fs::write(&report, br#"{"claims":[]}"#).unwrap();
    let options =
        director::commands::Evidence { releases: vec!["brake/fw-2.bin".into()], test_report: Some(report.clone()) };
    let index = director::commands::write_evidence(&d.service, &out, &options).await.unwrap();

    // Every file listed is there with its hash; nothing else is.
    let listed: Vec<(String, String)> = index["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["file"].as_str().unwrap().to_string(), f["sha256"].as_str().unwrap().to_string()))
        .collect();
    for (name, sha256) in &listed {
        assert_eq!(&sha256_hex(&std::fs::read(out.join(name)).unwrap()), sha256, "{name}");
    }
    let on_disk = walk(&out);
    assert_eq!(on_disk.len(), listed.len() + 1, "the listed files and index.json: {on_disk:?}");
    for name in [
        "product.json",
        "architecture.json",
        "audit/log.jsonl",
        "audit/verification.json",
        "deployment/brake_fw-2.bin.json",
        "sbom/brake_fw-2.bin.cdx.json",
        "test-evidence/evidence-report.json",
    ] {
        assert!(listed.iter().any(|(n, _)| n == name), "{name} in {listed:?}");
    }
    assert_eq!(std::fs::read(out.join("sbom/brake_fw-2.bin.cdx.json")).unwrap(), SBOM);

    // The audit log's last entry names the same hashes, the index's among them.
    let (_, audit) = d.admin_get("/audit?limit=1000").await;
    let last = audit["entries"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "evidence-pack");
    let detail: serde_json::Value = serde_json::from_str(last["detail"].as_str().unwrap()).unwrap();
    for (name, sha256) in &listed {
        assert_eq!(detail["files"][name].as_str(), Some(sha256.as_str()), "{name}");
    }
    let index_bytes = std::fs::read(out.join("index.json")).unwrap();
    assert_eq!(detail["files"]["index.json"].as_str(), Some(sha256_hex(&index_bytes).as_str()));

    // The deployment counts, recomputed from the database.
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("deployment/brake_fw-2.bin.json")).unwrap()).unwrap();
    let db = sqlx::SqlitePool::connect(&format!("sqlite://{}", d.data().join("director.db").display())).await.unwrap();
    let count = |sql: &'static str| {
        let db = db.clone();
        async move { sqlx::query(sql).fetch_one(&db).await.unwrap().get::<i64, _>(0) }
    };
    let running = count("SELECT COUNT(*) FROM ecus WHERE installed_path = 'brake/fw-2.bin'").await;
    let confirmed =
        count("SELECT COUNT(*) FROM ecus WHERE installed_path = 'brake/fw-2.bin' AND boot_state = 'confirmed'").await;
    let vins = count("SELECT COUNT(DISTINCT vin) FROM ecus WHERE installed_path = 'brake/fw-2.bin'").await;
    assert_eq!((running, confirmed, vins), (3, 2, 3), "the fleet as made");
    assert_eq!(record["ecus_running"], running);
    assert_eq!(record["ecus_confirmed"], confirmed);
    assert_eq!(record["vehicles"], vins);

    // Each manifest it cites is the vehicle's, signed by its primary's key.
    for vehicle in &vehicles[..3] {
        let bytes = std::fs::read(out.join(format!("manifests/{}.json", vehicle.vin))).unwrap();
        let envelope = metadata_schemas::Envelope::parse(&bytes).unwrap();
        let key = threshold_keys::Signer::public_key(&vehicle.ecus[0].2);
        let id = threshold_keys::default_key_id(key);
        let check = threshold_keys::check_signed_by(&id, key, &envelope.signatures, &envelope.canonical_signed());
        assert!(check.is_met(), "{}: the manifest verifies with its primary's key", vehicle.vin);
    }
    assert!(!out.join(format!("manifests/{}.json", vehicles[3].vin)).exists(), "not running the release");

    let product: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("product.json")).unwrap()).unwrap();
    assert!(product["end_of_security_support"]["wiper-hw"].as_str().is_some(), "{product}");
    let verification: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("audit/verification.json")).unwrap()).unwrap();
    assert_eq!(verification["verified"], true);
    // A second pack never mixes with the first.
    let again = director::commands::write_evidence(&d.service, &out, &options).await;
    assert!(again.unwrap_err().to_string().contains("not empty"));
}

/// Every file under `dir`, as pack names.
fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut names = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        for entry in std::fs::read_dir(&at).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                names.push(path.strip_prefix(dir).unwrap().to_string_lossy().replace('\\', "/"));
            }
        }
    }
    names
}

#[tokio::test]
async fn a_vehicles_sbom_view_is_the_union_of_the_sboms_of_the_images_its_ecus_run() {
    let mut d = Director::start(None, None).await;
    with_sbom(&mut d);
    fleet(&d).await;
    let (status, sbom) = d.admin_get("/vehicles/EVID0001/sbom").await;
    assert_eq!(status, 200, "{sbom}");
    let brake = sbom["ecus"].as_array().unwrap().iter().find(|e| e["ecu"] == "brake-1").unwrap().clone();
    assert_eq!(brake["image"], "brake/fw-2.bin");
    assert_eq!(brake["sboms"][0]["filename"], "brake/fw-2.bin.cdx.json");
    assert_eq!(brake["sboms"][0]["sha256"], sha256_hex(SBOM));
    let components = sbom["components"].as_array().unwrap();
    assert_eq!(components.len(), 1, "{sbom}");
    assert_eq!(
        (&components[0]["name"], &components[0]["ecus"]),
        (&serde_json::json!("brake-fw"), &serde_json::json!(["brake-1"]))
    );
    let (_, none) = d.admin_get("/vehicles/EVID0004/sbom").await;
    assert!(none["components"].as_array().unwrap().is_empty(), "factory images list no SBOM: {none}");
    assert_eq!(d.admin_get("/vehicles/NOPE/sbom").await.0, 404);
}
