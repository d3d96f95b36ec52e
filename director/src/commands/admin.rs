//! The administration commands run directly on a data directory, as the API's routes
//! would: register a vehicle, assign images, set an encryption policy, add a token,
//! print the director root, and a vehicle's status.

use std::path::Path;

use super::{CommandError, Result, pairs, print_json};
use crate::config::Role;
use crate::service::{NewAssignments, NewEcu, NewVehicle};
use crate::setup;

/// Who the audit log names for what these commands do.
const ACTOR: &str = "admin:cli";

/// `director register`'s arguments.
#[derive(Clone, Debug)]
pub struct Register {
    /// The vehicle.
    pub vin: String,
    /// Its primary's serial.
    pub primary: String,
    /// `SERIAL:HARDWARE_ID:KEY_FILE[:partial|full[:DECRYPTION_KEY_HEX]]` each.
    pub ecus: Vec<String>,
    /// Its tags.
    pub tags: Vec<String>,
    /// `NAME=VALUE` each.
    pub attributes: Vec<String>,
}

/// One `--ecu` argument.
fn ecu(given: &str) -> Result<NewEcu> {
    let parts: Vec<&str> = given.split(':').collect();
    let (serial, hardware, key, mode, decryption) = match parts.as_slice() {
        [s, h, k] => (s, h, k, "partial", None),
        [s, h, k, m] => (s, h, k, *m, None),
        [s, h, k, m, d] => (s, h, k, *m, Some(d.to_string())),
        _ => {
            let expected = "SERIAL:HARDWARE_ID:KEY_FILE[:partial|full[:DECRYPTION_KEY_HEX]]";
            return Err(CommandError::Usage { given: format!("--ecu {given}"), expected });
        }
    };
    let path = Path::new(key);
    let text = std::fs::read_to_string(path).map_err(|error| CommandError::Read { path: path.into(), error })?;
    let mut public_key: serde_json::Value =
        serde_json::from_str(&text).map_err(|error| CommandError::Json { path: path.into(), error })?;
    if public_key.get("key").is_some() {
        public_key = public_key["key"].take(); // `repo-tool key export-public` output
    }
    Ok(NewEcu {
        serial: serial.to_string(),
        hardware_id: hardware.to_string(),
        public_key,
        verification: mode.to_string(),
        decryption_key: decryption,
    })
}

/// `director register`: prints the new vehicle's device token.
pub async fn register(dir: &Path, given: Register) -> Result {
    let ecus = given.ecus.iter().map(|e| ecu(e)).collect::<Result<Vec<_>>>()?;
    let attributes = pairs("--attr", &given.attributes, "NAME=VALUE")?.into_iter().collect();
    let service = setup::open(dir).await?;
    let new = NewVehicle { vin: given.vin, primary_ecu_serial: given.primary, ecus, tags: given.tags, attributes };
    println!("{}", service.register(ACTOR, new).await?);
    Ok(())
}

/// `director encryption`'s arguments.
#[derive(Clone, Debug)]
pub struct Encryption {
    /// The hardware id.
    pub hardware_id: String,
    /// `required`, `optional` or `never`.
    pub policy: String,
}

/// `director encryption`: sets a hardware id's image encryption policy.
pub async fn encryption(dir: &Path, given: Encryption) -> Result {
    let policy = crate::encryption::Policy::parse(&given.policy).ok_or_else(|| CommandError::Usage {
        given: format!("--policy {}", given.policy),
        expected: "required, optional or never",
    })?;
    let service = setup::open(dir).await?;
    service.set_policy(ACTOR, &given.hardware_id, policy).await?;
    println!("{}: images {}", given.hardware_id, policy.as_str());
    Ok(())
}

/// `director assign`'s arguments.
#[derive(Clone, Debug)]
pub struct Assign {
    /// The vehicles.
    pub vins: Vec<String>,
    /// `HARDWARE_ID=IMAGE` each.
    pub images: Vec<String>,
}

/// `director assign`: assigns images to vehicles, all or none.
pub async fn assign(dir: &Path, given: Assign) -> Result {
    let images = pairs("--image", &given.images, "HW=PATH")?.into_iter().collect();
    let service = setup::open(dir).await?;
    for a in service.assign(ACTOR, NewAssignments { vehicles: given.vins, images }).await? {
        println!("{} {} -> {} ({})", a.vin, a.serial, a.target, a.state);
    }
    Ok(())
}

/// `director root`: prints the newest director root.
pub async fn root(dir: &Path) -> Result {
    let service = setup::open(dir).await?;
    let (_, root) = service.store.latest_root().await?.ok_or(setup::SetupError::NoRoot)?;
    print!("{root}");
    Ok(())
}

/// `director status --vin`: a vehicle's assignments and what each ECU runs.
pub async fn vehicle_status(dir: &Path, vin: &str, json: bool) -> Result {
    let service = setup::open(dir).await?;
    let status = service.status(vin).await?;
    if json {
        print_json(&status);
        return Ok(());
    }
    let text = |v: &serde_json::Value| v.as_str().unwrap_or("-").to_string();
    for a in status["assignments"].as_array().into_iter().flatten() {
        println!("  assignment {:<12} {:<20} {}", text(&a["ecu"]), text(&a["target"]), text(&a["state"]));
    }
    for e in status["ecus"].as_array().into_iter().flatten() {
        let (serial, image) = (text(&e["serial"]), text(&e["installed"]["filepath"]));
        println!("  {serial:<12} runs {image:<20} report counter {}, attack code {}", e["report_counter"], e["attack"]);
    }
    for i in status["offline_installs"].as_array().into_iter().flatten() {
        let (ecu, image, bundle) = (text(&i["ecu"]), text(&i["image"]), text(&i["bundle"]));
        match i["failure"].as_str() {
            None => println!("  installed offline: {ecu} {image} from bundle {bundle} v{}", i["bundle_version"]),
            Some(why) => {
                println!("  offline install FAILED: {ecu} from bundle {bundle} v{}: {why}", i["bundle_version"])
            }
        }
    }
    Ok(())
}

/// `director admin-token`'s arguments.
#[derive(Clone, Debug)]
pub struct AdminToken {
    /// A name for the audit log.
    pub name: String,
    /// `metrics`, `viewer`, `operator` or `admin`.
    pub role: String,
}

/// `director admin-token`: adds an administrator token and prints it.
pub async fn admin_token(dir: &Path, given: AdminToken) -> Result {
    let role = Role::parse(&given.role).ok_or_else(|| CommandError::Usage {
        given: format!("--role {}", given.role),
        expected: "metrics, viewer, operator or admin",
    })?;
    let service = setup::open(dir).await?;
    println!("{}", service.add_admin_token(ACTOR, &given.name, role).await?);
    Ok(())
}

/// `director operator`'s arguments.
#[derive(Clone, Debug)]
pub struct Operator {
    /// Their name (the audit log's `admin:NAME`).
    pub name: String,
    /// `viewer`, `operator` or `admin`.
    pub role: String,
    /// A file holding the password (else `DIRECTOR_OPERATOR_PASSWORD`, else asked twice).
    pub password_file: Option<std::path::PathBuf>,
}

/// Where `director operator` reads a password when no file is given.
pub const PASSWORD_ENV: &str = "DIRECTOR_OPERATOR_PASSWORD";

fn password(given: &Operator) -> Result<String> {
    if let Some(path) = &given.password_file {
        let text = std::fs::read_to_string(path).map_err(|error| CommandError::Read { path: path.clone(), error })?;
        return Ok(text.trim_end_matches(['\r', '\n']).to_string());
    }
    if let Ok(password) = std::env::var(PASSWORD_ENV) {
        return Ok(password);
    }
    let expected = "--password-file FILE, DIRECTOR_OPERATOR_PASSWORD, or a terminal to be asked on";
    let ask = |prompt: &str| {
        rpassword::prompt_password(prompt).map_err(|_| CommandError::Usage { given: "no password".into(), expected })
    };
    if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        return Err(CommandError::Usage { given: "no password".into(), expected });
    }
    let first = ask(&format!("Password for {}: ", given.name))?;
    if ask("Again: ")? != first {
        return Err(CommandError::Usage { given: "two different passwords".into(), expected: "the same twice" });
    }
    Ok(first)
}

/// `director operator`: adds a dashboard operator who logs in with a name and password
/// (or gives an existing one a new password and role).
pub async fn operator(dir: &Path, given: Operator) -> Result {
    let role = Role::parse(&given.role).filter(|r| *r >= Role::Viewer).ok_or_else(|| CommandError::Usage {
        given: format!("--role {}", given.role),
        expected: "viewer, operator or admin",
    })?;
    let hash = crate::ui::password::hash(&password(&given)?).map_err(|e| CommandError::Usage {
        given: format!("the password of {}: {e}", given.name),
        expected: "a longer one",
    })?;
    let service = setup::open(dir).await?;
    service.store.put_operator(&given.name, role, &hash, chrono::Utc::now().timestamp()).await?;
    println!("operator {} ({}) can log in to the dashboard", given.name, role.as_str());
    Ok(())
}
