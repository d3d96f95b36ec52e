//! Device-facing routes: each vehicle's director repository and its manifests.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::json;

use super::{ApiError, PeerVin, auth};
use crate::service::Director;

/// `GET /api/v1/vehicles/{vin}/director/{file}`: `N.root.json`, `timestamp.json`,
/// `V.snapshot.json`, `V.targets.json`, as an ordinary TUF repository.
pub async fn director_file(
    State(director): State<Arc<Director>>,
    Path((vin, file)): Path<(String, String)>,
    peer: Option<Extension<PeerVin>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let peer = peer.map(|Extension(p)| p).unwrap_or_default();
    let claim = auth::claim(&director, &headers, &peer, Some(&vin))?;
    match director.director_file(&vin, &file, claim.token_hash.as_deref()).await? {
        Some(bytes) => Ok(([("content-type", "application/json")], bytes).into_response()),
        None => Err(ApiError::new(StatusCode::NOT_FOUND, format!("{file} not found"))),
    }
}

/// `PUT /api/v1/vehicles/{vin}/manifest`: a signed vehicle version manifest.
pub async fn manifest(
    State(director): State<Arc<Director>>,
    Path(vin): Path<String>,
    peer: Option<Extension<PeerVin>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let peer = peer.map(|Extension(p)| p).unwrap_or_default();
    let claim = auth::claim(&director, &headers, &peer, Some(&vin))?;
    let ingested = director.ingest(&vin, claim.token_hash.as_deref(), &body).await?;
    let resolved: Vec<_> =
        ingested.resolved.iter().map(|(ecu, state)| json!({"ecu": ecu, "state": state.as_str()})).collect();
    let answer = json!({"accepted": true, "resolved": resolved, "new_metadata": ingested.issued,
        "time_attestation": ingested.time_attestation});
    Ok(Json(answer).into_response())
}
