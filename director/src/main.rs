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
use director::config::{Config, ImageRepoConfig, Role, TlsConfig};
use director::setup::{self, InitOptions};

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

fn absolute(path: PathBuf) -> PathBuf {
    std::fs::canonicalize(&path).unwrap_or(path)
}

async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Init { dir, database_url, listen, image_repo, image_root, tls_cert, tls_key, client_ca } => {
            let options = InitOptions {
                database_url,
                listen,
                tls: tls_cert.zip(tls_key).map(|(cert, key)| TlsConfig {
                    cert: absolute(cert),
                    key: absolute(key),
                    client_ca: client_ca.map(absolute),
                }),
                image_repository: image_repo
                    .zip(image_root)
                    .map(|(dir, root)| ImageRepoConfig { dir: absolute(dir), root: absolute(root) }),
                lifetimes: None,
            };
            initialize(&dir, options).await
        }
        Command::Serve { data, listen, database_url } => serve(&data, listen, database_url).await,
        Command::ImportRoot { dir, root, keys } => {
            let bytes = std::fs::read(&root).map_err(|e| format!("{}: {e}", root.display()))?;
            let keys = keys
                .iter()
                .map(|k| {
                    k.split_once('=')
                        .map(|(r, s)| (r.to_string(), s.to_string()))
                        .ok_or(format!("--key {k}: ROLE=SOURCE"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let version = setup::import_root(&dir, &bytes, &keys).await?;
            println!("director root v{version} installed; vehicles re-signed");
            Ok(())
        }
        Command::Vehicles { dir, selector, group, limit, after, json } => {
            let service = setup::open(&dir).await?;
            vehicles(&service, &selector, group.as_deref(), (&after, limit), json).await
        }
        Command::Register { dir, vin, primary, ecus, tags, attributes } => {
            let mut list = Vec::new();
            for ecu in &ecus {
                let parts: Vec<&str> = ecu.split(':').collect();
                let (serial, hardware, key, mode, decryption) = match parts.as_slice() {
                    [s, h, k] => (s, h, k, "partial", None),
                    [s, h, k, m] => (s, h, k, *m, None),
                    [s, h, k, m, d] => (s, h, k, *m, Some(d.to_string())),
                    _ => {
                        return Err(format!(
                            "--ecu {ecu}: SERIAL:HARDWARE_ID:KEY_FILE[:partial|full[:DECRYPTION_KEY_HEX]]"
                        ));
                    }
                };
                let text = std::fs::read_to_string(key).map_err(|e| format!("{key}: {e}"))?;
                let mut public_key: serde_json::Value =
                    serde_json::from_str(&text).map_err(|e| format!("{key}: {e}"))?;
                if public_key.get("key").is_some() {
                    public_key = public_key["key"].take(); // `repo-tool key export-public` output
                }
                list.push(director::service::NewEcu {
                    serial: serial.to_string(),
                    hardware_id: hardware.to_string(),
                    public_key,
                    verification: mode.to_string(),
                    decryption_key: decryption,
                });
            }
            let service = setup::open(&dir).await?;
            let attributes = attributes
                .iter()
                .map(|a| {
                    a.split_once('=')
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .ok_or(format!("--attr {a}: NAME=VALUE"))
                })
                .collect::<Result<_, _>>()?;
            let new = director::service::NewVehicle { vin, primary_ecu_serial: primary, ecus: list, tags, attributes };
            let token = service.register("admin:cli", new).await.map_err(|e| format!("{e:?}"))?;
            println!("{token}");
            Ok(())
        }
        Command::Encryption { dir, hardware_id, policy } => {
            let policy = director::encryption::Policy::parse(&policy)
                .ok_or(format!("--policy {policy}: required, optional or never"))?;
            let service = setup::open(&dir).await?;
            service.set_policy("admin:cli", &hardware_id, policy).await.map_err(|e| format!("{e:?}"))?;
            println!("{hardware_id}: images {}", policy.as_str());
            Ok(())
        }
        Command::Assign { dir, vins, images } => {
            let images = images
                .iter()
                .map(|i| {
                    i.split_once('=')
                        .map(|(h, p)| (h.to_string(), p.to_string()))
                        .ok_or(format!("--image {i}: HW=PATH"))
                })
                .collect::<Result<_, _>>()?;
            let service = setup::open(&dir).await?;
            let made = service
                .assign("admin:cli", director::service::NewAssignments { vehicles: vins, images })
                .await
                .map_err(|e| format!("{e:?}"))?;
            for a in made {
                println!("{} {} -> {} ({})", a.vin, a.serial, a.target, a.state);
            }
            Ok(())
        }
        Command::Root { dir } => {
            let service = setup::open(&dir).await?;
            let (_, root) = service.store.latest_root().await.map_err(|e| e.to_string())?.ok_or("no director root")?;
            print!("{root}");
            Ok(())
        }
        Command::Status { dir, vin: None, json } => fleet_status(&*setup::open(&dir).await?, json).await,
        Command::Status { dir, vin: Some(vin), json } => {
            let service = setup::open(&dir).await?;
            let status = service.status(&vin).await.map_err(|e| format!("{e:?}"))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&status).map_err(|e| e.to_string())?);
                return Ok(());
            }
            let text = |v: &serde_json::Value| v.as_str().unwrap_or("-").to_string();
            for a in status["assignments"].as_array().into_iter().flatten() {
                println!("  assignment {:<12} {:<20} {}", text(&a["ecu"]), text(&a["target"]), text(&a["state"]));
            }
            for e in status["ecus"].as_array().into_iter().flatten() {
                println!(
                    "  {:<12} runs {:<20} report counter {}, attack code {}",
                    text(&e["serial"]),
                    text(&e["installed"]["filepath"]),
                    e["report_counter"],
                    e["attack"]
                );
            }
            Ok(())
        }
        Command::AdminToken { dir, name, role } => {
            let role =
                Role::parse(&role).ok_or_else(|| format!("--role {role}: metrics, viewer, operator or admin"))?;
            let service = setup::open(&dir).await?;
            let token = service.add_admin_token("admin:cli", &name, role).await.map_err(|e| format!("{e:?}"))?;
            println!("{token}");
            Ok(())
        }
    }
}

/// `director serve`: the API on its address (and the metrics on theirs, if configured),
/// the rollout evaluations beside them.
async fn serve(data: &std::path::Path, listen: Option<String>, database_url: Option<String>) -> Result<(), String> {
    if !data.join(director::config::CONFIG_FILE).exists() {
        let options = InitOptions { database_url: database_url.clone(), listen: listen.clone(), ..Default::default() };
        initialize(data, options).await?;
    }
    if listen.is_some() || database_url.is_some() {
        let mut config = Config::load(data)?;
        config.listen = listen.unwrap_or(config.listen);
        config.database_url = database_url.unwrap_or(config.database_url);
        config.save(data)?;
    }
    let director = setup::open(data).await?;
    director::log::init(director.config.log_format);
    let tls = director.config.tls.as_ref().map(director::server::tls_config).transpose()?;
    let limits = director.config.limits.clone();
    // The metrics address first: once the director says where it listens, all is up.
    if let Some(address) = &director.config.metrics_listen {
        let metrics = bind(address, "http", "metrics").await?;
        let app = director::api::metrics_router(director.clone());
        tokio::spawn(director::server::serve(metrics, app, None, limits.clone()));
    }
    let listener = bind(&director.config.listen, if tls.is_some() { "https" } else { "http" }, "director").await?;
    tokio::spawn(director::rollouts::evaluate_every(director.clone()));
    let app = director::api::router(director);
    director::server::serve(listener, app, tls, limits).await.map_err(|e| e.to_string())
}

/// Binds `address` and says where `what` listens.
async fn bind(address: &str, scheme: &str, what: &str) -> Result<tokio::net::TcpListener, String> {
    let listener = tokio::net::TcpListener::bind(address).await.map_err(|e| format!("{address}: {e}"))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    println!("{what} listening on {scheme}://{bound}");
    Ok(listener)
}

async fn initialize(dir: &std::path::Path, options: InitOptions) -> Result<(), String> {
    let made = setup::init(dir, options).await?;
    println!("created {}", dir.display());
    println!("administrator token (shown once): {}", made.admin_token);
    let protection = if std::env::var(director::keys::PASSPHRASE_ENV).is_ok() {
        "encrypted"
    } else {
        "NOT encrypted (set DIRECTOR_PASSPHRASE)"
    };
    println!("offline root key: {} ({protection}); move it off this machine", made.root_key.display());
    Ok(())
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

/// `director status` without a vehicle: adoption per hardware id, then each rollout that
/// is not cancelled, as text or as the API's JSON.
async fn fleet_status(service: &director::service::Director, json: bool) -> Result<(), String> {
    let status = service.fleet_status().await.map_err(|e| format!("{e:?}"))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&status).map_err(|e| e.to_string())?);
        return Ok(());
    }
    for hw in status["adoption"]["hardware"].as_array().into_iter().flatten() {
        println!("{}: {} ECU(s)", hw["hardware_id"].as_str().unwrap_or("-"), hw["ecus"]);
        for image in hw["images"].as_array().into_iter().flatten() {
            let name = image["image"].as_str().unwrap_or("(not reported)");
            println!("  {:>6}%  {name}  ({} ECUs, {} confirmed)", image["percent"], image["ecus"], image["confirmed"]);
        }
    }
    for r in status["rollouts"].as_array().into_iter().flatten() {
        print_rollout(r);
    }
    Ok(())
}

/// One rollout of `director status`, in a few lines.
fn print_rollout(r: &serde_json::Value) {
    let text = |v: &serde_json::Value| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
    let state = &r["status"];
    let stage = state.get("stage").map(|s| format!(" stage {}", s.as_u64().unwrap_or(0) + 1)).unwrap_or_default();
    println!("rollout {} {:?}: {}{stage}", text(&r["id"]), text(&r["name"]), text(&state["state"]));
    if let Some(reason) = state.get("reason") {
        println!("  paused: {}", text(reason));
    }
    let f = &r["outcomes"]["funnel"];
    println!(
        "  selected {} -> admitted {} -> offered {} -> trial {} -> confirmed {}",
        f["selected"], f["admitted"], f["offered"], f["trial"], f["confirmed"]
    );
    let failures: Vec<String> = r["outcomes"]["failures"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| format!("{} {}", text(&f["code"]), f["vehicles"]))
        .collect();
    if !failures.is_empty() {
        println!("  failures: {}", failures.join(", "));
    }
    let t = &r["outcomes"]["time_to_confirm_secs"];
    if !t["p50"].is_null() {
        println!("  time to confirm: p50 {} s, p90 {} s", t["p50"], t["p90"]);
    }
    if let Some(gate) = r["gate"].as_str() {
        println!("  gate: {gate}");
    }
}

/// `director vehicles`: a page of the inventory, as a table or as the API's JSON.
async fn vehicles(
    service: &director::service::Director,
    selector: &str,
    group: Option<&str>,
    (after, limit): (&str, usize),
    json: bool,
) -> Result<(), String> {
    let selector = match group {
        Some(name) => service.group_selector(name).await.map_err(|e| format!("{e:?}"))?,
        None => director::selector::parse(selector).map_err(|e| e.to_string())?,
    };
    let page = service.list_vehicles(&selector, after, limit.max(1)).await.map_err(|e| format!("{e:?}"))?;
    if json {
        let vehicles: Vec<serde_json::Value> = page.vehicles.iter().map(director::inventory::row_json).collect();
        println!("{}", serde_json::json!({"vehicles": vehicles, "next": page.next}));
        return Ok(());
    }
    for row in &page.vehicles {
        let seen = match row.last_seen {
            0 => "never".to_string(),
            t => chrono::DateTime::from_timestamp(t, 0)
                .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
                .unwrap_or_default(),
        };
        let attributes: Vec<String> = row.labels.attributes.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let ecus: Vec<String> =
            row.ecus.iter().map(|e| format!("{}={}", e.hardware_id, e.installed.as_deref().unwrap_or("-"))).collect();
        println!("{}  {seen}  [{}]  {}  {}", row.vin, row.labels.tags.join(","), attributes.join(" "), ecus.join(" "));
    }
    match &page.next {
        Some(next) => println!("{} vehicle(s); more after {next} (--after {next})", page.vehicles.len()),
        None => println!("{} vehicle(s)", page.vehicles.len()),
    }
    Ok(())
}
