//! TLS and mutual TLS with certificates made in the test (rcgen): a device whose client
//! certificate names its vin refreshes its director repository with the project's TUF
//! client as from any TUF repository; another vehicle's certificate gets 403, none 401;
//! administrators use their token over the same listener.

mod common;

use std::net::{IpAddr, Ipv4Addr};

use client_std::{ClientIdentity, TlsOptions, Updater, UpdaterConfig};
use common::{Director, Vehicle};
use director::config::TlsConfig;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose, SanType};

struct Pki {
    cert: rcgen::Certificate,
    key: KeyPair,
}

impl Pki {
    fn new(name: &str) -> Pki {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        Pki { cert: params.self_signed(&key).unwrap(), key }
    }

    /// A leaf with common name `cn`, for the host 127.0.0.1 when `server`.
    fn leaf(&self, cn: &str, server: bool) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(if server { vec!["localhost".to_string()] } else { vec![] }).unwrap();
        if server {
            params.subject_alt_names.push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        }
        params.distinguished_name.push(DnType::CommonName, cn);
        (params.signed_by(&key, &self.cert, &self.key).unwrap().pem(), key.serialize_pem())
    }
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

async fn mutual_tls_director(pki_dir: &std::path::Path, server_ca: &Pki, device_ca: &Pki) -> Director {
    let (cert, key) = server_ca.leaf("director", true);
    let tls = TlsConfig {
        cert: write(pki_dir, "server.pem", &cert),
        key: write(pki_dir, "server.key", &key),
        client_ca: Some(write(pki_dir, "devices.pem", &device_ca.cert.pem())),
    };
    Director::start_with(None, None, Some((tls, server_ca.cert.pem()))).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_certificate_names_its_vehicle_and_the_tuf_client_refreshes_its_director_repository() {
    let pki_dir = tempfile::tempdir().unwrap();
    let (server_ca, device_ca) = (Pki::new("server CA"), Pki::new("device CA"));
    let director = mutual_tls_director(pki_dir.path(), &server_ca, &device_ca).await;
    director.register(&Vehicle::new("VINTLS1")).await;
    director.register(&Vehicle::new("VINTLS2")).await;
    let (status, body) = director
        .admin_post(
            "/assignments",
            serde_json::json!({"vehicles": ["VINTLS1"], "images": {"brake-hw": "brake/fw-2.bin"}}),
        )
        .await;
    assert_eq!(status, 201, "{body}");

    let (cert, key) = device_ca.leaf("VINTLS1", false);
    let identity = ClientIdentity {
        certificate_chain: write(pki_dir.path(), "vin1.pem", &cert),
        private_key: write(pki_dir.path(), "vin1.key", &key),
    };
    let metadata = tempfile::tempdir().unwrap();
    let root = director.service.store.root(1).await.unwrap().unwrap();
    std::fs::write(metadata.path().join("root.json"), root).unwrap();
    let base = format!("{}/api/v1/vehicles/VINTLS1/director/", director.url);
    let mut config = UpdaterConfig::new(metadata.path(), &base, &format!("{}/api/v1/repo/targets/", director.url));
    config.tls = TlsOptions {
        ca_bundle: Some(write(pki_dir.path(), "server-ca.pem", &server_ca.cert.pem())),
        client_identity: Some(identity.clone()),
    };
    let info = tokio::task::spawn_blocking(move || {
        let mut updater = Updater::new(config).unwrap();
        updater.refresh().unwrap();
        updater.get_target_info("brake/fw-2.bin").unwrap()
    })
    .await
    .unwrap()
    .expect("the director targets list the assigned image");
    assert_eq!(info.file.length, b"brake firmware 2".len() as u64);

    // The same certificate may not read another vehicle's repository.
    let pem = std::fs::read(&identity.certificate_chain).unwrap();
    let mut pem_with_key = pem.clone();
    pem_with_key.extend(std::fs::read(&identity.private_key).unwrap());
    let device = common::http_client()
        .add_root_certificate(reqwest::Certificate::from_pem(server_ca.cert.pem().as_bytes()).unwrap())
        .identity(reqwest::Identity::from_pem(&pem_with_key).unwrap())
        .build()
        .unwrap();
    let other =
        device.get(format!("{}/api/v1/vehicles/VINTLS2/director/timestamp.json", director.url)).send().await.unwrap();
    assert_eq!(other.status().as_u16(), 403);
    let own =
        device.get(format!("{}/api/v1/vehicles/VINTLS1/director/timestamp.json", director.url)).send().await.unwrap();
    assert_eq!(own.status().as_u16(), 200);
    let image = device
        .get(format!("{}/api/v1/repo/targets/brake/fw-2.bin", director.url))
        .header("range", "bytes=0-4")
        .send()
        .await
        .unwrap();
    assert_eq!(image.status().as_u16(), 206);
    assert_eq!(image.bytes().await.unwrap().as_ref(), b"brake");

    // Without a certificate: 401 on device routes, even with a valid device token.
    let anonymous = director
        .http
        .get(format!("{}/api/v1/vehicles/VINTLS1/director/timestamp.json", director.url))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
    // A certificate from another CA is refused in the handshake.
    let rogue_ca = Pki::new("rogue CA");
    let (cert, key) = rogue_ca.leaf("VINTLS1", false);
    let rogue = common::http_client()
        .add_root_certificate(reqwest::Certificate::from_pem(server_ca.cert.pem().as_bytes()).unwrap())
        .identity(reqwest::Identity::from_pem(format!("{cert}{key}").as_bytes()).unwrap())
        .build()
        .unwrap();
    assert!(
        rogue.get(format!("{}/api/v1/vehicles/VINTLS1/director/timestamp.json", director.url)).send().await.is_err()
    );
    // Administrators connect without a certificate and use their token.
    assert_eq!(director.admin_get("/vehicles/VINTLS1").await.0, 200);
}
