//! HTTPS with certificates made in the test (rcgen): a custom CA bundle, verification
//! failures (unknown CA, wrong host name), and mutual TLS with a client certificate.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use common::{Cli, Server, assert_failure, assert_success, s};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose, SanType};
use repo_simulator::RepoSim;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

struct Pki {
    ca_pem: String,
    ca_cert: rcgen::Certificate,
    ca_key: KeyPair,
}

impl Pki {
    fn new(name: &str) -> Pki {
        let ca_key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = params.self_signed(&ca_key).unwrap();
        Pki { ca_pem: ca_cert.pem(), ca_cert, ca_key }
    }

    /// A leaf certificate for `names` (DNS names, plus 127.0.0.1 when `ip`).
    fn leaf(&self, names: &[&str], ip: bool) -> (rcgen::Certificate, KeyPair) {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
        if ip {
            params.subject_alt_names.push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        }
        params.distinguished_name.push(DnType::CommonName, names.first().copied().unwrap_or("client"));
        (params.signed_by(&key, &self.ca_cert, &self.ca_key).unwrap(), key)
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn server_config(cert: &rcgen::Certificate, key: &KeyPair, client_ca: Option<&Pki>) -> rustls::ServerConfig {
    let builder =
        rustls::ServerConfig::builder_with_provider(provider()).with_safe_default_protocol_versions().unwrap();
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(pki) => {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(pki.ca_cert.der().clone()).unwrap();
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
                .build()
                .unwrap();
            builder.with_client_cert_verifier(verifier)
        }
    };
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    builder.with_single_cert(vec![CertificateDer::from(cert.der().to_vec())], key).unwrap()
}

/// A repository served over TLS, and a client initialized with its root.
fn setup(config: rustls::ServerConfig) -> (Server, Cli) {
    let sim = RepoSim::new(chrono::Utc::now());
    let server = Server::start_tls(config);
    server.put_all("metadata/", &sim.files);
    let cli = Cli::new();
    assert_success(&cli.init(&sim.file("1.root.json")));
    (server, cli)
}

fn write(cli: &Cli, name: &str, contents: &str) -> String {
    let path = cli.md.parent().unwrap().join(name);
    std::fs::write(&path, contents).unwrap();
    path.to_str().unwrap().to_string()
}

fn refresh(cli: &Cli, server: &Server, extra: &[&str]) -> std::process::Output {
    let url = server.url("metadata/");
    let mut args = vec!["--metadata-url", url.as_str(), "--metadata-dir", s(&cli.md)];
    args.extend_from_slice(extra);
    args.push("refresh");
    cli.run(&args)
}

#[test]
fn https_with_a_custom_ca_bundle_is_verified_and_works() {
    let pki = Pki::new("Test CA");
    let (cert, key) = pki.leaf(&["localhost"], true);
    let (server, cli) = setup(server_config(&cert, &key, None));
    let ca = write(&cli, "ca.pem", &pki.ca_pem);
    assert_success(&refresh(&cli, &server, &["--ca-bundle", &ca]));
    assert_eq!(cli.md_files(), ["root.json", "snapshot.json", "targets.json", "timestamp.json"]);
}

#[test]
fn https_from_an_unknown_ca_is_refused() {
    let pki = Pki::new("Test CA");
    let (cert, key) = pki.leaf(&["localhost"], true);
    let (server, cli) = setup(server_config(&cert, &key, None));
    // Not in the web PKI roots...
    let stderr = assert_failure(&refresh(&cli, &server, &[]));
    assert!(stderr.to_lowercase().contains("certificate"), "{stderr}");
    // ...nor signed by another CA the client trusts.
    let other = Pki::new("Other CA");
    let ca = write(&cli, "other.pem", &other.ca_pem);
    assert_failure(&refresh(&cli, &server, &["--ca-bundle", &ca]));
    assert_eq!(cli.md_files(), ["root.json"]);
}

#[test]
fn https_certificate_for_another_host_is_refused() {
    let pki = Pki::new("Test CA");
    let (cert, key) = pki.leaf(&["updates.example.com"], false);
    let (server, cli) = setup(server_config(&cert, &key, None));
    let ca = write(&cli, "ca.pem", &pki.ca_pem);
    let stderr = assert_failure(&refresh(&cli, &server, &["--ca-bundle", &ca]));
    assert!(stderr.to_lowercase().contains("certificate"), "{stderr}");
}

#[test]
fn mutual_tls_requires_the_client_certificate() {
    let pki = Pki::new("Test CA");
    let (cert, key) = pki.leaf(&["localhost"], true);
    let (server, cli) = setup(server_config(&cert, &key, Some(&pki)));
    let ca = write(&cli, "ca.pem", &pki.ca_pem);
    assert_failure(&refresh(&cli, &server, &["--ca-bundle", &ca]));
    let (client_cert, client_key) = pki.leaf(&["vehicle-VIN0001"], false);
    let cert_file = write(&cli, "client.pem", &client_cert.pem());
    let key_file = write(&cli, "client.key", &client_key.serialize_pem());
    assert_success(&refresh(
        &cli,
        &server,
        &["--ca-bundle", &ca, "--client-cert", &cert_file, "--client-key", &key_file],
    ));
    // A client certificate from a CA the server does not trust is refused.
    let rogue = Pki::new("Rogue CA");
    let (rogue_cert, rogue_key) = rogue.leaf(&["vehicle-VIN0001"], false);
    let cert_file = write(&cli, "rogue.pem", &rogue_cert.pem());
    let key_file = write(&cli, "rogue.key", &rogue_key.serialize_pem());
    assert_failure(&refresh(
        &cli,
        &server,
        &["--ca-bundle", &ca, "--client-cert", &cert_file, "--client-key", &key_file],
    ));
}
