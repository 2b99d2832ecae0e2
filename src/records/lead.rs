//! A lead's own fields.

use std::sync::LazyLock;

use serde::Serialize;

use super::{json, money, returning_sql, select_sql, Created, Record, StoredJson};
use crate::db::{DbError, Row};
use crate::domain::money::Money;

/// A lead as the read API and outgoing events show it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Lead {
    #[schema(example = 1)]
    pub id: i64,
    /// The pre-lead this lead was converted from.
    pub pre_lead_id: Option<i64>,
    #[schema(example = "John")]
    pub first_name: Option<String>,
    #[schema(example = "Smith")]
    pub last_name: Option<String>,
    #[schema(example = "john.smith@example.com")]
    pub email: Option<String>,
    #[schema(example = "+1-555-0101")]
    pub phone: Option<String>,
    #[schema(example = "Tech Solutions Inc")]
    pub company_name: Option<String>,
    pub designation: Option<String>,
    pub company_size: Option<String>,
    #[schema(example = "website")]
    pub source: String,
    pub source_details: Option<String>,
    #[schema(example = "medium")]
    pub priority: String,
    pub product_interest: Option<String>,
    pub requirements: Option<String>,
    /// Two decimals.
    #[schema(value_type = Option<String>, example = "2500.00")]
    pub expected_value: Option<Money>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub country: Option<String>,
    pub address_line1: Option<String>,
    pub address_line2: Option<String>,
    pub zip_code: Option<String>,
    pub assigned_to: Option<i64>,
    pub notes: Option<String>,
    #[schema(example = "new")]
    pub lead_status: String,
    pub industry_id: Option<i64>,
    pub region_id: Option<i64>,
    pub office_timings: Option<String>,
    pub timezone: Option<String>,
    pub is_discarded: bool,
    pub discard_reason: Option<String>,
    pub loss_reason: Option<String>,
    /// RFC 3339 UTC.
    pub discarded_at: Option<String>,
    /// The customer this lead was converted to.
    pub customer_id: Option<i64>,
    /// RFC 3339 UTC.
    pub converted_at: Option<String>,
    /// The envelope's `source`: the system that sent the record.
    pub received_from: Option<String>,
    /// The `data` object of the last change, with keys the schema does not model.
    #[schema(value_type = Option<Object>)]
    pub raw_payload: Option<StoredJson>,
    /// RFC 3339 UTC.
    #[schema(example = "2024-01-20T14:00:00.000000Z")]
    pub created_at: String,
    /// RFC 3339 UTC: the last change to the lead or anything attached to it.
    #[schema(example = "2024-01-20T14:00:00.000000Z")]
    pub updated_at: String,
}

const COLUMNS: &[(&str, &str)] = &[
    ("id", "id"),
    ("pre_lead_id", "pre_lead_id"),
    ("first_name", "first_name"),
    ("last_name", "last_name"),
    ("email", "email"),
    ("phone", "phone"),
    ("company_name", "company_name"),
    ("designation", "designation"),
    ("company_size", "company_size"),
    ("source", "source"),
    ("source_details", "source_details"),
    ("priority", "priority"),
    ("product_interest", "product_interest"),
    ("requirements", "requirements"),
    ("r.expected_value_cents", "expected_value"),
    ("city", "city"),
    ("state", "state"),
    ("country", "country"),
    ("address_line1", "address_line1"),
    ("address_line2", "address_line2"),
    ("zip_code", "zip_code"),
    ("assigned_to", "assigned_to"),
    ("notes", "notes"),
    ("lead_status", "lead_status"),
    ("industry_id", "industry_id"),
    ("region_id", "region_id"),
    ("office_timings", "office_timings"),
    ("timezone", "timezone"),
    ("is_discarded", "is_discarded"),
    ("discard_reason", "discard_reason"),
    ("loss_reason", "loss_reason"),
    ("discarded_at", "discarded_at"),
    ("customer_id", "customer_id"),
    ("converted_at", "converted_at"),
    ("received_from", "received_from"),
    ("raw_payload", "raw_payload"),
    ("created_at", "created_at"),
    ("updated_at", "updated_at"),
];

static SELECT: LazyLock<String> = LazyLock::new(|| select_sql(COLUMNS, "leads r"));

static RETURNING: LazyLock<String> = LazyLock::new(|| returning_sql(COLUMNS));

impl Created for Lead {
    fn returning() -> &'static str {
        &RETURNING
    }
}

impl Record for Lead {
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
        Ok(Lead {
            id: row.get("id")?,
            pre_lead_id: row.get("pre_lead_id")?,
            first_name: row.get("first_name")?,
            last_name: row.get("last_name")?,
            email: row.get("email")?,
            phone: row.get("phone")?,
            company_name: row.get("company_name")?,
            designation: row.get("designation")?,
            company_size: row.get("company_size")?,
            source: row.get("source")?,
            source_details: row.get("source_details")?,
            priority: row.get("priority")?,
            product_interest: row.get("product_interest")?,
            requirements: row.get("requirements")?,
            expected_value: money(row, "expected_value")?,
            city: row.get("city")?,
            state: row.get("state")?,
            country: row.get("country")?,
            address_line1: row.get("address_line1")?,
            address_line2: row.get("address_line2")?,
            zip_code: row.get("zip_code")?,
            assigned_to: row.get("assigned_to")?,
            notes: row.get("notes")?,
            lead_status: row.get("lead_status")?,
            industry_id: row.get("industry_id")?,
            region_id: row.get("region_id")?,
            office_timings: row.get("office_timings")?,
            timezone: row.get("timezone")?,
            is_discarded: row.get("is_discarded")?,
            discard_reason: row.get("discard_reason")?,
            loss_reason: row.get("loss_reason")?,
            discarded_at: row.get("discarded_at")?,
            customer_id: row.get("customer_id")?,
            converted_at: row.get("converted_at")?,
            received_from: row.get("received_from")?,
            raw_payload: json(row, "raw_payload")?,
            created_at: row.get("created_at")?,
            updated_at: row.get("updated_at")?,
        })
    }
}
