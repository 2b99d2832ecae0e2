//! Storage: one body of runtime SQL for SQLite and PostgreSQL (written against [`WriteConn`] for
//! writes and sqlx's `Any` pool for reads), embedded migrations (a folder per engine), and the
//! write path.
//!
//! Writes go through [`Db::write`]: a job gets a [`WriteConn`] and makes its change atomic with
//! `conn.begin()`; a job that fails must leave nothing behind outside that (a single statement,
//! such as a log row, is atomic by itself). On SQLite the jobs of many requests share one
//! transaction on the writer thread's own connection (group commit, see `writer.rs`) and
//! `begin()` is a savepoint; on PostgreSQL each job runs on a pooled connection and its `begin()`
//! is a transaction of its own. Webhook writes go through [`Db::write_shared`], which PostgreSQL
//! also group-commits (see `pg_batch.rs`). Either way a caller learns the outcome only once it is
//! durably committed. Reads (the log listing, readiness) use the sqlx pool on both engines.

mod checkpointer;
pub mod columns;
mod conn;
mod error;
mod pg_batch;
mod pg_later;
mod read;
mod rows;
pub mod sqlite_memory;
mod value;
mod writer;

pub use conn::{Change, WriteConn};
pub use error::ResultExt;
pub use read::{Fetch, Reader};
pub use value::{bind, DbError, Row, Value};

use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Executor};
use tracing::Instrument;

use crate::config::{Config, SqliteSynchronous};
use crate::domain::StoreError;
use crate::metrics::Metrics;
use crate::tasks::Tasks;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// How often the background checkpointer copies committed WAL frames into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(50);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    engine: Engine,
    writer: Option<writer::Writer>,
    batcher: Option<pg_batch::Batcher>,
}

/// A unit of work run inside a transaction (see the module docs).
pub type Job<T> = Box<dyn for<'c> FnOnce(&'c mut WriteConn) -> BoxFuture<'c, Result<T, StoreError>> + Send>;

impl Db {
    /// Connects, applies the migrations, and (on SQLite) starts the group-commit writer, with
    /// metrics of its own (for tools and tests; the service uses [`Db::connect_with`]).
    pub async fn connect(config: &Config) -> anyhow::Result<Db> {
        Self::connect_with(config, &Tasks::new(Metrics::new())).await
    }

    /// As [`Db::connect`]; the SQLite writer's batches and the checkpoint thread, or
    /// PostgreSQL's group-commit batches, report to the metrics of `tasks`.
    pub async fn connect_with(config: &Config, tasks: &Tasks) -> anyhow::Result<Db> {
        sqlx::any::install_default_drivers();
        let (engine, url) = engine_and_url(&config.database_url)?;
        let pragmas = sqlite_pragmas(config.sqlite_synchronous);
        let mut options = AnyPoolOptions::new()
            .max_connections(shared_pool_size(engine, config.db_max_connections))
            .acquire_timeout(Duration::from_secs(10));
        if engine == Engine::Sqlite {
            let pragmas = pragmas.clone();
            options = options.after_connect(move |conn, _meta| {
                let pragmas = pragmas.clone();
                Box::pin(async move {
                    conn.execute(pragmas.as_str()).await?;
                    Ok(())
                })
            });
        }
        let pool = options.connect(&url).await.map_err(|err| anyhow::anyhow!("cannot open the database: {err}"))?;
        let migrator = match engine {
            Engine::Sqlite => &SQLITE_MIGRATIONS,
            Engine::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&pool).await.map_err(|err| anyhow::anyhow!("cannot migrate the database: {err}"))?;
        let writer = match engine {
            Engine::Sqlite => {
                let conn = open_sqlite_writer(&url, &pragmas)?;
                let stats = tasks.stats(checkpointer::TASK);
                let checkpoints = checkpointer::start(open_sqlite_writer(&url, &pragmas)?, CHECKPOINT_EVERY, stats)?;
                Some(writer::Writer::start(conn, checkpoints, tasks.metrics())?)
            }
            Engine::Postgres => None,
        };
        let batcher = match engine {
            Engine::Postgres => {
                let committers = committers(config.db_max_connections);
                let own = AnyPoolOptions::new()
                    .max_connections(committers as u32)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect(&url)
                    .await
                    .map_err(|err| anyhow::anyhow!("cannot open the database: {err}"))?;
                Some(pg_batch::Batcher::start(own, committers, tasks.metrics()))
            }
            Engine::Sqlite => None,
        };
        Ok(Db { pool, engine, writer, batcher })
    }

    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// For reads. Writes go through [`Db::write`].
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Reads through the pool that return [`Row`]s, as the write connection does (see [`Fetch`]).
    pub fn reader(&self) -> Reader {
        Reader::new(self.pool.clone())
    }

    /// Runs `job` on the write connection (see the module docs for the transaction rules) and
    /// returns once its writes are committed.
    pub async fn write<T, F>(&self, job: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut WriteConn) -> BoxFuture<'c, Result<T, StoreError>> + Send + 'static,
    {
        // The SQLite writer polls jobs on its own task: keep them in the caller's span (request id).
        let span = tracing::Span::current();
        let job: Job<T> = Box::new(move |conn: &mut WriteConn| job(conn).instrument(span).boxed());
        match &self.writer {
            Some(writer) => writer.submit(job).await,
            None => {
                // A write runs to its end on a task of its own even if the client goes away and
                // the handler is dropped: cancelling sqlx mid-`BEGIN` can leave a pooled
                // connection inside a transaction, and a half-sent change helps nobody.
                let pool = self.pool.clone();
                tokio::spawn(async move {
                    let mut conn = WriteConn::postgres(pool.acquire().await?);
                    let result = job(&mut conn).await;
                    if !conn.settle().await {
                        // Never hand a connection still inside a transaction back to the pool.
                        conn.detach();
                    }
                    result
                })
                .await
                .map_err(|err| StoreError::internal(anyhow::anyhow!("a write task failed: {err}")))?
            }
        }
    }

    /// As [`Db::write`], for a job made of many small changes that each open their own
    /// `conn.begin()` and are committed together (the delivery recorder's attempts): what the job
    /// writes is kept when it succeeds and undone when it fails. On PostgreSQL the job runs as one
    /// batch transaction with `pg_batch.rs`'s rules: its changes open no savepoint, and rows
    /// nobody reads back ([`WriteConn::insert_later`] and its siblings) go out merged with the
    /// commit, so a refused held row fails the whole job, as does any failed statement (the
    /// transaction is aborted) and a change rolled back after it changed data. On SQLite the job
    /// runs in a savepoint of the writer's batch and its changes open none either: a failed
    /// statement inside a change, or a change rolled back after it changed data, fails the whole
    /// job; a failed statement outside every change fails alone.
    pub async fn write_batch<T, F>(&self, job: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut WriteConn) -> BoxFuture<'c, Result<T, StoreError>> + Send + 'static,
    {
        if self.writer.is_some() {
            return self
                .write(move |conn| {
                    Box::pin(async move {
                        let mut change = conn.begin().await?;
                        change.without_savepoints();
                        let value = job(&mut change).await;
                        let lost = change.lost_unsaved();
                        change.savepoints_again();
                        // On an error the change is dropped, which rolls it back.
                        let value = value?;
                        if lost {
                            return Err(StoreError::internal(anyhow::anyhow!(
                                "a change of the batch failed and could not be undone alone"
                            )));
                        }
                        change.commit().await?;
                        Ok(value)
                    })
                })
                .await;
        }
        let span = tracing::Span::current();
        let pool = self.pool.clone();
        // On a task of its own for the reason given in `write`.
        tokio::spawn(async move { pg_batch::one_batch(&pool, job).instrument(span).await })
            .await
            .map_err(|err| StoreError::internal(anyhow::anyhow!("a write task failed: {err}")))?
    }

    /// As [`Db::write`], for a job that takes `input` and may run twice: on PostgreSQL it runs in
    /// a transaction shared with other jobs (group commit, see `pg_batch.rs`) and, when that
    /// transaction fails as a whole, again alone on a copy of `input`. `affinity` (a hash of the
    /// record the job locks, if any) keeps jobs on one record in one committer's batches. On
    /// SQLite it is [`Db::write`]: `input` is moved in, never copied.
    pub async fn write_shared<I, T, F>(&self, affinity: Option<u64>, input: I, job: F) -> Result<T, StoreError>
    where
        I: Clone + Send + 'static,
        T: Send + 'static,
        F: for<'c> Fn(&'c mut WriteConn, I) -> BoxFuture<'c, Result<T, StoreError>> + Send + 'static,
    {
        let Some(batcher) = &self.batcher else {
            return self.write(move |conn| job(conn, input)).await;
        };
        let span = tracing::Span::current();
        let mut spare = Some(input);
        let run: pg_batch::Rerun =
            Box::new(move |conn: &mut WriteConn, last: bool| -> BoxFuture<'_, Result<pg_batch::Erased, StoreError>> {
                // The batched attempt takes a copy; the run alone (after a failed batch) the original.
                let input = if last { spare.take() } else { spare.clone() };
                match input {
                    Some(input) => job(conn, input)
                        .map(|result| result.map(|value| Box::new(value) as pg_batch::Erased))
                        .instrument(span.clone())
                        .boxed(),
                    None => futures_util::future::ready(Err(StoreError::internal(anyhow::anyhow!(
                        "a write job was run alone twice"
                    ))))
                    .boxed(),
                }
            });
        batcher.submit(affinity, run).await
    }

    /// Whether the database answers a trivial query (for `/readyz`).
    pub async fn ping(&self) -> bool {
        sqlx::query("select 1").fetch_all(&self.pool).await.is_ok()
    }

    /// Waits for queued writes to commit, then closes every connection.
    pub async fn close(&self) {
        if let Some(writer) = &self.writer {
            writer.shutdown().await;
        }
        if let Some(batcher) = &self.batcher {
            batcher.shutdown().await;
        }
        self.pool.close().await;
    }
}

/// PostgreSQL committers (see `pg_batch.rs`): half of `CRM_DATABASE_MAX_CONNECTIONS`, in a pool of
/// their own, so that webhook writes and the other work (reads, the delivery worker, admin
/// writes) never wait for each other's connections.
fn committers(max_connections: u32) -> usize {
    (max_connections as usize / 2).max(1)
}

/// The pool of reads and the other writes: on PostgreSQL what the committers leave.
fn shared_pool_size(engine: Engine, max_connections: u32) -> u32 {
    match engine {
        Engine::Sqlite => max_connections,
        Engine::Postgres => max_connections.saturating_sub(committers(max_connections) as u32).max(1),
    }
}

/// Reads a flag column of a pooled read: `boolean` on PostgreSQL, integer 0/1 on SQLite.
pub fn flag(row: &sqlx::any::AnyRow, column: &str) -> Result<bool, sqlx::Error> {
    use sqlx::Row;
    row.try_get::<bool, _>(column).or_else(|_| row.try_get::<i64, _>(column).map(|v| v != 0))
}

/// The writer's own connection to the file the pool migrated. An in-memory database would be a
/// second, empty database here, so it is refused.
fn open_sqlite_writer(url: &str, pragmas: &str) -> anyhow::Result<rusqlite::Connection> {
    use std::str::FromStr;
    if url.contains(":memory:") || url.contains("mode=memory") {
        anyhow::bail!("CRM_DATABASE_URL: an in-memory SQLite database is not supported; name a file");
    }
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)?;
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = rusqlite::Connection::open_with_flags(options.get_filename(), flags)
        .map_err(|err| anyhow::anyhow!("cannot open the database for writing: {err}"))?;
    conn.execute_batch(pragmas)?;
    // Enough for every distinct statement the stores issue, so none is prepared twice.
    conn.set_prepared_statement_cache_capacity(256);
    Ok(conn)
}

fn engine_and_url(url: &str) -> anyhow::Result<(Engine, String)> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok((Engine::Postgres, url.to_string()));
    }
    if let Some(rest) = url.strip_prefix("sqlite:") {
        // Create the file when it does not exist yet, unless the URL already says otherwise.
        let url = if rest.contains("mode=") {
            url.to_string()
        } else if rest.contains('?') {
            format!("{url}&mode=rwc")
        } else {
            format!("{url}?mode=rwc")
        };
        return Ok((Engine::Sqlite, url));
    }
    anyhow::bail!("CRM_DATABASE_URL must start with sqlite: or postgres://")
}

/// WAL lets readers run beside the one writer. Checkpoints are run by `checkpointer.rs`, which
/// keeps the WAL to a few MB; SQLite's own automatic checkpoint stays on at 64 MB as a backstop
/// (it runs on the writer, between batches' commits), and `journal_size_limit` truncates a WAL
/// file that grew past 64 MB once it starts over. A savepoint's undo copy (`temp_store`) stays
/// in memory.
fn sqlite_pragmas(synchronous: SqliteSynchronous) -> String {
    let synchronous = match synchronous {
        SqliteSynchronous::Normal => "NORMAL",
        SqliteSynchronous::Full => "FULL",
    };
    format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = {synchronous}; PRAGMA busy_timeout = 10000; \
         PRAGMA foreign_keys = ON; PRAGMA journal_size_limit = 67108864; PRAGMA temp_store = MEMORY; \
         PRAGMA wal_autocheckpoint = 16384;"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_writer_refuses_an_in_memory_database() {
        for url in ["sqlite::memory:", "sqlite://x.db?mode=memory"] {
            let err = open_sqlite_writer(url, "").unwrap_err().to_string();
            assert!(err.contains("in-memory SQLite database is not supported"), "{url}: {err}");
        }
    }

    #[test]
    fn the_writer_opens_the_file_the_url_names() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        rusqlite::Connection::open(&path).unwrap().execute_batch("create table t (x integer)").unwrap();
        let conn = open_sqlite_writer(&format!("sqlite://{}?mode=rwc", path.display()), "PRAGMA foreign_keys = ON;")
            .expect("open");
        conn.execute_batch("insert into t values (1)").unwrap();
        let missing = dir.path().join("missing.db");
        let err = open_sqlite_writer(&format!("sqlite://{}", missing.display()), "").unwrap_err().to_string();
        assert!(err.starts_with("cannot open the database for writing"), "{err}");
    }
}
