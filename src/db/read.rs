//! Reads that work on either side of a write: [`Fetch`] is implemented by the write connection
//! (a read inside the transaction of a change, which sees that change) and by [`Reader`] (the
//! read pool), and both return the same [`Row`]s, so code that turns rows into answers is written
//! once.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use sqlx::{AnyPool, Column, Row as _};

use super::conn::WriteConn;
use super::rows::any_row;
use super::value::{bind, DbError, Row, Value};

/// Runs a query and returns every row, on the write connection or the read pool.
pub trait Fetch: Send {
    fn fetch_rows<'a>(&'a mut self, sql: &'a str, args: Vec<Value>) -> BoxFuture<'a, Result<Vec<Row>, DbError>>;
}

impl Fetch for WriteConn {
    fn fetch_rows<'a>(&'a mut self, sql: &'a str, args: Vec<Value>) -> BoxFuture<'a, Result<Vec<Row>, DbError>> {
        self.fetch_all(sql, args).boxed()
    }
}

/// The read pool (sqlx on both engines), answering [`Row`]s.
#[derive(Clone)]
pub struct Reader {
    pool: AnyPool,
}

impl Reader {
    pub(super) fn new(pool: AnyPool) -> Self {
        Reader { pool }
    }
}

impl Fetch for Reader {
    fn fetch_rows<'a>(&'a mut self, sql: &'a str, args: Vec<Value>) -> BoxFuture<'a, Result<Vec<Row>, DbError>> {
        async move {
            let rows = bind(sqlx::query(sql), args).fetch_all(&self.pool).await?;
            let names: Arc<[String]> = match rows.first() {
                Some(row) => row.columns().iter().map(|c| c.name().to_string()).collect(),
                None => return Ok(Vec::new()),
            };
            rows.iter().map(|row| any_row(row, &names)).collect()
        }
        .boxed()
    }
}
