//! Retention (design §6, §10): keeps the database bounded. Owns two background tasks of the
//! application — `log_retention` deletes webhook log rows older than `CRM_LOG_RETENTION`, then
//! the traffic rollups of the minutes and hours before that; `outbox_retention` walks the outbox once,
//! deleting outgoing deliveries that finished more than `CRM_OUTBOX_RETENTION` ago with their
//! attempts, and then the events no delivery names any more — their settings, and the counter
//! `crm_retention_purged_rows_total{table}`.
//!
//! Rows go in small batches ([`BATCH_ROWS`] per transaction), each followed by a pause
//! [`PAUSE_FACTOR`] times as long as the batch took, so a purge of millions of rows takes about
//! a tenth of the write path's time and ingest goes on beside it. A run goes on until nothing
//! older than its cutoff is left, and stops between two batches when the service shuts down;
//! the next run starts the walk over, so what a stopped run left goes then.
//! Rows something still needs are kept whatever their age (see [`store`]). Freed pages are
//! reused by new rows (SQLite's free list, PostgreSQL's free space map), so the database stops
//! growing once the retention holds; `docs/decisions.md` says why no `VACUUM` runs.

pub mod settings;
pub mod store;

use std::time::{Duration, Instant};

use crate::db::{Db, DbError, Engine, WriteConn};
use crate::domain::time;
use crate::metrics::Metrics;
use crate::stats::rollup::{Rollup, HOURS, MINUTES};
use crate::tasks::{Shutdown, Tasks};
pub use settings::RetentionConfig;
use store::{Cursor, Purged};

/// Rows purged, by table.
pub const PURGED: &str = "crm_retention_purged_rows_total";
/// Rows deleted per transaction at most.
pub const BATCH_ROWS: i64 = 1000;
/// After a batch that took `t`, the purge waits `PAUSE_FACTOR × t` (at least [`MIN_PAUSE`]).
pub const PAUSE_FACTOR: u32 = 9;
pub const MIN_PAUSE: Duration = Duration::from_millis(20);

const TABLES: [&str; 6] =
    ["webhook_logs", "traffic_minutes", "traffic_hours", "webhook_deliveries", "delivery_attempts", "outbox_events"];

/// Starts the purge tasks whose retention is not `0`.
pub fn start(tasks: &Tasks, db: &Db, config: RetentionConfig) {
    let purger = Purger { db: db.clone(), metrics: tasks.metrics().clone(), shutdown: tasks.shutdown_signal() };
    tasks.metrics().describe_counter(PURGED, "Rows deleted by retention, by table.");
    for table in TABLES {
        purger.count(table, 0);
    }
    if !config.logs.is_zero() {
        let purger = purger.clone();
        tasks.spawn_periodic("log_retention", config.every, move || {
            let purger = purger.clone();
            async move { purger.run(&[Step::Logs, Step::Rollups(MINUTES), Step::Rollups(HOURS)], config.logs).await }
        });
    }
    if !config.outbox.is_zero() {
        tasks.spawn_periodic("outbox_retention", config.every, move || {
            let purger = purger.clone();
            async move { purger.run(&[Step::Outbox], config.outbox).await }
        });
    }
}

/// One walk through a table.
#[derive(Clone, Copy, Debug)]
enum Step {
    Logs,
    Rollups(Rollup),
    Outbox,
}

impl Step {
    fn first(self) -> Cursor {
        match self {
            Step::Logs | Step::Rollups(_) => Cursor::CreatedAt(String::new()),
            Step::Outbox => Cursor::Id(0),
        }
    }

    async fn batch(self, conn: &mut WriteConn, engine: Engine, cutoff: &str, at: Cursor) -> Result<Purged, DbError> {
        match (self, at) {
            (Step::Logs, Cursor::CreatedAt(from)) => store::logs(conn, engine, cutoff, &from, BATCH_ROWS).await,
            (Step::Rollups(rollup), Cursor::CreatedAt(from)) => {
                store::rollups(conn, rollup, cutoff, &from, BATCH_ROWS).await
            }
            (Step::Outbox, Cursor::Id(after)) => store::outbox(conn, engine, cutoff, after, BATCH_ROWS).await,
            (step, at) => unreachable!("{step:?} does not walk by {at:?}"),
        }
    }
}

#[derive(Clone)]
struct Purger {
    db: Db,
    metrics: Metrics,
    shutdown: Shutdown,
}

impl Purger {
    fn count(&self, table: &'static str, rows: u64) {
        self.metrics.counter(PURGED, &[("table", table.to_string())]).increment(rows);
    }

    /// One run: each step in turn, batch after batch, until nothing older than `now − keep` is
    /// left or shutdown is asked for.
    async fn run(&self, steps: &[Step], keep: Duration) -> anyhow::Result<()> {
        let keep = chrono::Duration::from_std(keep)?;
        let cutoff = time::format(chrono::Utc::now() - keep);
        let mut shutdown = self.shutdown.clone();
        for &step in steps {
            let mut at = step.first();
            let mut total = 0;
            loop {
                let (engine, cutoff) = (self.db.engine(), cutoff.clone());
                let (purged, took) = self
                    .db
                    .write(move |conn| {
                        Box::pin(async move {
                            let started = Instant::now();
                            let purged = step.batch(conn, engine, &cutoff, at).await?;
                            Ok((purged, started.elapsed()))
                        })
                    })
                    .await?;
                for (table, rows) in purged.rows {
                    self.count(table, rows);
                    total += rows;
                }
                let Some(next) = purged.next else { break };
                at = next;
                let pause = (took * PAUSE_FACTOR).max(MIN_PAUSE);
                tokio::select! {
                    biased;
                    () = shutdown.requested() => return Ok(()),
                    () = tokio::time::sleep(pause) => {}
                }
            }
            if total > 0 {
                tracing::info!(?step, rows = total, %cutoff, "retention purged old rows");
            }
        }
        Ok(())
    }
}
