//! The purge statements: each call deletes one small batch in one transaction and says where the
//! next batch starts. One body of SQL for both engines; PostgreSQL adds `SKIP LOCKED` where
//! instances sharing the database could pick the same rows.

use crate::args;
use crate::db::{DbError, Engine, Value, WriteConn};
use crate::stats::rollup::Rollup;

/// What one batch did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Purged {
    /// Rows deleted, per table.
    pub rows: Vec<(&'static str, u64)>,
    /// Where the next batch starts (`None`: nothing is left to look at in this run).
    pub next: Option<Cursor>,
}

/// Where a run has got to: a log time (a rollup's minute or hour), or an id of the walked table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cursor {
    CreatedAt(String),
    Id(i64),
}

/// Deletes up to `limit` log rows created before `cutoff` (and at or after `from`, where the
/// previous batch stopped), oldest first. Kept whatever their age: rows the traffic rollup has
/// not counted yet (above `traffic_rollup_state.folded_id`, or in a gap below it that the fold
/// still looks into, see `stats::rollup`), and outgoing rows that an attempt of a still pending
/// delivery names.
pub async fn logs(
    conn: &mut WriteConn,
    engine: Engine,
    cutoff: &str,
    from: &str,
    limit: i64,
) -> Result<Purged, DbError> {
    let lock = if engine == Engine::Postgres { " for update of l skip locked" } else { "" };
    let sql = format!(
        "delete from webhook_logs where id in (\
         select l.id from webhook_logs l where l.created_at >= $1 and l.created_at < $2 \
         and l.id <= (select folded_id from traffic_rollup_state where id = 1) \
         and not exists (select 1 from traffic_rollup_gaps g where g.first_id <= l.id and g.last_id >= l.id) \
         and (l.direction <> 'outgoing' or not exists (select 1 from delivery_attempts a \
         join webhook_deliveries d on d.id = a.delivery_id where a.log_id = l.id and d.status = 'pending')) \
         order by l.created_at limit $3{lock}) returning created_at"
    );
    let mut change = conn.begin().await?;
    let deleted = change.fetch_all(&sql, args![from, cutoff, limit]).await?;
    change.commit().await?;
    let mut last: Option<String> = None;
    for row in &deleted {
        let created: String = row.get(0)?;
        if last.as_ref().is_none_or(|seen| created > *seen) {
            last = Some(created);
        }
    }
    let full = deleted.len() as i64 >= limit;
    Ok(Purged {
        rows: vec![("webhook_logs", deleted.len() as u64)],
        next: last.filter(|_| full).map(Cursor::CreatedAt),
    })
}

/// Deletes up to `limit` rows of the traffic rollup `rollup` (per minute or per hour) whose
/// period ended before `cutoff` (from the period `from` on, where the previous batch stopped),
/// oldest first in key order: they count log rows older than the log retention. A rollup row is
/// never needed longer than the rows it counts; one folded later for an old period goes at the
/// next run.
pub async fn rollups(
    conn: &mut WriteConn,
    rollup: Rollup,
    cutoff: &str,
    from: &str,
    limit: i64,
) -> Result<Purged, DbError> {
    let Rollup { table, column, period_of } = rollup;
    let key = format!("{column}, direction, event, source, response_status, duration_bucket");
    let before = period_of(cutoff);
    let mut change = conn.begin().await?;
    let last = change
        .fetch_optional(
            &format!(
                "select {key} from {table} where {column} >= $1 and {column} < $2 order by {key} limit 1 offset $3"
            ),
            args![from, before.clone(), limit - 1],
        )
        .await?;
    let deleted = match &last {
        None => {
            let sql = format!("delete from {table} where {column} >= $1 and {column} < $2");
            change.execute(&sql, args![from, before]).await?
        }
        Some(row) => {
            let sql = format!(
                "delete from {table} where {column} >= $1 and {column} < $2 and ({key}) <= ($3, $4, $5, $6, $7, $8)"
            );
            let (period, direction, event, source): (String, String, String, String) =
                (row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?);
            let (status, bucket): (i64, i64) = (row.get(4)?, row.get(5)?);
            change.execute(&sql, args![from, before, period, direction, event, source, status, bucket]).await?
        }
    };
    change.commit().await?;
    let next = last.map(|row| row.get::<String>(0)).transpose()?.map(Cursor::CreatedAt);
    Ok(Purged { rows: vec![(table, deleted)], next })
}

/// The next `limit` rows of `table` after id `after`: the last id, and whether the walk should
/// go on past them (a full window with no row created at or after `cutoff`). Ids grow with
/// `created_at` in these tables, so the first young row ends the walk.
async fn window(
    conn: &mut WriteConn,
    table: &str,
    after: i64,
    cutoff: &str,
    limit: i64,
) -> Result<(Option<i64>, bool), DbError> {
    let row = conn
        .fetch_one(
            &format!(
                "select max(id) as last, count(*) as seen, \
                 coalesce(sum(case when created_at >= $2 then 1 else 0 end), 0) as young \
                 from (select id, created_at from {table} where id > $1 order by id limit $3) w"
            ),
            args![after, cutoff, limit],
        )
        .await?;
    let last: Option<i64> = row.get("last")?;
    let seen: i64 = row.get("seen")?;
    let young: i64 = row.get("young")?;
    Ok((last, seen >= limit && young == 0))
}

/// One batch of the outbox walk, over the next `limit` outbox events after id `after`: first
/// the deliveries of those events that finished (delivered, dead or cancelled) before `cutoff`,
/// at most `limit` of them, each with its attempts; then the events of the window created before
/// `cutoff` that no delivery names any more (events without a subscription never had one). One
/// transaction, so a delivery never outlives its event nor an attempt its delivery, whenever the
/// walk stops. A window with more finished deliveries than `limit` is walked again (its events
/// go with the last of them). A dead delivery's `next_attempt_at` is the time it died, a delivered
/// one's the time it was delivered; a delivery is never older than its event, so the first young
/// event ends the walk.
pub async fn outbox(
    conn: &mut WriteConn,
    engine: Engine,
    cutoff: &str,
    after: i64,
    limit: i64,
) -> Result<Purged, DbError> {
    let lock = if engine == Engine::Postgres { " for update skip locked" } else { "" };
    let mut change = conn.begin().await?;
    let (last, more) = window(&mut change, "outbox_events", after, cutoff, limit).await?;
    let Some(last) = last else {
        change.commit().await?;
        return Ok(Purged::default());
    };
    let finished = change
        .fetch_all(
            &format!(
                "delete from webhook_deliveries where id in (\
                 select id from webhook_deliveries where event_id > $1 and event_id <= $2 and status <> 'pending' \
                 and next_attempt_at < $3 order by id limit $4{lock}) returning id"
            ),
            args![after, last, cutoff, limit],
        )
        .await?;
    let deliveries: Vec<Value> =
        finished.iter().map(|row| row.get::<i64>(0).map(Value::from)).collect::<Result<_, _>>()?;
    let gone = deliveries.len();
    let attempts = if deliveries.is_empty() {
        0
    } else {
        let list = (1..=gone).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ");
        change.execute(&format!("delete from delivery_attempts where delivery_id in ({list})"), deliveries).await?
    };
    let events = change
        .execute(
            "delete from outbox_events where id > $1 and id <= $2 and created_at < $3 \
             and not exists (select 1 from webhook_deliveries d where d.event_id = outbox_events.id)",
            args![after, last, cutoff],
        )
        .await?;
    change.commit().await?;
    let next = if gone as i64 >= limit { Some(after) } else { more.then_some(last) };
    Ok(Purged {
        rows: vec![("webhook_deliveries", gone as u64), ("delivery_attempts", attempts), ("outbox_events", events)],
        next: next.map(Cursor::Id),
    })
}
