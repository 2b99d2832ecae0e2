//! Group commit for PostgreSQL: a few committer tasks, each taking the jobs queued for it at the
//! moment (up to [`MAX_BATCH`]) and running them on one pooled connection in one transaction,
//! a job's own `begin()` opening no savepoint: its change runs straight in the batch's
//! transaction. One commit (one WAL flush, one `begin`/`commit` pair) serves the whole batch, and
//! a job costs the server no `savepoint`/`release` round trip. Replies go out only after the
//! commit.
//!
//! A job that fails before it changed anything keeps its place in the batch, with what it writes
//! after (its failure log row). One that fails after changing data, or whose statement fails,
//! cannot be undone alone: the batch is run again job by job (below), and the committer's next
//! [`CAREFUL_BATCHES`] batches give each job a savepoint, as the SQLite writer does, which it
//! rolls back alone (its `release savepoint` travelling with the next job's `savepoint`, see
//! `conn.rs`). So a stream of such failures costs a round trip per job, not a rerun per batch.
//! When the batch as a whole cannot go on — a deadlock or serialization failure (two
//! batches locking the same rows in different orders), a statement failing outside every
//! savepoint, a panic, or a commit refused by the server — it is rolled back and its jobs are run
//! again one by one, each in a transaction of its own, exactly as without group commit. That is
//! why batched jobs must be able to run twice ([`super::Db::write_shared`]). Jobs that name the
//! record they act on go to the committer that record hashes to, so two batches rarely wait on
//! each other's row locks; the others are spread round-robin.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use sqlx::AnyPool;
use tokio::sync::{mpsc, oneshot};

use super::conn::WriteConn;
use super::value::DbError;
use crate::domain::StoreError;
use crate::metrics::Metrics;

pub const BATCH_SIZE: &str = "crm_postgres_batch_size";
pub const COMMIT_SECONDS: &str = "crm_postgres_commit_seconds";
pub const RUN_AGAIN: &str = "crm_postgres_batches_run_again_total";

/// What the committers report: each batch's size and time (its jobs and commit), and the batches
/// run again job by job, by reason.
#[derive(Clone)]
struct BatchMetrics {
    size: metrics::Histogram,
    seconds: metrics::Histogram,
    /// A job's change without a savepoint could not be undone alone.
    unsaved: metrics::Counter,
    /// Anything else: a deadlock, a failed statement outside a change, a refused commit.
    failed: metrics::Counter,
}

impl BatchMetrics {
    fn new(metrics: &Metrics) -> Self {
        metrics.describe_histogram(BATCH_SIZE, "Jobs per PostgreSQL group-commit transaction.");
        metrics.describe_histogram(
            COMMIT_SECONDS,
            "Time to run and commit the jobs a PostgreSQL committer took together (and run them again alone, if it had to).",
        );
        metrics.describe_counter(RUN_AGAIN, "PostgreSQL group-commit batches rolled back and run again job by job.");
        let reason = |reason: &str| metrics.counter(RUN_AGAIN, &[("reason", reason.to_string())]);
        BatchMetrics {
            size: metrics.histogram(BATCH_SIZE, &[]),
            seconds: metrics.histogram(COMMIT_SECONDS, &[]),
            unsaved: reason("unsaved"),
            failed: reason("failed"),
        }
    }
}

/// At most this many jobs share a transaction: each holds a subtransaction, and PostgreSQL keeps
/// up to 64 of a backend's subtransaction ids in shared memory before other sessions' snapshots
/// get slower.
const MAX_BATCH: usize = 32;
/// Batches that give each job a savepoint after a batch lost to a job that could not be undone
/// alone.
const CAREFUL_BATCHES: u32 = 64;
/// Queued jobs per committer beyond this make submitters wait.
const QUEUE_DEPTH: usize = 1024;

pub(super) use super::writer::Erased;
use super::writer::Timed;

/// A job that can run twice: `false` for its attempt inside a batch, `true` for its run alone.
pub(super) type Rerun =
    Box<dyn for<'c> FnMut(&'c mut WriteConn, bool) -> BoxFuture<'c, Result<Erased, StoreError>> + Send>;

struct Queued {
    run: Rerun,
    reply: oneshot::Sender<Result<Erased, StoreError>>,
}

enum Message {
    Job(Queued),
    /// Commit what is queued, then answer.
    Stop(oneshot::Sender<()>),
}

#[derive(Clone)]
pub(super) struct Batcher {
    queues: Arc<[mpsc::Sender<Message>]>,
    next: Arc<AtomicUsize>,
}

impl Batcher {
    /// Starts `committers` tasks on `pool` (their own); each holds a connection while it runs a
    /// batch, and reports to `metrics`.
    pub fn start(pool: AnyPool, committers: usize, metrics: &Metrics) -> Batcher {
        let stats = BatchMetrics::new(metrics);
        let queues: Vec<_> = (0..committers.max(1))
            .map(|_| {
                let (sender, receiver) = mpsc::channel(QUEUE_DEPTH);
                tokio::spawn(committer(pool.clone(), receiver, stats.clone()));
                sender
            })
            .collect();
        Batcher { queues: queues.into(), next: Arc::new(AtomicUsize::new(0)) }
    }

    /// Queues `run` (on the committer `affinity` hashes to, if any) and waits for its commit.
    pub async fn submit<T: Send + 'static>(&self, affinity: Option<u64>, run: Rerun) -> Result<T, StoreError> {
        let index = match affinity {
            Some(key) => (key % self.queues.len() as u64) as usize,
            None => self.next.fetch_add(1, Ordering::Relaxed) % self.queues.len(),
        };
        let (reply, answer) = oneshot::channel();
        self.queues[index]
            .send(Message::Job(Queued { run, reply }))
            .await
            .map_err(|_| StoreError::internal(anyhow::anyhow!("the database writer has stopped")))?;
        super::writer::answered(answer).await
    }

    /// Commits everything queued so far on every committer.
    pub async fn shutdown(&self) {
        for queue in self.queues.iter() {
            let (done, stopped) = oneshot::channel();
            if queue.send(Message::Stop(done)).await.is_ok() {
                let _ = stopped.await;
            }
        }
    }
}

async fn committer(pool: AnyPool, mut receiver: mpsc::Receiver<Message>, stats: BatchMetrics) {
    let mut batch: Vec<Queued> = Vec::with_capacity(MAX_BATCH);
    let mut stop: Option<oneshot::Sender<()>> = None;
    // Batches left that give each job a savepoint.
    let mut careful = 0;
    while stop.is_none() {
        let Some(first) = receiver.recv().await else { break };
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
        careful = run_batch(&pool, &mut batch, careful, &stats).await;
    }
    receiver.close();
    while let Ok(message) = receiver.try_recv() {
        if let Message::Job(job) = message {
            batch.push(job);
        }
    }
    run_batch(&pool, &mut batch, careful, &stats).await;
    if let Some(done) = stop {
        let _ = done.send(());
    }
}

/// Runs the batch; answers how many batches after it give each job a savepoint (`careful`, the
/// count before it).
async fn run_batch(pool: &AnyPool, batch: &mut Vec<Queued>, careful: u32, stats: &BatchMetrics) -> u32 {
    let mut careful = careful.saturating_sub(1);
    if batch.is_empty() {
        return careful;
    }
    stats.size.record(batch.len() as f64);
    let _timed = Timed(&stats.seconds, std::time::Instant::now());
    if batch.len() > 1 {
        match batched(pool, batch, careful == 0).await {
            Ok(results) => {
                for (job, result) in batch.drain(..).zip(results) {
                    let _ = job.reply.send(result);
                }
                return careful;
            }
            Err(BatchFailed::Unknown(err)) => {
                tracing::error!(error = %err, jobs = batch.len(), "group commit: the commit's outcome is unknown");
                for job in batch.drain(..) {
                    let _ = job.reply.send(Err(StoreError::internal(anyhow::anyhow!("commit failed: {err}"))));
                }
                return careful;
            }
            Err(BatchFailed::RunAlone { unsaved: true }) => {
                stats.unsaved.increment(1);
                careful = CAREFUL_BATCHES;
            }
            Err(BatchFailed::RunAlone { unsaved: false }) => stats.failed.increment(1),
        }
    }
    // One job, or a batch that has to be run again one by one.
    for mut job in batch.drain(..) {
        let result = alone(pool, &mut job.run).await;
        let _ = job.reply.send(result);
    }
    careful
}

enum BatchFailed {
    /// Nothing of the batch was committed: run its jobs one by one. `unsaved`: because a job
    /// without a savepoint could not be undone alone.
    RunAlone { unsaved: bool },
    /// The connection failed during `commit`: the batch may or may not have been committed.
    Unknown(DbError),
}

/// Runs the jobs in one transaction (with no savepoint per job when `unsaved`); their results,
/// once committed.
async fn batched(
    pool: &AnyPool,
    batch: &mut [Queued],
    unsaved: bool,
) -> Result<Vec<Result<Erased, StoreError>>, BatchFailed> {
    const ALONE: BatchFailed = BatchFailed::RunAlone { unsaved: false };
    let pooled = pool.acquire().await.map_err(|_| ALONE)?;
    let mut conn = WriteConn::postgres_batch(pooled, unsaved).await.map_err(|_| ALONE)?;
    let mut results = Vec::with_capacity(batch.len());
    for job in batch.iter_mut() {
        let outcome = AssertUnwindSafe((job.run)(&mut conn, false)).catch_unwind().await;
        let settled = conn.settle().await;
        match outcome {
            Ok(result) if settled && !conn.batch_failed() => results.push(result),
            _ => {
                let unsaved = conn.lost_unsaved();
                if conn.end_batch(false).await.is_err() {
                    conn.detach();
                }
                return Err(BatchFailed::RunAlone { unsaved });
            }
        }
    }
    match conn.end_batch(true).await {
        Ok(()) => Ok(results),
        // The server refused the commit or a statement sent with it (a serialization failure,
        // a broken log row): nothing was committed.
        Err(DbError::Sqlx(sqlx::Error::Database(_))) => {
            if conn.end_batch(false).await.is_err() {
                conn.detach();
            }
            Err(ALONE)
        }
        Err(err) => {
            conn.detach();
            Err(BatchFailed::Unknown(err))
        }
    }
}

/// Runs `job` as one batch transaction (see [`super::Db::write_batch`]), its changes opening no
/// savepoint: committed when it succeeds, rolled back as a whole when it fails or left the batch
/// unable to commit (a change undone after it changed data, a failed statement).
pub(super) async fn one_batch<T, F>(pool: &AnyPool, job: F) -> Result<T, StoreError>
where
    F: for<'c> FnOnce(&'c mut WriteConn) -> BoxFuture<'c, Result<T, StoreError>>,
{
    let pooled = pool.acquire().await.map_err(|err| StoreError::internal(anyhow::anyhow!(err)))?;
    let mut conn =
        WriteConn::postgres_batch(pooled, true).await.map_err(|err| StoreError::internal(anyhow::anyhow!(err)))?;
    let outcome = AssertUnwindSafe(job(&mut conn)).catch_unwind().await;
    let settled = conn.settle().await;
    let result = match outcome {
        Ok(Ok(value)) if settled && !conn.batch_failed() => match conn.end_batch(true).await {
            Ok(()) => return Ok(value),
            Err(err @ DbError::Sqlx(sqlx::Error::Database(_))) => Err(err.into()),
            Err(err) => {
                // The connection failed during `commit`: nothing more to do with it.
                conn.detach();
                return Err(StoreError::internal(anyhow::anyhow!("commit failed: {err}")));
            }
        },
        Ok(Ok(_)) => Err(StoreError::internal(anyhow::anyhow!("a statement failed outside every change"))),
        Ok(Err(err)) => Err(err),
        Err(_) => Err(StoreError::internal(anyhow::anyhow!("a write job panicked"))),
    };
    if conn.end_batch(false).await.is_err() {
        conn.detach();
    }
    result
}

/// Runs one job in a transaction of its own (its `begin()`), as writes without group commit do.
async fn alone(pool: &AnyPool, run: &mut Rerun) -> Result<Erased, StoreError> {
    let mut conn = WriteConn::postgres(pool.acquire().await.map_err(|err| StoreError::internal(anyhow::anyhow!(err)))?);
    let outcome = AssertUnwindSafe(run(&mut conn, true)).catch_unwind().await;
    if !conn.settle().await {
        // Never hand a connection still inside a transaction back to the pool.
        conn.detach();
    }
    outcome.unwrap_or_else(|_| Err(StoreError::internal(anyhow::anyhow!("a write job panicked"))))
}
