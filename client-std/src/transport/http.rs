//! HTTP(S) with ureq and rustls: certificate verification always on, an optional CA
//! bundle and client certificate, connect and per-read timeouts, no retries, and no
//! proxy for loopback addresses.

use std::io::Read;
use std::sync::Arc;

use ureq::tls::{Certificate, ClientCert, PemItem, PrivateKey, RootCerts, TlsConfig};
use ureq::{Agent, Proxy};

use super::{MinimumRate, Transport, TransportError};
use crate::Error;
use crate::config::{ClientIdentity, Timeouts, TlsOptions};

/// Fetches over HTTP(S).
#[derive(Debug)]
pub struct HttpTransport {
    agent: Agent,
    timeouts: Timeouts,
    /// Without the environment's proxy, for loopback hosts.
    direct: Agent,
    /// A bearer token sent with every request (a director's device token).
    bearer: Option<String>,
}

impl HttpTransport {
    /// A transport with these timeouts and TLS options.
    pub fn new(timeouts: Timeouts, tls: &TlsOptions) -> Result<Self, Error> {
        let tls_config = tls_config(tls)?;
        let agent = |proxy: Option<Proxy>| -> Agent {
            Agent::config_builder()
                .timeout_connect(Some(timeouts.connect))
                .timeout_recv_response(Some(timeouts.read))
                .timeout_per_read(Some(timeouts.read))
                .http_status_as_error(false)
                .max_redirects(5)
                .user_agent(concat!("update-client/", env!("CARGO_PKG_VERSION")))
                .tls_config(tls_config.clone())
                .proxy(proxy)
                .build()
                .into()
        };
        Ok(HttpTransport { agent: agent(Proxy::try_from_env()), direct: agent(None), timeouts, bearer: None })
    }

    /// Sends `Authorization: Bearer TOKEN` with every request.
    pub fn with_bearer(mut self, token: impl Into<String>) -> Self {
        self.bearer = Some(token.into());
        self
    }

    fn agent_for(&self, url: &str) -> &Agent {
        if is_loopback(url) { &self.direct } else { &self.agent }
    }

    /// PUTs `body` (JSON) to `url`: the status and up to 64 KiB of the answer.
    pub fn put_json(&self, url: &str, body: &[u8]) -> Result<(u16, String), TransportError> {
        let mut request = self.agent_for(url).put(url).header("content-type", "application/json");
        if let Some(token) = &self.bearer {
            request = request.header("authorization", &format!("Bearer {token}"));
        }
        let response = request.send(body).map_err(|e| TransportError::Network(e.to_string()))?;
        let status = response.status().as_u16();
        let mut text = String::new();
        let _ = response.into_body().into_reader().take(64 * 1024).read_to_string(&mut text);
        Ok((status, text))
    }
}

/// Whether `url` points at this machine, which must never go through a proxy.
fn is_loopback(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let host = if host.starts_with('[') {
        host.split(']').next().unwrap_or("").trim_start_matches('[')
    } else {
        host.split(':').next().unwrap_or("")
    };
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl Transport for HttpTransport {
    fn open(&self, url: &str) -> Result<Box<dyn Read + Send + '_>, TransportError> {
        Ok(self.open_from(url, 0)?.0)
    }

    fn open_from(&self, url: &str, offset: u64) -> Result<(Box<dyn Read + Send + '_>, u64), TransportError> {
        let mut request = self.agent_for(url).get(url);
        if let Some(token) = &self.bearer {
            request = request.header("authorization", &format!("Bearer {token}"));
        }
        if offset > 0 {
            request = request.header("range", &format!("bytes={offset}-"));
        }
        let response = request.call().map_err(|e| TransportError::Network(e.to_string()))?;
        let start = match response.status().as_u16() {
            // A 206 counts only if it starts where we asked; anything else starts over.
            206 if offset > 0 => {
                let range = response.headers().get("content-range").and_then(|v| v.to_str().ok());
                if range.is_some_and(|r| r.starts_with(&format!("bytes {offset}-"))) {
                    offset
                } else {
                    return Err(TransportError::BadRange(format!("Content-Range {range:?}")));
                }
            }
            200..=299 => 0,
            416 => return Err(TransportError::BadRange("416 Range Not Satisfiable".into())),
            403 | 404 => return Err(TransportError::NotFound),
            code => return Err(TransportError::Status(code)),
        };
        let body = response.into_body().into_reader();
        let guarded = MinimumRate::new(body, self.timeouts.min_rate, self.timeouts.rate_window);
        Ok((Box::new(guarded), start))
    }
}

fn read_pem(path: &std::path::Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

fn tls_config(options: &TlsOptions) -> Result<TlsConfig, Error> {
    let mut builder = TlsConfig::builder();
    if let Some(bundle) = &options.ca_bundle {
        let pem = read_pem(bundle)?;
        let certs: Vec<Certificate<'static>> = ureq::tls::parse_pem(&pem)
            .filter_map(|item| match item {
                Ok(PemItem::Certificate(c)) => Some(Ok(c)),
                Ok(_) => None,
                Err(e) => Some(Err(e)),
            })
            .collect::<Result<_, _>>()
            .map_err(|e| Error::Config(format!("CA bundle {}: {e}", bundle.display())))?;
        if certs.is_empty() {
            return Err(Error::Config(format!("CA bundle {}: no certificates", bundle.display())));
        }
        builder = builder.root_certs(RootCerts::Specific(Arc::new(certs)));
    }
    if let Some(identity) = &options.client_identity {
        builder = builder.client_cert(Some(client_cert(identity)?));
    }
    Ok(builder.build())
}

fn client_cert(identity: &ClientIdentity) -> Result<ClientCert, Error> {
    let chain_pem = read_pem(&identity.certificate_chain)?;
    let chain: Vec<Certificate<'static>> = ureq::tls::parse_pem(&chain_pem)
        .filter_map(|item| match item {
            Ok(PemItem::Certificate(c)) => Some(c),
            _ => None,
        })
        .collect();
    if chain.is_empty() {
        return Err(Error::Config(format!(
            "client certificate {}: no certificates",
            identity.certificate_chain.display()
        )));
    }
    let key_pem = read_pem(&identity.private_key)?;
    let key = PrivateKey::from_pem(&key_pem)
        .map_err(|e| Error::Config(format!("client key {}: {e}", identity.private_key.display())))?;
    Ok(ClientCert::new_with_certs(&chain, key))
}

#[cfg(test)]
mod tests {
    use super::is_loopback;

    #[test]
    fn loopback_hosts_are_recognized() {
        for url in ["http://127.0.0.1:8080/x", "http://localhost/x", "https://[::1]:443/", "http://user@127.0.0.5/"] {
            assert!(is_loopback(url), "{url}");
        }
        for url in ["http://example.com/", "http://10.0.0.1/", "https://127.0.0.1.example.com/"] {
            assert!(!is_loopback(url), "{url}");
        }
    }
}
