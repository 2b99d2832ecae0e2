//! The dispatcher's writes: claiming due deliveries as leases in one short transaction, recording
//! an attempt's result (its log row, its attempt row, the delivery's next state and the
//! subscription's failure streak) as one change (a savepoint of the recorder's batch, see
//! [`super::record`]), and taking back leases at start.
//!
//! A delivery is due when it is pending, its time has come, no lease on it is in force, its
//! subscription is enabled, and no earlier delivery about the same record to the same subscription
//! is still pending. The claim walks the pending deliveries in time order through the partial index
//! `webhook_deliveries_due` and stops at the first `limit` due ones; the subscription and the
//! earlier delivery are looked up per row walked by scalar subqueries, which neither engine turns
//! into a join. PostgreSQL adds `FOR UPDATE SKIP LOCKED` so that instances claiming at once take
//! different rows instead of waiting for each other, and prices out the other plans (see
//! [`claim`]).

use crate::args;
use crate::db::{DbError, Engine, Value, WriteConn};
use crate::logs::store::{self as log_store, NewLog};

/// A claimed delivery with everything an attempt needs.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    /// Attempts made before this one.
    pub attempts: i64,
    pub subscription_id: i64,
    pub entity_type: Option<String>,
    pub entity_id: Option<i64>,
    pub webhook_id: String,
    pub event_type: String,
    pub payload: String,
    pub event_created_at: String,
    pub url: String,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub token: String,
}

/// The ids of the first `$3` deliveries due at `$1` (`$2` is `false`, an enabled subscription), in
/// time order: the walk of `webhook_deliveries_due`, each row walked checked by its subscription
/// first (a primary key), then by the first pending delivery of its record (the first entry of
/// `webhook_deliveries_order`); `case` keeps that order on both engines.
const DUE: &str = "select d.id from webhook_deliveries d \
     where d.status = 'pending' and d.next_attempt_at <= $1 and (d.locked_until is null or d.locked_until < $1) \
     and case when (select s.disabled from webhook_subscriptions s where s.id = d.subscription_id) = $2 \
     then d.order_key is null or d.id = (select p.id from webhook_deliveries p where p.status = 'pending' \
     and p.subscription_id = d.subscription_id and p.order_key = d.order_key order by p.id limit 1) \
     else false end \
     order by d.next_attempt_at, d.id limit $3";

/// PostgreSQL, for the rest of the claim's transaction: sorts, bitmap and sequential scans are
/// priced out, so that the claim is planned as the walk of [`DUE`] and the lease as primary key
/// lookups even when the table has never been analyzed, or when a prepared statement keeps a plan
/// made while the table was nearly empty.
const PLAN_BY_INDEX: &str = "select set_config('enable_sort', 'off', true), \
     set_config('enable_bitmapscan', 'off', true), set_config('enable_seqscan', 'off', true)";

/// Leases up to `limit` due deliveries until `until`; `only` claims that one delivery if it is
/// pending and free (the test route), whatever its time or its subscription's state.
///
/// The due ids are read first, then leased and read back by id in the same transaction: on
/// PostgreSQL the rows read stay locked until the commit, and SQLite has one writer, so they are
/// still due. (A single `update … where id in (select …)` may be planned as a join that runs the
/// walk again for every pending row.)
pub async fn claim(
    conn: &mut WriteConn,
    engine: Engine,
    now: &str,
    until: &str,
    limit: i64,
    only: Option<i64>,
) -> Result<Vec<Claimed>, DbError> {
    let token = uuid::Uuid::new_v4().simple().to_string();
    let mut change = conn.begin().await?;
    let ids: Vec<i64> = match only {
        Some(id) => {
            let leased = change
                .execute(
                    "update webhook_deliveries set locked_until = $2, lock_token = $3 where id = $4 \
                     and status = 'pending' and (locked_until is null or locked_until < $1)",
                    args![now, until, token.clone(), id],
                )
                .await?;
            if leased == 0 {
                Vec::new()
            } else {
                vec![id]
            }
        }
        None => {
            let lock = if engine == Engine::Postgres {
                change.execute(PLAN_BY_INDEX, Vec::new()).await?;
                " for update skip locked"
            } else {
                ""
            };
            let due = change.fetch_all(&format!("{DUE}{lock}"), args![now, false, limit]).await?;
            let ids = due.iter().map(|row| row.get::<i64>("id")).collect::<Result<Vec<_>, _>>()?;
            if !ids.is_empty() {
                let mut values = args![until, token.clone()];
                values.extend(ids.iter().map(|id| Value::from(*id)));
                let sql = format!(
                    "update webhook_deliveries set locked_until = $1, lock_token = $2 where id in ({})",
                    placeholders(3, ids.len())
                );
                change.execute(&sql, values).await?;
            }
            ids
        }
    };
    if ids.is_empty() {
        change.commit().await?;
        return Ok(Vec::new());
    }
    let mut values = args![now];
    values.extend(ids.iter().map(|id| Value::from(*id)));
    let sql = format!(
        "select d.id, d.attempts, d.subscription_id, d.entity_type, d.entity_id, e.event_id, e.event_type, \
         e.payload, e.created_at, s.url, s.secret, \
         case when s.previous_secret_expires_at > $1 then s.previous_secret end as previous_secret \
         from webhook_deliveries d join outbox_events e on e.id = d.event_id \
         join webhook_subscriptions s on s.id = d.subscription_id where d.id in ({}) order by d.id",
        placeholders(2, ids.len())
    );
    let rows = change.fetch_all(&sql, values).await?;
    change.commit().await?;
    rows.iter()
        .map(|row| {
            Ok(Claimed {
                id: row.get("id")?,
                attempts: row.get("attempts")?,
                subscription_id: row.get("subscription_id")?,
                entity_type: row.get("entity_type")?,
                entity_id: row.get("entity_id")?,
                webhook_id: row.get("event_id")?,
                event_type: row.get("event_type")?,
                payload: row.get("payload")?,
                event_created_at: row.get("created_at")?,
                url: row.get("url")?,
                secret: row.get("secret")?,
                previous_secret: row.get("previous_secret")?,
                token: token.clone(),
            })
        })
        .collect()
}

/// `$first, $first+1, …`, `count` of them.
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ")
}

/// The state an attempt leaves its delivery in.
#[derive(Debug, Clone)]
pub struct Completion {
    pub delivery_id: i64,
    pub subscription_id: i64,
    pub token: String,
    pub attempt: i64,
    pub started_at: String,
    pub duration_ms: f64,
    pub status_code: Option<i64>,
    pub error: Option<String>,
    /// `delivered`, `pending` (with `next_attempt_at`) or `dead`.
    pub status: &'static str,
    pub next_attempt_at: String,
    pub now: String,
    /// Disable the subscription with this reason (`410 Gone`).
    pub disable: Option<String>,
    /// A failure streak that began at or before this time disables the subscription.
    pub failing_limit: String,
    pub log: NewLog,
}

/// Writes the attempt, its log row moved out of `done` (it holds the body sent). Returns whether
/// the lease was still ours (the delivery's state was written) and the reason the subscription
/// was disabled by this attempt, if it was.
pub async fn complete(conn: &mut WriteConn, done: &mut Completion) -> Result<(bool, Option<String>), DbError> {
    let mut change = conn.begin().await?;
    let log_id = log_store::insert(&mut change, std::mem::take(&mut done.log)).await?;
    change
        .insert_later(
            "delivery_attempts",
            "insert into delivery_attempts (delivery_id, attempt, started_at, status_code, duration_ms, error, log_id)"
                .to_string(),
            args![
                done.delivery_id,
                done.attempt,
                done.started_at.clone(),
                done.status_code,
                done.duration_ms,
                done.error.clone(),
                log_id
            ],
        )
        .await?;
    let delivered = done.status == "delivered";
    let applied = change
        .execute(
            "update webhook_deliveries set status = $1, attempts = $2, next_attempt_at = $3, locked_until = null, \
             lock_token = null, last_status_code = $4, last_error = $5, delivered_at = $6 \
             where id = $7 and lock_token = $8",
            args![
                done.status,
                done.attempt,
                done.next_attempt_at.clone(),
                done.status_code,
                done.error.clone(),
                delivered.then(|| done.now.clone()),
                done.delivery_id,
                done.token.clone()
            ],
        )
        .await?
        > 0;
    let mut disabled = done.disable.clone();
    if delivered {
        change
            .execute_later_keyed(
                "update webhook_subscriptions set failing_since = null where id in ($1) and failing_since is not null",
                done.subscription_id.into(),
                Vec::new(),
                &["webhook_subscriptions"],
            )
            .await?;
    } else {
        change
            .execute(
                "update webhook_subscriptions set failing_since = $1 where id = $2 and failing_since is null",
                args![done.now.clone(), done.subscription_id],
            )
            .await?;
        let streak = change
            .fetch_optional(
                "select failing_since from webhook_subscriptions where id = $1 and disabled = $2 and failing_since <= $3",
                args![done.subscription_id, false, done.failing_limit.clone()],
            )
            .await?;
        if disabled.is_none() && streak.is_some() {
            disabled = Some("every delivery failed for 5 days".to_string());
        }
    }
    if let Some(reason) = &disabled {
        change
            .execute(
                "update webhook_subscriptions set disabled = $1, disabled_reason = $2, updated_at = $3 where id = $4",
                args![true, reason.clone(), done.now.clone(), done.subscription_id],
            )
            .await?;
    }
    change.commit().await?;
    Ok((applied, disabled))
}

/// A single SQLite instance is the only one delivering: every lease left by a killed process is
/// taken back at start.
pub async fn release_all(conn: &mut WriteConn) -> Result<u64, DbError> {
    conn.execute(
        "update webhook_deliveries set locked_until = null, lock_token = null where locked_until is not null",
        Vec::new(),
    )
    .await
}

/// Pending deliveries now (the queue depth): a count of the partial index `webhook_deliveries_due`,
/// which holds the pending ones only. Every `next_attempt_at` is after `''`; that range is what
/// makes SQLite read this index rather than one of every delivery.
pub const PENDING_COUNT: &str =
    "select count(*) as n from webhook_deliveries where status = 'pending' and next_attempt_at >= ''";

/// Pending deliveries now (the queue depth metric).
pub async fn queue_depth(pool: &sqlx::AnyPool) -> Result<i64, sqlx::Error> {
    use sqlx::Row;
    sqlx::query(PENDING_COUNT).fetch_one(pool).await?.try_get(0)
}

/// Whether a delivery is due now: the claim's own walk, read-only (SQLite, where the claim takes
/// the one writer), so that a poll that finds nothing claimable (every pending delivery waiting
/// for its time, a disabled subscription or an earlier delivery) does not write.
pub async fn any_due(pool: &sqlx::AnyPool, now: &str) -> Result<bool, sqlx::Error> {
    let row = sqlx::query(DUE).bind(now).bind(false).bind(1_i64).fetch_optional(pool).await?;
    Ok(row.is_some())
}

/// The earliest time a pending delivery waits for, after `now` (the first entry of
/// `webhook_deliveries_due` past it).
pub async fn next_time(pool: &sqlx::AnyPool, now: &str) -> Result<Option<String>, sqlx::Error> {
    use sqlx::Row;
    let row = sqlx::query(
        "select next_attempt_at from webhook_deliveries where status = 'pending' and next_attempt_at > $1 \
         order by next_attempt_at limit 1",
    )
    .bind(now)
    .fetch_optional(pool)
    .await?;
    row.map(|row| row.try_get(0)).transpose()
}
