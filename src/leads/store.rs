//! Lead writes. Each function runs inside the caller's transaction; a row is locked before any
//! decision that depends on its state, so concurrent calls serialise. What leads share with
//! pre-leads is in `related::record`.

use crate::args;
use crate::changes::Change;
use crate::customers;
use crate::db::columns::Columns;
use crate::db::WriteConn;
use crate::domain::fields::Email;
use crate::domain::scalars::Text;
use crate::domain::values::{LeadStatus, Priority};
use crate::domain::{time, EntityType, EventContext, StoreError};
use crate::related::record::Record;
use crate::related::{self, DiscardIn, StatusChange};
use crate::shared_record_columns;

use super::payload::{ActivityIn, LeadConvertIn, LeadPatch, LeadStatusIn, NewLeadIn, QualifiedProfileIn};

pub const LEADS: Record = Record {
    entity: EntityType::Lead,
    table: "leads",
    label: "Lead",
    not_found: "Lead not found",
    converted_to: "customer",
    lock_sql: "update leads set updated_at = $1 where id = $2 returning lead_status, is_discarded, customer_id",
    exists_sql: "select id from leads where id = $1",
    discarded_status: LeadStatus::Lost.as_str(),
};

pub async fn create(conn: &mut WriteConn, input: NewLeadIn, ctx: &EventContext) -> Result<Change, StoreError> {
    let status = input.lead_status.unwrap_or(LeadStatus::New);
    let source = input.source;
    let mut row = Columns::new();
    row.set("email", input.email.map(Email::into_inner))
        .set("designation", input.designation)
        .set("company_size", input.company_size)
        .set("priority", input.priority.unwrap_or(Priority::Medium).as_str())
        .set("expected_value_cents", input.expected_value.map(|m| m.cents()))
        .set("assigned_to", input.assigned_to);
    shared_record_columns!(row, set, input);
    let record = LEADS.create(conn, row, status.as_str(), source, ctx).await?;
    Ok(Change::LeadCreated { record: Box::new(record) })
}

pub async fn update(conn: &mut WriteConn, id: i64, patch: LeadPatch, ctx: &EventContext) -> Result<Change, StoreError> {
    let mut row = Columns::new();
    row.patch("email", patch.email.map(|e| e.map(Email::into_inner)))
        .patch("designation", patch.designation)
        .patch("company_size", patch.company_size)
        .patch("priority", patch.priority.map(|p| p.as_str()))
        .patch("expected_value_cents", patch.expected_value.map(|m| m.map(|m| m.cents())))
        .patch("assigned_to", patch.assigned_to);
    let (source, status) = (patch.source, patch.lead_status);
    shared_record_columns!(row, patch, patch);
    LEADS.patch(conn, id, row, source, status.map(LeadStatus::as_str), ctx).await?;
    Ok(Change::LeadUpdated { id })
}

pub async fn update_status(
    conn: &mut WriteConn,
    id: i64,
    input: LeadStatusIn,
    ctx: &EventContext,
) -> Result<Change, StoreError> {
    LEADS
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

/// Marks the lead lost and discarded; discarding twice is harmless.
pub async fn discard(
    conn: &mut WriteConn,
    id: i64,
    input: DiscardIn,
    ctx: &EventContext,
) -> Result<Change, StoreError> {
    let remarks = match (&input.reason, &input.loss_reason) {
        (Some(reason), Some(loss)) => Some(format!("{reason}: {loss}")),
        (reason, loss) => reason.clone().or_else(|| loss.clone()).map(Text::into_inner),
    };
    let mut reasons = Columns::new();
    reasons.set("discard_reason", input.reason).set("loss_reason", input.loss_reason);
    LEADS.discard(conn, id, reasons, remarks, ctx).await
}

pub async fn add_activity(
    conn: &mut WriteConn,
    id: i64,
    input: ActivityIn,
    ctx: &EventContext,
) -> Result<Change, StoreError> {
    LEADS.exists(conn, id).await?;
    let mut row = Columns::new();
    row.set("lead_id", id)
        .set("activity_type", input.activity_type.as_str())
        .set("title", input.title)
        .set("description", input.description)
        .set("scheduled_at", input.scheduled_at.map(|d| d.0))
        .set("completed_at", input.completed_at.map(|d| d.0))
        .set("outcome", input.outcome)
        .set("raw_payload", ctx.raw_payload.as_str())
        .set("created_at", time::now());
    let activity_id = row.insert(conn, "activities").await?;
    Ok(Change::ActivityAdded { lead_id: id, activity_id })
}

/// Creates the profile, or changes only the keys present.
pub async fn upsert_profile(
    conn: &mut WriteConn,
    id: i64,
    input: QualifiedProfileIn,
    ctx: &EventContext,
) -> Result<Change, StoreError> {
    LEADS.lock(conn, id).await?;
    let now = time::now();
    let mut row = Columns::new();
    row.patch("profile_type", input.profile_type)
        .patch("company", input.company)
        .patch("industry", input.industry)
        .patch("best_time_call", input.best_time_call)
        .patch("timezone", input.timezone)
        .patch("mode", input.mode)
        .patch("contact_name", input.contact_name)
        .patch("designation", input.designation)
        .patch("phone", input.phone)
        .patch("email", input.email.map(|e| e.map(Email::into_inner)))
        .patch("need_type", input.need_type)
        .patch("current_solution", input.current_solution)
        .patch("pain_point", input.pain_point)
        .patch("budget_cents", input.budget.map(|m| m.map(|m| m.cents())))
        .patch("decision_timeline", input.decision_timeline)
        .patch("decision_maker", input.decision_maker)
        .patch("competitor_info", input.competitor_info)
        .patch("notes", input.notes)
        .set("raw_payload", ctx.raw_payload.as_str())
        .set("updated_at", now.clone());
    let existing = conn.fetch_optional("select id from qualified_profiles where lead_id = $1", args![id]).await?;
    match existing {
        Some(found) => {
            let profile_id: i64 = found.get(0)?;
            row.update(conn, "qualified_profiles", profile_id).await?;
            Ok(Change::ProfileUpdated { lead_id: id, profile_id })
        }
        None => {
            row.set("lead_id", id).set("created_at", now);
            let profile_id = row.insert(conn, "qualified_profiles").await?;
            Ok(Change::ProfileUpdated { lead_id: id, profile_id })
        }
    }
}

/// Creates the customer, marks the lead won (with history) and links both ways. Once only.
pub async fn convert(
    conn: &mut WriteConn,
    id: i64,
    input: LeadConvertIn,
    ctx: &EventContext,
) -> Result<Change, StoreError> {
    let locked = LEADS.lock(conn, id).await?;
    LEADS.refuse_conversion(id, &locked)?;
    let (customer_id, code) = customers::store::create_from_lead(conn, id, input, ctx).await?;
    let mut row = Columns::new();
    row.set("customer_id", customer_id).set("converted_at", time::now()).set("lead_status", LeadStatus::Won.as_str());
    row.update(conn, "leads", id).await?;
    related::record_status_change(
        conn,
        StatusChange::new(
            EntityType::Lead,
            id,
            Some(&locked.lead_status),
            LeadStatus::Won.as_str(),
            Some(format!("Converted to customer {code}")),
            ctx.event,
        ),
    )
    .await?;
    Ok(Change::LeadConverted { lead_id: id, customer_id, customer_code: code })
}
