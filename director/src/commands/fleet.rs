//! `director vehicles` (a page of the inventory) and `director status` without a
//! vehicle (adoption, and every rollout's standing).

use serde_json::Value;

use super::{Result, print_json};
use crate::service::Director;

/// `director vehicles`: a page of the inventory, as a table or as the API's JSON.
pub async fn vehicles(
    service: &Director,
    selector: &str,
    group: Option<&str>,
    (after, limit): (&str, usize),
    json: bool,
) -> Result {
    let selector = match group {
        Some(name) => service.group_selector(name).await?,
        None => crate::selector::parse(selector)?,
    };
    let page = service.list_vehicles(&selector, after, limit.max(1)).await?;
    if json {
        let vehicles: Vec<Value> = page.vehicles.iter().map(crate::inventory::row_json).collect();
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

/// `director status` without a vehicle: adoption per hardware id, then each rollout that
/// is not cancelled, as text or as JSON.
pub async fn fleet_status(service: &Director, json: bool) -> Result {
    let status = service.fleet_status().await?;
    if json {
        print_json(&status);
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
fn print_rollout(r: &Value) {
    let text = |v: &Value| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
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
