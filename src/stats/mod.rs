//! Stats for dashboards (design §8): `GET /api/v1/stats/pipeline` (the funnel pre-lead → lead →
//! customer) and `GET /api/v1/stats/traffic` (webhook traffic per minute, hour or day). This
//! module owns what they read, kept up so that neither scans a large table when asked:
//! - the pipeline counts ([`deltas`]): `pipeline_counts` and `pipeline_deltas`, which triggers on
//!   the record tables write in the transaction of each change, moved into the counts by the task
//!   `pipeline_fold` (every second); the answer adds the deltas not yet moved, so it is exact
//!   (after a large fold, PostgreSQL's table of deltas is vacuumed at once, see [`deltas::vacuum`]);
//! - the traffic rollups ([`rollup`]): `traffic_minutes`, folded from the webhook log in id order
//!   by the task `traffic_rollup` (every second) and once more before a traffic answer, so a
//!   webhook answered a moment ago is counted, with the fold's state (`traffic_rollup_state`,
//!   `traffic_rollup_gaps`) and the approximate percentiles of its duration buckets ([`histogram`]).
//!
//! Its routes answer bare JSON behind the admin token; its OpenAPI part is [`openapi`].

pub mod api;
pub mod deltas;
pub mod histogram;
pub mod pipeline;
pub mod rollup;
pub mod traffic;

pub use api::{openapi, router};

use std::time::Duration;

use crate::db::Db;
use crate::domain::StoreError;
use crate::tasks::Tasks;

/// How often the background tasks fold new log rows and pipeline deltas.
pub const FOLD_EVERY: Duration = Duration::from_secs(1);
/// Batches one run of the task folds at most (a backlog is caught up over several runs, so that
/// shutdown never waits long for one).
const BATCHES_PER_RUN: usize = 20;
/// Batches folded before a traffic answer at most; a larger backlog is left to the task.
pub const ON_DEMAND_BATCHES: usize = 4;
/// Log rows folded into the rollups.
pub const FOLDED_ROWS: &str = "crm_traffic_rollup_rows_total";

/// Folds new log rows (at most `max_batches` batches); returns the rows counted. Costs one read
/// when there is nothing to fold.
pub async fn catch_up(db: &Db, max_batches: usize) -> Result<u64, StoreError> {
    if !rollup::pending(&mut db.reader()).await? {
        return Ok(0);
    }
    let mut rows = 0;
    for _ in 0..max_batches {
        let folded =
            db.write(|conn| Box::pin(async move { Ok(rollup::fold(conn, chrono::Utc::now()).await?) })).await?;
        rows += folded.rows;
        if !folded.more {
            break;
        }
    }
    Ok(rows)
}

/// Starts the tasks `traffic_rollup` and `pipeline_fold` (see the module docs).
pub fn start(tasks: &Tasks, db: Db) {
    let pipeline_db = db.clone();
    tasks.spawn_periodic("pipeline_fold", FOLD_EVERY, move || {
        let db = pipeline_db.clone();
        async move {
            let mut moved = 0;
            for _ in 0..BATCHES_PER_RUN {
                if !deltas::pending(&mut db.reader()).await? {
                    break;
                }
                moved += db.write(|conn| Box::pin(async move { Ok(deltas::fold(conn).await?) })).await?;
            }
            if moved >= deltas::VACUUM_AFTER {
                deltas::vacuum(&db).await?;
            }
            Ok(())
        }
    });
    let metrics = tasks.metrics().clone();
    metrics.describe_counter(FOLDED_ROWS, "Webhook log rows folded into the per-minute traffic rollups.");
    let folded = metrics.counter(FOLDED_ROWS, &[]);
    folded.increment(0);
    tasks.spawn_periodic("traffic_rollup", FOLD_EVERY, move || {
        let (db, folded) = (db.clone(), folded.clone());
        async move {
            folded.increment(catch_up(&db, BATCHES_PER_RUN).await?);
            Ok(())
        }
    });
}
