//! The webhook log table: one row per delivery, written in the same transaction as the
//! business change it records (or alone, after a failure rolled that change back).

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

use crate::db::columns::Columns;
use crate::db::{bind, Value, WriteConn};
use crate::http::error::AppError;

/// A row to insert.
#[derive(Clone, Debug, Default)]
pub struct NewLog {
    pub direction: &'static str,
    pub event: Option<String>,
    pub source: Option<String>,
    pub method: String,
    pub path: String,
    pub remote_addr: Option<String>,
    /// JSON object of the selected, redacted request headers.
    pub request_headers: String,
    pub request_body: Option<String>,
    pub response_status: u16,
    pub response_body: Option<String>,
    pub error_message: Option<String>,
    pub entity_type: Option<&'static str>,
    pub entity_id: Option<i64>,
    pub idempotency_key: Option<String>,
    pub request_id: Option<String>,
    pub duration_ms: f64,
    pub created_at: String,
    pub processed_at: String,
    /// Set when `request_body` holds only the start of the body (401 rows): the whole body's
    /// length in bytes and its SHA-256 in hex.
    pub request_body_bytes: Option<i64>,
    pub request_body_sha256: Option<String>,
    /// The row this request replays (`POST /logs/{id}/replay`).
    pub replay_of: Option<i64>,
}

/// Inserts `log`, its values moved into the statement; returns its id.
pub async fn insert(conn: &mut WriteConn, log: NewLog) -> Result<i64, crate::db::DbError> {
    columns(log).insert(conn, "webhook_logs").await
}

/// Inserts `log` when its id is not needed: in a PostgreSQL batch, with its commit, in one
/// multi-row insert with the batch's other log rows ([`WriteConn::insert_later`]).
pub async fn insert_later(conn: &mut WriteConn, log: NewLog) -> Result<(), crate::db::DbError> {
    columns(log).insert_later(conn, "webhook_logs").await
}

fn columns(log: NewLog) -> Columns {
    let mut row = Columns::new();
    row.set("direction", log.direction)
        .set("event", log.event)
        .set("source", log.source)
        .set("method", log.method)
        .set("path", log.path)
        .set("remote_addr", log.remote_addr)
        .set("request_headers", log.request_headers)
        .set("request_body", log.request_body)
        .set("response_status", i64::from(log.response_status))
        .set("response_body", log.response_body)
        .set("is_successful", (200..300).contains(&log.response_status))
        .set("error_message", log.error_message)
        .set("entity_type", log.entity_type)
        .set("entity_id", log.entity_id)
        .set("idempotency_key", log.idempotency_key)
        .set("request_id", log.request_id)
        .set("created_at", log.created_at)
        .set("duration_ms", log.duration_ms)
        .set("processed_at", log.processed_at)
        .set("request_body_bytes", log.request_body_bytes)
        .set("request_body_sha256", log.request_body_sha256)
        .set("replay_of", log.replay_of);
    row
}

/// A row as `GET /logs` returns it (design §5).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LogOut {
    pub id: i64,
    /// `incoming` or `outgoing`.
    pub direction: String,
    pub event: Option<String>,
    pub source: Option<String>,
    pub method: String,
    pub path: String,
    pub remote_addr: Option<String>,
    /// Selected request headers; signatures and credentials are redacted.
    #[schema(value_type = Object)]
    pub request_headers: serde_json::Value,
    /// The raw request body as received.
    pub request_body: Option<String>,
    pub response_status: i64,
    pub response_body: Option<String>,
    pub is_successful: bool,
    pub error_message: Option<String>,
    pub entity_type: Option<String>,
    pub entity_id: Option<i64>,
    pub idempotency_key: Option<String>,
    pub duration_ms: f64,
    /// RFC 3339 UTC.
    pub created_at: String,
    /// RFC 3339 UTC.
    pub processed_at: String,
    /// On a 401 row, whose `request_body` keeps only the first 4 KiB: the whole body's length in
    /// bytes (null on other rows, whose body is whole).
    pub request_body_bytes: Option<i64>,
    /// On a 401 row: the whole body's SHA-256 in lower-case hex (null on other rows).
    pub request_body_sha256: Option<String>,
    /// On a row written by `POST /logs/{id}/replay`: the id of the row it replayed (null on others).
    pub replay_of: Option<i64>,
}

const COLUMNS: &str = "id, direction, event, source, method, path, remote_addr, request_headers, request_body, \
     response_status, response_body, is_successful, error_message, entity_type, entity_id, idempotency_key, \
     duration_ms, created_at, processed_at, request_body_bytes, request_body_sha256, replay_of";

fn from_row(row: &AnyRow) -> Result<LogOut, sqlx::Error> {
    let headers: String = row.try_get("request_headers")?;
    Ok(LogOut {
        id: row.try_get("id")?,
        direction: row.try_get("direction")?,
        event: row.try_get("event")?,
        source: row.try_get("source")?,
        method: row.try_get("method")?,
        path: row.try_get("path")?,
        remote_addr: row.try_get("remote_addr")?,
        request_headers: serde_json::from_str(&headers).unwrap_or(serde_json::Value::Object(Default::default())),
        request_body: row.try_get("request_body")?,
        response_status: row.try_get("response_status")?,
        response_body: row.try_get("response_body")?,
        is_successful: crate::db::flag(row, "is_successful")?,
        error_message: row.try_get("error_message")?,
        entity_type: row.try_get("entity_type")?,
        entity_id: row.try_get("entity_id")?,
        idempotency_key: row.try_get("idempotency_key")?,
        duration_ms: row.try_get("duration_ms")?,
        created_at: row.try_get("created_at")?,
        processed_at: row.try_get("processed_at")?,
        request_body_bytes: row.try_get("request_body_bytes")?,
        request_body_sha256: row.try_get("request_body_sha256")?,
        replay_of: row.try_get("replay_of")?,
    })
}

/// Filters of `GET /logs`, already validated.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub direction: Option<String>,
    pub is_successful: Option<bool>,
    pub event: Option<String>,
    pub entity_type: Option<String>,
    pub entity_id: Option<i64>,
    pub since: Option<String>,
    pub until: Option<String>,
}

impl Filter {
    /// `where …` and its arguments, numbered from `$1`.
    fn clause(&self) -> (String, Vec<Value>) {
        let mut parts = Vec::new();
        let mut args = Vec::new();
        let mut push = |sql: &str, arg: Value| {
            args.push(arg);
            parts.push(format!("{sql} ${}", args.len()));
        };
        if let Some(v) = &self.direction {
            push("direction =", Value::from(v.clone()));
        }
        if let Some(v) = self.is_successful {
            push("is_successful =", Value::from(v));
        }
        if let Some(v) = &self.event {
            push("event =", Value::from(v.clone()));
        }
        if let Some(v) = &self.entity_type {
            push("entity_type =", Value::from(v.clone()));
        }
        if let Some(v) = self.entity_id {
            push("entity_id =", Value::from(v));
        }
        if let Some(v) = &self.since {
            push("created_at >=", Value::from(v.clone()));
        }
        if let Some(v) = &self.until {
            push("created_at <", Value::from(v.clone()));
        }
        let clause = if parts.is_empty() { String::new() } else { format!(" where {}", parts.join(" and ")) };
        (clause, args)
    }
}

/// Matching rows are counted exactly up to this many; counting a million rows on every page
/// would make the listing slow for everyone, and past this a person narrows the filter anyway.
pub const COUNT_CAP: i64 = 10_000;

/// One page, newest first, and the number of matching rows (at most [`COUNT_CAP`]; the flag says
/// whether there are more).
/// One page, newest first: `page` by offset, or the rows below the id `before` (a cursor, which
/// costs the same at any depth), whether more rows follow, and the number of matching rows (at
/// most [`COUNT_CAP`]; the flag says whether there are more).
pub async fn list(
    pool: &AnyPool,
    filter: &Filter,
    page: i64,
    page_size: i64,
    before: Option<i64>,
) -> Result<(Vec<LogOut>, bool, i64, bool), AppError> {
    let (clause, args) = filter.clause();
    let count_sql =
        format!("select count(*) from (select 1 from webhook_logs{clause} limit {}) matching", COUNT_CAP + 1);
    let counted: i64 = bind(sqlx::query(&count_sql), args.clone()).fetch_one(pool).await?.try_get(0)?;
    let (total, capped) = if counted > COUNT_CAP { (COUNT_CAP, true) } else { (counted, false) };
    let mut args = args;
    let (clause, offset) = match before {
        Some(id) => {
            args.push(Value::from(id));
            let below = format!("id < ${}", args.len());
            let clause = if clause.is_empty() { format!(" where {below}") } else { format!("{clause} and {below}") };
            (clause, 0)
        }
        None => (clause, (page - 1).saturating_mul(page_size)),
    };
    let n = args.len();
    // The page's ids come from the index alone; only the rows shown are read in full, so a deep
    // offset page skips index entries rather than whole rows. One row more than the page tells
    // whether another page follows.
    let page_sql = format!(
        "select {COLUMNS} from webhook_logs where id in \
         (select id from webhook_logs{clause} order by id desc limit ${} offset ${}) order by id desc",
        n + 1,
        n + 2
    );
    let rows = bind(sqlx::query(&page_sql), args).bind(page_size + 1).bind(offset).fetch_all(pool).await?;
    let mut items = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    let more = items.len() as i64 > page_size;
    items.truncate(page_size as usize);
    Ok((items, more, total, capped))
}

pub async fn get(pool: &AnyPool, id: i64) -> Result<LogOut, AppError> {
    let row = sqlx::query(&format!("select {COLUMNS} from webhook_logs where id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?
        .ok_or(AppError::NotFound("Webhook log not found"))?;
    Ok(from_row(&row)?)
}
