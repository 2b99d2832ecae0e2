//! What the lead webhooks accept (`data` of the envelope), parsed into typed values.

use serde::Deserialize;

use crate::domain::fields::{present, DateTimeText, Email};
use crate::domain::money::Money;
use crate::domain::payload::Payload;
use crate::domain::scalars::{Text, WholeNumber};
use crate::domain::values::{ActivityType, LeadStatus, Priority, SourceValue};
use crate::domain::StoreError;
use crate::related::record::require_name;

/// `new_lead`: needs `first_name` or `company_name`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewLeadIn {
    pub first_name: Option<Text>,
    pub last_name: Option<Text>,
    #[schema(value_type = Option<String>, format = "email")]
    pub email: Option<Email>,
    pub phone: Option<Text>,
    pub company_name: Option<Text>,
    pub designation: Option<Text>,
    pub company_size: Option<Text>,
    /// Lead source; an unknown value is stored as `other` with the raw text in `source_details`.
    #[schema(value_type = Option<Text>)]
    pub source: Option<SourceValue>,
    /// Default `medium`.
    pub priority: Option<Priority>,
    pub product_interest: Option<Text>,
    pub requirements: Option<Text>,
    pub expected_value: Option<Money>,
    pub city: Option<Text>,
    pub state: Option<Text>,
    pub country: Option<Text>,
    pub address_line1: Option<Text>,
    pub address_line2: Option<Text>,
    pub zip_code: Option<Text>,
    /// Id of a user in another system, stored as given.
    pub assigned_to: Option<WholeNumber>,
    pub notes: Option<Text>,
    /// Default `new`.
    pub lead_status: Option<LeadStatus>,
    pub industry_id: Option<WholeNumber>,
    pub region_id: Option<WholeNumber>,
    pub office_timings: Option<Text>,
    pub timezone: Option<Text>,
}

impl Payload for NewLeadIn {
    type Checked = Self;

    const AT_LEAST_ONE_OF: &'static [&'static [&'static str]] = &[&["first_name", "company_name"]];

    fn check(self) -> Result<Self, StoreError> {
        require_name(self.first_name.as_deref(), self.company_name.as_deref())?;
        Ok(self)
    }
}

/// `lead_update`: only the keys present change; `null` clears a field.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct LeadPatch {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Text>)]
    pub first_name: Option<Option<Text>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Text>)]
    pub last_name: Option<Option<Text>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = "email")]
    pub email: Option<Option<Email>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Text>)]
    pub phone: Option<Option<Text>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Text>)]
    pub company_name: Option<Option<Text>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Text>)]
    pub designation: Option<Option<Text>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Text>)]
    pub company_size: Option<Option<Text>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Text>)]
    pub source: Option<Option<SourceValue>>,
    #[schema(value_type = Option<Priority>)]
    pub priority: Option<Priority>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Text>)]
    pub product_interest: Option<Option<Text>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Text>)]
    pub requirements: Option<Option<Text>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Money>)]
    pub expected_value: Option<Option<Money>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Text>)]
    pub city: Option<Option<Text>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Text>)]
    pub state: Option<Option<Text>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Text>)]
    pub country: Option<Option<Text>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Text>)]
    pub address_line1: Option<Option<Text>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Text>)]
    pub address_line2: Option<Option<Text>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Text>)]
    pub zip_code: Option<Option<Text>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<WholeNumber>)]
    pub assigned_to: Option<Option<WholeNumber>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Text>)]
    pub notes: Option<Option<Text>>,
    /// A status change here is recorded in the history like a status update.
    #[schema(value_type = Option<LeadStatus>)]
    pub lead_status: Option<LeadStatus>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<WholeNumber>)]
    pub industry_id: Option<Option<WholeNumber>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<WholeNumber>)]
    pub region_id: Option<Option<WholeNumber>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Text>)]
    pub office_timings: Option<Option<Text>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Text>)]
    pub timezone: Option<Option<Text>>,
}

/// `lead_status_update`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct LeadStatusIn {
    pub lead_status: LeadStatus,
    pub remarks: Option<Text>,
    /// When the change happened (RFC 3339); default: when it was received.
    pub status_date: Option<DateTimeText>,
}

/// `lead_activity_add`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct ActivityIn {
    pub activity_type: ActivityType,
    pub title: Option<Text>,
    pub description: Option<Text>,
    pub scheduled_at: Option<DateTimeText>,
    pub completed_at: Option<DateTimeText>,
    pub outcome: Option<Text>,
}

/// `lead_qualified_profile_update`: creates the profile or changes the keys present.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct QualifiedProfileIn {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Text>)]
    pub profile_type: Option<Option<Text>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Text>)]
    pub company: Option<Option<Text>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Text>)]
    pub industry: Option<Option<Text>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Text>)]
    pub best_time_call: Option<Option<Text>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Text>)]
    pub timezone: Option<Option<Text>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Text>)]
    pub mode: Option<Option<Text>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Text>)]
    pub contact_name: Option<Option<Text>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Text>)]
    pub designation: Option<Option<Text>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Text>)]
    pub phone: Option<Option<Text>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = "email")]
    pub email: Option<Option<Email>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Text>)]
    pub need_type: Option<Option<Text>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Text>)]
    pub current_solution: Option<Option<Text>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Text>)]
    pub pain_point: Option<Option<Text>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Money>)]
    pub budget: Option<Option<Money>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Text>)]
    pub decision_timeline: Option<Option<Text>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Text>)]
    pub decision_maker: Option<Option<Text>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Text>)]
    pub competitor_info: Option<Option<Text>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Text>)]
    pub notes: Option<Option<Text>>,
}

/// The schema of `customer_code`: 1 to 64 characters without blanks (stated for visible ASCII),
/// or a number; blank or `null` means "generate one".
fn customer_code_schema() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
    OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .item(ObjectBuilder::new().schema_type(Type::String).pattern(Some(r"^ *([!-~]{1,64})? *$")))
        .item(ObjectBuilder::new().schema_type(Type::Number))
        .description(Some(
            "Unique; 1 to 64 characters without blanks or control characters. Generated as `CUST-000123` \
             when absent, null or blank.",
        ))
        .into()
}

/// `lead_convert`: creates the customer.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct LeadConvertIn {
    /// Unique; generated as `CUST-000123` when absent.
    #[schema(schema_with = customer_code_schema)]
    pub customer_code: Option<Text>,
    pub credit_limit: Option<Money>,
    pub payment_terms: Option<Text>,
    pub notes: Option<Text>,
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
