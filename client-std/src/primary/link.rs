//! The primary's side of the secondary protocol over TCP: one request, one response,
//! with timeouts, using client-embedded's frame codecs.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use client_embedded::protocol::{Framer, Request, Response};

use crate::Error;

/// A connection to one secondary.
pub struct Link {
    stream: TcpStream,
    buffer: Vec<u8>,
    serial: String,
}

impl Link {
    /// Connects to `address` (the secondary `serial`).
    pub fn connect(serial: &str, address: &str) -> Result<Link, Error> {
        let failed = |e: std::io::Error| Error::Secondary(format!("{serial} at {address}: {e}"));
        // A bounded connect: a secondary that is off must not hold the cycle for minutes.
        let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, "no address");
        let mut connected = None;
        for addr in std::net::ToSocketAddrs::to_socket_addrs(address).map_err(failed)? {
            match TcpStream::connect_timeout(&addr, Duration::from_secs(10)) {
                Ok(stream) => {
                    connected = Some(stream);
                    break;
                }
                Err(e) => last = e,
            }
        }
        let stream = connected.ok_or(last).map_err(failed)?;
        stream.set_read_timeout(Some(Duration::from_secs(30))).map_err(failed)?;
        stream.set_write_timeout(Some(Duration::from_secs(30))).map_err(failed)?;
        let _ = stream.set_nodelay(true);
        Ok(Link { stream, buffer: vec![0; 1 << 20], serial: serial.to_string() })
    }

    /// Sends `request` and waits for the answer.
    pub fn call(&mut self, request: Request<'_>) -> Result<Response, Error> {
        let failed = |e: String| Error::Secondary(format!("{}: {e}", self.serial));
        let mut wire = Vec::new();
        request.encode(&mut wire);
        self.stream.write_all(&wire).map_err(|e| failed(e.to_string()))?;
        let mut framer = Framer::new(&mut self.buffer);
        let mut input = [0u8; 8192];
        loop {
            let n = self.stream.read(&mut input).map_err(|e| failed(e.to_string()))?;
            if n == 0 {
                return Err(failed("connection closed (power cut or reset)".into()));
            }
            if let (_, Some(frame)) = framer.push(&input[..n]) {
                let (kind, payload) = frame.map_err(|e| failed(format!("{e:?}")))?;
                return Response::decode(kind, payload).map_err(|e| failed(format!("{e:?}")));
            }
        }
    }

    /// Sends `request`, which must be answered with `Ok` (or, for `Activate`, `Resetting`).
    pub fn expect_ok(&mut self, request: Request<'_>) -> Result<(), Error> {
        match self.call(request)? {
            Response::Ok | Response::Resetting => Ok(()),
            Response::Refused(code) => Err(Error::Secondary(format!("{} refused: {}", self.serial, code.name()))),
            other => Err(Error::Secondary(format!("{}: unexpected answer {other:?}", self.serial))),
        }
    }
}
