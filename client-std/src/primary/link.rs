//! The primary's side of the secondary protocol over TCP: one request, one response,
//! with timeouts, using client-embedded's frame codecs.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use client_embedded::protocol::{Framer, Request, Response};

use super::failure::{SecondaryError, SecondaryProblem};
use crate::Error;

/// How long a secondary that is off may hold a connection attempt.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one answer may take (an MCU checks a signature in well under a second).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

/// A connection to one secondary.
pub struct Link {
    stream: TcpStream,
    buffer: Vec<u8>,
    serial: String,
}

impl Link {
    /// Connects to `address` (the secondary `serial`).
    pub fn connect(serial: &str, address: &str) -> Result<Link, Error> {
        let failed = |source: std::io::Error| {
            let problem = SecondaryProblem::Connect { address: address.to_string(), source };
            Error::Secondary(SecondaryError { serial: serial.to_string(), problem })
        };
        let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, "no address");
        let mut connected = None;
        for addr in std::net::ToSocketAddrs::to_socket_addrs(address).map_err(failed)? {
            match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
                Ok(stream) => {
                    connected = Some(stream);
                    break;
                }
                Err(e) => last = e,
            }
        }
        let stream = connected.ok_or(last).map_err(failed)?;
        stream.set_read_timeout(Some(ANSWER_TIMEOUT)).map_err(failed)?;
        stream.set_write_timeout(Some(ANSWER_TIMEOUT)).map_err(failed)?;
        let _ = stream.set_nodelay(true);
        Ok(Link { stream, buffer: vec![0; 1 << 20], serial: serial.to_string() })
    }

    /// The error `problem` with this secondary.
    pub fn error(&self, problem: SecondaryProblem) -> Error {
        Error::Secondary(SecondaryError { serial: self.serial.clone(), problem })
    }

    /// Sends `request` and waits for the answer.
    pub fn call(&mut self, request: Request<'_>) -> Result<Response, Error> {
        let mut wire = Vec::new();
        request.encode(&mut wire);
        if let Err(e) = self.stream.write_all(&wire) {
            return Err(self.error(SecondaryProblem::Io(e)));
        }
        let mut framer = Framer::new(&mut self.buffer);
        let mut input = [0u8; 8192];
        let problem = loop {
            let n = match self.stream.read(&mut input) {
                Ok(0) => break SecondaryProblem::Closed,
                Ok(n) => n,
                Err(e) => break SecondaryProblem::Io(e),
            };
            if let (_, Some(frame)) = framer.push(&input[..n]) {
                match frame.and_then(|(kind, payload)| Response::decode(kind, payload)) {
                    Ok(response) => return Ok(response),
                    Err(e) => break SecondaryProblem::Frame(e),
                }
            }
        };
        Err(self.error(problem))
    }

    /// Sends `request`, which must be answered with `Ok` (or, for `Activate`, `Resetting`).
    pub fn expect_ok(&mut self, request: Request<'_>) -> Result<(), Error> {
        match self.call(request)? {
            Response::Ok | Response::Resetting => Ok(()),
            Response::Refused(code) => Err(self.error(SecondaryProblem::Refused(code))),
            _ => Err(self.error(SecondaryProblem::Unexpected("ok"))),
        }
    }
}
