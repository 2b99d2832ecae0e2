//! `GET /api/v1/{pre-leads,leads,customers}` and `GET /api/v1/{…}/{id}`: lists with filters and
//! keyset paging, and a record's detail (its own fields, what hangs off it, its possible
//! duplicates), bare JSON behind the admin token. Its OpenAPI part is [`openapi`].

use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::json;

use super::children::{self, Activity, Contact, Memo, Order, Payment, QualifiedProfile, StatusChangeOut};
use super::list::{self, Page};
use super::{load, Customer, Lead, PreLead, Record};
use crate::domain::EntityType;
use crate::duplicates::{self, PossibleDuplicate};
use crate::http::error::{AppError, ErrorBody};
use crate::http::openapi::{cursor_schema, enum_schema, instant_schema, set_query_schemas};
use crate::state::AppState;

/// Routes under `/api/v1` (full paths).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/pre-leads", get(list_pre_leads))
        .route("/api/v1/pre-leads/{id}", get(pre_lead_detail))
        .route("/api/v1/leads", get(list_leads))
        .route("/api/v1/leads/{id}", get(lead_detail))
        .route("/api/v1/customers", get(list_customers))
        .route("/api/v1/customers/{id}", get(customer_detail))
}

/// A pre-lead with its contacts, memos, status history and possible duplicates.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PreLeadDetail {
    #[serde(flatten)]
    pub pre_lead: PreLead,
    pub contacts: Vec<Contact>,
    pub memos: Vec<Memo>,
    pub status_history: Vec<StatusChangeOut>,
    pub possible_duplicates: Vec<PossibleDuplicate>,
}

/// A lead with its contacts, memos, activities, qualified profile, status history and possible
/// duplicates.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LeadDetail {
    #[serde(flatten)]
    pub lead: Lead,
    pub contacts: Vec<Contact>,
    pub memos: Vec<Memo>,
    pub activities: Vec<Activity>,
    pub qualified_profile: Option<QualifiedProfile>,
    pub status_history: Vec<StatusChangeOut>,
    pub possible_duplicates: Vec<PossibleDuplicate>,
}

/// A customer (totals included) with its orders, payments and possible duplicates.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CustomerDetail {
    #[serde(flatten)]
    pub customer: Customer,
    pub orders: Vec<Order>,
    pub payments: Vec<Payment>,
    pub possible_duplicates: Vec<PossibleDuplicate>,
}

/// A path id: a positive whole number, else a 400 naming `id`.
pub fn path_id(raw: &str) -> Result<i64, AppError> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| AppError::invalid_field("id", "id must be a positive whole number"))
}

async fn list<R: Record>(state: &AppState, entity: EntityType, raw: Option<String>) -> Result<Json<Page<R>>, AppError> {
    let query = list::parse(entity, raw.as_deref())?;
    Ok(Json(list::page(&mut state.db.reader(), state.db.engine(), query, state.config.settle_window).await?))
}

#[utoipa::path(get, path = "/api/v1/pre-leads", tag = "records",
    summary = "List pre-leads",
    description = "Newest first, or with `sort=updated_at` oldest change first (for syncing). \
        Filters combine with `and`. `q` is a case-insensitive prefix of the e-mail, last name or company \
        name, or of the phone's digits when it looks like a phone number; `%`, `_` and quotes match literally.",
    params(
        ("limit" = Option<i64>, Query, description = "1 to 200, default 50", minimum = 1, maximum = 200),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
        ("sort" = Option<String>, Query, description = "`created_at` (default, newest first) or `updated_at` (oldest change first; changes younger than 5 s are answered on a later poll)"),
        ("status" = Option<String>, Query, description = "new, contacted, working, qualified, on_hold, closed_not_converted, converted"),
        ("source" = Option<String>, Query, description = "one of the source values"),
        ("discarded" = Option<bool>, Query),
        ("has_duplicates" = Option<bool>, Query),
        ("created_since" = Option<String>, Query, description = "RFC 3339 or YYYY-MM-DD, inclusive"),
        ("created_until" = Option<String>, Query, description = "RFC 3339 or YYYY-MM-DD, exclusive"),
        ("updated_since" = Option<String>, Query, description = "RFC 3339 or YYYY-MM-DD, inclusive"),
        ("q" = Option<String>, Query, description = "prefix of e-mail, last name, company, or phone digits"),
    ),
    responses(
        (status = 200, description = "A page", body = Page<PreLead>, example = json!({"items": [pre_lead_example()], "next_cursor": "aWQKMQ"})),
        (status = 400, description = "A parameter is unknown or its value is not accepted", body = ErrorBody,
            example = json!({"detail": "limit must be a whole number from 1 to 200", "field": "limit"})),
        (status = 401, description = "Missing or invalid admin token", body = ErrorBody),
    ),
    security(("admin_token" = [])))]
async fn list_pre_leads(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Page<PreLead>>, AppError> {
    list(&state, EntityType::PreLead, raw).await
}

#[utoipa::path(get, path = "/api/v1/leads", tag = "records",
    summary = "List leads",
    description = "As the pre-lead list, plus `priority` and `assigned_to`.",
    params(
        ("limit" = Option<i64>, Query, description = "1 to 200, default 50", minimum = 1, maximum = 200),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
        ("sort" = Option<String>, Query, description = "`created_at` (default) or `updated_at`"),
        ("status" = Option<String>, Query, description = "new, contacted, qualified, proposal_sent, negotiation, won, lost"),
        ("source" = Option<String>, Query),
        ("priority" = Option<String>, Query, description = "low, medium, high, critical"),
        ("assigned_to" = Option<i64>, Query),
        ("discarded" = Option<bool>, Query),
        ("has_duplicates" = Option<bool>, Query),
        ("created_since" = Option<String>, Query),
        ("created_until" = Option<String>, Query),
        ("updated_since" = Option<String>, Query),
        ("q" = Option<String>, Query),
    ),
    responses(
        (status = 200, description = "A page", body = Page<Lead>, example = json!({"items": [lead_example()], "next_cursor": null})),
        (status = 400, description = "A parameter is unknown or its value is not accepted", body = ErrorBody,
            example = json!({"detail": "priority must be one of: low, medium, high, critical", "field": "priority", "allowed": ["low", "medium", "high", "critical"]})),
        (status = 401, description = "Missing or invalid admin token", body = ErrorBody),
    ),
    security(("admin_token" = [])))]
async fn list_leads(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Result<Json<Page<Lead>>, AppError> {
    list(&state, EntityType::Lead, raw).await
}

#[utoipa::path(get, path = "/api/v1/customers", tag = "records",
    summary = "List customers",
    description = "Newest first or by `sort=updated_at`; filters `has_duplicates`, `created_since`, `created_until`, `updated_since`, `q`.",
    params(
        ("limit" = Option<i64>, Query, description = "1 to 200, default 50", minimum = 1, maximum = 200),
        ("cursor" = Option<String>, Query),
        ("sort" = Option<String>, Query, description = "`created_at` (default) or `updated_at`"),
        ("has_duplicates" = Option<bool>, Query),
        ("created_since" = Option<String>, Query),
        ("created_until" = Option<String>, Query),
        ("updated_since" = Option<String>, Query),
        ("q" = Option<String>, Query),
    ),
    responses(
        (status = 200, description = "A page", body = Page<Customer>, example = json!({"items": [customer_example()], "next_cursor": null})),
        (status = 400, description = "A parameter is unknown or its value is not accepted", body = ErrorBody,
            example = json!({"detail": "cursor is not a cursor this list handed out (use next_cursor as given)", "field": "cursor"})),
        (status = 401, description = "Missing or invalid admin token", body = ErrorBody),
    ),
    security(("admin_token" = [])))]
async fn list_customers(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Page<Customer>>, AppError> {
    list(&state, EntityType::Customer, raw).await
}

#[utoipa::path(get, path = "/api/v1/pre-leads/{id}", tag = "records", summary = "One pre-lead",
    params(("id" = i64, Path, minimum = 1)),
    responses(
        (status = 200, description = "The pre-lead", body = PreLeadDetail, example = json!(detail_example(pre_lead_example(), json!({
            "contacts": [], "memos": [], "status_history": [{"id": 1, "old_status": null, "new_status": "new", "remarks": "Created",
            "status_date": "2024-01-20T14:00:00.000000Z", "event": "new_inquiry", "created_at": "2024-01-20T14:00:00.000000Z"}],
            "possible_duplicates": [{"entity_type": "lead", "id": 7, "matched_on": "email"}]})))),
        (status = 404, description = "No such pre-lead", body = ErrorBody, example = json!({"detail": "Pre-lead not found"})),
        (status = 401, description = "Missing or invalid admin token", body = ErrorBody),
    ),
    security(("admin_token" = [])))]
async fn pre_lead_detail(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<PreLeadDetail>, AppError> {
    let id = path_id(&raw)?;
    let conn = &mut state.db.reader();
    let pre_lead = load::<PreLead>(conn, id).await?.ok_or(AppError::NotFound("Pre-lead not found"))?;
    let owner = EntityType::PreLead.as_str();
    Ok(Json(PreLeadDetail {
        pre_lead,
        contacts: children::contacts(conn, owner, id).await?,
        memos: children::memos(conn, owner, id).await?,
        status_history: children::status_history(conn, owner, id).await?,
        possible_duplicates: duplicates::of(conn, EntityType::PreLead, id).await?,
    }))
}

#[utoipa::path(get, path = "/api/v1/leads/{id}", tag = "records", summary = "One lead",
    params(("id" = i64, Path, minimum = 1)),
    responses(
        (status = 200, description = "The lead", body = LeadDetail, example = json!(detail_example(lead_example(), json!({
            "contacts": [], "memos": [], "activities": [], "qualified_profile": null, "status_history": [], "possible_duplicates": []})))),
        (status = 404, description = "No such lead", body = ErrorBody, example = json!({"detail": "Lead not found"})),
        (status = 401, description = "Missing or invalid admin token", body = ErrorBody),
    ),
    security(("admin_token" = [])))]
async fn lead_detail(State(state): State<AppState>, Path(raw): Path<String>) -> Result<Json<LeadDetail>, AppError> {
    let id = path_id(&raw)?;
    let conn = &mut state.db.reader();
    let lead = load::<Lead>(conn, id).await?.ok_or(AppError::NotFound("Lead not found"))?;
    let owner = EntityType::Lead.as_str();
    Ok(Json(LeadDetail {
        lead,
        contacts: children::contacts(conn, owner, id).await?,
        memos: children::memos(conn, owner, id).await?,
        activities: children::activities(conn, id).await?,
        qualified_profile: children::qualified_profile(conn, id).await?,
        status_history: children::status_history(conn, owner, id).await?,
        possible_duplicates: duplicates::of(conn, EntityType::Lead, id).await?,
    }))
}

#[utoipa::path(get, path = "/api/v1/customers/{id}", tag = "records", summary = "One customer",
    params(("id" = i64, Path, minimum = 1)),
    responses(
        (status = 200, description = "The customer", body = CustomerDetail, example = json!(detail_example(customer_example(), json!({
            "orders": [{"id": 1, "order_id": "ORD-1001", "amount": "3000.00", "order_date": "2024-01-21T00:00:00.000000Z", "created_at": "2024-01-21T09:00:00.000000Z"}],
            "payments": [{"id": 1, "payment_id": "PAY-1001", "amount": "1000.00", "payment_date": "2024-01-22T00:00:00.000000Z", "created_at": "2024-01-22T09:00:00.000000Z"}],
            "possible_duplicates": []})))),
        (status = 404, description = "No such customer", body = ErrorBody, example = json!({"detail": "Customer not found"})),
        (status = 401, description = "Missing or invalid admin token", body = ErrorBody),
    ),
    security(("admin_token" = [])))]
async fn customer_detail(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<CustomerDetail>, AppError> {
    let id = path_id(&raw)?;
    let conn = &mut state.db.reader();
    let customer = load::<Customer>(conn, id).await?.ok_or(AppError::NotFound("Customer not found"))?;
    Ok(Json(CustomerDetail {
        customer,
        orders: children::orders(conn, id).await?,
        payments: children::payments(conn, id).await?,
        possible_duplicates: duplicates::of(conn, EntityType::Customer, id).await?,
    }))
}

fn detail_example(record: serde_json::Value, extra: serde_json::Value) -> serde_json::Value {
    let mut out = record;
    if let (Some(out), Some(extra)) = (out.as_object_mut(), extra.as_object()) {
        out.extend(extra.clone());
    }
    out
}

pub fn pre_lead_example() -> serde_json::Value {
    json!({"id": 1, "first_name": "John", "last_name": "Doe", "email": "john.doe@example.com", "phone": "+1234567890",
        "company_name": "ABC Corp", "source": "website", "source_details": null, "product_interest": "CRM Software",
        "requirements": "Need enterprise CRM solution", "city": "New York", "state": "NY", "country": "USA",
        "address_line1": "123 Main St", "address_line2": "Suite 100", "zip_code": "10001", "notes": "Interested in demo",
        "lead_status": "new", "industry_id": 1, "region_id": 1, "office_timings": "9:00 AM - 5:00 PM", "timezone": "EST",
        "is_discarded": false, "discard_reason": null, "discarded_at": null, "lead_id": null, "customer_id": null,
        "converted_at": null, "received_from": "website", "raw_payload": {"first_name": "John", "campaign": "spring"},
        "created_at": "2024-01-20T14:00:00.000000Z", "updated_at": "2024-01-20T14:00:00.000000Z"})
}

pub fn lead_example() -> serde_json::Value {
    json!({"id": 7, "pre_lead_id": null, "first_name": "Robert", "last_name": "Johnson", "email": "robert@example.com",
        "phone": "+1234567893", "company_name": "XYZ Industries", "designation": null, "company_size": null,
        "source": "referral", "source_details": null, "priority": "high", "product_interest": "Enterprise Suite",
        "requirements": "Full ERP integration needed", "expected_value": "100000.00", "city": "Chicago", "state": "IL",
        "country": "USA", "address_line1": "456 Business Ave", "address_line2": null, "zip_code": "60601",
        "assigned_to": 3, "notes": "Referred by existing customer", "lead_status": "new", "industry_id": null,
        "region_id": null, "office_timings": null, "timezone": null, "is_discarded": false, "discard_reason": null,
        "loss_reason": null, "discarded_at": null, "customer_id": null, "converted_at": null, "received_from": "website",
        "raw_payload": {"first_name": "Robert"}, "created_at": "2024-01-20T14:00:00.000000Z",
        "updated_at": "2024-01-20T15:30:00.000000Z"})
}

pub fn customer_example() -> serde_json::Value {
    json!({"id": 1, "customer_code": "CUST-XYZ-001", "lead_id": 7, "pre_lead_id": null, "first_name": "Robert",
        "last_name": "Johnson", "email": "robert@example.com", "phone": "+1234567893", "company_name": "XYZ Industries",
        "credit_limit": "100000.00", "payment_terms": "Net 30", "notes": "VIP customer - premium support",
        "total_orders": 1, "total_revenue": "3000.00", "total_paid": "1000.00", "outstanding_amount": "2000.00",
        "last_order_date": "2024-01-21T00:00:00.000000Z", "last_payment_date": "2024-01-22T00:00:00.000000Z",
        "raw_payload": {"customer_code": "CUST-XYZ-001"}, "created_at": "2024-01-20T16:00:00.000000Z",
        "updated_at": "2024-01-22T09:00:00.000000Z"})
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(list_pre_leads, list_leads, list_customers, pre_lead_detail, lead_detail, customer_detail),
    components(schemas(ErrorBody, PreLead, Lead, Customer, PreLeadDetail, LeadDetail, CustomerDetail)),
    tags((name = "records", description = "Reading pre-leads, leads and customers, behind the admin token."))
)]
struct ApiDoc;

/// This module's part of the OpenAPI document; the lists' value sets and date forms come from
/// the list parser's own constants.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = <ApiDoc as utoipa::OpenApi>::openapi();
    set_query_schemas(&mut doc, |path, name| {
        let entity = match path {
            "/api/v1/pre-leads" => EntityType::PreLead,
            "/api/v1/leads" => EntityType::Lead,
            "/api/v1/customers" => EntityType::Customer,
            _ => return None,
        };
        match name {
            "cursor" => Some(cursor_schema()),
            "q" => Some(non_blank_text()),
            name if list::INSTANTS.contains(&name) => Some(instant_schema()),
            name => list::allowed(entity, name).map(enum_schema),
        }
    });
    doc
}

/// `q`: text that is not blank.
fn non_blank_text() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .pattern(Some(crate::domain::schemas::non_blank_text_pattern()))
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_documented_with_the_admin_token_and_examples() {
        let doc = serde_json::to_value(openapi()).unwrap();
        let paths = doc["paths"].as_object().unwrap();
        assert_eq!(paths.len(), 6);
        for (path, item) in paths {
            let get = &item["get"];
            assert_eq!(get["security"], json!([{"admin_token": []}]), "{path}");
            for status in ["200", "400", "401"] {
                if status == "400" && path.ends_with("{id}") {
                    continue;
                }
                assert!(get["responses"][status].is_object(), "{path} {status}");
            }
            let ok = &get["responses"]["200"]["content"]["application/json"];
            assert!(ok["example"].is_object(), "{path}: {ok}");
        }
        assert_eq!(
            doc["paths"]["/api/v1/leads/{id}"]["get"]["responses"]["404"]["content"]["application/json"]["example"],
            json!({"detail": "Lead not found"})
        );
    }
}
