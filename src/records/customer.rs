//! A customer's own fields, totals included.

use std::sync::LazyLock;

use serde::Serialize;

use super::{json, money, select_sql, Record, StoredJson};
use crate::db::{DbError, Row};
use crate::domain::money::Money;

/// A customer as the read API and outgoing events show it.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Customer {
    #[schema(example = 1)]
    pub id: i64,
    #[schema(example = "CUST-000001")]
    pub customer_code: String,
    /// The lead this customer was converted from.
    pub lead_id: Option<i64>,
    /// The pre-lead that lead came from.
    pub pre_lead_id: Option<i64>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company_name: Option<String>,
    /// Two decimals.
    #[schema(value_type = Option<String>, example = "50000.00")]
    pub credit_limit: Option<Money>,
    pub payment_terms: Option<String>,
    pub notes: Option<String>,
    /// Orders counted (each external `order_id` once).
    #[schema(example = 2)]
    pub total_orders: i64,
    #[schema(value_type = String, example = "3000.00")]
    pub total_revenue: Money,
    #[schema(value_type = String, example = "1000.00")]
    pub total_paid: Money,
    /// Revenue minus payments; negative is a credit.
    #[schema(value_type = String, example = "2000.00")]
    pub outstanding_amount: Money,
    /// RFC 3339 UTC.
    pub last_order_date: Option<String>,
    /// RFC 3339 UTC.
    pub last_payment_date: Option<String>,
    /// The `data` object of the last change, with keys the schema does not model.
    #[schema(value_type = Option<Object>)]
    pub raw_payload: Option<StoredJson>,
    /// RFC 3339 UTC.
    pub created_at: String,
    /// RFC 3339 UTC.
    pub updated_at: String,
}

const COLUMNS: &[(&str, &str)] = &[
    ("id", "id"),
    ("customer_code", "customer_code"),
    ("lead_id", "lead_id"),
    ("l.pre_lead_id", "pre_lead_id"),
    ("first_name", "first_name"),
    ("last_name", "last_name"),
    ("email", "email"),
    ("phone", "phone"),
    ("company_name", "company_name"),
    ("r.credit_limit_cents", "credit_limit"),
    ("payment_terms", "payment_terms"),
    ("notes", "notes"),
    ("total_orders", "total_orders"),
    ("r.total_revenue_cents", "total_revenue"),
    ("r.total_paid_cents", "total_paid"),
    ("r.outstanding_amount_cents", "outstanding_amount"),
    ("last_order_date", "last_order_date"),
    ("last_payment_date", "last_payment_date"),
    ("raw_payload", "raw_payload"),
    ("created_at", "created_at"),
    ("updated_at", "updated_at"),
];

static SELECT: LazyLock<String> =
    LazyLock::new(|| select_sql(COLUMNS, "customers r left join leads l on l.id = r.lead_id"));

impl Record for Customer {
    fn select() -> &'static str {
        &SELECT
    }

    fn id(&self) -> i64 {
        self.id
    }

    fn updated_at(&self) -> &str {
        &self.updated_at
    }

    fn from_row(row: &Row) -> Result<Self, DbError> {
        let total = |name: &str| money(row, name).map(|m| m.unwrap_or(Money::ZERO));
        Ok(Customer {
            id: row.get("id")?,
            customer_code: row.get("customer_code")?,
            lead_id: row.get("lead_id")?,
            pre_lead_id: row.get("pre_lead_id")?,
            first_name: row.get("first_name")?,
            last_name: row.get("last_name")?,
            email: row.get("email")?,
            phone: row.get("phone")?,
            company_name: row.get("company_name")?,
            credit_limit: money(row, "credit_limit")?,
            payment_terms: row.get("payment_terms")?,
            notes: row.get("notes")?,
            total_orders: row.get("total_orders")?,
            total_revenue: total("total_revenue")?,
            total_paid: total("total_paid")?,
            outstanding_amount: total("outstanding_amount")?,
            last_order_date: row.get("last_order_date")?,
            last_payment_date: row.get("last_payment_date")?,
            raw_payload: json(row, "raw_payload")?,
            created_at: row.get("created_at")?,
            updated_at: row.get("updated_at")?,
        })
    }
}
