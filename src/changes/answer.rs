//! The `data` of each success answer, as the API document shows it (keys in its order). Only
//! [`super::Change::answer`] builds them; the OpenAPI part of `webhook/` documents them.

use serde::Serialize;

use crate::domain::money::Money;

/// `data` of create, update and discard answers for pre-leads.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PreLeadIdOut {
    pub pre_lead_id: i64,
}
#[derive(Serialize, utoipa::ToSchema)]
pub struct PreLeadContactOut {
    pub contact_id: i64,
    pub pre_lead_id: i64,
}
#[derive(Serialize, utoipa::ToSchema)]
pub struct PreLeadMemoOut {
    pub memo_id: i64,
    pub pre_lead_id: i64,
}
#[derive(Serialize, utoipa::ToSchema)]
pub struct PreLeadStatusOut {
    pub pre_lead_id: i64,
    pub old_status: String,
    pub new_status: String,
}
#[derive(Serialize, utoipa::ToSchema)]
pub struct PreLeadConvertOut {
    pub pre_lead_id: i64,
    pub lead_id: i64,
}
/// `data` of create, update and discard answers for leads.
#[derive(Serialize, utoipa::ToSchema)]
pub struct LeadIdOut {
    pub lead_id: i64,
}
#[derive(Serialize, utoipa::ToSchema)]
pub struct LeadContactOut {
    pub contact_id: i64,
    pub lead_id: i64,
}
#[derive(Serialize, utoipa::ToSchema)]
pub struct LeadActivityOut {
    pub activity_id: i64,
    pub lead_id: i64,
}
#[derive(Serialize, utoipa::ToSchema)]
pub struct LeadProfileOut {
    pub lead_id: i64,
    pub profile_id: i64,
}
#[derive(Serialize, utoipa::ToSchema)]
pub struct LeadMemoOut {
    pub memo_id: i64,
    pub lead_id: i64,
}
#[derive(Serialize, utoipa::ToSchema)]
pub struct LeadStatusOut {
    pub lead_id: i64,
    pub old_status: String,
    pub new_status: String,
}
#[derive(Serialize, utoipa::ToSchema)]
pub struct LeadConvertOut {
    pub lead_id: i64,
    pub customer_id: i64,
    pub customer_code: String,
}
/// `data` of `order_created`; amounts are decimal strings with two places.
#[derive(Serialize, utoipa::ToSchema)]
pub struct OrderOut {
    pub customer_id: i64,
    pub order_id: String,
    /// False when this `order_id` was already recorded (it is not counted twice).
    pub counted: bool,
    pub total_orders: i64,
    #[schema(value_type = String, example = "2500.00")]
    pub total_revenue: Money,
    #[schema(value_type = String, example = "2500.00")]
    pub outstanding_amount: Money,
}
/// `data` of `payment_received`; amounts are decimal strings with two places.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PaymentOut {
    pub customer_id: i64,
    pub payment_id: String,
    /// False when this `payment_id` was already recorded (it is not counted twice).
    pub counted: bool,
    #[schema(value_type = String, example = "1000.00")]
    pub total_paid: Money,
    #[schema(value_type = String, example = "1500.00")]
    pub outstanding_amount: Money,
}
