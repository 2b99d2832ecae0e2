//! Recording delivery attempts in batches. An attempt that got its answer hands its result to one
//! recorder (a bounded queue, so that sending never runs far ahead of recording), which writes the
//! results queued at that moment in one change, each attempt in a change of its own (its log
//! row, its attempt row, the delivery's next state, the subscription's failure streak), so that
//! one that fails does not keep the others from counting. On SQLite the change is one job of the
//! group-commit writer instead of one per attempt; on PostgreSQL one transaction (one commit)
//! instead of one per attempt, run as a group-commit batch whose attempt rows wait for the commit.
//! Either way an attempt opens no savepoint ([`Db::write_batch`]), and a batch that fails as a
//! whole is written again one attempt at a time ([`write`]). A few batches are written at once,
//! so that the next one is gathered while one commits. After each batch the worker is told, since
//! the next delivery about a record may be due once the one before it is recorded.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::dispatcher::Shared;
use super::lease::{self, Completion};
use super::metrics::Reached;
use crate::db::{Db, Engine};

/// One attempt to record, with what is reported once it is written.
#[derive(Clone)]
pub struct Recorded {
    pub done: Completion,
    /// When the event was made (for the commit-to-delivery latency).
    pub event_created_at: String,
}

/// At most this many attempts share a change, and at most this many changes are written at once:
/// SQLite's writer commits other requests' jobs between two batches, so its batches stay short;
/// on PostgreSQL each attempt holds a subtransaction and a few round trips.
fn limits(engine: Engine) -> (usize, usize) {
    match engine {
        Engine::Sqlite => (64, 2),
        Engine::Postgres => (16, 3),
    }
}

/// Starts the recorder; it ends once every sender is dropped and what they queued is written.
pub fn start(db: Db, shared: Arc<Shared>) -> (mpsc::Sender<Recorded>, tokio::task::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(shared.config.concurrency.max(1));
    (tx, tokio::spawn(run(db, shared, rx)))
}

async fn run(db: Db, shared: Arc<Shared>, mut rx: mpsc::Receiver<Recorded>) {
    let (most, parallel) = limits(db.engine());
    let mut writing: JoinSet<()> = JoinSet::new();
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < most {
            match rx.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        while writing.len() >= parallel {
            writing.join_next().await;
        }
        let (db, shared) = (db.clone(), shared.clone());
        writing.spawn(async move { write(&db, &shared, batch).await });
    }
    while writing.join_next().await.is_some() {}
}

/// Writes `batch` in one change, reports each attempt, and wakes the worker. A batch that fails
/// as a whole (an attempt's statement failed, or on PostgreSQL a row it held was refused at the
/// commit) is written again one attempt at a time, so that one bad attempt does not keep the
/// others unrecorded.
pub async fn write(db: &Db, shared: &Shared, batch: Vec<Recorded>) {
    let ids: Vec<i64> = batch.iter().map(|one| one.done.delivery_id).collect();
    let spare = (batch.len() > 1).then(|| batch.clone());
    match written(db, batch).await {
        Ok(outcomes) => reported(shared, outcomes),
        Err(err) => match spare {
            Some(spare) => {
                tracing::warn!(deliveries = ?ids, error = %err, "recording delivery attempts one by one");
                for one in spare {
                    let id = one.done.delivery_id;
                    match written(db, vec![one]).await {
                        Ok(outcomes) => reported(shared, outcomes),
                        Err(err) => tracing::error!(delivery_id = id, error = %err, "cannot record a delivery attempt"),
                    }
                }
            }
            None => tracing::error!(deliveries = ?ids, error = %err, "cannot record delivery attempts"),
        },
    }
    shared.recorded.notify_one();
}

type Outcomes = Vec<(Recorded, Result<(bool, Option<String>), crate::db::DbError>)>;

/// Each attempt in a change of its own, all of them committed together.
async fn written(db: &Db, batch: Vec<Recorded>) -> Result<Outcomes, crate::domain::StoreError> {
    db.write_batch(move |conn| {
        Box::pin(async move {
            let mut batch = batch;
            let mut results = Vec::with_capacity(batch.len());
            for one in &mut batch {
                results.push(lease::complete(conn, &mut one.done).await);
            }
            Ok(batch.into_iter().zip(results).collect::<Vec<_>>())
        })
    })
    .await
}

fn reported(shared: &Shared, outcomes: Outcomes) {
    for (one, result) in outcomes {
        match result {
            Ok((applied, disabled)) => report(shared, &one, applied, disabled),
            Err(err) => {
                tracing::error!(delivery_id = one.done.delivery_id, error = %err, "cannot record a delivery attempt")
            }
        }
    }
}

fn report(shared: &Shared, one: &Recorded, applied: bool, disabled: Option<String>) {
    let done = &one.done;
    if applied {
        shared.metrics.reached(match done.status {
            "delivered" => Reached::Delivered,
            "dead" => Reached::Dead,
            _ => Reached::Retrying,
        });
        if done.status == "delivered" {
            let at = chrono::DateTime::parse_from_rfc3339(&done.now);
            let created = chrono::DateTime::parse_from_rfc3339(&one.event_created_at);
            if let (Ok(at), Ok(created)) = (at, created) {
                shared.metrics.latency((at - created).to_std().unwrap_or_default());
            }
        }
    }
    if let Some(reason) = disabled {
        tracing::warn!(subscription_id = done.subscription_id, reason, "subscription disabled");
    }
}
