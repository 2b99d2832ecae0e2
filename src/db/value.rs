//! What crosses the write connection: bound values, returned rows, and the error type. Both
//! engines' values are read into the same cells, so store code reads a row the same way on each.

use std::sync::Arc;

use rusqlite::types::{ToSqlOutput, ValueRef};

/// A bound value. `None` binds SQL NULL.
#[derive(Clone, Debug, PartialEq)]
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
impl From<Option<&str>> for Value {
    fn from(v: Option<&str>) -> Self {
        Value::Text(v.map(str::to_string))
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

/// Binds `args` to a sqlx query, in order: the one place sqlx learns our values (pooled
/// PostgreSQL writes and the reads of both engines).
pub fn bind<'q>(
    mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    args: Vec<Value>,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for value in args {
        query = match value {
            Value::Text(v) => query.bind(v),
            Value::Int(v) => query.bind(v),
            Value::Bool(v) => query.bind(v),
            Value::Float(v) => query.bind(v),
        };
    }
    query
}

/// `sql` with `$1, $2, …` replaced by `args` written as PostgreSQL literals, for statements sent
/// with the simple query protocol (which has no parameters). Text is quoted with its quotes
/// doubled, which is the whole of the escaping with `standard_conforming_strings` on (the
/// default since PostgreSQL 9.1, and set for each batch's transaction); NUL, which PostgreSQL
/// text cannot hold, is refused. `$` inside quoted parts of `sql` is left alone.
pub fn inline(sql: &str, args: &[Value]) -> Result<String, DbError> {
    use std::fmt::Write;
    let mut out = String::with_capacity(sql.len() + args.len() * 16);
    let mut quoted = false;
    let mut chars = sql.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if c == '\'' {
            quoted = !quoted;
        }
        if c != '$' || quoted || !chars.peek().is_some_and(|(_, d)| d.is_ascii_digit()) {
            out.push(c);
            continue;
        }
        let mut number = 0usize;
        while let Some((_, d)) = chars.peek().filter(|(_, d)| d.is_ascii_digit()) {
            number = number * 10 + d.to_digit(10).unwrap_or(0) as usize;
            chars.next();
        }
        let value = number.checked_sub(1).and_then(|i| args.get(i)).ok_or(DbError::MissingArgument(number))?;
        match value {
            Value::Text(None) | Value::Int(None) | Value::Bool(None) | Value::Float(None) => out.push_str("null"),
            Value::Int(Some(v)) => {
                let _ = write!(out, "{v}");
            }
            Value::Bool(Some(v)) => out.push_str(if *v { "true" } else { "false" }),
            Value::Float(Some(v)) if v.is_finite() => {
                let _ = write!(out, "{v:?}");
            }
            Value::Float(Some(v)) => {
                let _ = write!(out, "'{v}'::float8");
            }
            Value::Text(Some(text)) => {
                if text.contains('\0') {
                    return Err(DbError::Decode(format!("${number}"), "text with NUL".into()));
                }
                out.push('\'');
                out.push_str(&text.replace('\'', "''"));
                out.push('\'');
            }
        }
    }
    Ok(out)
}

/// `args![a, b]`: the bound values of one statement, in `$1, $2, …` order.
#[macro_export]
macro_rules! args {
    ($($value:expr),* $(,)?) => {
        vec![$($crate::db::Value::from($value)),*]
    };
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Text(Some(v)) => ValueRef::Text(v.as_bytes()),
            Value::Int(Some(v)) => ValueRef::Integer(*v),
            Value::Bool(Some(v)) => ValueRef::Integer(i64::from(*v)),
            Value::Float(Some(v)) => ValueRef::Real(*v),
            Value::Text(None) | Value::Int(None) | Value::Bool(None) | Value::Float(None) => ValueRef::Null,
        }))
    }
}

/// One column of a returned row. Flags arrive as `Int` (PostgreSQL `boolean` becomes 0/1).
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Null,
    Int(i64),
    Float(f64),
    Text(String),
}

#[derive(Clone, Debug)]
pub struct Row {
    names: Arc<[String]>,
    cells: Vec<Cell>,
}

impl Row {
    pub(super) fn new(names: Arc<[String]>, cells: Vec<Cell>) -> Self {
        Row { names, cells }
    }

    /// The column at `index` (a position or a name) as `T`.
    pub fn get<T: FromCell>(&self, index: impl ColumnIndex) -> Result<T, DbError> {
        let position = index.position(&self.names)?;
        T::from_cell(&self.cells[position]).map_err(|why| DbError::Decode(self.names[position].clone(), why))
    }
}

pub trait ColumnIndex {
    fn position(&self, names: &[String]) -> Result<usize, DbError>;
}

impl ColumnIndex for usize {
    fn position(&self, names: &[String]) -> Result<usize, DbError> {
        if *self < names.len() {
            Ok(*self)
        } else {
            Err(DbError::NoColumn(self.to_string()))
        }
    }
}

impl ColumnIndex for &str {
    fn position(&self, names: &[String]) -> Result<usize, DbError> {
        names.iter().position(|name| name == self).ok_or_else(|| DbError::NoColumn(self.to_string()))
    }
}

pub trait FromCell: Sized {
    fn from_cell(cell: &Cell) -> Result<Self, String>;
}

impl FromCell for i64 {
    fn from_cell(cell: &Cell) -> Result<Self, String> {
        match cell {
            Cell::Int(v) => Ok(*v),
            other => Err(format!("expected an integer, found {other:?}")),
        }
    }
}

impl FromCell for f64 {
    fn from_cell(cell: &Cell) -> Result<Self, String> {
        match cell {
            Cell::Float(v) => Ok(*v),
            // SQLite stores a REAL without a fraction as an integer when the column allows it.
            Cell::Int(v) => Ok(*v as f64),
            other => Err(format!("expected a number, found {other:?}")),
        }
    }
}

impl FromCell for bool {
    fn from_cell(cell: &Cell) -> Result<Self, String> {
        match cell {
            Cell::Int(v) => Ok(*v != 0),
            other => Err(format!("expected a flag, found {other:?}")),
        }
    }
}

impl FromCell for String {
    fn from_cell(cell: &Cell) -> Result<Self, String> {
        match cell {
            Cell::Text(v) => Ok(v.clone()),
            other => Err(format!("expected text, found {other:?}")),
        }
    }
}

impl<T: FromCell> FromCell for Option<T> {
    fn from_cell(cell: &Cell) -> Result<Self, String> {
        match cell {
            Cell::Null => Ok(None),
            other => T::from_cell(other).map(Some),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
    #[error("the statement returned no row")]
    RowNotFound,
    #[error("no column {0} in the result")]
    NoColumn(String),
    #[error("column {0}: {1}")]
    Decode(String, String),
    #[error("no value bound for ${0}")]
    MissingArgument(usize),
}

impl DbError {
    /// A PostgreSQL deadlock (40P01) or serialization failure (40001): the same work may succeed
    /// when run again.
    pub fn is_retryable(&self) -> bool {
        match self {
            DbError::Sqlx(sqlx::Error::Database(db)) => matches!(db.code().as_deref(), Some("40P01" | "40001")),
            _ => false,
        }
    }

    pub fn is_unique_violation(&self) -> bool {
        match self {
            DbError::Sqlite(rusqlite::Error::SqliteFailure(err, _)) => {
                err.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    || err.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            }
            DbError::Sqlx(sqlx::Error::Database(db)) => db.is_unique_violation(),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cells: Vec<Cell>) -> Row {
        Row::new(Arc::from(vec!["a".to_string(), "b".to_string()]), cells)
    }

    #[test]
    fn cells_read_by_name_or_position() {
        let row = row(vec![Cell::Int(7), Cell::Text("x".into())]);
        assert_eq!(row.get::<i64>("a").unwrap(), 7);
        assert_eq!(row.get::<String>(1).unwrap(), "x");
        assert!(row.get::<bool>("a").unwrap());
        assert_eq!(row.get::<f64>(0).unwrap(), 7.0);
    }

    #[test]
    fn null_reads_as_none_and_mismatches_name_the_column() {
        let row = row(vec![Cell::Null, Cell::Text("x".into())]);
        assert_eq!(row.get::<Option<i64>>("a").unwrap(), None);
        let err = row.get::<i64>("a").unwrap_err().to_string();
        assert!(err.starts_with("column a:"), "{err}");
        let err = row.get::<i64>("b").unwrap_err().to_string();
        assert!(err.contains("expected an integer"), "{err}");
        assert!(matches!(row.get::<i64>("c"), Err(DbError::NoColumn(_))));
        assert!(matches!(row.get::<i64>(2), Err(DbError::NoColumn(_))));
    }

    #[test]
    fn inlined_values_are_literals_and_quotes_are_doubled() {
        let sql = "insert into t (a, b, c, d, e, f) values ($1, $2, $3, $4, $5, '$1') -- $10";
        let args = crate::args!["it's \\ $2", 7_i64, true, None::<String>, 2.5, "x", 1_i64, 1_i64, 1_i64, "ten"];
        assert_eq!(
            inline(sql, &args).unwrap(),
            "insert into t (a, b, c, d, e, f) values ('it''s \\ $2', 7, true, null, 2.5, '$1') -- 'ten'"
        );
        assert!(matches!(inline("select $2", &[Value::from("a")]), Err(DbError::MissingArgument(2))));
        assert!(inline("select $1", &[Value::from("a\0b")]).is_err());
    }

    #[test]
    fn args_macro_converts_each_value() {
        let values: Vec<Value> = crate::args!["a", 1_i64, true, None::<String>, 2.5];
        assert_eq!(
            values,
            vec![
                Value::Text(Some("a".into())),
                Value::Int(Some(1)),
                Value::Bool(Some(true)),
                Value::Text(None),
                Value::Float(Some(2.5)),
            ]
        );
    }
}
