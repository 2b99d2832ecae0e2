//! The write connection's transaction rules on each engine, through `Db::write` as the stores
//! use it: a nested change that is dropped or rolled back leaves nothing, an abandoned change
//! does not leak into the next job, and a unique violation is reported as such; and through
//! `Db::write_batch`: its changes are committed together, or none of them.

use crm_webhooks::args;
use crm_webhooks::db::{Db, WriteConn};
use crm_webhooks::domain::StoreError;
use crm_webhooks::Config;
use futures_util::future::BoxFuture;

use crate::helpers::{spawn_app, Engine};
use crate::on_both_engines;

async fn db_of(engine: Engine) -> Option<(crate::helpers::TestApp, Db)> {
    let app = spawn_app(engine).await?;
    let db = Db::connect(&Config::for_database(app.database_url.clone())).await.unwrap();
    Some((app, db))
}

async fn memo_count(db: &Db, title: &'static str) -> i64 {
    db.write(move |conn: &mut WriteConn| {
        Box::pin(async move {
            Ok(conn.fetch_one("select count(*) from memos where title = $1", args![title]).await?.get(0)?)
        })
    })
    .await
    .unwrap()
}

const INSERT_MEMO: &str = "insert into memos (entity_type, entity_id, title, content, memo_type, raw_payload, \
     created_at) values ('lead', 1, $1, 'c', 'general', '{}', '2026-01-01T00:00:00.000000Z')";

async fn a_dropped_change_rolls_back_and_the_next_job_starts_clean(engine: Engine) {
    let Some((_app, db)) = db_of(engine).await else { return };
    db.write(|conn: &mut WriteConn| {
        Box::pin(async move {
            let mut change = conn.begin().await?;
            change.execute(INSERT_MEMO, args!["dropped"]).await?;
            drop(change);
            // Outside the abandoned change, on the same connection: this one stays.
            conn.execute(INSERT_MEMO, args!["kept"]).await?;
            Ok(())
        })
    })
    .await
    .unwrap();
    db.write(|conn: &mut WriteConn| {
        Box::pin(async move {
            let change = conn.begin().await?;
            change.rollback().await?;
            let mut change = conn.begin().await?;
            change.execute(INSERT_MEMO, args!["committed"]).await?;
            change.commit().await?;
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(memo_count(&db, "dropped").await, 0);
    assert_eq!(memo_count(&db, "kept").await, 1);
    assert_eq!(memo_count(&db, "committed").await, 1);
    db.close().await;
}

async fn a_job_that_ends_with_its_change_open_commits_nothing_of_it(engine: Engine) {
    let Some((_app, db)) = db_of(engine).await else { return };
    // The job returns while its change is still open (an error path that forgot nothing but
    // `?`): the change must not be committed with anything that follows.
    let failed = db
        .write(|conn: &mut WriteConn| {
            Box::pin(async move {
                let mut change = conn.begin().await?;
                change.execute(INSERT_MEMO, args!["open"]).await?;
                change.fetch_one("select id from memos where id = -1", Vec::new()).await?;
                change.commit().await?;
                Ok(())
            })
        })
        .await;
    assert!(failed.is_err(), "fetch_one of no row is an error");
    for _ in 0..3 {
        db.write(|conn: &mut WriteConn| {
            Box::pin(async move {
                conn.execute(INSERT_MEMO, args!["after"]).await?;
                Ok(())
            })
        })
        .await
        .unwrap();
    }
    assert_eq!(memo_count(&db, "open").await, 0);
    assert_eq!(memo_count(&db, "after").await, 3);
    db.close().await;
}

async fn unique_violations_are_recognised_on_both_engines(engine: Engine) {
    let Some((_app, db)) = db_of(engine).await else { return };
    let insert = "insert into customers (customer_code, created_at, updated_at) values ($1, 'x', 'x')";
    let outcome = db
        .write(move |conn: &mut WriteConn| {
            Box::pin(async move {
                conn.execute(insert, args!["C-1"]).await?;
                let mut change = conn.begin().await?;
                let second = change.execute(insert, args!["C-1"]).await;
                let unique = matches!(&second, Err(err) if err.is_unique_violation());
                change.rollback().await?;
                // A statement error other than a unique violation is not mistaken for one.
                let other = conn.execute("insert into no_such_table values (1)", Vec::new()).await;
                Ok((unique, matches!(&other, Err(err) if !err.is_unique_violation())))
            })
        })
        .await
        .unwrap();
    assert_eq!(outcome, (true, true));
    db.close().await;
}

/// Two changes of one memo each, then an error if `fail`.
fn two_changes<'c>(conn: &'c mut WriteConn, title: &'static str, fail: bool) -> BoxFuture<'c, Result<(), StoreError>> {
    Box::pin(async move {
        for _ in 0..2 {
            let mut change = conn.begin().await?;
            change.execute(INSERT_MEMO, args![title]).await?;
            change.commit().await?;
        }
        if fail {
            return Err(StoreError::internal(anyhow::anyhow!("the job failed after its changes")));
        }
        Ok(())
    })
}

/// A batch of one change that stores the memo `title`, which is then found stored once.
async fn batch_of_one_memo(db: &Db, title: &'static str) {
    db.write_batch(move |conn: &mut WriteConn| {
        Box::pin(async move {
            let mut change = conn.begin().await?;
            change.execute(INSERT_MEMO, args![title]).await?;
            change.commit().await?;
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(memo_count(db, title).await, 1);
}

async fn a_batch_keeps_its_changes_together_or_none(engine: Engine) {
    let Some((_app, db)) = db_of(engine).await else { return };
    db.write_batch(|conn: &mut WriteConn| two_changes(conn, "batched", false)).await.unwrap();
    assert!(db.write_batch(|conn: &mut WriteConn| two_changes(conn, "undone", true)).await.is_err());
    assert_eq!(memo_count(&db, "batched").await, 2);
    assert_eq!(memo_count(&db, "undone").await, 0);
    db.close().await;
}

async fn a_batch_whose_row_is_refused_keeps_nothing(engine: Engine) {
    let Some((_app, db)) = db_of(engine).await else { return };
    // A memo row without its `created_at` is refused: at once on SQLite, at the commit on
    // PostgreSQL, which holds it until then. Either way the batch answers an error and keeps
    // nothing, not even the change committed before it.
    let refused = db
        .write_batch(|conn: &mut WriteConn| {
            Box::pin(async move {
                let mut change = conn.begin().await?;
                change.execute(INSERT_MEMO, args!["before the refused row"]).await?;
                change.commit().await?;
                let mut change = conn.begin().await?;
                let head = "insert into memos (entity_type, entity_id, title, created_at)".to_string();
                change.insert_later("memos", head, args!["lead", 1, "refused", None::<String>]).await?;
                change.commit().await?;
                Ok(())
            })
        })
        .await;
    assert!(refused.is_err(), "a row without created_at is refused");
    assert_eq!(memo_count(&db, "before the refused row").await, 0);
    assert_eq!(memo_count(&db, "refused").await, 0);
    // The next batch on the pool starts clean.
    batch_of_one_memo(&db, "after").await;
    db.close().await;
}

/// A change undone after a failed statement inside it: a batch's changes open no savepoint (the
/// delivery recorder's attempts), so on either engine the batch fails and keeps nothing.
async fn a_batch_whose_change_fails_inside(engine: Engine) {
    let Some((_app, db)) = db_of(engine).await else { return };
    let outcome = db
        .write_batch(|conn: &mut WriteConn| {
            Box::pin(async move {
                let mut change = conn.begin().await?;
                change.execute(INSERT_MEMO, args!["the change before"]).await?;
                change.commit().await?;
                let mut change = conn.begin().await?;
                change.execute(INSERT_MEMO, args!["the failed change"]).await?;
                let failed = change.execute("insert into no_such_table values (1)", Vec::new()).await;
                change.rollback().await?;
                Ok(failed.is_err())
            })
        })
        .await;
    assert!(outcome.is_err(), "the batch cannot undo the change alone");
    assert_eq!(memo_count(&db, "the change before").await, 0);
    assert_eq!(memo_count(&db, "the failed change").await, 0);
    // A change rolled back after it only read costs nothing: the batch keeps the others.
    db.write_batch(|conn: &mut WriteConn| {
        Box::pin(async move {
            let mut change = conn.begin().await?;
            change.execute(INSERT_MEMO, args!["kept"]).await?;
            change.commit().await?;
            let change = conn.begin().await?;
            change.rollback().await?;
            let mut change = conn.begin().await?;
            change.fetch_one("select count(*) from memos", Vec::new()).await?;
            change.rollback().await?;
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(memo_count(&db, "kept").await, 1);
    // A change rolled back after it wrote fails the batch too; the next one starts clean.
    let outcome = db
        .write_batch(|conn: &mut WriteConn| {
            Box::pin(async move {
                let mut change = conn.begin().await?;
                change.execute(INSERT_MEMO, args!["undone"]).await?;
                change.rollback().await?;
                Ok(())
            })
        })
        .await;
    assert!(outcome.is_err(), "a change undone after writing fails the batch");
    assert_eq!(memo_count(&db, "undone").await, 0);
    batch_of_one_memo(&db, "clean").await;
    db.close().await;
}

async fn a_batch_with_a_failed_statement_outside_its_changes(engine: Engine) {
    let Some((_app, db)) = db_of(engine).await else { return };
    let outcome = db
        .write_batch(|conn: &mut WriteConn| {
            Box::pin(async move {
                conn.execute(INSERT_MEMO, args!["beside the failure"]).await?;
                let failed = conn.execute("insert into no_such_table values (1)", Vec::new()).await;
                Ok(failed.is_err())
            })
        })
        .await;
    match engine {
        // The failed statement aborted PostgreSQL's transaction: the batch cannot commit.
        Engine::Postgres => {
            assert!(outcome.is_err(), "an aborted batch is an error");
            assert_eq!(memo_count(&db, "beside the failure").await, 0);
        }
        // SQLite undoes the failed statement alone.
        Engine::Sqlite => {
            assert!(outcome.unwrap(), "the statement failed");
            assert_eq!(memo_count(&db, "beside the failure").await, 1);
        }
    }
    db.close().await;
}

on_both_engines!(
    a_batch_keeps_its_changes_together_or_none,
    a_batch_whose_row_is_refused_keeps_nothing,
    a_batch_with_a_failed_statement_outside_its_changes,
    a_batch_whose_change_fails_inside,
    a_dropped_change_rolls_back_and_the_next_job_starts_clean,
    a_job_that_ends_with_its_change_open_commits_nothing_of_it,
    unique_violations_are_recognised_on_both_engines,
);
