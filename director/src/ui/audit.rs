//! The audit log in the dashboard: the newest entries a page at a time, each page's
//! entries checked against each other and the entry before them, a check of the whole
//! chain on request, and an export of every entry as JSON lines.

use std::sync::Arc;

use axum::Form;
use axum::Json;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{Section, page, when};
use super::session::operator;
use super::{Result, UiError};
use crate::audit::{self, Break, GENESIS};
use crate::service::Director;
use crate::store::AuditEntry;

/// Entries a page shows.
const PAGE: i64 = 50;
/// Entries read at a time when the whole chain is checked or exported.
const BATCH: i64 = 5_000;

/// `GET /ui/audit`'s query: the page ending before this position (default: the newest).
#[derive(Deserialize)]
pub struct AuditQuery {
    before: Option<i64>,
}

/// `GET /ui/audit`.
pub async fn show(
    State(director): State<Arc<Director>>,
    Query(query): Query<AuditQuery>,
    headers: HeaderMap,
) -> Response {
    let operator = match operator(&director, &headers).await {
        Ok(operator) => operator,
        Err(response) => return response,
    };
    let (entries, checked) = match window(&director, query.before).await {
        Ok(found) => found,
        Err(e) => return e.into_response(),
    };
    if super::wants_json(&headers) {
        let rows: Vec<serde_json::Value> = entries.iter().map(entry_json).collect();
        let verified = checked.as_ref().map_err(|b| b.to_string());
        return Json(serde_json::json!({"entries": rows, "verified": verified.is_ok(), "break": verified.err()}))
            .into_response();
    }
    let now = chrono::Utc::now().timestamp();
    let body = html! {
        (verdict(&entries, &checked))
        form.inline method="post" action="/ui/audit/verify" {
            input type="hidden" name="csrf" value=(operator.csrf);
            button type="submit" { "Verify the whole chain" }
        }
        a.button href="/ui/audit/export" download="director-audit.jsonl" { "Export (JSON lines)" }
        (table(&entries, now))
        @if let Some(first) = entries.last().filter(|e| e.seq > 1) {
            p { a href={"/ui/audit?before=" (first.seq)} { "Older entries" } }
        }
    };
    page(&operator, Section::Audit, "Audit log", body)
}

/// The page's entries, newest first, and whether they chain from the entry before them.
async fn window(director: &Director, before: Option<i64>) -> Result<(Vec<AuditEntry>, Result<(), Break>)> {
    let end = match before {
        Some(before) => before - 1,
        None => director.store.audit_head().await?,
    };
    let start = (end - PAGE + 1).max(1);
    let entries = director.store.audit(start - 1, end - start + 1).await?;
    let (seq, hash) = match start {
        1 => (0, GENESIS.to_string()),
        _ => match director.store.audit_entry(start - 1).await? {
            Some(e) => (e.seq, e.hash),
            None => (start - 1, String::new()),
        },
    };
    let checked = audit::verify(seq, hash, &entries).map(|_| ());
    Ok((entries.into_iter().rev().collect(), checked))
}

fn verdict(entries: &[AuditEntry], checked: &Result<(), Break>) -> Markup {
    let range = match (entries.last(), entries.first()) {
        (Some(first), Some(last)) => format!("entries {} to {}", first.seq, last.seq),
        _ => "no entries".to_string(),
    };
    html! {
        @match checked {
            Ok(()) => p.verified role="status" { "Chain verified for " (range) ": every hash recomputed, each entry follows from the one before." },
            Err(b) => p.error role="alert" { "Chain broken: " (b.to_string()) },
        }
    }
}

fn table(entries: &[AuditEntry], now: i64) -> Markup {
    html! {
        table.audit {
            thead { tr {
                th scope="col" { "#" } th scope="col" { "When" } th scope="col" { "Who" }
                th scope="col" { "What" } th scope="col" { "Detail" } th scope="col" { "Hash" }
            } }
            tbody {
                @for e in entries {
                    tr {
                        td.num { (e.seq) } td { (when(e.time, now)) } td { (e.actor) } td { (e.action) }
                        td { code { (e.detail) } } td { code.hash title=(e.hash) { (e.hash[..12.min(e.hash.len())]) "…" } }
                    }
                }
            }
        }
    }
}

fn entry_json(e: &AuditEntry) -> serde_json::Value {
    serde_json::json!({"seq": e.seq, "time": e.time, "actor": e.actor, "action": e.action, "detail": e.detail,
                       "prev_hash": e.prev_hash, "hash": e.hash})
}

/// The whole-chain check's form.
#[derive(Deserialize)]
pub struct VerifyForm {
    csrf: String,
}

/// `POST /ui/audit/verify`: the whole chain from the first entry, read in batches.
pub async fn verify(
    State(director): State<Arc<Director>>,
    headers: HeaderMap,
    Form(form): Form<VerifyForm>,
) -> Response {
    let operator = match operator(&director, &headers).await {
        Ok(operator) => operator,
        Err(response) => return response,
    };
    if !crate::api::auth::same(&operator.csrf, &form.csrf) {
        return UiError::new(axum::http::StatusCode::FORBIDDEN, "the form's CSRF token is not this session's")
            .into_response();
    }
    let started = std::time::Instant::now();
    let result = whole_chain(&director).await;
    let body = match result {
        Ok(Ok(n)) => {
            html! { p.verified role="status" { "The whole chain verified: " (n) " entries, in " (started.elapsed().as_millis()) " ms." } }
        }
        Ok(Err(b)) => html! { p.error role="alert" { "Chain broken: " (b.to_string()) } },
        Err(e) => return e.into_response(),
    };
    page(
        &operator,
        Section::Audit,
        "Audit log: the whole chain",
        html! { (body) p { a href="/ui/audit" { "Back to the log" } } },
    )
}

async fn whole_chain(director: &Director) -> Result<Result<i64, Break>> {
    let (mut seq, mut hash) = (0, GENESIS.to_string());
    loop {
        let batch = director.store.audit(seq, BATCH).await?;
        if batch.is_empty() {
            return Ok(Ok(seq));
        }
        match audit::verify(seq, hash, &batch) {
            Ok(next) => (seq, hash) = next,
            Err(b) => return Ok(Err(b)),
        }
    }
}

/// `GET /ui/audit/export`: every entry as a JSON line, streamed a batch at a time.
pub async fn export(State(director): State<Arc<Director>>, headers: HeaderMap) -> Response {
    if let Err(response) = operator(&director, &headers).await {
        return response;
    }
    let stream = futures_util::stream::unfold((director, 0i64, false), |(director, after, done)| async move {
        if done {
            return None;
        }
        match director.store.audit(after, BATCH).await {
            Ok(batch) if batch.is_empty() => None,
            Ok(batch) => {
                let last = batch.last().map(|e| e.seq).unwrap_or(after);
                let lines: String = batch.iter().map(|e| entry_json(e).to_string() + "\n").collect();
                Some((Ok::<_, std::io::Error>(lines), (director, last, false)))
            }
            Err(e) => Some((Err(std::io::Error::other(e.to_string())), (director, after, true))),
        }
    });
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-ndjson"));
    headers
        .insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"director-audit.jsonl\""));
    response
}
