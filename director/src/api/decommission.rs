//! `/api/v1/admin/vehicles/{vin}/decommission`: ask (POST, administrators only: it ends
//! a vehicle's service), follow (GET) and withdraw before the command goes out (DELETE).

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use metadata_schemas::uptane::EraseItem;
use serde::Deserialize;
use serde_json::json;

use super::admin::parse;
use super::{ApiError, auth};
use crate::config::Role;
use crate::service::{Director, decommission_json};

/// A decommissioning request.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    /// Why (it goes in the audit log).
    reason: String,
    /// What the device erases: `keys`, `credentials`, `downloads` (default: all).
    #[serde(default)]
    erase: Vec<String>,
}

fn erase_items(names: &[String]) -> Result<Vec<EraseItem>, ApiError> {
    names
        .iter()
        .map(|n| {
            EraseItem::parse(n).ok_or_else(|| {
                ApiError::new(StatusCode::BAD_REQUEST, format!("erase {n:?}: give keys, credentials or downloads"))
            })
        })
        .collect()
}

/// `POST`: the request, with the nonce the image repository's command must carry.
pub async fn request(
    State(director): State<Arc<Director>>,
    Path(vin): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let actor = auth::admin(&director, &headers, Role::Admin).await?;
    let request: Request = parse(&body)?;
    let erase = erase_items(&request.erase)?;
    let record = director.request_decommission(&actor, &vin, &request.reason, erase).await?;
    Ok((StatusCode::CREATED, Json(decommission_json(&record))).into_response())
}

/// `GET`: where it stands.
pub async fn status(
    State(director): State<Arc<Director>>,
    Path(vin): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    auth::admin(&director, &headers, Role::Viewer).await?;
    Ok(Json(decommission_json(&director.decommission_status(&vin).await?)).into_response())
}

/// `DELETE`: withdraws a request whose command has not gone out.
pub async fn cancel(
    State(director): State<Arc<Director>>,
    Path(vin): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let actor = auth::admin(&director, &headers, Role::Admin).await?;
    director.cancel_decommission(&actor, &vin).await?;
    Ok(Json(json!({"vin": vin, "state": "active"})).into_response())
}
