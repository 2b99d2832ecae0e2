//! Stats for dashboards (design §8): `GET /api/v1/stats/pipeline` (the funnel pre-lead → lead →
//! customer, counted by SQL aggregates when asked) and `GET /api/v1/stats/traffic` (webhook
//! traffic per minute, hour or day). This module owns the traffic rollups: `traffic_minutes`, kept
//! up by folding the webhook log in id order ([`rollup`]) from the background task
//! `traffic_rollup` (every second) and once more before a traffic answer, so a webhook answered
//! a moment ago is counted; the state of that fold (`traffic_rollup_state`,
//! `traffic_rollup_gaps`); and the approximate percentiles read from its duration buckets
//! ([`histogram`]). Its routes answer bare JSON behind the admin token; its OpenAPI part is
//! [`openapi`].

pub mod api;
pub mod histogram;
pub mod pipeline;
pub mod rollup;
pub mod traffic;

pub use api::{openapi, router};

use std::time::Duration;

use crate::db::Db;
use crate::domain::StoreError;
use crate::tasks::Tasks;

/// How often the background task folds new log rows.
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

/// Starts the task `traffic_rollup` (see the module docs).
pub fn start(tasks: &Tasks, db: Db) {
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
