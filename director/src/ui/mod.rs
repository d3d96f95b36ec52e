//! The operator's dashboard under `/ui`: pages rendered on the server (maud escapes every
//! value) over the same service the API drives, readable without JavaScript, each also
//! answering JSON to `Accept: application/json`. Operators log in with an administrator
//! token; a session cookie (`HttpOnly`, `SameSite=Strict`, `Secure` under TLS) carries
//! them, every form posts the session's CSRF token, a viewer sees and an operator acts,
//! and every action lands in the audit log as the API's would.

mod audit;
mod chart;
mod layout;
mod overview;
pub mod password;
pub(crate) mod repos;
mod rollouts;
mod session;
mod vehicles;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

pub use session::Operator;

use crate::service::Director;

/// The dashboard's routes, and `/` sending a browser to it.
pub fn router() -> Router<Arc<Director>> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/ui/") }))
        .route("/ui", get(|| async { Redirect::to("/ui/") }))
        .route("/ui/static/style.css", get(layout::stylesheet))
        .route("/ui/login", get(session::login_page).post(session::login))
        .route("/ui/logout", post(session::logout))
        .route("/ui/", get(overview::show))
        .route("/ui/rollouts", get(rollouts::list).post(rollouts::create))
        .route("/ui/rollouts/new", post(rollouts::preview))
        .route("/ui/rollouts/{id}", get(rollouts::detail))
        .route("/ui/rollouts/{id}/{command}", post(rollouts::command))
        .route("/ui/vehicles", get(vehicles::list))
        .route("/ui/vehicles/{vin}", get(vehicles::detail))
        .route("/ui/vehicles/{vin}/refresh", post(vehicles::refresh))
        .route("/ui/vehicles/{vin}/decommission", post(vehicles::decommission))
        .route("/ui/vehicles/{vin}/decommission/cancel", post(vehicles::cancel_decommission))
        .route("/ui/images", get(repos::images))
        .route("/ui/keys", get(repos::keys))
        .route("/ui/audit", get(audit::show))
        .route("/ui/audit/verify", post(audit::verify))
        .route("/ui/audit/export", get(audit::export))
}

/// Whether the client asked for JSON rather than a page.
fn wants_json(headers: &HeaderMap) -> bool {
    headers.get("accept").and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("application/json"))
}

/// A page's failure: its status and what to tell the operator.
#[derive(Debug)]
pub struct UiError {
    status: StatusCode,
    message: String,
}

impl UiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        UiError { status, message: message.into() }
    }

    /// What it says.
    fn message(&self) -> &str {
        &self.message
    }
}

impl From<crate::service::ServiceError> for UiError {
    fn from(e: crate::service::ServiceError) -> Self {
        let api = crate::api::ApiError::from(e);
        UiError { status: api.status(), message: api.message().to_string() }
    }
}

impl From<crate::store::StoreError> for UiError {
    fn from(e: crate::store::StoreError) -> Self {
        UiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
    }
}

impl From<crate::api::ApiError> for UiError {
    fn from(e: crate::api::ApiError) -> Self {
        UiError { status: e.status(), message: e.message().to_string() }
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        layout::error_page(self.status, &self.message)
    }
}

/// `Result` with a [`UiError`].
type Result<T, E = UiError> = std::result::Result<T, E>;
