//! Pre-lead writes. Each function runs inside the caller's transaction; a row is locked before
//! any decision that depends on its state, so concurrent calls serialise. What pre-leads share
//! with leads is in `related::record`.

use crate::args;
use crate::changes::Change;
use crate::db::columns::Columns;
use crate::db::{ResultExt, WriteConn};
use crate::domain::fields::Email;
use crate::domain::scalars::Text;
use crate::domain::values::{PreLeadStatus, Priority};
use crate::domain::{time, EntityType, EventContext, StoreError};
use crate::related::record::Record;
use crate::related::{self, DiscardIn, StatusChange};
use crate::shared_record_columns;

use super::payload::{NewPreLeadIn, PreLeadConvertIn, PreLeadPatch, PreLeadStatusIn};

pub const PRE_LEADS: Record = Record {
    entity: EntityType::PreLead,
    table: "pre_leads",
    label: "Pre-lead",
    not_found: "Pre-lead not found",
    converted_to: "lead",
    lock_sql:
        "update pre_leads set updated_at = $1 where id = $2 returning lead_status, is_discarded, converted_lead_id",
    exists_sql: "select id from pre_leads where id = $1",
    discarded_status: PreLeadStatus::ClosedNotConverted.as_str(),
};

pub async fn create(conn: &mut WriteConn, input: NewPreLeadIn, ctx: &EventContext) -> Result<Change, StoreError> {
    let status = input.lead_status.unwrap_or(PreLeadStatus::New);
    let source = input.source;
    let mut row = Columns::new();
    row.set("email", input.email.map(Email::into_inner));
    shared_record_columns!(row, set, input);
    let record = PRE_LEADS.create(conn, row, status.as_str(), source, ctx).await?;
    Ok(Change::PreLeadCreated { record: Box::new(record) })
}

pub async fn update(
    conn: &mut WriteConn,
    id: i64,
    patch: PreLeadPatch,
    ctx: &EventContext,
) -> Result<Change, StoreError> {
    let mut row = Columns::new();
    row.patch("email", patch.email.map(|e| e.map(Email::into_inner)));
    let (source, status) = (patch.source, patch.lead_status);
    shared_record_columns!(row, patch, patch);
    PRE_LEADS.patch(conn, id, row, source, status.map(PreLeadStatus::as_str), ctx).await?;
    Ok(Change::PreLeadUpdated { id })
}

pub async fn update_status(
    conn: &mut WriteConn,
    id: i64,
    input: PreLeadStatusIn,
    ctx: &EventContext,
) -> Result<Change, StoreError> {
    PRE_LEADS
        .update_status(
            conn,
            id,
            input.lead_status.as_str(),
            input.remarks.map(Text::into_inner),
            input.status_date,
            ctx,
        )
        .await
}

pub async fn discard(
    conn: &mut WriteConn,
    id: i64,
    input: DiscardIn,
    ctx: &EventContext,
) -> Result<Change, StoreError> {
    let reason = input.reason.or(input.loss_reason).map(Text::into_inner);
    let mut reasons = Columns::new();
    reasons.set("discard_reason", reason.clone());
    PRE_LEADS.discard(conn, id, reasons, reason, ctx).await
}

/// Creates the lead, copies contacts and memos, links both ways. Once only: a converted or
/// discarded pre-lead is a conflict, and `leads.pre_lead_id` is unique besides.
pub async fn convert(
    conn: &mut WriteConn,
    id: i64,
    input: PreLeadConvertIn,
    ctx: &EventContext,
) -> Result<Change, StoreError> {
    let locked = PRE_LEADS.lock(conn, id).await?;
    PRE_LEADS.refuse_conversion(id, &locked)?;
    let now = time::now();
    let priority = input.priority.unwrap_or(Priority::Medium);
    let row = conn.fetch_one("insert into leads (pre_lead_id, first_name, last_name, email, phone, company_name, last_name_lower, \
         company_name_lower, source, source_details, priority, product_interest, requirements, expected_value_cents, city, state, country, address_line1, \
         address_line2, zip_code, assigned_to, notes, lead_status, industry_id, region_id, office_timings, timezone, \
         received_from, raw_payload, created_at, updated_at) \
         select id, first_name, last_name, email, phone, company_name, last_name_lower, company_name_lower, source, \
         source_details, $1, product_interest, requirements, $2, city, state, country, address_line1, \
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
    let converted = PreLeadStatus::Converted.as_str();
    let remarks = Some(format!("Converted to lead {lead_id}"));
    let from = StatusChange::new(EntityType::PreLead, id, Some(&locked.lead_status), converted, remarks, ctx.event);
    related::record_status_change(conn, from).await?;
    let remarks = Some(format!("Converted from pre-lead {id}"));
    related::record_status_change(conn, StatusChange::new(EntityType::Lead, lead_id, None, "new", remarks, ctx.event))
        .await?;
    Ok(Change::PreLeadConverted { pre_lead_id: id, lead_id })
}
