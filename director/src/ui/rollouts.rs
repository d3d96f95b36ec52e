//! Rollouts in the dashboard: the list (state, stage, funnel, failure rate against its
//! threshold), a new rollout with its preview (counts per stratum and stage) before it
//! is made, and a rollout's page (stage timeline with soak timers, the table per stratum,
//! the pause reason, failures by code linked to the vehicles) with its commands, each
//! taking a reason.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Form;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;

use super::chart::{percent, urlencode};
use super::layout::{Section, duration, page, relative};
use super::session::{ReasonForm, acting, acting_with_reason, operator};
use super::{Result, UiError};
use crate::rollout::state::Command;
use crate::rollout::vehicle::VehicleState;
use crate::rollouts::{NewRollout, NewStage};
use crate::service::Director;

/// A rollout's state in words: `running, stage 2 of 4`.
pub fn state_words(status: &Value) -> String {
    let state = status["state"].as_str().unwrap_or("?");
    match status["stage"].as_u64() {
        Some(stage) => format!("{state}, stage {}", stage + 1),
        None => state.to_string(),
    }
}

/// `GET /ui/rollouts`: every rollout, newest first, with its standing.
pub async fn list(State(director): State<Arc<Director>>, headers: HeaderMap) -> Response {
    let operator = match operator(&director, &headers).await {
        Ok(operator) => operator,
        Err(response) => return response,
    };
    let mut rows = Vec::new();
    for r in match director.store.rollouts(None).await {
        Ok(rollouts) => rollouts,
        Err(e) => return UiError::from(e).into_response(),
    } {
        match director.rollout_status(&r.id).await {
            Ok(status) => rows.push(status),
            Err(e) => return UiError::from(e).into_response(),
        }
    }
    if super::wants_json(&headers) {
        return Json(serde_json::json!({"rollouts": rows})).into_response();
    }
    let body = html! {
        (table(&rows))
        @if operator.may_act() { (new_form(&operator.csrf, &NewForm::default())) }
    };
    page(&operator, Section::Rollouts, "Rollouts", body)
}

fn table(rows: &[Value]) -> Markup {
    html! {
        @if rows.is_empty() { p { "No rollout yet." } }
        @else {
            table.rollouts {
                thead { tr {
                    th scope="col" { "Rollout" } th scope="col" { "State" } th scope="col" { "Funnel" }
                    th scope="col" { "Failure rate" } th scope="col" { "Gate" }
                } }
                tbody {
                    @for r in rows {
                        @let c = &r["counters"];
                        @let f = &r["outcomes"]["funnel"];
                        @let failed = c["failed"].as_u64().unwrap_or(0) + c["timed_out"].as_u64().unwrap_or(0);
                        tr {
                            td { a href={"/ui/rollouts/" (urlencode(r["id"].as_str().unwrap_or("")))} { (r["name"].as_str().unwrap_or("")) } }
                            td { (state_words(&r["status"])) }
                            @let detail = format!("/ui/rollouts/{}", urlencode(r["id"].as_str().unwrap_or("")));
                            td {
                                (f["admitted"]) " admitted › " (f["offered"]) " offered › "
                                a href={(detail) "?state=confirmed"} { (f["confirmed"]) " confirmed" }
                            }
                            td { (percent(failed, c["finished"].as_u64().unwrap_or(0))) " of finished (pauses over " (r["thresholds"]["failure_percent"]) "%)" }
                            td { (r["gate"].as_str().unwrap_or("-")) }
                        }
                    }
                }
            }
        }
    }
}

/// The new-rollout form's fields, as typed (kept when the preview shows them again).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct NewForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    selector: String,
    /// `HARDWARE_ID=IMAGE`, one a line.
    #[serde(default)]
    images: String,
    /// Cumulative per cent, comma-separated (`1,10,50,100`).
    #[serde(default)]
    stages: String,
    /// Soak hours of every stage.
    #[serde(default)]
    soak_hours: String,
    /// A manual gate after the first stage.
    #[serde(default)]
    manual_first: Option<String>,
    #[serde(default)]
    failure_percent: String,
    #[serde(default)]
    min_finished: String,
    /// The preview's salt, so the rollout made is the one previewed.
    #[serde(default)]
    salt: String,
}

impl NewForm {
    /// The rollout the form asks for; what is wrong with it (a 400 naming the field).
    fn request(&self) -> Result<NewRollout> {
        let bad = |message: String| UiError::new(StatusCode::BAD_REQUEST, message);
        let mut images = BTreeMap::new();
        for line in self.images.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let (hw, image) =
                line.split_once('=').ok_or_else(|| bad(format!("images: {line:?} is not HARDWARE_ID=IMAGE")))?;
            images.insert(hw.trim().to_string(), image.trim().to_string());
        }
        let number = |what: &str, text: &str| -> Result<Option<f64>> {
            let text = text.trim();
            if text.is_empty() {
                return Ok(None);
            }
            text.parse().map(Some).map_err(|_| bad(format!("{what}: {text:?} is not a number")))
        };
        // An empty soak is the design's default, as the field's placeholder says.
        let soak = number("soak hours", &self.soak_hours)?.unwrap_or(24.0);
        let stages = match self.stages.trim() {
            "" => None,
            text => Some(
                text.split(',')
                    .enumerate()
                    .map(|(k, p)| {
                        let percent = number("stages", p)?.ok_or_else(|| bad("stages: an empty stage".into()))?;
                        Ok(NewStage { percent, soak_hours: soak, manual: k == 0 && self.manual_first.is_some() })
                    })
                    .collect::<Result<Vec<_>>>()?,
            ),
        };
        let min_finished = number("min finished", &self.min_finished)?.map(|n| n as u64);
        Ok(NewRollout {
            name: self.name.trim().to_string(),
            selector: self.selector.trim().to_string(),
            images,
            stages,
            success_percent: None,
            failure_percent: number("failure per cent", &self.failure_percent)?,
            rollback_percent: None,
            min_finished,
            device_timeout_hours: None,
            strata: None,
            salt: (!self.salt.is_empty()).then(|| self.salt.clone()),
            windows: String::new(),
        })
    }
}

fn new_form(csrf: &str, f: &NewForm) -> Markup {
    html! {
        section aria-labelledby="new" {
            h2 #new { "New rollout" }
            form.new-rollout method="post" action="/ui/rollouts/new" {
                input type="hidden" name="csrf" value=(csrf);
                label for="name" { "Name" } input #name name="name" value=(f.name) required;
                label for="selector" { "Selector (empty: every vehicle with the hardware ids)" }
                input #selector name="selector" value=(f.selector) placeholder="attr.region==EU;hw_rev==B";
                label for="images" { "Images, one HARDWARE_ID=IMAGE a line" }
                textarea #images name="images" rows="3" required { (f.images) }
                label for="stages" { "Stages, cumulative per cent (default 1, 10, 50, 100)" }
                input #stages name="stages" value=(f.stages) placeholder="1,10,50,100";
                label for="soak_hours" { "Soak hours per stage" }
                input #soak_hours name="soak_hours" value=(f.soak_hours) placeholder="24";
                label for="failure_percent" { "Failure share that pauses, per cent" }
                input #failure_percent name="failure_percent" value=(f.failure_percent) placeholder="2";
                label for="min_finished" { "Finished vehicles before a share decides" }
                input #min_finished name="min_finished" value=(f.min_finished) placeholder="20";
                label.check { input type="checkbox" name="manual_first" value="on" checked[f.manual_first.is_some()]; " A manual gate after the first stage" }
                button type="submit" { "Preview" }
            }
        }
    }
}

/// `POST /ui/rollouts/new`: the preview of the form's rollout, and the button that makes it.
pub async fn preview(State(director): State<Arc<Director>>, headers: HeaderMap, Form(form): Form<NewForm>) -> Response {
    let operator = match acting(&director, &headers, &form.csrf).await {
        Ok(operator) => operator,
        Err(response) => return response,
    };
    let request = match form.request() {
        Ok(request) => request,
        Err(problem) => return form_again(&operator, &form, problem.message()),
    };
    let plan = match director.preview_rollout(&request).await {
        Ok(plan) => plan,
        Err(e) => return form_again(&operator, &form, UiError::from(e).message()),
    };
    let mut confirmed = form.clone();
    confirmed.salt = plan["salt"].as_str().unwrap_or_default().to_string();
    let body = html! {
        p { "Selected: " strong { (plan["plan"]["vehicles"]) } " vehicles." }
        table.strata {
            thead { tr { th scope="col" { "Stratum" } th scope="col" { "Admitted by each stage" } } }
            tbody {
                @for s in plan["plan"]["strata"].as_array().into_iter().flatten() {
                    tr { td { (s["stratum"].as_str().unwrap_or("")) } td { (s["admitted_by_stage"]) } }
                }
            }
        }
        form method="post" action="/ui/rollouts" {
            @for (name, value) in hidden_fields(&confirmed) { input type="hidden" name=(name) value=(value); }
            button type="submit" { "Create this rollout (a draft)" }
        }
        (new_form(&operator.csrf, &form))
    };
    page(&operator, Section::Rollouts, &format!("Preview: {}", form.name), body)
}

fn hidden_fields(f: &NewForm) -> Vec<(&'static str, String)> {
    let mut fields = vec![
        ("csrf", f.csrf.clone()),
        ("name", f.name.clone()),
        ("selector", f.selector.clone()),
        ("images", f.images.clone()),
        ("stages", f.stages.clone()),
        ("soak_hours", f.soak_hours.clone()),
        ("failure_percent", f.failure_percent.clone()),
        ("min_finished", f.min_finished.clone()),
        ("salt", f.salt.clone()),
    ];
    if f.manual_first.is_some() {
        fields.push(("manual_first", "on".into()));
    }
    fields
}

fn form_again(operator: &super::Operator, form: &NewForm, problem: &str) -> Response {
    let body = html! { p.error role="alert" { (problem) } (new_form(&operator.csrf, form)) };
    let mut response = page(operator, Section::Rollouts, "Rollouts", body);
    *response.status_mut() = StatusCode::BAD_REQUEST;
    response
}

/// `POST /ui/rollouts`: makes the previewed rollout (a draft) and shows it.
pub async fn create(State(director): State<Arc<Director>>, headers: HeaderMap, Form(form): Form<NewForm>) -> Response {
    let operator = match acting(&director, &headers, &form.csrf).await {
        Ok(operator) => operator,
        Err(response) => return response,
    };
    let request = match form.request() {
        Ok(request) => request,
        Err(problem) => return form_again(&operator, &form, problem.message()),
    };
    match director.create_rollout(&operator.actor(), request).await {
        Ok(rollout) => Redirect::to(&format!("/ui/rollouts/{}", urlencode(&rollout.id))).into_response(),
        Err(e) => form_again(&operator, &form, UiError::from(e).message()),
    }
}

/// `GET /ui/rollouts/{id}`'s query: which of its vehicles to list.
#[derive(Deserialize)]
pub struct DetailQuery {
    state: Option<String>,
}

/// `GET /ui/rollouts/{id}`.
pub async fn detail(
    State(director): State<Arc<Director>>,
    Path(id): Path<String>,
    Query(query): Query<DetailQuery>,
    headers: HeaderMap,
) -> Response {
    let operator = match operator(&director, &headers).await {
        Ok(operator) => operator,
        Err(response) => return response,
    };
    let shown = match listed(&director, &id, query.state.as_deref()).await {
        Ok(shown) => shown,
        Err(e) => return e.into_response(),
    };
    let status = match director.rollout_status(&id).await {
        Ok(status) => status,
        Err(e) => return UiError::from(e).into_response(),
    };
    if super::wants_json(&headers) {
        return Json(status).into_response();
    }
    let now = chrono::Utc::now().timestamp();
    let title = format!("Rollout {}", status["name"].as_str().unwrap_or(&id));
    let body = html! {
        (summary(&status))
        (timeline(&status, now))
        (strata(&status))
        (failures(&id, &status))
        @if let Some((state, vins)) = &shown { (vehicles(state, vins)) }
        @if operator.may_act() { (commands(&id, &operator.csrf, &status)) }
    };
    page(&operator, Section::Rollouts, &title, body)
}

/// The rollout's vehicles in `state` (the first 200), if a state is asked for.
async fn listed(director: &Director, id: &str, state: Option<&str>) -> Result<Option<(VehicleState, Vec<String>)>> {
    let Some(name) = state else { return Ok(None) };
    let state = VehicleState::parse(name)
        .ok_or_else(|| UiError::new(StatusCode::BAD_REQUEST, format!("{name:?} is not a rollout vehicle state")))?;
    let rows = director.store.rollout_vehicles(id, Some(state), "", 200).await?;
    Ok(Some((state, rows.into_iter().map(|r| r.0).collect())))
}

fn summary(s: &Value) -> Markup {
    let status = &s["status"];
    html! {
        p.state { "State: " strong { (state_words(status)) } }
        @if let Some(reason) = status["reason"].as_str() { p.pause-reason role="status" { (reason) } }
        @if let Some(gate) = s["gate"].as_str() { p { "The gate says: " (gate) } }
        p { "Images: " @for (hw, image) in s["images"].as_object().into_iter().flatten() { code { (hw) " = " (image.as_str().unwrap_or("")) } " " } }
        p { "Selector: " code { (s["selector"].as_str().filter(|t| !t.is_empty()).unwrap_or("(every vehicle with the hardware ids)")) } }
    }
}

fn timeline(s: &Value, now: i64) -> Markup {
    let current = s["status"]["stage"].as_u64();
    let started = s["stage_started"].as_i64().unwrap_or(0);
    html! {
        h2 { "Stages" }
        ol.timeline {
            @for (k, stage) in s["stages"].as_array().into_iter().flatten().enumerate() {
                @let here = current == Some(k as u64);
                li.stage[here] aria-current=[here.then_some("step")] {
                    (stage["percent"].as_f64().unwrap_or(0.0)) "%"
                    @if stage["manual"].as_bool() == Some(true) { " · manual gate" }
                    " · soak " (stage["soak_hours"].as_f64().unwrap_or(0.0)) " h"
                    @if here && started > 0 {
                        @let left = started + (stage["soak_hours"].as_f64().unwrap_or(0.0) * 3600.0) as i64 - now;
                        @if left > 0 { " · soak ends " (relative(-left)) } @else { " · soaked" }
                    }
                }
            }
        }
    }
}

fn strata(s: &Value) -> Markup {
    html! {
        h2 { "Per stratum" }
        table.strata {
            thead { tr {
                th scope="col" { "Stratum" } th scope="col" { "Admitted" } th scope="col" { "Confirmed" }
                th scope="col" { "Failed" } th scope="col" { "Rolled back" } th scope="col" { "Timed out" } th scope="col" { "Not seen" }
            } }
            tbody {
                @for row in s["strata"].as_array().into_iter().flatten() {
                    @let c = &row["counters"];
                    tr {
                        td { (row["stratum"].as_str().unwrap_or("")) }
                        td.num { (c["admitted"]) }
                        @for (key, state) in [("confirmed", "confirmed"), ("failed", "failed"), ("rolled_back", "rolled_back"), ("timed_out", "timed_out")] {
                            td.num { a href={"?state=" (state)} { (c[key]) } }
                        }
                        td.num { (c["offered"].as_u64().unwrap_or(0).saturating_sub(c["trial"].as_u64().unwrap_or(0) + c["finished"].as_u64().unwrap_or(0))) }
                    }
                }
            }
        }
    }
}

/// The state a failure code's vehicles are in.
fn state_of_code(code: &str) -> &'static str {
    match code {
        "reverted_unconfirmed" => "rolled_back",
        "timeout" => "timed_out",
        _ => "failed",
    }
}

fn failures(id: &str, s: &Value) -> Markup {
    let failures = s["outcomes"]["failures"].as_array().cloned().unwrap_or_default();
    let t = &s["outcomes"]["time_to_confirm_secs"];
    html! {
        h2 { "Failures by code" }
        @if failures.is_empty() { p { "None." } }
        ul.failures {
            @for f in &failures {
                @let code = f["code"].as_str().unwrap_or("");
                li { code { (code) } ": " a href={"/ui/rollouts/" (urlencode(id)) "?state=" (state_of_code(code))} { (f["vehicles"]) " vehicle(s)" } }
            }
        }
        @if let (Some(p50), Some(p90)) = (t["p50"].as_i64(), t["p90"].as_i64()) {
            p { "Time from offer to confirmed boot: median " (duration(p50)) ", 90th percentile " (duration(p90)) "." }
        }
    }
}

fn vehicles(state: &VehicleState, vins: &[String]) -> Markup {
    html! {
        h2 { "Vehicles " (state.as_str()) }
        @if vins.is_empty() { p { "None." } }
        ul.vins { @for vin in vins { li { a href={"/ui/vehicles/" (urlencode(vin))} { (vin) } } } }
    }
}

/// The commands the rollout's state takes, each a form with a reason.
fn commands(id: &str, csrf: &str, s: &Value) -> Markup {
    let names: &[&str] = match s["status"]["state"].as_str() {
        Some("draft") => &["start", "cancel"],
        Some("scheduled") => &["start", "cancel"],
        Some("running") => &["pause", "advance", "abort"],
        Some("paused") => &["resume", "abort"],
        _ => &[],
    };
    html! {
        @if !names.is_empty() {
            h2 { "Act" }
            @for name in names {
                form.command method="post" action={"/ui/rollouts/" (urlencode(id)) "/" (name)} {
                    input type="hidden" name="csrf" value=(csrf);
                    label for={"reason-" (name)} { "Reason to " (name) }
                    input id={"reason-" (name)} name="reason" required;
                    button type="submit" { (name) }
                }
            }
        }
    }
}

/// `POST /ui/rollouts/{id}/{command}`: the command, with its reason in the audit log.
pub async fn command(
    State(director): State<Arc<Director>>,
    Path((id, name)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<ReasonForm>,
) -> Response {
    let (operator, reason) = match acting_with_reason(&director, &headers, &form).await {
        Ok(acting) => acting,
        Err(response) => return response,
    };
    let command = match Command::named(&name, reason, None) {
        Ok(command) => command,
        Err(e) => return UiError::new(StatusCode::NOT_FOUND, e.to_string()).into_response(),
    };
    match director.command_rollout(&operator.actor(), &id, command, reason).await {
        Ok(_) => Redirect::to(&format!("/ui/rollouts/{}", urlencode(&id))).into_response(),
        Err(e) => UiError::from(e).into_response(),
    }
}
