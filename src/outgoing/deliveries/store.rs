//! Reads and admin writes of `webhook_deliveries` and `delivery_attempts`: the list with its
//! filters, one delivery with its payload and attempts, retry, recover.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row as _};

use crate::args;
use crate::db::{bind, DbError, Value, WriteConn};

/// A delivery of one event to one subscription.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeliveryOut {
    pub id: i64,
    pub subscription_id: i64,
    /// The event's id, sent as `webhook-id` on every attempt.
    pub event_id: String,
    /// The outgoing type, such as `lead.created`.
    pub event: String,
    /// `pending`, `delivered`, `dead` or `cancelled`.
    pub status: String,
    pub attempts: i64,
    /// When the next attempt is due (pending deliveries only).
    pub next_attempt_at: Option<String>,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: String,
    pub delivered_at: Option<String>,
}

/// One attempt of a delivery.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AttemptOut {
    /// 1 for the first attempt.
    pub attempt: i64,
    pub started_at: String,
    /// The receiver's HTTP status; `null` when no answer came.
    pub status_code: Option<i64>,
    pub duration_ms: f64,
    /// Why the attempt failed, such as `timeout after 15 s`, `connection refused`, `HTTP 500`.
    pub error: Option<String>,
    /// The attempt's row in `GET /logs` (direction `outgoing`).
    pub log_id: Option<i64>,
}

/// Filters of `GET /deliveries`, already validated.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub subscription_id: Option<i64>,
    pub status: Option<String>,
    pub event: Option<String>,
    pub entity_type: Option<String>,
    pub entity_id: Option<i64>,
}

const COLUMNS: &str = "d.id, d.subscription_id, e.event_id, d.event_type, d.status, d.attempts, d.next_attempt_at, \
     d.last_status_code, d.last_error, d.created_at, d.delivered_at";
const FROM: &str = "webhook_deliveries d join outbox_events e on e.id = d.event_id";

fn from_row(row: &AnyRow) -> Result<DeliveryOut, sqlx::Error> {
    let status: String = row.try_get("status")?;
    let next: Option<String> = row.try_get("next_attempt_at")?;
    Ok(DeliveryOut {
        id: row.try_get("id")?,
        subscription_id: row.try_get("subscription_id")?,
        event_id: row.try_get("event_id")?,
        event: row.try_get("event_type")?,
        next_attempt_at: next.filter(|_| status == "pending"),
        status,
        attempts: row.try_get("attempts")?,
        last_status_code: row.try_get("last_status_code")?,
        last_error: row.try_get("last_error")?,
        created_at: row.try_get("created_at")?,
        delivered_at: row.try_get("delivered_at")?,
    })
}

/// Newest first: `limit` deliveries with an id below `before` that match `filter`.
pub async fn list(
    pool: &AnyPool,
    filter: &Filter,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<DeliveryOut>, sqlx::Error> {
    let mut parts = vec!["d.id < $1".to_string()];
    let mut args = vec![Value::from(before.unwrap_or(i64::MAX))];
    let mut push = |sql: &str, arg: Value| {
        args.push(arg);
        parts.push(format!("{sql} ${}", args.len()));
    };
    if let Some(v) = filter.subscription_id {
        push("d.subscription_id =", Value::from(v));
    }
    if let Some(v) = &filter.status {
        push("d.status =", Value::from(v.clone()));
    }
    if let Some(v) = &filter.event {
        push("d.event_type =", Value::from(v.clone()));
    }
    if let Some(v) = &filter.entity_type {
        push("d.entity_type =", Value::from(v.clone()));
    }
    if let Some(v) = filter.entity_id {
        push("d.entity_id =", Value::from(v));
    }
    args.push(Value::from(limit));
    let sql =
        format!("select {COLUMNS} from {FROM} where {} order by d.id desc limit ${}", parts.join(" and "), args.len());
    let rows = bind(sqlx::query(&sql), args).fetch_all(pool).await?;
    rows.iter().map(from_row).collect()
}

/// One delivery, its payload (the exact body sent) and its attempts in order.
pub async fn get(pool: &AnyPool, id: i64) -> Result<Option<(DeliveryOut, String, Vec<AttemptOut>)>, sqlx::Error> {
    let row = sqlx::query(&format!("select {COLUMNS}, e.payload from {FROM} where d.id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let delivery = from_row(&row)?;
    let payload: String = row.try_get("payload")?;
    let attempts = sqlx::query(
        "select attempt, started_at, status_code, duration_ms, error, log_id from delivery_attempts \
         where delivery_id = $1 order by attempt, id",
    )
    .bind(id)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|row| {
        Ok(AttemptOut {
            attempt: row.try_get("attempt")?,
            started_at: row.try_get("started_at")?,
            status_code: row.try_get("status_code")?,
            duration_ms: row.try_get("duration_ms")?,
            error: row.try_get("error")?,
            log_id: row.try_get("log_id")?,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(Some((delivery, payload, attempts)))
}

/// What a retry found.
#[derive(Debug, PartialEq, Eq)]
pub enum Retry {
    Queued,
    NotFound,
    Cancelled,
}

/// Makes a delivery due now, whatever its status but `cancelled`; a dead one gets one more attempt.
pub async fn retry(conn: &mut WriteConn, id: i64, now: &str) -> Result<Retry, DbError> {
    let Some(row) = conn.fetch_optional("select status from webhook_deliveries where id = $1", args![id]).await? else {
        return Ok(Retry::NotFound);
    };
    if row.get::<String>(0)? == "cancelled" {
        return Ok(Retry::Cancelled);
    }
    conn.execute(
        // A lease in force stays: the attempt in flight finishes first, so nothing is sent twice at once.
        "update webhook_deliveries set status = 'pending', next_attempt_at = $1 where id = $2 and status <> 'cancelled'",
        args![now, id],
    )
    .await?;
    Ok(Retry::Queued)
}

/// Every dead delivery of the subscription created at or after `since` is due again now.
pub async fn recover(conn: &mut WriteConn, subscription_id: i64, since: &str) -> Result<u64, DbError> {
    conn.execute(
        "update webhook_deliveries set status = 'pending', next_attempt_at = $1 \
         where subscription_id = $2 and status = 'dead' and created_at >= $3",
        args![crate::domain::time::now(), subscription_id, since],
    )
    .await
}
