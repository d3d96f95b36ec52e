//! Staged rollouts under `/api/v1/admin/rollouts`: preview, create, list, read, move by
//! a command with a reason, and list a rollout's vehicles by state.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::{ApiError, auth};
use crate::config::Role;
use crate::rollout::state::{Command, StateKind, UnknownCommand};
use crate::rollout::vehicle::VehicleState;
use crate::rollouts::{NewRollout, rollout_json, rollout_state_json};
use crate::service::Director;

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, message)
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

/// `POST /rollouts/preview`: who each stage would admit, without making the rollout.
pub async fn preview(
    State(director): State<Arc<Director>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    auth::admin(&director, &headers, Role::Viewer).await?;
    let request: NewRollout = super::admin::parse(&body)?;
    Ok(Json(director.preview_rollout(&request).await?).into_response())
}

/// `POST /rollouts`: makes a draft rollout.
pub async fn create(
    State(director): State<Arc<Director>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let actor = auth::admin(&director, &headers, Role::Operator).await?;
    let request: NewRollout = super::admin::parse(&body)?;
    let rollout = director.create_rollout(&actor, request).await?;
    let counts = director.store.rollout_counts(&rollout.id).await.map_err(internal)?;
    Ok((StatusCode::CREATED, Json(rollout_json(&rollout, &counts, None, chrono::Utc::now().timestamp())))
        .into_response())
}

/// `GET /rollouts`'s query.
#[derive(Deserialize)]
pub struct ListQuery {
    state: Option<String>,
}

/// `GET /rollouts`: every rollout (in one state), newest first.
pub async fn list(
    State(director): State<Arc<Director>>,
    Query(query): Query<ListQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    auth::admin(&director, &headers, Role::Viewer).await?;
    let only = match query.state.as_deref() {
        None => None,
        Some(name) => Some(StateKind::parse(name).ok_or_else(|| {
            bad(format!("state {name:?}: draft, scheduled, running, paused, completed, aborted or cancelled"))
        })?),
    };
    let rollouts = director.store.rollouts(only).await.map_err(internal)?;
    let rows: Vec<serde_json::Value> = rollouts
        .iter()
        .map(|r| json!({"id": r.id, "name": r.name, "status": rollout_state_json(&r.state), "created": r.created, "updated": r.updated}))
        .collect();
    Ok(Json(json!({"rollouts": rows})).into_response())
}

/// `GET /rollouts/{id}`: stages, counters per stratum, and what the gate says now.
pub async fn get(
    State(director): State<Arc<Director>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    auth::admin(&director, &headers, Role::Viewer).await?;
    Ok(Json(director.rollout_status(&id).await?).into_response())
}

/// A command's body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CommandBody {
    reason: String,
    #[serde(default)]
    start_at: Option<i64>,
}

/// `POST /rollouts/{id}/{command}`: start, schedule, pause, resume, advance, abort or
/// cancel, with a reason (the audit log keeps it, with the counters at that moment).
pub async fn command(
    State(director): State<Arc<Director>>,
    Path((id, command)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let actor = auth::admin(&director, &headers, Role::Operator).await?;
    let body: CommandBody = super::admin::parse(&body)?;
    if body.reason.trim().is_empty() {
        return Err(bad("give a reason: the audit log keeps it"));
    }
    let command = Command::named(&command, &body.reason, body.start_at).map_err(|e| match e {
        UnknownCommand::Unknown(_) => ApiError::new(StatusCode::NOT_FOUND, e.to_string()),
        UnknownCommand::NoStartTime => bad(e.to_string()),
    })?;
    let rollout = director.command_rollout(&actor, &id, command, &body.reason).await?;
    Ok(Json(json!({"id": rollout.id, "status": rollout_state_json(&rollout.state)})).into_response())
}

/// `GET /rollouts/{id}/vehicles`'s query.
#[derive(Deserialize)]
pub struct VehiclesQuery {
    state: Option<String>,
    #[serde(default)]
    after: String,
    #[serde(default = "default_limit")]
    limit: i64,
}

fn default_limit() -> i64 {
    100
}

/// `GET /rollouts/{id}/vehicles`: a page of its vehicles (in one state), in VIN order.
pub async fn vehicles(
    State(director): State<Arc<Director>>,
    Path(id): Path<String>,
    Query(query): Query<VehiclesQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    auth::admin(&director, &headers, Role::Viewer).await?;
    let only = match query.state.as_deref() {
        None => None,
        Some(name) => Some(VehicleState::parse(name).ok_or_else(|| {
            bad(format!(
                "state {name:?}: eligible, offered, trial, confirmed, failed, rolled_back, timed_out or withdrawn"
            ))
        })?),
    };
    let limit = query.limit.clamp(1, 1000);
    let rows = director.store.rollout_vehicles(&id, only, &query.after, limit).await.map_err(internal)?;
    let next = (rows.len() as i64 == limit).then(|| rows.last().map(|r| r.0.clone())).flatten();
    let rows: Vec<serde_json::Value> = rows
        .iter()
        .map(|(vin, stratum, stage, state)| json!({"vin": vin, "stratum": stratum, "stage": stage, "state": state.as_str()}))
        .collect();
    Ok(Json(json!({"vehicles": rows, "next": next})).into_response())
}
