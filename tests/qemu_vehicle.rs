//! The real primary and director update a Cortex-M4 secondary that runs under QEMU
//! with an image encrypted for it (it unwraps the key and decrypts into its slot)
//! (`embedded/qemu-firmware`'s `uart_secondary`), over the board's UART joined to a host
//! TCP port: no ecu-sim anywhere. The firmware is provisioned as at end of line, from a
//! block a programmer writes into reserved flash (`-device loader`).
//!
//! Needs the firmware built with Debian's rustc for thumbv7em: `scripts/qemu-test`
//! builds it twice, its boot state and metadata in raw flash regions and in a littlefs
//! partition, and runs this test for each with QEMU_UART_FIRMWARE and QEMU_UART_STORE
//! (`raw` or `littlefs`) set.
//!
//! A second board starts with both slots empty (provisioned `factory-only`): it boots
//! its factory image, and the primary recovers it from an offline bundle over the UART
//! (`update-client offline`'s path): trial, then confirmed.

mod harness;

use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use client_embedded::protocol::Request;
use client_std::primary::{EcuOutcome, SecondaryConfig};
use harness::{Vehicle, firmware};
use metadata_schemas::uptane::AttackCode;

/// The ECU under QEMU: serial, hardware id, key seed byte, full verification.
const MCU: (&str, &str, u8, bool) = ("brake-1", "brake-hw", 1, true);

/// The MCU's image decryption secret (its public half is registered with the director).
const DECRYPTION_SECRET: [u8; 32] = [0x42; 32];

/// The factory provisioning block (layout in the firmware's `src/provisioning.rs`): the
/// MCU takes encrypted images only, or (`recovery`) takes any and starts with its slots
/// empty, the factory image only in its region.
fn provisioning_block(vehicle: &Vehicle, recovery: bool) -> Vec<u8> {
    let (serial, hardware_id, seed, _) = MCU;
    let decryption = if recovery { Vec::new() } else { DECRYPTION_SECRET.to_vec() };
    let placement = if recovery { b"factory-only".to_vec() } else { Vec::new() };
    let fields: [Vec<u8>; 10] = [
        harness::VIN.into(),
        serial.into(),
        hardware_id.into(),
        vec![seed; 32],
        std::fs::read(&vehicle.config.director_root).unwrap(),
        std::fs::read(&vehicle.config.image_root).unwrap(),
        b"brake/factory.bin".to_vec(),
        b"brake-1 factory firmware, as flashed at end of line".to_vec(),
        decryption,
        placement,
    ];
    let mut block = b"UPTPROV1".to_vec();
    for field in fields {
        block.extend_from_slice(&(field.len() as u32).to_le_bytes());
        block.extend_from_slice(&field);
    }
    block
}

/// QEMU running the firmware; killed when dropped.
struct Board {
    qemu: Child,
    log: PathBuf,
    address: String,
}

impl Board {
    fn power_on(firmware: &Path, block: &Path, dir: &Path) -> Board {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let log = dir.join("qemu.log");
        let qemu = Command::new("qemu-system-arm")
            .args(["-cpu", "cortex-m4", "-machine", "mps2-an386", "-nographic", "-monitor", "none"])
            .args(["-semihosting-config", "enable=on,target=native", "-kernel"])
            .arg(firmware)
            .arg("-device")
            .arg(format!("loader,file={},addr=0x00300000,force-raw=on", block.display()))
            .arg("-serial")
            .arg(format!("tcp:127.0.0.1:{port},server=on,wait=off"))
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("qemu-system-arm (Debian: qemu-system-arm)");
        let board = Board { qemu, log, address: format!("127.0.0.1:{port}") };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(&board.address).is_err() {
            assert!(Instant::now() < deadline, "QEMU does not listen on {}: {}", board.address, board.said());
            std::thread::sleep(Duration::from_millis(50));
        }
        board
    }

    /// What the firmware printed (semihosting).
    fn said(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Board {
    fn drop(&mut self) {
        let _ = self.qemu.kill();
        let _ = self.qemu.wait();
    }
}

#[test]
#[ignore = "needs the QEMU UART firmware: scripts/qemu-test builds it and runs this"]
fn the_real_primary_updates_a_qemu_cortex_m4_secondary_over_its_uart() {
    let elf = PathBuf::from(std::env::var("QEMU_UART_FIRMWARE").expect("QEMU_UART_FIRMWARE: the uart_secondary ELF"));
    let store = match std::env::var("QEMU_UART_STORE").expect("QEMU_UART_STORE: raw or littlefs").as_str() {
        "raw" => "raw flash regions",
        "littlefs" => "a littlefs partition",
        other => panic!("QEMU_UART_STORE={other}: raw or littlefs"),
    };
    let mut vehicle = Vehicle::registered(firmware(), None, &[MCU]);
    let block = harness::write(vehicle.dir.path().join("provisioning.bin"), &provisioning_block(&vehicle, false));
    let board = Board::power_on(&elf, &block, vehicle.dir.path());
    vehicle.config.secondaries.push(SecondaryConfig {
        serial: MCU.0.into(),
        address: board.address.clone(),
        full_verification: MCU.3,
    });

    // The brake hardware takes encrypted images only; the director wraps each image's key
    // for the MCU's decryption key.
    let public = image_crypto::EcuDecryptionKey::from_secret(DECRYPTION_SECRET).public();
    vehicle.admin("PUT", "/encryption/brake-hw", serde_json::json!({"policy": "required"}));
    let path = format!("/vehicles/{}/ecus/brake-1/decryption-key", harness::VIN);
    vehicle.admin("PUT", &path, serde_json::json!({"decryption_key": metadata_schemas::hex::encode(&public)}));
    vehicle.assign(&[("gateway-hw", "gateway/fw-2.bin"), ("brake-hw", "brake/fw-2.bin")]);
    let start = Instant::now();
    let first = vehicle.cycle().unwrap_or_else(|e| panic!("{e}\nthe board said:\n{}", board.said()));
    let first_cycle = start.elapsed();
    assert!(matches!(first.ecus["brake-1"], EcuOutcome::Installing(_)), "{first:#?}\n{}", board.said());
    let reports = vehicle.until_done(4);
    let said = board.said();
    assert!(reports.last().unwrap().ecus.values().all(|o| o.is_up_to_date()), "{reports:#?}\n{said}");
    assert_eq!(vehicle.assignment_state("brake-1", "brake/fw-2.bin"), "installed", "{said}");
    assert!(vehicle.running()["brake-1"].ends_with("brake/fw-2.bin"), "{:?}", vehicle.running());
    assert!(said.contains("first power-on: provisioning"), "{said}");
    assert!(said.contains(&format!("boot state and metadata in {store}")), "{said}");
    assert!(said.contains("boot 2: Boot { slot: B, trial: true }"), "the new image starts as a trial: {said}");
    assert!(said.contains("boot 2: the trial image runs; confirmed"), "{said}");
    assert!(said.contains("boot 2: encrypted images required"), "{said}");

    // A primary that vanished mid-frame leaves half a frame on the line; after a second of
    // silence the MCU drops it, so the next primary's frames read clean.
    let mut wire = Vec::new();
    Request::PutTargets(&[0u8; 64]).encode(&mut wire);
    let mut cut = TcpStream::connect(&board.address).unwrap();
    cut.write_all(&wire[..30]).unwrap();
    drop(cut);
    std::thread::sleep(Duration::from_millis(1500));

    // The MCU itself refuses a rollback the director asks for, and says why.
    vehicle.assign(&[("brake-hw", "brake/fw-1.bin")]);
    let refused = vehicle.cycle().unwrap();
    let outcome = &refused.ecus["brake-1"];
    assert!(
        matches!(outcome, EcuOutcome::Failed(why) if why.refused_with() == Some(AttackCode::ROLLBACK)),
        "{outcome:?}"
    );
    assert!(vehicle.running()["brake-1"].ends_with("brake/fw-2.bin"));
    eprintln!(
        "first cycle (48 KiB encrypted image over the UART, full verification on the MCU, {store}): {first_cycle:?}"
    );
    for line in board.said().lines().filter(|l| l.starts_with("peak") || l.starts_with("static")) {
        eprintln!("board: {line}");
    }
}

#[test]
#[ignore = "needs the QEMU UART firmware: scripts/qemu-test builds it and runs this"]
fn a_qemu_secondary_with_both_slots_bad_boots_its_factory_image_and_is_recovered_from_a_bundle_over_its_uart() {
    let elf = PathBuf::from(std::env::var("QEMU_UART_FIRMWARE").expect("QEMU_UART_FIRMWARE: the uart_secondary ELF"));
    let mut vehicle = Vehicle::registered(firmware(), None, &[MCU]);
    let block = harness::write(vehicle.dir.path().join("provisioning.bin"), &provisioning_block(&vehicle, true));
    let board = Board::power_on(&elf, &block, vehicle.dir.path());
    vehicle.config.secondaries.push(SecondaryConfig {
        serial: MCU.0.into(),
        address: board.address.clone(),
        full_verification: MCU.3,
    });
    assert!(vehicle.running()["brake-1"].is_empty(), "no slot runs: {}", board.said());
    assert!(board.said().contains("boot 1: Factory"), "{}", board.said());
    let key = harness::offline_updates_key(&vehicle);
    let spec = repo_simulator::offline::OfflineSpec::new(chrono::Utc::now(), "-", b"", "-", 0);
    let bundle = harness::offline_bundle(&vehicle, "usb", &["brake/fw-2.bin"], spec, &key);
    let start = Instant::now();
    let mut primary = client_std::primary::Primary::open(vehicle.config.clone()).unwrap();
    let report = primary.offline(&bundle, chrono::Utc::now()).unwrap_or_else(|e| panic!("{e}\n{}", board.said()));
    let elapsed = start.elapsed();
    assert!(matches!(report.ecus["brake-1"], EcuOutcome::Installing(_)), "{report:#?}\n{}", board.said());
    let deadline = Instant::now() + Duration::from_secs(30);
    while !board.said().contains("the trial image runs; confirmed") {
        assert!(Instant::now() < deadline, "no confirmed trial: {}", board.said());
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(vehicle.running()["brake-1"].ends_with("brake/fw-2.bin"), "{:?}", vehicle.running());
    let said = board.said();
    assert!(said.contains("boot 2: Boot { slot: A, trial: true }"), "the bundle's image starts as a trial: {said}");
    vehicle.until_done(4);
    let installs = vehicle.status()["offline_installs"].clone();
    assert!(installs.as_array().is_some_and(|i| i.iter().any(|i| i["ecu"] == "brake-1")), "{installs:#}");
    eprintln!("recovery from a bundle over the UART (48 KiB image, full verification on the MCU): {elapsed:?}");
}
