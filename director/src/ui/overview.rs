//! The overview: how recently the fleet checked in, the adoption chart, the rollouts
//! under way, open alerts (attack reports, paused rollouts), and how long each role's
//! metadata of both repositories has before it expires.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Serialize;

use super::Result;
use super::chart::{self, urlencode};
use super::layout::{Section, page, relative, utc, when};
use super::session::operator;
use crate::rollout::state::RolloutState;
use crate::service::Director;
use crate::store::{AttackReport, ImageCount, SeenCounts};

/// Under this long before it expires, a role's metadata is flagged (seconds: two days).
const EXPIRY_WARNING_SECS: i64 = 2 * 86_400;

/// A rollout under way, in a line.
#[derive(Serialize)]
struct Underway {
    id: String,
    name: String,
    status: serde_json::Value,
}

/// When one role's metadata expires.
#[derive(Serialize)]
struct Expiry {
    repository: &'static str,
    role: String,
    expires: i64,
    /// What it is, when there are many (the vehicle whose timestamp expires first).
    of: Option<String>,
}

/// A hardware id whose security support is ending or has ended, with its ECUs.
#[derive(Serialize)]
struct SupportAlert {
    hardware_id: String,
    end_of_security_support: i64,
    state: &'static str,
    ecus: u64,
}

/// Everything the overview shows.
#[derive(Serialize)]
struct Overview {
    now: i64,
    seen: SeenCounts,
    #[serde(skip)]
    adoption: Vec<ImageCount>,
    rollouts: Vec<Underway>,
    attacks: Vec<AttackReport>,
    paused: Vec<Underway>,
    support: Vec<SupportAlert>,
    expiry: Vec<Expiry>,
}

/// `GET /ui/`.
pub async fn show(State(director): State<Arc<Director>>, headers: HeaderMap) -> Response {
    let operator = match operator(&director, &headers).await {
        Ok(operator) => operator,
        Err(response) => return response,
    };
    let data = match gather(&director).await {
        Ok(data) => data,
        Err(e) => return e.into_response(),
    };
    if super::wants_json(&headers) {
        let mut value = serde_json::to_value(&data).unwrap_or_default();
        value["adoption"] = crate::inventory::adoption_json(&data.adoption);
        return Json(value).into_response();
    }
    page(&operator, Section::Overview, "Overview", render(&data))
}

async fn gather(director: &Director) -> Result<Overview> {
    let now = chrono::Utc::now().timestamp();
    let mut rollouts = Vec::new();
    let mut paused = Vec::new();
    for r in director.store.rollouts(None).await? {
        let line =
            Underway { id: r.id.clone(), name: r.name.clone(), status: crate::rollouts::rollout_state_json(&r.state) };
        match r.state {
            RolloutState::Paused { .. } => paused.push(line),
            RolloutState::Running { .. } | RolloutState::Scheduled { .. } => rollouts.push(line),
            _ => {}
        }
    }
    let adoption = director.store.adoption().await?;
    Ok(Overview {
        now,
        seen: director.store.seen_counts(now).await?,
        support: support_alerts(director, &adoption, now),
        adoption,
        rollouts,
        attacks: director.store.attack_reports(now - 7 * 86_400, 20).await?,
        paused,
        expiry: expiries(director).await?,
    })
}

/// The hardware ids whose support period (declared in the image repository's targets,
/// `custom.lifecycle`) is ending or has ended, with how many ECUs of them the fleet has.
fn support_alerts(director: &Director, adoption: &[ImageCount], now: i64) -> Vec<SupportAlert> {
    use metadata_schemas::uptane::{SupportState, support_state};
    super::repos::support_ends(director)
        .into_iter()
        .filter_map(|(hardware_id, end)| {
            let state = support_state(end, now);
            (state != SupportState::Supported).then(|| {
                let ecus = adoption.iter().filter(|c| c.hardware_id == hardware_id).map(|c| c.ecus).sum();
                SupportAlert { hardware_id, end_of_security_support: end, state: state.as_str(), ecus }
            })
        })
        .collect()
}

/// When the metadata of each role of both repositories expires.
async fn expiries(director: &Director) -> Result<Vec<Expiry>> {
    let mut out = Vec::new();
    if let Some((version, root)) = director.store.latest_root().await? {
        if let Ok(root) = metadata_schemas::Signed::<metadata_schemas::Root>::decode_unverified(root.as_bytes()) {
            let expires = root.signed.common.expires.time().timestamp();
            out.push(Expiry { repository: "director", role: format!("root v{version}"), expires, of: None });
        }
    }
    if let Some((vin, expires)) = director.store.soonest_timestamp_expiry().await? {
        out.push(Expiry { repository: "director", role: "timestamp (soonest)".into(), expires, of: Some(vin) });
    }
    if let Some(images) = &director.images {
        // An image repository that does not verify shows as no rows: the Keys page says why.
        if let Ok(trusted) = images.trusted(chrono::Utc::now()) {
            let mut push = |role: &str, expires: i64| {
                out.push(Expiry { repository: "image", role: role.into(), expires, of: None });
            };
            push("root", trusted.root().common.expires.time().timestamp());
            if let Some(t) = trusted.timestamp() {
                push("timestamp", t.common.expires.time().timestamp());
            }
            if let Some(s) = trusted.snapshot() {
                push("snapshot", s.common.expires.time().timestamp());
            }
            if let Some(t) = trusted.targets() {
                push("targets", t.common.expires.time().timestamp());
            }
        }
    }
    Ok(out)
}

fn render(d: &Overview) -> Markup {
    html! {
        section aria-labelledby="seen" {
            h2 #seen { "Vehicles last seen" }
            ul.tiles {
                (tile("in 24 h", d.seen.day, &format!("last_seen>{}", d.now - 86_400)))
                (tile("in 7 days, not 24 h", d.seen.week, &format!("last_seen>{};last_seen<{}", d.now - 7 * 86_400, d.now - 86_400 + 1)))
                (tile("earlier", d.seen.older, &format!("last_seen<{};last_seen>0", d.now - 7 * 86_400 + 1)))
                (tile("never", d.seen.never, "last_seen<1"))
            }
        }
        section aria-labelledby="alerts" {
            h2 #alerts { "Open alerts" }
            @if d.attacks.is_empty() && d.paused.is_empty() && d.support.is_empty() { p { "None." } }
            ul.alerts {
                @for s in &d.support {
                    li.alert.support {
                        strong { "Security support " (s.state) } ": "
                        a href={"/ui/vehicles?selector=" (urlencode(&format!("hardware_id=={}", s.hardware_id)))} { (s.ecus) " ECUs" }
                        " of " (s.hardware_id) ", support "
                        @if s.state == "ended" { "ended " } @else { "ends " }
                        (when(s.end_of_security_support, d.now))
                    }
                }
                @for a in &d.attacks {
                    li.alert.attack {
                        strong { "Attack reported" } " by "
                        a href={"/ui/vehicles/" (urlencode(&a.vin))} { (a.vin) } " "
                        (when(a.time, d.now)) ": " code { (a.detail) }
                    }
                }
                @for r in &d.paused {
                    li.alert.paused {
                        strong { "Rollout paused" } ": "
                        a href={"/ui/rollouts/" (urlencode(&r.id))} { (r.name) } " — "
                        (r.status["reason"].as_str().unwrap_or("paused"))
                    }
                }
            }
        }
        section aria-labelledby="adoption" {
            h2 #adoption { "Images per hardware id" }
            (chart::adoption(&d.adoption))
        }
        section aria-labelledby="underway" {
            h2 #underway { "Rollouts under way" }
            @if d.rollouts.is_empty() { p { "None. " a href="/ui/rollouts" { "Start one" } "." } }
            ul {
                @for r in &d.rollouts {
                    li { a href={"/ui/rollouts/" (urlencode(&r.id))} { (r.name) } " — " (super::rollouts::state_words(&r.status)) }
                }
            }
        }
        section aria-labelledby="expiry" {
            h2 #expiry { "Metadata expiry" }
            table {
                thead { tr { th scope="col" { "Repository" } th scope="col" { "Role" } th scope="col" { "Expires" } } }
                tbody {
                    @for e in &d.expiry {
                        @let left = e.expires - d.now;
                        tr.expiry[left < EXPIRY_WARNING_SECS] {
                            td { (e.repository) }
                            td { (e.role) @if let Some(of) = &e.of { " (" a href={"/ui/vehicles/" (urlencode(of))} { (of) } ")" } }
                            td {
                                @if left <= 0 { strong.expired { "expired " (relative(-left)) } }
                                @else { (utc(e.expires)) " · " strong.countdown { "expires " (relative(-left)) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn tile(label: &str, n: u64, selector: &str) -> Markup {
    html! {
        li.tile {
            a href={"/ui/vehicles?selector=" (urlencode(selector))} { span.n { (n) } span.label { (label) } }
        }
    }
}
