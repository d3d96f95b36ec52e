//! A director on 127.0.0.1 over a real database (a SQLite file, or a PostgreSQL server
//! the harness starts), an image repository built with the repository simulator, and
//! vehicles whose ECUs sign real version reports.
#![allow(dead_code)]

pub mod fleet;
pub mod postgres;
pub mod process;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use director::config::{ImageRepoConfig, Lifetimes};
use director::setup::{self, InitOptions};
use metadata_schemas::json::{Object, Value};
use metadata_schemas::uptane::{AttackCode, EcuSerial, EcuVersionReport, InstalledImage, VehicleVersionManifest, Vin};
use metadata_schemas::{Digest, Encode, Hashes, RoleName, Signed, TargetPath, UnknownFields, UtcTime};
use repo_simulator::RepoSim;
use threshold_keys::{KeyFileSigner, Signer};

/// A running director.
pub struct Director {
    pub dir: tempfile::TempDir,
    pub url: String,
    pub admin: String,
    /// A token with the viewer role.
    pub viewer: String,
    pub http: reqwest::Client,
    pub images: RepoSim,
    pub service: Arc<director::service::Director>,
}

/// Image repository content: (path, hardware id, release counter, bytes).
pub fn image_repository(images: &[(&str, &str, u64, &[u8])]) -> RepoSim {
    image_repository_with(images, &[])
}

/// [`image_repository`], the images of each `(hardware id, end)` pointing to a support
/// period that ends at `end` (`custom.lifecycle`, as `repo-tool lifecycle set` writes).
pub fn image_repository_with(images: &[(&str, &str, u64, &[u8])], support: &[(&str, DateTime<Utc>)]) -> RepoSim {
    let mut sim = RepoSim::new(Utc::now());
    for (path, hw, counter, bytes) in images {
        let mut custom = Object::new();
        custom.insert("hardware_identifiers", Value::Array(vec![Value::string(hw.to_string())]));
        custom.insert("release_counter", Value::unsigned(*counter));
        if *path == "brake/fw-3.bin" {
            // A security update (as `repo-tool targets add --advisory` marks one).
            custom.insert("security", Value::Bool(true));
            custom.insert("advisories", Value::Array(vec![Value::string("CVE-2026-0042".to_string())]));
        }
        if let Some((_, end)) = support.iter().find(|(h, _)| h == hw) {
            let mut lifecycle = Object::new();
            lifecycle.insert("record", Value::string(format!("lifecycle/{hw}.json")));
            lifecycle.insert("end_of_security_support", Value::string(end.format("%Y-%m-%dT%H:%M:%SZ").to_string()));
            custom.insert("lifecycle", Value::Object(lifecycle));
        }
        sim.add_target(&RoleName::targets(), path, bytes, Some(Value::Object(custom)));
    }
    sim.publish();
    sim
}

/// The images every test director serves; the wiper's support period ends in 90 days.
pub fn default_images() -> RepoSim {
    image_repository_with(
        &[
            ("brake/fw-2.bin", "brake-hw", 2, b"brake firmware 2"),
            ("brake/fw-3.bin", "brake-hw", 3, b"brake firmware 3"),
            ("wiper/fw-2.bin", "wiper-hw", 2, b"wiper firmware 2"),
            ("gateway/fw-2.bin", "gateway-hw", 2, b"gateway firmware 2"),
        ],
        &[("wiper-hw", Utc::now() + chrono::Duration::days(90))],
    )
}

impl Director {
    /// Starts a director on `database_url` (None: SQLite in its data directory).
    pub async fn start(database_url: Option<String>, lifetimes: Option<Lifetimes>) -> Director {
        Self::start_with(database_url, lifetimes, None).await
    }

    /// Starts a director with TLS (`tls`, and the CA PEM the test client trusts).
    pub async fn start_with(
        database_url: Option<String>,
        lifetimes: Option<Lifetimes>,
        tls: Option<(director::config::TlsConfig, String)>,
    ) -> Director {
        let dir = tempfile::tempdir().unwrap();
        let images = default_images();
        let repo = dir.path().join("image-repo");
        for (name, bytes) in &images.files {
            write(repo.join("metadata").join(name), bytes);
        }
        for (name, bytes) in &images.target_files {
            write(repo.join("targets").join(name), bytes);
        }
        let data = dir.path().join("data");
        let options = InitOptions {
            database_url,
            image_repository: Some(ImageRepoConfig { dir: repo.clone(), root: repo.join("metadata/1.root.json") }),
            lifetimes,
            tls: tls.as_ref().map(|(t, _)| t.clone()),
            ..Default::default()
        };
        let made = setup::init(&data, options).await.unwrap();
        let viewer = director::config::new_token();
        let mut config = director::config::Config::load(&data).unwrap();
        config.admin_tokens.push(director::config::AdminToken {
            name: "auditor".into(),
            token_sha256: director::config::token_hash(&viewer),
            role: director::config::Role::Viewer,
        });
        config.save(&data).unwrap();
        let service = setup::open(&data).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let server_tls = service.config.tls.as_ref().map(|t| director::server::tls_config(t).unwrap());
        let scheme = if server_tls.is_some() { "https" } else { "http" };
        let url = format!("{scheme}://{address}");
        tokio::spawn(director::server::serve(
            listener,
            director::api::router(service.clone()),
            server_tls,
            service.config.limits.clone(),
        ));
        let mut http = http_client();
        if let Some((_, ca)) = &tls {
            http = http.add_root_certificate(reqwest::Certificate::from_pem(ca.as_bytes()).unwrap());
        }
        Director { dir, url, admin: made.admin_token, viewer, http: http.build().unwrap(), images, service }
    }

    /// Stops serving through this instance's state and serves the data directory
    /// afresh (as after a restart), at a new address.
    pub async fn restart(&mut self) {
        let service = setup::open(&self.data()).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        self.url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(director::server::serve(
            listener,
            director::api::router(service.clone()),
            None,
            service.config.limits.clone(),
        ));
        self.service = service;
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Writes the image repository's files where the director reads them (after the
    /// test changed and published it).
    pub fn write_images(&self) {
        let repo = self.dir.path().join("image-repo");
        for (name, bytes) in &self.images.files {
            write(repo.join("metadata").join(name), bytes);
        }
        for (name, bytes) in &self.images.target_files {
            write(repo.join("targets").join(name), bytes);
        }
    }

    pub async fn admin_post(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let r = self
            .http
            .post(format!("{}/api/v1/admin{path}", self.url))
            .bearer_auth(&self.admin)
            .json(&body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// Any admin request (`PUT`, `DELETE`...) with a JSON body.
    pub async fn admin_send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let url = format!("{}/api/v1/admin{path}", self.url);
        let r = self.http.request(method, url).bearer_auth(&self.admin).json(&body).send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(serde_json::Value::Null))
    }

    pub async fn admin_get(&self, path: &str) -> (u16, serde_json::Value) {
        let r =
            self.http.get(format!("{}/api/v1/admin{path}", self.url)).bearer_auth(&self.admin).send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// Registers `vehicle`; its device token.
    pub async fn register(&self, vehicle: &Vehicle) -> String {
        let (status, body) = self.admin_post("/vehicles", vehicle.registration()).await;
        assert_eq!(status, 201, "{body}");
        body["device_token"].as_str().unwrap().to_string()
    }

    /// A check-in: a fresh manifest from every ECU of `vehicle`.
    pub async fn check_in(&self, vehicle: &mut Vehicle, token: &str) -> (u16, serde_json::Value) {
        let manifest = vehicle.manifest();
        self.put_manifest(vehicle, token, manifest).await
    }

    /// PUTs a manifest with the vehicle's token: status and body.
    pub async fn put_manifest(&self, vehicle: &Vehicle, token: &str, manifest: Vec<u8>) -> (u16, serde_json::Value) {
        let r = self
            .http
            .put(format!("{}/api/v1/vehicles/{}/manifest", self.url, vehicle.vin))
            .bearer_auth(token)
            .body(manifest)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// GETs a director file with the vehicle's token: status and bytes.
    pub async fn director_file(&self, vin: &str, token: &str, file: &str) -> (u16, Vec<u8>) {
        let r = self
            .http
            .get(format!("{}/api/v1/vehicles/{vin}/director/{file}", self.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
    }

    /// The vehicle's director targets, verified from the director root like a primary.
    pub async fn director_targets(&self, vin: &str, token: &str) -> metadata_schemas::Targets {
        let (_, root) = self.director_file(vin, token, "1.root.json").await;
        let mut files = BTreeMap::new();
        for name in ["timestamp.json"] {
            files.insert(name.to_string(), self.director_file(vin, token, name).await.1);
        }
        let timestamp: serde_json::Value = serde_json::from_slice(&files["timestamp.json"]).unwrap();
        let snapshot_version = timestamp["signed"]["meta"]["snapshot.json"]["version"].as_u64().unwrap();
        let snapshot_name = format!("{snapshot_version}.snapshot.json");
        files.insert(snapshot_name.clone(), self.director_file(vin, token, &snapshot_name).await.1);
        let snapshot: serde_json::Value = serde_json::from_slice(&files[&snapshot_name]).unwrap();
        let targets_version = snapshot["signed"]["meta"]["targets.json"]["version"].as_u64().unwrap();
        let targets_name = format!("{targets_version}.targets.json");
        files.insert(targets_name.clone(), self.director_file(vin, token, &targets_name).await.1);
        let mut set = update_verifier::TrustedSet::new(&root, Utc::now(), update_verifier::Limits::default()).unwrap();
        for version in 2.. {
            let (status, next) = self.director_file(vin, token, &format!("{version}.root.json")).await;
            if status != 200 {
                break;
            }
            set.update_root(&next).unwrap();
        }
        set.update_timestamp(&files["timestamp.json"], update_verifier::Source::Remote).unwrap();
        set.update_snapshot(&files[&snapshot_name], update_verifier::Source::Remote).unwrap();
        set.update_targets(&files[&targets_name]).unwrap();
        set.targets().unwrap().get().clone()
    }
}

fn write(path: PathBuf, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// A vehicle: a primary and secondaries, each with its own key and report counter.
pub struct Vehicle {
    pub vin: String,
    pub ecus: Vec<(String, String, KeyFileSigner)>,
    pub counters: BTreeMap<String, u64>,
    pub installed: BTreeMap<String, (String, Vec<u8>)>,
    /// What each ECU's reports say of its install (none: they do not say).
    pub statuses: BTreeMap<String, metadata_schemas::uptane::InstallStatus>,
    /// The attack each ECU's next reports name (none: no attack).
    pub attacks: BTreeMap<String, AttackCode>,
}

impl Vehicle {
    /// A vehicle with a gateway (primary), a brake ECU and a wiper ECU.
    pub fn new(vin: &str) -> Vehicle {
        let key = || KeyFileSigner::generate(threshold_keys::KeyAlgorithm::Ed25519).unwrap();
        let ecus = vec![
            ("gateway-1".to_string(), "gateway-hw".to_string(), key()),
            ("brake-1".to_string(), "brake-hw".to_string(), key()),
            ("wiper-1".to_string(), "wiper-hw".to_string(), key()),
        ];
        let installed =
            ecus.iter().map(|(s, _, _)| (s.clone(), ("factory.bin".to_string(), b"factory".to_vec()))).collect();
        let (counters, statuses, attacks) = Default::default();
        Vehicle { vin: vin.to_string(), ecus, counters, installed, statuses, attacks }
    }

    pub fn primary(&self) -> &str {
        &self.ecus[0].0
    }

    pub fn registration(&self) -> serde_json::Value {
        let ecus: Vec<serde_json::Value> = self
            .ecus
            .iter()
            .map(|(serial, hw, key)| {
                let public = String::from_utf8(metadata_schemas::json::to_canonical(&key.public_key().encode())).unwrap();
                serde_json::json!({"serial": serial, "hardware_id": hw, "public_key": serde_json::from_str::<serde_json::Value>(&public).unwrap()})
            })
            .collect();
        serde_json::json!({"vin": self.vin, "primary_ecu_serial": self.primary(), "ecus": ecus})
    }

    /// A signed report from `serial` with the next counter.
    pub fn report(&mut self, serial: &str, time: DateTime<Utc>, attack: AttackCode) -> Value<'static> {
        let counter = self.counters.entry(serial.to_string()).or_insert(0);
        *counter += 1;
        let counter = *counter;
        let (path, bytes) = self.installed[serial].clone();
        let report = EcuVersionReport {
            ecu_serial: EcuSerial::new(serial).unwrap(),
            installed_image: InstalledImage {
                filepath: TargetPath::new(path.as_str()),
                length: bytes.len() as u64,
                hashes: Hashes::new(vec![Digest::Sha256(threshold_keys::digest::sha256(&bytes))]).unwrap(),
                unknown: UnknownFields::default(),
            },
            attacks_detected: attack,
            latest_time: UtcTime::new(time),
            report_counter: counter,
            nonce: Some(nonce_of(serial, counter)),
            decryption_key: None,
            status: self.statuses.get(serial).cloned(),
            unknown: UnknownFields::default(),
        };
        let key = &self.ecus.iter().find(|(s, _, _)| s == serial).unwrap().2;
        let mut signed = Signed::unsigned(report);
        signed.signatures.push(key.sign(&signed.canonical_signed()).unwrap());
        signed.encode().to_owned_value()
    }

    /// A manifest with a fresh report from every ECU, signed by the primary.
    pub fn manifest(&mut self) -> Vec<u8> {
        let serials: Vec<String> = self.ecus.iter().map(|(s, _, _)| s.clone()).collect();
        let reports = serials
            .iter()
            .map(|s| {
                let attack = self.attacks.get(s).copied().unwrap_or(AttackCode::NONE);
                (EcuSerial::new(s.as_str()).unwrap(), self.report(s, Utc::now(), attack))
            })
            .collect();
        self.sign_manifest(reports)
    }

    /// A manifest of the given reports, signed by the primary.
    pub fn sign_manifest(&self, reports: BTreeMap<EcuSerial, Value<'static>>) -> Vec<u8> {
        let manifest = VehicleVersionManifest {
            vin: Vin::new(self.vin.as_str()).unwrap(),
            primary_ecu_serial: EcuSerial::new(self.primary()).unwrap(),
            ecu_version_reports: reports,
            unknown: UnknownFields::default(),
        };
        let mut signed = Signed::unsigned(manifest);
        signed.signatures.push(self.ecus[0].2.sign(&signed.canonical_signed()).unwrap());
        signed.to_canonical_json()
    }
}

/// An HTTP client builder on ring, the one TLS crypto provider of the project.
pub fn http_client() -> reqwest::ClientBuilder {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}

/// The nonce a test ECU puts in its report `counter`.
pub fn nonce_of(serial: &str, counter: u64) -> u64 {
    let digest = threshold_keys::digest::sha256(format!("{serial}/{counter}").as_bytes());
    u64::from_le_bytes(digest[..8].try_into().unwrap())
}
