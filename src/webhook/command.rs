//! An event's `data` parsed into a typed command, and its execution against the stores.

use crate::db::WriteConn;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::events::EventKind;
use super::parse_error::from_serde_path;
use super::EventContext;
use crate::customers::payload::{OrderIn, PaymentIn};
use crate::domain::money::Money;
use crate::domain::EntityType;
use crate::http::error::AppError;
use crate::leads::payload::{ActivityIn, LeadConvertIn, LeadPatch, LeadStatusIn, NewLeadIn, QualifiedProfileIn};
use crate::pre_leads::payload::{NewPreLeadIn, PreLeadConvertIn, PreLeadPatch, PreLeadStatusIn};
use crate::related::{ContactIn, DiscardIn, MemoIn};
use crate::{customers, leads, pre_leads, related};

#[derive(Debug)]
pub enum Command {
    NewInquiry(NewPreLeadIn),
    PreLeadUpdate(i64, PreLeadPatch),
    PreLeadDiscard(i64, DiscardIn),
    PreLeadContactAdd(i64, ContactIn),
    PreLeadMemoAdd(i64, MemoIn),
    PreLeadStatusUpdate(i64, PreLeadStatusIn),
    PreLeadConvert(i64, PreLeadConvertIn),
    NewLead(NewLeadIn),
    LeadUpdate(i64, LeadPatch),
    LeadDiscard(i64, DiscardIn),
    LeadContactAdd(i64, ContactIn),
    LeadActivityAdd(i64, ActivityIn),
    LeadQualifiedProfileUpdate(i64, QualifiedProfileIn),
    LeadMemoAdd(i64, MemoIn),
    LeadStatusUpdate(i64, LeadStatusIn),
    LeadConvert(i64, LeadConvertIn),
    OrderCreated(OrderIn),
    PaymentReceived(PaymentIn),
}

fn data<T: DeserializeOwned>(value: Value) -> Result<T, AppError> {
    serde_path_to_error::deserialize(value).map_err(|err| from_serde_path(err, "data"))
}

impl Command {
    /// Parses `data` for `kind`. `id` is the target record's id (path or `data.*_id`); it is
    /// present exactly when `kind.target()` is.
    pub fn parse(kind: EventKind, id: Option<i64>, value: Value) -> Result<Command, AppError> {
        let id = || id.expect("the caller resolves the target id of targeted events");
        let command = match kind {
            EventKind::NewInquiry => {
                let input: NewPreLeadIn = data(value)?;
                input.check()?;
                Command::NewInquiry(input)
            }
            EventKind::PreLeadUpdate => Command::PreLeadUpdate(id(), data(value)?),
            EventKind::PreLeadDiscard => Command::PreLeadDiscard(id(), data(value)?),
            EventKind::PreLeadContactAdd => {
                let input: ContactIn = data(value)?;
                input.check()?;
                Command::PreLeadContactAdd(id(), input)
            }
            EventKind::PreLeadMemoAdd => {
                let input: MemoIn = data(value)?;
                input.check()?;
                Command::PreLeadMemoAdd(id(), input)
            }
            EventKind::PreLeadStatusUpdate => Command::PreLeadStatusUpdate(id(), data(value)?),
            EventKind::PreLeadConvert => Command::PreLeadConvert(id(), data(value)?),
            EventKind::NewLead => {
                let input: NewLeadIn = data(value)?;
                input.check()?;
                Command::NewLead(input)
            }
            EventKind::LeadUpdate => Command::LeadUpdate(id(), data(value)?),
            EventKind::LeadDiscard => Command::LeadDiscard(id(), data(value)?),
            EventKind::LeadContactAdd => {
                let input: ContactIn = data(value)?;
                input.check()?;
                Command::LeadContactAdd(id(), input)
            }
            EventKind::LeadActivityAdd => Command::LeadActivityAdd(id(), data(value)?),
            EventKind::LeadQualifiedProfileUpdate => Command::LeadQualifiedProfileUpdate(id(), data(value)?),
            EventKind::LeadMemoAdd => {
                let input: MemoIn = data(value)?;
                input.check()?;
                Command::LeadMemoAdd(id(), input)
            }
            EventKind::LeadStatusUpdate => Command::LeadStatusUpdate(id(), data(value)?),
            EventKind::LeadConvert => {
                let input: LeadConvertIn = data(value)?;
                input.check()?;
                Command::LeadConvert(id(), input)
            }
            EventKind::OrderCreated => {
                let input: OrderIn = data(value)?;
                input.customer()?;
                input.value()?;
                Command::OrderCreated(input)
            }
            EventKind::PaymentReceived => {
                let input: PaymentIn = data(value)?;
                input.customer()?;
                Command::PaymentReceived(input)
            }
        };
        Ok(command)
    }
}

/// What a successful event answers, and the record it touched (for the log).
#[derive(Debug)]
pub struct Outcome {
    pub message: &'static str,
    pub data: Value,
    pub entity: (EntityType, i64),
}

fn outcome(kind: EventKind, data: impl Serialize, entity: (EntityType, i64)) -> Result<Outcome, AppError> {
    Ok(Outcome {
        message: kind.success_message(),
        data: serde_json::to_value(data).map_err(AppError::internal)?,
        entity,
    })
}

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

pub async fn execute(conn: &mut WriteConn, command: Command, ctx: &EventContext) -> Result<Outcome, AppError> {
    use EntityType::{Customer, Lead, PreLead};
    let kind = ctx.kind;
    match command {
        Command::NewInquiry(input) => {
            let id = pre_leads::store::create(conn, input, ctx).await?;
            outcome(kind, PreLeadIdOut { pre_lead_id: id }, (PreLead, id))
        }
        Command::PreLeadUpdate(id, patch) => {
            pre_leads::store::update(conn, id, patch, ctx).await?;
            outcome(kind, PreLeadIdOut { pre_lead_id: id }, (PreLead, id))
        }
        Command::PreLeadDiscard(id, input) => {
            pre_leads::store::discard(conn, id, input, ctx).await?;
            outcome(kind, PreLeadIdOut { pre_lead_id: id }, (PreLead, id))
        }
        Command::PreLeadContactAdd(id, input) => {
            pre_leads::store::exists(conn, id).await?;
            let contact_id = related::add_contact(conn, PreLead, id, input, &ctx.raw_payload).await?;
            outcome(kind, PreLeadContactOut { contact_id, pre_lead_id: id }, (PreLead, id))
        }
        Command::PreLeadMemoAdd(id, input) => {
            pre_leads::store::exists(conn, id).await?;
            let memo_id = related::add_memo(conn, PreLead, id, input, &ctx.raw_payload).await?;
            outcome(kind, PreLeadMemoOut { memo_id, pre_lead_id: id }, (PreLead, id))
        }
        Command::PreLeadStatusUpdate(id, input) => {
            let (old_status, new_status) = pre_leads::store::update_status(conn, id, input, ctx).await?;
            outcome(kind, PreLeadStatusOut { pre_lead_id: id, old_status, new_status }, (PreLead, id))
        }
        Command::PreLeadConvert(id, input) => {
            let lead_id = pre_leads::store::convert(conn, id, input, ctx).await?;
            outcome(kind, PreLeadConvertOut { pre_lead_id: id, lead_id }, (PreLead, id))
        }
        Command::NewLead(input) => {
            let id = leads::store::create(conn, input, ctx).await?;
            outcome(kind, LeadIdOut { lead_id: id }, (Lead, id))
        }
        Command::LeadUpdate(id, patch) => {
            leads::store::update(conn, id, patch, ctx).await?;
            outcome(kind, LeadIdOut { lead_id: id }, (Lead, id))
        }
        Command::LeadDiscard(id, input) => {
            leads::store::discard(conn, id, input, ctx).await?;
            outcome(kind, LeadIdOut { lead_id: id }, (Lead, id))
        }
        Command::LeadContactAdd(id, input) => {
            leads::store::exists(conn, id).await?;
            let contact_id = related::add_contact(conn, Lead, id, input, &ctx.raw_payload).await?;
            outcome(kind, LeadContactOut { contact_id, lead_id: id }, (Lead, id))
        }
        Command::LeadActivityAdd(id, input) => {
            let activity_id = leads::store::add_activity(conn, id, input, ctx).await?;
            outcome(kind, LeadActivityOut { activity_id, lead_id: id }, (Lead, id))
        }
        Command::LeadQualifiedProfileUpdate(id, input) => {
            let profile_id = leads::store::upsert_profile(conn, id, input, ctx).await?;
            outcome(kind, LeadProfileOut { lead_id: id, profile_id }, (Lead, id))
        }
        Command::LeadMemoAdd(id, input) => {
            leads::store::exists(conn, id).await?;
            let memo_id = related::add_memo(conn, Lead, id, input, &ctx.raw_payload).await?;
            outcome(kind, LeadMemoOut { memo_id, lead_id: id }, (Lead, id))
        }
        Command::LeadStatusUpdate(id, input) => {
            let (old_status, new_status) = leads::store::update_status(conn, id, input, ctx).await?;
            outcome(kind, LeadStatusOut { lead_id: id, old_status, new_status }, (Lead, id))
        }
        Command::LeadConvert(id, input) => {
            let (customer_id, customer_code) = leads::store::convert(conn, id, input, ctx).await?;
            outcome(kind, LeadConvertOut { lead_id: id, customer_id, customer_code }, (Lead, id))
        }
        Command::OrderCreated(input) => {
            let order_id = input.order_id.0.clone();
            let (totals, counted) = customers::store::record_order(conn, input, ctx).await?;
            let out = OrderOut {
                customer_id: totals.customer_id,
                order_id,
                counted,
                total_orders: totals.total_orders,
                total_revenue: totals.total_revenue,
                outstanding_amount: totals.outstanding_amount,
            };
            outcome(kind, out, (Customer, totals.customer_id))
        }
        Command::PaymentReceived(input) => {
            let payment_id = input.payment_id.0.clone();
            let (totals, counted) = customers::store::record_payment(conn, input, ctx).await?;
            let out = PaymentOut {
                customer_id: totals.customer_id,
                payment_id,
                counted,
                total_paid: totals.total_paid,
                outstanding_amount: totals.outstanding_amount,
            };
            outcome(kind, out, (Customer, totals.customer_id))
        }
    }
}
