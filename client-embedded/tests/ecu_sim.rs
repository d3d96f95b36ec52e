//! `ecu-sim` as the end-to-end tests use it: a secondary over TCP on 127.0.0.1 with its
//! flash in a file. An update with power cut in the middle of the image leaves the old
//! image running after power-up; the same update then installs, and the simulator's
//! reset starts the new image, which confirms.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use client_embedded::protocol::{Framer, Request, Response};
use common::{Director, now};

struct Sim {
    child: Child,
    address: String,
}

impl Sim {
    fn start(dir: &Path, extra: &[&str]) -> Sim {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ecu-sim"))
            .args(["--flash", dir.join("flash.bin").to_str().unwrap()])
            .args(["--serial", "brake-ecu-1", "--hardware-id", "brake-hw-a", "--vin", "VIN0001"])
            .args(["--slot-size", "65536"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
        let address = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("{line:?}")).to_string();
        Sim { child, address }
    }

    /// Sends requests over one connection; the responses until the first refusal or
    /// until the connection drops (a power cut).
    fn send(&self, requests: &[Request<'_>]) -> Vec<Response> {
        let mut stream = TcpStream::connect(&self.address).unwrap();
        let mut responses = Vec::new();
        let mut buffer = vec![0u8; 1 << 16];
        for request in requests {
            let mut wire = Vec::new();
            request.encode(&mut wire);
            if stream.write_all(&wire).is_err() {
                break;
            }
            let mut framer = Framer::new(&mut buffer);
            let mut input = [0u8; 4096];
            let response = loop {
                let n = stream.read(&mut input).unwrap_or(0);
                if n == 0 {
                    break None;
                }
                if let (_, Some(frame)) = framer.push(&input[..n]) {
                    let (kind, payload) = frame.unwrap();
                    break Some(Response::decode(kind, payload).unwrap());
                }
            };
            let Some(response) = response else { break };
            let refused = matches!(response, Response::Refused(_));
            responses.push(response);
            if refused {
                break;
            }
        }
        responses
    }

    fn stop(mut self) -> Option<i32> {
        let _ = self.child.kill();
        self.child.wait().unwrap().code()
    }

    fn wait(mut self) -> Option<i32> {
        self.child.wait().unwrap().code()
    }
}

fn running(sim: &Sim) -> String {
    let responses = sim.send(&[Request::GetInfo]);
    let Response::Info(info) = &responses[0] else { panic!("{responses:?}") };
    String::from_utf8(info.clone()).unwrap().lines().nth(2).unwrap().to_string()
}

#[test]
fn a_power_cut_mid_image_keeps_the_old_image_and_the_update_then_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let mut director = Director::new();
    std::fs::write(dir.path().join("root.json"), director.root()).unwrap();
    std::fs::write(dir.path().join("factory.bin"), b"factory firmware").unwrap();
    let image: Vec<u8> = (0..40_000u32).map(|i| (i * 7 % 256) as u8).collect();
    let targets = director.assign(&image, "brake-ecu-1", "brake-hw-a", 2);
    let root = dir.path().join("root.json");
    let factory = dir.path().join("factory.bin");
    let sim = Sim::start(
        dir.path(),
        &["--provision", "--root", root.to_str().unwrap(), "--factory", factory.to_str().unwrap()],
    );
    assert_eq!(running(&sim), "factory.bin");
    sim.stop();

    let time = now().timestamp() as u64;
    let mut update = vec![Request::StartCycle(time), Request::PutTargets(&targets), Request::BeginImage];
    update.extend(image.chunks(1000).map(Request::ImageChunk));
    update.push(Request::Activate);

    let sim = Sim::start(dir.path(), &["--cut-at", "8"]);
    let responses = sim.send(&update);
    assert!(responses.len() < update.len(), "power was cut before the update finished");
    assert_eq!(sim.wait(), Some(3), "exit status 3 means a power cut");

    let sim = Sim::start(dir.path(), &[]);
    assert_eq!(running(&sim), "factory.bin", "the old image runs after the cut");
    let responses = sim.send(&update);
    assert_eq!(responses.last(), Some(&Response::Resetting), "{responses:?}");
    assert_eq!(running(&sim), "brake/fw-2.bin", "the reset started the new image, which confirmed");
    sim.stop();
    let sim = Sim::start(dir.path(), &[]);
    assert_eq!(running(&sim), "brake/fw-2.bin", "and it stays after a power cycle");
    sim.stop();
}

#[test]
fn an_idle_connection_does_not_block_the_primary() {
    let dir = tempfile::tempdir().unwrap();
    let director = Director::new();
    std::fs::write(dir.path().join("root.json"), director.root()).unwrap();
    std::fs::write(dir.path().join("factory.bin"), b"factory firmware").unwrap();
    let root = dir.path().join("root.json");
    let factory = dir.path().join("factory.bin");
    let sim = Sim::start(
        dir.path(),
        &["--provision", "--root", root.to_str().unwrap(), "--factory", factory.to_str().unwrap()],
    );
    // Someone on the bus opens connections and sends nothing, or half a frame.
    let idle = TcpStream::connect(&sim.address).unwrap();
    let mut half = TcpStream::connect(&sim.address).unwrap();
    half.write_all(&[0, 0, 0]).unwrap();
    let (answered, waited) = std::sync::mpsc::channel();
    let address = sim.address.clone();
    std::thread::spawn(move || {
        let probe = Sim { child: Command::new("true").spawn().unwrap(), address };
        let _ = answered.send(running(&probe));
    });
    let running = waited.recv_timeout(std::time::Duration::from_secs(10));
    assert_eq!(running.as_deref(), Ok("factory.bin"), "the primary waited behind an idle connection");
    drop((idle, half));
    sim.stop();
}

#[test]
fn ecu_sim_with_a_decryption_key_installs_an_encrypted_image_and_refuses_a_cleartext_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut director = Director::new();
    let (root, factory) = (dir.path().join("root.json"), dir.path().join("factory.bin"));
    std::fs::write(&root, director.root()).unwrap();
    std::fs::write(&factory, b"factory firmware").unwrap();
    let secret = "42".repeat(32);
    let public = image_crypto::EcuDecryptionKey::from_secret([0x42; 32]).public();
    let image: Vec<u8> = (0..20_000u32).map(|i| (i * 13 % 251) as u8).collect();
    let keyed = ["--decryption-secret", secret.as_str(), "--require-encryption"];
    let provision = ["--provision", "--root", root.to_str().unwrap(), "--factory", factory.to_str().unwrap()];
    let sim = Sim::start(dir.path(), &[&provision[..], &keyed[..]].concat());
    let time = now().timestamp() as u64;

    // In the clear: refused, unencrypted-image.
    let cleartext = director.assign(&image, "brake-ecu-1", "brake-hw-a", 2);
    let responses = sim.send(&[Request::StartCycle(time), Request::PutTargets(&cleartext)]);
    assert_eq!(responses.last(), Some(&Response::Refused(metadata_schemas::uptane::AttackCode::UNENCRYPTED_IMAGE)));

    let (targets, ciphertext) =
        director.assign_encrypted(&image, ("brake-ecu-1", "brake-hw-a", 3), &public, "brake-ecu-1");
    let mut update = vec![Request::StartCycle(time), Request::PutTargets(&targets), Request::BeginImage];
    update.extend(ciphertext.chunks(1000).map(Request::ImageChunk));
    update.push(Request::Activate);
    let responses = sim.send(&update);
    assert_eq!(responses.last(), Some(&Response::Resetting), "{responses:?}");
    assert_eq!(running(&sim), "brake/fw-3.bin");
    sim.stop();
    let bytes = std::fs::read(dir.path().join("flash.bin")).unwrap();
    assert!(bytes.windows(image.len()).any(|w| w == image), "the slot holds the decrypted image");
}
