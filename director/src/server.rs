//! The listener: plain HTTP for development, TLS, or TLS with client certificates. A
//! verified client certificate's subject common name is the vin the device speaks for;
//! the CA is the configuration's `client_ca`. Administrators connect without a
//! certificate and use their bearer token.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

use crate::api::PeerVin;
use crate::config::TlsConfig;
use crate::limits::{ServerLimits, accept_backoff};
use crate::setup::SetupError;

fn read_pem(path: &std::path::Path) -> Result<Vec<u8>, SetupError> {
    std::fs::read(path).map_err(crate::setup::io(path))
}

/// A TLS error about `what` (a file, or the configuration).
fn tls_error(what: impl std::fmt::Display) -> impl FnOnce(&dyn std::fmt::Display) -> SetupError {
    let what = what.to_string();
    move |reason| SetupError::Tls { what, reason: reason.to_string() }
}

/// The rustls configuration for `tls`.
pub fn tls_config(tls: &TlsConfig) -> Result<Arc<rustls::ServerConfig>, SetupError> {
    let certs: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut read_pem(&tls.cert)?.as_slice())
        .collect::<Result<_, _>>()
        .map_err(|e| tls_error(tls.cert.display())(&e))?;
    let key: PrivateKeyDer<'static> = rustls_pemfile::private_key(&mut read_pem(&tls.key)?.as_slice())
        .map_err(|e| tls_error(tls.key.display())(&e))?
        .ok_or_else(|| tls_error(tls.key.display())(&"no private key in it"))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error("protocol versions")(&e))?;
    let builder = match &tls.client_ca {
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in rustls_pemfile::certs(&mut read_pem(ca)?.as_slice()) {
                let cert = cert.map_err(|e| tls_error(ca.display())(&e))?;
                roots.add(cert).map_err(|e| tls_error(ca.display())(&e))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .allow_unauthenticated() // administrators; device routes insist on a certificate
                .build()
                .map_err(|e| tls_error(ca.display())(&e))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(certs, key).map_err(|e| tls_error(tls.cert.display())(&e))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The vin a client certificate names: its subject common name.
fn vin_of(cert: &CertificateDer<'_>) -> Option<String> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    let cn = parsed.subject().iter_common_name().next()?.as_str().ok()?.to_string();
    Some(cn)
}

/// Serves `app` on `listener` until the process ends, within `limits`: at most
/// `max_connections` at once, a deadline for headers and TLS handshakes, and a pause
/// (not an exit) when `accept` fails, as it does when file descriptors run out.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    limits: ServerLimits,
) -> std::io::Result<()> {
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let header_timeout = limits.header_timeout();
    let mut pause = None;
    loop {
        let permit = slots.clone().acquire_owned().await.expect("the semaphore is never closed");
        let stream = match listener.accept().await {
            Ok((stream, _)) => {
                pause = None;
                stream
            }
            Err(e) => {
                let wait = accept_backoff(pause);
                let fields = [("error", e.to_string().into()), ("retry_ms", (wait.as_millis() as u64).into())];
                crate::log::warn("accept-failed", &fields);
                pause = Some(wait);
                tokio::time::sleep(wait).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let _permit = permit;
            // A client that connects and sends nothing is dropped like a slow header.
            if !matches!(tokio::time::timeout(header_timeout, stream.peek(&mut [0u8; 1])).await, Ok(Ok(1..))) {
                return;
            }
            match acceptor {
                Some(acceptor) => {
                    let Ok(Ok(stream)) = tokio::time::timeout(header_timeout, acceptor.accept(stream)).await else {
                        return;
                    };
                    let peer = PeerVin(stream.get_ref().1.peer_certificates().and_then(|c| c.first()).and_then(vin_of));
                    connection(TokioIo::new(stream), app, peer, header_timeout).await;
                }
                None => connection(TokioIo::new(stream), app, PeerVin(None), header_timeout).await,
            }
        });
    }
}

async fn connection<I>(io: I, app: Router, peer: PeerVin, header_timeout: Duration)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service = app.map_request(move |mut request: axum::http::Request<hyper::body::Incoming>| {
        request.extensions_mut().insert(peer.clone());
        request.map(axum::body::Body::new)
    });
    let service = hyper_util::service::TowerToHyperService::new(service);
    let mut builder = Builder::new(TokioExecutor::new());
    // Headers (and the wait for the next request on a kept-alive connection) must arrive
    // in time, or the connection closes.
    builder.http1().timer(TokioTimer::new()).header_read_timeout(header_timeout);
    let _ = builder.serve_connection(io, service).await;
}
