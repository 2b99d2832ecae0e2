//! What the pre-lead webhooks accept (`data` of the envelope), parsed into typed values.

use serde::Deserialize;

use crate::domain::fields::{present, DateTimeText, Email};
use crate::domain::money::Money;
use crate::domain::payload::Payload;
use crate::domain::values::{PreLeadStatus, Priority, SourceValue};
use crate::domain::StoreError;
use crate::related::record::require_name;

/// `new_inquiry`: needs `first_name` or `company_name`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewPreLeadIn {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    #[schema(value_type = Option<String>, format = "email")]
    pub email: Option<Email>,
    pub phone: Option<String>,
    pub company_name: Option<String>,
    /// Lead source; an unknown value is stored as `other` with the raw text in `source_details`.
    #[schema(value_type = Option<String>, example = "website")]
    pub source: Option<SourceValue>,
    pub product_interest: Option<String>,
    pub requirements: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub country: Option<String>,
    pub address_line1: Option<String>,
    pub address_line2: Option<String>,
    pub zip_code: Option<String>,
    pub notes: Option<String>,
    /// Default `new`.
    pub lead_status: Option<PreLeadStatus>,
    /// Id of an industry in another system, stored as given.
    pub industry_id: Option<i64>,
    /// Id of a region in another system, stored as given.
    pub region_id: Option<i64>,
    pub office_timings: Option<String>,
    pub timezone: Option<String>,
}

impl Payload for NewPreLeadIn {
    type Checked = Self;

    fn check(self) -> Result<Self, StoreError> {
        require_name(self.first_name.as_deref(), self.company_name.as_deref())?;
        Ok(self)
    }
}

/// `pre_lead_update`: only the keys present change; `null` clears a field.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct PreLeadPatch {
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
    #[schema(value_type = Option<String>, example = "website")]
    pub source: Option<Option<SourceValue>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub product_interest: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub requirements: Option<Option<String>>,
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
    #[schema(value_type = Option<String>)]
    pub notes: Option<Option<String>>,
    /// A status change here is recorded in the history like a status update.
    #[schema(value_type = Option<PreLeadStatus>)]
    pub lead_status: Option<PreLeadStatus>,
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

/// `pre_lead_status_update`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PreLeadStatusIn {
    pub lead_status: PreLeadStatus,
    pub remarks: Option<String>,
    /// When the change happened (RFC 3339); default: when it was received.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub status_date: Option<DateTimeText>,
}

/// `pre_lead_convert`: the new lead takes the pre-lead's fields plus these.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct PreLeadConvertIn {
    /// Default `medium`.
    pub priority: Option<Priority>,
    /// Id of a user in another system, stored as given.
    pub assigned_to: Option<i64>,
    #[schema(value_type = Option<f64>, minimum = 0, example = 50000.00)]
    pub expected_value: Option<Money>,
    /// The lead's notes; default: the pre-lead's notes.
    pub notes: Option<String>,
}

crate::payload_without_rules!(PreLeadPatch, PreLeadStatusIn, PreLeadConvertIn);
