//! A man in the middle for the vehicle tests: an HTTP proxy on 127.0.0.1 in front of
//! the director that can rewrite (or cut off) any response the primary receives.

use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};

/// What to do with a response: the request path and the body; `Some` replaces the
/// body, `None` drops the connection halfway.
pub type Rewrite = dyn Fn(&str, Vec<u8>) -> Option<Vec<u8>> + Send + Sync;

/// A running proxy; its URL replaces the director's in the primary's configuration.
pub struct Proxy {
    pub url: String,
    rewrite: Arc<Mutex<Arc<Rewrite>>>,
}

impl Proxy {
    /// Starts a proxy in front of `upstream` (`http://host:port`) on `runtime`.
    pub fn start(runtime: &tokio::runtime::Runtime, upstream: &str) -> Proxy {
        let rewrite: Arc<Mutex<Arc<Rewrite>>> = Arc::new(Mutex::new(Arc::new(|_: &str, body| Some(body))));
        let upstream = upstream.to_string();
        let shared = rewrite.clone();
        let url = runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}", listener.local_addr().unwrap());
            let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
            tokio::spawn(async move {
                loop {
                    let Ok((stream, _)) = listener.accept().await else { return };
                    let (client, upstream, shared) = (client.clone(), upstream.clone(), shared.clone());
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                            let (client, upstream, shared) = (client.clone(), upstream.clone(), shared.clone());
                            async move { forward(client, &upstream, shared, request).await }
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            });
            url
        });
        Proxy { url, rewrite }
    }

    /// Replaces the rewrite rule.
    pub fn set(&self, rule: impl Fn(&str, Vec<u8>) -> Option<Vec<u8>> + Send + Sync + 'static) {
        *self.rewrite.lock().unwrap() = Arc::new(rule);
    }
}

async fn forward(
    client: Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
    upstream: &str,
    rewrite: Arc<Mutex<Arc<Rewrite>>>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, std::io::Error> {
    let path = request.uri().path_and_query().map(|p| p.to_string()).unwrap_or_default();
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map_err(std::io::Error::other)?.to_bytes();
    let mut forwarded = Request::builder().method(parts.method).uri(format!("{upstream}{path}"));
    for (name, value) in &parts.headers {
        if name != "host" {
            forwarded = forwarded.header(name, value);
        }
    }
    let response = client.request(forwarded.body(Full::new(body)).unwrap()).await.map_err(std::io::Error::other)?;
    let (mut parts, body) = response.into_parts();
    let bytes = body.collect().await.map_err(std::io::Error::other)?.to_bytes().to_vec();
    let rule = rewrite.lock().unwrap().clone();
    let Some(bytes) = rule(&path, bytes) else {
        return Err(std::io::Error::other("the man in the middle cut the connection"));
    };
    parts.headers.remove("content-length");
    parts.headers.remove("transfer-encoding");
    Ok(Response::from_parts(parts, Full::new(Bytes::from(bytes))))
}
