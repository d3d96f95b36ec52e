//! A small HTTP/1.0 server for tests: serves files from a shared map keyed by the raw
//! request path (never decoded, like the TUF conformance simulator), logs requests, and
//! misbehaves on demand. Optionally over TLS.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// How to answer one path instead of serving it.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Answer with this status and no body.
    Status(u16),
    /// Send the file, then `extra` more bytes of junk (endless data).
    Endless,
    /// Send the headers and this many bytes, then stall without closing.
    Stall(usize),
    /// Send the first `n` bytes, then close.
    Truncate(usize),
    /// Send the file one byte every `interval` (slow retrieval), at most `limit` bytes,
    /// then close.
    Trickle {
        /// Between two bytes.
        interval: Duration,
        /// Bytes sent before the server gives up (bounds the test).
        limit: usize,
    },
}

#[derive(Default)]
struct State {
    files: BTreeMap<String, Vec<u8>>,
    faults: BTreeMap<String, Fault>,
    log: Vec<String>,
}

/// A running server; stops when dropped.
pub struct Server {
    /// The address it listens on (127.0.0.1 and a free port).
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    tls: Option<Arc<rustls::ServerConfig>>,
}

impl Server {
    /// A plain HTTP server on 127.0.0.1.
    pub fn start() -> Server {
        Self::start_with(None)
    }

    /// An HTTPS server on 127.0.0.1 with this rustls configuration.
    pub fn start_tls(config: rustls::ServerConfig) -> Server {
        Self::start_with(Some(Arc::new(config)))
    }

    fn start_with(tls: Option<Arc<rustls::ServerConfig>>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st, t) = (state.clone(), stop.clone(), tls.clone());
        thread::spawn(move || {
            for stream in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (s, t) = (s.clone(), t.clone());
                thread::spawn(move || {
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                    match t {
                        None => serve(stream, &s),
                        Some(config) => {
                            let Ok(conn) = rustls::ServerConnection::new(config) else {
                                return;
                            };
                            serve(rustls::StreamOwned::new(conn, stream), &s);
                        }
                    }
                });
            }
        });
        Server { addr, state, stop, tls }
    }

    /// The URL of `path` on this server (`path` starts without `/`).
    pub fn url(&self, path: &str) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}/{path}", self.addr.port())
    }

    /// Serves `bytes` at `/path`.
    pub fn put(&self, path: &str, bytes: Vec<u8>) {
        self.state.lock().unwrap().files.insert(format!("/{path}"), bytes);
    }

    /// Serves every `name -> bytes` under `/prefix`.
    pub fn put_all(&self, prefix: &str, files: &BTreeMap<String, Vec<u8>>) {
        let mut state = self.state.lock().unwrap();
        for (name, bytes) in files {
            state.files.insert(format!("/{prefix}{name}"), bytes.clone());
        }
    }

    /// Removes `/path`.
    pub fn remove(&self, path: &str) {
        self.state.lock().unwrap().files.remove(&format!("/{path}"));
    }

    /// Makes `/path` misbehave.
    pub fn fault(&self, path: &str, fault: Fault) {
        self.state.lock().unwrap().faults.insert(format!("/{path}"), fault);
    }

    /// Paths requested so far, in order.
    pub fn log(&self) -> Vec<String> {
        self.state.lock().unwrap().log.clone()
    }

    /// Forgets the request log.
    pub fn clear_log(&self) {
        self.state.lock().unwrap().log.clear();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr); // wake the accept loop
    }
}

fn percent_decode(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn serve<S: Read + Write>(stream: S, state: &Mutex<State>) {
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    loop {
        let mut header = String::new();
        match reader.read_line(&mut header) {
            Ok(0) | Err(_) => return,
            Ok(_) if header == "\r\n" || header == "\n" => break,
            Ok(_) => {}
        }
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let (file, fault) = {
        let mut state = state.lock().unwrap();
        state.log.push(path.trim_start_matches('/').to_string());
        // The raw path first (python-tuf's percent-encoded role files), then the decoded
        // one, as a static file server looks it up (target paths with spaces).
        let file = state.files.get(&path).or_else(|| state.files.get(&percent_decode(&path))).cloned();
        (file, state.faults.get(&path).cloned())
    };
    let mut stream = reader.into_inner();
    let mut respond = |status: &str, body: &[u8], length: usize| {
        let _ = write!(stream, "HTTP/1.0 {status}\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n");
        let _ = stream.write_all(body);
        let _ = stream.flush();
    };
    match (fault, file) {
        (Some(Fault::Status(code)), _) => respond(&format!("{code} Fault"), b"", 0),
        (_, None) => respond("404 Not Found", b"", 0),
        (None, Some(body)) => respond("200 OK", &body, body.len()),
        (Some(Fault::Endless), Some(body)) => {
            let mut endless = body.clone();
            endless.extend(std::iter::repeat_n(b' ', 10 << 20));
            respond("200 OK", &endless, endless.len());
        }
        (Some(Fault::Truncate(n)), Some(body)) => respond("200 OK", &body[..n.min(body.len())], body.len()),
        (Some(Fault::Stall(n)), Some(body)) => {
            respond("200 OK", &body[..n.min(body.len())], body.len());
            thread::sleep(Duration::from_secs(30));
        }
        (Some(Fault::Trickle { interval, limit }), Some(body)) => {
            respond("200 OK", b"", body.len());
            for byte in body.iter().take(limit) {
                if stream.write_all(std::slice::from_ref(byte)).and_then(|()| stream.flush()).is_err() {
                    return;
                }
                thread::sleep(interval);
            }
        }
    }
}
