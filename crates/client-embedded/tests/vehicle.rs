//! A vehicle on one machine: the director on 127.0.0.1 (SQLite), the primary (client-std)
//! with its own A/B image, and two `ecu-sim` secondaries over TCP, one doing partial and
//! one full verification. An assignment is installed on all three ECUs, confirmed, and
//! the director records it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use client_embedded::Ed25519EcuKey;
use client_std::primary::{EcuOutcome, OwnImageConfig, Primary, PrimaryConfig, PrimaryTls, SecondaryConfig};
use metadata_schemas::json::{Object, Value};
use metadata_schemas::{Encode, RoleName};
use repo_simulator::RepoSim;
use threshold_keys::{KeyAlgorithm, KeyFileSigner, Signer};

const VIN: &str = "VEHICLE0001";

/// An `ecu-sim` process, killed when dropped.
struct EcuSim(Child, String);

impl Drop for EcuSim {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn ecu_sim(dir: &Path, serial: &str, hw: &str, seed: u8, extra: &[&str]) -> EcuSim {
    let seed = metadata_schemas::hex::encode(&[seed; 32]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_ecu-sim"))
        .args(["--flash", dir.join(format!("{serial}.flash")).to_str().unwrap()])
        .args(["--serial", serial, "--hardware-id", hw, "--vin", VIN, "--seed", &seed, "--slot-size", "131072"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
    let address = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("{line:?}")).to_string();
    EcuSim(child, address)
}

fn write(path: PathBuf, bytes: &[u8]) -> PathBuf {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, bytes).unwrap();
    path
}

fn key_json(key: &metadata_schemas::Key) -> serde_json::Value {
    serde_json::from_slice(&metadata_schemas::json::to_canonical(&key.encode())).unwrap()
}

/// The director, serving on its own runtime.
struct DirectorService {
    runtime: tokio::runtime::Runtime,
    url: String,
    admin: String,
    data: PathBuf,
}

impl DirectorService {
    fn start(dir: &Path, images: &RepoSim) -> DirectorService {
        let repo = dir.join("image-repo");
        for (name, bytes) in &images.files {
            write(repo.join("metadata").join(name), bytes);
        }
        for (name, bytes) in &images.target_files {
            write(repo.join("targets").join(name), bytes);
        }
        let data = dir.join("director");
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let (url, admin) = runtime.block_on(async {
            let options = director::setup::InitOptions {
                image_repository: Some(director::config::ImageRepoConfig {
                    dir: repo.clone(),
                    root: repo.join("metadata/1.root.json"),
                }),
                ..Default::default()
            };
            let made = director::setup::init(&data, options).await.unwrap();
            let service = director::setup::open(&data).await.unwrap();
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}", listener.local_addr().unwrap());
            tokio::spawn(director::server::serve(listener, director::api::router(service), None));
            (url, made.admin_token)
        });
        DirectorService { runtime, url, admin, data }
    }

    fn admin(&self, method: &str, path: &str, body: serde_json::Value) -> serde_json::Value {
        self.runtime.block_on(async {
            let http = reqwest::Client::new();
            let url = format!("{}/api/v1/admin{path}", self.url);
            let request = match method {
                "POST" => http.post(url).json(&body),
                _ => http.get(url),
            };
            let r = request.bearer_auth(&self.admin).send().await.unwrap();
            let status = r.status();
            let body: serde_json::Value = r.json().await.unwrap_or_default();
            assert!(status.is_success(), "{method} {path}: {status} {body}");
            body
        })
    }

    fn root(&self) -> Vec<u8> {
        let _ = &self.data;
        self.runtime.block_on(async {
            let store =
                director::store::Store::open(&format!("sqlite://{}?mode=rwc", self.data.join("director.db").display()))
                    .await
                    .unwrap();
            store.root(1).await.unwrap().unwrap().into_bytes()
        })
    }
}

fn image_repository() -> RepoSim {
    let mut sim = RepoSim::new(chrono::Utc::now());
    for (path, hw, bytes) in [
        ("gateway/fw-2.bin", "gateway-hw", b"gateway firmware 2".as_slice()),
        ("brake/fw-2.bin", "brake-hw", b"brake firmware 2, verified partially"),
        ("wiper/fw-2.bin", "wiper-hw", b"wiper firmware 2, verified fully"),
    ] {
        let mut custom = Object::new();
        custom.insert("hardware_identifiers", Value::Array(vec![Value::string(hw)]));
        custom.insert("release_counter", Value::unsigned(2));
        sim.add_target(&RoleName::targets(), path, bytes, Some(Value::Object(custom)));
    }
    sim.publish();
    sim
}

#[test]
fn a_valid_signed_update_is_downloaded_installed_and_confirmed_on_every_ecu() {
    let dir = tempfile::tempdir().unwrap();
    let images = image_repository();
    let director = DirectorService::start(dir.path(), &images);
    let director_root = write(dir.path().join("director-root.json"), &director.root());
    let image_root = write(dir.path().join("image-root.json"), &images.file("1.root.json"));
    let factory = write(dir.path().join("factory.bin"), b"factory firmware");

    // The vehicle: the primary (a gateway) and two secondaries.
    let primary_key = KeyFileSigner::generate(KeyAlgorithm::Ed25519).unwrap();
    let key_file = write(dir.path().join("primary.pem"), primary_key.to_pem().as_bytes());
    let ecus = serde_json::json!([
        {"serial": "gateway-1", "hardware_id": "gateway-hw", "public_key": key_json(primary_key.public_key())},
        {"serial": "brake-1", "hardware_id": "brake-hw", "public_key": key_json(Ed25519EcuKey::from_seed(&[1; 32]).public_key()), "verification": "partial"},
        {"serial": "wiper-1", "hardware_id": "wiper-hw", "public_key": key_json(Ed25519EcuKey::from_seed(&[2; 32]).public_key()), "verification": "full"},
    ]);
    let registered = director.admin(
        "POST",
        "/vehicles",
        serde_json::json!({"vin": VIN, "primary_ecu_serial": "gateway-1", "ecus": ecus}),
    );
    let token = registered["device_token"].as_str().unwrap().to_string();
    let provision = |full: bool| {
        let mut args =
            vec!["--provision", "--root", director_root.to_str().unwrap(), "--factory", factory.to_str().unwrap()];
        if full {
            args.extend(["--full", "--image-root", image_root.to_str().unwrap()]);
        }
        args.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let brake_args = provision(false);
    let wiper_args = provision(true);
    let brake =
        ecu_sim(dir.path(), "brake-1", "brake-hw", 1, &brake_args.iter().map(String::as_str).collect::<Vec<_>>());
    let wiper =
        ecu_sim(dir.path(), "wiper-1", "wiper-hw", 2, &wiper_args.iter().map(String::as_str).collect::<Vec<_>>());

    let slots = [write(dir.path().join("slot-a.bin"), b"factory firmware"), dir.path().join("slot-b.bin")];
    let config = PrimaryConfig {
        vin: VIN.into(),
        serial: "gateway-1".into(),
        hardware_id: "gateway-hw".into(),
        key: key_file,
        director: format!("{}/api/v1", director.url),
        image_repository: format!("{}/api/v1/repo", director.url),
        director_root,
        image_root: image_root.clone(),
        state_dir: dir.path().join("primary-state"),
        device_token: Some(token),
        tls: PrimaryTls::default(),
        own_image: OwnImageConfig { slots, activate: vec![], factory_name: "factory.bin".into() },
        secondaries: vec![
            SecondaryConfig { serial: "brake-1".into(), address: brake.1.clone(), full_verification: false },
            SecondaryConfig { serial: "wiper-1".into(), address: wiper.1.clone(), full_verification: true },
        ],
    };

    director.admin(
        "POST",
        "/assignments",
        serde_json::json!({"vehicles": [VIN], "images": {"gateway-hw": "gateway/fw-2.bin", "brake-hw": "brake/fw-2.bin", "wiper-hw": "wiper/fw-2.bin"}}),
    );
    let mut primary = Primary::open(config.clone()).unwrap();
    let first = primary.cycle(chrono::Utc::now()).unwrap();
    for serial in ["gateway-1", "brake-1", "wiper-1"] {
        assert!(
            matches!(first.ecus[serial], EcuOutcome::Installing(_)),
            "{serial}: {:?}\n{:#?}",
            first.ecus[serial],
            first.steps
        );
    }
    // The primary restarts into its trial; the secondaries already reset into theirs and confirmed.
    drop(primary);
    let mut primary = Primary::open(config.clone()).unwrap();
    assert!(primary.own_image().on_trial());
    let second = primary.cycle(chrono::Utc::now()).unwrap();
    assert!(second.ecus.values().all(|o| *o == EcuOutcome::UpToDate), "{:?}", second.ecus);
    assert!(!primary.own_image().on_trial(), "a healthy cycle confirms the primary's image");
    assert_eq!(std::fs::read(dir.path().join("slot-b.bin")).unwrap(), b"gateway firmware 2");

    let status = director.admin("GET", &format!("/vehicles/{VIN}"), serde_json::Value::Null);
    let mut states: Vec<(String, String)> = status["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["ecu"].as_str().unwrap().to_string(), a["state"].as_str().unwrap().to_string()))
        .collect();
    states.sort();
    assert_eq!(
        states,
        [
            ("brake-1".into(), "installed".into()),
            ("gateway-1".into(), "installed".into()),
            ("wiper-1".into(), "installed".into())
        ],
        "{status}"
    );
    let installed: Vec<String> = status["ecus"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["installed"]["filepath"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(installed, ["brake/fw-2.bin", "gateway/fw-2.bin", "wiper/fw-2.bin"]);
    let _ = primary_key.key_id();
}
