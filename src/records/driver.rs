//! How a list page reaches its rows at any size. Most filters (status, source, owner, discarded)
//! match a fair share of the records, so walking the records newest first and keeping the ones
//! that match fills a page after a few hundred rows. A filter that an index answers — a `q`
//! prefix, a creation-time bound, `has_duplicates=true` — may match only a few records, or only
//! old ones, and then that walk reads the whole table; yet when it matches a large share, reading
//! every match through the index and sorting them costs as much. So such a filter is an
//! [`IdSource`]: its matches are first counted through its index, up to [`SPARSE_BELOW`] entries
//! (a few milliseconds at most). Below that, the page is read from the ids the index gives
//! (only the newest `limit + 1` of them when nothing else narrows the page); otherwise the page
//! walks, with the filter written so that no index is used for it (`column || ''`), which keeps
//! SQLite, which has no statistics, from reading a large index range for it. PostgreSQL keeps
//! statistics and plans these filters well from their plain conditions (measured at a million
//! records: every `q` and `has_duplicates` under 11 ms), and reading the ids first made its plans
//! worse, so there each filter is asked as its plain condition ([`IdSource::plain`]), with the
//! page's bound on `r.id` repeated inside a subquery that reads an index of its own
//! (`has_duplicates=true`, see [`IdSource::with_plain_below`]).
//!
//! A filter may also know the newest id that can match ([`IdSource::seek`]): `created_until`
//! far back matches only old records, which a walk from the newest record reaches after every
//! newer one. Such a filter is walked on both engines, starting below that id, where its matches
//! are dense, and is never read by id: the bound is one more `r.id <` condition, folded into the
//! cursor's, so that the walk starts at the lower of the two.

use crate::db::{DbError, Engine, Fetch, Value};

/// Matches counted through the index before a page is read: fewer than this and the page is read
/// from those ids. The walk past a filter matching at least this many of a million rows reads
/// about `limit × 1,000,000 / SPARSE_BELOW` rows when the matches are spread out.
pub const SPARSE_BELOW: i64 = 20_000;

/// A filter that an index answers. Its SQL numbers its own arguments `?1`, `?2` …; they are
/// renumbered into the statement's `$n` when it is used.
#[derive(Debug)]
pub struct IdSource {
    /// `select … as id from …` over an index each; their ids together are the matches (an id
    /// may come more than once).
    branches: Vec<String>,
    /// The same test on the row `r`, with no index used for it.
    walk: String,
    /// The same test on the row `r`, as the planner may use an index for it.
    plain: String,
    /// `select` of one number above every id that can match (no row: none can).
    seek: Option<String>,
    /// The plain test when every id answered is known to be below some id, which it takes as
    /// the argument after the source's own (see [`IdSource::with_plain_below`]).
    plain_below: Option<String>,
    args: Vec<Value>,
}

impl IdSource {
    pub fn new(branches: Vec<String>, walk: String, plain: String, args: Vec<Value>) -> Self {
        IdSource { branches, walk, plain, seek: None, plain_below: None, args }
    }

    /// The same filter, whose plain test also bounds its own ids by the page's id bound, when
    /// the page has one (a cursor, or a filter's seek): `plain_below` is `plain` with that bound
    /// added where the test reads its index, numbered `?{n + 1}` after the source's `n`
    /// arguments. The bound is already a condition on `r.id`, so the answer is the same; but
    /// PostgreSQL does not carry a bound on `r.id` over to the index of a subquery joined on it,
    /// and a merge join walking that index newest first would read every entry above the bound
    /// first.
    pub fn with_plain_below(self, plain_below: String) -> Self {
        IdSource { plain_below: Some(plain_below), ..self }
    }

    /// The same filter, walked from below the id that `seek` answers (see the module docs).
    pub fn with_seek(self, seek: String) -> Self {
        IdSource { seek: Some(seek), ..self }
    }

    /// A number above every id that can match (`0` when none can), for a filter that knows one.
    pub async fn seek(&self, conn: &mut (impl Fetch + ?Sized)) -> Result<Option<i64>, DbError> {
        let Some(seek) = &self.seek else { return Ok(None) };
        let mut args = Vec::new();
        let sql = self.render(seek, &mut args);
        let rows = conn.fetch_rows(&sql, args).await?;
        Ok(Some(rows.first().map(|row| row.get::<i64>(0)).transpose()?.unwrap_or(0)))
    }

    /// The plain test on `r`, its arguments appended to `args`; `below` is the page's bound on
    /// `r.id`, if it has one.
    pub fn plain(&self, below: Option<i64>, args: &mut Vec<Value>) -> String {
        match (&self.plain_below, below) {
            (Some(sql), Some(id)) => {
                let sql = self.render(sql, args);
                args.push(id.into());
                sql
            }
            _ => self.render(&self.plain, args),
        }
    }

    /// The test on `r` for a walk, its arguments appended to `args`.
    pub fn walk(&self, args: &mut Vec<Value>) -> String {
        self.render(&self.walk, args)
    }

    /// `r.id` among the matches, its arguments appended to `args` (SQLite), below the id
    /// `below` when the page has that bound (a cursor, or a filter's seek): SQLite reads the
    /// matches newest first and would otherwise read the record of every match above the bound
    /// before its first one. With `newest`, only the newest `newest` matches are taken: the
    /// whole page when no other condition narrows it. `+id` keeps SQLite from walking the table
    /// in id order to avoid that small sort.
    pub fn among(&self, below: Option<i64>, newest: Option<i64>, args: &mut Vec<Value>) -> String {
        let union = self.union(args, " union ");
        let bound = match below {
            Some(id) => {
                args.push(id.into());
                format!(" where id < ${}", args.len())
            }
            None => String::new(),
        };
        let ids = match newest {
            Some(limit) => format!("select distinct id from ({union}) s{bound} order by +id desc limit {limit}"),
            None if below.is_some() => format!("select id from ({union}) s{bound}"),
            None => union,
        };
        format!("r.id in ({ids})")
    }

    /// How many entries its index ranges hold, counted up to [`SPARSE_BELOW`].
    pub async fn count(&self, conn: &mut (impl Fetch + ?Sized)) -> Result<i64, DbError> {
        let mut args = Vec::new();
        let union = self.union(&mut args, " union all ");
        let sql = format!("select count(*) from ({union} limit {SPARSE_BELOW}) p");
        let rows = conn.fetch_rows(&sql, args).await?;
        rows.first().map(|row| row.get::<i64>(0)).transpose().map(Option::unwrap_or_default)
    }

    fn union(&self, args: &mut Vec<Value>, joiner: &str) -> String {
        let base = args.len();
        args.extend(self.args.iter().cloned());
        let branches: Vec<String> = self.branches.iter().map(|b| renumber(b, base)).collect();
        branches.join(joiner)
    }

    fn render(&self, sql: &str, args: &mut Vec<Value>) -> String {
        let base = args.len();
        args.extend(self.args.iter().cloned());
        renumber(sql, base)
    }
}

/// `?k` → `$(base + k)`.
fn renumber(sql: &str, base: usize) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '?' {
            out.push(c);
            continue;
        }
        let mut n = 0usize;
        while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
            n = n * 10 + d as usize;
            chars.next();
        }
        out.push_str(&format!("${}", base + n));
    }
    out
}

/// Of `sources`, the one whose matches are fewest, if they are fewer than [`SPARSE_BELOW`]
/// (SQLite; `None` on PostgreSQL, see the module docs). A source with a seek is walked, never
/// counted.
pub async fn sparsest(
    conn: &mut (impl Fetch + ?Sized),
    engine: Engine,
    sources: &[IdSource],
) -> Result<Option<usize>, DbError> {
    if engine == Engine::Postgres {
        return Ok(None);
    }
    let mut best: Option<(usize, i64)> = None;
    for (i, source) in sources.iter().enumerate().filter(|(_, source)| source.seek.is_none()) {
        let count = source.count(conn).await?;
        if count < SPARSE_BELOW && best.is_none_or(|(_, fewest)| count < fewest) {
            best = Some((i, count));
        }
    }
    Ok(best.map(|(i, _)| i))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_arguments_are_renumbered_after_the_statement_s_own() {
        assert_eq!(renumber("a >= ?1 and a < ?2", 3), "a >= $4 and a < $5");
        assert_eq!(renumber("x = ?12", 0), "x = $12");
        let source = IdSource::new(
            vec!["select id from t where a >= ?1".into(), "select id from t where b >= ?1".into()],
            "r.a || '' >= ?1".into(),
            "r.a >= ?1".into(),
            vec![Value::from("k")],
        );
        let mut args = vec![Value::from(1_i64)];
        assert_eq!(source.walk(&mut args), "r.a || '' >= $2");
        assert_eq!(
            source.among(Some(9), Some(51), &mut args),
            "r.id in (select distinct id from (select id from t where a >= $3 union select id from t where b >= $3) s \
             where id < $4 order by +id desc limit 51)"
        );
        assert_eq!(args.len(), 4);
        assert_eq!(source.plain(Some(7), &mut args), "r.a >= $5", "no bounded form: the plain test");
        assert_eq!(args.len(), 5);
        assert_eq!(
            source.among(None, None, &mut args),
            "r.id in (select id from t where a >= $6 union select id from t where b >= $6)"
        );
        assert_eq!(
            source.among(Some(9), None, &mut args),
            "r.id in (select id from (select id from t where a >= $7 union select id from t where b >= $7) s \
             where id < $8)"
        );
        assert_eq!(args.len(), 8);
    }

    #[test]
    fn a_bounded_plain_test_takes_the_page_s_bound_after_its_own_arguments() {
        let source = IdSource::new(Vec::new(), "w".into(), "r.a >= ?1".into(), vec![Value::from("k")])
            .with_plain_below("r.a >= ?1 and r.b < ?2".into());
        let mut args = vec![Value::from(1_i64)];
        assert_eq!(source.plain(None, &mut args), "r.a >= $2");
        assert_eq!(args.len(), 2);
        assert_eq!(source.plain(Some(9), &mut args), "r.a >= $3 and r.b < $4");
        assert_eq!(args.len(), 4);
        assert!(matches!(&args[3], Value::Int(Some(9))), "{:?}", args[3]);
    }
}
