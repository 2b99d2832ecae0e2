//! Keeps the WAL small without stalling the writer. Copying committed WAL frames back into the
//! database file (a checkpoint), and the fsync that goes with it, happens on a thread of its
//! own: a PASSIVE checkpoint never blocks the writer. But only the writer can start the WAL over
//! from its beginning, and SQLite does that only when every frame has been copied back at the
//! moment a write transaction begins. So once the WAL passes [`RESET_FRAMES`], this thread
//! first copies, in a few quick rounds, what was committed while its last round ran, then asks
//! the writer to run one more checkpoint itself between two batches; that one finds little left
//! to copy (the writer waits for it), and the next batch starts the WAL over.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

use crate::tasks::TaskStats;

/// The name of the checkpoint thread in `/metrics`.
pub const TASK: &str = "sqlite_checkpoint";

/// 4 MB of 4 KiB pages: past this the writer is asked to start the WAL over. Each start-over
/// makes one batch wait for the last frames to be copied and for two fsyncs; measured with
/// `bench/run.sh`, a 4 MB threshold kept that wait smallest (16 MB and 64 MB made the slowest
/// answers slower, not rarer).
pub const RESET_FRAMES: i64 = 1024;

/// Stops the thread when dropped; [`Checkpointer::stop`] also waits for it.
pub struct Checkpointer {
    stop: mpsc::Sender<()>,
    thread: std::thread::JoinHandle<()>,
    reset_wanted: Arc<AtomicBool>,
}

impl Checkpointer {
    /// Stops the thread and waits until it has ended (and closed its connection).
    pub fn stop(self) {
        drop(self.stop);
        let _ = self.thread.join();
    }

    /// Whether the writer should checkpoint before its next batch; clears the request.
    pub fn take_reset(&self) -> bool {
        self.reset_wanted.swap(false, Ordering::Relaxed)
    }
}

/// A round that copied at most this many frames ends the catch-up before a reset: what was
/// committed while it ran is about as little, and is left for the writer's checkpoint.
const SMALL_ROUND: i64 = 64;
/// At most this many catch-up rounds (the writer may commit faster than they copy).
const CATCH_UP_ROUNDS: usize = 4;

/// `(log frames, frames copied back)` after a PASSIVE checkpoint on `conn`.
pub fn passive(conn: &rusqlite::Connection) -> rusqlite::Result<(i64, i64)> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| Ok((row.get(1)?, row.get(2)?)))
}

/// Runs more `round`s (each answering the frames copied back in all, or `None` when it failed)
/// after one that had copied `copied`, until one copies at most [`SMALL_ROUND`] new frames, at
/// most [`CATCH_UP_ROUNDS`]. A round copies what was committed while the one before it ran, so
/// the frames a WAL reset leaves to the writer's own checkpoint (which it waits for, fsyncs
/// included) shrink from about 50 ms of commits to about one quick round's. Answers how many
/// rounds ran.
fn catch_up(mut copied: i64, mut round: impl FnMut() -> Option<i64>) -> usize {
    for rounds in 1..=CATCH_UP_ROUNDS {
        let Some(now) = round() else { return rounds };
        let new = now - copied;
        copied = now;
        // A round that copied little, or a WAL started over meanwhile (fewer frames than before).
        if new <= SMALL_ROUND {
            return rounds;
        }
    }
    CATCH_UP_ROUNDS
}

/// Starts the thread; each round is counted in `stats` (task `sqlite_checkpoint` in `/metrics`).
pub fn start(conn: rusqlite::Connection, every: Duration, stats: TaskStats) -> std::io::Result<Checkpointer> {
    let (stop, stopped) = mpsc::channel::<()>();
    let reset_wanted = Arc::new(AtomicBool::new(false));
    let flag = reset_wanted.clone();
    let thread = std::thread::Builder::new().name("sqlite-checkpoint".into()).spawn(move || {
        // Runs until the writer drops the `Checkpointer` (the channel disconnects).
        while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
            match passive(&conn) {
                Ok((log, copied)) => {
                    if log >= RESET_FRAMES {
                        catch_up(copied, || passive(&conn).ok().map(|(_, copied)| copied));
                        flag.store(true, Ordering::Relaxed);
                    }
                    stats.record(TASK, None);
                }
                // Busy (the writer is checkpointing) is fine: the next round catches up.
                Err(err) if err.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) => {
                    tracing::debug!(error = %err, "background checkpoint skipped");
                    stats.record(TASK, None);
                }
                Err(err) => stats.record(TASK, Some(err.to_string())),
            }
        }
    })?;
    Ok(Checkpointer { stop, thread, reset_wanted })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats() -> TaskStats {
        crate::tasks::Tasks::new(crate::metrics::Metrics::new()).stats(TASK)
    }

    /// Runs `catch_up` over rounds that copy `per_round` new frames each (`None`: a failed round);
    /// answers how many ran.
    fn rounds(per_round: &[Option<i64>]) -> usize {
        let mut copied = 1000;
        let mut next = per_round.iter();
        let ran = catch_up(copied, || {
            let new = (*next.next().expect("no round past the list"))?;
            copied += new;
            Some(copied)
        });
        assert_eq!(ran, per_round.len() - next.len());
        ran
    }

    #[test]
    fn the_catch_up_stops_at_a_small_round_a_failed_one_or_its_limit() {
        assert_eq!(rounds(&[Some(SMALL_ROUND)]), 1, "the first round copied little");
        assert_eq!(rounds(&[Some(600), Some(120), Some(10)]), 3, "until a round copied little");
        assert_eq!(rounds(&[Some(600), None]), 2, "a failed round ends it");
        assert_eq!(rounds(&[Some(-900)]), 1, "a WAL started over meanwhile");
        assert_eq!(rounds(&[Some(5000); CATCH_UP_ROUNDS]), CATCH_UP_ROUNDS, "never more than the limit");
    }

    #[test]
    fn frames_are_copied_back_and_a_long_wal_asks_for_a_reset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let writer = rusqlite::Connection::open(&path).unwrap();
        writer
            .execute_batch("PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0; create table t (x text)")
            .unwrap();
        for _ in 0..RESET_FRAMES + 100 {
            writer.execute("insert into t values (?1)", ["x".repeat(3000)]).unwrap();
        }
        let file_size = || std::fs::metadata(&path).unwrap().len();
        assert!(file_size() < 100_000, "nothing copied back yet: {} bytes", file_size());
        let checkpointer =
            start(rusqlite::Connection::open(&path).unwrap(), Duration::from_millis(10), stats()).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while !checkpointer.reset_wanted.load(Ordering::Relaxed) && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(file_size() > 1024 * 3000, "the rows reached the database file: {} bytes", file_size());
        assert!(checkpointer.take_reset(), "a WAL of {RESET_FRAMES}+ frames asks for a reset");
        // The writer's own checkpoint then finds everything copied, and its next write starts over.
        let (log, copied) = passive(&writer).unwrap();
        assert_eq!(log, copied);
        writer.execute("insert into t values ('after')", []).unwrap();
        let (log, _) = passive(&writer).unwrap();
        assert!(log < 10, "the WAL started over: {log} frames");
    }
}
