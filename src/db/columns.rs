//! A small builder for the INSERT and UPDATE statements of records with many optional columns,
//! so that "only the keys present change" needs no hand-written SQL per combination. Placeholders
//! are `$1, $2, …`, which both SQLite and PostgreSQL accept.

use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::AnyConnection;
use sqlx::{Any, Row};

#[derive(Clone, Debug)]
pub enum Value {
    Text(Option<String>),
    Int(Option<i64>),
    Bool(Option<bool>),
    Float(Option<f64>),
}

impl From<Option<String>> for Value {
    fn from(v: Option<String>) -> Self {
        Value::Text(v)
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(Some(v))
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(Some(v.to_string()))
    }
}
impl From<Option<i64>> for Value {
    fn from(v: Option<i64>) -> Self {
        Value::Int(v)
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(Some(v))
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(Some(v))
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(Some(v))
    }
}

pub fn bind<'q>(query: Query<'q, Any, AnyArguments<'q>>, value: Value) -> Query<'q, Any, AnyArguments<'q>> {
    match value {
        Value::Text(v) => query.bind(v),
        Value::Int(v) => query.bind(v),
        Value::Bool(v) => query.bind(v),
        Value::Float(v) => query.bind(v),
    }
}

/// Column/value pairs for one row.
#[derive(Default, Debug)]
pub struct Columns {
    names: Vec<&'static str>,
    values: Vec<Value>,
}

impl Columns {
    pub fn new() -> Self {
        Self::default()
    }

    /// Always sets the column.
    pub fn set(&mut self, name: &'static str, value: impl Into<Value>) -> &mut Self {
        self.names.push(name);
        self.values.push(value.into());
        self
    }

    /// Sets the column only when the key was present in the payload (`Some`), to its value or NULL.
    pub fn patch<T: Into<Value>>(&mut self, name: &'static str, value: Option<T>) -> &mut Self {
        if let Some(value) = value {
            self.set(name, value);
        }
        self
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// `insert into TABLE (…) values (…) returning id`.
    pub async fn insert(self, conn: &mut AnyConnection, table: &str) -> Result<i64, sqlx::Error> {
        let placeholders: Vec<String> = (1..=self.names.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "insert into {table} ({}) values ({}) returning id",
            self.names.join(", "),
            placeholders.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for value in self.values {
            query = bind(query, value);
        }
        let row = query.fetch_one(&mut *conn).await?;
        row.try_get::<i64, _>(0)
    }

    /// `update TABLE set … where id = ?`; returns the number of rows changed.
    pub async fn update(self, conn: &mut AnyConnection, table: &str, id: i64) -> Result<u64, sqlx::Error> {
        if self.names.is_empty() {
            return Ok(0);
        }
        let assignments: Vec<String> =
            self.names.iter().enumerate().map(|(i, name)| format!("{name} = ${}", i + 1)).collect();
        let sql = format!("update {table} set {} where id = ${}", assignments.join(", "), self.names.len() + 1);
        let mut query = sqlx::query(&sql);
        for value in self.values {
            query = bind(query, value);
        }
        let done = query.bind(id).execute(&mut *conn).await?;
        Ok(done.rows_affected())
    }
}
