//! What pre-leads and leads share as records: the row lock, the "converted" guard, status
//! updates, discards, and the bookkeeping of creates and patches (source columns, history).
//! Each store describes its table once as a [`Record`] and keeps only what differs.

use crate::args;
use crate::changes::Change;
use crate::db::columns::Columns;
use crate::db::WriteConn;
use crate::domain::fields::DateTimeText;
use crate::domain::values::SourceValue;
use crate::domain::{time, EntityType, EventContext, StoreError};
use crate::records::Created;

use super::StatusChange;

/// A table of pre-leads or leads.
pub struct Record {
    pub entity: EntityType,
    pub table: &'static str,
    /// How answers name it at the start of a sentence (`Pre-lead 7 …`).
    pub label: &'static str,
    pub not_found: &'static str,
    /// What a conversion makes of it (`lead`, `customer`).
    pub converted_to: &'static str,
    /// Takes the row lock; returns `lead_status, is_discarded` and the converted-to id.
    pub lock_sql: &'static str,
    pub exists_sql: &'static str,
    /// The status a discard moves it to.
    pub discarded_status: &'static str,
}

/// The state a decision needs, read while holding the row lock.
pub struct Locked {
    pub lead_status: String,
    pub is_discarded: bool,
    /// The record this one was converted to, if it was.
    pub converted_to: Option<i64>,
}

impl Record {
    /// Locks the row for the rest of the transaction (an UPDATE takes the row lock on PostgreSQL
    /// and the write lock on SQLite) and returns its state; not found when it does not exist.
    pub async fn lock(&self, conn: &mut WriteConn, id: i64) -> Result<Locked, StoreError> {
        let row = conn
            .fetch_optional(self.lock_sql, args![time::now(), id])
            .await?
            .ok_or(StoreError::NotFound(self.not_found))?;
        Ok(Locked { lead_status: row.get(0)?, is_discarded: row.get(1)?, converted_to: row.get(2)? })
    }

    pub async fn exists(&self, conn: &mut WriteConn, id: i64) -> Result<(), StoreError> {
        let found = conn.fetch_optional(self.exists_sql, args![id]).await?;
        found.map(|_| ()).ok_or(StoreError::NotFound(self.not_found))
    }

    /// Once converted, a record's status is final.
    pub fn refuse_if_converted(&self, id: i64, locked: &Locked) -> Result<(), StoreError> {
        match locked.converted_to {
            Some(to) => Err(StoreError::Conflict(format!(
                "{} {id} was converted to {} {to}; its status can no longer change",
                self.label, self.converted_to
            ))),
            None => Ok(()),
        }
    }

    /// A conversion happens once, and never from a discarded record.
    pub fn refuse_conversion(&self, id: i64, locked: &Locked) -> Result<(), StoreError> {
        if let Some(to) = locked.converted_to {
            return Err(StoreError::Conflict(format!(
                "{} {id} was already converted to {} {to}",
                self.label, self.converted_to
            )));
        }
        if locked.is_discarded {
            return Err(StoreError::Conflict(format!("{} {id} is discarded and cannot be converted", self.label)));
        }
        Ok(())
    }

    /// Inserts a new record and its first history row (old status empty); answers the record
    /// as inserted.
    pub async fn create<R: Created>(
        &self,
        conn: &mut WriteConn,
        mut row: Columns,
        status: &str,
        source: Option<SourceValue>,
        ctx: &EventContext,
    ) -> Result<R, StoreError> {
        let now = time::now();
        let source = source.or_else(|| ctx.received_from.as_deref().map(SourceValue::parse));
        row.set("lead_status", status)
            .set("received_from", ctx.received_from.clone())
            .set("raw_payload", ctx.raw_payload.as_str())
            .set("created_at", now.clone())
            .set("updated_at", now);
        if let Some(source) = source {
            row.set("source", source.source.as_str()).set("source_details", source.details);
        }
        crate::records::search::set_search_keys(&mut row);
        let record = R::from_row(&crate::duplicates::insert_new(conn, self.entity, row, R::returning()).await?)?;
        let created = StatusChange::new(self.entity, record.id(), None, status, Some("Created".into()), ctx.event);
        super::record_status_change(conn, created).await?;
        Ok(record)
    }

    /// Applies a patch: the columns present, the source (`null` makes it `other`), and a status
    /// different from the current one, which is recorded in the history and reopens a discarded
    /// record.
    pub async fn patch(
        &self,
        conn: &mut WriteConn,
        id: i64,
        mut row: Columns,
        source: Option<Option<SourceValue>>,
        status: Option<&str>,
        ctx: &EventContext,
    ) -> Result<(), StoreError> {
        let locked = self.lock(conn, id).await?;
        crate::records::search::set_search_keys(&mut row);
        row.set("raw_payload", ctx.raw_payload.as_str());
        match source {
            Some(Some(source)) => {
                row.set("source", source.source.as_str()).set("source_details", source.details);
            }
            Some(None) => {
                row.set("source", "other").set("source_details", None::<String>);
            }
            None => {}
        }
        if let Some(status) = status.filter(|s| *s != locked.lead_status) {
            self.refuse_if_converted(id, &locked)?;
            row.set("lead_status", status).set("is_discarded", false);
            let change = StatusChange::new(self.entity, id, Some(&locked.lead_status), status, None, ctx.event);
            super::record_status_change(conn, change).await?;
        }
        row.update(conn, self.table, id).await?;
        Ok(())
    }

    /// A status update, written to the history even when the status stays the same. It reopens a
    /// discarded record: it is being worked on again.
    pub async fn update_status(
        &self,
        conn: &mut WriteConn,
        id: i64,
        new_status: &str,
        remarks: Option<String>,
        status_date: Option<DateTimeText>,
        ctx: &EventContext,
    ) -> Result<Change, StoreError> {
        let locked = self.lock(conn, id).await?;
        self.refuse_if_converted(id, &locked)?;
        let mut row = Columns::new();
        row.set("lead_status", new_status).set("is_discarded", false).set("raw_payload", ctx.raw_payload.as_str());
        row.update(conn, self.table, id).await?;
        let change = StatusChange::new(self.entity, id, Some(&locked.lead_status), new_status, remarks, ctx.event);
        super::record_status_change(conn, change.dated(status_date)).await?;
        Ok(Change::StatusChanged { entity: self.entity, id, old: locked.lead_status, new: new_status.to_string() })
    }

    /// Sets the record discarded with `reasons` (its own columns) and moves it to the discarded
    /// status, with history. Discarding twice is harmless: the second call changes nothing.
    pub async fn discard(
        &self,
        conn: &mut WriteConn,
        id: i64,
        mut reasons: Columns,
        remarks: Option<String>,
        ctx: &EventContext,
    ) -> Result<Change, StoreError> {
        let locked = self.lock(conn, id).await?;
        if let Some(to) = locked.converted_to {
            return Err(StoreError::Conflict(format!(
                "{} {id} was converted to {} {to} and cannot be discarded",
                self.label, self.converted_to
            )));
        }
        if locked.is_discarded {
            return Ok(Change::Discarded { entity: self.entity, id, first: false });
        }
        reasons
            .set("is_discarded", true)
            .set("discarded_at", time::now())
            .set("lead_status", self.discarded_status)
            .set("raw_payload", ctx.raw_payload.as_str());
        reasons.update(conn, self.table, id).await?;
        let change =
            StatusChange::new(self.entity, id, Some(&locked.lead_status), self.discarded_status, remarks, ctx.event);
        super::record_status_change(conn, change).await?;
        Ok(Change::Discarded { entity: self.entity, id, first: true })
    }
}

/// Sets (`set`, from a create payload) or patches (`patch`, from an update payload) the columns
/// that pre-leads and leads share, moving the fields out of `$input`.
#[macro_export]
macro_rules! shared_record_columns {
    ($row:expr, $method:ident, $input:expr) => {
        $row.$method("first_name", $input.first_name)
            .$method("last_name", $input.last_name)
            .$method("phone", $input.phone)
            .$method("company_name", $input.company_name)
            .$method("product_interest", $input.product_interest)
            .$method("requirements", $input.requirements)
            .$method("city", $input.city)
            .$method("state", $input.state)
            .$method("country", $input.country)
            .$method("address_line1", $input.address_line1)
            .$method("address_line2", $input.address_line2)
            .$method("zip_code", $input.zip_code)
            .$method("notes", $input.notes)
            .$method("industry_id", $input.industry_id)
            .$method("region_id", $input.region_id)
            .$method("office_timings", $input.office_timings)
            .$method("timezone", $input.timezone)
    };
}

impl Record {
    /// Adds a contact to an existing record.
    pub async fn add_contact(
        &self,
        conn: &mut WriteConn,
        id: i64,
        contact: super::ContactIn,
        ctx: &EventContext,
    ) -> Result<Change, StoreError> {
        self.exists(conn, id).await?;
        super::add_contact(conn, self.entity, id, contact, ctx).await
    }

    /// Adds a memo to an existing record.
    pub async fn add_memo(
        &self,
        conn: &mut WriteConn,
        id: i64,
        memo: super::MemoIn,
        ctx: &EventContext,
    ) -> Result<Change, StoreError> {
        self.exists(conn, id).await?;
        super::add_memo(conn, self.entity, id, memo, ctx).await
    }
}

/// The create rule of pre-leads and leads: a person's or a company's name.
pub fn require_name(first_name: Option<&str>, company_name: Option<&str>) -> Result<(), StoreError> {
    use crate::domain::fields::non_blank;
    if non_blank(first_name).is_none() && non_blank(company_name).is_none() {
        return Err(StoreError::invalid("first_name", "first_name or company_name is required"));
    }
    Ok(())
}
