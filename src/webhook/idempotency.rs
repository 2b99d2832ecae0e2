//! Idempotency keys (`Idempotency-Key`, `X-Webhook-Id` or `webhook-id`). A key is claimed in the
//! same transaction as the change it guards, under a primary key, so a key applies at most once
//! across concurrent requests and across instances sharing one database. Only successful
//! requests are remembered: a failed one rolls its claim back and may be retried with the key.

use crate::args;
use crate::db::WriteConn;
use axum::http::HeaderMap;
use sha2::{Digest, Sha256};

use crate::domain::time;
use crate::http::error::AppError;

/// Keys are kept at least this long, then purged.
pub const RETENTION_HOURS: i64 = 24;
/// Longest idempotency key, in visible ASCII characters.
pub const MAX_KEY_LEN: usize = 255;
const HEADERS: [&str; 3] = ["idempotency-key", "x-webhook-id", "webhook-id"];

#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    pub key: String,
    /// SHA-256 of the path and the exact body: "the same request".
    pub request_hash: String,
}

/// A stored answer, replayed for a repeat.
pub struct Stored {
    pub status: u16,
    pub body: String,
}

/// The first of the three headers present; 400 when it is not 1–255 visible ASCII characters.
pub fn from_headers(headers: &HeaderMap, path: &str, body: &[u8]) -> Result<Option<IdempotencyKey>, AppError> {
    let Some((name, value)) = HEADERS.iter().find_map(|name| headers.get(*name).map(|v| (*name, v))) else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= MAX_KEY_LEN && k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| AppError::bad_request(format!("{name} must be 1 to {MAX_KEY_LEN} visible ASCII characters")))?;
    let mut hasher = Sha256::new();
    hasher.update(path.as_bytes());
    hasher.update(b"\n");
    hasher.update(body);
    Ok(Some(IdempotencyKey { key: key.to_string(), request_hash: hex::encode(hasher.finalize()) }))
}

/// Claims the key. `Some(stored)` when it was already used by the same request (replay it);
/// 409 when it was used with another request; `None` when this request is the first.
pub async fn claim(conn: &mut WriteConn, key: &IdempotencyKey) -> Result<Option<Stored>, AppError> {
    let claimed = conn
        .fetch_optional(
            "insert into idempotency_keys (key, request_hash, response_status, response_body, created_at) \
         values ($1, $2, 0, '', $3) on conflict (key) do nothing returning key",
            args![key.key.clone(), key.request_hash.clone(), time::now()],
        )
        .await?;
    if claimed.is_some() {
        return Ok(None);
    }
    let row = conn
        .fetch_one(
            "select request_hash, response_status, response_body from idempotency_keys where key = $1",
            args![key.key.clone()],
        )
        .await?;
    let hash: String = row.get(0)?;
    if hash != key.request_hash {
        return Err(AppError::Conflict(format!(
            "Idempotency key {} was already used with a different request",
            key.key
        )));
    }
    let status: i64 = row.get(1)?;
    Ok(Some(Stored { status: u16::try_from(status).unwrap_or(200), body: row.get(2)? }))
}

/// Records the answer of the request that claimed the key.
pub async fn store(conn: &mut WriteConn, key: &IdempotencyKey, status: u16, body: &str) -> Result<(), AppError> {
    conn.execute(
        "update idempotency_keys set response_status = $1, response_body = $2 where key = $3",
        args![i64::from(status), body.to_string(), key.key.clone()],
    )
    .await?;
    Ok(())
}

/// Deletes keys older than the retention; returns how many.
pub async fn purge(conn: &mut WriteConn) -> Result<u64, crate::domain::StoreError> {
    let cutoff = time::format(chrono::Utc::now() - chrono::Duration::hours(RETENTION_HOURS));
    let done = conn.execute("delete from idempotency_keys where created_at < $1", args![cutoff]).await?;
    Ok(done)
}
