//! What the lead webhooks accept (`data` of the envelope), parsed into typed values.

use serde::Deserialize;

use crate::domain::fields::{present, DateTimeText, Email};
use crate::domain::money::Money;
use crate::domain::payload::Payload;
use crate::domain::values::{ActivityType, LeadStatus, Priority, SourceValue};
use crate::domain::StoreError;
use crate::related::record::require_name;

/// `new_lead`: needs `first_name` or `company_name`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewLeadIn {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    #[schema(value_type = Option<String>, format = "email")]
    pub email: Option<Email>,
    pub phone: Option<String>,
    pub company_name: Option<String>,
    pub designation: Option<String>,
    pub company_size: Option<String>,
    /// Lead source; an unknown value is stored as `other` with the raw text in `source_details`.
    #[schema(value_type = Option<String>, example = "website")]
    pub source: Option<SourceValue>,
    /// Default `medium`.
    pub priority: Option<Priority>,
    pub product_interest: Option<String>,
    pub requirements: Option<String>,
    #[schema(value_type = Option<f64>, minimum = 0, example = 100000.00)]
    pub expected_value: Option<Money>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub country: Option<String>,
    pub address_line1: Option<String>,
    pub address_line2: Option<String>,
    pub zip_code: Option<String>,
    /// Id of a user in another system, stored as given.
    pub assigned_to: Option<i64>,
    pub notes: Option<String>,
    /// Default `new`.
    pub lead_status: Option<LeadStatus>,
    pub industry_id: Option<i64>,
    pub region_id: Option<i64>,
    pub office_timings: Option<String>,
    pub timezone: Option<String>,
}

impl Payload for NewLeadIn {
    type Checked = Self;

    fn check(self) -> Result<Self, StoreError> {
        require_name(self.first_name.as_deref(), self.company_name.as_deref())?;
        Ok(self)
    }
}

/// `lead_update`: only the keys present change; `null` clears a field.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct LeadPatch {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub first_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub last_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = "email")]
    pub email: Option<Option<Email>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub company_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub designation: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub company_size: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, example = "website")]
    pub source: Option<Option<SourceValue>>,
    #[schema(value_type = Option<Priority>)]
    pub priority: Option<Priority>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub product_interest: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub requirements: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<f64>, minimum = 0, example = 150000.00)]
    pub expected_value: Option<Option<Money>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub city: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub state: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub country: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub address_line1: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub address_line2: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub zip_code: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub assigned_to: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub notes: Option<Option<String>>,
    /// A status change here is recorded in the history like a status update.
    #[schema(value_type = Option<LeadStatus>)]
    pub lead_status: Option<LeadStatus>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub industry_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub region_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub office_timings: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub timezone: Option<Option<String>>,
}

/// `lead_status_update`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct LeadStatusIn {
    pub lead_status: LeadStatus,
    pub remarks: Option<String>,
    /// When the change happened (RFC 3339); default: when it was received.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub status_date: Option<DateTimeText>,
}

/// `lead_activity_add`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ActivityIn {
    pub activity_type: ActivityType,
    pub title: Option<String>,
    pub description: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub scheduled_at: Option<DateTimeText>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub completed_at: Option<DateTimeText>,
    pub outcome: Option<String>,
}

/// `lead_qualified_profile_update`: creates the profile or changes the keys present.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct QualifiedProfileIn {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub profile_type: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub company: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub industry: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub best_time_call: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub timezone: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub mode: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub contact_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub designation: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = "email")]
    pub email: Option<Option<Email>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub need_type: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub current_solution: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub pain_point: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<f64>, minimum = 0, example = 150000.00)]
    pub budget: Option<Option<Money>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub decision_timeline: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub decision_maker: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub competitor_info: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub notes: Option<Option<String>>,
}

/// `lead_convert`: creates the customer.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct LeadConvertIn {
    /// Unique; generated as `CUST-000123` when absent.
    pub customer_code: Option<String>,
    #[schema(value_type = Option<f64>, minimum = 0, example = 100000.00)]
    pub credit_limit: Option<Money>,
    pub payment_terms: Option<String>,
    pub notes: Option<String>,
}

impl Payload for LeadConvertIn {
    type Checked = Self;

    fn check(self) -> Result<Self, StoreError> {
        if let Some(code) = &self.customer_code {
            let code = code.trim();
            if code.is_empty() || code.len() > 64 || code.chars().any(|c| c.is_control() || c.is_whitespace()) {
                return Err(StoreError::invalid(
                    "customer_code",
                    "customer_code must be 1 to 64 characters without blanks",
                ));
            }
        }
        Ok(self)
    }
}

crate::payload_without_rules!(LeadPatch, LeadStatusIn, ActivityIn, QualifiedProfileIn);
