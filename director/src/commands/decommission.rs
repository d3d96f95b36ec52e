//! `director decommission`: ask to take a vehicle out of service, follow it, or withdraw
//! the request, directly on the data directory (as the API's
//! `/vehicles/{vin}/decommission` does).

use std::path::Path;

use metadata_schemas::uptane::EraseItem;

use super::{CommandError, Result, print_json};
use crate::service::decommission_json;
use crate::setup;

/// Who the audit log names for what these commands do.
const ACTOR: &str = "admin:cli";

/// What `director decommission` does.
#[derive(Clone, Debug)]
pub enum Decommission {
    /// Ask, with the reason and what the device erases (empty: everything).
    Request {
        /// Why.
        reason: String,
        /// `keys`, `credentials`, `downloads`.
        erase: Vec<String>,
    },
    /// Print where it stands.
    Status {
        /// As JSON.
        json: bool,
    },
    /// Withdraw it before the command goes out.
    Cancel,
}

fn erase_items(names: &[String]) -> Result<Vec<EraseItem>> {
    names
        .iter()
        .flat_map(|n| n.split(','))
        .map(|n| {
            EraseItem::parse(n).ok_or(CommandError::Usage {
                given: format!("--erase {n}"),
                expected: "keys, credentials or downloads",
            })
        })
        .collect()
}

/// `director decommission`.
pub async fn decommission(dir: &Path, vin: &str, what: Decommission) -> Result {
    let service = setup::open(dir).await?;
    match what {
        Decommission::Request { reason, erase } => {
            let record = service.request_decommission(ACTOR, vin, &reason, erase_items(&erase)?).await?;
            let shown = decommission_json(&record);
            println!("{vin}: decommission requested (nonce {})", record.nonce);
            println!("the image repository must sign the same command; run where its keys are:");
            println!("  {}", shown["image_repository"].as_str().unwrap_or_default());
        }
        Decommission::Status { json } => {
            let record = service.decommission_status(vin).await?;
            if json {
                print_json(&decommission_json(&record));
            } else {
                println!("{vin}: {} (asked by {}: {})", record.state.as_str(), record.actor, record.reason);
            }
        }
        Decommission::Cancel => {
            service.cancel_decommission(ACTOR, vin).await?;
            println!("{vin}: decommission request withdrawn; the vehicle is active");
        }
    }
    Ok(())
}
