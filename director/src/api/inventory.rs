//! The fleet inventory under `/api/v1/admin`: vehicles listed by selector or group a
//! page at a time, their labels, and saved groups.

use std::collections::BTreeMap;
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
use crate::inventory::row_json;
use crate::service::Director;
use crate::store::Labels;

/// Most vehicles one page lists.
const MOST_PER_PAGE: usize = 1000;

/// `GET /vehicles`'s query.
#[derive(Deserialize)]
pub struct Listing {
    /// A selector (see `selector.rs`); empty takes every vehicle.
    #[serde(default)]
    selector: String,
    /// A saved group instead of a selector.
    group: Option<String>,
    /// The page starts after this VIN.
    #[serde(default)]
    after: String,
    #[serde(default = "default_limit")]
    limit: usize,
}

fn default_limit() -> usize {
    100
}

/// `GET /vehicles`: a page of the vehicles a selector or group takes.
pub async fn list(
    State(director): State<Arc<Director>>,
    Query(query): Query<Listing>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    auth::admin(&director, &headers, Role::Viewer).await?;
    let selector = match &query.group {
        Some(_) if !query.selector.is_empty() => {
            return Err(ApiError::new(StatusCode::BAD_REQUEST, "give a selector or a group, not both"));
        }
        Some(name) => director.group_selector(name).await?,
        None => crate::selector::parse(&query.selector)
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.to_string()))?,
    };
    let page = director.list_vehicles(&selector, &query.after, query.limit.clamp(1, MOST_PER_PAGE)).await?;
    let vehicles: Vec<serde_json::Value> = page.vehicles.iter().map(row_json).collect();
    Ok(Json(json!({"vehicles": vehicles, "next": page.next})).into_response())
}

/// `PUT /vehicles/{vin}/labels`'s body.
#[derive(Deserialize)]
struct LabelsBody {
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
}

/// `PUT /vehicles/{vin}/labels`: replaces a vehicle's tags and attributes.
pub async fn set_labels(
    State(director): State<Arc<Director>>,
    Path(vin): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let actor = auth::admin(&director, &headers, Role::Operator).await?;
    let body: LabelsBody = super::admin::parse(&body)?;
    let labels = director.set_labels(&actor, &vin, Labels { tags: body.tags, attributes: body.attributes }).await?;
    Ok(Json(json!({"vin": vin, "tags": labels.tags, "attributes": labels.attributes})).into_response())
}

/// `GET /groups`.
pub async fn groups(State(director): State<Arc<Director>>, headers: HeaderMap) -> Result<Response, ApiError> {
    auth::admin(&director, &headers, Role::Viewer).await?;
    let groups =
        director.store.groups().await.map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let groups: Vec<serde_json::Value> =
        groups.iter().map(|g| json!({"name": g.name, "selector": g.selector, "created": g.created})).collect();
    Ok(Json(json!({"groups": groups})).into_response())
}

/// `PUT /groups/{name}`'s body.
#[derive(Deserialize)]
struct GroupBody {
    selector: String,
}

/// `PUT /groups/{name}`: saves a selector under a name.
pub async fn save_group(
    State(director): State<Arc<Director>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let actor = auth::admin(&director, &headers, Role::Operator).await?;
    let body: GroupBody = super::admin::parse(&body)?;
    let group = director.save_group(&actor, &name, &body.selector).await?;
    Ok(Json(json!({"name": group.name, "selector": group.selector, "created": group.created})).into_response())
}

/// `DELETE /groups/{name}`.
pub async fn delete_group(
    State(director): State<Arc<Director>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let actor = auth::admin(&director, &headers, Role::Operator).await?;
    director.delete_group(&actor, &name).await?;
    Ok(Json(json!({"deleted": name})).into_response())
}
