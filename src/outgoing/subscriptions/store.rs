//! The `webhook_subscriptions` table: writes through [`WriteConn`], reads through the pool. A
//! subscription's secret is read only by the routes that hand it out and by the dispatcher.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row as _};

use crate::args;
use crate::db::columns::Columns;
use crate::db::{bind, DbError, Value, WriteConn};

/// A subscription as the admin routes answer it (never with its secret).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SubscriptionOut {
    pub id: i64,
    pub url: String,
    /// The outgoing event types delivered; `null` means every type.
    pub events: Option<Vec<String>>,
    pub description: Option<String>,
    pub disabled: bool,
    /// Why it was disabled by the service (`410 Gone`, five days of failures), if it was.
    pub disabled_reason: Option<String>,
    /// Since when every attempt has failed (RFC 3339 UTC); `null` after a success.
    pub failing_since: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// A new subscription, already validated.
pub struct NewSubscription {
    pub url: String,
    pub events: Option<Vec<String>>,
    pub description: Option<String>,
    pub secret: String,
    pub disabled: bool,
}

/// A change, already validated: `None` leaves a field alone.
#[derive(Default)]
pub struct SubscriptionPatch {
    pub url: Option<String>,
    pub events: Option<Option<Vec<String>>>,
    pub description: Option<Option<String>>,
    pub disabled: Option<bool>,
}

const COLUMNS: &str = "id, url, events, description, disabled, disabled_reason, failing_since, created_at, updated_at";

fn events_text(events: &Option<Vec<String>>) -> Option<String> {
    events.as_ref().map(|list| serde_json::Value::from(list.clone()).to_string())
}

fn from_row(row: &AnyRow) -> Result<SubscriptionOut, sqlx::Error> {
    let events: Option<String> = row.try_get("events")?;
    Ok(SubscriptionOut {
        id: row.try_get("id")?,
        url: row.try_get("url")?,
        events: events.and_then(|text| serde_json::from_str(&text).ok()),
        description: row.try_get("description")?,
        disabled: crate::db::flag(row, "disabled")?,
        disabled_reason: row.try_get("disabled_reason")?,
        failing_since: row.try_get("failing_since")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub async fn insert(conn: &mut WriteConn, new: &NewSubscription, now: &str) -> Result<i64, DbError> {
    let mut row = Columns::new();
    row.set("url", new.url.clone())
        .set("events", events_text(&new.events))
        .set("description", new.description.clone())
        .set("secret", new.secret.clone())
        .set("disabled", new.disabled)
        .set("created_at", now)
        .set("updated_at", now);
    row.insert(conn, "webhook_subscriptions").await
}

/// Applies `patch`; `false` when there is no such subscription. Enabling clears the reason and
/// the failure streak, so a fixed receiver starts afresh.
pub async fn update(conn: &mut WriteConn, id: i64, patch: &SubscriptionPatch, now: &str) -> Result<bool, DbError> {
    let mut row = Columns::new();
    row.patch("url", patch.url.clone())
        .patch("events", patch.events.as_ref().map(events_text))
        .patch("description", patch.description.clone())
        .patch("disabled", patch.disabled);
    if patch.disabled == Some(false) {
        row.set("disabled_reason", None::<String>).set("failing_since", None::<String>);
    }
    row.set("updated_at", now);
    Ok(row.update(conn, "webhook_subscriptions", id).await? > 0)
}

/// Deletes the subscription and cancels its pending deliveries; `false` when there is none.
pub async fn delete(conn: &mut WriteConn, id: i64) -> Result<bool, DbError> {
    let mut change = conn.begin().await?;
    let deleted = change.execute("delete from webhook_subscriptions where id = $1", args![id]).await?;
    change
        .execute(
            "update webhook_deliveries set status = 'cancelled', locked_until = null, lock_token = null \
             where subscription_id = $1 and status = 'pending'",
            args![id],
        )
        .await?;
    change.commit().await?;
    Ok(deleted > 0)
}

/// Makes `secret` the signing secret; the current one keeps signing until `old_until`.
pub async fn rotate(conn: &mut WriteConn, id: i64, secret: &str, old_until: &str, now: &str) -> Result<bool, DbError> {
    let changed = conn
        .execute(
            "update webhook_subscriptions set previous_secret = secret, previous_secret_expires_at = $1, \
             secret = $2, updated_at = $3 where id = $4",
            args![old_until, secret, now, id],
        )
        .await?;
    Ok(changed > 0)
}

/// Disables a subscription on the service's own account (`410 Gone`, failing too long).
pub async fn disable(conn: &mut WriteConn, id: i64, reason: &str, now: &str) -> Result<(), DbError> {
    conn.execute(
        "update webhook_subscriptions set disabled = $1, disabled_reason = $2, updated_at = $3 where id = $4",
        args![true, reason, now, id],
    )
    .await?;
    Ok(())
}

pub async fn get(pool: &AnyPool, id: i64) -> Result<Option<SubscriptionOut>, sqlx::Error> {
    let row = sqlx::query(&format!("select {COLUMNS} from webhook_subscriptions where id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Newest first, `limit` rows with an id below `before`.
pub async fn list(pool: &AnyPool, before: Option<i64>, limit: i64) -> Result<Vec<SubscriptionOut>, sqlx::Error> {
    let sql = format!("select {COLUMNS} from webhook_subscriptions where id < $1 order by id desc limit $2");
    let rows = bind(sqlx::query(&sql), vec![Value::from(before.unwrap_or(i64::MAX)), Value::from(limit)])
        .fetch_all(pool)
        .await?;
    rows.iter().map(from_row).collect()
}

/// The signing secret and, while it is still valid at `now`, the previous one.
pub async fn secrets(pool: &AnyPool, id: i64, now: &str) -> Result<Option<(String, Option<String>)>, sqlx::Error> {
    let row = sqlx::query(
        "select secret, case when previous_secret_expires_at > $1 then previous_secret end as previous \
         from webhook_subscriptions where id = $2",
    )
    .bind(now)
    .bind(id)
    .fetch_optional(pool)
    .await?;
    row.map(|row| Ok((row.try_get("secret")?, row.try_get("previous")?))).transpose()
}
