//! Pre-lead writes. Each function runs inside the caller's transaction; a row is locked
//! (`lock`) before any decision that depends on its state, so concurrent calls serialise.

use crate::args;
use crate::db::WriteConn;

use super::payload::{NewPreLeadIn, PreLeadConvertIn, PreLeadPatch, PreLeadStatusIn};
use crate::db::columns::Columns;
use crate::domain::fields::Email;
use crate::domain::values::{PreLeadStatus, Priority, SourceValue};
use crate::domain::{time, EntityType};
use crate::http::error::{AppError, ResultExt};
use crate::related::{self, DiscardIn, StatusChange};
use crate::webhook::EventContext;

const NOT_FOUND: AppError = AppError::NotFound("Pre-lead not found");

/// The state a decision needs, read while holding the row lock.
pub struct Locked {
    pub lead_status: String,
    pub is_discarded: bool,
    pub converted_lead_id: Option<i64>,
}

/// Locks the row for the rest of the transaction (an UPDATE takes the row lock on PostgreSQL and
/// the write lock on SQLite) and returns its current state; 404 when it does not exist.
pub async fn lock(conn: &mut WriteConn, id: i64) -> Result<Locked, AppError> {
    let row = conn
        .fetch_optional(
            "update pre_leads set updated_at = $1 where id = $2 returning lead_status, is_discarded, converted_lead_id",
            args![time::now(), id],
        )
        .await?
        .ok_or(NOT_FOUND)?;
    Ok(Locked {
        lead_status: row.get("lead_status")?,
        is_discarded: row.get("is_discarded")?,
        converted_lead_id: row.get("converted_lead_id")?,
    })
}

pub async fn exists(conn: &mut WriteConn, id: i64) -> Result<(), AppError> {
    let found = conn.fetch_optional("select id from pre_leads where id = $1", args![id]).await?;
    found.map(|_| ()).ok_or(NOT_FOUND)
}

fn source_columns(row: &mut Columns, source: Option<SourceValue>) {
    if let Some(source) = source {
        row.set("source", source.source.as_str()).set("source_details", source.details);
    }
}

pub async fn create(conn: &mut WriteConn, input: NewPreLeadIn, ctx: &EventContext) -> Result<i64, AppError> {
    let now = time::now();
    let status = input.lead_status.unwrap_or(PreLeadStatus::New);
    let source = input.source.or_else(|| ctx.received_from.as_deref().map(SourceValue::parse));
    let mut row = Columns::new();
    row.set("first_name", input.first_name)
        .set("last_name", input.last_name)
        .set("email", input.email.map(Email::into_inner))
        .set("phone", input.phone)
        .set("company_name", input.company_name)
        .set("product_interest", input.product_interest)
        .set("requirements", input.requirements)
        .set("city", input.city)
        .set("state", input.state)
        .set("country", input.country)
        .set("address_line1", input.address_line1)
        .set("address_line2", input.address_line2)
        .set("zip_code", input.zip_code)
        .set("notes", input.notes)
        .set("lead_status", status.as_str())
        .set("industry_id", input.industry_id)
        .set("region_id", input.region_id)
        .set("office_timings", input.office_timings)
        .set("timezone", input.timezone)
        .set("received_from", ctx.received_from.clone())
        .set("raw_payload", ctx.raw_payload.as_str())
        .set("created_at", now.clone())
        .set("updated_at", now);
    source_columns(&mut row, source);
    let id = row.insert(conn, "pre_leads").await?;
    related::record_status_change(
        conn,
        StatusChange::new(EntityType::PreLead, id, None, status.as_str(), Some("Created".into()), ctx.event),
    )
    .await?;
    Ok(id)
}

fn converted_conflict(id: i64, lead_id: i64) -> AppError {
    AppError::Conflict(format!("Pre-lead {id} was converted to lead {lead_id}; its status can no longer change"))
}

pub async fn update(conn: &mut WriteConn, id: i64, patch: PreLeadPatch, ctx: &EventContext) -> Result<(), AppError> {
    let locked = lock(conn, id).await?;
    let mut row = Columns::new();
    row.patch("first_name", patch.first_name)
        .patch("last_name", patch.last_name)
        .patch("email", patch.email.map(|e| e.map(Email::into_inner)))
        .patch("phone", patch.phone)
        .patch("company_name", patch.company_name)
        .patch("product_interest", patch.product_interest)
        .patch("requirements", patch.requirements)
        .patch("city", patch.city)
        .patch("state", patch.state)
        .patch("country", patch.country)
        .patch("address_line1", patch.address_line1)
        .patch("address_line2", patch.address_line2)
        .patch("zip_code", patch.zip_code)
        .patch("notes", patch.notes)
        .patch("industry_id", patch.industry_id)
        .patch("region_id", patch.region_id)
        .patch("office_timings", patch.office_timings)
        .patch("timezone", patch.timezone)
        .set("raw_payload", ctx.raw_payload.as_str());
    match patch.source {
        Some(Some(source)) => source_columns(&mut row, Some(source)),
        Some(None) => {
            row.set("source", "other").set("source_details", None::<String>);
        }
        None => {}
    }
    if let Some(status) = patch.lead_status.filter(|s| s.as_str() != locked.lead_status) {
        if let Some(lead_id) = locked.converted_lead_id {
            return Err(converted_conflict(id, lead_id));
        }
        row.set("lead_status", status.as_str()).set("is_discarded", false);
        related::record_status_change(
            conn,
            StatusChange::new(EntityType::PreLead, id, Some(&locked.lead_status), status.as_str(), None, ctx.event),
        )
        .await?;
    }
    row.update(conn, "pre_leads", id).await?;
    Ok(())
}

/// Returns (old status, new status).
pub async fn update_status(
    conn: &mut WriteConn,
    id: i64,
    input: PreLeadStatusIn,
    ctx: &EventContext,
) -> Result<(String, String), AppError> {
    let locked = lock(conn, id).await?;
    if let Some(lead_id) = locked.converted_lead_id {
        return Err(converted_conflict(id, lead_id));
    }
    let new_status = input.lead_status.as_str();
    // A status update reopens a discarded pre-lead: it is being worked on again.
    let mut row = Columns::new();
    row.set("lead_status", new_status).set("is_discarded", false).set("raw_payload", ctx.raw_payload.as_str());
    row.update(conn, "pre_leads", id).await?;
    related::record_status_change(
        conn,
        StatusChange::new(EntityType::PreLead, id, Some(&locked.lead_status), new_status, input.remarks, ctx.event)
            .dated(input.status_date),
    )
    .await?;
    Ok((locked.lead_status, new_status.to_string()))
}

/// Discarding twice is harmless: the second call changes nothing and succeeds.
pub async fn discard(conn: &mut WriteConn, id: i64, input: DiscardIn, ctx: &EventContext) -> Result<(), AppError> {
    let locked = lock(conn, id).await?;
    if let Some(lead_id) = locked.converted_lead_id {
        return Err(AppError::Conflict(format!(
            "Pre-lead {id} was converted to lead {lead_id} and cannot be discarded"
        )));
    }
    if locked.is_discarded {
        return Ok(());
    }
    let new_status = PreLeadStatus::ClosedNotConverted.as_str();
    let remarks = input.reason.clone().or_else(|| input.loss_reason.clone());
    let mut row = Columns::new();
    row.set("is_discarded", true)
        .set("discard_reason", input.reason.or(input.loss_reason))
        .set("discarded_at", time::now())
        .set("lead_status", new_status)
        .set("raw_payload", ctx.raw_payload.as_str());
    row.update(conn, "pre_leads", id).await?;
    related::record_status_change(
        conn,
        StatusChange::new(EntityType::PreLead, id, Some(&locked.lead_status), new_status, remarks, ctx.event),
    )
    .await
}

/// Creates the lead, copies contacts and memos, links both ways. Once only: a converted or
/// discarded pre-lead is a 409, and `leads.pre_lead_id` is unique besides.
pub async fn convert(
    conn: &mut WriteConn,
    id: i64,
    input: PreLeadConvertIn,
    ctx: &EventContext,
) -> Result<i64, AppError> {
    let locked = lock(conn, id).await?;
    if let Some(lead_id) = locked.converted_lead_id {
        return Err(AppError::Conflict(format!("Pre-lead {id} was already converted to lead {lead_id}")));
    }
    if locked.is_discarded {
        return Err(AppError::Conflict(format!("Pre-lead {id} is discarded and cannot be converted")));
    }
    let now = time::now();
    let priority = input.priority.unwrap_or(Priority::Medium);
    let row = conn.fetch_one("insert into leads (pre_lead_id, first_name, last_name, email, phone, company_name, source, source_details, \
         priority, product_interest, requirements, expected_value_cents, city, state, country, address_line1, \
         address_line2, zip_code, assigned_to, notes, lead_status, industry_id, region_id, office_timings, timezone, \
         received_from, raw_payload, created_at, updated_at) \
         select id, first_name, last_name, email, phone, company_name, source, source_details, \
         $1, product_interest, requirements, $2, city, state, country, address_line1, \
         address_line2, zip_code, $3, coalesce($4, notes), $5, industry_id, region_id, office_timings, timezone, \
         $6, $7, $8, $8 from pre_leads where id = $9 returning id", args![priority.as_str(), input.expected_value.map(|m| m.cents()), input.assigned_to, input.notes, "new", ctx.received_from.clone(), ctx.raw_payload.as_str(), now.clone(), id])
    .await
    .on_unique_violation(|| format!("Pre-lead {id} was already converted"))?;
    let lead_id: i64 = row.get(0)?;
    related::copy_contacts_and_memos(conn, (EntityType::PreLead, id), (EntityType::Lead, lead_id)).await?;
    let mut update = Columns::new();
    update
        .set("converted_lead_id", lead_id)
        .set("converted_at", now)
        .set("lead_status", PreLeadStatus::Converted.as_str());
    update.update(conn, "pre_leads", id).await?;
    related::record_status_change(
        conn,
        StatusChange::new(
            EntityType::PreLead,
            id,
            Some(&locked.lead_status),
            PreLeadStatus::Converted.as_str(),
            Some(format!("Converted to lead {lead_id}")),
            ctx.event,
        ),
    )
    .await?;
    related::record_status_change(
        conn,
        StatusChange::new(
            EntityType::Lead,
            lead_id,
            None,
            "new",
            Some(format!("Converted from pre-lead {id}")),
            ctx.event,
        ),
    )
    .await?;
    Ok(lead_id)
}
