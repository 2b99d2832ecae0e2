//! What hangs off a record in its detail: contacts, memos, status history, activities, the
//! qualified profile, orders and payments. Each is read by one query of its own, oldest first.
//! Children show their stored columns except the owner's keys (implied by the record) and their
//! `raw_payload` (the `data` of the webhook that added them, which repeats their fields and stays
//! in the webhook log).

use serde::Serialize;

use super::money;
use crate::db::{DbError, Fetch, Row, Value};
use crate::domain::money::Money;

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Contact {
    pub id: i64,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub designation: Option<String>,
    pub department: Option<String>,
    pub is_primary: bool,
    /// RFC 3339 UTC.
    pub created_at: String,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Memo {
    pub id: i64,
    pub title: Option<String>,
    pub content: Option<String>,
    #[schema(example = "general")]
    pub memo_type: String,
    /// RFC 3339 UTC.
    pub created_at: String,
}

/// One status change: creation (no old status), status updates, discards and conversions.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct StatusChangeOut {
    pub id: i64,
    pub old_status: Option<String>,
    #[schema(example = "contacted")]
    pub new_status: String,
    pub remarks: Option<String>,
    /// When the change happened by the sender's account (RFC 3339 UTC).
    pub status_date: String,
    /// The webhook event that made the change.
    #[schema(example = "lead_status_update")]
    pub event: String,
    /// RFC 3339 UTC.
    pub created_at: String,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Activity {
    pub id: i64,
    #[schema(example = "call")]
    pub activity_type: String,
    pub title: Option<String>,
    pub description: Option<String>,
    /// RFC 3339 UTC.
    pub scheduled_at: Option<String>,
    /// RFC 3339 UTC.
    pub completed_at: Option<String>,
    pub outcome: Option<String>,
    /// RFC 3339 UTC.
    pub created_at: String,
}

/// A lead's qualified profile: its 18 fields, `budget` with two decimals.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct QualifiedProfile {
    pub id: i64,
    pub profile_type: Option<String>,
    pub company: Option<String>,
    pub industry: Option<String>,
    pub best_time_call: Option<String>,
    pub timezone: Option<String>,
    pub mode: Option<String>,
    pub contact_name: Option<String>,
    pub designation: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub need_type: Option<String>,
    pub current_solution: Option<String>,
    pub pain_point: Option<String>,
    #[schema(value_type = Option<String>, example = "50000.00")]
    pub budget: Option<Money>,
    pub decision_timeline: Option<String>,
    pub decision_maker: Option<String>,
    pub competitor_info: Option<String>,
    pub notes: Option<String>,
    /// RFC 3339 UTC.
    pub created_at: String,
    /// RFC 3339 UTC.
    pub updated_at: String,
}

/// An order or a payment counted on a customer.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Order {
    pub id: i64,
    /// The sender's order id.
    #[schema(example = "ORD-1001")]
    pub order_id: String,
    #[schema(value_type = String, example = "1500.00")]
    pub amount: Money,
    /// RFC 3339 UTC.
    pub order_date: String,
    /// RFC 3339 UTC.
    pub created_at: String,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Payment {
    pub id: i64,
    /// The sender's payment id.
    #[schema(example = "PAY-1001")]
    pub payment_id: String,
    #[schema(value_type = String, example = "500.00")]
    pub amount: Money,
    /// RFC 3339 UTC.
    pub payment_date: String,
    /// RFC 3339 UTC.
    pub created_at: String,
}

async fn rows(conn: &mut (impl Fetch + ?Sized), sql: &str, args: Vec<Value>) -> Result<Vec<Row>, DbError> {
    conn.fetch_rows(sql, args).await
}

pub async fn contacts(conn: &mut (impl Fetch + ?Sized), owner: &str, id: i64) -> Result<Vec<Contact>, DbError> {
    let sql = "select id, first_name, last_name, email, phone, designation, department, is_primary, created_at \
               from contacts where entity_type = $1 and entity_id = $2 order by id";
    let found = rows(conn, sql, crate::args![owner, id]).await?;
    found
        .iter()
        .map(|row| {
            Ok(Contact {
                id: row.get("id")?,
                first_name: row.get("first_name")?,
                last_name: row.get("last_name")?,
                email: row.get("email")?,
                phone: row.get("phone")?,
                designation: row.get("designation")?,
                department: row.get("department")?,
                is_primary: row.get("is_primary")?,
                created_at: row.get("created_at")?,
            })
        })
        .collect()
}

pub async fn memos(conn: &mut (impl Fetch + ?Sized), owner: &str, id: i64) -> Result<Vec<Memo>, DbError> {
    let sql = "select id, title, content, memo_type, created_at from memos \
               where entity_type = $1 and entity_id = $2 order by id";
    let found = rows(conn, sql, crate::args![owner, id]).await?;
    found
        .iter()
        .map(|row| {
            Ok(Memo {
                id: row.get("id")?,
                title: row.get("title")?,
                content: row.get("content")?,
                memo_type: row.get("memo_type")?,
                created_at: row.get("created_at")?,
            })
        })
        .collect()
}

pub async fn status_history(
    conn: &mut (impl Fetch + ?Sized),
    owner: &str,
    id: i64,
) -> Result<Vec<StatusChangeOut>, DbError> {
    let sql = "select id, old_status, new_status, remarks, status_date, event, created_at from status_history \
               where entity_type = $1 and entity_id = $2 order by id";
    let found = rows(conn, sql, crate::args![owner, id]).await?;
    found
        .iter()
        .map(|row| {
            Ok(StatusChangeOut {
                id: row.get("id")?,
                old_status: row.get("old_status")?,
                new_status: row.get("new_status")?,
                remarks: row.get("remarks")?,
                status_date: row.get("status_date")?,
                event: row.get("event")?,
                created_at: row.get("created_at")?,
            })
        })
        .collect()
}

pub async fn activities(conn: &mut (impl Fetch + ?Sized), lead_id: i64) -> Result<Vec<Activity>, DbError> {
    let sql = "select id, activity_type, title, description, scheduled_at, completed_at, outcome, created_at \
               from activities where lead_id = $1 order by id";
    let found = rows(conn, sql, crate::args![lead_id]).await?;
    found
        .iter()
        .map(|row| {
            Ok(Activity {
                id: row.get("id")?,
                activity_type: row.get("activity_type")?,
                title: row.get("title")?,
                description: row.get("description")?,
                scheduled_at: row.get("scheduled_at")?,
                completed_at: row.get("completed_at")?,
                outcome: row.get("outcome")?,
                created_at: row.get("created_at")?,
            })
        })
        .collect()
}

pub async fn qualified_profile(
    conn: &mut (impl Fetch + ?Sized),
    lead_id: i64,
) -> Result<Option<QualifiedProfile>, DbError> {
    let sql = "select id, profile_type, company, industry, best_time_call, timezone, mode, contact_name, \
               designation, phone, email, need_type, current_solution, pain_point, budget_cents, \
               decision_timeline, decision_maker, competitor_info, notes, created_at, updated_at \
               from qualified_profiles where lead_id = $1";
    let found = rows(conn, sql, crate::args![lead_id]).await?;
    found
        .first()
        .map(|row| {
            Ok(QualifiedProfile {
                id: row.get("id")?,
                profile_type: row.get("profile_type")?,
                company: row.get("company")?,
                industry: row.get("industry")?,
                best_time_call: row.get("best_time_call")?,
                timezone: row.get("timezone")?,
                mode: row.get("mode")?,
                contact_name: row.get("contact_name")?,
                designation: row.get("designation")?,
                phone: row.get("phone")?,
                email: row.get("email")?,
                need_type: row.get("need_type")?,
                current_solution: row.get("current_solution")?,
                pain_point: row.get("pain_point")?,
                budget: money(row, "budget_cents")?,
                decision_timeline: row.get("decision_timeline")?,
                decision_maker: row.get("decision_maker")?,
                competitor_info: row.get("competitor_info")?,
                notes: row.get("notes")?,
                created_at: row.get("created_at")?,
                updated_at: row.get("updated_at")?,
            })
        })
        .transpose()
}

pub async fn orders(conn: &mut (impl Fetch + ?Sized), customer_id: i64) -> Result<Vec<Order>, DbError> {
    let sql =
        "select id, order_id, amount_cents, order_date, created_at from orders where customer_id = $1 order by id";
    let found = rows(conn, sql, crate::args![customer_id]).await?;
    found
        .iter()
        .map(|row| {
            Ok(Order {
                id: row.get("id")?,
                order_id: row.get("order_id")?,
                amount: Money::from_cents(row.get("amount_cents")?),
                order_date: row.get("order_date")?,
                created_at: row.get("created_at")?,
            })
        })
        .collect()
}

pub async fn payments(conn: &mut (impl Fetch + ?Sized), customer_id: i64) -> Result<Vec<Payment>, DbError> {
    let sql =
        "select id, payment_id, amount_cents, payment_date, created_at from payments where customer_id = $1 order by id";
    let found = rows(conn, sql, crate::args![customer_id]).await?;
    found
        .iter()
        .map(|row| {
            Ok(Payment {
                id: row.get("id")?,
                payment_id: row.get("payment_id")?,
                amount: Money::from_cents(row.get("amount_cents")?),
                payment_date: row.get("payment_date")?,
                created_at: row.get("created_at")?,
            })
        })
        .collect()
}
