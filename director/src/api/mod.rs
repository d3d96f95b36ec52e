//! The HTTP API: device-facing routes and administrator routes under `/api/v1`, the
//! OpenAPI document, errors as JSON with a reason, and request counting.

mod admin;
pub(crate) mod auth;
mod decommission;
mod device;
mod encryption;
mod files;
mod inventory;
mod rollouts;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use serde_json::json;

pub use auth::{PeerVin, same as same_digest};

use crate::limits::Limited;
use crate::service::{Director, ServiceError};

/// The OpenAPI description of this API.
pub const OPENAPI: &str = include_str!("openapi.json");

/// An error answer: a status and a JSON body naming the reason.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    reason: Option<&'static str>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError { status, message: message.into(), reason: None }
    }

    /// Its status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// What it says.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Invalid(m) => ApiError::new(StatusCode::BAD_REQUEST, m),
            ServiceError::NotFound(m) => ApiError::new(StatusCode::NOT_FOUND, format!("{m} not found")),
            ServiceError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, m),
            ServiceError::Unauthorized(m) => ApiError::new(StatusCode::UNAUTHORIZED, m),
            ServiceError::Gone(m) => ApiError::new(StatusCode::GONE, m),
            ServiceError::Refused(r) => ApiError {
                status: StatusCode::BAD_REQUEST,
                message: format!("manifest refused: {r}"),
                reason: Some(r.label()),
            },
            ServiceError::Internal(m) => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, m),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = match self.reason {
            Some(reason) => json!({"error": self.message, "reason": reason}),
            None => json!({"error": self.message}),
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        response.extensions_mut().insert(Refusal(self.message));
        response
    }
}

/// What an error answer said, for the request's log line.
#[derive(Clone)]
struct Refusal(String);

/// Counts every request by route template and status, and logs administrators' requests
/// and every failed one (a device's successful check-ins are counted, not logged: at a
/// fleet's rate they would drown the rest; probes, scrapes and a device's look for the
/// next root version likewise).
async fn count(State(director): State<Arc<Director>>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map(|p| route_name(p.as_str())).unwrap_or("unmatched");
    let (method, path) = (request.method().to_string(), request.uri().path().to_string());
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    let status = response.status();
    director.metrics.request(route, status.as_u16());
    let administrative = route.starts_with("/api/v1/admin") && route != "/api/v1/admin/metrics";
    // A device asking for the next root version gets 404 every cycle: "no new root".
    let probe = status == StatusCode::NOT_FOUND
        && matches!(route, "/api/v1/vehicles/{vin}/director/{file}" | "/api/v1/repo/{file}");
    if (status.is_success() && !administrative) || probe {
        return response;
    }
    let mut fields = vec![
        ("method", json!(method)),
        ("path", json!(path)),
        ("route", json!(route)),
        ("status", json!(status.as_u16())),
        ("ms", json!((started.elapsed().as_secs_f64() * 1e4).round() / 10.0)),
    ];
    if let Some(Refusal(message)) = response.extensions().get::<Refusal>() {
        fields.push(("error", json!(message)));
    }
    let level = if status.is_server_error() { crate::log::Level::Error } else { crate::log::Level::Info };
    crate::log::write(level, "request", &fields);
    response
}

/// Route templates as static names (a bounded set for the metrics).
fn route_name(path: &str) -> &'static str {
    const ROUTES: &[&str] = &[
        "/api/v1/vehicles/{vin}/director/{file}",
        "/api/v1/vehicles/{vin}/manifest",
        "/api/v1/repo/{file}",
        "/api/v1/repo/targets/{*path}",
        "/api/v1/admin/vehicles",
        "/api/v1/admin/vehicles/{vin}",
        "/api/v1/admin/vehicles/{vin}/events",
        "/api/v1/admin/vehicles/{vin}/labels",
        "/api/v1/admin/vehicles/{vin}/decommission",
        "/api/v1/admin/vehicles/{vin}/sbom",
        "/api/v1/admin/groups",
        "/api/v1/admin/groups/{name}",
        "/api/v1/admin/fleet/adoption",
        "/api/v1/admin/fleet/adoption/history",
        "/api/v1/admin/rollouts",
        "/api/v1/admin/rollouts/preview",
        "/api/v1/admin/rollouts/{id}",
        "/api/v1/admin/rollouts/{id}/vehicles",
        "/api/v1/admin/rollouts/{id}/{command}",
        "/api/v1/admin/assignments",
        "/api/v1/admin/assignments/{vin}",
        "/api/v1/admin/audit",
        "/api/v1/admin/metrics",
        "/openapi.json",
        "/healthz",
        "/readyz",
        "/metrics",
    ];
    if path.starts_with("/ui") {
        return "/ui"; // the dashboard's pages, counted together
    }
    ROUTES.iter().find(|r| **r == path).copied().unwrap_or("other")
}

/// The whole API.
pub fn router(director: Arc<Director>) -> Router {
    let max_body = director.config.max_body;
    Router::new()
        .route("/openapi.json", get(|| async { ([("content-type", "application/json")], OPENAPI) }))
        .route("/healthz", get(admin::healthz))
        .route("/readyz", get(admin::readyz))
        .route("/metrics", get(admin::metrics))
        .route("/api/v1/vehicles/{vin}/director/{file}", get(device::director_file))
        .route("/api/v1/vehicles/{vin}/director/targets/{name}", get(files::ciphertext))
        .route("/api/v1/vehicles/{vin}/manifest", put(device::manifest))
        .route("/api/v1/repo/{file}", get(files::metadata))
        .route("/api/v1/repo/targets/{*path}", get(files::target))
        .route("/api/v1/admin/vehicles", post(admin::register).get(inventory::list))
        .route("/api/v1/admin/vehicles/{vin}/labels", put(inventory::set_labels))
        .route("/api/v1/admin/vehicles/{vin}/sbom", get(admin::sbom))
        .route(
            "/api/v1/admin/vehicles/{vin}/decommission",
            post(decommission::request).get(decommission::status).delete(decommission::cancel),
        )
        .route("/api/v1/admin/groups", get(inventory::groups))
        .route("/api/v1/admin/fleet/adoption", get(admin::adoption))
        .route("/api/v1/admin/fleet/adoption/history", get(admin::adoption_history))
        .route("/api/v1/admin/rollouts", post(rollouts::create).get(rollouts::list))
        .route("/api/v1/admin/rollouts/preview", post(rollouts::preview))
        .route("/api/v1/admin/rollouts/{id}", get(rollouts::get))
        .route("/api/v1/admin/rollouts/{id}/vehicles", get(rollouts::vehicles))
        .route("/api/v1/admin/rollouts/{id}/{command}", post(rollouts::command))
        .route("/api/v1/admin/groups/{name}", put(inventory::save_group).delete(inventory::delete_group))
        .route("/api/v1/admin/vehicles/{vin}", get(admin::vehicle))
        .route("/api/v1/admin/vehicles/{vin}/events", get(admin::events))
        .route("/api/v1/admin/assignments", post(admin::assign))
        .route("/api/v1/admin/assignments/{vin}", delete(admin::cancel))
        .route("/api/v1/admin/audit", get(admin::audit))
        .route("/api/v1/admin/encryption/{hardware_id}", put(encryption::set_policy))
        .route("/api/v1/admin/vehicles/{vin}/ecus/{serial}/decryption-key", put(encryption::set_decryption_key))
        .route("/api/v1/admin/metrics", get(admin::metrics))
        .merge(crate::ui::router())
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no such route") })
        .layer(middleware::from_fn_with_state(director.clone(), limit))
        .layer(middleware::from_fn_with_state(director.clone(), count))
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(director)
}

/// The metrics address's routes: `/metrics` without a token (only a private network
/// reaches it), and the probes.
pub fn metrics_router(director: Arc<Director>) -> Router {
    Router::new()
        .route("/metrics", get(admin::open_metrics))
        .route("/healthz", get(admin::healthz))
        .route("/readyz", get(admin::readyz))
        .fallback(|| async {
            ApiError::new(StatusCode::NOT_FOUND, "the metrics address serves /metrics, /healthz and /readyz")
        })
        .with_state(director)
}

/// Per-client rate limits (429 with `retry-after`), then the whole-request deadline (408).
async fn limit(State(director): State<Arc<Director>>, request: Request, next: Next) -> Response {
    let limits = &director.config.limits;
    if let Some((key, rate)) = auth::rate_key(&director, &request) {
        match director.limiter.admit(&key, rate, std::time::Instant::now()) {
            Ok(()) => {}
            Err(Limited::RetryAfter(wait)) => {
                let seconds = wait.as_secs() + 1;
                let mut response =
                    ApiError::new(StatusCode::TOO_MANY_REQUESTS, format!("too many requests: retry in {seconds} s"))
                        .into_response();
                response.headers_mut().insert("retry-after", seconds.into());
                return response;
            }
            Err(Limited::Busy) => {
                return ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "too many clients at once: retry later")
                    .into_response();
            }
        }
    }
    let deadline = limits.request_timeout();
    match tokio::time::timeout(deadline, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            format!("the request took longer than {} s (its body arrived too slowly?)", deadline.as_secs()),
        )
        .into_response(),
    }
}
