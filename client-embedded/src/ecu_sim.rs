//! `ecu-sim`: one secondary ECU on a host, speaking the primary <-> secondary protocol
//! over TCP on 127.0.0.1, its NOR flash simulated and kept in a file, so end-to-end
//! tests can build a vehicle of several ECUs and cut power at any flash operation.
//!
//! ```text
//! ecu-sim --flash brake.bin --serial brake-ecu-1 --hardware-id brake-hw-a --vin VIN0001 \
//!         --provision --root director-root.json --factory factory.bin [--listen 127.0.0.1:0]
//! ```
//!
//! The first stdout line is `listening on ADDR`. `--cut-at N` cuts power at the N-th
//! flash write or erase of this run: the flash file keeps what the cut left and the
//! process exits with status 3; start it again (without `--provision`) to power up.
//! `--print-public-key --seed HEX64` prints the ECU key (JSON) the director registers.
//! `--no-confirm` plays an image that never confirms its trial. `--full` keeps the
//! image repository's metadata too (full verification; provision with `--image-root`).
//! `--decryption-secret HEX64` gives the ECU its X25519 image decryption key
//! (`--print-decryption-key` prints its public half, hex, for registration), and
//! `--require-encryption` refuses unencrypted images.
//!
//! The factory image is kept in its own region too. With both slots bad the simulator
//! boots it (or, without one, the recovery loader) and still serves the protocol, so a
//! primary can install a current image from an offline bundle (`PutOffline`).

extern crate std;

// The host-only simulator uses std's whole prelude (the crate itself is no_std).
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::prelude::rust_2024::*;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use crate::protocol::{Framer, Request, Response, serve};
use crate::sim::{Cut, SimFlash};
use crate::{BootDecision, Device, Ed25519EcuKey, FactoryImage, ImageInfo, Layout, Secondary};
use metadata_schemas::uptane::{EcuSerial, HardwareId, Vin};
use update_verifier::Limits;
use update_verifier::uptane::EcuIdentity;

const SECTOR: usize = 4096;
type Flash = SimFlash<8, SECTOR>;
type Ecu = Secondary<Flash, Ed25519EcuKey>;

struct Options {
    flash: PathBuf,
    listen: String,
    ecu: EcuIdentity,
    seed: [u8; 32],
    provision: Option<(PathBuf, PathBuf)>,
    cut_at: Option<u64>,
    confirm: bool,
    slot_size: u32,
    full: bool,
    image_root: Option<PathBuf>,
    print_key: bool,
    decryption: Option<[u8; 32]>,
    require_encryption: bool,
    print_decryption_key: bool,
}

fn usage(problem: &str) -> String {
    format!(
        "ecu-sim: {problem}\nusage: ecu-sim --flash FILE --serial S --hardware-id H --vin V [--seed HEX64] \
         [--provision --root ROOT --factory IMAGE] [--listen ADDR] [--cut-at N] [--no-confirm] [--slot-size BYTES] \
         [--full [--image-root ROOT]] [--decryption-secret HEX64 [--require-encryption]] \
         [--print-public-key | --print-decryption-key]"
    )
}

fn parse() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let (mut flash, mut serial, mut hardware, mut vin, mut root, mut factory) = (None, None, None, None, None, None);
    let mut options = Options {
        flash: PathBuf::new(),
        listen: "127.0.0.1:0".into(),
        ecu: EcuIdentity {
            vin: Vin::new("x").unwrap(),
            serial: EcuSerial::new("x").unwrap(),
            hardware_id: HardwareId::new("x").unwrap(),
        },
        seed: [7; 32],
        provision: None,
        cut_at: None,
        confirm: true,
        slot_size: 1 << 20,
        full: false,
        image_root: None,
        print_key: false,
        decryption: None,
        require_encryption: false,
        print_decryption_key: false,
    };
    let mut provision = false;
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| usage(&format!("{arg} needs a value")));
        match arg.as_str() {
            "--flash" => flash = Some(PathBuf::from(value()?)),
            "--serial" => serial = Some(value()?),
            "--hardware-id" => hardware = Some(value()?),
            "--vin" => vin = Some(value()?),
            "--root" => root = Some(PathBuf::from(value()?)),
            "--factory" => factory = Some(PathBuf::from(value()?)),
            "--listen" => options.listen = value()?,
            "--cut-at" => options.cut_at = Some(value()?.parse().map_err(|_| usage("--cut-at takes a number"))?),
            "--slot-size" => options.slot_size = value()?.parse().map_err(|_| usage("--slot-size takes a number"))?,
            "--seed" => {
                let hex = value()?;
                let bytes = metadata_schemas::hex::decode(&hex).ok_or_else(|| usage("--seed takes 64 hex digits"))?;
                options.seed = bytes.try_into().map_err(|_| usage("--seed takes 64 hex digits"))?;
            }
            "--provision" => provision = true,
            "--no-confirm" => options.confirm = false,
            "--full" => options.full = true,
            "--print-public-key" => options.print_key = true,
            "--print-decryption-key" => options.print_decryption_key = true,
            "--require-encryption" => options.require_encryption = true,
            "--decryption-secret" => {
                let bad = || usage("--decryption-secret takes 64 hex digits");
                let bytes = metadata_schemas::hex::decode(&value()?).ok_or_else(bad)?;
                options.decryption = Some(bytes.try_into().map_err(|_| bad())?);
            }
            "--image-root" => options.image_root = Some(PathBuf::from(value()?)),
            "--help" | "-h" => return Err(usage("help")),
            other => return Err(usage(&format!("unknown argument {other}"))),
        }
    }
    if options.print_key || options.print_decryption_key {
        return Ok(options); // only the seed or the decryption secret matters
    }
    if options.require_encryption && options.decryption.is_none() {
        return Err(usage("--require-encryption needs --decryption-secret"));
    }
    options.flash = flash.ok_or_else(|| usage("--flash is required"))?;
    let name = |what: &str, v: Option<String>| v.ok_or_else(|| usage(&format!("--{what} is required")));
    options.ecu = EcuIdentity {
        vin: Vin::new(name("vin", vin)?).ok_or_else(|| usage("--vin is empty"))?,
        serial: EcuSerial::new(name("serial", serial)?).ok_or_else(|| usage("--serial is empty"))?,
        hardware_id: HardwareId::new(name("hardware-id", hardware)?).ok_or_else(|| usage("--hardware-id is empty"))?,
    };
    if provision {
        options.provision = Some((
            root.ok_or_else(|| usage("--provision needs --root"))?,
            factory.ok_or_else(|| usage("--provision needs --factory"))?,
        ));
    }
    Ok(options)
}

fn layout(options: &Options) -> Layout {
    flash_layout(options.slot_size, options.full)
}

/// The simulator's flash layout for slots of `slot_size` bytes: slots A and B, the boot
/// state, the metadata (the image repository's too with `full`), then the factory region.
pub fn flash_layout(slot_size: u32, full: bool) -> Layout {
    Layout::contiguous(0, SECTOR as u32, slot_size, SECTOR as u32, 64 * 1024, full)
        .with_factory(SECTOR as u32, slot_size)
}

fn save(path: &Path, flash: &Flash) -> std::io::Result<()> {
    let temp = path.with_extension("tmp");
    std::fs::write(&temp, flash.bytes())?;
    std::fs::rename(&temp, path)
}

fn load(path: &Path, options: &Options) -> Result<Flash, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut flash = Flash::new(bytes.len() / SECTOR);
    flash.program(0, &bytes);
    if let Some(n) = options.cut_at {
        flash.cut_at(n, Cut::Before);
    }
    Ok(flash)
}

fn provision(options: &Options, root: &Path, factory: &Path) -> Result<(), String> {
    let root = std::fs::read(root).map_err(|e| format!("{}: {e}", root.display()))?;
    let image = std::fs::read(factory).map_err(|e| format!("{}: {e}", factory.display()))?;
    let layout = layout(options);
    let mut flash = Flash::new(layout.end() as usize / SECTOR);
    flash.program(layout.slots[0].start as usize, &image);
    flash.program(layout.factory.start as usize, &image);
    let info = ImageInfo {
        length: image.len() as u32,
        sha256: threshold_keys::digest::sha256(&image),
        release_counter: 0,
        targets_version: 0,
    };
    let name = factory.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let factory = FactoryImage { info, name: name.as_bytes() };
    let mut device = Device::provision(flash, layout, factory).map_err(|e| format!("provisioning: {e:?}"))?;
    device.record_factory(info, &mut [0u8; 4096]).map_err(|e| format!("factory region: {e:?}"))?;
    Ecu::provision_root(&mut device, &options.ecu, &root, &mut vec![0; 64 * 1024])
        .map_err(|e| format!("root: {e:?}"))?;
    if options.full {
        let path = options.image_root.as_ref().ok_or("--full needs --image-root to provision")?;
        let image_root = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Ecu::provision_image_root(&mut device, &image_root, &mut vec![0; 64 * 1024])
            .map_err(|e| format!("image root: {e:?}"))?;
    }
    save(&options.flash, &device.into_flash()).map_err(|e| e.to_string())
}

/// A power-up: the bootloader decides, the application starts (and confirms a trial
/// unless told not to). A power cut on the way saves the flash as it was left.
fn power_up(flash: Flash, options: &Options) -> Result<Ecu, Stop> {
    let mut device = Device::open(flash, layout(options)).map_err(|e| Stop::Failed(format!("open: {e:?}")))?;
    let decision = match device.boot(&mut [0u8; 4096]) {
        Ok(decision) => decision,
        Err(e) => return Err(stopped(device, format!("boot: {e:?}"), options)),
    };
    eprintln!("ecu-sim {}: {decision:?}", options.ecu.serial.as_str());
    if !matches!(decision, BootDecision::Boot { .. }) {
        // The factory image or the recovery loader: it serves the protocol to take a bundle.
        eprintln!("ecu-sim {}: no slot can boot; waiting for an image", options.ecu.serial.as_str());
    }
    let key = Ed25519EcuKey::from_seed(&options.seed);
    let mut ecu = Secondary::open(device, options.ecu.clone(), key, Limits::default());
    if let Some(secret) = options.decryption {
        let key = image_crypto::EcuDecryptionKey::from_secret(secret);
        ecu = ecu.with_decryption_key(key, options.require_encryption);
    }
    if options.confirm && ecu.on_trial() {
        if let Err(e) = ecu.confirm() {
            return Err(stopped(ecu.into_device(), format!("confirm: {e:?}"), options));
        }
    }
    Ok(ecu)
}

/// Why the simulator stops.
enum Stop {
    PowerCut,
    Failed(String),
}

/// A failure: a power cut if the flash was cut (its bytes are saved as left), else the message.
fn stopped(mut device: Device<Flash>, message: String, options: &Options) -> Stop {
    if !device.flash().is_cut() {
        return Stop::Failed(message);
    }
    match save(&options.flash, &device.into_flash().reboot()) {
        Ok(()) => Stop::PowerCut,
        Err(e) => Stop::Failed(e.to_string()),
    }
}

/// The ECU, shared by the connections; `None` once power is cut (the process is ending).
type Shared = Arc<Mutex<Option<Ecu>>>;

/// Connections served at once; more are closed at once.
const MAX_CONNECTIONS: usize = 8;
/// A connection that sends nothing for this long is closed.
const IDLE: Duration = Duration::from_secs(60);

/// Serves one connection; `Ok(())` when it ends. A primary that vanishes, sends garbage
/// or goes idle ends its connection, never the ECU; requests from several connections
/// are served one at a time, as one core would.
fn serve_connection(stream: &mut TcpStream, ecu: &Shared, options: &Options) -> Result<(), Stop> {
    let lost = |what: &str, e: &dyn std::fmt::Display| {
        eprintln!("ecu-sim {}: connection {what}: {e}", options.ecu.serial.as_str());
        Ok(())
    };
    let mut buffer = vec![0u8; 1 << 20];
    let mut scratch = vec![0u8; 64 * 1024];
    let mut framer = Framer::new(&mut buffer);
    let mut input = [0u8; 16 * 1024];
    loop {
        let n = match stream.read(&mut input) {
            Ok(n) => n,
            Err(e) => return lost("lost", &e),
        };
        if n == 0 {
            return Ok(());
        }
        let mut rest = &input[..n];
        while !rest.is_empty() {
            let (used, frame) = framer.push(rest);
            rest = &rest[used..];
            let Some(frame) = frame else { continue };
            let request = match frame
                .map_err(|e| format!("{e:?}"))
                .and_then(|(k, p)| Request::decode(k, p).map_err(|e| format!("{e:?}")))
            {
                Ok(request) => request,
                Err(e) => return lost("closed after a bad frame", &e),
            };
            let mut guard = ecu.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let Some(response) = handle(&mut guard, request, &mut scratch, options)? else { return Ok(()) };
            drop(guard);
            let mut out = Vec::new();
            response.encode(&mut out);
            if let Err(e) = stream.write_all(&out) {
                return lost("lost", &e);
            }
        }
    }
}

/// One request to the powered ECU, its flash saved before the answer (as a device's flash
/// is written); `None` when power was cut by another connection.
fn handle(
    ecu: &mut Option<Ecu>,
    request: Request<'_>,
    scratch: &mut [u8],
    options: &Options,
) -> Result<Option<Response>, Stop> {
    let Some(powered) = ecu.as_mut() else { return Ok(None) };
    let response = serve(powered, request, scratch);
    if powered.device().flash().is_cut() {
        let device = ecu.take().expect("powered").into_device();
        return Err(stopped(device, String::new(), options));
    }
    save(&options.flash, powered.device().flash()).map_err(|e| Stop::Failed(e.to_string()))?;
    if response == Response::Resetting {
        let flash = ecu.take().expect("powered").into_device().into_flash();
        let mut restarted = power_up(flash, options)?;
        save(&options.flash, restarted.device().flash()).map_err(|e| Stop::Failed(e.to_string()))?;
        *ecu = Some(restarted);
    }
    Ok(Some(response))
}

/// Accepts connections, each on its own thread; the first `Stop` of any ends the process.
fn accept(listener: TcpListener, ecu: Shared, options: Arc<Options>, stop: mpsc::Sender<Stop>) {
    let active = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
        let mut stream = match stream {
            Ok(stream) => stream,
            Err(e) => {
                eprintln!("ecu-sim {}: accept: {e}", options.ecu.serial.as_str());
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        if active.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            active.fetch_sub(1, Ordering::SeqCst);
            eprintln!("ecu-sim {}: {MAX_CONNECTIONS} connections open; closing a new one", options.ecu.serial.as_str());
            continue;
        }
        let (ecu, options, stop, active) = (ecu.clone(), options.clone(), stop.clone(), active.clone());
        std::thread::spawn(move || {
            let result = stream.set_read_timeout(Some(IDLE)).map_err(|e| Stop::Failed(e.to_string()));
            let result = result.and_then(|()| serve_connection(&mut stream, &ecu, &options));
            active.fetch_sub(1, Ordering::SeqCst);
            if let Err(end) = result {
                let _ = stop.send(end);
            }
        });
    }
}

fn run() -> Result<(), Stop> {
    let options = parse().map_err(Stop::Failed)?;
    if options.print_key {
        let key = Ed25519EcuKey::from_seed(&options.seed);
        let json = metadata_schemas::json::to_canonical(&metadata_schemas::Encode::encode(key.public_key()));
        println!("{}", String::from_utf8_lossy(&json));
        return Ok(());
    }
    if options.print_decryption_key {
        let secret = options
            .decryption
            .ok_or_else(|| Stop::Failed(usage("--print-decryption-key needs --decryption-secret")))?;
        println!("{}", metadata_schemas::hex::encode(&image_crypto::EcuDecryptionKey::from_secret(secret).public()));
        return Ok(());
    }
    if let Some((root, factory)) = &options.provision {
        provision(&options, root, factory).map_err(Stop::Failed)?;
    }
    let flash = load(&options.flash, &options).map_err(Stop::Failed)?;
    let mut ecu = power_up(flash, &options)?;
    save(&options.flash, ecu.device().flash()).map_err(|e| Stop::Failed(e.to_string()))?;
    let listener = TcpListener::bind(&options.listen).map_err(|e| Stop::Failed(format!("{}: {e}", options.listen)))?;
    println!("listening on {}", listener.local_addr().map_err(|e| Stop::Failed(e.to_string()))?);
    std::io::stdout().flush().ok();
    let (stop, stopped) = mpsc::channel();
    let shared = Arc::new(Mutex::new(Some(ecu)));
    std::thread::spawn(move || accept(listener, shared, Arc::new(options), stop));
    match stopped.recv() {
        Ok(end) => Err(end),
        Err(_) => Ok(()),
    }
}

/// Runs `ecu-sim` with the process arguments; the exit code is 3 after a power cut.
pub fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(Stop::PowerCut) => {
            eprintln!("ecu-sim: power cut");
            ExitCode::from(3)
        }
        Err(Stop::Failed(message)) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}
