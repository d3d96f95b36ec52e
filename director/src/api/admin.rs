//! Administrator routes under `/api/v1/admin`.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, auth};
use crate::config::Role;
use crate::service::{Director, NewAssignments, NewVehicle};

pub(super) fn parse<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("request body: {e}")))
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

use crate::service::assignment_json;

/// `POST /vehicles`: registers a vehicle; answers with its device token (shown once).
pub async fn register(
    State(director): State<Arc<Director>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let actor = auth::admin(&director, &headers, Role::Operator).await?;
    let new: NewVehicle = parse(&body)?;
    let vin = new.vin.clone();
    let token = director.register(&actor, new).await?;
    Ok((StatusCode::CREATED, Json(json!({"vin": vin, "device_token": token}))).into_response())
}

/// `GET /vehicles/{vin}`: inventory, last manifest, status per ECU, assignments.
pub async fn vehicle(
    State(director): State<Arc<Director>>,
    Path(vin): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    auth::admin(&director, &headers, Role::Viewer).await?;
    Ok(Json(director.status(&vin).await?).into_response())
}

/// `GET /vehicles/{vin}/sbom`: the SBOMs of the images its ECUs run, and their
/// components' union.
pub async fn sbom(
    State(director): State<Arc<Director>>,
    Path(vin): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    auth::admin(&director, &headers, Role::Viewer).await?;
    Ok(Json(director.vehicle_sbom(&vin).await?).into_response())
}

/// Paging of lists.
#[derive(Deserialize)]
pub struct Page {
    #[serde(default)]
    after: i64,
    #[serde(default = "default_limit")]
    limit: i64,
}

fn default_limit() -> i64 {
    100
}

/// `GET /vehicles/{vin}/events`.
pub async fn events(
    State(director): State<Arc<Director>>,
    Path(vin): Path<String>,
    Query(page): Query<Page>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    auth::admin(&director, &headers, Role::Viewer).await?;
    let events = director.store.events(&vin, page.after, page.limit.clamp(1, 1000)).await.map_err(internal)?;
    let events: Vec<Value> = events
        .iter()
        .map(|e| json!({"seq": e.seq, "time": e.time, "kind": e.kind, "detail": serde_json::from_str::<Value>(&e.detail).unwrap_or(Value::Null)}))
        .collect();
    Ok(Json(json!({"vin": vin, "events": events})).into_response())
}

/// `POST /assignments`.
pub async fn assign(
    State(director): State<Arc<Director>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let actor = auth::admin(&director, &headers, Role::Operator).await?;
    let request: NewAssignments = parse(&body)?;
    let created = director.assign(&actor, request).await?;
    Ok((StatusCode::CREATED, Json(json!({"assignments": created.iter().map(assignment_json).collect::<Vec<_>>()})))
        .into_response())
}

/// `DELETE /assignments/{vin}`.
pub async fn cancel(
    State(director): State<Arc<Director>>,
    Path(vin): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let actor = auth::admin(&director, &headers, Role::Operator).await?;
    let cancelled = director.cancel(&actor, &vin).await?;
    Ok(Json(json!({"vin": vin, "cancelled": cancelled})).into_response())
}

/// `GET /healthz`: the process answers (no credentials: for a load balancer or an
/// orchestrator's liveness probe).
pub async fn healthz() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

/// `GET /readyz`: whether requests can be served now: the database answers. 503 with
/// the reason when it does not (no credentials: a readiness probe).
pub async fn readyz(State(director): State<Arc<Director>>) -> Response {
    let answer = match tokio::time::timeout(READY_WITHIN, director.store.ping()).await {
        Ok(Ok(())) => return Json(json!({"status": "ready", "database": "ok"})).into_response(),
        Ok(Err(e)) => e.to_string(),
        Err(_) => format!("no answer within {} s", READY_WITHIN.as_secs()),
    };
    (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "not ready", "database": answer}))).into_response()
}

/// How long `/readyz` waits for the database (a probe must not hang).
const READY_WITHIN: std::time::Duration = std::time::Duration::from_secs(2);

/// `GET /audit`: the hash-chained log.
pub async fn audit(
    State(director): State<Arc<Director>>,
    Query(page): Query<Page>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    auth::admin(&director, &headers, Role::Viewer).await?;
    let entries = director.store.audit(page.after, page.limit.clamp(1, 1000)).await.map_err(internal)?;
    let entries: Vec<Value> = entries
        .iter()
        .map(|e| {
            json!({"seq": e.seq, "time": e.time, "actor": e.actor, "action": e.action, "detail": e.detail,
                        "prev_hash": e.prev_hash, "hash": e.hash})
        })
        .collect();
    Ok(Json(json!({"entries": entries})).into_response())
}

/// `GET /metrics` (and `/api/v1/admin/metrics`): Prometheus text, for any administrator
/// token, a scraper's (`metrics` role) included.
pub async fn metrics(State(director): State<Arc<Director>>, headers: HeaderMap) -> Result<Response, ApiError> {
    auth::admin(&director, &headers, Role::Metrics).await?;
    open_metrics(State(director)).await
}

/// `GET /metrics` on the metrics address, which only a private network reaches: no token.
pub async fn open_metrics(State(director): State<Arc<Director>>) -> Result<Response, ApiError> {
    let counts = director.store.assignment_counts().await.map_err(internal)?;
    let adoption = director.store.adoption().await.map_err(internal)?;
    let mut rollouts = Vec::new();
    for rollout in director.store.rollouts(None).await.map_err(internal)? {
        let (counts, failures) = if rollout.state.is_final() {
            (Vec::new(), Vec::new())
        } else {
            let counts = director.store.rollout_counts(&rollout.id).await.map_err(internal)?;
            (counts, director.store.rollout_failures(&rollout.id).await.map_err(internal)?)
        };
        rollouts.push(crate::metrics::RolloutStanding { rollout, counts, failures });
    }
    let mut text = director.metrics.render(&counts);
    text.push_str(&crate::metrics::render_fleet(&adoption, &rollouts));
    Ok(([("content-type", "text/plain; version=0.0.4")], text).into_response())
}

/// `GET /fleet/adoption`: for each hardware id, the share of its ECUs on each image
/// (and of those, confirmed), now.
pub async fn adoption(State(director): State<Arc<Director>>, headers: HeaderMap) -> Result<Response, ApiError> {
    auth::admin(&director, &headers, Role::Viewer).await?;
    let counts = director.store.adoption().await.map_err(internal)?;
    Ok(Json(crate::inventory::adoption_json(&counts)).into_response())
}

/// `GET /fleet/adoption/history`'s query.
#[derive(serde::Deserialize)]
pub struct HistoryQuery {
    /// From when (Unix seconds; default: 30 days ago).
    since: Option<i64>,
    /// Only this hardware id.
    hardware_id: Option<String>,
}

/// `GET /fleet/adoption/history`: the adoption samples since a time, oldest first, each
/// with every hardware id's ECUs per image then.
pub async fn adoption_history(
    State(director): State<Arc<Director>>,
    Query(query): Query<HistoryQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    auth::admin(&director, &headers, Role::Viewer).await?;
    let since = query.since.unwrap_or_else(|| chrono::Utc::now().timestamp() - 30 * 86_400);
    let samples = director.store.adoption_samples(since, query.hardware_id.as_deref()).await.map_err(internal)?;
    let mut by_time: std::collections::BTreeMap<i64, Vec<Value>> = Default::default();
    for s in &samples {
        let c = &s.count;
        by_time
            .entry(s.at)
            .or_default()
            .push(json!({"hardware_id": c.hardware_id, "image": c.image, "ecus": c.ecus, "confirmed": c.confirmed}));
    }
    let samples: Vec<Value> = by_time.into_iter().map(|(at, images)| json!({"at": at, "images": images})).collect();
    Ok(Json(json!({"sample_secs": director.config.adoption_sample_secs, "samples": samples})).into_response())
}
