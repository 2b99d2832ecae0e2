//! The pipeline's counts (`pipeline_counts`) and the changes to them not yet added in
//! (`pipeline_deltas`). Triggers on `pre_leads`, `leads` and `customers` (migration 0007) write a
//! delta in the transaction of every change that moves a counted value: the old values taken
//! away, the new ones added. [`fold`] moves a batch of deltas into the counts, deleting the rows it
//! read in the same transaction (so on PostgreSQL a delta committed late is simply moved by a
//! later fold, and two instances never move one twice). [`totals`] reads counts plus deltas in one
//! statement, so the answer is exact whether or not the fold has run.

use std::collections::BTreeMap;

use crate::args;
use crate::db::{Db, DbError, Engine, Fetch, Row, WriteConn};

/// Deltas moved per fold transaction.
pub const BATCH: i64 = 10_000;
/// Deltas moved by one run of the fold task from which PostgreSQL's table of deltas is vacuumed.
pub const VACUUM_AFTER: u64 = BATCH as u64;

const COLUMNS: [&str; 6] = ["records", "discarded", "converted", "from_pre_lead", "value_cents", "outstanding_cents"];

/// The counted values of one kind of record and status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub records: i64,
    pub discarded: i64,
    pub converted: i64,
    pub from_pre_lead: i64,
    pub value_cents: i64,
    pub outstanding_cents: i64,
}

impl Counts {
    fn from_row(row: &Row) -> Result<Counts, DbError> {
        let get = |name: &str| -> Result<i64, DbError> { Ok(row.get::<Option<i64>>(name)?.unwrap_or(0)) };
        Ok(Counts {
            records: get("records")?,
            discarded: get("discarded")?,
            converted: get("converted")?,
            from_pre_lead: get("from_pre_lead")?,
            value_cents: get("value_cents")?,
            outstanding_cents: get("outstanding_cents")?,
        })
    }

    fn add(&mut self, other: &Counts) {
        self.records += other.records;
        self.discarded += other.discarded;
        self.converted += other.converted;
        self.from_pre_lead += other.from_pre_lead;
        self.value_cents += other.value_cents;
        self.outstanding_cents += other.outstanding_cents;
    }
}

/// `(entity_type, status)` → counts, as of one snapshot.
pub async fn totals(conn: &mut (impl Fetch + ?Sized)) -> Result<BTreeMap<(String, String), Counts>, DbError> {
    let list = COLUMNS.join(", ");
    let sums: Vec<String> = COLUMNS.iter().map(|c| format!("cast(sum({c}) as bigint) as {c}")).collect();
    let sql = format!(
        "select entity_type, status, {} from (select entity_type, status, {list} from pipeline_counts \
         union all select entity_type, status, {list} from pipeline_deltas) c group by entity_type, status",
        sums.join(", ")
    );
    let mut totals = BTreeMap::new();
    for row in conn.fetch_rows(&sql, args![]).await? {
        totals.insert((row.get("entity_type")?, row.get("status")?), Counts::from_row(&row)?);
    }
    Ok(totals)
}

/// Whether any delta waits to be moved (read through the pool: an idle service costs no write).
pub async fn pending(reader: &mut (impl Fetch + ?Sized)) -> Result<bool, DbError> {
    Ok(!reader.fetch_rows("select id from pipeline_deltas limit 1", args![]).await?.is_empty())
}

/// Vacuums the table of deltas on PostgreSQL. A delta is deleted as soon as it is moved, but on
/// PostgreSQL the deleted rows stay in the table until a vacuum, and [`totals`] reads the whole
/// table: after a large fold (a bulk import, a backlog) every pipeline answer would read those
/// dead rows until autovacuum comes by. Vacuuming a table of deleted rows gives its pages back
/// and takes no lock that writers wait for. SQLite reuses the freed pages and needs nothing.
pub async fn vacuum(db: &Db) -> Result<(), DbError> {
    if db.engine() == Engine::Postgres {
        sqlx::query("vacuum pipeline_deltas").execute(db.pool()).await?;
    }
    Ok(())
}

/// Moves at most [`BATCH`] deltas into the counts; returns how many it moved.
pub async fn fold(conn: &mut WriteConn) -> Result<u64, DbError> {
    let mut tx = conn.begin().await?;
    let list = COLUMNS.join(", ");
    let sql = format!(
        "delete from pipeline_deltas where id in (select id from pipeline_deltas order by id limit $1) \
         returning entity_type, status, {list}"
    );
    let moved = tx.fetch_all(&sql, args![BATCH]).await?;
    let mut sums: BTreeMap<(String, String), Counts> = BTreeMap::new();
    for row in &moved {
        sums.entry((row.get("entity_type")?, row.get("status")?)).or_default().add(&Counts::from_row(row)?);
    }
    let updates: Vec<String> = COLUMNS.iter().map(|c| format!("{c} = pipeline_counts.{c} + excluded.{c}")).collect();
    let upsert = format!(
        "insert into pipeline_counts (entity_type, status, {list}) values ($1, $2, $3, $4, $5, $6, $7, $8) \
         on conflict (entity_type, status) do update set {}",
        updates.join(", ")
    );
    for ((entity_type, status), c) in sums {
        let values = args![
            entity_type,
            status,
            c.records,
            c.discarded,
            c.converted,
            c.from_pre_lead,
            c.value_cents,
            c.outstanding_cents
        ];
        tx.execute(&upsert, values).await?;
    }
    tx.commit().await?;
    Ok(moved.len() as u64)
}
