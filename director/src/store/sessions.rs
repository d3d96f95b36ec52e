//! The store's part of dashboard sessions: made at login, read on every page, removed
//! at logout or once expired. Only the SHA-256 of a session cookie is kept.

use sqlx::Row;

use super::{Result, Store, StoreError};
use crate::config::Role;

/// A logged-in operator's session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// The administrator token's name.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// The CSRF token its forms carry.
    pub csrf: String,
    /// When it ends (Unix seconds).
    pub expires: i64,
}

impl Store {
    /// Records a new session under the hash of its cookie; expired ones are removed.
    pub async fn insert_session(&self, id_sha256: &str, session: &Session, now: i64) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM ui_sessions WHERE expires <= $1").bind(now).execute(&mut *tx.tx).await?;
        sqlx::query(
            "INSERT INTO ui_sessions (id_sha256, name, role, csrf, created, expires) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id_sha256)
        .bind(&session.name)
        .bind(session.role.as_str())
        .bind(&session.csrf)
        .bind(now)
        .bind(session.expires)
        .execute(&mut *tx.tx)
        .await?;
        tx.commit().await
    }

    /// The session a cookie's hash names, if it has not expired.
    pub async fn session(&self, id_sha256: &str, now: i64) -> Result<Option<Session>> {
        let row =
            sqlx::query("SELECT name, role, csrf, expires FROM ui_sessions WHERE id_sha256 = $1 AND expires > $2")
                .bind(id_sha256)
                .bind(now)
                .fetch_optional(&self.read)
                .await?;
        let Some(r) = row else { return Ok(None) };
        let role: String = r.try_get("role")?;
        Ok(Some(Session {
            name: r.try_get("name")?,
            role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("session role {role:?}")))?,
            csrf: r.try_get("csrf")?,
            expires: r.try_get("expires")?,
        }))
    }

    /// Ends a session.
    pub async fn delete_session(&self, id_sha256: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM ui_sessions WHERE id_sha256 = $1").bind(id_sha256).execute(&mut *tx.tx).await?;
        tx.commit().await
    }
}

impl Store {
    /// Adds (or replaces) a dashboard operator with the hash of their password.
    pub async fn put_operator(&self, name: &str, role: Role, password_hash: &str, now: i64) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO operators (name, role, password_hash, created) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name) DO UPDATE SET role = excluded.role, password_hash = excluded.password_hash",
        )
        .bind(name)
        .bind(role.as_str())
        .bind(password_hash)
        .bind(now)
        .execute(&mut *tx.tx)
        .await?;
        let detail = serde_json::json!({"name": name, "role": role.as_str()}).to_string();
        tx.audit("admin:cli", "operator-set", &detail, now).await?;
        tx.commit().await
    }

    /// A dashboard operator's role and password hash.
    pub async fn operator(&self, name: &str) -> Result<Option<(Role, String)>> {
        let row = sqlx::query("SELECT role, password_hash FROM operators WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.read)
            .await?;
        let Some(r) = row else { return Ok(None) };
        let role: String = r.try_get("role")?;
        let role = Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("operator role {role:?}")))?;
        Ok(Some((role, r.try_get("password_hash")?)))
    }
}
