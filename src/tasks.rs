//! Background tasks of a running service. The [`Tasks`] of an `Application` starts every one of
//! them (idempotency purge, rate-limiter sweep, metrics upkeep, and whatever else needs to run on
//! its own), and on graceful shutdown tells them to stop and waits for each to finish before the
//! database closes. Each task is visible in `/metrics`: `crm_task_runs_total{task}`,
//! `crm_task_errors_total{task}` and `crm_task_last_run_timestamp_seconds{task}` (Unix time of the
//! end of its last run). The SQLite checkpoint thread reports under the same names through
//! [`Tasks::stats`]; it is stopped and joined when the database closes.
//!
//! A job that repeats, and a task of its own that watches for shutdown:
//!
//! ```
//! # async fn example(tasks: &crm_webhooks::tasks::Tasks) {
//! use std::time::Duration;
//! tasks.spawn_periodic("cleanup", Duration::from_secs(60), || async {
//!     // one run; an Err is logged and counted in crm_task_errors_total
//!     Ok(())
//! });
//! tasks.spawn("worker", |mut shutdown| async move {
//!     loop {
//!         tokio::select! {
//!             () = shutdown.requested() => return Ok(()),
//!             () = tokio::time::sleep(Duration::from_millis(100)) => { /* claim and send */ }
//!         }
//!     }
//! });
//! tasks.shutdown().await; // both have stopped when this returns
//! # }
//! ```

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use crate::metrics::Metrics;

pub const RUNS: &str = "crm_task_runs_total";
pub const ERRORS: &str = "crm_task_errors_total";
pub const LAST_RUN: &str = "crm_task_last_run_timestamp_seconds";

/// Tells a task that the service is stopping.
#[derive(Clone)]
pub struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    /// Resolves once shutdown has been asked for (at once if it already has).
    pub async fn requested(&mut self) {
        let _ = self.0.wait_for(|stop| *stop).await;
    }

    pub fn is_requested(&self) -> bool {
        *self.0.borrow()
    }
}

/// Where one task reports its runs and errors.
#[derive(Clone)]
pub struct TaskStats {
    runs: metrics::Counter,
    errors: metrics::Counter,
    last_run: metrics::Gauge,
}

impl TaskStats {
    /// Counts one finished run, failed when `error` is given (which is logged).
    pub fn record(&self, name: &str, error: Option<String>) {
        self.runs.increment(1);
        if let Some(error) = error {
            self.errors.increment(1);
            tracing::error!(task = name, error = %error, "background task failed");
        }
        self.last_run.set(chrono::Utc::now().timestamp_millis() as f64 / 1000.0);
    }
}

/// A started task: its name and its handle.
type Running = (&'static str, JoinHandle<()>);

#[derive(Clone)]
pub struct Tasks {
    metrics: Metrics,
    stop: Arc<watch::Sender<bool>>,
    running: Arc<Mutex<Vec<Running>>>,
}

impl Tasks {
    pub fn new(metrics: Metrics) -> Self {
        metrics.describe_counter(RUNS, "Runs of each background task.");
        metrics.describe_counter(ERRORS, "Failed runs of each background task.");
        metrics.describe_gauge(LAST_RUN, "Unix time at which each background task last finished a run.");
        Self { metrics, stop: Arc::new(watch::channel(false).0), running: Arc::default() }
    }

    /// The counters of task `name` (their series appear in `/metrics` at once, at zero).
    pub fn stats(&self, name: &'static str) -> TaskStats {
        let label = [("task", name.to_string())];
        let stats = TaskStats {
            runs: self.metrics.counter(RUNS, &label),
            errors: self.metrics.counter(ERRORS, &label),
            last_run: self.metrics.gauge(LAST_RUN, &label),
        };
        stats.runs.increment(0);
        stats.errors.increment(0);
        stats
    }

    /// The metrics the tasks report to.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    pub fn shutdown_signal(&self) -> Shutdown {
        Shutdown(self.stop.subscribe())
    }

    /// Runs `job` now and then every `every` until shutdown. A run in progress is never cut
    /// short: shutdown waits for it.
    pub fn spawn_periodic<F, Fut>(&self, name: &'static str, every: Duration, mut job: F)
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let stats = self.stats(name);
        let mut shutdown = self.shutdown_signal();
        let handle = tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    biased;
                    () = shutdown.requested() => break,
                    _ = tick.tick() => {
                        let result = job().await;
                        stats.record(name, result.err().map(|e| format!("{e:#}")));
                    }
                }
            }
        });
        self.running.lock().unwrap_or_else(|p| p.into_inner()).push((name, handle));
    }

    /// Runs `task` until it returns; it is handed a [`Shutdown`] to watch and must return soon
    /// after shutdown is requested. Its return counts as one run (an `Err` as an error).
    pub fn spawn<F, Fut>(&self, name: &'static str, task: F)
    where
        F: FnOnce(Shutdown) -> Fut,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let stats = self.stats(name);
        let running = task(self.shutdown_signal());
        let handle = tokio::spawn(async move {
            let result = running.await;
            stats.record(name, result.err().map(|e| format!("{e:#}")));
        });
        self.running.lock().unwrap_or_else(|p| p.into_inner()).push((name, handle));
    }

    /// Asks every task to stop and waits until all have.
    pub async fn shutdown(&self) {
        self.stop.send_replace(true);
        let handles = std::mem::take(&mut *self.running.lock().unwrap_or_else(|p| p.into_inner()));
        for (name, handle) in handles {
            if let Err(err) = handle.await {
                tracing::error!(task = name, error = %err, "background task panicked");
            }
        }
    }

    /// Names of the tasks started and not yet stopped.
    pub fn running(&self) -> Vec<&'static str> {
        self.running.lock().unwrap_or_else(|p| p.into_inner()).iter().map(|(name, _)| *name).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn shutdown_stops_and_awaits_every_task() {
        let tasks = Tasks::new(Metrics::new());
        let ticks = Arc::new(AtomicUsize::new(0));
        let counted = ticks.clone();
        tasks.spawn_periodic("ticker", Duration::from_millis(5), move || {
            let counted = counted.clone();
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        });
        let finished = Arc::new(AtomicUsize::new(0));
        let done = finished.clone();
        tasks.spawn("worker", move |mut shutdown| async move {
            shutdown.requested().await;
            // Work that must complete before shutdown returns.
            tokio::time::sleep(Duration::from_millis(50)).await;
            done.fetch_add(1, Ordering::SeqCst);
            Ok(())
        });
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert_eq!(tasks.running(), vec!["ticker", "worker"]);
        tasks.shutdown().await;
        assert_eq!(finished.load(Ordering::SeqCst), 1, "the worker finished before shutdown returned");
        assert!(tasks.running().is_empty());
        let after = ticks.load(Ordering::SeqCst);
        assert!(after >= 1);
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert_eq!(ticks.load(Ordering::SeqCst), after, "no run after shutdown");
    }

    #[tokio::test]
    async fn runs_and_errors_are_counted_per_task() {
        let metrics = Metrics::new();
        let tasks = Tasks::new(metrics.clone());
        tasks.spawn_periodic("failing", Duration::from_secs(3600), || async { anyhow::bail!("broken") });
        tasks.spawn("quiet", |_| async { Ok(()) });
        tokio::time::sleep(Duration::from_millis(50)).await;
        tasks.shutdown().await;
        let text = metrics.render();
        assert!(text.contains("crm_task_runs_total{task=\"failing\"} 1"), "{text}");
        assert!(text.contains("crm_task_errors_total{task=\"failing\"} 1"), "{text}");
        assert!(text.contains("crm_task_runs_total{task=\"quiet\"} 1"), "{text}");
        assert!(text.contains("crm_task_errors_total{task=\"quiet\"} 0"), "{text}");
        assert!(text.contains("crm_task_last_run_timestamp_seconds{task=\"quiet\"}"), "{text}");
    }
}
