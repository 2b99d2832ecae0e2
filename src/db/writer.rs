//! Group commit for SQLite: one thread owns the only write connection, takes every job queued at
//! the moment (up to [`MAX_BATCH`]), and runs them in one transaction. Each job makes its own
//! change atomic with a savepoint (`conn.begin()`), so a failing job rolls back alone. Replies are
//! sent only after the transaction committed, so a handler never acknowledges a write that could
//! still be lost.
//!
//! The thread calls SQLite directly: a job's statements run back to back on it, with no hop
//! between threads per statement. Jobs are written as futures (the same code runs on PostgreSQL),
//! but on this connection every statement completes synchronously, so a job finishes in a
//! single poll; one that would wait on anything else is refused rather than blocking the writer.

use std::any::Any;
use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;
use tokio::sync::{mpsc, oneshot};

use super::checkpointer::Checkpointer;
use super::conn::WriteConn;
use super::Job;
use crate::domain::StoreError;
use crate::metrics::Metrics;

/// At most this many jobs share a transaction, so a long queue still commits often.
const MAX_BATCH: usize = 512;
/// Queued jobs beyond this make submitters wait (back-pressure instead of unbounded memory).
const QUEUE_DEPTH: usize = 8192;

pub(super) type Erased = Box<dyn Any + Send>;

/// A queued job's result, once its writer answers, as the type the job returned.
pub(super) async fn answered<T: 'static>(
    answer: oneshot::Receiver<Result<Erased, StoreError>>,
) -> Result<T, StoreError> {
    let erased =
        answer.await.map_err(|_| StoreError::internal(anyhow::anyhow!("the database writer dropped a job")))??;
    erased
        .downcast::<T>()
        .map(|value| *value)
        .map_err(|_| StoreError::internal(anyhow::anyhow!("the database writer returned the wrong type")))
}

struct Queued {
    run: Job<Erased>,
    reply: oneshot::Sender<Result<Erased, StoreError>>,
}

enum Message {
    Job(Queued),
    /// Commit what is queued, close the connection, then answer.
    Stop(oneshot::Sender<()>),
}

#[derive(Clone)]
pub struct Writer {
    sender: mpsc::Sender<Message>,
}

impl Writer {
    /// Starts the writer thread; `checkpoints` runs as long as it does, and is stopped and
    /// joined before a shutdown is answered. Each batch's size and commit time go to `metrics`.
    pub fn start(conn: rusqlite::Connection, checkpoints: Checkpointer, metrics: &Metrics) -> std::io::Result<Writer> {
        let (sender, receiver) = mpsc::channel(QUEUE_DEPTH);
        metrics.describe_histogram(BATCH_SIZE, "Jobs per SQLite write transaction (group commit).");
        metrics.describe_histogram(COMMIT_SECONDS, "Time to run and commit one SQLite write transaction.");
        let stats =
            BatchStats { size: metrics.histogram(BATCH_SIZE, &[]), seconds: metrics.histogram(COMMIT_SECONDS, &[]) };
        std::thread::Builder::new().name("sqlite-writer".into()).spawn(move || {
            let stopped = run(WriteConn::sqlite(conn), receiver, &checkpoints, &stats);
            checkpoints.stop();
            if let Some(done) = stopped {
                let _ = done.send(());
            }
        })?;
        Ok(Writer { sender })
    }

    pub async fn submit<T: Send + 'static>(&self, job: Job<T>) -> Result<T, StoreError> {
        let run: Job<Erased> =
            Box::new(move |conn: &mut WriteConn| job(conn).map(|result| result.map(|v| Box::new(v) as Erased)).boxed());
        let (reply, answer) = oneshot::channel();
        self.sender
            .send(Message::Job(Queued { run, reply }))
            .await
            .map_err(|_| StoreError::internal(anyhow::anyhow!("the database writer has stopped")))?;
        answered(answer).await
    }

    /// Commits everything queued so far and closes the write connection.
    pub async fn shutdown(&self) {
        let (done, stopped) = oneshot::channel();
        if self.sender.send(Message::Stop(done)).await.is_ok() {
            let _ = stopped.await;
        }
    }
}

pub const BATCH_SIZE: &str = "crm_sqlite_batch_size";
pub const COMMIT_SECONDS: &str = "crm_sqlite_commit_seconds";

struct BatchStats {
    size: metrics::Histogram,
    seconds: metrics::Histogram,
}

/// Runs batches until stopped; returns who asked for the stop, to be answered once the
/// checkpoint thread has ended too.
fn run(
    mut conn: WriteConn,
    mut receiver: mpsc::Receiver<Message>,
    checkpoints: &Checkpointer,
    stats: &BatchStats,
) -> Option<oneshot::Sender<()>> {
    let mut batch: Vec<Queued> = Vec::with_capacity(MAX_BATCH);
    let mut stop: Option<oneshot::Sender<()>> = None;
    while stop.is_none() {
        let Some(first) = receiver.blocking_recv() else { break };
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                Message::Job(job) => batch.push(job),
                Message::Stop(done) => stop = Some(done),
            }
            if batch.len() < MAX_BATCH && stop.is_none() {
                next = receiver.try_recv().ok();
            }
        }
        if checkpoints.take_reset() {
            conn.sqlite_checkpoint();
        }
        commit_batch(&mut conn, &mut batch, stats);
    }
    receiver.close();
    while let Ok(message) = receiver.try_recv() {
        if let Message::Job(job) = message {
            batch.push(job);
        }
    }
    commit_batch(&mut conn, &mut batch, stats);
    drop(conn);
    stop
}

fn commit_batch(conn: &mut WriteConn, batch: &mut Vec<Queued>, stats: &BatchStats) {
    if batch.is_empty() {
        return;
    }
    let started = std::time::Instant::now();
    stats.size.record(batch.len() as f64);
    let _timed = Timed(&stats.seconds, started);
    // IMMEDIATE takes the write lock now, waiting (busy_timeout) for another process writing
    // the same file, instead of failing later when a read snapshot turns out to be stale.
    if let Err(err) = conn.sqlite_batch("begin immediate") {
        tracing::error!(error = %err, "cannot begin a write transaction");
        for job in batch.drain(..) {
            let _ = job.reply.send(Err(StoreError::internal(anyhow::anyhow!("cannot begin: {err}"))));
        }
        return;
    }
    let mut finished = Vec::with_capacity(batch.len());
    for job in batch.drain(..) {
        let result = if conn.sqlite_batch_lost() {
            Err(StoreError::internal(anyhow::anyhow!("SQLite rolled the batch transaction back")))
        } else {
            run_job(conn, job.run)
        };
        finished.push((job.reply, result));
    }
    match conn.sqlite_batch("commit") {
        Ok(()) => {
            for (reply, result) in finished {
                let _ = reply.send(result);
            }
        }
        Err(err) => {
            tracing::error!(error = %err, jobs = finished.len(), "group commit failed");
            let _ = conn.sqlite_batch("rollback");
            for (reply, _) in finished {
                let _ = reply.send(Err(StoreError::internal(anyhow::anyhow!("commit failed: {err}"))));
            }
        }
    }
}

/// Records the time since its start when dropped (every way out of `commit_batch`, and of a
/// PostgreSQL committer's `run_batch`).
pub(super) struct Timed<'a>(pub &'a metrics::Histogram, pub std::time::Instant);

impl Drop for Timed<'_> {
    fn drop(&mut self) {
        self.0.record(self.1.elapsed().as_secs_f64());
    }
}

/// Runs one job in the batch's transaction. A job keeps its change atomic with its own
/// `begin()` (a savepoint here) and, when it fails, leaves nothing behind outside it; a panic
/// unwinds through the job's open savepoint, whose guard rolls it back.
fn run_job(conn: &mut WriteConn, run: Job<Erased>) -> Result<Erased, StoreError> {
    // A job before it that unwound mid-way cannot leave its changes without savepoints.
    conn.savepoints_again();
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| run(conn).now_or_never()));
    match outcome {
        Ok(Some(result)) => result,
        Ok(None) => Err(StoreError::internal(anyhow::anyhow!("a write job waited on something other than SQLite"))),
        Err(_) => Err(StoreError::internal(anyhow::anyhow!("a write job panicked"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::future::BoxFuture;

    fn writer() -> Writer {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch("create table t (id integer primary key, v text not null unique)").unwrap();
        let idle = rusqlite::Connection::open_in_memory().unwrap();
        let checkpoints = super::super::checkpointer::start(
            idle,
            std::time::Duration::from_secs(60),
            crate::tasks::Tasks::new(Metrics::new()).stats("sqlite_checkpoint"),
        )
        .unwrap();
        Writer::start(conn, checkpoints, &Metrics::new()).unwrap()
    }

    fn insert(v: &'static str) -> Job<u64> {
        Box::new(move |conn: &mut WriteConn| -> BoxFuture<'_, Result<u64, StoreError>> {
            Box::pin(async move {
                let mut change = conn.begin().await?;
                let n = change.execute("insert into t (v) values ($1)", crate::args![v]).await?;
                change.commit().await?;
                Ok(n)
            })
        })
    }

    fn count(writer: &Writer) -> impl std::future::Future<Output = Result<i64, StoreError>> + '_ {
        writer.submit(Box::new(|conn: &mut WriteConn| -> BoxFuture<'_, Result<i64, StoreError>> {
            Box::pin(async move { Ok(conn.fetch_one("select count(*) from t", Vec::new()).await?.get(0)?) })
        }))
    }

    #[tokio::test]
    async fn batch_size_and_commit_time_are_recorded() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch("create table t (id integer primary key, v text not null unique)").unwrap();
        let metrics = Metrics::new();
        let tasks = crate::tasks::Tasks::new(metrics.clone());
        let checkpoints = super::super::checkpointer::start(
            rusqlite::Connection::open_in_memory().unwrap(),
            std::time::Duration::from_secs(60),
            tasks.stats("sqlite_checkpoint"),
        )
        .unwrap();
        let writer = Writer::start(conn, checkpoints, &metrics).unwrap();
        writer.submit(insert("a")).await.unwrap();
        writer.shutdown().await;
        let text = metrics.render();
        assert!(text.contains("crm_sqlite_batch_size_bucket{le=\"1\"} 1"), "{text}");
        assert!(text.contains("crm_sqlite_commit_seconds_count 1"), "{text}");
    }

    #[tokio::test]
    async fn a_failing_job_rolls_back_alone() {
        let writer = writer();
        let (a, b, c) =
            tokio::join!(writer.submit(insert("a")), writer.submit(insert("a")), writer.submit(insert("b")));
        let outcomes = [a.is_ok(), b.is_ok(), c.is_ok()];
        assert_eq!(outcomes, [true, false, true]);
        assert_eq!(count(&writer).await.unwrap(), 2);
    }

    #[tokio::test]
    async fn a_panicking_job_rolls_back_and_the_writer_goes_on() {
        let writer = writer();
        let panics: Job<()> = Box::new(|conn: &mut WriteConn| -> BoxFuture<'_, Result<(), StoreError>> {
            Box::pin(async move {
                let mut change = conn.begin().await?;
                change.execute("insert into t (v) values ('lost')", Vec::new()).await?;
                panic!("job bug");
            })
        });
        let err = writer.submit(panics).await.unwrap_err();
        assert!(format!("{err:?}").contains("panicked"));
        writer.submit(insert("kept")).await.unwrap();
        assert_eq!(count(&writer).await.unwrap(), 1);
    }

    #[tokio::test]
    async fn a_job_that_waits_on_something_else_is_refused_and_rolled_back() {
        let writer = writer();
        let waits: Job<()> = Box::new(|conn: &mut WriteConn| -> BoxFuture<'_, Result<(), StoreError>> {
            Box::pin(async move {
                let mut change = conn.begin().await?;
                change.execute("insert into t (v) values ('lost')", Vec::new()).await?;
                futures_util::future::pending::<()>().await;
                change.commit().await?;
                Ok(())
            })
        });
        let err = writer.submit(waits).await.unwrap_err();
        assert!(format!("{err:?}").contains("waited on something other than SQLite"));
        assert_eq!(count(&writer).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn a_lost_batch_transaction_fails_the_batch_instead_of_writing_outside_it() {
        let writer = writer();
        // Holds the writer so that the next three jobs queue up and share one batch.
        let (release, held) = std::sync::mpsc::channel::<()>();
        let blocker: Job<()> = Box::new(move |_conn: &mut WriteConn| -> BoxFuture<'_, Result<(), StoreError>> {
            let _ = held.recv();
            Box::pin(async { Ok(()) })
        });
        let blocked = tokio::spawn({
            let writer = writer.clone();
            async move { writer.submit(blocker).await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        // The first job of the next batch ends the transaction behind the writer's back, as
        // SQLite itself does after a full disk; the job after it must not run in autocommit.
        let ends_it: Job<()> = Box::new(|conn: &mut WriteConn| -> BoxFuture<'_, Result<(), StoreError>> {
            Box::pin(async move {
                conn.execute("insert into t (v) values ('before')", Vec::new()).await?;
                conn.execute("rollback", Vec::new()).await?;
                Ok(())
            })
        });
        let (first, second, third) = tokio::join!(writer.submit(ends_it), writer.submit(insert("after")), async {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            release.send(()).unwrap();
            blocked.await.unwrap()
        });
        third.unwrap();
        assert!(first.is_err(), "the batch could not commit");
        assert!(second.is_err(), "the job after it is answered as failed");
        assert_eq!(count(&writer).await.unwrap(), 0, "nothing of that batch was written, not even in autocommit");
    }

    #[tokio::test]
    async fn shutdown_commits_what_is_queued() {
        let writer = writer();
        let queued = {
            let writer = writer.clone();
            tokio::spawn(async move { writer.submit(insert("queued")).await })
        };
        tokio::task::yield_now().await;
        writer.shutdown().await;
        let after = queued.await.unwrap();
        // Either it was queued before the stop (committed) or the writer had stopped (refused).
        match after {
            Ok(n) => assert_eq!(n, 1),
            Err(err) => assert!(format!("{err:?}").contains("stopped")),
        }
        assert!(writer.submit(insert("late")).await.is_err());
    }
}
