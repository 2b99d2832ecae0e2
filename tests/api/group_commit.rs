//! `Db::write_shared`, the write of every webhook: on PostgreSQL jobs share a batch transaction
//! (group commit), and a batch that cannot go on is rolled back and its jobs run again one by one.
//! Either way each job's change is stored once, and a job's failure stays its own. On SQLite the
//! same jobs go through the group-commit writer.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crm_webhooks::args;
use crm_webhooks::db::{Db, WriteConn};
use crm_webhooks::domain::StoreError;
use crm_webhooks::metrics::Metrics;
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
    /// Its change reads, stores nothing and is rolled back.
    ReadsThenRollsBack,
    /// A statement fails inside its change, which is then rolled back.
    FailsInside,
}

/// Each job's input: job 3 misbehaves as `then` says, the others do nothing odd.
fn odd_third(then: Then) -> impl Fn(i64) -> (i64, Then) {
    move |i| (i, if i == 3 { then } else { Then::Nothing })
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
            Then::RollsBack | Then::ReadsThenRollsBack | Then::FailsInside => unreachable!("memo jobs commit"),
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

/// Counts its runs, then stores its memo `counted-i` in its change and commits it, or undoes it as
/// `then` says; after a rollback it stores `after-i` outside the change, as a failed webhook's
/// log row is.
fn counted_job(
    conn: &mut WriteConn,
    (i, then, runs): (i64, Then, Arc<AtomicUsize>),
) -> BoxFuture<'_, Result<i64, StoreError>> {
    Box::pin(async move {
        runs.fetch_add(1, Ordering::SeqCst);
        let mut change = conn.begin().await?;
        if then == Then::ReadsThenRollsBack {
            change.fetch_one("select count(*) from memos where title = 'counted-1'", Vec::new()).await?;
        } else {
            change.execute(INSERT_MEMO, args![format!("counted-{i}")]).await?;
        }
        if then == Then::FailsInside {
            let failed = change.execute("insert into no_such_table values (1)", Vec::new()).await;
            assert!(failed.is_err());
        }
        if then == Then::Nothing {
            change.commit().await?;
        } else {
            change.rollback().await?;
            conn.execute(INSERT_MEMO, args![format!("after-{i}")]).await?;
        }
        Ok(i)
    })
}

type Job<I> = for<'c> fn(&'c mut WriteConn, I) -> BoxFuture<'c, Result<i64, StoreError>>;

/// Runs six jobs (inputs `input(1)` to `input(6)`) on one committer, queued behind a job that
/// waits (PostgreSQL only; the SQLite writer refuses a job that waits on anything else), so that
/// they share a batch.
async fn six_jobs<I: Clone + Send + 'static>(
    db: &Db,
    engine: Engine,
    job: Job<I>,
    input: impl Fn(i64) -> I,
) -> Vec<Result<i64, StoreError>> {
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
            let (db, input) = (db.clone(), input(i));
            tokio::spawn(async move { db.write_shared(Some(7), input, job).await })
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
    db_and_metrics(engine).await.map(|(app, db, _)| (app, db))
}

/// As [`db_of`], with the metrics its batches report to.
async fn db_and_metrics(engine: Engine) -> Option<(crate::helpers::TestApp, Db, Metrics)> {
    let app = spawn_app(engine).await?;
    let metrics = Metrics::new();
    let tasks = crm_webhooks::tasks::Tasks::new(metrics.clone());
    let db = Db::connect_with(&Config::for_database(app.database_url.clone()), &tasks).await.unwrap();
    Some((app, db, metrics))
}

/// `crm_postgres_batches_run_again_total{reason}` as rendered (0 when absent, as on SQLite).
fn run_again(metrics: &Metrics, reason: &str) -> u64 {
    let line = format!("crm_postgres_batches_run_again_total{{reason=\"{reason}\"}} ");
    let text = metrics.render();
    text.lines().find_map(|l| l.strip_prefix(line.as_str())).map_or(0, |n| n.trim().parse().unwrap())
}

async fn a_batch_aborted_by_one_job_runs_every_job_again_alone_and_once(engine: Engine) {
    let Some((_app, db, metrics)) = db_and_metrics(engine).await else { return };
    let results = six_jobs(&db, engine, memo_job, odd_third(Then::FailsOutside)).await;
    for (i, result) in (1..=6).zip(results) {
        assert_eq!(result.unwrap(), i);
        assert_eq!(stored(&db, i).await, 1, "job {i}'s memo is stored once");
    }
    let postgres = u64::from(engine == Engine::Postgres);
    assert_eq!((run_again(&metrics, "failed"), run_again(&metrics, "unsaved")), (postgres, 0));
    db.close().await;
}

async fn a_failing_statement_run_later_fails_only_its_own_job(engine: Engine) {
    let Some((_app, db)) = db_of(engine).await else { return };
    let results = six_jobs(&db, engine, memo_job, odd_third(Then::FailsLater)).await;
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
        six_jobs(&db, engine, held_job, odd_third(Then::Nothing)).await.into_iter().map(Result::unwrap).collect();
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
    let results = six_jobs(&db, engine, held_job, odd_third(Then::RollsBack)).await;
    for (i, result) in (1..=6).zip(results) {
        assert!(result.unwrap() >= 1, "job {i} counts at least its own memo");
        let expected = if i == 3 { 0 } else { 1 };
        assert_eq!(stored_title(&db, format!("held-{i}")).await, expected, "held-{i}");
    }
    db.close().await;
}

/// Runs six [`counted_job`]s, job 3 misbehaving as `then` says, and checks what they stored;
/// answers how many times they ran in all.
async fn six_counted(db: &Db, engine: Engine, then: Then, round: &str) -> usize {
    let runs = Arc::new(AtomicUsize::new(0));
    let results = six_jobs(db, engine, counted_job, |i| {
        let (i, then) = odd_third(then)(i);
        (i, then, runs.clone())
    })
    .await;
    for (i, result) in (1..=6).zip(results) {
        assert_eq!(result.unwrap(), i, "{round}");
        let (kept, after) = if i == 3 { (0, 1) } else { (1, 0) };
        assert_eq!(stored_title(db, format!("counted-{i}")).await, kept, "{round}: counted-{i}");
        assert_eq!(stored_title(db, format!("after-{i}")).await, after, "{round}: after-{i}");
    }
    // The next round stores its rows afresh.
    db.write(|conn: &mut WriteConn| {
        Box::pin(async move { Ok(conn.execute("delete from memos where title like '%-_'", Vec::new()).await?) })
    })
    .await
    .unwrap();
    runs.load(Ordering::SeqCst)
}

/// On PostgreSQL, the jobs of the batch up to job 3 ran in it and then all six alone; the SQLite
/// writer ran each once.
fn ran_again(engine: Engine, runs: usize) {
    if engine == Engine::Postgres {
        assert!(
            (7..=12).contains(&runs),
            "ran {runs} times: job 3 and those before it twice, the others once or twice"
        );
    } else {
        assert_eq!(runs, 6);
    }
}

/// A job whose change only read before its rollback leaves the batch alone: on PostgreSQL (no
/// savepoint per job) the others are not run again.
async fn a_change_that_only_read_before_its_rollback_keeps_its_batch(engine: Engine) {
    let Some((_app, db, metrics)) = db_and_metrics(engine).await else { return };
    assert_eq!(six_counted(&db, engine, Then::ReadsThenRollsBack, "first").await, 6);
    assert_eq!((run_again(&metrics, "failed"), run_again(&metrics, "unsaved")), (0, 0));
    if engine == Engine::Postgres {
        // The blocker's batch of one, then the six together.
        let text = metrics.render();
        assert!(text.contains("crm_postgres_batch_size_count 2"), "{text}");
        assert!(text.contains("crm_postgres_batch_size_sum 7"), "{text}");
        assert!(text.contains("crm_postgres_commit_seconds_count 2"), "{text}");
    }
    db.close().await;
}

/// A job whose change stored a row before its rollback, or whose statement failed inside it,
/// cannot be undone alone on PostgreSQL (its change has no savepoint): the batch stops and its
/// jobs run again one by one, with the same outcome; the committer's next batches give each job a
/// savepoint, so the same failure then costs no second run. The SQLite writer's jobs always have
/// their savepoint.
async fn a_change_undone_after_changing_data_runs_its_batch_again_then_savepoints_follow(engine: Engine) {
    let Some((_app, db, metrics)) = db_and_metrics(engine).await else { return };
    ran_again(engine, six_counted(&db, engine, Then::RollsBack, "rolled back").await);
    assert_eq!(six_counted(&db, engine, Then::RollsBack, "rolled back, next batch").await, 6);
    assert_eq!(six_counted(&db, engine, Then::FailsInside, "failed inside, next batch").await, 6);
    let postgres = u64::from(engine == Engine::Postgres);
    assert_eq!((run_again(&metrics, "failed"), run_again(&metrics, "unsaved")), (0, postgres));
    db.close().await;
}

/// The same with a failed statement first, on a committer with no savepoints yet.
async fn a_change_with_a_failed_statement_runs_its_batch_again(engine: Engine) {
    let Some((_app, db)) = db_of(engine).await else { return };
    ran_again(engine, six_counted(&db, engine, Then::FailsInside, "failed inside").await);
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
    let Some((_app, db, metrics)) = db_and_metrics(engine).await else { return };
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
    // A deadlock is no reason to give jobs savepoints.
    let postgres = u64::from(engine == Engine::Postgres);
    assert_eq!((run_again(&metrics, "failed"), run_again(&metrics, "unsaved")), (postgres, 0));
    db.close().await;
}

on_both_engines!(
    a_batch_aborted_by_one_job_runs_every_job_again_alone_and_once,
    a_failing_statement_run_later_fails_only_its_own_job,
    batches_that_deadlock_run_their_jobs_again_alone,
    held_rows_are_seen_by_the_jobs_after_them,
    a_rolled_back_change_drops_only_its_own_held_rows,
    a_change_that_only_read_before_its_rollback_keeps_its_batch,
    a_change_undone_after_changing_data_runs_its_batch_again_then_savepoints_follow,
    a_change_with_a_failed_statement_runs_its_batch_again,
);
