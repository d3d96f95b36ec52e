//! `repo-tool bundle create`: an offline bundle (USB stick, SD card, serial) of chosen
//! images, signed by the offline key the director root names. Audited in the
//! repository as `bundle-signed`.

use std::path::PathBuf;

use metadata_schemas::json::Value;
use metadata_schemas::uptane::{EcuSerial, HardwareId, Vin};
use metadata_schemas::{TargetPath, Version};
use repo_tool::audit::AuditEvent;
use repo_tool::bundle::{self, BundleRequest};
use repo_tool::config::parse_duration;
use repo_tool::keys::KeySource;
use repo_tool::{Error, Repository};

use super::{Output, object};

const EXAMPLES: &str = "\
Examples:
  curl -s https://director.example/api/v1/vehicles/VIN123/director/1.root.json > director-1.root.json
  repo-tool bundle create repo --director-root director-1.root.json --offline-key offline-updates.pem \\
      --image brake/fw-3.bin --image gateway/os-7.img --install-order brake-hw,gateway-hw --out /media/usb/bundle
  repo-tool bundle create repo --director-root director-1.root.json --offline-key pkcs11:token=ops;object=offline \\
      --image brake/fw-3.bin --vin VIN123 --expires 7d --out bundle-VIN123";

/// Offline bundles.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Write a bundle: the image repository's metadata, the images, and offline
    /// snapshot and targets signed by the offline key the director root names.
    #[command(after_help = EXAMPLES)]
    Create(CreateArgs),
}

/// `bundle create`'s arguments.
#[derive(clap::Args)]
pub struct CreateArgs {
    /// The image repository.
    dir: PathBuf,
    /// A director root the devices trust (repeat for the chain; the latest at least).
    #[arg(long = "director-root", required = true)]
    director_roots: Vec<PathBuf>,
    /// The offline-updates key (a key file or a pkcs11: URI).
    #[arg(long)]
    offline_key: String,
    /// A target path to carry (repeatable).
    #[arg(long = "image", required = true)]
    images: Vec<String>,
    /// Where to write the bundle (a new directory).
    #[arg(long)]
    out: PathBuf,
    /// Only this vehicle may install it (repeatable; default any).
    #[arg(long = "vin")]
    vins: Vec<String>,
    /// Only this ECU may install it (repeatable; default any).
    #[arg(long = "ecu")]
    ecus: Vec<String>,
    /// Hardware ids in install order, comma-separated (others go last).
    #[arg(long, value_delimiter = ',')]
    install_order: Vec<String>,
    /// How long it is valid.
    #[arg(long, default_value = "30d")]
    expires: String,
    /// Offline targets version (default: the issue time in seconds, so later bundles are newer).
    #[arg(long)]
    version: Option<u64>,
    /// Its name (default: the output directory's name).
    #[arg(long)]
    name: Option<String>,
}

fn ids<T>(items: &[String], what: &str, make: fn(String) -> Option<T>) -> Result<Vec<T>, Error> {
    items.iter().map(|s| make(s.clone()).ok_or_else(|| Error::Usage(format!("--{what} is empty")))).collect()
}

fn request(args: &CreateArgs) -> Result<BundleRequest, Error> {
    let issued = chrono::Utc::now();
    let lifetime = chrono::Duration::from_std(parse_duration(&args.expires)?)
        .map_err(|_| Error::Usage(format!("--expires {}: too long", args.expires)))?;
    let version = Version::new(args.version.unwrap_or(issued.timestamp().max(1) as u64))
        .ok_or_else(|| Error::Usage("--version must be at least 1".into()))?;
    let mut director_roots = Vec::new();
    for path in &args.director_roots {
        director_roots.push(std::fs::read(path).map_err(|e| Error::io(path, e))?);
    }
    let name = args.name.clone().or_else(|| args.out.file_name().map(|n| n.to_string_lossy().into_owned()));
    Ok(BundleRequest {
        name: name.filter(|n| !n.is_empty()).ok_or_else(|| Error::Usage("give --name".into()))?,
        images: args.images.iter().map(|p| TargetPath::new(p.as_str())).collect(),
        director_roots,
        version,
        issued,
        expires: issued + lifetime,
        vins: ids(&args.vins, "vin", Vin::new)?,
        ecus: ids(&args.ecus, "ecu", EcuSerial::new)?,
        install_order: ids(&args.install_order, "install-order", HardwareId::new)?,
    })
}

pub fn run(command: Command, out: &Output) -> Result<(), Error> {
    let Command::Create(args) = command;
    let request = request(&args)?;
    let mut repo = Repository::load(&args.dir)?;
    let base = std::env::current_dir().map_err(|e| Error::io(".", e))?;
    let signer = KeySource::parse(&args.offline_key, &base).open()?;
    let summary = bundle::create(&repo, &request, signer.as_ref(), &args.out)?;
    let images: Vec<String> =
        summary.images.iter().map(|i| format!("{} (counter {})", i.path, i.release_counter)).collect();
    let what = format!(
        "bundle {} v{} by key {}: {}; offline targets sha256 {}",
        request.name,
        request.version,
        signer.key_id().short(),
        images.join(", "),
        summary.targets_sha256
    );
    repo.record(AuditEvent::note("bundle-signed", what));
    let mut keys = repo.key_ring(&[]);
    if let Err(e) = repo.save(&mut keys) {
        // Unaudited, the bundle does not stay.
        let _ = std::fs::remove_dir_all(&args.out);
        return Err(e);
    }
    out.line(format!(
        "wrote bundle {} (v{}) to {}: {}",
        request.name,
        request.version,
        args.out.display(),
        images.join(", ")
    ));
    out.result(object([
        ("name", Value::string(request.name.clone())),
        ("version", Value::unsigned(request.version.get())),
        ("out", Value::string(args.out.display().to_string())),
        ("images", Value::Array(summary.images.iter().map(|i| Value::string(i.path.as_str().to_string())).collect())),
    ]));
    Ok(())
}
