//! The write connection every store function takes: one API and one body of SQL over two
//! engines. On SQLite it wraps the group-commit writer's own `rusqlite` connection, so a job runs
//! start to end on the writer's thread with no hop per statement; on PostgreSQL a pooled sqlx
//! connection. SQL uses `$1, $2, …` placeholders, which both engines accept (SQLite binds them by
//! number here, as sqlx does).

use std::sync::Arc;

use futures_util::TryStreamExt;
use sqlx::any::AnyRow;
use sqlx::pool::PoolConnection;
use sqlx::{Any, Column, Executor, Row as _};

use super::pg_later::Held;
use super::rows::{any_row, sqlite_control, sqlite_rows, Shapes};
use super::value::{DbError, Row, Value};

pub struct WriteConn {
    inner: Inner,
    /// Open transaction levels: a writer's batch transaction counts as one.
    depth: u32,
    /// Rollbacks owed by [`Change`]s dropped without an answer on PostgreSQL (a destructor
    /// cannot wait for the server); they run before the next statement.
    owed: Vec<String>,
    /// Set while the connection runs a PostgreSQL batch (see `pg_batch.rs`).
    batch: Option<BatchState>,
    unsaved: Unsaved,
}

/// What a PostgreSQL batch learns while its jobs run.
#[derive(Default)]
struct BatchState {
    /// A job's outermost savepoint was committed: its `release` goes out with the next savepoint
    /// in one round trip (the batch's `commit` releases it anyway).
    release_owed: Option<String>,
    /// A statement failed outside every savepoint of a job: the batch transaction is aborted.
    aborted: bool,
    /// A deadlock or a serialization failure: the batch must be re-run job by job.
    retry: bool,
    /// Statements that return nothing ([`WriteConn::insert_later`] and its siblings), held until
    /// the commit (see `pg_later.rs`).
    held: Held,
}

/// Changes opened at one level that open no savepoint (see [`WriteConn::postgres_batch`] and
/// [`WriteConn::without_savepoints`]): a rollback of one costs nothing while it has only read;
/// one that changed data, or had a statement fail, cannot be undone alone, and loses what encloses
/// it.
#[derive(Default)]
struct Unsaved {
    /// The depth at which `begin()` opens no savepoint.
    level: Option<u32>,
    /// While such a change is open: whether it sent a statement that may have changed data.
    open: Option<bool>,
    /// Such a change could not be undone alone.
    lost: bool,
}

/// Whether `sql` only reads (it may lock rows, which a batch holds until its end either way).
fn reads_only(sql: &str) -> bool {
    sql.trim_start().get(..6).is_some_and(|word| word.eq_ignore_ascii_case("select"))
}

enum Inner {
    Sqlite(rusqlite::Connection, Shapes),
    Postgres(PoolConnection<Any>),
}

impl WriteConn {
    pub(super) fn sqlite(conn: rusqlite::Connection) -> Self {
        WriteConn {
            inner: Inner::Sqlite(conn, Shapes::default()),
            depth: 0,
            owed: Vec::new(),
            batch: None,
            unsaved: Unsaved::default(),
        }
    }

    pub(super) fn postgres(conn: PoolConnection<Any>) -> Self {
        WriteConn { inner: Inner::Postgres(conn), depth: 0, owed: Vec::new(), batch: None, unsaved: Unsaved::default() }
    }

    /// Opens a PostgreSQL batch transaction on a pooled connection: a job's `begin()` inside is a
    /// savepoint, as in the SQLite writer's batches. With `unsaved`, a job's outermost `begin()`
    /// sends nothing: its change runs straight in the batch's transaction, and a rollback of it
    /// costs nothing while it has only read (what it queued is dropped); one that changed data,
    /// or a failed statement in it, loses the batch ([`WriteConn::batch_failed`]), whose jobs
    /// then run alone. That saves a round trip per job.
    pub(super) async fn postgres_batch(conn: PoolConnection<Any>, unsaved: bool) -> Result<Self, DbError> {
        let mut conn = WriteConn {
            inner: Inner::Postgres(conn),
            depth: 0,
            owed: Vec::new(),
            batch: Some(BatchState::default()),
            unsaved: Unsaved { level: unsaved.then_some(1), ..Unsaved::default() },
        };
        // Values of statements run later are inlined as literals quoted for this setting.
        conn.raw("begin; set local standard_conforming_strings = on").await?;
        conn.depth = 1;
        Ok(conn)
    }

    /// Ends a PostgreSQL batch with `commit` or `rollback`.
    pub(super) async fn end_batch(&mut self, commit: bool) -> Result<(), DbError> {
        if let Some(batch) = &mut self.batch {
            // `commit` releases every savepoint.
            batch.release_owed = None;
        }
        self.unsaved.open = None;
        self.owed.clear();
        self.depth = 0;
        self.raw(if commit { "commit" } else { "rollback" }).await
    }

    /// Whether this connection is PostgreSQL's: for the few statements written per engine
    /// (PostgreSQL can insert inside a `with`; SQLite cannot).
    pub fn is_postgres(&self) -> bool {
        matches!(self.inner, Inner::Postgres(_))
    }

    /// Whether the batch must stop and run its jobs one by one: a statement failed outside every
    /// savepoint (the transaction is aborted), or with a deadlock or serialization failure, or a
    /// job's change without a savepoint could not be undone alone.
    pub(super) fn batch_failed(&self) -> bool {
        self.batch.as_ref().is_some_and(|b| b.aborted || b.retry) || self.unsaved.lost || self.depth != 1
    }

    /// Whether a change without a savepoint could not be undone alone (see
    /// [`WriteConn::postgres_batch`]).
    pub(super) fn lost_unsaved(&self) -> bool {
        self.unsaved.lost
    }

    /// From here on, a change opened at the current level opens no savepoint, as a PostgreSQL
    /// batch's jobs do (see [`WriteConn::postgres_batch`]); for a job of the SQLite writer made of
    /// many changes ([`super::Db::write_batch`]), which must fail as a whole when
    /// [`WriteConn::lost_unsaved`] says so. [`WriteConn::savepoints_again`] ends it.
    pub(super) fn without_savepoints(&mut self) {
        self.unsaved = Unsaved { level: Some(self.depth), ..Unsaved::default() };
    }

    /// Every change opens a savepoint again (also the writer's reset before each job).
    pub(super) fn savepoints_again(&mut self) {
        self.unsaved = Unsaved::default();
    }

    /// Whether a change without a savepoint is open, its statements run at this depth.
    fn in_unsaved(&self) -> bool {
        self.unsaved.open.is_some() && self.unsaved.level.map(|level| level + 1) == Some(self.depth)
    }

    /// A statement's error, noted for the batch, and for a change without a savepoint, which it
    /// leaves unable to be undone alone (on PostgreSQL the whole transaction is aborted; on SQLite
    /// the change's earlier statements stay), unless it is a deadlock.
    fn noted<T>(&mut self, result: Result<T, DbError>) -> Result<T, DbError> {
        if let Err(err) = &result {
            let (inside, retryable) = (self.in_unsaved(), err.is_retryable());
            if let Some(batch) = &mut self.batch {
                batch.retry |= retryable;
                batch.aborted |= self.depth <= 1 || inside;
            }
            // A deadlock would have lost the batch with a savepoint too: not the savepoint's cost.
            self.unsaved.lost |= inside && !retryable;
        }
        result
    }

    /// A control statement (simple query protocol, several statements allowed) on PostgreSQL.
    /// In a batch, what is held goes out in front of its `commit`, in the same round trip; its
    /// `rollback` drops what is held.
    async fn raw(&mut self, sql: &str) -> Result<(), DbError> {
        let mut text = std::borrow::Cow::Borrowed(sql);
        if let Some(batch) = &mut self.batch {
            if sql == "rollback" {
                batch.held.clear();
            } else if sql == "commit" {
                if let Some(held) = batch.held.take() {
                    text = std::borrow::Cow::Owned(format!("{held}; commit"));
                }
            }
        }
        let result = match &mut self.inner {
            Inner::Postgres(conn) => conn.execute(sqlx::raw_sql(&text)).await.map(|_| ()).map_err(DbError::from),
            Inner::Sqlite(conn, _) => sqlite_control(conn, &text).map_err(DbError::from),
        };
        if let (Err(_), Some(batch)) = (&result, &mut self.batch) {
            batch.aborted = true;
        }
        result
    }

    /// Runs a statement; returns the number of rows it changed.
    pub async fn execute(&mut self, sql: &str, args: Vec<Value>) -> Result<u64, DbError> {
        self.pay_owed().await?;
        self.send_held_before(sql).await?;
        match &mut self.inner {
            Inner::Sqlite(conn, shapes) => {
                let done = sqlite_rows(conn, shapes, sql, &args).map(|_| conn.changes());
                self.noted(done)
            }
            Inner::Postgres(conn) => {
                let done = conn.execute(super::value::bind(sqlx::query(sql), args)).await.map_err(DbError::from);
                Ok(self.noted(done)?.rows_affected())
            }
        }
    }

    /// Inserts a row nobody reads back in this job: `head` is `insert into TABLE (…)`, `args`
    /// its values. In a PostgreSQL batch it is held until the commit and sent in its round trip,
    /// merged with the other rows of `head` (see `pg_later.rs`), its values written as literals
    /// ([`super::value::inline`]); its error, if any, fails the batch, whose jobs then run alone,
    /// where it runs at once.
    pub async fn insert_later(&mut self, table: &str, head: String, args: Vec<Value>) -> Result<(), DbError> {
        self.pay_owed().await?;
        match &mut self.batch {
            Some(batch) if self.depth > 0 => batch.held.row(table, head, args),
            _ => {
                let sql = format!("{head} values {}", super::columns::one_row(args.len()));
                self.execute(&sql, args).await.map(|_| ())
            }
        }
    }

    /// Runs `sql`, which returns nothing, for one key: its `$1`, written `in ($1)`; `rest` are
    /// `$2, $3, …`, and `tables` every table it reads or writes. In a PostgreSQL batch it is held
    /// until the commit like [`Self::insert_later`], and runs once for every key held with the
    /// same `sql`, with the `rest` of the last one.
    pub async fn execute_later_keyed(
        &mut self,
        sql: &'static str,
        key: Value,
        rest: Vec<Value>,
        tables: &'static [&'static str],
    ) -> Result<(), DbError> {
        self.pay_owed().await?;
        match &mut self.batch {
            Some(batch) if self.depth > 0 => batch.held.keyed(sql, key, rest, tables),
            _ => {
                let mut args = vec![key];
                args.extend(rest);
                self.execute(sql, args).await.map(|_| ())
            }
        }
    }

    /// Runs a statement that returns nothing; in a PostgreSQL batch it is held until the commit
    /// like [`Self::insert_later`], merged with nothing, and any statement after it sends it first.
    pub async fn execute_later(&mut self, sql: &str, args: Vec<Value>) -> Result<(), DbError> {
        self.pay_owed().await?;
        match &mut self.batch {
            Some(batch) if self.depth > 0 => batch.held.other(sql, args),
            _ => self.execute(sql, args).await.map(|_| ()),
        }
    }

    /// In a PostgreSQL batch, sends what is held first when `sql` names a table it touches; on
    /// both engines, notes whether a change without a savepoint is about to send a change.
    async fn send_held_before(&mut self, sql: &str) -> Result<(), DbError> {
        if self.unsaved.open == Some(false) && !reads_only(sql) {
            self.unsaved.open = Some(true);
        }
        let held = match &mut self.batch {
            Some(batch) if batch.held.touched_by(sql) => batch.held.take(),
            _ => None,
        };
        match held {
            Some(held) => self.raw(&held).await,
            None => Ok(()),
        }
    }

    /// Every row the statement returns. Always read to the end, which also finishes an
    /// `INSERT … RETURNING` on SQLite instead of leaving it open.
    pub async fn fetch_all(&mut self, sql: &str, args: Vec<Value>) -> Result<Vec<Row>, DbError> {
        self.pay_owed().await?;
        self.send_held_before(sql).await?;
        match &mut self.inner {
            Inner::Sqlite(conn, shapes) => {
                let rows = sqlite_rows(conn, shapes, sql, &args);
                self.noted(rows)
            }
            Inner::Postgres(conn) => {
                let query = super::value::bind(sqlx::query(sql), args);
                let fetched = conn.fetch(query).try_collect().await.map_err(DbError::from);
                let rows: Vec<AnyRow> = self.noted(fetched)?;
                let names = match rows.first() {
                    Some(row) => row.columns().iter().map(|c| c.name().to_string()).collect(),
                    None => Arc::from(Vec::new()),
                };
                rows.iter().map(|row| any_row(row, &names)).collect()
            }
        }
    }

    pub async fn fetch_optional(&mut self, sql: &str, args: Vec<Value>) -> Result<Option<Row>, DbError> {
        Ok(self.fetch_all(sql, args).await?.into_iter().next())
    }

    pub async fn fetch_one(&mut self, sql: &str, args: Vec<Value>) -> Result<Row, DbError> {
        self.fetch_optional(sql, args).await?.ok_or(DbError::RowNotFound)
    }

    /// Opens a nested unit of work: a transaction at the outermost level, a savepoint inside one.
    /// It must end with [`Change::commit`] or [`Change::rollback`]; dropped without either, it
    /// rolls back.
    pub async fn begin(&mut self) -> Result<Change<'_>, DbError> {
        if self.unsaved.level == Some(self.depth) {
            // A change that opens no savepoint (`postgres_batch`, `without_savepoints`).
            if let Some(batch) = &mut self.batch {
                batch.held.opened(self.depth as usize);
            }
            self.unsaved.open = Some(false);
            self.depth += 1;
            return Ok(Change { conn: self, open: true });
        }
        let mut sql = if self.depth == 0 { "begin".to_string() } else { format!("savepoint sp{}", self.depth) };
        if let Some(release) = self.batch.as_mut().and_then(|b| b.release_owed.take()) {
            sql = format!("{release}; {sql}");
        }
        self.pay_owed().await?;
        self.raw(&sql).await?;
        if let Some(batch) = &mut self.batch {
            batch.held.opened(self.depth as usize);
        }
        self.depth += 1;
        Ok(Change { conn: self, open: true })
    }

    /// Runs any rollback still owed and reports whether the connection is back outside every
    /// transaction (fit to return to the pool), or in a batch, back at the batch's level.
    pub(super) async fn settle(&mut self) -> bool {
        if self.pay_owed().await.is_err() {
            return false;
        }
        self.depth == u32::from(self.batch.is_some())
    }

    /// Closes a pooled connection instead of returning it to the pool.
    pub(super) fn detach(self) {
        if let Inner::Postgres(conn) = self.inner {
            drop(conn.detach());
        }
    }

    /// The writer's batch transaction on SQLite (see `writer.rs`): plain statements, so that a
    /// job's `begin()` nests inside as a savepoint.
    pub(super) fn sqlite_batch(&mut self, sql: &str) -> Result<(), DbError> {
        match &mut self.inner {
            Inner::Sqlite(conn, _) => {
                sqlite_control(conn, sql)?;
                self.depth = if sql.starts_with("begin") { 1 } else { 0 };
                Ok(())
            }
            Inner::Postgres(_) => unreachable!("the batch writer runs on SQLite only"),
        }
    }

    /// Whether SQLite ended the batch transaction on its own (it rolls the whole transaction back
    /// after some errors, such as a full disk or an interrupt): the next job would then run
    /// outside any transaction, so the writer must not start it.
    pub(super) fn sqlite_batch_lost(&self) -> bool {
        match &self.inner {
            Inner::Sqlite(conn, _) => self.depth > 0 && conn.is_autocommit(),
            Inner::Postgres(_) => false,
        }
    }

    /// A PASSIVE checkpoint on the writer's connection between two batches (see
    /// `checkpointer.rs`); a failure only postpones it.
    pub(super) fn sqlite_checkpoint(&mut self) {
        if let Inner::Sqlite(conn, _) = &self.inner {
            if let Err(err) = super::checkpointer::passive(conn) {
                tracing::debug!(error = %err, "writer checkpoint skipped");
            }
        }
    }

    async fn pay_owed(&mut self) -> Result<(), DbError> {
        if let Some(release) = self.batch.as_mut().and_then(|b| b.release_owed.take()) {
            self.raw(&release).await?;
        }
        while !self.owed.is_empty() {
            let sql = self.owed.remove(0);
            if let Inner::Postgres(_) = &self.inner {
                self.raw(&sql).await?;
            }
        }
        Ok(())
    }

    /// The innermost level, just closed, was rolled back: a batch forgets what it held inside.
    fn rolled_back(&mut self) {
        if let Some(batch) = &mut self.batch {
            batch.held.rolled_back(self.depth as usize);
        }
    }

    /// The statements that end the innermost level.
    fn ending(&self, commit: bool) -> String {
        let level = self.depth - 1;
        match (level, commit) {
            (0, true) => "commit".to_string(),
            (0, false) => "rollback".to_string(),
            (_, true) => format!("release savepoint sp{level}"),
            (_, false) => format!("rollback to savepoint sp{level}; release savepoint sp{level}"),
        }
    }

    /// Closes a job's change that opened no savepoint, if that is the innermost level: nothing
    /// to send.
    fn end_unsaved(&mut self, commit: bool) -> bool {
        if !self.in_unsaved() {
            return false;
        }
        let wrote = self.unsaved.open.take() == Some(true);
        self.depth -= 1;
        if !commit {
            // What it queued is dropped; if the server already has some of it, it is lost.
            let dropped = self.batch.as_mut().is_none_or(|batch| batch.held.dropped(self.depth as usize));
            // After a deadlock the batch runs again anyway, savepoint or not.
            let retry = self.batch.as_ref().is_some_and(|batch| batch.retry);
            self.unsaved.lost |= (wrote || !dropped) && !retry;
        }
        true
    }

    async fn end(&mut self, commit: bool) -> Result<(), DbError> {
        if self.end_unsaved(commit) {
            return Ok(());
        }
        let sql = self.ending(commit);
        self.depth -= 1;
        if !commit {
            self.rolled_back();
        }
        self.pay_owed().await?;
        if commit && self.depth == 1 {
            if let Some(batch) = &mut self.batch {
                // A job's own change in a PostgreSQL batch: released with the next savepoint.
                batch.release_owed = Some(sql);
                return Ok(());
            }
        }
        self.raw(&sql).await
    }
}

/// An open transaction or savepoint; derefs to the connection for the statements inside it.
pub struct Change<'a> {
    conn: &'a mut WriteConn,
    open: bool,
}

impl Change<'_> {
    pub async fn commit(mut self) -> Result<(), DbError> {
        self.open = false;
        self.conn.end(true).await
    }

    pub async fn rollback(mut self) -> Result<(), DbError> {
        self.open = false;
        self.conn.end(false).await
    }
}

impl std::ops::Deref for Change<'_> {
    type Target = WriteConn;
    fn deref(&self) -> &WriteConn {
        self.conn
    }
}

impl std::ops::DerefMut for Change<'_> {
    fn deref_mut(&mut self) -> &mut WriteConn {
        self.conn
    }
}

impl Drop for Change<'_> {
    fn drop(&mut self) {
        if !self.open || self.conn.end_unsaved(false) {
            return;
        }
        let sql = self.conn.ending(false);
        self.conn.depth -= 1;
        self.conn.rolled_back();
        match &mut self.conn.inner {
            // SQLite can roll back right here, also while a panicking job unwinds.
            Inner::Sqlite(conn, _) => {
                if let Err(err) = sqlite_control(conn, &sql) {
                    tracing::error!(error = %err, "cannot roll back an abandoned change");
                }
            }
            Inner::Postgres(_) => self.conn.owed.push(sql),
        }
    }
}
