//! A vehicle on one machine for the end-to-end tests: the director on 127.0.0.1 with its
//! SQLite file and the image repository, the primary (client-std) with its own A/B
//! slots, and `ecu-sim` secondaries (brake-1 partial, wiper-1 full verification) over
//! TCP with their flash in files. Tests record what they checked as evidence.
#![allow(dead_code)]

pub mod pki;
pub mod proxy;
pub mod tap;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use client_embedded::Ed25519EcuKey;
use client_std::primary::{
    CycleReport, OfflineConfig, OwnImageConfig, Primary, PrimaryConfig, PrimaryTls, SecondaryConfig,
};
use metadata_schemas::json::{Object, Value};
use metadata_schemas::{Encode, RoleName};
use repo_simulator::RepoSim;
use threshold_keys::{KeyAlgorithm, KeyFileSigner};

pub const VIN: &str = "VEHICLE0001";

/// An `ecu-sim` process, killed when dropped.
pub struct EcuSim {
    child: Child,
    pub address: String,
}

impl Drop for EcuSim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl EcuSim {
    /// Waits for the process to end on its own (a power cut ends it with status 3).
    pub fn wait(mut self) -> Option<i32> {
        self.child.wait().unwrap().code()
    }
}

pub fn write(path: PathBuf, bytes: &[u8]) -> PathBuf {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, bytes).unwrap();
    path
}

fn key_json(key: &metadata_schemas::Key) -> serde_json::Value {
    serde_json::from_slice(&metadata_schemas::json::to_canonical(&key.encode())).unwrap()
}

/// One secondary: serial, hardware id, key seed, full verification.
pub const SECONDARIES: [(&str, &str, u8, bool); 2] =
    [("brake-1", "brake-hw", 1, false), ("wiper-1", "wiper-hw", 2, true)];

/// Image repository targets: (path, hardware id, release counter, bytes).
pub fn images(list: &[(&str, &str, u64, &[u8])]) -> RepoSim {
    let mut sim = RepoSim::new(chrono::Utc::now());
    add_images(&mut sim, &RoleName::targets(), list);
    sim.publish();
    sim
}

/// A 48 KiB image: its name, then filler that differs per image (large enough that a
/// download cut halfway has delivered bytes).
pub fn image_bytes(name: &str) -> Vec<u8> {
    let mut bytes = name.as_bytes().to_vec();
    let seed = threshold_keys::digest::sha256(name.as_bytes());
    while bytes.len() < 48 * 1024 {
        bytes.push(seed[bytes.len() % 32] ^ (bytes.len() / 32) as u8);
    }
    bytes
}

/// Image repository targets: (path, hardware id, release counter, bytes) under `role`.
pub fn add_images(sim: &mut RepoSim, role: &RoleName, list: &[(&str, &str, u64, &[u8])]) {
    for (path, hw, counter, bytes) in list {
        let mut custom = Object::new();
        custom.insert("hardware_identifiers", Value::Array(vec![Value::string(hw.to_string())]));
        custom.insert("release_counter", Value::unsigned(*counter));
        sim.add_target(role, path, bytes, Some(Value::Object(custom)));
    }
}

/// Firmware 1 and 2 for the three ECUs: (path, hardware id, release counter, bytes).
pub fn firmware_list() -> Vec<(&'static str, &'static str, u64, Vec<u8>)> {
    [
        ("gateway/fw-1.bin", "gateway-hw", 1, "gateway firmware 1"),
        ("gateway/fw-2.bin", "gateway-hw", 2, "gateway firmware 2"),
        ("brake/fw-1.bin", "brake-hw", 1, "brake firmware 1"),
        ("brake/fw-2.bin", "brake-hw", 2, "brake firmware 2, verified partially"),
        ("wiper/fw-1.bin", "wiper-hw", 1, "wiper firmware 1"),
        ("wiper/fw-2.bin", "wiper-hw", 2, "wiper firmware 2, verified fully"),
    ]
    .into_iter()
    .map(|(path, hw, counter, name)| (path, hw, counter, image_bytes(name)))
    .collect()
}

/// Firmware 2 (and firmware 1, to roll back to) for the three ECUs.
pub fn firmware() -> RepoSim {
    let list = firmware_list();
    let entries: Vec<_> = list.iter().map(|(path, hw, counter, b)| (*path, *hw, *counter, b.as_slice())).collect();
    images(&entries)
}

/// The same firmware in an image repository whose top-level targets list nothing and
/// delegate to 16 hash bins (by the first hex digit of the path's SHA-256), as
/// `repo-tool bins` lays one out.
pub fn firmware_in_hash_bins() -> RepoSim {
    let mut sim = RepoSim::new(chrono::Utc::now());
    let bins: Vec<RoleName> = (0..16)
        .map(|i| {
            let spec = metadata_schemas::PathSpec::HashPrefixes(vec![format!("{i:x}")]);
            sim.delegate(&RoleName::targets(), &format!("bins-{i:x}"), spec, true, 1, 1)
        })
        .collect();
    for (path, hw, counter, bytes) in firmware_list() {
        let bin = &bins[usize::from(threshold_keys::digest::sha256(path.as_bytes())[0] >> 4)];
        add_images(&mut sim, bin, &[(path, hw, counter, &bytes)]);
    }
    sim.publish();
    sim
}

/// The whole vehicle.
pub struct Vehicle {
    pub dir: tempfile::TempDir,
    pub runtime: tokio::runtime::Runtime,
    pub director_url: String,
    admin: String,
    pub config: PrimaryConfig,
    pub sims: BTreeMap<String, EcuSim>,
    pub images: RepoSim,
    /// The director service the server runs (for timers a test drives itself).
    pub service: std::sync::Arc<director::service::Director>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Vehicle {
    /// A registered vehicle whose ECUs run factory images, with `images` published.
    pub fn new(images: RepoSim) -> Vehicle {
        Self::with_tls(images, None)
    }

    /// The same, the director serving TLS (`tls`, and the CA PEM the primary trusts).
    pub fn with_tls(images: RepoSim, tls: Option<(director::config::TlsConfig, PathBuf)>) -> Vehicle {
        let mut vehicle = Self::registered(images, tls, &SECONDARIES);
        for (serial, _, _, full) in SECONDARIES {
            let factory =
                write(vehicle.dir.path().join(format!("{serial}-factory.bin")), format!("{serial} factory").as_bytes());
            let mut args = vec![
                "--provision".to_string(),
                "--root".into(),
                vehicle.config.director_root.display().to_string(),
                "--factory".into(),
                factory.display().to_string(),
            ];
            if full {
                args.extend(["--image-root".into(), vehicle.config.image_root.display().to_string()]);
            }
            vehicle.start_sim(serial, &args);
            vehicle.config.secondaries.push(SecondaryConfig {
                serial: serial.into(),
                address: vehicle.sims[serial].address.clone(),
                full_verification: full,
            });
        }
        vehicle
    }

    /// The director running and the vehicle registered with the gateway and `secondaries`
    /// (serial, hardware id, ECU key seed byte, full verification), none of them started
    /// nor in the primary's configuration yet.
    pub fn registered(
        images: RepoSim,
        tls: Option<(director::config::TlsConfig, PathBuf)>,
        secondaries: &[(&str, &str, u8, bool)],
    ) -> Vehicle {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("image-repo");
        for (name, bytes) in &images.files {
            write(repo.join("metadata").join(name), bytes);
        }
        for (name, bytes) in &images.target_files {
            write(repo.join("targets").join(name), bytes);
        }
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let data = dir.path().join("director");
        let (director_url, admin, root, server, service) = runtime.block_on(async {
            let options = director::setup::InitOptions {
                image_repository: Some(director::config::ImageRepoConfig {
                    dir: repo.clone(),
                    root: repo.join("metadata/1.root.json"),
                }),
                tls: tls.as_ref().map(|(t, _)| t.clone()),
                ..Default::default()
            };
            let made = director::setup::init(&data, options).await.unwrap();
            let service = director::setup::open(&data).await.unwrap();
            let root = service.store.root(1).await.unwrap().unwrap();
            let server_tls = service.config.tls.as_ref().map(|t| director::server::tls_config(t).unwrap());
            let scheme = if server_tls.is_some() { "https" } else { "http" };
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("{scheme}://{}", listener.local_addr().unwrap());
            let server = tokio::spawn(director::server::serve(
                listener,
                director::api::router(service.clone()),
                server_tls,
                service.config.limits.clone(),
            ));
            (url, made.admin_token, root, server, service)
        });
        let mut vehicle = Vehicle {
            runtime,
            director_url: director_url.clone(),
            admin,
            config: PrimaryConfig {
                vin: VIN.into(),
                serial: "gateway-1".into(),
                hardware_id: "gateway-hw".into(),
                key: PathBuf::new(),
                director: format!("{director_url}/api/v1"),
                image_repository: format!("{director_url}/api/v1/repo"),
                director_root: write(dir.path().join("director-root.json"), root.as_bytes()),
                image_root: write(dir.path().join("image-root.json"), &images.file("1.root.json")),
                state_dir: dir.path().join("primary-state"),
                device_token: None,
                tls: PrimaryTls { ca_bundle: tls.as_ref().map(|(_, ca)| ca.clone()), ..Default::default() },
                own_image: OwnImageConfig {
                    slots: [write(dir.path().join("slot-a.bin"), b"gateway factory"), dir.path().join("slot-b.bin")],
                    activate: vec![],
                    factory_name: "gateway/factory.bin".into(),
                    // Nothing reboots here: every start of the primary counts as a boot.
                    boot_id: None,
                    health_check: vec![],
                    decryption_secret: None,
                    require_encryption: false,
                    trial_attempts: 3,
                    rescue: None,
                },
                secondaries: Vec::new(),
                offline: OfflineConfig { enabled: true },
            },
            sims: BTreeMap::new(),
            images,
            service,
            server,
            dir,
        };
        let primary_key = KeyFileSigner::generate(KeyAlgorithm::Ed25519).unwrap();
        vehicle.config.key = write(vehicle.dir.path().join("primary.pem"), primary_key.to_pem().as_bytes());
        let mut ecus = vec![
            serde_json::json!({"serial": "gateway-1", "hardware_id": "gateway-hw", "public_key": key_json(threshold_keys::Signer::public_key(&primary_key))}),
        ];
        for &(serial, hw, seed, full) in secondaries {
            let key = Ed25519EcuKey::from_seed(&[seed; 32]);
            ecus.push(serde_json::json!({"serial": serial, "hardware_id": hw, "public_key": key_json(key.public_key()), "verification": if full { "full" } else { "partial" }}));
        }
        let registered = vehicle.admin(
            "POST",
            "/vehicles",
            serde_json::json!({"vin": VIN, "primary_ecu_serial": "gateway-1", "ecus": ecus}),
        );
        vehicle.config.device_token = Some(registered["device_token"].as_str().unwrap().to_string());
        vehicle
    }

    /// Writes the image repository's files where the director serves them.
    pub fn publish_images(&self) {
        let repo = self.dir.path().join("image-repo");
        let _ = std::fs::remove_dir_all(&repo);
        for (name, bytes) in &self.images.files {
            write(repo.join("metadata").join(name), bytes);
        }
        for (name, bytes) in &self.images.target_files {
            write(repo.join("targets").join(name), bytes);
        }
    }

    /// Rotates the director's online targets and timestamp keys the way an operator
    /// does: director root v(N+1) signed with the offline root key, `import-root` with
    /// the service stopped, then the service started again on the same address.
    pub fn rotate_director_keys(&mut self) {
        let data = self.dir.path().join("director");
        let address = self.director_url.split_once("://").unwrap().1.to_string();
        let server = std::mem::replace(&mut self.server, self.runtime.spawn(async { Ok(()) }));
        server.abort();
        let _ = self.runtime.block_on(server);
        let root_key = std::fs::read_to_string(data.join("offline/root-1.pem")).unwrap();
        let root_key = KeyFileSigner::from_pem(&root_key, None).unwrap();
        let (targets_key, timestamp_key) = (
            KeyFileSigner::generate(KeyAlgorithm::Ed25519).unwrap(),
            KeyFileSigner::generate(KeyAlgorithm::Ed25519).unwrap(),
        );
        write(data.join("keys/targets-rotated.pem"), targets_key.to_pem().as_bytes());
        write(data.join("keys/timestamp-rotated.pem"), timestamp_key.to_pem().as_bytes());
        let (listener, service, tls) = self.runtime.block_on(async {
            let (_, current) = director::setup::open(&data).await.unwrap().store.latest_root().await.unwrap().unwrap();
            let mut root = metadata_schemas::Signed::<metadata_schemas::Root>::decode_unverified(current.as_bytes())
                .unwrap()
                .signed;
            root.common.version = root.common.version.next().unwrap();
            for key in [&targets_key, &timestamp_key] {
                root.keys.insert(
                    threshold_keys::Signer::key_id(key).clone(),
                    threshold_keys::Signer::public_key(key).clone(),
                );
            }
            root.roles.targets.keyids = vec![threshold_keys::Signer::key_id(&targets_key).clone()];
            root.roles.timestamp.keyids = vec![threshold_keys::Signer::key_id(&timestamp_key).clone()];
            let mut signed = metadata_schemas::Signed::unsigned(root);
            signed.signatures.push(threshold_keys::Signer::sign(&root_key, &signed.canonical_signed()).unwrap());
            let keys = [
                ("targets".to_string(), "keys/targets-rotated.pem".to_string()),
                ("timestamp".to_string(), "keys/timestamp-rotated.pem".to_string()),
            ];
            director::setup::import_root(&data, &signed.to_pretty_json(), &keys).await.unwrap();
            let service = director::setup::open(&data).await.unwrap();
            let tls = service.config.tls.as_ref().map(|t| director::server::tls_config(t).unwrap());
            (tokio::net::TcpListener::bind(&address).await.unwrap(), service, tls)
        });
        self.server = self.runtime.spawn(director::server::serve(
            listener,
            director::api::router(service.clone()),
            tls,
            service.config.limits.clone(),
        ));
        self.service = service;
    }

    /// Rotates the image repository's targets key through its root v(N+1), published.
    pub fn rotate_image_repository_keys(&mut self) {
        self.images.replace_role_keys(&RoleName::targets(), vec![repo_simulator::new_key()], 1);
        self.images.publish_root();
        self.images.touch(&RoleName::targets());
        self.images.publish();
        self.publish_images();
    }

    /// The root versions a secondary trusts (director, image repository; 0 for none).
    pub fn root_versions(&self, serial: &str) -> (u32, u32) {
        let secondary = self.config.secondaries.iter().find(|s| s.serial == serial).unwrap();
        let mut link = client_std::primary::link::Link::connect(serial, &secondary.address).unwrap();
        link.expect_ok(client_embedded::protocol::Request::StartCycle(chrono::Utc::now().timestamp() as u64)).unwrap();
        match link.call(client_embedded::protocol::Request::GetRootVersions).unwrap() {
            client_embedded::protocol::Response::RootVersions { director, images } => (director, images),
            other => panic!("{serial}: {other:?}"),
        }
    }

    /// Whether a secondary answers as decommissioned (it signs nothing any more).
    pub fn secondary_decommissioned(&self, serial: &str) -> bool {
        let secondary = self.config.secondaries.iter().find(|s| s.serial == serial).unwrap();
        let mut link = client_std::primary::link::Link::connect(serial, &secondary.address).unwrap();
        matches!(
            link.call(client_embedded::protocol::Request::GetVersionReport).unwrap(),
            client_embedded::protocol::Response::Decommissioned
        )
    }

    /// The time a secondary trusts, as its signed version report states it (Unix seconds).
    pub fn trusted_time(&self, serial: &str) -> i64 {
        let secondary = self.config.secondaries.iter().find(|s| s.serial == serial).unwrap();
        let mut link = client_std::primary::link::Link::connect(serial, &secondary.address).unwrap();
        let client_embedded::protocol::Response::VersionReport(bytes) =
            link.call(client_embedded::protocol::Request::GetVersionReport).unwrap()
        else {
            panic!("{serial}: no version report")
        };
        let envelope = metadata_schemas::Envelope::parse(&bytes).unwrap();
        let report: metadata_schemas::uptane::EcuVersionReport = envelope.decode_signed().unwrap();
        report.latest_time.time().timestamp()
    }

    /// Starts (or restarts, power on) a secondary's `ecu-sim` with `extra` arguments.
    pub fn start_sim(&mut self, serial: &str, extra: &[String]) {
        self.sims.remove(serial);
        let (_, hw, seed, full) = SECONDARIES.iter().find(|s| s.0 == serial).copied().unwrap();
        let seed = metadata_schemas::hex::encode(&[seed; 32]);
        let address = self.sims_address(serial);
        let mut command = Command::new(env!("CARGO_BIN_EXE_harness-ecu-sim"));
        command
            .args(["--flash", self.dir.path().join(format!("{serial}.flash")).to_str().unwrap()])
            .args(["--serial", serial, "--hardware-id", hw, "--vin", VIN, "--seed", &seed, "--slot-size", "131072"])
            .args(["--listen", &address])
            .args(extra);
        if full {
            command.arg("--full");
        }
        // Its diagnostics go to a file, shown if it does not start.
        let log = self.dir.path().join(format!("{serial}.stderr"));
        let stderr = std::fs::OpenOptions::new().create(true).append(true).open(&log).unwrap();
        let mut child = command.stdout(Stdio::piped()).stderr(stderr).spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
        let address = line.trim().strip_prefix("listening on ").map(str::to_string).unwrap_or_else(|| {
            let said = std::fs::read_to_string(&log).unwrap_or_default();
            panic!("{serial} did not start: {line:?}; it said:\n{said}")
        });
        self.sims.insert(serial.to_string(), EcuSim { child, address });
    }

    /// Puts another ECU (serial `serial`, its own flash and key) where `slot` was.
    pub fn start_sim_as(&mut self, slot: &str, serial: &str) {
        let address = self.sims_address(slot);
        self.sims.remove(slot);
        let factory = write(self.dir.path().join(format!("{serial}-factory.bin")), b"another ECU's firmware");
        let mut child = Command::new(env!("CARGO_BIN_EXE_harness-ecu-sim"))
            .args(["--flash", self.dir.path().join(format!("{serial}.flash")).to_str().unwrap()])
            .args(["--serial", serial, "--hardware-id", "wiper-hw", "--vin", VIN, "--seed", &"09".repeat(32)])
            .args(["--listen", &address, "--provision", "--root", self.config.director_root.to_str().unwrap()])
            .args(["--factory", factory.to_str().unwrap()])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
        let address =
            line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("{serial}: {line:?}")).to_string();
        self.sims.insert(serial.to_string(), EcuSim { child, address });
    }

    /// A secondary keeps its address across restarts (the primary's configuration names it).
    fn sims_address(&self, serial: &str) -> String {
        self.config.secondaries.iter().find(|s| s.serial == serial).map_or("127.0.0.1:0".into(), |s| s.address.clone())
    }

    /// An administrator call to the director, which must succeed; its answer.
    pub fn admin(&self, method: &str, path: &str, body: serde_json::Value) -> serde_json::Value {
        let (status, answer) = self.admin_call(method, path, body);
        assert!((200..300).contains(&status), "{method} {path}: {status} {answer}");
        answer
    }

    /// An administrator call to the director: its status and answer.
    pub fn admin_call(&self, method: &str, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let url = format!("{}/api/v1/admin{path}", self.director_url);
        let ca = self.config.tls.ca_bundle.clone();
        self.runtime.block_on(async {
            let mut http = http_client();
            if let Some(ca) = ca {
                http = http.add_root_certificate(reqwest::Certificate::from_pem(&std::fs::read(ca).unwrap()).unwrap());
            }
            let http = http.build().unwrap();
            let request = match method {
                "POST" => http.post(url).json(&body),
                "PUT" => http.put(url).json(&body),
                "DELETE" => http.delete(url),
                _ => http.get(url),
            };
            let r = request.bearer_auth(&self.admin).send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.json().await.unwrap_or_default())
        })
    }

    /// Assigns (hardware id, target path) images.
    pub fn assign(&self, images: &[(&str, &str)]) {
        let images: serde_json::Map<String, serde_json::Value> =
            images.iter().map(|(h, p)| (h.to_string(), serde_json::json!(p))).collect();
        self.admin("POST", "/assignments", serde_json::json!({"vehicles": [VIN], "images": images}));
    }

    /// One start of the primary and one cycle at `now`.
    pub fn cycle_at(&self, now: chrono::DateTime<chrono::Utc>) -> Result<CycleReport, client_std::Error> {
        Primary::open(self.config.clone())?.cycle(now)
    }

    /// One start of the primary and one cycle.
    pub fn cycle(&self) -> Result<CycleReport, client_std::Error> {
        self.cycle_at(chrono::Utc::now())
    }

    /// Cycles until every ECU is up to date (at most `max`); the reports.
    pub fn until_done(&self, max: usize) -> Vec<CycleReport> {
        let mut reports = Vec::new();
        for _ in 0..max {
            let report = self.cycle().unwrap();
            let done = report.ecus.values().all(|o| o.is_up_to_date());
            reports.push(report);
            if done && !Primary::open(self.config.clone()).unwrap().own_image().on_trial() {
                break;
            }
        }
        reports
    }

    /// The director's view of the vehicle.
    pub fn status(&self) -> serde_json::Value {
        self.admin("GET", &format!("/vehicles/{VIN}"), serde_json::Value::Null)
    }

    /// Each ECU's installed image path, as the director last heard.
    pub fn installed(&self) -> BTreeMap<String, String> {
        self.status()["ecus"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["serial"].as_str().unwrap().to_string(),
                    e["installed"]["filepath"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    }

    /// What each ECU itself says it runs (not the director's view), by serial: the
    /// primary's own image state and each secondary's answer over the protocol.
    pub fn running(&self) -> BTreeMap<String, String> {
        let own = client_std::primary::OwnImage::open(&self.config.own_image, &self.config.state_dir).unwrap();
        let mut running = BTreeMap::from([(self.config.serial.clone(), own.running().name.clone())]);
        for secondary in &self.config.secondaries {
            let mut link = client_std::primary::link::Link::connect(&secondary.serial, &secondary.address).unwrap();
            let client_embedded::protocol::Response::Info(info) =
                link.call(client_embedded::protocol::Request::GetInfo).unwrap()
            else {
                panic!("{}: no info", secondary.serial)
            };
            let name = String::from_utf8_lossy(&info).lines().nth(2).unwrap_or("").to_string();
            running.insert(secondary.serial.clone(), name);
        }
        running
    }

    /// Each assignment's state, by ECU (the newest per ECU).
    pub fn assignment_states(&self) -> BTreeMap<String, String> {
        let status = self.status();
        let mut states = BTreeMap::new();
        for a in status["assignments"].as_array().unwrap() {
            states.insert(a["ecu"].as_str().unwrap().to_string(), a["state"].as_str().unwrap().to_string());
        }
        states
    }

    /// The state of the assignment of `target` to `ecu`.
    pub fn assignment_state(&self, ecu: &str, target: &str) -> String {
        let status = self.status();
        let found = status["assignments"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["ecu"] == ecu && a["target"] == target)
            .cloned();
        found.map(|a| a["state"].as_str().unwrap().to_string()).unwrap_or_default()
    }

    /// The primary's configuration as the JSON file `update-client primary` reads.
    pub fn config_json(&self) -> serde_json::Value {
        let config = &self.config;
        serde_json::json!({
            "vin": config.vin, "serial": config.serial, "hardware_id": config.hardware_id, "key": config.key,
            "director": config.director, "image_repository": config.image_repository,
            "director_root": config.director_root, "image_root": config.image_root, "state_dir": config.state_dir,
            "device_token": config.device_token,
            "own_image": {"slots": config.own_image.slots, "factory_name": config.own_image.factory_name, "boot_id": null},
            "secondaries": config.secondaries.iter().map(|s| serde_json::json!({
                "serial": s.serial, "address": s.address, "full_verification": s.full_verification,
            })).collect::<Vec<_>>(),
            "offline": {"enabled": config.offline.enabled},
        })
    }

    /// Asks the director to decommission the vehicle and has the image repository sign the
    /// same command (as `repo-tool decommission` does), then lets the director see it.
    pub fn decommission(&mut self) -> String {
        let request =
            self.admin("POST", &format!("/vehicles/{VIN}/decommission"), serde_json::json!({"reason": "end of life"}));
        let nonce = request["nonce"].as_str().unwrap().to_string();
        let command = metadata_schemas::uptane::DecommissionCommand {
            vin: metadata_schemas::uptane::Vin::new(VIN).unwrap(),
            nonce: nonce.clone(),
            issued: metadata_schemas::UtcTime::new(chrono::Utc::now()),
            erase: metadata_schemas::uptane::EraseItem::ALL.to_vec(),
            unknown: Default::default(),
        };
        let bytes = metadata_schemas::json::to_canonical(&command.encode());
        self.images.add_target(
            &RoleName::targets(),
            metadata_schemas::uptane::command_path(&command.vin).as_str(),
            &bytes,
            None,
        );
        self.images.publish();
        self.publish_images();
        let progress = self.runtime.block_on(self.service.follow_decommissions(chrono::Utc::now())).unwrap();
        assert_eq!(progress.issued, 1);
        nonce
    }

    /// Where the director holds the vehicle's decommissioning.
    pub fn decommission_state(&self) -> String {
        let record = self.admin("GET", &format!("/vehicles/{VIN}/decommission"), serde_json::Value::Null);
        record["state"].as_str().unwrap().to_string()
    }

    /// What a decommissioned primary must have erased and kept.
    pub fn erased_and_kept(&self) -> Vec<(String, bool)> {
        let config = &self.config;
        let journal = client_std::primary::decommission::read_journal(&config.state_dir).unwrap();
        vec![
            ("the primary's ECU key is erased".into(), !config.key.exists()),
            ("the downloads are erased".into(), !config.state_dir.join("downloads").exists()),
            (
                "the journal says done".into(),
                journal.is_some_and(|j| j.stage == client_std::primary::decommission::Stage::Done),
            ),
            ("the trusted director root is kept".into(), config.state_dir.join("director/root.json").exists()),
            ("the trusted image repository root is kept".into(), config.state_dir.join("images/root.json").exists()),
            (
                "the factory image is kept".into(),
                std::fs::read(&config.own_image.slots[0]).unwrap() == b"gateway factory",
            ),
        ]
    }

    /// The director's events for the vehicle.
    pub fn events(&self) -> Vec<serde_json::Value> {
        self.admin("GET", &format!("/vehicles/{VIN}/events?limit=1000"), serde_json::Value::Null)["events"]
            .as_array()
            .unwrap()
            .clone()
    }
}

/// The brake ECU's image decryption secret in these tests.
pub const BRAKE_DECRYPTION_SECRET: [u8; 32] = [0x42; 32];

/// A vehicle whose brake ECU requires encrypted images and has its decryption key
/// registered; the wiper (no key) gets its images in the clear.
pub fn encrypting_vehicle(registered_key: [u8; 32]) -> Vehicle {
    let mut vehicle = Vehicle::new(firmware());
    let public = image_crypto::EcuDecryptionKey::from_secret(registered_key).public();
    let hex = metadata_schemas::hex::encode(&public);
    vehicle.admin("PUT", "/encryption/brake-hw", serde_json::json!({"policy": "required"}));
    vehicle.admin("PUT", "/encryption/wiper-hw", serde_json::json!({"policy": "optional"}));
    let path = format!("/vehicles/{}/ecus/brake-1/decryption-key", VIN);
    vehicle.admin("PUT", &path, serde_json::json!({"decryption_key": hex}));
    let secret = metadata_schemas::hex::encode(&BRAKE_DECRYPTION_SECRET);
    vehicle.start_sim("brake-1", &["--decryption-secret".into(), secret, "--require-encryption".into()]);
    vehicle
}

/// Records what a test checked (`target/evidence/<test>.json`) and asserts every check.
/// `scripts/evidence-report` turns the records into the test-evidence report.
pub fn evidence(test: &str, claim: &str, checks: &[(&str, bool)]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/evidence");
    std::fs::create_dir_all(&dir).unwrap();
    let passed = checks.iter().all(|(_, ok)| *ok);
    let record = serde_json::json!({
        "test": test,
        "claim": claim,
        "checks": checks.iter().map(|(what, ok)| serde_json::json!({"check": what, "passed": ok})).collect::<Vec<_>>(),
        "passed": passed,
        "time": chrono::Utc::now().to_rfc3339(),
    });
    std::fs::write(dir.join(format!("{test}.json")), serde_json::to_vec_pretty(&record).unwrap()).unwrap();
    for (what, ok) in checks {
        assert!(ok, "{test}: {what}");
    }
}

/// An HTTP client builder on ring, the one TLS crypto provider of the project.
pub fn http_client() -> reqwest::ClientBuilder {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}

/// The director's offline-updates key (`director init` writes it beside the root key).
pub fn offline_updates_key(vehicle: &Vehicle) -> KeyFileSigner {
    let pem = std::fs::read_to_string(vehicle.dir.path().join("director/offline/offline-updates.pem")).unwrap();
    KeyFileSigner::from_pem(&pem, None).unwrap()
}

/// Writes an offline bundle into `name` (under the vehicle's directory) carrying the
/// firmware `paths` (from [`firmware_list`]) as `repo-tool bundle create` lays one out:
/// the director root, the image repository's published metadata, the images, and the
/// offline metadata of `spec` (its images replaced by `paths`) signed by `key`.
pub fn offline_bundle(
    vehicle: &Vehicle,
    name: &str,
    paths: &[&str],
    mut spec: repo_simulator::offline::OfflineSpec,
    key: &KeyFileSigner,
) -> PathBuf {
    use metadata_schemas::uptane::bundle_paths;
    let out = vehicle.dir.path().join(name);
    let root = std::fs::read(&vehicle.config.director_root).unwrap();
    write(out.join(bundle_paths::DIRECTOR).join("1.root.json"), &root);
    for (file, bytes) in &vehicle.images.files {
        write(out.join(bundle_paths::IMAGE_REPOSITORY).join(file), bytes);
    }
    spec.images.clear();
    let listed = &vehicle.images.targets[&RoleName::targets()].targets;
    for path in paths {
        let target = metadata_schemas::TargetPath::new(*path);
        let file = listed.get(&target).unwrap_or_else(|| panic!("{path} is not listed"));
        let custom = metadata_schemas::uptane::ImageTargetCustom::from_target(&target, file).unwrap();
        let bytes = vehicle.images.target_files[*path].clone();
        write(out.join(bundle_paths::TARGETS).join(path), &bytes);
        let hardware = custom.hardware_identifiers.iter().map(|h| h.as_str().to_string()).collect();
        let release_counter = custom.release_counter;
        spec.images.push(repo_simulator::offline::OfflineImage {
            path: path.to_string(),
            bytes,
            hardware,
            release_counter,
        });
    }
    let (snapshot, targets) = spec.sign(key);
    write(out.join(bundle_paths::OFFLINE_SNAPSHOT), &snapshot);
    write(out.join(bundle_paths::OFFLINE_TARGETS), &targets);
    out
}
