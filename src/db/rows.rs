//! How each engine's answers become [`Row`]s: sqlx's rows of PostgreSQL (and of SQLite's read
//! pool), and the SQLite writer's statements, run straight on its `rusqlite` connection with the
//! parameter map and column names of each statement kept after its first run.

use std::sync::Arc;

use sqlx::any::{AnyRow, AnyTypeInfoKind};
use sqlx::{Row as _, ValueRef as _};

use super::value::{Cell, DbError, Row, Value};

pub(super) fn any_row(row: &AnyRow, names: &Arc<[String]>) -> Result<Row, DbError> {
    let mut cells = Vec::with_capacity(names.len());
    for index in 0..names.len() {
        let raw = row.try_get_raw(index)?;
        let cell = if raw.is_null() {
            Cell::Null
        } else {
            match raw.type_info().kind() {
                AnyTypeInfoKind::Bool => Cell::Int(i64::from(row.try_get::<bool, _>(index)?)),
                AnyTypeInfoKind::SmallInt | AnyTypeInfoKind::Integer | AnyTypeInfoKind::BigInt => {
                    Cell::Int(row.try_get::<i64, _>(index)?)
                }
                AnyTypeInfoKind::Real | AnyTypeInfoKind::Double => Cell::Float(row.try_get::<f64, _>(index)?),
                AnyTypeInfoKind::Text => Cell::Text(row.try_get::<String, _>(index)?),
                other => return Err(DbError::Decode(names[index].clone(), format!("unsupported type {other:?}"))),
            }
        };
        cells.push(cell);
    }
    Ok(Row::new(names.clone(), cells))
}

/// Transaction control (`begin`, `savepoint sp1`, `rollback to …; release …`): each statement is
/// prepared once and kept, like every other statement of the writer.
pub(super) fn sqlite_control(conn: &rusqlite::Connection, sql: &str) -> rusqlite::Result<()> {
    for statement in sql.split("; ") {
        conn.prepare_cached(statement)?.raw_execute()?;
    }
    Ok(())
}

/// What [`sqlite_rows`] learns of a statement the first time it runs, kept with its SQL text (as
/// the prepared statement is): which argument each parameter takes and the names of its columns.
/// Asking SQLite for them on every run was a few percent of the writer thread.
#[derive(Default)]
pub(super) struct Shapes(std::collections::HashMap<Box<str>, Shape, foldhash::fast::FixedState>);

struct Shape {
    /// For each parameter (in SQLite's order), the index in `args` of its value.
    args: Box<[usize]>,
    names: Arc<[String]>,
}

/// More distinct statements than the writer's statement cache holds: SQL built with a list of
/// placeholders (`in ($3, $4, …)`) has one text per length, so the map is emptied past this.
const SHAPES_MAX: usize = 512;

impl Shapes {
    fn of(&mut self, sql: &str, stmt: &rusqlite::Statement<'_>) -> &Shape {
        if !self.0.contains_key(sql) {
            if self.0.len() >= SHAPES_MAX {
                self.0.clear();
            }
            self.0.insert(sql.into(), Shape::of(stmt));
        }
        &self.0[sql]
    }
}

impl Shape {
    fn of(stmt: &rusqlite::Statement<'_>) -> Shape {
        let args = (1..=stmt.parameter_count())
            .map(|index| {
                let number = stmt
                    .parameter_name(index)
                    .and_then(|name| name.strip_prefix('$').or_else(|| name.strip_prefix('?')))
                    .and_then(|digits| digits.parse::<usize>().ok())
                    .unwrap_or(index);
                number - 1
            })
            .collect();
        let names = stmt.column_names().into_iter().map(str::to_string).collect();
        Shape { args, names }
    }
}

/// Prepares (cached), binds `$N` to `args[N-1]`, steps to the end and collects the rows.
pub(super) fn sqlite_rows(
    conn: &rusqlite::Connection,
    shapes: &mut Shapes,
    sql: &str,
    args: &[Value],
) -> Result<Vec<Row>, DbError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let shape = shapes.of(sql, &stmt);
    for (index, &arg) in shape.args.iter().enumerate() {
        let value = args.get(arg).ok_or(DbError::MissingArgument(arg + 1))?;
        stmt.raw_bind_parameter(index + 1, value)?;
    }
    let mut names = shape.names.clone();
    let mut renamed = false;
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        // A statement SQLite prepared again at its first step, after a schema change, may have
        // other columns than those kept.
        if out.is_empty() && row.as_ref().column_count() != names.len() {
            names = row.as_ref().column_names().into_iter().map(str::to_string).collect();
            renamed = true;
        }
        let mut cells = Vec::with_capacity(names.len());
        for index in 0..names.len() {
            cells.push(match row.get_ref(index)? {
                rusqlite::types::ValueRef::Null => Cell::Null,
                rusqlite::types::ValueRef::Integer(v) => Cell::Int(v),
                rusqlite::types::ValueRef::Real(v) => Cell::Float(v),
                rusqlite::types::ValueRef::Text(v) => Cell::Text(text_cell(v)),
                rusqlite::types::ValueRef::Blob(_) => {
                    return Err(DbError::Decode(names[index].clone(), "unexpected blob".into()))
                }
            });
        }
        out.push(Row::new(names.clone(), cells));
    }
    drop(rows);
    if renamed {
        if let Some(shape) = shapes.0.get_mut(sql) {
            shape.names = names;
        }
    }
    Ok(out)
}

/// SQLite's text as a `String`; bytes that are not UTF-8 (a file written by another program)
/// become U+FFFD. The common case is checked by `from_utf8`, much faster on ASCII.
fn text_cell(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_cells_keep_utf8_and_replace_what_is_not() {
        assert_eq!(text_cell("Zoë ☎".as_bytes()), "Zoë ☎");
        assert_eq!(text_cell(b"ab\xffc"), "ab\u{FFFD}c");
        assert_eq!(text_cell(b""), "");
    }

    fn rows(conn: &rusqlite::Connection, shapes: &mut Shapes, sql: &str, args: &[Value]) -> Vec<Row> {
        sqlite_rows(conn, shapes, sql, args).unwrap()
    }

    #[test]
    fn parameters_take_their_numbered_argument_every_time() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let mut shapes = Shapes::default();
        let sql = "select $2 as b, $1 as a, $2 as c";
        for (first, second) in [(1, 2), (3, 4)] {
            let row = rows(&conn, &mut shapes, sql, &[Value::from(first), Value::from(second)]).remove(0);
            assert_eq!(row.get::<i64>("a").unwrap(), first);
            assert_eq!(row.get::<i64>("b").unwrap(), second);
            assert_eq!(row.get::<i64>("c").unwrap(), second);
        }
        assert!(matches!(sqlite_rows(&conn, &mut shapes, sql, &[Value::from(1)]), Err(DbError::MissingArgument(2))));
    }

    #[test]
    fn a_statement_prepared_again_after_a_schema_change_has_its_new_columns() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let mut shapes = Shapes::default();
        conn.execute_batch("create table t (a integer); insert into t values (1)").unwrap();
        let row = rows(&conn, &mut shapes, "select * from t", &[]).remove(0);
        assert!(row.get::<i64>(1).is_err(), "one column");
        conn.execute_batch("alter table t add column b integer default 7").unwrap();
        let row = rows(&conn, &mut shapes, "select * from t", &[]).remove(0);
        assert_eq!((row.get::<i64>("a").unwrap(), row.get::<i64>("b").unwrap()), (1, 7));
    }

    #[test]
    fn the_shapes_kept_stay_bounded() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let mut shapes = Shapes::default();
        for n in 0..SHAPES_MAX + 10 {
            let row = rows(&conn, &mut shapes, &format!("select {n} as n"), &[]).remove(0);
            assert_eq!(row.get::<i64>("n").unwrap(), n as i64);
        }
        assert!(shapes.0.len() <= SHAPES_MAX);
    }
}
