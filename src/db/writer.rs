//! Group commit for SQLite: one task owns the only write connection, takes every job queued at
//! the moment, and runs them in one transaction. Each job makes its own change atomic with a
//! savepoint (`conn.begin()`), so a failing job rolls back alone. Replies are sent only after the
//! transaction committed, so a handler never acknowledges a write that could still be lost.

use std::any::Any;
use std::panic::AssertUnwindSafe;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use sqlx::AnyConnection;
use sqlx::{Any as AnyDb, Connection, Transaction};
use tokio::sync::{mpsc, oneshot};

use super::Job;
use crate::http::error::AppError;

/// At most this many jobs share a transaction, so a long queue still commits often.
const MAX_BATCH: usize = 256;
/// Queued jobs beyond this make submitters wait (back-pressure instead of unbounded memory).
const QUEUE_DEPTH: usize = 8192;

type Erased = Box<dyn Any + Send>;

struct Queued {
    run: Job<Erased>,
    reply: oneshot::Sender<Result<Erased, AppError>>,
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
    pub fn start(conn: AnyConnection) -> Writer {
        let (sender, receiver) = mpsc::channel(QUEUE_DEPTH);
        tokio::spawn(run(conn, receiver));
        Writer { sender }
    }

    pub async fn submit<T: Send + 'static>(&self, job: Job<T>) -> Result<T, AppError> {
        let run: Job<Erased> = Box::new(move |conn: &mut AnyConnection| {
            job(conn).map(|result| result.map(|value| Box::new(value) as Erased)).boxed()
        });
        let (reply, answer) = oneshot::channel();
        self.sender
            .send(Message::Job(Queued { run, reply }))
            .await
            .map_err(|_| AppError::internal(anyhow::anyhow!("the database writer has stopped")))?;
        let erased =
            answer.await.map_err(|_| AppError::internal(anyhow::anyhow!("the database writer dropped a job")))??;
        erased
            .downcast::<T>()
            .map(|value| *value)
            .map_err(|_| AppError::internal(anyhow::anyhow!("the database writer returned the wrong type")))
    }

    /// Commits everything queued so far and closes the write connection.
    pub async fn shutdown(&self) {
        let (done, stopped) = oneshot::channel();
        if self.sender.send(Message::Stop(done)).await.is_ok() {
            let _ = stopped.await;
        }
    }
}

async fn run(mut conn: AnyConnection, mut receiver: mpsc::Receiver<Message>) {
    let mut messages: Vec<Message> = Vec::with_capacity(MAX_BATCH);
    let mut batch: Vec<Queued> = Vec::with_capacity(MAX_BATCH);
    let mut stop: Option<oneshot::Sender<()>> = None;
    while stop.is_none() {
        if receiver.recv_many(&mut messages, MAX_BATCH).await == 0 {
            break;
        }
        for message in messages.drain(..) {
            match message {
                Message::Job(job) => batch.push(job),
                Message::Stop(done) => stop = Some(done),
            }
        }
        commit_batch(&mut conn, &mut batch).await;
    }
    receiver.close();
    while let Ok(message) = receiver.try_recv() {
        if let Message::Job(job) = message {
            batch.push(job);
        }
    }
    commit_batch(&mut conn, &mut batch).await;
    let _ = conn.close().await;
    if let Some(done) = stop {
        let _ = done.send(());
    }
}

async fn commit_batch(conn: &mut AnyConnection, batch: &mut Vec<Queued>) {
    if batch.is_empty() {
        return;
    }
    let mut tx = match conn.begin().await {
        Ok(tx) => tx,
        Err(err) => {
            tracing::error!(error = %err, "cannot begin a write transaction");
            for job in batch.drain(..) {
                let _ = job.reply.send(Err(AppError::internal(anyhow::anyhow!("cannot begin: {err}"))));
            }
            return;
        }
    };
    let mut finished = Vec::with_capacity(batch.len());
    for job in batch.drain(..) {
        let result = run_job(&mut tx, job.run).await;
        finished.push((job.reply, result));
    }
    match tx.commit().await {
        Ok(()) => {
            for (reply, result) in finished {
                let _ = reply.send(result);
            }
        }
        Err(err) => {
            tracing::error!(error = %err, jobs = finished.len(), "group commit failed");
            for (reply, _) in finished {
                let _ = reply.send(Err(AppError::internal(anyhow::anyhow!("commit failed: {err}"))));
            }
        }
    }
}

/// Runs one job in the batch's transaction. A job keeps its change atomic with its own
/// `begin()` (a savepoint here) and, when it fails, leaves nothing behind outside it; a panic
/// drops the job's open savepoint, which rolls it back.
async fn run_job(tx: &mut Transaction<'_, AnyDb>, run: Job<Erased>) -> Result<Erased, AppError> {
    let outcome: BoxFuture<'_, _> = run(tx);
    match AssertUnwindSafe(outcome).catch_unwind().await {
        Ok(result) => result,
        Err(_) => Err(AppError::internal(anyhow::anyhow!("a write job panicked"))),
    }
}
