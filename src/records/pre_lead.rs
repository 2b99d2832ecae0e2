//! A pre-lead's own fields.

use std::sync::LazyLock;

use serde::Serialize;

use super::{json, returning_sql, select_sql, Created, Record, StoredJson};
use crate::db::{DbError, Row};

/// A pre-lead as the read API and outgoing events show it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PreLead {
    #[schema(example = 1)]
    pub id: i64,
    #[schema(example = "Jane")]
    pub first_name: Option<String>,
    #[schema(example = "Doe")]
    pub last_name: Option<String>,
    #[schema(example = "jane.doe@example.com")]
    pub email: Option<String>,
    #[schema(example = "+1-555-0100")]
    pub phone: Option<String>,
    #[schema(example = "Acme Corp")]
    pub company_name: Option<String>,
    /// One of the `source` values; an unknown one is `other` with the text in `source_details`.
    #[schema(example = "website")]
    pub source: String,
    pub source_details: Option<String>,
    pub product_interest: Option<String>,
    pub requirements: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub country: Option<String>,
    pub address_line1: Option<String>,
    pub address_line2: Option<String>,
    pub zip_code: Option<String>,
    pub notes: Option<String>,
    #[schema(example = "new")]
    pub lead_status: String,
    pub industry_id: Option<i64>,
    pub region_id: Option<i64>,
    pub office_timings: Option<String>,
    pub timezone: Option<String>,
    pub is_discarded: bool,
    pub discard_reason: Option<String>,
    /// RFC 3339 UTC.
    pub discarded_at: Option<String>,
    /// The lead this pre-lead was converted to.
    pub lead_id: Option<i64>,
    /// The customer that lead was converted to.
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
    /// RFC 3339 UTC: the last change to the pre-lead or its contacts and memos.
    #[schema(example = "2024-01-20T14:00:00.000000Z")]
    pub updated_at: String,
}

const COLUMNS: &[(&str, &str)] = &[
    ("id", "id"),
    ("first_name", "first_name"),
    ("last_name", "last_name"),
    ("email", "email"),
    ("phone", "phone"),
    ("company_name", "company_name"),
    ("source", "source"),
    ("source_details", "source_details"),
    ("product_interest", "product_interest"),
    ("requirements", "requirements"),
    ("city", "city"),
    ("state", "state"),
    ("country", "country"),
    ("address_line1", "address_line1"),
    ("address_line2", "address_line2"),
    ("zip_code", "zip_code"),
    ("notes", "notes"),
    ("lead_status", "lead_status"),
    ("industry_id", "industry_id"),
    ("region_id", "region_id"),
    ("office_timings", "office_timings"),
    ("timezone", "timezone"),
    ("is_discarded", "is_discarded"),
    ("discard_reason", "discard_reason"),
    ("discarded_at", "discarded_at"),
    ("r.converted_lead_id", "lead_id"),
    ("l.customer_id", "customer_id"),
    ("converted_at", "converted_at"),
    ("received_from", "received_from"),
    ("raw_payload", "raw_payload"),
    ("created_at", "created_at"),
    ("updated_at", "updated_at"),
];

static SELECT: LazyLock<String> =
    LazyLock::new(|| select_sql(COLUMNS, "pre_leads r left join leads l on l.id = r.converted_lead_id"));

static RETURNING: LazyLock<String> = LazyLock::new(|| returning_sql(COLUMNS));

impl Created for PreLead {
    fn returning() -> &'static str {
        &RETURNING
    }
}

impl Record for PreLead {
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
        Ok(PreLead {
            id: row.get("id")?,
            first_name: row.get("first_name")?,
            last_name: row.get("last_name")?,
            email: row.get("email")?,
            phone: row.get("phone")?,
            company_name: row.get("company_name")?,
            source: row.get("source")?,
            source_details: row.get("source_details")?,
            product_interest: row.get("product_interest")?,
            requirements: row.get("requirements")?,
            city: row.get("city")?,
            state: row.get("state")?,
            country: row.get("country")?,
            address_line1: row.get("address_line1")?,
            address_line2: row.get("address_line2")?,
            zip_code: row.get("zip_code")?,
            notes: row.get("notes")?,
            lead_status: row.get("lead_status")?,
            industry_id: row.get("industry_id")?,
            region_id: row.get("region_id")?,
            office_timings: row.get("office_timings")?,
            timezone: row.get("timezone")?,
            is_discarded: row.get("is_discarded")?,
            discard_reason: row.get("discard_reason")?,
            discarded_at: row.get("discarded_at")?,
            lead_id: row.get("lead_id")?,
            customer_id: row.get("customer_id")?,
            converted_at: row.get("converted_at")?,
            received_from: row.get("received_from")?,
            raw_payload: json(row, "raw_payload")?,
            created_at: row.get("created_at")?,
            updated_at: row.get("updated_at")?,
        })
    }
}
