//! Vehicles in the dashboard: a search (a VIN or its start, an ECU serial, a hardware id,
//! an image or a tag; or a selector of the inventory language) and a vehicle's page
//! (its ECUs with image, release counter and boot state, its events with the manifests
//! and attack reports, its rollouts), with a forced re-signing of its metadata.

use std::sync::Arc;

use axum::Form;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;

use super::chart::urlencode;
use super::layout::{Section, page, when};
use super::session::{Operator, ReasonForm, acting_with_reason, operator};
use super::{Result, UiError};
use crate::config::Role;
use crate::decommission::DecommissionState;
use crate::service::{Director, decommission_json};
use crate::store::{Decommission, InventoryRow};

/// Most vehicles a search shows.
const SHOWN: usize = 100;

/// `GET /ui/vehicles`'s query.
#[derive(Deserialize, Default)]
pub struct Search {
    /// A word: a VIN or its start, an ECU serial, a hardware id, an image, a tag.
    #[serde(default)]
    q: String,
    /// Or a selector.
    #[serde(default)]
    selector: String,
    /// The page after this VIN (a selector's listing).
    #[serde(default)]
    after: String,
}

/// `GET /ui/vehicles`.
pub async fn list(State(director): State<Arc<Director>>, Query(search): Query<Search>, headers: HeaderMap) -> Response {
    let operator = match operator(&director, &headers).await {
        Ok(operator) => operator,
        Err(response) => return response,
    };
    let (rows, more) = match found(&director, &search).await {
        Ok(found) => found,
        Err(e) => return e.into_response(),
    };
    if super::wants_json(&headers) {
        let vehicles: Vec<Value> = rows.iter().map(crate::inventory::row_json).collect();
        let next = match &more {
            More::After(vin) => Some(vin.as_str()),
            _ => None,
        };
        let truncated = matches!(more, More::Truncated);
        return Json(serde_json::json!({"vehicles": vehicles, "next": next, "truncated": truncated})).into_response();
    }
    let now = chrono::Utc::now().timestamp();
    let body = html! {
        form.search method="get" action="/ui/vehicles" role="search" {
            label for="q" { "VIN, ECU serial, hardware id, image or tag" }
            input #q name="q" value=(search.q);
            label for="selector" { "or a selector" }
            input #selector name="selector" value=(search.selector) placeholder="attr.region==EU;installed.brake-hw==brake/fw-1.*";
            button type="submit" { "Search" }
        }
        p {
            (rows.len()) " vehicle(s)"
            @match &more {
                More::No => ".",
                More::After(_) => " shown; there are more.",
                More::Truncated => {" shown: the word names more; a selector pages through them all."}
            }
        }
        (table(&rows, now))
        @if let More::After(after) = &more {
            p { a href={"/ui/vehicles?selector=" (urlencode(&search.selector)) "&after=" (urlencode(after))} { "Next " (SHOWN) } }
        }
    };
    page(&operator, Section::Vehicles, "Vehicles", body)
}

/// What a search found beyond the vehicles shown.
enum More {
    /// Nothing.
    No,
    /// A selector's next page starts after this VIN.
    After(String),
    /// A word names more vehicles than are shown (a selector pages through them).
    Truncated,
}

/// The vehicles a search finds, and what more there is.
async fn found(director: &Director, search: &Search) -> Result<(Vec<InventoryRow>, More)> {
    let word = search.q.trim();
    if !word.is_empty() {
        let vins = director.store.search_vins(word, SHOWN as i64 + 1).await?;
        let more = if vins.len() > SHOWN { More::Truncated } else { More::No };
        let rows = director.store.inventory_rows_of(&vins[..vins.len().min(SHOWN)]).await?;
        return Ok((rows, more));
    }
    let selector = crate::selector::parse(&search.selector)
        .map_err(|e| UiError::new(StatusCode::BAD_REQUEST, format!("selector: {e}")))?;
    let page = director.list_vehicles(&selector, &search.after, SHOWN).await?;
    Ok((page.vehicles, page.next.map_or(More::No, More::After)))
}

fn table(rows: &[InventoryRow], now: i64) -> Markup {
    html! {
        @if !rows.is_empty() {
            table.vehicles {
                thead { tr {
                    th scope="col" { "VIN" } th scope="col" { "Last seen" } th scope="col" { "Tags" }
                    th scope="col" { "Attributes" } th scope="col" { "ECUs" } th scope="col" { "Attack" }
                } }
                tbody {
                    @for row in rows {
                        @let attacked = row.ecus.iter().any(|e| e.attack != 0);
                        tr.attacked[attacked] {
                            td { a href={"/ui/vehicles/" (urlencode(&row.vin))} { (row.vin) } }
                            td { (when(row.last_seen, now)) }
                            td { (row.labels.tags.join(", ")) }
                            td { @for (k, v) in &row.labels.attributes { code { (k) "=" (v) } " " } }
                            td { @for e in &row.ecus { code { (e.hardware_id) "=" (e.installed.as_deref().unwrap_or("-")) } " " } }
                            td { @if attacked { strong.attack { "reported" } } @else { "-" } }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /ui/vehicles/{vin}`.
pub async fn detail(State(director): State<Arc<Director>>, Path(vin): Path<String>, headers: HeaderMap) -> Response {
    let operator = match operator(&director, &headers).await {
        Ok(operator) => operator,
        Err(response) => return response,
    };
    let gathered = async {
        let status = director.status(&vin).await?;
        let labels = director.store.labels(&vin).await?;
        let events = director.store.recent_events(&vin, 50).await?;
        let memberships = director.store.memberships(&vin).await?;
        let manifests = director.store.audit_by(&format!("vehicle:{vin}"), 20).await?;
        let decommission = director.store.decommission(&vin).await?;
        Ok::<_, UiError>((status, labels, events, memberships, manifests, decommission))
    };
    let (status, labels, events, memberships, manifests, decommission) = match gathered.await {
        Ok(all) => all,
        Err(e) => return e.into_response(),
    };
    if super::wants_json(&headers) {
        return Json(status).into_response();
    }
    let now = chrono::Utc::now().timestamp();
    let body = html! {
        p { "Last seen " (when(status["last_manifest_time"].as_i64().unwrap_or(0), now))
            " · registered " (when(status["registered"].as_i64().unwrap_or(0), now)) }
        p { "Tags: " (labels.tags.join(", ")) " · attributes: "
            @for (k, v) in &labels.attributes { code { (k) "=" (v) } " " } }
        (ecus(&status, &super::repos::support_ends(&director), now))
        (rollouts(&memberships))
        (offline_installs(&status, now))
        (manifest_history(&manifests, now))
        (history(&events, now))
        @if let Some(manifest) = status.get("last_manifest").filter(|m| !m.is_null()) {
            details.manifest {
                summary { "The last manifest accepted, as the primary signed it" }
                pre { code { (serde_json::to_string_pretty(manifest).unwrap_or_default()) } }
            }
        }
        (software(director.vehicle_sbom(&vin).await.ok().as_ref()))
        (decommissioning(&vin, decommission.as_ref(), &operator, now))
        @if operator.may_act() {
            form.command method="post" action={"/ui/vehicles/" (urlencode(&vin)) "/refresh"} {
                input type="hidden" name="csrf" value=(operator.csrf);
                label for="reason-refresh" { "Reason to re-sign its metadata now" }
                input #reason-refresh name="reason" required;
                button type="submit" { "Force metadata refresh" }
            }
        }
    };
    page(&operator, Section::Vehicles, &format!("Vehicle {vin}"), body)
}

/// What the vehicle installed from offline bundles (USB stick, SD card), as its primary
/// reported it in its next signed manifest.
fn offline_installs(status: &Value, now: i64) -> Markup {
    let installs = status["offline_installs"].as_array().cloned().unwrap_or_default();
    let text = |v: &Value| v.as_str().unwrap_or("-").to_string();
    html! {
        @if !installs.is_empty() {
            h2 { "Installed offline" }
            table.offline {
                thead { tr {
                    th scope="col" { "ECU" } th scope="col" { "Image" } th scope="col" { "Bundle" }
                    th scope="col" { "When" } th scope="col" { "Result" }
                } }
                tbody { @for i in &installs { tr {
                    td { (text(&i["ecu"])) } td { code { (text(&i["image"])) } }
                    td { (text(&i["bundle"])) " v" (i["bundle_version"]) }
                    td { (when(i["installed_at"].as_i64().unwrap_or(0), now)) }
                    td { @match i["failure"].as_str() {
                        Some(why) => { strong.attack { "failed" } ": " (why) },
                        None => "installed offline",
                    } }
                } } }
            }
        }
    }
}

/// The union of the SBOMs of the images the vehicle's ECUs run.
fn software(sbom: Option<&Value>) -> Markup {
    let components = sbom.and_then(|s| s["components"].as_array()).cloned().unwrap_or_default();
    let listed: Vec<String> = sbom
        .and_then(|s| s["ecus"].as_array())
        .into_iter()
        .flatten()
        .flat_map(|e| e["sboms"].as_array().cloned().unwrap_or_default())
        .filter_map(|s| s["filename"].as_str().map(str::to_string))
        .collect();
    let text = |v: &Value| v.as_str().unwrap_or("-").to_string();
    html! {
        h2 { "Software (SBOM)" }
        @if listed.is_empty() {
            p { "The image repository lists no SBOM for the images its ECUs run." }
        } @else {
            p { (components.len()) " components, from " @for f in &listed { code { (f) } " " } }
            table.sbom {
                thead { tr { th scope="col" { "Component" } th scope="col" { "Version" } th scope="col" { "ECUs" } } }
                tbody { @for c in &components { tr {
                    td { (text(&c["name"])) } td { (text(&c["version"])) }
                    td { (c["ecus"].as_array().map(|e| e.iter().map(text).collect::<Vec<_>>().join(", ")).unwrap_or_default()) }
                } } }
            }
        }
    }
}

/// Where the vehicle's decommissioning stands, and (for administrators) the form that
/// asks for it or withdraws it.
fn decommissioning(vin: &str, record: Option<&Decommission>, operator: &Operator, now: i64) -> Markup {
    let action = format!("/ui/vehicles/{}/decommission", urlencode(vin));
    let admin = operator.role == Role::Admin;
    html! {
        h2 { "Decommissioning" }
        @match record {
            None => p { "Active: in service." },
            Some(d) => {
                p { strong { (d.state.as_str()) } " · asked by " (d.actor) " " (when(d.requested, now)) ": " (d.reason) }
                @if d.state == DecommissionState::Requested {
                    p { "Waiting for the image repository to sign the same command:" }
                    pre { code { (decommission_json(d)["image_repository"].as_str().unwrap_or_default()) } }
                }
            }
        }
        @if admin && record.is_none() {
            form.command method="post" action=(action) {
                input type="hidden" name="csrf" value=(operator.csrf);
                label for="reason-decommission" { "Reason to decommission this vehicle (its keys are erased)" }
                input #reason-decommission name="reason" required;
                button.danger type="submit" { "Request decommissioning" }
            }
        }
        @if admin && record.is_some_and(|d| d.state == DecommissionState::Requested) {
            form.command method="post" action={(action) "/cancel"} {
                input type="hidden" name="csrf" value=(operator.csrf);
                input type="hidden" name="reason" value="withdrawn";
                button type="submit" { "Withdraw the request" }
            }
        }
    }
}

/// What an administrator's decommissioning form asks.
enum Asked {
    Request,
    Withdraw,
}

/// `POST /ui/vehicles/{vin}/decommission` (administrators).
pub async fn decommission(
    state: State<Arc<Director>>,
    vin: Path<String>,
    headers: HeaderMap,
    form: Form<ReasonForm>,
) -> Response {
    decommission_form(state, vin, headers, form, Asked::Request).await
}

/// `POST /ui/vehicles/{vin}/decommission/cancel` (administrators).
pub async fn cancel_decommission(
    state: State<Arc<Director>>,
    vin: Path<String>,
    headers: HeaderMap,
    form: Form<ReasonForm>,
) -> Response {
    decommission_form(state, vin, headers, form, Asked::Withdraw).await
}

/// Either form, checked (session, CSRF, reason, the administrator role) and done.
async fn decommission_form(
    State(director): State<Arc<Director>>,
    Path(vin): Path<String>,
    headers: HeaderMap,
    Form(form): Form<ReasonForm>,
    asked: Asked,
) -> Response {
    let (operator, reason) = match acting_with_reason(&director, &headers, &form).await {
        Ok(acting) => acting,
        Err(response) => return response,
    };
    if operator.role != Role::Admin {
        return UiError::new(StatusCode::FORBIDDEN, "only an administrator may decommission a vehicle").into_response();
    }
    let done = match asked {
        Asked::Request => director.request_decommission(&operator.actor(), &vin, reason, Vec::new()).await.map(|_| ()),
        Asked::Withdraw => director.cancel_decommission(&operator.actor(), &vin).await,
    };
    match done {
        Ok(()) => Redirect::to(&format!("/ui/vehicles/{}", urlencode(&vin))).into_response(),
        Err(e) => UiError::from(e).into_response(),
    }
}

fn ecus(status: &Value, support: &std::collections::BTreeMap<String, i64>, now: i64) -> Markup {
    let assignments = status["assignments"].as_array().cloned().unwrap_or_default();
    // The release counter of the image an ECU runs: the newest installed assignment's.
    // Known only for an image the director assigned (not, say, one installed offline).
    let counter = |serial: &str, installed: &Value| {
        assignments
            .iter()
            .rev()
            .find(|a| a["ecu"] == serial && a["state"] == "installed" && a["target"] == *installed)
            .map(|a| a["release_counter"].to_string())
            .unwrap_or_else(|| "-".into())
    };
    html! {
        h2 { "ECUs" }
        table.ecus {
            thead { tr {
                th scope="col" { "Serial" } th scope="col" { "Hardware id" } th scope="col" { "Image" }
                th scope="col" { "Release counter" } th scope="col" { "Boot state" } th scope="col" { "Last install" } th scope="col" { "Attack" }
                th scope="col" { "Security support" }
            } }
            tbody {
                @for e in status["ecus"].as_array().into_iter().flatten() {
                    @let serial = e["serial"].as_str().unwrap_or("");
                    @let attack = e["attack"].as_i64().unwrap_or(0);
                    tr.attacked[attack != 0] {
                        td { (serial) } td { (e["hardware_id"].as_str().unwrap_or("")) }
                        td { code { (e["installed"]["filepath"].as_str().unwrap_or("-")) } }
                        td.num { (counter(serial, &e["installed"]["filepath"])) }
                        td { (e["status"]["boot_state"].as_str().unwrap_or("-")) }
                        td { (e["status"]["install_result"].as_str().unwrap_or("-")) }
                        td { @if attack != 0 { strong.attack { "code " (attack) } } @else { "-" } }
                        td {
                            @match support.get(e["hardware_id"].as_str().unwrap_or("")) {
                                Some(end) => {
                                    @let state = metadata_schemas::uptane::support_state(*end, now);
                                    span.support[state != metadata_schemas::uptane::SupportState::Supported] { (state.as_str()) } " (" (when(*end, now)) ")"
                                }
                                None => "-",
                            }
                        }
                    }
                }
            }
        }
        h2 { "Assignments" }
        @if assignments.is_empty() { p { "None." } }
        ul { @for a in &assignments { li { code { (a["target"].as_str().unwrap_or("")) } " to " (a["ecu"].as_str().unwrap_or("")) ": " (a["state"].as_str().unwrap_or("")) } } }
    }
}

fn rollouts(memberships: &[crate::store::Membership]) -> Markup {
    html! {
        h2 { "Rollouts" }
        @if memberships.is_empty() { p { "None selected it." } }
        ul {
            @for m in memberships {
                li {
                    a href={"/ui/rollouts/" (urlencode(&m.rollout))} { (m.name) }
                    " · stratum " (m.stratum) " · stage " (m.stage + 1) " · " strong { (m.state.as_str()) }
                    @if let Some(code) = &m.failure_code { " (" code { (code) } ")" }
                }
            }
        }
    }
}

fn manifest_history(entries: &[crate::store::AuditEntry], now: i64) -> Markup {
    html! {
        h2 { "Manifests" }
        @if entries.is_empty() { p { "None yet." } }
        table.manifests {
            thead { tr { th scope="col" { "When" } th scope="col" { "Outcome" } th scope="col" { "SHA-256 of the manifest, or why it was refused" } } }
            tbody {
                @for e in entries.iter().filter(|e| e.action.starts_with("manifest-")) {
                    @let detail: Value = serde_json::from_str(&e.detail).unwrap_or_default();
                    tr {
                        td { (when(e.time, now)) }
                        td { (e.action.strip_prefix("manifest-").unwrap_or(&e.action)) }
                        td { code { (detail["sha256"].as_str().or(detail["detail"].as_str()).unwrap_or("")) } }
                    }
                }
            }
        }
    }
}

fn history(events: &[crate::store::Event], now: i64) -> Markup {
    html! {
        h2 { "History" }
        @if events.is_empty() { p { "No event yet." } }
        table.events {
            thead { tr { th scope="col" { "When" } th scope="col" { "What" } th scope="col" { "Detail" } } }
            tbody {
                @for e in events {
                    tr.attacked[e.kind == "attack-reported"] {
                        td { (when(e.time, now)) } td { (e.kind) } td { code { (e.detail) } }
                    }
                }
            }
        }
    }
}

/// `POST /ui/vehicles/{vin}/refresh`: its director metadata signed again now.
pub async fn refresh(
    State(director): State<Arc<Director>>,
    Path(vin): Path<String>,
    headers: HeaderMap,
    Form(form): Form<ReasonForm>,
) -> Response {
    let (operator, reason) = match acting_with_reason(&director, &headers, &form).await {
        Ok(acting) => acting,
        Err(response) => return response,
    };
    match director.resign(&operator.actor(), &vin, reason).await {
        Ok(true) => Redirect::to(&format!("/ui/vehicles/{}", urlencode(&vin))).into_response(),
        Ok(false) => UiError::new(StatusCode::NOT_FOUND, format!("vehicle {vin} not found")).into_response(),
        Err(e) => UiError::from(e).into_response(),
    }
}
