//! The two repositories in the dashboard: the image repository's targets (hardware ids,
//! release counters, how many ECUs run each), and both repositories' roles with their key
//! ids, key types, thresholds, where the director's keys live, and when each expires.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use metadata_schemas::uptane::ImageTargetCustom;
use metadata_schemas::{RoleKeys, Root, Signed};
use serde::Serialize;

use super::UiError;
use super::chart::vehicles_on;
use super::layout::{Section, page, when};
use super::session::operator;
use crate::service::Director;

/// One image repository target.
#[derive(Serialize)]
pub(crate) struct Image {
    pub(crate) path: String,
    pub(crate) length: u64,
    pub(crate) hardware_ids: Vec<String>,
    pub(crate) release_counter: Option<u64>,
    pub(crate) installed: u64,
    /// A security update, and the advisories it addresses.
    pub(crate) security: bool,
    pub(crate) advisories: Vec<String>,
    /// The SBOM targets listed beside it.
    pub(crate) sboms: Vec<String>,
}

/// A string array member of a target's `custom`, or of each object in it (`field`).
fn strings(custom: Option<&metadata_schemas::json::Value<'_>>, name: &str, field: Option<&str>) -> Vec<String> {
    use metadata_schemas::json::Value;
    let items = match custom.and_then(|c| c.as_object()?.get(name)) {
        Some(Value::Array(items)) => items.as_slice(),
        _ => &[],
    };
    items
        .iter()
        .filter_map(|v| match field {
            Some(f) => v.as_object()?.get(f)?.as_str().map(str::to_string),
            None => v.as_str().map(str::to_string),
        })
        .collect()
}

/// `GET /ui/images`.
pub async fn images(State(director): State<Arc<Director>>, headers: HeaderMap) -> Response {
    let operator = match operator(&director, &headers).await {
        Ok(operator) => operator,
        Err(response) => return response,
    };
    let adoption = match director.store.adoption().await {
        Ok(adoption) => adoption,
        Err(e) => return UiError::from(e).into_response(),
    };
    let mut installed: BTreeMap<&str, u64> = BTreeMap::new();
    for c in &adoption {
        *installed.entry(c.image.as_deref().unwrap_or("")).or_default() += c.ecus;
    }
    let (images, problem) = image_rows(&director, &installed);
    if super::wants_json(&headers) {
        return Json(serde_json::json!({"images": images, "error": problem})).into_response();
    }
    let body = html! {
        @if let Some(problem) = &problem { p.error role="alert" { (problem) } }
        table.images {
            thead { tr {
                th scope="col" { "Target" } th scope="col" { "Hardware ids" } th scope="col" { "Release counter" }
                th scope="col" { "Bytes" } th scope="col" { "ECUs running it" } th scope="col" { "Security" }
                th scope="col" { "SBOM" }
            } }
            tbody {
                @for i in &images {
                    tr {
                        td { code { (i.path) } } td { (i.hardware_ids.join(", ")) }
                        td.num { @if let Some(c) = i.release_counter { (c) } @else { "-" } }
                        td.num { (i.length) }
                        td.num {
                            @match i.hardware_ids.first() {
                                Some(hw) => a href=(vehicles_on(hw, Some(&i.path))) { (i.installed) },
                                None => (i.installed),
                            }
                        }
                        td { @if i.security { strong.attack { "security update" } " " (i.advisories.join(", ")) } @else { "-" } }
                        td { @for s in &i.sboms { code { (s) } " " } }
                    }
                }
            }
        }
    };
    page(&operator, Section::Images, "Images", body)
}

/// The image repository's targets as verified now, each with how many ECUs run it; or
/// why the repository cannot be read.
pub(crate) fn image_rows(director: &Director, installed: &BTreeMap<&str, u64>) -> (Vec<Image>, Option<String>) {
    // None: no image repository is configured.
    let listed = director.images.as_ref().map(|repository| repository.trusted(chrono::Utc::now()));
    let images: Vec<Image> = match &listed {
        Some(Ok(trusted)) => trusted
            .targets()
            .map(|t| {
                t.targets
                    .iter()
                    .map(|(path, file)| {
                        let custom = ImageTargetCustom::from_target(path, file).ok();
                        let raw = file.custom.as_ref();
                        let security = raw
                            .and_then(|c| c.as_object()?.get("security"))
                            .is_some_and(|s| matches!(s, metadata_schemas::json::Value::Bool(true)));
                        Image {
                            security,
                            advisories: strings(raw, "advisories", None),
                            sboms: strings(raw, "sbom", Some("filename")),
                            path: path.as_str().to_string(),
                            length: file.length,
                            hardware_ids: custom
                                .as_ref()
                                .map(|c| c.hardware_identifiers.iter().map(|h| h.as_str().to_string()).collect())
                                .unwrap_or_default(),
                            release_counter: custom.map(|c| c.release_counter),
                            installed: installed.get(path.as_str()).copied().unwrap_or(0),
                        }
                    })
                    .collect()
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    let problem = match &listed {
        None => Some("no image repository is configured (director init --image-repo)".to_string()),
        Some(Err(e)) => Some(e.to_string()),
        Some(Ok(_)) => None,
    };
    (images, problem)
}

/// One role of a repository.
#[derive(Serialize)]
pub(crate) struct RoleRow {
    repository: &'static str,
    role: &'static str,
    version: u64,
    threshold: u64,
    keys: Vec<KeyRow>,
    expires: Option<i64>,
}

#[derive(Serialize)]
pub(crate) struct KeyRow {
    id: String,
    keytype: String,
    /// Where the director keeps it (its online keys), if it is the director's.
    location: Option<String>,
}

fn roles_of(
    repository: &'static str,
    root: &Root,
    expiry: &dyn Fn(&'static str) -> Option<i64>,
    location: &dyn Fn(&'static str) -> Option<String>,
) -> Vec<RoleRow> {
    let roles: [(&'static str, &RoleKeys); 4] = [
        ("root", &root.roles.root),
        ("targets", &root.roles.targets),
        ("snapshot", &root.roles.snapshot),
        ("timestamp", &root.roles.timestamp),
    ];
    roles
        .into_iter()
        .map(|(role, keys)| RoleRow {
            repository,
            role,
            version: root.common.version.get(),
            threshold: keys.threshold.get(),
            keys: keys
                .keyids
                .iter()
                .map(|id| KeyRow {
                    id: id.as_str().to_string(),
                    keytype: root.keys.get(id).map(|k| k.keytype.clone()).unwrap_or_else(|| "?".into()),
                    location: location(role),
                })
                .collect(),
            expires: expiry(role),
        })
        .collect()
}

/// Where the director keeps a role's key: the file or PKCS#11 URI of its configuration.
fn director_location(director: &Director, role: &'static str) -> Option<String> {
    let keys = &director.config.keys;
    Some(match role {
        "root" => "offline (moved off this machine after init)".into(),
        "targets" => keys.targets.clone(),
        "snapshot" => keys.snapshot.clone(),
        "timestamp" => keys.timestamp.clone(),
        _ => return None,
    })
}

/// `GET /ui/keys`.
pub async fn keys(State(director): State<Arc<Director>>, headers: HeaderMap) -> Response {
    let operator = match operator(&director, &headers).await {
        Ok(operator) => operator,
        Err(response) => return response,
    };
    let (rows, problem) = match role_rows(&director).await {
        Ok(found) => found,
        Err(e) => return UiError::from(e).into_response(),
    };
    if super::wants_json(&headers) {
        return Json(serde_json::json!({"roles": rows, "image_repository_error": problem})).into_response();
    }
    let now = chrono::Utc::now().timestamp();
    let body = html! {
        @if let Some(problem) = &problem { p.error role="alert" { "Image repository: " (problem) } }
        p { "A director vehicle's targets, snapshot and timestamp are signed per vehicle with the online keys; their expiry is on the Overview." }
        (roles_table(&rows, now))
    };
    page(&operator, Section::Keys, "Keys & metadata", body)
}

/// Both repositories' roles from their current roots: thresholds, keys, key types,
/// where the director keeps its keys, expiry; or why the image repository cannot be read.
pub(crate) async fn role_rows(director: &Director) -> Result<(Vec<RoleRow>, Option<String>), crate::store::StoreError> {
    let mut rows = Vec::new();
    let director_root = director.store.latest_root().await?;
    if let Some((_, text)) = &director_root {
        if let Ok(root) = Signed::<Root>::decode_unverified(text.as_bytes()) {
            let expires = root.signed.common.expires.time().timestamp();
            let expiry = move |role: &'static str| (role == "root").then_some(expires);
            rows.extend(roles_of("director", &root.signed, &expiry, &|role| director_location(director, role)));
        }
    }
    let images = director.images.as_ref().map(|r| r.trusted(chrono::Utc::now()));
    if let Some(Ok(trusted)) = &images {
        let expiry = |role: &'static str| -> Option<i64> {
            let common = match role {
                "root" => Some(&trusted.root().common),
                "targets" => trusted.targets().map(|t| &t.common),
                "snapshot" => trusted.snapshot().map(|s| &s.common),
                _ => trusted.timestamp().map(|t| &t.common),
            };
            common.map(|c| c.expires.time().timestamp())
        };
        rows.extend(roles_of("image", trusted.root(), &expiry, &|_| None));
    }
    let problem = match images {
        Some(Err(e)) => Some(e.to_string()),
        None => Some("no image repository is configured".to_string()),
        Some(Ok(_)) => None,
    };
    Ok((rows, problem))
}

fn roles_table(rows: &[RoleRow], now: i64) -> Markup {
    html! {
        table.roles {
            thead { tr {
                th scope="col" { "Repository" } th scope="col" { "Role" } th scope="col" { "Threshold" }
                th scope="col" { "Keys" } th scope="col" { "Expires" }
            } }
            tbody {
                @for r in rows {
                    tr {
                        td { (r.repository) } td { (r.role) " (root v" (r.version) ")" }
                        td.num { (r.threshold) " of " (r.keys.len()) }
                        td { ul.keys { @for k in &r.keys { li {
                            code title=(k.id) { (k.id[..16.min(k.id.len())]) } " " (k.keytype)
                            @if let Some(at) = &k.location { " · " (at) }
                        } } } }
                        td { @match r.expires { Some(at) => (when(at, now)), None => "per vehicle" } }
                    }
                }
            }
        }
    }
}

pub use crate::lifecycle::support_ends;
