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
