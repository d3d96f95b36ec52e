//! Who is asking. Devices: the vin named by their client certificate (mutual TLS), or,
//! for development, the per-vehicle token issued at registration (`VIN:SECRET`).
//! Administrators: a bearer token whose SHA-256 the configuration lists with a role.
//! Missing or wrong credentials get 401; a vehicle asking for another's files, or an
//! administrator above their role, gets 403.

use axum::http::{HeaderMap, StatusCode};

use super::ApiError;
use crate::config::{Role, token_hash};
use crate::service::Director;

/// The vin a verified client certificate names (set by the TLS acceptor), if any.
#[derive(Clone, Debug, Default)]
pub struct PeerVin(pub Option<String>);

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get("authorization")?.to_str().ok()?.strip_prefix("Bearer ")
}

/// Whom a request counts against for rate limiting, and at what rate: a device by its
/// certificate's vin or its token, an administrator by their token. Requests without
/// credentials are refused by the handlers without touching the database.
pub fn rate_key(director: &Director, request: &axum::extract::Request) -> Option<(String, crate::limits::Rate)> {
    let path = request.uri().path();
    let limits = &director.config.limits;
    let token = bearer(request.headers()).map(token_hash);
    if path.starts_with("/api/v1/admin/") {
        return token.map(|t| (format!("admin:{t}"), limits.admin_rate));
    }
    if path.starts_with("/api/v1/vehicles/") || path.starts_with("/api/v1/repo/") {
        let vin = request.extensions().get::<PeerVin>().and_then(|p| p.0.clone());
        let key = vin.map(|v| format!("vin:{v}")).or(token.map(|t| format!("device:{t}")))?;
        return Some((key, limits.device_rate));
    }
    None
}

/// Compares two equal-length hex digests without an early exit.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Who a device claims to be, checked without the database: the vin of its verified
/// certificate, or the vin of its token with the token's hash (checked against the
/// vehicle when the request reads it). `vin` is the one the path names, if any.
pub struct Claim {
    /// The vehicle.
    pub vin: String,
    /// SHA-256 of the device token, when the device used one.
    pub token_hash: Option<String>,
}

/// The device's claim; 401 without credentials, 403 for another vehicle's path.
pub fn claim(director: &Director, headers: &HeaderMap, peer: &PeerVin, vin: Option<&str>) -> Result<Claim, ApiError> {
    let client_certificates = director.config.tls.as_ref().is_some_and(|t| t.client_ca.is_some());
    let claim = match (&peer.0, client_certificates) {
        (Some(cert_vin), _) => Claim { vin: cert_vin.clone(), token_hash: None },
        (None, true) => return Err(ApiError::new(StatusCode::UNAUTHORIZED, "a client certificate is required")),
        (None, false) => {
            let token =
                bearer(headers).ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "a device token is required"))?;
            let (token_vin, _) = token
                .rsplit_once(':')
                .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "malformed device token"))?;
            Claim { vin: token_vin.to_string(), token_hash: Some(token_hash(token)) }
        }
    };
    if let Some(vin) = vin {
        if vin != claim.vin {
            return Err(ApiError::new(StatusCode::FORBIDDEN, format!("authenticated as {}, not {vin}", claim.vin)));
        }
    }
    Ok(claim)
}

/// The authenticated vehicle, checked against the database (routes that do not read
/// the vehicle themselves).
pub async fn device(
    director: &Director,
    headers: &HeaderMap,
    peer: &PeerVin,
    vin: Option<&str>,
) -> Result<String, ApiError> {
    let claim = claim(director, headers, peer, vin)?;
    let internal = |e: crate::store::StoreError| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string());
    let gone = |v: &crate::store::Vehicle| {
        ApiError::new(StatusCode::GONE, format!("vehicle {} is {}", v.vin, v.decommission.as_str()))
    };
    match (director.store.vehicle(&claim.vin).await.map_err(internal)?, &claim.token_hash) {
        (Some(v), Some(hash)) if same(&v.token_hash, hash) && v.decommission.is_gone() => Err(gone(&v)),
        (Some(v), None) if v.decommission.is_gone() => Err(gone(&v)),
        (Some(v), Some(hash)) if same(&v.token_hash, hash) => Ok(claim.vin),
        (Some(_), None) => Ok(claim.vin),
        (None, None) => Err(ApiError::new(StatusCode::FORBIDDEN, format!("vehicle {} is not registered", claim.vin))),
        _ => Err(ApiError::new(StatusCode::UNAUTHORIZED, "unknown device token")),
    }
}

/// The authenticated administrator's name, if their role is at least `needed`. Tokens
/// from `director init` live in the configuration; those `director admin-token` adds live
/// in the database, so every director process accepts them as soon as they are made.
pub async fn admin(director: &Director, headers: &HeaderMap, needed: Role) -> Result<String, ApiError> {
    let token =
        bearer(headers).ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "an administrator token is required"))?;
    let (name, role) = administrator(director, token).await?;
    if role < needed {
        return Err(ApiError::new(StatusCode::FORBIDDEN, format!("{name} may not do this ({role:?} role)")));
    }
    Ok(format!("admin:{name}"))
}

/// The name and role of the administrator `token` belongs to; 401 for no one's.
pub async fn administrator(director: &Director, token: &str) -> Result<(String, Role), ApiError> {
    let hash = token_hash(token);
    let configured = director.config.admin_tokens.iter().find(|t| same(&t.token_sha256, &hash));
    let (name, role) = match configured {
        Some(t) => (t.name.clone(), t.role),
        None => director
            .store
            .admin_token(&hash)
            .await
            .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
            .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "unknown administrator token"))?,
    };
    Ok((name, role))
}
