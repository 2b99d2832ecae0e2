//! The fold of the webhook log into per-minute rollups (`traffic_minutes`): one row per minute,
//! direction, event, source, status and duration bucket, counting requests; the same counts are
//! added per hour (`traffic_hours`), which the traffic answers by hour and by day read. It reads log rows in
//! id order from the place it stopped (`traffic_rollup_state.folded_id`), a bounded batch per
//! transaction, and keeps every id it passed that was missing (`traffic_rollup_gaps`): on
//! PostgreSQL a request that took its id earlier can commit later than one that took a higher id,
//! so a missing id is looked for again at every fold, and counted when it appears, until it is
//! older than [`GAP_HORIZON`] (then it was rolled back: ids are not given back). On SQLite ids are
//! given in commit order and no gap stays open.
//!
//! Folds run in the write path (the SQLite writer, or a PostgreSQL transaction); the first
//! statement of each takes the state row's lock, so two instances never fold the same rows.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::histogram::duration_bucket;
use crate::args;
use crate::db::columns::value_rows;
use crate::db::{DbError, Fetch, Row, Value, WriteConn};
use crate::domain::time;

/// Log rows read per fold transaction (a few milliseconds of the writer).
pub const BATCH: i64 = 5000;
/// How long an id missing below the fold's place is looked for. A log row is committed within
/// milliseconds of taking its id; one that has not appeared after this was rolled back.
pub const GAP_HORIZON: Duration = Duration::from_secs(600);
/// Longest event and source names kept in a rollup row (the log keeps the whole text).
const MAX_NAME_CHARS: usize = 100;
/// Rows per multi-row upsert statement.
const UPSERT_CHUNK: usize = 50;

const LOG_COLUMNS: &str = "l.id as id, l.created_at as created_at, l.direction as direction, l.event as event, \
     l.source as source, l.response_status as response_status, l.duration_ms as duration_ms";

/// A rollup table: its name, its time column, and the start of the period a stored time is in.
#[derive(Clone, Copy, Debug)]
pub struct Rollup {
    pub table: &'static str,
    pub column: &'static str,
    pub period_of: fn(&str) -> String,
}

/// Counts per minute.
pub const MINUTES: Rollup = Rollup { table: "traffic_minutes", column: "minute", period_of: minute_of };
/// The same counts per hour.
pub const HOURS: Rollup = Rollup { table: "traffic_hours", column: "hour", period_of: hour_of };

/// The key of one rollup row (`minute` holds the start of its minute or hour).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    minute: String,
    direction: String,
    event: String,
    source: String,
    status: i64,
    bucket: i64,
}

/// What one fold did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Folded {
    /// Log rows counted (new ones and late ones found in gaps).
    pub rows: u64,
    /// A full batch was read: more rows may be waiting.
    pub more: bool,
}

/// A gap of missing ids, `first..=last`, first seen at `seen_at`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Gap {
    first: i64,
    last: i64,
    seen_at: String,
}

/// Folds at most one batch of new log rows, and every late row found in a known gap, into the
/// rollups, in one transaction.
pub async fn fold(conn: &mut WriteConn, now: DateTime<Utc>) -> Result<Folded, DbError> {
    let now_text = time::format(now);
    let mut tx = conn.begin().await?;
    // Taking the state row's lock first: a second folder waits here, then sees this one's work.
    tx.execute("update traffic_rollup_state set updated_at = $1 where id = 1", args![now_text.clone()]).await?;
    let folded_id: i64 =
        tx.fetch_one("select folded_id from traffic_rollup_state where id = 1", args![]).await?.get(0)?;
    let mut counts: BTreeMap<Key, i64> = BTreeMap::new();
    let mut rows = 0;

    let gaps = load_gaps(&mut tx).await?;
    if !gaps.is_empty() {
        let sql = format!(
            "select {LOG_COLUMNS} from webhook_logs l join traffic_rollup_gaps g \
             on l.id >= g.first_id and l.id <= g.last_id order by l.id"
        );
        let late = tx.fetch_all(&sql, args![]).await?;
        let mut found = BTreeSet::new();
        for row in &late {
            found.insert(row.get::<i64>("id")?);
            count(&mut counts, row)?;
        }
        rows += late.len() as u64;
        let expired_before = time::format(now - chrono::Duration::from_std(GAP_HORIZON).unwrap_or_default());
        for gap in &gaps {
            let pieces = split(gap, &found);
            let expired = gap.seen_at < expired_before;
            if pieces.len() == 1 && pieces[0] == *gap && !expired {
                continue;
            }
            tx.execute("delete from traffic_rollup_gaps where first_id = $1", args![gap.first]).await?;
            if !expired {
                for piece in pieces {
                    insert_gap(&mut tx, &piece).await?;
                }
            }
        }
    }

    let sql = format!("select {LOG_COLUMNS} from webhook_logs l where l.id > $1 order by l.id limit $2");
    let new = tx.fetch_all(&sql, args![folded_id, BATCH]).await?;
    let mut previous = folded_id;
    for row in &new {
        let id: i64 = row.get("id")?;
        if id > previous + 1 {
            insert_gap(&mut tx, &Gap { first: previous + 1, last: id - 1, seen_at: now_text.clone() }).await?;
        }
        previous = id;
        count(&mut counts, row)?;
    }
    rows += new.len() as u64;
    let mut hours: BTreeMap<Key, i64> = BTreeMap::new();
    for (key, n) in &counts {
        *hours.entry(Key { minute: hour_of(&key.minute), ..key.clone() }).or_insert(0) += n;
    }
    upsert(&mut tx, MINUTES, &counts).await?;
    upsert(&mut tx, HOURS, &hours).await?;
    if previous > folded_id {
        tx.execute("update traffic_rollup_state set folded_id = $1 where id = 1", args![previous]).await?;
    }
    tx.commit().await?;
    Ok(Folded { rows, more: new.len() as i64 == BATCH })
}

/// Whether a fold has anything to do: log rows past the fold's place, or gaps to look into.
/// Read through the pool, so that an idle dashboard costs no write.
pub async fn pending(reader: &mut (impl Fetch + ?Sized)) -> Result<bool, DbError> {
    let rows = reader
        .fetch_rows(
            "select (select folded_id from traffic_rollup_state where id = 1) as folded_id, \
             (select max(id) from webhook_logs) as newest, \
             (select count(*) from traffic_rollup_gaps) as gaps",
            args![],
        )
        .await?;
    let Some(row) = rows.first() else { return Ok(false) };
    let folded: i64 = row.get::<Option<i64>>("folded_id")?.unwrap_or(0);
    let newest: i64 = row.get::<Option<i64>>("newest")?.unwrap_or(0);
    Ok(newest > folded || row.get::<i64>("gaps")? > 0)
}

async fn load_gaps(conn: &mut WriteConn) -> Result<Vec<Gap>, DbError> {
    let rows =
        conn.fetch_all("select first_id, last_id, seen_at from traffic_rollup_gaps order by first_id", args![]).await?;
    rows.iter().map(|row| Ok(Gap { first: row.get(0)?, last: row.get(1)?, seen_at: row.get(2)? })).collect()
}

async fn insert_gap(conn: &mut WriteConn, gap: &Gap) -> Result<(), DbError> {
    conn.execute(
        "insert into traffic_rollup_gaps (first_id, last_id, seen_at) values ($1, $2, $3)",
        args![gap.first, gap.last, gap.seen_at.clone()],
    )
    .await?;
    Ok(())
}

/// What is left of `gap` once the ids in `found` are taken out of it.
fn split(gap: &Gap, found: &BTreeSet<i64>) -> Vec<Gap> {
    let mut pieces = Vec::new();
    let mut start = gap.first;
    for &id in found.range(gap.first..=gap.last) {
        if id > start {
            pieces.push(Gap { first: start, last: id - 1, seen_at: gap.seen_at.clone() });
        }
        start = id + 1;
    }
    if start <= gap.last {
        pieces.push(Gap { first: start, last: gap.last, seen_at: gap.seen_at.clone() });
    }
    pieces
}

/// Adds one log row to the counts.
fn count(counts: &mut BTreeMap<Key, i64>, row: &Row) -> Result<(), DbError> {
    let created: String = row.get("created_at")?;
    let key = Key {
        minute: minute_of(&created),
        direction: row.get("direction")?,
        event: short(row.get::<Option<String>>("event")?),
        source: short(row.get::<Option<String>>("source")?),
        status: row.get("response_status")?,
        bucket: duration_bucket(row.get("duration_ms")?),
    };
    *counts.entry(key).or_insert(0) += 1;
    Ok(())
}

/// The stored minute of a stored time: `2024-01-20T14:07:31.250000Z` → `2024-01-20T14:07:00.000000Z`.
pub fn minute_of(at: &str) -> String {
    let head: String = at.chars().take(16).collect();
    format!("{head}:00.000000Z")
}

/// The stored hour of a stored time: `2024-01-20T14:07:31.250000Z` → `2024-01-20T14:00:00.000000Z`.
pub fn hour_of(at: &str) -> String {
    let head: String = at.chars().take(13).collect();
    format!("{head}:00:00.000000Z")
}

/// An absent name is stored as the empty text (part of the key); a long one is cut.
fn short(name: Option<String>) -> String {
    name.map(|n| n.chars().take(MAX_NAME_CHARS).collect()).unwrap_or_default()
}

/// Adds `counts` to the rollups of `rollup`: in statements of [`UPSERT_CHUNK`] rows, the rest one
/// by one (so that only two statement texts per table are ever prepared).
async fn upsert(conn: &mut WriteConn, rollup: Rollup, counts: &BTreeMap<Key, i64>) -> Result<(), DbError> {
    let entries: Vec<(&Key, &i64)> = counts.iter().collect();
    let mut chunks = entries.chunks_exact(UPSERT_CHUNK);
    let full_sql = upsert_sql(rollup, UPSERT_CHUNK);
    for chunk in chunks.by_ref() {
        conn.execute(&full_sql, upsert_args(chunk)).await?;
    }
    let single_sql = upsert_sql(rollup, 1);
    for entry in chunks.remainder() {
        conn.execute(&single_sql, upsert_args(std::slice::from_ref(entry))).await?;
    }
    Ok(())
}

fn upsert_sql(rollup: Rollup, rows: usize) -> String {
    let Rollup { table, column, .. } = rollup;
    format!(
        "insert into {table} ({column}, direction, event, source, response_status, duration_bucket, requests) \
         values {} on conflict ({column}, direction, event, source, response_status, duration_bucket) \
         do update set requests = {table}.requests + excluded.requests",
        value_rows(rows, 7)
    )
}

fn upsert_args(entries: &[(&Key, &i64)]) -> Vec<Value> {
    let mut args = Vec::with_capacity(entries.len() * 7);
    for (key, n) in entries {
        args.extend(args![
            key.minute.clone(),
            key.direction.clone(),
            key.event.clone(),
            key.source.clone(),
            key.status,
            key.bucket,
            **n
        ]);
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gap(first: i64, last: i64) -> Gap {
        Gap { first, last, seen_at: "t".into() }
    }

    #[test]
    fn found_ids_are_taken_out_of_a_gap() {
        let found: BTreeSet<i64> = [3, 5, 6, 9, 20].into_iter().collect();
        assert_eq!(split(&gap(3, 9), &found), vec![gap(4, 4), gap(7, 8)]);
        assert_eq!(split(&gap(10, 12), &found), vec![gap(10, 12)]);
        assert_eq!(split(&gap(5, 6), &found), vec![]);
    }

    #[test]
    fn a_time_falls_in_its_minute() {
        assert_eq!(minute_of("2024-01-20T14:07:31.250000Z"), "2024-01-20T14:07:00.000000Z");
        assert_eq!(hour_of("2024-01-20T14:07:31.250000Z"), "2024-01-20T14:00:00.000000Z");
        assert_eq!(hour_of(&minute_of("2024-01-20T14:59:59.999999Z")), "2024-01-20T14:00:00.000000Z");
    }

    #[test]
    fn upserts_number_every_value() {
        let sql = upsert_sql(MINUTES, 2);
        assert!(sql.contains("values ($1, $2, $3, $4, $5, $6, $7), ($8, $9, $10, $11, $12, $13, $14) on conflict"));
        assert!(upsert_sql(HOURS, 1).starts_with("insert into traffic_hours (hour, direction"));
    }
}
