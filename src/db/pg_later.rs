//! What a PostgreSQL batch holds back until its commit (see `pg_batch.rs`): the statements that
//! return nothing — log rows, status history rows, outgoing events and their fan-out — queued by
//! the batch's jobs with [`super::WriteConn::insert_later`] and its siblings. At the commit they
//! go out in the commit's round trip, merged: the rows queued for one `insert into TABLE (…)` as
//! one multi-row `insert`, the keys queued for one keyed statement as one `in (…)` list. So a
//! batch of 32 webhooks parses and plans its log rows once instead of 32 times.
//!
//! Held statements run inside the batch's transaction, so nothing is visible before the commit
//! either way. Within the batch, a statement that names a table a held statement writes first
//! sends what is held (a job reading its own or an earlier job's rows sees them), and a
//! savepoint rolled back drops what was queued inside it and queues again what was sent inside
//! it but queued before it (the server undid it). A statement of unknown effect
//! ([`super::WriteConn::execute_later`]) keeps its place: no merge crosses it, and any statement
//! after it sends it first.

use super::columns::one_row;
use super::value::{inline, DbError, Value};

/// Marks where the keys of a keyed statement go once merged (NUL cannot be in an inlined value).
const KEYS: &str = "\0";

#[derive(Default)]
pub(super) struct Held {
    entries: Vec<Entry>,
    /// Entries before this index were sent: they ran in the open transaction.
    sent: usize,
    /// At index N, for the savepoint `spN` while it is open: (entries, sent) when it was opened.
    marks: Vec<(usize, usize)>,
}

enum Entry {
    /// One row of `head values (…)`, `head` being `insert into TABLE (…)`; `tuple` its values
    /// written as literals.
    Row { table: String, head: String, tuple: String },
    /// `sql` run for `key` (its `$1`, written `in ($1)`); `rest` is `sql` with its other
    /// values inlined and the key's place marked; `tables` names what it reads and writes.
    Keyed { sql: &'static str, key: String, rest: String, tables: &'static [&'static str] },
    /// Any other statement, values inlined.
    Other(String),
}

impl Held {
    pub fn row(&mut self, table: &str, head: String, values: Vec<Value>) -> Result<(), DbError> {
        let tuple = inline(&one_row(values.len()), &values)?;
        self.entries.push(Entry::Row { table: table.to_string(), head, tuple });
        Ok(())
    }

    pub fn keyed(
        &mut self,
        sql: &'static str,
        key: Value,
        rest: Vec<Value>,
        tables: &'static [&'static str],
    ) -> Result<(), DbError> {
        let key = inline("$1", std::slice::from_ref(&key))?;
        let mut values = vec![Value::Text(None)];
        values.extend(rest);
        let rest = inline(&keyed_template(sql), &values)?;
        self.entries.push(Entry::Keyed { sql, key, rest, tables });
        Ok(())
    }

    pub fn other(&mut self, sql: &str, values: Vec<Value>) -> Result<(), DbError> {
        self.entries.push(Entry::Other(inline(sql, &values)?));
        Ok(())
    }

    /// Whether `sql` must not run before what is held and unsent: it names a table a held
    /// statement writes or reads (as text: a name inside a longer one counts too, which only
    /// sends early), or something of unknown effect is held.
    pub fn touched_by(&self, sql: &str) -> bool {
        self.entries[self.sent..].iter().any(|entry| match entry {
            Entry::Row { table, .. } => sql.contains(table.as_str()),
            Entry::Keyed { tables, .. } => tables.iter().any(|table| sql.contains(table)),
            Entry::Other(_) => true,
        })
    }

    /// The savepoint `sp{level}` was opened.
    pub fn opened(&mut self, level: usize) {
        self.marks.truncate(level);
        self.marks.resize(level, (0, 0));
        self.marks.push((self.entries.len(), self.sent));
    }

    /// The savepoint `sp{level}` was rolled back.
    pub fn rolled_back(&mut self, level: usize) {
        if let Some(&(entries, sent)) = self.marks.get(level) {
            self.entries.truncate(entries);
            self.sent = self.sent.min(sent);
            self.marks.truncate(level);
        }
    }

    /// A job's change opened with no savepoint on the server (`level`, see `conn.rs`) was rolled
    /// back: drops what it queued. `false` when some of that was already sent, which the server
    /// keeps.
    pub fn dropped(&mut self, level: usize) -> bool {
        let Some(&(entries, _)) = self.marks.get(level) else { return true };
        self.marks.truncate(level);
        if self.sent > entries {
            return false;
        }
        self.entries.truncate(entries);
        true
    }

    pub fn clear(&mut self) {
        *self = Held::default();
    }

    /// What is held and unsent, merged into as few statements as their order allows, joined by
    /// `; `; from now on it counts as sent.
    pub fn take(&mut self) -> Option<String> {
        if self.sent == self.entries.len() {
            return None;
        }
        let statements = merged(&self.entries[self.sent..]);
        self.sent = self.entries.len();
        Some(statements.join("; "))
    }
}

/// `sql` with its `in ($1)` marked for the merged keys.
fn keyed_template(sql: &str) -> String {
    assert!(sql.contains("in ($1)"), "a keyed statement lists its key as `in ($1)`");
    sql.replacen("in ($1)", &format!("in ({KEYS})"), 1)
}

/// One statement per run of mergeable entries: rows with the same head and keyed statements with
/// the same SQL join the first of their kind since the last unknown statement (each merged
/// statement takes the place of its first entry), keyed ones with the other values of the last.
fn merged(entries: &[Entry]) -> Vec<String> {
    enum Group<'a> {
        Rows { head: &'a str, tuples: Vec<&'a str> },
        Keyed { sql: &'static str, keys: Vec<&'a str>, rest: &'a str },
        Other(&'a str),
    }
    let mut groups: Vec<Group> = Vec::new();
    // Groups before this index are closed to merges (an unknown statement came after them).
    let mut open_from = 0;
    for entry in entries {
        let open = &mut groups[open_from..];
        match entry {
            Entry::Row { head, tuple, .. } => {
                let found = open.iter_mut().find_map(|g| match g {
                    Group::Rows { head: h, tuples } if *h == head.as_str() => Some(tuples),
                    _ => None,
                });
                match found {
                    Some(tuples) => tuples.push(tuple),
                    None => groups.push(Group::Rows { head, tuples: vec![tuple] }),
                }
            }
            Entry::Keyed { sql, key, rest, .. } => {
                let found = open.iter_mut().find_map(|g| match g {
                    Group::Keyed { sql: s, keys, rest: r } if *s == *sql => Some((keys, r)),
                    _ => None,
                });
                match found {
                    Some((keys, last)) => {
                        keys.push(key);
                        *last = rest;
                    }
                    None => groups.push(Group::Keyed { sql, keys: vec![key], rest }),
                }
            }
            Entry::Other(sql) => {
                groups.push(Group::Other(sql));
                open_from = groups.len();
            }
        }
    }
    groups
        .into_iter()
        .map(|group| match group {
            Group::Rows { head, tuples } => format!("{head} values {}", tuples.join(", ")),
            Group::Keyed { keys, rest, .. } => rest.replacen(KEYS, &keys.join(", "), 1),
            Group::Other(sql) => sql.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args;

    const FAN: &str =
        "insert into deliveries (event, at) select e.id, $2 from events e where e.key in ($1) order by e.id";

    fn held() -> Held {
        let mut held = Held::default();
        held.row("logs", "insert into logs (a, b)".into(), args![1_i64, "x"]).unwrap();
        held.row("events", "insert into events (k)".into(), args!["k1"]).unwrap();
        held.keyed(FAN, Value::from("k1"), args!["t1"], &["deliveries", "events"]).unwrap();
        held.row("logs", "insert into logs (a, b)".into(), args![2_i64, "it's"]).unwrap();
        held.row("events", "insert into events (k)".into(), args!["k2"]).unwrap();
        held.keyed(FAN, Value::from("k2"), args!["t2"], &["deliveries", "events"]).unwrap();
        held
    }

    #[test]
    fn rows_of_one_insert_and_keys_of_one_statement_are_merged_in_order() {
        assert_eq!(
            held().take().unwrap(),
            "insert into logs (a, b) values (1, 'x'), (2, 'it''s'); insert into events (k) values ('k1'), ('k2'); \
             insert into deliveries (event, at) select e.id, 't2' from events e where e.key in ('k1', 'k2') \
             order by e.id"
        );
    }

    #[test]
    fn nothing_merges_across_a_statement_of_unknown_effect() {
        let mut held = Held::default();
        held.row("logs", "insert into logs (a)".into(), args![1_i64]).unwrap();
        held.other("update logs set a = $1", args![5_i64]).unwrap();
        held.row("logs", "insert into logs (a)".into(), args![2_i64]).unwrap();
        assert_eq!(
            held.take().unwrap(),
            "insert into logs (a) values (1); update logs set a = 5; insert into logs (a) values (2)"
        );
        assert!(held.take().is_none(), "sent once");
    }

    #[test]
    fn statements_naming_a_held_table_wait_for_it() {
        let mut held = held();
        assert!(held.touched_by("select * from logs where id = $1"));
        assert!(held.touched_by("select 1 from deliveries"));
        assert!(!held.touched_by("insert into leads (name) values ($1)"));
        held.take();
        assert!(!held.touched_by("select * from logs"), "nothing unsent");
        held.other("select 1", Vec::new()).unwrap();
        assert!(held.touched_by("insert into leads (name) values ($1)"), "an unknown statement goes first");
    }

    #[test]
    fn a_rolled_back_savepoint_drops_its_own_and_queues_again_what_it_undid() {
        let mut held = Held::default();
        held.row("t", "insert into t (a)".into(), args![1_i64]).unwrap();
        assert_eq!(held.take().unwrap(), "insert into t (a) values (1)");
        held.row("t", "insert into t (a)".into(), args![2_i64]).unwrap();
        held.opened(1);
        held.row("t", "insert into t (a)".into(), args![3_i64]).unwrap();
        held.opened(2);
        held.row("t", "insert into t (a)".into(), args![4_i64]).unwrap();
        // Sent inside sp2: rows 2, 3 and 4.
        assert_eq!(held.take().unwrap(), "insert into t (a) values (2), (3), (4)");
        held.rolled_back(2);
        assert_eq!(held.take().unwrap(), "insert into t (a) values (2), (3)", "undone, queued again; 4 dropped");
        held.rolled_back(1);
        assert_eq!(held.take().unwrap(), "insert into t (a) values (2)");
        held.rolled_back(1);
        assert!(held.take().is_none(), "a level rolled back once has no mark left");
        held.clear();
        assert!(held.take().is_none());
    }

    #[test]
    fn values_that_cannot_be_inlined_are_refused_when_queued() {
        let mut held = Held::default();
        assert!(held.row("t", "insert into t (a)".into(), args!["a\0b"]).is_err());
        assert!(held.keyed(FAN, Value::from("k\0"), args!["t"], &["deliveries"]).is_err());
        assert!(held.take().is_none());
    }
}
