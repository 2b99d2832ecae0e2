//! The lower-case search keys that list `q` compares with (`last_name_lower`,
//! `company_name_lower`, each with an index; see `list.rs`): folded here, not by the database, so
//! that both engines fold every letter alike (SQLite's `lower()` changes ASCII only, PostgreSQL's
//! follows the database's character rules). A key is written with every change of its name
//! ([`set_search_keys`]), copied with the record by a conversion, and filled at start for the rows
//! an upgrade could not fold in SQL ([`backfill`]).

use crate::args;
use crate::db::columns::Columns;
use crate::db::{Db, Fetch, Value, WriteConn};
use crate::domain::StoreError;

/// Each searched name column and its key column.
pub const KEYS: [(&str, &str); 2] = [("last_name", "last_name_lower"), ("company_name", "company_name_lower")];
/// Tables with search keys.
const TABLES: [&str; 3] = ["pre_leads", "leads", "customers"];
/// Rows folded per write transaction by [`backfill`].
const BACKFILL_BATCH: i64 = 500;

/// Each character's Unicode lower case (`Ä` → `ä`, `É` → `é`, `ẞ` → `ß`). Character by character,
/// without the context rules of [`str::to_lowercase`] (a word-final `Σ` is `σ` too), so that the
/// key of a prefix is a prefix of the key.
pub fn search_key(text: &str) -> String {
    text.chars().flat_map(char::to_lowercase).collect()
}

/// Sets the key of each searched name that `row` sets (to a name, or to NULL).
pub fn set_search_keys(row: &mut Columns) {
    for (column, key) in KEYS {
        if let Some(value) = row.value(column) {
            let folded = match value {
                Value::Text(text) => text.as_deref().map(search_key),
                _ => None,
            };
            row.set(key, folded);
        }
    }
}

/// Folds the keys an upgrade left empty (names with letters beyond ASCII), table by table as
/// `search_keys_pending` lists them, in small transactions, then removes the table from the list:
/// once done, a start reads one empty table. A row whose name changed meanwhile is left alone
/// (its change wrote its key).
pub async fn backfill(db: &Db) -> Result<u64, StoreError> {
    let pending = db.reader().fetch_rows("select table_name from search_keys_pending", args![]).await?;
    let mut folded = 0;
    for row in pending {
        let name: String = row.get(0)?;
        let Some(table) = TABLES.into_iter().find(|t| *t == name) else { continue };
        let mut after = 0;
        loop {
            let (last, count) =
                db.write(move |conn| Box::pin(async move { fold_batch(conn, table, after).await })).await?;
            folded += count;
            match last {
                Some(last) => after = last,
                None => break,
            }
        }
        db.write(move |conn| {
            Box::pin(async move {
                conn.execute("delete from search_keys_pending where table_name = $1", args![table]).await?;
                Ok(())
            })
        })
        .await?;
    }
    if folded > 0 {
        tracing::info!(rows = folded, "search keys folded");
    }
    Ok(folded)
}

/// Folds the next rows of `table` after id `after` that have a name without its key: the last id
/// seen (`None` when there were no more) and the rows written.
async fn fold_batch(conn: &mut WriteConn, table: &'static str, after: i64) -> Result<(Option<i64>, u64), StoreError> {
    let rows = conn
        .fetch_all(
            &format!(
                "select id, last_name, company_name from {table} where id > $1 \
                 and ((last_name is not null and last_name_lower is null) \
                 or (company_name is not null and company_name_lower is null)) order by id limit $2"
            ),
            args![after, BACKFILL_BATCH],
        )
        .await?;
    let update = format!(
        "update {table} set last_name_lower = $1, company_name_lower = $2 where id = $3 \
         and last_name is not distinct from $4 and company_name is not distinct from $5"
    );
    let mut written = 0;
    for row in &rows {
        let (id, last_name, company_name): (i64, Option<String>, Option<String>) =
            (row.get(0)?, row.get(1)?, row.get(2)?);
        let keys = (last_name.as_deref().map(search_key), company_name.as_deref().map(search_key));
        written += conn.execute(&update, args![keys.0, keys.1, id, last_name, company_name]).await?;
    }
    let last = rows.last().map(|row| row.get::<i64>(0)).transpose()?;
    Ok((last, written))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_letter_is_folded_character_by_character() {
        assert_eq!(search_key("Ärger"), "ärger");
        assert_eq!(search_key("ÉCOLE"), "école");
        assert_eq!(search_key("GROẞ"), "groß");
        assert_eq!(search_key("Straße"), "straße");
        assert_eq!(search_key("ΟΔΟΣ"), "οδοσ", "no final form: a prefix's key is a prefix of the key");
        assert_eq!(search_key("O'Brien & Co. 100%"), "o'brien & co. 100%");
    }

    #[test]
    fn only_the_names_a_row_sets_get_their_key() {
        let mut row = Columns::new();
        row.set("last_name", "Ärger").set("company_name", None::<String>).set("email", "X@Y");
        set_search_keys(&mut row);
        assert_eq!(row.text("last_name_lower"), Some("ärger"));
        assert_eq!(row.value("company_name_lower"), Some(&Value::Text(None)));
        let mut untouched = Columns::new();
        untouched.set("email", "a@b");
        set_search_keys(&mut untouched);
        assert_eq!((untouched.value("last_name_lower"), untouched.value("company_name_lower")), (None, None));
    }
}
