//! What the pre-lead webhooks accept (`data` of the envelope), parsed into typed values.

use serde::Deserialize;

use crate::domain::fields::{present, DateTimeText, Email};
use crate::domain::money::Money;
use crate::domain::payload::Payload;
use crate::domain::scalars::{Text, WholeNumber};
use crate::domain::values::{PreLeadStatus, Priority, SourceValue};
use crate::domain::StoreError;
use crate::related::record::require_name;

/// `new_inquiry`: needs `first_name` or `company_name`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewPreLeadIn {
    pub first_name: Option<Text>,
    pub last_name: Option<Text>,
    #[schema(value_type = Option<String>, format = "email")]
    pub email: Option<Email>,
    pub phone: Option<Text>,
    pub company_name: Option<Text>,
    /// Lead source; an unknown value is stored as `other` with the raw text in `source_details`.
    #[schema(value_type = Option<Text>)]
    pub source: Option<SourceValue>,
    pub product_interest: Option<Text>,
    pub requirements: Option<Text>,
    pub city: Option<Text>,
    pub state: Option<Text>,
    pub country: Option<Text>,
    pub address_line1: Option<Text>,
    pub address_line2: Option<Text>,
    pub zip_code: Option<Text>,
    pub notes: Option<Text>,
    /// Default `new`.
    pub lead_status: Option<PreLeadStatus>,
    /// Id of an industry in another system, stored as given.
    pub industry_id: Option<WholeNumber>,
    /// Id of a region in another system, stored as given.
    pub region_id: Option<WholeNumber>,
    pub office_timings: Option<Text>,
    pub timezone: Option<Text>,
}

impl Payload for NewPreLeadIn {
    type Checked = Self;
    const AT_LEAST_ONE_OF: &'static [&'static [&'static str]] = &[&["first_name", "company_name"]];

    fn check(self) -> Result<Self, StoreError> {
        require_name(self.first_name.as_deref(), self.company_name.as_deref())?;
        Ok(self)
    }
}

/// `pre_lead_update`: only the keys present change; `null` clears a field.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct PreLeadPatch {
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
    pub source: Option<Option<SourceValue>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Text>)]
    pub product_interest: Option<Option<Text>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Text>)]
    pub requirements: Option<Option<Text>>,
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
    #[schema(value_type = Option<Text>)]
    pub notes: Option<Option<Text>>,
    /// A status change here is recorded in the history like a status update.
    #[schema(value_type = Option<PreLeadStatus>)]
    pub lead_status: Option<PreLeadStatus>,
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

/// `pre_lead_status_update`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct PreLeadStatusIn {
    pub lead_status: PreLeadStatus,
    pub remarks: Option<Text>,
    /// When the change happened (RFC 3339); default: when it was received.
    pub status_date: Option<DateTimeText>,
}

/// `pre_lead_convert`: the new lead takes the pre-lead's fields plus these.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct PreLeadConvertIn {
    /// Default `medium`.
    pub priority: Option<Priority>,
    /// Id of a user in another system, stored as given.
    pub assigned_to: Option<WholeNumber>,
    pub expected_value: Option<Money>,
    /// The lead's notes; default: the pre-lead's notes.
    pub notes: Option<Text>,
}

crate::payload_without_rules!(PreLeadPatch, PreLeadStatusIn, PreLeadConvertIn);
