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

/// Compares two equal-length hex digests without an early exit.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The authenticated vehicle; `vin` is the one the path names, if any.
pub async fn device(
    director: &Director,
    headers: &HeaderMap,
    peer: &PeerVin,
    vin: Option<&str>,
) -> Result<String, ApiError> {
    let client_certificates = director.config.tls.as_ref().is_some_and(|t| t.client_ca.is_some());
    let identity = match (&peer.0, client_certificates) {
        (Some(cert_vin), _) => cert_vin.clone(),
        (None, true) => return Err(ApiError::new(StatusCode::UNAUTHORIZED, "a client certificate is required")),
        (None, false) => {
            let token =
                bearer(headers).ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "a device token is required"))?;
            let (token_vin, _) = token
                .rsplit_once(':')
                .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "malformed device token"))?;
            let vehicle = director
                .store
                .vehicle(token_vin)
                .await
                .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
            match vehicle {
                Some(v) if same(&v.token_hash, &token_hash(token)) => v.vin,
                _ => return Err(ApiError::new(StatusCode::UNAUTHORIZED, "unknown device token")),
            }
        }
    };
    if let Some(vin) = vin {
        if vin != identity {
            return Err(ApiError::new(StatusCode::FORBIDDEN, format!("authenticated as {identity}, not {vin}")));
        }
    }
    if peer.0.is_some()
        && director
            .store
            .vehicle(&identity)
            .await
            .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
            .is_none()
    {
        return Err(ApiError::new(StatusCode::FORBIDDEN, format!("vehicle {identity} is not registered")));
    }
    Ok(identity)
}

/// The authenticated administrator's name, if their role is at least `needed`.
pub fn admin(director: &Director, headers: &HeaderMap, needed: Role) -> Result<String, ApiError> {
    let token =
        bearer(headers).ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "an administrator token is required"))?;
    let hash = token_hash(token);
    let admin = director
        .config
        .admin_tokens
        .iter()
        .find(|t| same(&t.token_sha256, &hash))
        .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "unknown administrator token"))?;
    if admin.role < needed {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!("{} may not do this ({:?} role)", admin.name, admin.role),
        ));
    }
    Ok(format!("admin:{}", admin.name))
}
