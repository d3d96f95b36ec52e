//! Logging in and out of the dashboard, and who a request comes from: the session its
//! cookie names (only the cookie's SHA-256 is stored), with the CSRF token its forms
//! must carry. A viewer sees; an operator (or an administrator) acts.

use std::sync::Arc;

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use serde_json::json;

use super::layout::{html_response, shell};
use super::{Result, UiError};
use crate::api::auth::{administrator, same};
use crate::config::{Role, new_token, token_hash};
use crate::service::Director;
use crate::store::Session;

/// The session cookie's name.
const COOKIE: &str = "director_session";
/// How long a session lasts (seconds): a working day.
const SESSION_SECS: i64 = 8 * 3600;
/// Password attempts for one name at once, before they are held to one a second.
const LOGIN_BURST: u32 = 5;

/// The operator a request comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operator {
    /// Their administrator token's name.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// The CSRF token their forms carry.
    pub csrf: String,
}

impl Operator {
    /// Who the audit log names.
    pub fn actor(&self) -> String {
        format!("admin:{}", self.name)
    }

    /// Whether they may act (start, pause, create...), not only look.
    pub fn may_act(&self) -> bool {
        self.role >= Role::Operator
    }
}

/// The session cookie's value in `headers`, if any.
fn cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(COOKIE)?.strip_prefix('='))
}

/// Where a request without a session goes: the login page (a page), or 401 (JSON).
fn not_logged_in(headers: &HeaderMap) -> Response {
    if super::wants_json(headers) {
        return (StatusCode::UNAUTHORIZED, axum::Json(json!({"error": "log in first"}))).into_response();
    }
    Redirect::to("/ui/login").into_response()
}

/// The logged-in operator, or the response that sends them to log in.
pub async fn operator(director: &Director, headers: &HeaderMap) -> Result<Operator, Response> {
    let Some(id) = cookie(headers) else { return Err(not_logged_in(headers)) };
    let now = chrono::Utc::now().timestamp();
    match director.store.session(&token_hash(id), now).await {
        Ok(Some(Session { name, role, csrf, .. })) => Ok(Operator { name, role, csrf }),
        Ok(None) => Err(not_logged_in(headers)),
        Err(e) => Err(UiError::from(e).into_response()),
    }
}

/// The operator of a form's request, if they may act and the form carries their CSRF
/// token; 403 otherwise (nothing is changed).
pub async fn acting(director: &Director, headers: &HeaderMap, csrf: &str) -> Result<Operator, Response> {
    let operator = operator(director, headers).await?;
    if !same(&operator.csrf, csrf) {
        return Err(UiError::new(
            StatusCode::FORBIDDEN,
            "the form's CSRF token is not this session's: reload the page",
        )
        .into_response());
    }
    if !operator.may_act() {
        let message = format!("{} is a viewer: only an operator may do this", operator.name);
        return Err(UiError::new(StatusCode::FORBIDDEN, message).into_response());
    }
    Ok(operator)
}

/// A form whose action the audit log keeps with its reason.
#[derive(Deserialize)]
pub struct ReasonForm {
    csrf: String,
    reason: String,
}

/// The operator of a reasoned form (as [`acting`]) and its reason, trimmed; 400 for an
/// empty reason (nothing is changed).
pub async fn acting_with_reason<'f>(
    director: &Director,
    headers: &HeaderMap,
    form: &'f ReasonForm,
) -> Result<(Operator, &'f str), Response> {
    let operator = acting(director, headers, &form.csrf).await?;
    match form.reason.trim() {
        "" => Err(UiError::new(StatusCode::BAD_REQUEST, "give a reason: the audit log keeps it").into_response()),
        reason => Ok((operator, reason)),
    }
}

/// `GET /ui/login`.
pub async fn login_page() -> Response {
    html_response(StatusCode::OK, login_form(None))
}

fn login_form(problem: Option<&str>) -> maud::Markup {
    let body = html! {
        @if let Some(problem) = problem { p.error role="alert" { (problem) } }
        form.login method="post" action="/ui/login" {
            label for="name" { "Operator name" }
            input #name name="name" autocomplete="username";
            label for="password" { "Password" }
            input #password type="password" name="password" autocomplete="current-password";
            button type="submit" { "Log in" }
        }
        form.login method="post" action="/ui/login" {
            label for="token" { "Or an administrator token" }
            input #token type="password" name="token" autocomplete="off";
            button type="submit" { "Log in with the token" }
        }
        p.hint {
            "Operators are made with " code { "director operator DIR --name NAME --role operator" }
            "; tokens by " code { "director init" } " and " code { "director admin-token" } "."
        }
    };
    shell(None, None, "Log in", body)
}

/// The login forms' fields: a name and a password, or a token.
#[derive(Deserialize)]
pub struct Login {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    token: String,
}

/// Who the form's credentials belong to, or what to tell them.
async fn who(director: &Director, form: &Login) -> std::result::Result<(String, Role), (StatusCode, &'static str)> {
    let refused = (StatusCode::UNAUTHORIZED, "unknown operator or wrong password");
    let (name, role) = if !form.name.trim().is_empty() {
        let name = form.name.trim();
        // Guesses at a password are slowed per name (tokens are 256 random bits: no need).
        let guesses = crate::limits::Rate { per_second: 1, burst: LOGIN_BURST };
        if director.limiter.admit(&format!("ui-login:{name}"), guesses, std::time::Instant::now()).is_err() {
            return Err((StatusCode::TOO_MANY_REQUESTS, "too many attempts for this name: wait a few seconds"));
        }
        let found = director
            .store
            .operator(name)
            .await
            .map_err(|_| (StatusCode::SERVICE_UNAVAILABLE, "the database does not answer"))?;
        let password = form.password.clone();
        let stored = found.as_ref().map(|(_, hash)| hash.clone());
        // Hashing takes tens of milliseconds: off the runtime's threads.
        let verified = tokio::task::spawn_blocking(move || super::password::verify(&password, stored.as_deref()))
            .await
            .unwrap_or(false);
        match (verified, found) {
            (true, Some((role, _))) => (name.to_string(), role),
            _ => return Err(refused),
        }
    } else {
        administrator(director, form.token.trim())
            .await
            .map_err(|_| (StatusCode::UNAUTHORIZED, "unknown administrator token"))?
    };
    if role < Role::Viewer {
        return Err((StatusCode::FORBIDDEN, "a metrics token cannot log in"));
    }
    Ok((name, role))
}

/// `POST /ui/login`: a session for a viewer, an operator or an administrator.
pub async fn login(State(director): State<Arc<Director>>, Form(form): Form<Login>) -> Response {
    let (name, role) = match who(&director, &form).await {
        Ok(found) => found,
        Err((status, problem)) => return html_response(status, login_form(Some(problem))),
    };
    let now = chrono::Utc::now().timestamp();
    let (id, csrf) = (new_token(), new_token());
    let session = Session { name: name.clone(), role, csrf, expires: now + SESSION_SECS };
    let made = async {
        director.store.insert_session(&token_hash(&id), &session, now).await?;
        let mut tx = director.store.begin().await?;
        tx.audit(&format!("admin:{name}"), "ui-login", &json!({"role": role.as_str()}).to_string(), now).await?;
        tx.commit().await
    };
    if let Err(e) = made.await {
        return UiError::from(e).into_response();
    }
    let secure = if director.config.tls.is_some() { "; Secure" } else { "" };
    let value = format!("{COOKIE}={id}; Path=/ui; HttpOnly; SameSite=Strict; Max-Age={SESSION_SECS}{secure}");
    let mut response = Redirect::to("/ui/").into_response();
    if let Ok(value) = HeaderValue::from_str(&value) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// A form that only carries its CSRF token.
#[derive(Deserialize)]
pub struct CsrfOnly {
    csrf: String,
}

/// `POST /ui/logout`: ends the session.
pub async fn logout(State(director): State<Arc<Director>>, headers: HeaderMap, Form(form): Form<CsrfOnly>) -> Response {
    let operator = match operator(&director, &headers).await {
        Ok(operator) => operator,
        Err(response) => return response,
    };
    if !same(&operator.csrf, &form.csrf) {
        return UiError::new(StatusCode::FORBIDDEN, "the form's CSRF token is not this session's").into_response();
    }
    if let Some(id) = cookie(&headers) {
        if let Err(e) = director.store.delete_session(&token_hash(id)).await {
            return UiError::from(e).into_response();
        }
    }
    let mut response = Redirect::to("/ui/login").into_response();
    let expired = format!("{COOKIE}=; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=0");
    if let Ok(value) = HeaderValue::from_str(&expired) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_found_among_others_and_a_lookalike_is_not_it() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; director_session=abc; b=2"));
        assert_eq!(cookie(&headers), Some("abc"));
        headers.insert(header::COOKIE, HeaderValue::from_static("director_sessionx=abc"));
        assert_eq!(cookie(&headers), None);
        assert_eq!(cookie(&HeaderMap::new()), None);
    }
}
