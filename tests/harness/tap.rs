//! A wire tap on the primary <-> secondary link: a TCP relay on 127.0.0.1 that forwards
//! both ways and records every byte the primary sends.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A running relay; its address replaces the secondary's in the primary's configuration.
pub struct Tap {
    pub address: String,
    sent: Arc<Mutex<Vec<u8>>>,
}

fn pump(mut from: TcpStream, mut to: TcpStream, record: Option<Arc<Mutex<Vec<u8>>>>) {
    let mut buffer = [0u8; 16 * 1024];
    while let Ok(n) = from.read(&mut buffer) {
        if n == 0 {
            break;
        }
        if let Some(record) = &record {
            record.lock().unwrap().extend_from_slice(&buffer[..n]);
        }
        if to.write_all(&buffer[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Both);
}

impl Tap {
    /// Relays to `upstream` (`host:port`) from a new port.
    pub fn start(upstream: &str) -> Tap {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let sent = Arc::new(Mutex::new(Vec::new()));
        let (record, upstream) = (sent.clone(), upstream.to_string());
        std::thread::spawn(move || {
            for primary in listener.incoming().map_while(Result::ok) {
                let Ok(secondary) = TcpStream::connect_timeout(&upstream.parse().unwrap(), Duration::from_secs(5))
                else {
                    continue;
                };
                let (p2, s2) = (primary.try_clone().unwrap(), secondary.try_clone().unwrap());
                let record = record.clone();
                std::thread::spawn(move || pump(primary, secondary, Some(record)));
                std::thread::spawn(move || pump(s2, p2, None));
            }
        });
        Tap { address, sent }
    }

    /// Every byte the primary sent so far.
    pub fn sent(&self) -> Vec<u8> {
        self.sent.lock().unwrap().clone()
    }
}

/// Whether any 64-byte window of `secret` appears in `stream`.
pub fn exposes(stream: &[u8], secret: &[u8]) -> bool {
    let windows: std::collections::HashSet<&[u8]> = secret.windows(64).collect();
    stream.windows(64).any(|w| windows.contains(w))
}
