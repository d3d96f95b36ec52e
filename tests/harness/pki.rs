//! Certificates made in the test (rcgen): a CA and server certificates it issues.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose, SanType};

pub struct Pki {
    cert: rcgen::Certificate,
    key: KeyPair,
}

impl Pki {
    pub fn new(name: &str) -> Pki {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        Pki { cert: params.self_signed(&key).unwrap(), key }
    }

    /// The CA certificate, written to `dir/name`.
    pub fn write_ca(&self, dir: &Path, name: &str) -> PathBuf {
        super::write(dir.join(name), self.cert.pem().as_bytes())
    }

    /// A server certificate for 127.0.0.1 only (no DNS name), and its key, in `dir`.
    pub fn server(&self, dir: &Path) -> director::config::TlsConfig {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.subject_alt_names.push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        params.distinguished_name.push(DnType::CommonName, "director");
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        director::config::TlsConfig {
            cert: super::write(dir.join("server.pem"), cert.pem().as_bytes()),
            key: super::write(dir.join("server.key"), key.serialize_pem().as_bytes()),
            client_ca: None,
        }
    }
}
