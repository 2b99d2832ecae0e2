//! `Db::write_shared`, the write of every webhook: on PostgreSQL jobs share a batch transaction
//! (group commit), and a batch that cannot go on is rolled back and its jobs run again one by one.
//! Either way each job's change is stored once, and a job's failure stays its own. On SQLite the
//! same jobs go through the group-commit writer.

use std::sync::Arc;

use crm_webhooks::args;
use crm_webhooks::db::{Db, WriteConn};
use crm_webhooks::domain::StoreError;
use crm_webhooks::Config;
use futures_util::future::{maybe_done, BoxFuture};
use tokio::sync::{oneshot, Mutex};

use crate::helpers::{spawn_app, Engine};
use crate::on_both_engines;

const INSERT_MEMO: &str = "insert into memos (entity_type, entity_id, title, content, memo_type, raw_payload, \
     created_at) values ('lead', 1, $1, 'c', 'general', '{}', '2026-01-01T00:00:00.000000Z')";

/// How a job of the batch misbehaves after storing its memo.
#[derive(Clone, Copy, PartialEq)]
enum Then {
    Nothing,
    /// A statement that fails outside every savepoint (the batch transaction is aborted).
    FailsOutside,
    /// A statement run later (on PostgreSQL with the batch's commit) that fails.
    FailsLater,
    /// Its change is rolled back.
    RollsBack,
}

fn memo_job(conn: &mut WriteConn, (i, then): (i64, Then)) -> BoxFuture<'_, Result<i64, StoreError>> {
    Box::pin(async move {
        let mut change = conn.begin().await?;
        change.execute(INSERT_MEMO, args![format!("batch-{i}")]).await?;
        change.commit().await?;
        match then {
            Then::Nothing => {}
            Then::FailsOutside => {
                let failed = conn.execute("insert into no_such_table values (1)", Vec::new()).await;
                assert!(failed.is_err());
            }
            Then::FailsLater => conn.execute_later("insert into no_such_table values ($1)", args![i]).await?,
            Then::RollsBack => unreachable!("memo jobs commit"),
        }
        Ok(i)
    })
}

const MEMO_HEAD: &str =
    "insert into memos (entity_type, entity_id, title, content, memo_type, raw_payload, created_at)";

/// Holds its memo `held-i` back ([`WriteConn::insert_later`]: on PostgreSQL until the batch's
/// commit), then counts the held memos stored so far, in its own change; with `Then::RollsBack`
/// it rolls that change back after counting.
fn held_job(conn: &mut WriteConn, (i, then): (i64, Then)) -> BoxFuture<'_, Result<i64, StoreError>> {
    Box::pin(async move {
        let mut change = conn.begin().await?;
        let values = args!["lead", 1_i64, format!("held-{i}"), "c", "general", "{}", "2026-01-01T00:00:00.000000Z"];
        change.insert_later("memos", MEMO_HEAD.to_string(), values).await?;
        let seen: i64 =
            change.fetch_one("select count(*) from memos where title like 'held-%'", Vec::new()).await?.get(0)?;
        if then == Then::RollsBack {
            change.rollback().await?;
        } else {
            change.commit().await?;
        }
        Ok(seen)
    })
}

type Job = for<'c> fn(&'c mut WriteConn, (i64, Then)) -> BoxFuture<'c, Result<i64, StoreError>>;

/// Runs six memo jobs on one committer, queued behind a job that waits (PostgreSQL only; the
/// SQLite writer refuses a job that waits on anything else), so that they share a batch.
async fn six_jobs(db: &Db, engine: Engine, job: Job, odd_one: Then) -> Vec<Result<i64, StoreError>> {
    let (release, held) = oneshot::channel::<()>();
    let (started, running) = oneshot::channel::<()>();
    let blocker = (engine == Engine::Postgres).then(|| {
        let db = db.clone();
        let waits = Arc::new(Mutex::new(Some((started, held))));
        tokio::spawn(async move {
            db.write_shared(Some(7), waits, |_conn, waits| {
                Box::pin(async move {
                    if let Some((started, held)) = waits.lock().await.take() {
                        let _ = started.send(());
                        let _ = held.await;
                    }
                    Ok(())
                })
            })
            .await
        })
    });
    if blocker.is_some() {
        // The blocker runs: the six queue up behind it.
        running.await.expect("the blocker runs");
    }
    let jobs: Vec<_> = (1..=6)
        .map(|i| {
            let db = db.clone();
            let then = if i == 3 { odd_one } else { Then::Nothing };
            tokio::spawn(async move { db.write_shared(Some(7), (i, then), job).await })
        })
        .collect();
    // Give the six time to queue up behind the blocker (their order does not matter).
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let _ = release.send(());
    if let Some(blocker) = blocker {
        blocker.await.unwrap().unwrap();
    }
    let mut results = Vec::new();
    for job in jobs {
        results.push(job.await.unwrap());
    }
    results
}

async fn stored(db: &Db, i: i64) -> i64 {
    stored_title(db, format!("batch-{i}")).await
}

async fn stored_title(db: &Db, title: String) -> i64 {
    db.write(move |conn: &mut WriteConn| {
        Box::pin(async move {
            Ok(conn.fetch_one("select count(*) from memos where title = $1", args![title]).await?.get(0)?)
        })
    })
    .await
    .unwrap()
}

async fn db_of(engine: Engine) -> Option<(crate::helpers::TestApp, Db)> {
    let app = spawn_app(engine).await?;
    let db = Db::connect(&Config::for_database(app.database_url.clone())).await.unwrap();
    Some((app, db))
}

async fn a_batch_aborted_by_one_job_runs_every_job_again_alone_and_once(engine: Engine) {
    let Some((_app, db)) = db_of(engine).await else { return };
    let results = six_jobs(&db, engine, memo_job, Then::FailsOutside).await;
    for (i, result) in (1..=6).zip(results) {
        assert_eq!(result.unwrap(), i);
        assert_eq!(stored(&db, i).await, 1, "job {i}'s memo is stored once");
    }
    db.close().await;
}

async fn a_failing_statement_run_later_fails_only_its_own_job(engine: Engine) {
    let Some((_app, db)) = db_of(engine).await else { return };
    let results = six_jobs(&db, engine, memo_job, Then::FailsLater).await;
    for (i, result) in (1..=6).zip(results) {
        if i == 3 {
            assert!(result.is_err(), "its statement failed");
        } else {
            assert_eq!(result.unwrap(), i);
            assert_eq!(stored(&db, i).await, 1, "job {i}'s memo is stored once");
        }
    }
    db.close().await;
}

/// A statement that names the table of rows held back runs after them: each job of the batch
/// counts the held memos of the jobs before it and its own.
async fn held_rows_are_seen_by_the_jobs_after_them(engine: Engine) {
    let Some((_app, db)) = db_of(engine).await else { return };
    let mut seen: Vec<i64> =
        six_jobs(&db, engine, held_job, Then::Nothing).await.into_iter().map(Result::unwrap).collect();
    seen.sort_unstable();
    assert_eq!(seen, vec![1, 2, 3, 4, 5, 6]);
    for i in 1..=6 {
        assert_eq!(stored_title(&db, format!("held-{i}")).await, 1, "held-{i} is stored once");
    }
    db.close().await;
}

/// A job whose change is rolled back loses its held row, and only its own: the rows of the jobs
/// before it, sent inside its change (it counted them), are written again.
async fn a_rolled_back_change_drops_only_its_own_held_rows(engine: Engine) {
    let Some((_app, db)) = db_of(engine).await else { return };
    let results = six_jobs(&db, engine, held_job, Then::RollsBack).await;
    for (i, result) in (1..=6).zip(results) {
        assert!(result.unwrap() >= 1, "job {i} counts at least its own memo");
        let expected = if i == 3 { 0 } else { 1 };
        assert_eq!(stored_title(&db, format!("held-{i}")).await, expected, "held-{i}");
    }
    db.close().await;
}

type Once = Arc<Mutex<Option<Arc<tokio::sync::Barrier>>>>;

/// Updates the memo titled `first`, waits (the first time only) until the other job holds its own
/// first row, then updates `second`.
fn cross_update<'c>(
    conn: &'c mut WriteConn,
    (first, second, meet): (&'static str, &'static str, Once),
) -> BoxFuture<'c, Result<(), StoreError>> {
    Box::pin(async move {
        let update = "update memos set content = $1 where title = $2";
        let mut change = conn.begin().await?;
        change.execute(update, args![first, first]).await?;
        let barrier = meet.lock().await.take();
        if let Some(barrier) = barrier {
            barrier.wait().await;
        }
        change.execute(update, args![first, second]).await?;
        change.commit().await?;
        Ok(())
    })
}

async fn batches_that_deadlock_run_their_jobs_again_alone(engine: Engine) {
    let Some((_app, db)) = db_of(engine).await else { return };
    db.write(|conn: &mut WriteConn| {
        Box::pin(async move {
            conn.execute(INSERT_MEMO, args!["x"]).await?;
            conn.execute(INSERT_MEMO, args!["y"]).await?;
            Ok(())
        })
    })
    .await
    .unwrap();
    // On PostgreSQL two committers (affinities 0 and 1) each run a batch of two jobs, one of which
    // locks x then y, the other y then x: PostgreSQL aborts one as a deadlock. The SQLite writer
    // runs them one after the other (its jobs cannot wait on each other).
    let postgres = engine == Engine::Postgres;
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let once = || -> Once { Arc::new(Mutex::new(postgres.then(|| barrier.clone()))) };
    let (release, held) = tokio::sync::watch::channel(false);
    // Each committer first runs a blocker, so that the two jobs queued behind it share one batch.
    // The jobs are queued only once both blockers run: a job that reached its committer first
    // could be taken alone, and a deadlock outside a batch is the job's own failure.
    let (started, mut running) = tokio::sync::mpsc::unbounded_channel::<()>();
    let blockers: Vec<_> = (0..2u64)
        .filter(|_| postgres)
        .map(|affinity| {
            let (db, held, started) = (db.clone(), held.clone(), started.clone());
            tokio::spawn(async move {
                db.write_shared(Some(affinity), (), move |_conn, ()| {
                    let (mut held, started) = (held.clone(), started.clone());
                    Box::pin(async move {
                        let _ = started.send(());
                        let _ = held.wait_for(|released| *released).await;
                        Ok(())
                    })
                })
                .await
            })
        })
        .collect();
    for _ in &blockers {
        running.recv().await.expect("a blocker runs");
    }
    // Each job is queued by its first poll (the queue has room), behind its committer's blocker.
    let mut jobs = Vec::new();
    for (affinity, first, second, filler) in [(0u64, "x", "y", 10), (1, "y", "x", 11)] {
        let mut crossed = Box::pin(maybe_done(db.write_shared(Some(affinity), (first, second, once()), cross_update)));
        let mut filled = Box::pin(maybe_done(db.write_shared(Some(affinity), (filler, Then::Nothing), memo_job)));
        let _ = futures_util::poll!(crossed.as_mut());
        let _ = futures_util::poll!(filled.as_mut());
        jobs.push((crossed, filled));
    }
    release.send(true).unwrap();
    for blocker in blockers {
        blocker.await.unwrap().unwrap();
    }
    for (mut crossed, mut filled) in jobs {
        tokio::join!(crossed.as_mut(), filled.as_mut());
        let (crossed, filled) = (crossed.as_mut().take_output().unwrap(), filled.as_mut().take_output().unwrap());
        crossed.expect("the deadlocked job succeeds when run again alone");
        filled.unwrap();
    }
    assert_eq!(stored(&db, 10).await, 1);
    assert_eq!(stored(&db, 11).await, 1);
    db.close().await;
}

on_both_engines!(
    a_batch_aborted_by_one_job_runs_every_job_again_alone_and_once,
    a_failing_statement_run_later_fails_only_its_own_job,
    batches_that_deadlock_run_their_jobs_again_alone,
    held_rows_are_seen_by_the_jobs_after_them,
    a_rolled_back_change_drops_only_its_own_held_rows,
);
