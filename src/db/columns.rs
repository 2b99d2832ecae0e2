//! A small builder for the INSERT and UPDATE statements of records with many optional columns,
//! so that "only the keys present change" needs no hand-written SQL per combination. Placeholders
//! are `$1, $2, …`, which both SQLite and PostgreSQL accept.

use super::conn::WriteConn;
use super::value::{DbError, Row, Value};

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

    /// The value set for `name`, if it is set.
    pub fn value(&self, name: &str) -> Option<&Value> {
        Some(&self.values[self.index(name)?])
    }

    fn index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| *n == name)
    }

    /// The text set for `name`, if any.
    pub fn text(&self, name: &str) -> Option<&str> {
        match self.value(name)? {
            Value::Text(text) => text.as_deref(),
            _ => None,
        }
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// `insert into TABLE (…) values (…) returning id`.
    pub async fn insert(self, conn: &mut WriteConn, table: &str) -> Result<i64, DbError> {
        conn.fetch_one(&self.insert_sql(table), self.values).await?.get(0)
    }

    /// `insert into TABLE (…) values (…) RETURNING`: the inserted row as `returning` (a
    /// `returning …` clause) shows it.
    pub async fn insert_returning(self, conn: &mut WriteConn, table: &str, returning: &str) -> Result<Row, DbError> {
        let sql = self.insert_returning_sql(table, returning);
        conn.fetch_one(&sql, self.values).await
    }

    /// The statement [`Columns::insert_returning`] runs, for a caller that writes it into a
    /// longer one (with [`Columns::placeholder`] and [`Columns::into_values`]).
    pub fn insert_returning_sql(&self, table: &str, returning: &str) -> String {
        let mut sql = self.insert_sql(table);
        sql.truncate(sql.len() - "returning id".len());
        sql.push_str(returning);
        sql
    }

    /// The placeholder (`$N`) of `name`'s value in the statements built here, if it is set.
    pub fn placeholder(&self, name: &str) -> Option<String> {
        self.index(name).map(|index| format!("${}", index + 1))
    }

    /// The values, in their placeholders' order.
    pub fn into_values(self) -> Vec<Value> {
        self.values
    }

    /// `insert into TABLE (…) values (…)` with [`WriteConn::insert_later`]: for rows whose id
    /// nobody needs (log rows, status history, outgoing events).
    pub async fn insert_later(self, conn: &mut WriteConn, table: &str) -> Result<(), DbError> {
        let head = self.head(table, 0);
        conn.insert_later(table, head, self.values).await
    }

    /// `insert into TABLE (a, b, …)`, with room for `more`.
    fn head(&self, table: &str, more: usize) -> String {
        let mut sql = String::with_capacity(64 + self.names.len() * 24 + more);
        sql.push_str("insert into ");
        sql.push_str(table);
        sql.push_str(" (");
        for (i, name) in self.names.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(name);
        }
        sql.push(')');
        sql
    }

    /// Built in one buffer: this runs for every row the writer inserts.
    fn insert_sql(&self, table: &str) -> String {
        let row = one_row(self.names.len());
        let mut sql = self.head(table, row.len() + 32);
        sql.push_str(" values ");
        sql.push_str(&row);
        sql.push_str(" returning id");
        sql
    }

    /// `update TABLE set … where id = ?`; returns the number of rows changed.
    pub async fn update(self, conn: &mut WriteConn, table: &str, id: i64) -> Result<u64, DbError> {
        if self.names.is_empty() {
            return Ok(0);
        }
        let assignments: Vec<String> =
            self.names.iter().enumerate().map(|(i, name)| format!("{name} = ${}", i + 1)).collect();
        let sql = format!("update {table} set {} where id = ${}", assignments.join(", "), self.names.len() + 1);
        let mut values = self.values;
        values.push(Value::from(id));
        conn.execute(&sql, values).await
    }
}

/// The `values` of a multi-row insert: `rows` rows of `width` placeholders, numbered from `$1`
/// row by row (`($1, $2), ($3, $4)`).
pub fn value_rows(rows: usize, width: usize) -> String {
    if rows == 1 {
        return one_row(width).into_owned();
    }
    numbered(rows, width)
}

/// Rows this wide or narrower have their one-row placeholder list written once.
const KEPT_WIDTH: usize = 64;

/// `($1, $2, …, $width)`: every insert of one row, on the writer's path, takes it; kept from the
/// first use rather than formatted each time.
pub fn one_row(width: usize) -> std::borrow::Cow<'static, str> {
    static KEPT: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    match KEPT.get_or_init(|| (0..=KEPT_WIDTH).map(|width| numbered(1, width)).collect()).get(width) {
        Some(row) => std::borrow::Cow::Borrowed(row.as_str()),
        None => std::borrow::Cow::Owned(numbered(1, width)),
    }
}

fn numbered(rows: usize, width: usize) -> String {
    use std::fmt::Write;
    let mut sql = String::with_capacity(rows * (width * 5 + 2));
    for row in 0..rows {
        sql.push_str(if row > 0 { ", (" } else { "(" });
        for column in 1..=width {
            let comma = if column > 1 { ", " } else { "" };
            let _ = write!(sql, "{comma}${}", row * width + column);
        }
        sql.push(')');
    }
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_rows_number_row_by_row() {
        assert_eq!(value_rows(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(value_rows(1, 1), "($1)");
    }

    #[test]
    fn one_row_is_the_same_kept_or_written_out() {
        for width in [0, 1, 2, 30, KEPT_WIDTH, KEPT_WIDTH + 1, 200] {
            assert_eq!(one_row(width), numbered(1, width), "width {width}");
        }
        assert_eq!(one_row(3), "($1, $2, $3)");
        assert!(matches!(one_row(KEPT_WIDTH + 1), std::borrow::Cow::Owned(_)));
    }

    #[test]
    fn insert_sql_numbers_every_column() {
        let mut row = Columns::new();
        row.set("a", 1_i64).set("b", "x").patch("c", None::<i64>).patch("d", Some(None::<String>));
        assert_eq!(row.insert_sql("t"), "insert into t (a, b, d) values ($1, $2, $3) returning id");
    }
}
