//! Retention's batches: each deletes at most its limit and says where the next one starts; on
//! SQLite the pages freed by a purge are reused, so the file stops growing once retention holds.

use crm_webhooks::db::{Db, DbError, WriteConn};
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

type Batch = for<'c> fn(&'c mut WriteConn, Cursor, String) -> BoxFuture<'c, Result<Purged, DbError>>;

async fn batch(db: &Db, run: Batch, at: Cursor) -> Purged {
    let cutoff = days_ago(30);
    db.write(move |conn| Box::pin(async move { Ok(run(conn, at, cutoff).await?) })).await.unwrap()
}

fn logs_of(engine: crm_webhooks::db::Engine) -> Batch {
    match engine {
        crm_webhooks::db::Engine::Sqlite => |conn, at, cutoff| {
            Box::pin(async move {
                let Cursor::CreatedAt(from) = at else { unreachable!() };
                store::logs(conn, crm_webhooks::db::Engine::Sqlite, &cutoff, &from, 10).await
            })
        },
        crm_webhooks::db::Engine::Postgres => |conn, at, cutoff| {
            Box::pin(async move {
                let Cursor::CreatedAt(from) = at else { unreachable!() };
                store::logs(conn, crm_webhooks::db::Engine::Postgres, &cutoff, &from, 10).await
            })
        },
    }
}

fn by_id(at: Cursor) -> i64 {
    match at {
        Cursor::Id(id) => id,
        Cursor::CreatedAt(_) => unreachable!("walked by id"),
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
    let logs = logs_of(db.engine());
    let mut at = Cursor::CreatedAt(String::new());
    let mut sizes = Vec::new();
    loop {
        let purged = batch(&db, logs, at).await;
        sizes.push(purged.rows[0].1);
        match purged.next {
            Some(next) => at = next,
            None => break,
        }
    }
    // 25 seeded + 12 delivered attempts' log rows are older than 30 days.
    assert_eq!(sizes, vec![10, 10, 10, 7]);
    assert_eq!(count(&db, "select count(*) from webhook_logs").await, 3);

    // Deliveries: a window of 10 ids, then the 2 left; attempts go with them.
    let deliveries: Batch =
        |conn, at, cutoff| Box::pin(async move { store::deliveries(conn, by_id(at), &cutoff, 10).await });
    let first = batch(&db, deliveries, Cursor::Id(0)).await;
    assert_eq!(first.rows, vec![("webhook_deliveries", 10), ("delivery_attempts", 10)]);
    let second = batch(&db, deliveries, first.next.expect("a full window goes on")).await;
    assert_eq!(second.rows, vec![("webhook_deliveries", 2), ("delivery_attempts", 2)]);
    assert_eq!(second.next, None);

    // Events in id order: 25 old, 3 young, then the 12 old ones whose deliveries just went. A
    // window's old events go; the window holding a young one ends the run.
    let events: Batch = |conn, at, cutoff| Box::pin(async move { store::events(conn, by_id(at), &cutoff, 10).await });
    let mut at = Cursor::Id(0);
    let mut sizes = Vec::new();
    loop {
        let purged = batch(&db, events, at).await;
        sizes.push(purged.rows[0].1);
        match purged.next {
            Some(next) => at = next,
            None => break,
        }
    }
    assert_eq!(sizes, vec![10, 10, 7]);
    assert_eq!(count(&db, "select count(*) from outbox_events").await, 13);
    // The next run starts over and gets one window further.
    let next_run = batch(&db, events, Cursor::Id(0)).await;
    assert_eq!((next_run.rows, next_run.next), (vec![("outbox_events", 7)], None));
    assert_eq!(count(&db, "select count(*) from outbox_events").await, 6);
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
    batch(db, logs_of(db.engine()), Cursor::CreatedAt(String::new())).await.rows[0].1
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

async fn rollups_go_in_batches_oldest_first_up_to_the_cutoff_minute(engine: Engine) {
    let Some((db, _guard)) = database(engine).await else { return };
    // 25 old minutes, one rollup row each; the young rows' minute stays.
    for days in 31..56 {
        log_row(&db, "incoming", days).await;
    }
    for _ in 0..3 {
        log_row(&db, "incoming", 1).await;
    }
    fold_all(&db).await;
    let young = count(&db, "select count(*) from traffic_minutes").await - 25;
    let rollups: Batch = |conn, at, cutoff| {
        Box::pin(async move {
            let Cursor::CreatedAt(from) = at else { unreachable!() };
            store::rollups(conn, &cutoff, &from, 10).await
        })
    };
    let mut at = Cursor::CreatedAt(String::new());
    let mut sizes = Vec::new();
    let mut minutes = Vec::new();
    loop {
        let purged = batch(&db, rollups, at).await;
        sizes.push(purged.rows[0].1);
        match purged.next {
            Some(Cursor::CreatedAt(minute)) => {
                minutes.push(minute.clone());
                at = Cursor::CreatedAt(minute);
            }
            Some(Cursor::Id(_)) => unreachable!("walked by minute"),
            None => break,
        }
    }
    assert_eq!(sizes, vec![10, 10, 5]);
    // Each batch resumes at the minute where the previous one stopped, later each time.
    assert!(minutes.len() == 2 && minutes[0] < minutes[1], "{minutes:?}");
    assert_eq!(count(&db, "select count(*) from traffic_minutes").await, young);
    assert_eq!(count(&db, "select count(*) from webhook_logs").await, 28, "the log rows have their own batches");
    db.close().await;
}

on_both_engines!(
    a_batch_deletes_at_most_its_limit,
    rows_the_traffic_rollup_has_not_counted_stay,
    rollups_go_in_batches_oldest_first_up_to_the_cutoff_minute,
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
    let logs = logs_of(db.engine());
    let mut at = Cursor::CreatedAt(String::new());
    while let Some(next) = batch(&db, logs, at).await.next {
        at = next;
    }
    assert_eq!(count(&db, "select count(*) from webhook_logs").await, 0);
    assert!(count(&db, "select freelist_count from pragma_freelist_count()").await > 0);
    fill(1).await;
    // Without the purge the file would double; with it, page boundaries fall a little differently.
    let after = pages().await;
    assert!(after <= full + full / 100, "the file grew from {full} to {after} pages");
    db.close().await;
}
