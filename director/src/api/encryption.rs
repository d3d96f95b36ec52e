//! Administrator routes for image encryption: a hardware id's policy and an ECU's
//! decryption key (registered or rotated).

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::{ApiError, auth};
use crate::config::Role;
use crate::encryption::Policy;
use crate::service::Director;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyBody {
    policy: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyBody {
    decryption_key: String,
}

fn parse<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("request body: {e}")))
}

/// `PUT /encryption/{hardware_id}` `{"policy": "required" | "optional" | "never"}`.
pub async fn set_policy(
    State(director): State<Arc<Director>>,
    Path(hardware_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let actor = auth::admin(&director, &headers, Role::Operator).await?;
    let request: PolicyBody = parse(&body)?;
    let policy = Policy::parse(&request.policy).ok_or_else(|| {
        ApiError::new(StatusCode::BAD_REQUEST, format!("policy {:?}: required, optional or never", request.policy))
    })?;
    director.set_policy(&actor, &hardware_id, policy).await?;
    Ok(Json(json!({"hardware_id": hardware_id, "policy": policy.as_str()})).into_response())
}

/// `PUT /vehicles/{vin}/ecus/{serial}/decryption-key` `{"decryption_key": "<hex32>"}`.
pub async fn set_decryption_key(
    State(director): State<Arc<Director>>,
    Path((vin, serial)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let actor = auth::admin(&director, &headers, Role::Operator).await?;
    let request: KeyBody = parse(&body)?;
    director.set_decryption_key(&actor, &vin, &serial, &request.decryption_key).await?;
    let key_id = metadata_schemas::hex::decode_lower_array::<32>(&request.decryption_key)
        .map(|k| metadata_schemas::hex::encode(&image_crypto::key_id(&k)))
        .unwrap_or_default();
    Ok(Json(json!({"vin": vin, "serial": serial, "key_id": key_id})).into_response())
}
