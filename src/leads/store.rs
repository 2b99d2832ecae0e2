//! Lead writes. Each function runs inside the caller's transaction; a row is locked (`lock`)
//! before any decision that depends on its state, so concurrent calls serialise.

use crate::args;
use crate::db::WriteConn;

use super::payload::{ActivityIn, LeadConvertIn, LeadPatch, LeadStatusIn, NewLeadIn, QualifiedProfileIn};
use crate::customers;
use crate::db::columns::Columns;
use crate::domain::fields::Email;
use crate::domain::values::{LeadStatus, Priority, SourceValue};
use crate::domain::{time, EntityType};
use crate::http::error::AppError;
use crate::related::{self, DiscardIn, StatusChange};
use crate::webhook::EventContext;

const NOT_FOUND: AppError = AppError::NotFound("Lead not found");

pub struct Locked {
    pub lead_status: String,
    pub is_discarded: bool,
    pub customer_id: Option<i64>,
}

/// Locks the row for the rest of the transaction and returns its state; 404 when missing.
pub async fn lock(conn: &mut WriteConn, id: i64) -> Result<Locked, AppError> {
    let row = conn
        .fetch_optional(
            "update leads set updated_at = $1 where id = $2 returning lead_status, is_discarded, customer_id",
            args![time::now(), id],
        )
        .await?
        .ok_or(NOT_FOUND)?;
    Ok(Locked {
        lead_status: row.get("lead_status")?,
        is_discarded: row.get("is_discarded")?,
        customer_id: row.get("customer_id")?,
    })
}

pub async fn exists(conn: &mut WriteConn, id: i64) -> Result<(), AppError> {
    let found = conn.fetch_optional("select id from leads where id = $1", args![id]).await?;
    found.map(|_| ()).ok_or(NOT_FOUND)
}

fn converted_conflict(id: i64, customer_id: i64) -> AppError {
    AppError::Conflict(format!("Lead {id} was converted to customer {customer_id}; its status can no longer change"))
}

pub async fn create(conn: &mut WriteConn, input: NewLeadIn, ctx: &EventContext) -> Result<i64, AppError> {
    let now = time::now();
    let status = input.lead_status.unwrap_or(LeadStatus::New);
    let source = input.source.or_else(|| ctx.received_from.as_deref().map(SourceValue::parse));
    let mut row = Columns::new();
    row.set("first_name", input.first_name)
        .set("last_name", input.last_name)
        .set("email", input.email.map(Email::into_inner))
        .set("phone", input.phone)
        .set("company_name", input.company_name)
        .set("designation", input.designation)
        .set("company_size", input.company_size)
        .set("priority", input.priority.unwrap_or(Priority::Medium).as_str())
        .set("product_interest", input.product_interest)
        .set("requirements", input.requirements)
        .set("expected_value_cents", input.expected_value.map(|m| m.cents()))
        .set("city", input.city)
        .set("state", input.state)
        .set("country", input.country)
        .set("address_line1", input.address_line1)
        .set("address_line2", input.address_line2)
        .set("zip_code", input.zip_code)
        .set("assigned_to", input.assigned_to)
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
    if let Some(source) = source {
        row.set("source", source.source.as_str()).set("source_details", source.details);
    }
    let id = row.insert(conn, "leads").await?;
    related::record_status_change(
        conn,
        StatusChange::new(EntityType::Lead, id, None, status.as_str(), Some("Created".into()), ctx.event),
    )
    .await?;
    Ok(id)
}

pub async fn update(conn: &mut WriteConn, id: i64, patch: LeadPatch, ctx: &EventContext) -> Result<(), AppError> {
    let locked = lock(conn, id).await?;
    let mut row = Columns::new();
    row.patch("first_name", patch.first_name)
        .patch("last_name", patch.last_name)
        .patch("email", patch.email.map(|e| e.map(Email::into_inner)))
        .patch("phone", patch.phone)
        .patch("company_name", patch.company_name)
        .patch("designation", patch.designation)
        .patch("company_size", patch.company_size)
        .patch("priority", patch.priority.map(|p| p.as_str()))
        .patch("product_interest", patch.product_interest)
        .patch("requirements", patch.requirements)
        .patch("expected_value_cents", patch.expected_value.map(|m| m.map(|m| m.cents())))
        .patch("city", patch.city)
        .patch("state", patch.state)
        .patch("country", patch.country)
        .patch("address_line1", patch.address_line1)
        .patch("address_line2", patch.address_line2)
        .patch("zip_code", patch.zip_code)
        .patch("assigned_to", patch.assigned_to)
        .patch("notes", patch.notes)
        .patch("industry_id", patch.industry_id)
        .patch("region_id", patch.region_id)
        .patch("office_timings", patch.office_timings)
        .patch("timezone", patch.timezone)
        .set("raw_payload", ctx.raw_payload.as_str());
    match patch.source {
        Some(Some(source)) => {
            row.set("source", source.source.as_str()).set("source_details", source.details);
        }
        Some(None) => {
            row.set("source", "other").set("source_details", None::<String>);
        }
        None => {}
    }
    if let Some(status) = patch.lead_status.filter(|s| s.as_str() != locked.lead_status) {
        if let Some(customer_id) = locked.customer_id {
            return Err(converted_conflict(id, customer_id));
        }
        row.set("lead_status", status.as_str()).set("is_discarded", false);
        related::record_status_change(
            conn,
            StatusChange::new(EntityType::Lead, id, Some(&locked.lead_status), status.as_str(), None, ctx.event),
        )
        .await?;
    }
    row.update(conn, "leads", id).await?;
    Ok(())
}

/// Returns (old status, new status).
pub async fn update_status(
    conn: &mut WriteConn,
    id: i64,
    input: LeadStatusIn,
    ctx: &EventContext,
) -> Result<(String, String), AppError> {
    let locked = lock(conn, id).await?;
    if let Some(customer_id) = locked.customer_id {
        return Err(converted_conflict(id, customer_id));
    }
    let new_status = input.lead_status.as_str();
    // A status update reopens a discarded lead: it is being worked on again.
    let mut row = Columns::new();
    row.set("lead_status", new_status).set("is_discarded", false).set("raw_payload", ctx.raw_payload.as_str());
    row.update(conn, "leads", id).await?;
    let change =
        StatusChange::new(EntityType::Lead, id, Some(&locked.lead_status), new_status, input.remarks, ctx.event);
    related::record_status_change(conn, change.dated(input.status_date)).await?;
    Ok((locked.lead_status, new_status.to_string()))
}

/// Marks the lead lost and discarded; discarding twice is harmless.
pub async fn discard(conn: &mut WriteConn, id: i64, input: DiscardIn, ctx: &EventContext) -> Result<(), AppError> {
    let locked = lock(conn, id).await?;
    if let Some(customer_id) = locked.customer_id {
        return Err(AppError::Conflict(format!(
            "Lead {id} was converted to customer {customer_id} and cannot be discarded"
        )));
    }
    if locked.is_discarded {
        return Ok(());
    }
    let new_status = LeadStatus::Lost.as_str();
    let remarks = match (&input.reason, &input.loss_reason) {
        (Some(reason), Some(loss)) => Some(format!("{reason}: {loss}")),
        (reason, loss) => reason.clone().or_else(|| loss.clone()),
    };
    let mut row = Columns::new();
    row.set("is_discarded", true)
        .set("discard_reason", input.reason)
        .set("loss_reason", input.loss_reason)
        .set("discarded_at", time::now())
        .set("lead_status", new_status)
        .set("raw_payload", ctx.raw_payload.as_str());
    row.update(conn, "leads", id).await?;
    related::record_status_change(
        conn,
        StatusChange::new(EntityType::Lead, id, Some(&locked.lead_status), new_status, remarks, ctx.event),
    )
    .await
}

pub async fn add_activity(
    conn: &mut WriteConn,
    id: i64,
    input: ActivityIn,
    ctx: &EventContext,
) -> Result<i64, AppError> {
    exists(conn, id).await?;
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
    Ok(row.insert(conn, "activities").await?)
}

/// Creates the profile, or changes only the keys present. Returns the profile id.
pub async fn upsert_profile(
    conn: &mut WriteConn,
    id: i64,
    input: QualifiedProfileIn,
    ctx: &EventContext,
) -> Result<i64, AppError> {
    lock(conn, id).await?;
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
            Ok(profile_id)
        }
        None => {
            row.set("lead_id", id).set("created_at", now);
            Ok(row.insert(conn, "qualified_profiles").await?)
        }
    }
}

/// Creates the customer, marks the lead won (with history) and links both ways. Once only.
/// Returns (customer id, customer code).
pub async fn convert(
    conn: &mut WriteConn,
    id: i64,
    input: LeadConvertIn,
    ctx: &EventContext,
) -> Result<(i64, String), AppError> {
    let locked = lock(conn, id).await?;
    if let Some(customer_id) = locked.customer_id {
        return Err(AppError::Conflict(format!("Lead {id} was already converted to customer {customer_id}")));
    }
    if locked.is_discarded {
        return Err(AppError::Conflict(format!("Lead {id} is discarded and cannot be converted")));
    }
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
    Ok((customer_id, code))
}
