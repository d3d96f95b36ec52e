//! A man in the middle for the vehicle tests: an HTTP proxy on 127.0.0.1 in front of
//! the director that can rewrite (or cut off) any response the primary receives, and
//! that logs every request it forwards.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Frame, Incoming};
use hyper::{Request, Response};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};

/// What the primary receives instead of the director's answer.
pub enum Reply {
    /// This body, complete.
    Body(Vec<u8>),
    /// The headers of the whole body (its full length), then only the first `n` bytes
    /// before the connection drops: a network cut in the middle of a download.
    CutAfter(Vec<u8>, usize),
    /// No answer at all; the connection drops.
    Drop,
}

/// The rule: the request path and the director's body in, the reply out.
pub type Rewrite = dyn Fn(&str, Vec<u8>) -> Reply + Send + Sync;

/// One forwarded request: its path and its `Range` header.
#[derive(Clone, Debug)]
pub struct Logged {
    pub path: String,
    pub range: Option<String>,
}

/// A running proxy; its URL replaces the director's in the primary's configuration.
pub struct Proxy {
    pub url: String,
    rewrite: Arc<Mutex<Arc<Rewrite>>>,
    log: Arc<Mutex<Vec<Logged>>>,
}

#[derive(Clone)]
struct Shared {
    upstream: String,
    rewrite: Arc<Mutex<Arc<Rewrite>>>,
    log: Arc<Mutex<Vec<Logged>>>,
    client: Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
}

impl Proxy {
    /// Starts a proxy in front of `upstream` (`http://host:port`) on `runtime`.
    pub fn start(runtime: &tokio::runtime::Runtime, upstream: &str) -> Proxy {
        let rewrite: Arc<Mutex<Arc<Rewrite>>> = Arc::new(Mutex::new(Arc::new(|_: &str, body| Reply::Body(body))));
        let log = Arc::new(Mutex::new(Vec::new()));
        let (rule, requests) = (rewrite.clone(), log.clone());
        let upstream = upstream.to_string();
        let url = runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}", listener.local_addr().unwrap());
            let client = Client::builder(TokioExecutor::new()).build_http();
            let shared = Shared { upstream, rewrite: rule, log: requests, client };
            tokio::spawn(async move {
                loop {
                    let Ok((stream, _)) = listener.accept().await else { return };
                    let shared = shared.clone();
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                            let shared = shared.clone();
                            async move { forward(shared, request).await }
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            });
            url
        });
        Proxy { url, rewrite, log }
    }

    /// Replaces the rewrite rule.
    pub fn set(&self, rule: impl Fn(&str, Vec<u8>) -> Reply + Send + Sync + 'static) {
        *self.rewrite.lock().unwrap() = Arc::new(rule);
    }

    /// Passes everything through unchanged.
    pub fn pass(&self) {
        self.set(|_, body| Reply::Body(body));
    }

    /// The requests forwarded so far.
    pub fn requests(&self) -> Vec<Logged> {
        self.log.lock().unwrap().clone()
    }
}

/// A body that sends its bytes, then (when `cut`) fails a moment later, which drops the
/// connection after the bytes went out.
struct CutBody {
    bytes: Option<Bytes>,
    cut: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl hyper::body::Body for CutBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        if let Some(bytes) = self.bytes.take() {
            return Poll::Ready(Some(Ok(Frame::data(bytes))));
        }
        match &mut self.cut {
            None => Poll::Ready(None),
            Some(delay) => {
                std::task::ready!(delay.as_mut().poll(context));
                self.cut = None;
                Poll::Ready(Some(Err(std::io::Error::other("the network is cut"))))
            }
        }
    }
}

async fn forward(shared: Shared, request: Request<Incoming>) -> Result<Response<CutBody>, std::io::Error> {
    let path = request.uri().path_and_query().map(|p| p.to_string()).unwrap_or_default();
    let range = request.headers().get("range").and_then(|v| v.to_str().ok()).map(str::to_string);
    shared.log.lock().unwrap().push(Logged { path: path.clone(), range });
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map_err(std::io::Error::other)?.to_bytes();
    let mut forwarded = Request::builder().method(parts.method).uri(format!("{}{path}", shared.upstream));
    for (name, value) in &parts.headers {
        if name != "host" {
            forwarded = forwarded.header(name, value);
        }
    }
    let response =
        shared.client.request(forwarded.body(Full::new(body)).unwrap()).await.map_err(std::io::Error::other)?;
    let (mut parts, body) = response.into_parts();
    let bytes = body.collect().await.map_err(std::io::Error::other)?.to_bytes().to_vec();
    let rule = shared.rewrite.lock().unwrap().clone();
    let (bytes, cut) = match rule(&path, bytes) {
        Reply::Body(bytes) => (bytes, None),
        Reply::CutAfter(bytes, n) => (bytes, Some(n)),
        Reply::Drop => return Err(std::io::Error::other("the man in the middle cut the connection")),
    };
    parts.headers.remove("transfer-encoding");
    parts.headers.insert("content-length", bytes.len().into());
    let body = match cut {
        Some(n) => CutBody {
            bytes: Some(Bytes::copy_from_slice(&bytes[..n.min(bytes.len())])),
            cut: Some(Box::pin(tokio::time::sleep(std::time::Duration::from_millis(100)))),
        },
        None => CutBody { bytes: Some(Bytes::from(bytes)), cut: None },
    };
    Ok(Response::from_parts(parts, body))
}
