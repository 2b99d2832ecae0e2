//! Retention's batches: each deletes at most its limit and says where the next one starts; on
//! SQLite the pages freed by a purge are reused, so the file stops growing once retention holds.

use crm_webhooks::db::{Db, DbError, Engine as DbEngine, WriteConn};
use crm_webhooks::retention::store::{self, Cursor, Purged};
use crm_webhooks::Config;
use futures_util::future::BoxFuture;

use crate::helpers::{fresh_database, Engine, TestDatabase};
use crate::on_both_engines;
use crate::retention::{days_ago, delivery, event, log_row};

/// A migrated database of its own; the PostgreSQL one is dropped with the guard.
async fn database(engine: Engine) -> Option<(Db, TestDatabase)> {
    let database = fresh_database(engine).await?;
    let db = Db::connect(&Config::for_database(database.url.clone())).await.expect("migrate");
    Some((db, database))
}

type Batch = for<'c> fn(&'c mut WriteConn, DbEngine, Cursor, String) -> BoxFuture<'c, Result<Purged, DbError>>;

async fn batch(db: &Db, run: Batch, at: Cursor) -> Purged {
    let (engine, cutoff) = (db.engine(), days_ago(30));
    db.write(move |conn| Box::pin(async move { Ok(run(conn, engine, at, cutoff).await?) })).await.unwrap()
}

/// A batch of at most 10 log rows.
fn logs(conn: &mut WriteConn, engine: DbEngine, at: Cursor, cutoff: String) -> BoxFuture<'_, Result<Purged, DbError>> {
    Box::pin(async move {
        let Cursor::CreatedAt(from) = at else { unreachable!("logs are walked by time") };
        store::logs(conn, engine, &cutoff, &from, 10).await
    })
}

/// A batch of at most 10 rows of the per-minute traffic rollup.
fn minutes(conn: &mut WriteConn, _: DbEngine, at: Cursor, cutoff: String) -> BoxFuture<'_, Result<Purged, DbError>> {
    Box::pin(async move {
        let Cursor::CreatedAt(from) = at else { unreachable!("rollups are walked by time") };
        store::rollups(conn, crm_webhooks::stats::rollup::MINUTES, &cutoff, &from, 10).await
    })
}

/// A batch of at most 10 rows of the per-hour traffic rollup.
fn hours(conn: &mut WriteConn, _: DbEngine, at: Cursor, cutoff: String) -> BoxFuture<'_, Result<Purged, DbError>> {
    Box::pin(async move {
        let Cursor::CreatedAt(from) = at else { unreachable!("rollups are walked by time") };
        store::rollups(conn, crm_webhooks::stats::rollup::HOURS, &cutoff, &from, 10).await
    })
}

/// A batch of the outbox walk over a window of 10 events.
fn outbox(
    conn: &mut WriteConn,
    engine: DbEngine,
    at: Cursor,
    cutoff: String,
) -> BoxFuture<'_, Result<Purged, DbError>> {
    Box::pin(async move {
        let Cursor::Id(after) = at else { unreachable!("the outbox is walked by id") };
        store::outbox(conn, engine, &cutoff, after, 10).await
    })
}

/// Batches from `start` until one says the run is over: the rows each batch deleted, by table.
async fn walk(db: &Db, run: Batch, start: Cursor) -> Vec<Vec<u64>> {
    let (mut at, mut sizes) = (start, Vec::new());
    loop {
        let purged = batch(db, run, at).await;
        sizes.push(purged.rows.iter().map(|(_, rows)| *rows).collect());
        match purged.next {
            Some(next) => at = next,
            None => return sizes,
        }
    }
}

/// Folds every log row into the traffic rollups, as the `traffic_rollup` task does.
async fn fold_all(db: &Db) {
    loop {
        let folded = db
            .write(|conn| {
                Box::pin(async move { Ok(crm_webhooks::stats::rollup::fold(conn, chrono::Utc::now()).await?) })
            })
            .await
            .unwrap();
        if !folded.more {
            return;
        }
    }
}

async fn count(db: &Db, sql: &'static str) -> i64 {
    db.write(move |conn| Box::pin(async move { Ok(conn.fetch_one(sql, Vec::new()).await?.get::<i64>(0)?) }))
        .await
        .unwrap()
}

async fn a_batch_deletes_at_most_its_limit(engine: Engine) {
    let Some((db, _guard)) = database(engine).await else { return };
    for days in 31..56 {
        log_row(&db, "incoming", days).await;
        event(&db, days).await;
    }
    for _ in 0..3 {
        log_row(&db, "incoming", 1).await;
        event(&db, 1).await;
    }
    for _ in 0..12 {
        delivery(&db, "delivered", 40, 40).await;
    }
    // Logs: oldest first, 10 at a time, each batch resuming where the previous one stopped.
    fold_all(&db).await;
    // 25 seeded + 12 delivered attempts' log rows are older than 30 days.
    assert_eq!(walk(&db, logs, Cursor::CreatedAt(String::new())).await, vec![vec![10], vec![10], vec![10], vec![7]]);
    assert_eq!(count(&db, "select count(*) from webhook_logs").await, 3);

    // The outbox in event id order: 25 old events, 3 young ones, then 12 old ones each with a
    // delivery that finished long ago. A window's finished deliveries go with their attempts, then
    // its old events that no delivery names; the window holding a young event ends the run.
    assert_eq!(walk(&db, outbox, Cursor::Id(0)).await, vec![vec![0, 0, 10], vec![0, 0, 10], vec![2, 2, 7]]);
    assert_eq!(count(&db, "select count(*) from outbox_events").await, 13);
    // Each next run starts over and gets one window further.
    assert_eq!(walk(&db, outbox, Cursor::Id(0)).await, vec![vec![7, 7, 7]]);
    assert_eq!(walk(&db, outbox, Cursor::Id(0)).await, vec![vec![3, 3, 3]]);
    assert_eq!(count(&db, "select count(*) from outbox_events").await, 3);
    assert_eq!(count(&db, "select count(*) from webhook_deliveries").await, 0);
    assert_eq!(count(&db, "select count(*) from delivery_attempts").await, 0);
    db.close().await;
}

/// An outbox event of 40 days ago with `finished` deliveries delivered 40 days ago and one still
/// pending, each with an attempt.
async fn fanned_out_event(db: &Db, finished: usize) {
    let event_id = event(db, 40).await;
    let old = days_ago(40);
    db.write(move |conn| {
        Box::pin(async move {
            for n in 0..=finished {
                let status = if n < finished { "delivered" } else { "pending" };
                let delivery = conn
                    .fetch_one(
                        "insert into webhook_deliveries (subscription_id, event_id, event_type, status, attempts, \
                         next_attempt_at, created_at) values ($1, $2, 'lead.created', $3, 1, $4, $4) returning id",
                        crm_webhooks::args![n as i64 + 1, event_id, status, old.clone()],
                    )
                    .await?
                    .get::<i64>(0)?;
                conn.execute(
                    "insert into delivery_attempts (delivery_id, attempt, started_at, duration_ms) values ($1, 1, $2, 2.5)",
                    crm_webhooks::args![delivery, old.clone()],
                )
                .await?;
            }
            Ok(())
        })
    })
    .await
    .unwrap();
}

async fn an_event_with_more_finished_deliveries_than_a_batch_is_walked_again(engine: Engine) {
    let Some((db, _guard)) = database(engine).await else { return };
    fanned_out_event(&db, 12).await;
    // Ten deliveries, then the same window again for the other two; the pending one keeps its event.
    assert_eq!(walk(&db, outbox, Cursor::Id(0)).await, vec![vec![10, 10, 0], vec![2, 2, 0]]);
    assert_eq!(count(&db, "select count(*) from webhook_deliveries where status = 'pending'").await, 1);
    assert_eq!(count(&db, "select count(*) from webhook_deliveries").await, 1);
    assert_eq!(count(&db, "select count(*) from delivery_attempts").await, 1);
    assert_eq!(count(&db, "select count(*) from outbox_events").await, 1);
    db.close().await;
}

/// A log row with the given id, created 40 days ago.
async fn old_row_with_id(db: &Db, id: i64) {
    let created = days_ago(40);
    db.write(move |conn| {
        Box::pin(async move {
            conn.execute(
                "insert into webhook_logs (id, direction, method, path, request_headers, response_status, \
                 is_successful, duration_ms, created_at, processed_at) \
                 values ($1, 'incoming', 'POST', '/seeded', '{}', 200, $2, 1.5, $3, $3)",
                crm_webhooks::args![id, true, created],
            )
            .await?;
            Ok(())
        })
    })
    .await
    .unwrap();
}

async fn purge_logs(db: &Db) -> u64 {
    batch(db, logs, Cursor::CreatedAt(String::new())).await.rows[0].1
}

async fn rows_the_traffic_rollup_has_not_counted_stay(engine: Engine) {
    let Some((db, _guard)) = database(engine).await else { return };
    for _ in 0..3 {
        log_row(&db, "incoming", 40).await;
    }
    assert_eq!(purge_logs(&db).await, 0, "nothing is folded yet");
    fold_all(&db).await;
    assert_eq!(purge_logs(&db).await, 3);
    // Id 10 is folded past a gap 4..9; id 6, committed late inside the gap, is not counted yet.
    old_row_with_id(&db, 10).await;
    fold_all(&db).await;
    old_row_with_id(&db, 6).await;
    assert_eq!(purge_logs(&db).await, 1, "id 10 goes");
    assert_eq!(count(&db, "select count(*) from webhook_logs where id = 6").await, 1, "id 6 waits for the fold");
    fold_all(&db).await;
    assert_eq!(purge_logs(&db).await, 1, "counted now, id 6 goes too");
    assert_eq!(count(&db, "select count(*) from webhook_logs").await, 0);
    db.close().await;
}

async fn rollups_go_in_batches_oldest_first_up_to_the_cutoff(engine: Engine) {
    let Some((db, _guard)) = database(engine).await else { return };
    // 25 old minutes and hours, one rollup row each; the young rows' minute and hour stay.
    for days in 31..56 {
        log_row(&db, "incoming", days).await;
    }
    for _ in 0..3 {
        log_row(&db, "incoming", 1).await;
    }
    fold_all(&db).await;
    let young = (
        count(&db, "select count(*) from traffic_minutes").await - 25,
        count(&db, "select count(*) from traffic_hours").await - 25,
    );
    let walks: [(Batch, &str); 2] = [(minutes, "traffic_minutes"), (hours, "traffic_hours")];
    for (rollup, table) in walks {
        let mut at = Cursor::CreatedAt(String::new());
        let (mut sizes, mut resumed) = (Vec::new(), Vec::new());
        loop {
            let purged = batch(&db, rollup, at).await;
            assert_eq!(purged.rows[0].0, table);
            sizes.push(purged.rows[0].1);
            match purged.next {
                Some(Cursor::CreatedAt(period)) => {
                    resumed.push(period.clone());
                    at = Cursor::CreatedAt(period);
                }
                Some(Cursor::Id(_)) => unreachable!("walked by time"),
                None => break,
            }
        }
        assert_eq!(sizes, vec![10, 10, 5], "{table}");
        // Each batch resumes where the previous one stopped, later each time.
        assert!(resumed.len() == 2 && resumed[0] < resumed[1], "{table}: {resumed:?}");
    }
    assert_eq!(count(&db, "select count(*) from traffic_minutes").await, young.0);
    assert_eq!(count(&db, "select count(*) from traffic_hours").await, young.1);
    assert_eq!(count(&db, "select count(*) from webhook_logs").await, 28, "the log rows have their own batches");
    db.close().await;
}

on_both_engines!(
    a_batch_deletes_at_most_its_limit,
    an_event_with_more_finished_deliveries_than_a_batch_is_walked_again,
    rows_the_traffic_rollup_has_not_counted_stay,
    rollups_go_in_batches_oldest_first_up_to_the_cutoff,
);

/// The pages a purge frees are taken by the rows written after it: the file does not grow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_reuses_the_pages_a_purge_freed() {
    let (db, _guard) = database(Engine::Sqlite).await.unwrap();
    let fill = |days: i64| {
        let db = db.clone();
        async move {
            let created = days_ago(days);
            db.write(move |conn| {
                Box::pin(async move {
                    for n in 0..2000 {
                        conn.execute(
                            "insert into webhook_logs (direction, event, method, path, request_headers, request_body, \
                             response_status, is_successful, duration_ms, created_at, processed_at) \
                             values ('incoming', 'new_lead', 'POST', '/seeded', '{}', $1, 200, $2, 1.5, $3, $3)",
                            crm_webhooks::args![format!("{n:06}").repeat(300), true, created.clone()],
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .await
            .unwrap()
        }
    };
    let pages = || count(&db, "select page_count from pragma_page_count()");
    fill(40).await;
    let full = pages().await;
    fold_all(&db).await;
    walk(&db, logs, Cursor::CreatedAt(String::new())).await;
    assert_eq!(count(&db, "select count(*) from webhook_logs").await, 0);
    assert!(count(&db, "select freelist_count from pragma_freelist_count()").await > 0);
    fill(1).await;
    // Without the purge the file would double; with it, page boundaries fall a little differently.
    let after = pages().await;
    assert!(after <= full + full / 100, "the file grew from {full} to {after} pages");
    db.close().await;
}
