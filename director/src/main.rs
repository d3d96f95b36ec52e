//! `director`: the Uptane director service.
//!
//! ```text
//! director serve --data ./director            # creates the data directory on first start
//! director init ./director --image-repo /srv/repo --image-root /srv/repo/metadata/1.root.json
//! director admin-token ./director --name alice --role operator
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use director::commands::{self, AdminToken, Assign, CommandError, Encryption, Init, Operator, Register};
use director::setup;

const EXAMPLES: &str = "\
Examples:
  director serve --data ./director
  director init ./director --image-repo /srv/repo --image-root /srv/repo/metadata/1.root.json
  director serve --data ./director --listen 0.0.0.0:8443
  director admin-token ./director --name ci --role operator";

#[derive(Parser)]
#[command(name = "director", version, about = "The Uptane director service", after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a data directory: online keys, an offline root key, director root v1,
    /// the configuration with an administrator token (printed once) and the database.
    Init {
        /// The data directory.
        dir: PathBuf,
        /// Database URL (default: sqlite in the data directory; or postgres://...).
        #[arg(long)]
        database_url: Option<String>,
        /// Listen address.
        #[arg(long)]
        listen: Option<String>,
        /// The image repository published by repo-tool.
        #[arg(long, requires = "image_root")]
        image_repo: Option<PathBuf>,
        /// The image repository root to trust.
        #[arg(long, requires = "image_repo")]
        image_root: Option<PathBuf>,
        /// Server certificate (PEM) for TLS.
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// Server key (PEM) for TLS.
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// CA of device certificates: devices then authenticate by certificate.
        #[arg(long, requires = "tls_cert")]
        client_ca: Option<PathBuf>,
    },
    /// Serve the API; a missing data directory is created as `init` would.
    Serve {
        /// The data directory.
        #[arg(long, default_value = "director-data")]
        data: PathBuf,
        /// Listen address (overrides the configuration).
        #[arg(long)]
        listen: Option<String>,
        /// Database URL (overrides the configuration).
        #[arg(long)]
        database_url: Option<String>,
    },
    /// Install the next director root version (signed offline, e.g. by a repo-tool
    /// ceremony), optionally with new online keys; re-signs every vehicle. Run with
    /// the service stopped.
    ImportRoot {
        /// The data directory.
        dir: PathBuf,
        /// The signed root file.
        root: PathBuf,
        /// A new online key, as ROLE=SOURCE (key file or pkcs11: URI). Repeatable.
        #[arg(long = "key", value_name = "ROLE=SOURCE")]
        keys: Vec<String>,
    },
    /// Register a vehicle directly in the data directory (as `POST /vehicles` does);
    /// prints its device token. Works beside a running SQLite or PostgreSQL director.
    Register {
        /// The data directory.
        dir: PathBuf,
        /// The vehicle.
        #[arg(long)]
        vin: String,
        /// The primary ECU's serial.
        #[arg(long)]
        primary: String,
        /// An ECU, as SERIAL:HARDWARE_ID:PUBLIC_KEY_JSON_FILE[:partial|full[:DECRYPTION_KEY_HEX]]
        /// (the last: its X25519 image decryption key). Repeatable.
        #[arg(long = "ecu", required = true)]
        ecus: Vec<String>,
        /// A tag (`beta`, `fleet-7`). Repeatable.
        #[arg(long = "tag")]
        tags: Vec<String>,
        /// An attribute, as NAME=VALUE (`region=EU`, `hw_rev=B`). Repeatable.
        #[arg(long = "attr", value_name = "NAME=VALUE")]
        attributes: Vec<String>,
    },
    /// List the vehicles a selector or a saved group takes (as `GET /vehicles` does):
    /// VIN, last check-in, tags, attributes and what each ECU runs.
    #[command(
        after_help = "Examples:\n  director vehicles director-data --selector 'attr.region==EU;installed.brake-hw==brake-1.*'\n  director vehicles director-data --group rev-b --json"
    )]
    Vehicles {
        /// The data directory.
        dir: PathBuf,
        /// A selector: `field op value` joined by `;` (and) and `,` (or).
        #[arg(long, default_value = "")]
        selector: String,
        /// A saved group instead.
        #[arg(long, conflicts_with = "selector")]
        group: Option<String>,
        /// Most vehicles to list.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Start after this VIN (the `next` of the page before).
        #[arg(long, default_value = "")]
        after: String,
        /// Print JSON, as the API answers.
        #[arg(long)]
        json: bool,
    },
    /// Assign images directly in the data directory (as `POST /assignments` does).
    Assign {
        /// The data directory.
        dir: PathBuf,
        /// A vehicle. Repeatable.
        #[arg(long = "vin", required = true)]
        vins: Vec<String>,
        /// HARDWARE_ID=IMAGE_REPOSITORY_TARGET_PATH. Repeatable.
        #[arg(long = "image", required = true)]
        images: Vec<String>,
    },
    /// Set whether a hardware id's images are encrypted per ECU (as `PUT /encryption/HW`
    /// does): `required` (an ECU without a decryption key cannot be assigned one),
    /// `optional` (for ECUs with a decryption key) or `never`.
    Encryption {
        /// The data directory.
        dir: PathBuf,
        /// The hardware id.
        #[arg(long)]
        hardware_id: String,
        /// required, optional or never.
        #[arg(long)]
        policy: String,
    },
    /// Print the newest director root (the trust anchor devices are provisioned with).
    Root {
        /// The data directory.
        dir: PathBuf,
    },
    /// Print the fleet's standing: per hardware id the share of ECUs on each image, and
    /// each rollout's state, funnel, failures by code and time to confirm. With `--vin`,
    /// a vehicle's assignments and what each ECU runs (`--json`: everything, as
    /// `GET /vehicles/{vin}`).
    Status {
        /// The data directory.
        dir: PathBuf,
        /// One vehicle instead.
        #[arg(long)]
        vin: Option<String>,
        /// Print the whole status as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Add a dashboard operator who logs in with a name and a password (argon2id-hashed;
    /// from --password-file, DIRECTOR_OPERATOR_PASSWORD, or asked twice), or give an
    /// existing one a new password and role.
    Operator {
        /// The data directory.
        dir: PathBuf,
        /// Their name.
        #[arg(long)]
        name: String,
        /// viewer, operator or admin.
        #[arg(long, default_value = "viewer")]
        role: String,
        /// A file holding the password.
        #[arg(long)]
        password_file: Option<PathBuf>,
    },
    /// Take a vehicle out of service: `request` (the director picks the nonce the image
    /// repository's `repo-tool decommission` must sign too; the command goes out once it
    /// does, and the vehicle's last signed manifest acknowledges it), `status`, `cancel`
    /// (before the command goes out).
    Decommission {
        /// request, status or cancel.
        action: String,
        /// The data directory.
        dir: PathBuf,
        /// The vehicle.
        #[arg(long)]
        vin: String,
        /// Why (request; it goes in the audit log).
        #[arg(long)]
        reason: Option<String>,
        /// What the device erases: keys, credentials, downloads (request; default all).
        #[arg(long)]
        erase: Vec<String>,
        /// Print the status as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write the CRA Annex VII evidence pack into a new folder: product and support end
    /// dates, both repositories' roles and key custody, SBOMs, the verified audit log, each
    /// release's deployment record with the signed manifests it comes from, the test
    /// evidence report; `index.json` hashes every file and the audit log records them.
    Evidence {
        /// The data directory.
        dir: PathBuf,
        /// The folder to write (new or empty).
        #[arg(long)]
        out: PathBuf,
        /// A release (image repository target path) to write the deployment record of.
        /// Repeatable.
        #[arg(long = "release")]
        releases: Vec<String>,
        /// The test evidence report to include (`scripts/evidence-report --out FILE`).
        #[arg(long)]
        test_report: Option<PathBuf>,
    },
    /// Add an administrator token (printed once). Running directors accept it at once
    /// (it is stored in the database); the audit log records who it was made for.
    AdminToken {
        /// The data directory.
        dir: PathBuf,
        /// A name for the audit log.
        #[arg(long)]
        name: String,
        /// metrics (reads /metrics only, for a scraper), viewer, operator or admin.
        #[arg(long, default_value = "viewer")]
        role: String,
    },
}

async fn run(cli: Cli) -> Result<(), CommandError> {
    match cli.command {
        Command::Init { dir, database_url, listen, image_repo, image_root, tls_cert, tls_key, client_ca } => {
            let images = image_repo.zip(image_root);
            let init = Init { database_url, listen, images, tls: tls_cert.zip(tls_key), client_ca };
            commands::init(&dir, init).await
        }
        Command::Serve { data, listen, database_url } => commands::serve(&data, listen, database_url).await,
        Command::ImportRoot { dir, root, keys } => commands::import_root(&dir, &root, &keys).await,
        Command::Vehicles { dir, selector, group, limit, after, json } => {
            let service = setup::open(&dir).await?;
            commands::vehicles(&service, &selector, group.as_deref(), (&after, limit), json).await
        }
        Command::Register { dir, vin, primary, ecus, tags, attributes } => {
            commands::register(&dir, Register { vin, primary, ecus, tags, attributes }).await
        }
        Command::Encryption { dir, hardware_id, policy } => {
            commands::encryption(&dir, Encryption { hardware_id, policy }).await
        }
        Command::Assign { dir, vins, images } => commands::assign(&dir, Assign { vins, images }).await,
        Command::Root { dir } => commands::root(&dir).await,
        Command::Status { dir, vin: None, json } => commands::fleet_status(&*setup::open(&dir).await?, json).await,
        Command::Status { dir, vin: Some(vin), json } => commands::vehicle_status(&dir, &vin, json).await,
        Command::Decommission { action, dir, vin, reason, erase, json } => {
            let what = match (action.as_str(), reason) {
                ("request", Some(reason)) => commands::Decommission::Request { reason, erase },
                ("request", None) => {
                    let expected = "--reason: why the vehicle leaves service";
                    return Err(CommandError::Usage { given: "decommission request".into(), expected });
                }
                ("status", _) => commands::Decommission::Status { json },
                ("cancel", _) => commands::Decommission::Cancel,
                (other, _) => {
                    return Err(CommandError::Usage { given: other.into(), expected: "request, status or cancel" });
                }
            };
            commands::decommission(&dir, &vin, what).await
        }
        Command::Evidence { dir, out, releases, test_report } => {
            let service = setup::open(&dir).await?;
            let index = commands::write_evidence(&service, &out, &commands::Evidence { releases, test_report }).await?;
            let files = index["files"].as_array().map_or(0, Vec::len);
            println!("{}: evidence pack written, {files} files hashed in index.json and the audit log", out.display());
            Ok(())
        }
        Command::AdminToken { dir, name, role } => commands::admin_token(&dir, AdminToken { name, role }).await,
        Command::Operator { dir, name, role, password_file } => {
            commands::operator(&dir, Operator { name, role, password_file }).await
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("director: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("director: {e}");
            ExitCode::FAILURE
        }
    }
}
