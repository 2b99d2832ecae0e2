//! What a change did, as a fact: every store function returns a [`Change`]. This is the one place
//! that turns a change into the webhook's answer ([`Change::answer`], the message from the event
//! table and `data` exactly as the API document shows it), the log's entity ([`Change::entity`]),
//! and the outgoing event type the outbox writes ([`Change::outgoing_type`]), unless the change
//! changed nothing ([`Change::is_noop`]: a second discard, an order or payment already counted).

mod answer;

pub use answer::*;

use serde::Serialize;
use serde_json::Value;

use crate::domain::money::Money;
use crate::domain::EntityType;
use crate::events::EventKind;
use crate::records;

/// A customer's running totals after an order or payment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Totals {
    pub customer_id: i64,
    pub total_orders: i64,
    pub total_revenue: Money,
    pub total_paid: Money,
    pub outstanding_amount: Money,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// The record as inserted, in the read API's shape (the outgoing event's `data`).
    PreLeadCreated {
        record: Box<records::PreLead>,
    },
    PreLeadUpdated {
        id: i64,
    },
    /// `first`: false when the record was already discarded (nothing changed).
    Discarded {
        entity: EntityType,
        id: i64,
        first: bool,
    },
    ContactAdded {
        entity: EntityType,
        id: i64,
        contact_id: i64,
    },
    MemoAdded {
        entity: EntityType,
        id: i64,
        memo_id: i64,
    },
    /// Also when `new` equals `old`: the status update is recorded in the history all the same.
    StatusChanged {
        entity: EntityType,
        id: i64,
        old: String,
        new: String,
    },
    PreLeadConverted {
        pre_lead_id: i64,
        lead_id: i64,
    },
    /// The record as inserted, in the read API's shape (the outgoing event's `data`).
    LeadCreated {
        record: Box<records::Lead>,
    },
    LeadUpdated {
        id: i64,
    },
    ActivityAdded {
        lead_id: i64,
        activity_id: i64,
    },
    ProfileUpdated {
        lead_id: i64,
        profile_id: i64,
    },
    LeadConverted {
        lead_id: i64,
        customer_id: i64,
        customer_code: String,
    },
    /// `counted`: false when this `order_id` was already recorded (totals unchanged).
    OrderRecorded {
        order_id: String,
        counted: bool,
        totals: Totals,
    },
    /// `counted`: false when this `payment_id` was already recorded (totals unchanged).
    PaymentReceived {
        payment_id: String,
        counted: bool,
        totals: Totals,
    },
}

/// The success answer of a webhook: `{"status": "success", message, data}`.
#[derive(Debug, PartialEq)]
pub struct Answer {
    pub message: &'static str,
    pub data: Value,
}

fn on(entity: EntityType, pre_lead: EventKind, lead: EventKind) -> EventKind {
    if entity == EntityType::PreLead {
        pre_lead
    } else {
        lead
    }
}

impl Change {
    /// The incoming event this change answers (its row in the event table).
    pub fn event(&self) -> EventKind {
        use EventKind::*;
        match self {
            Change::PreLeadCreated { .. } => NewInquiry,
            Change::PreLeadUpdated { .. } => PreLeadUpdate,
            Change::Discarded { entity, .. } => on(*entity, PreLeadDiscard, LeadDiscard),
            Change::ContactAdded { entity, .. } => on(*entity, PreLeadContactAdd, LeadContactAdd),
            Change::MemoAdded { entity, .. } => on(*entity, PreLeadMemoAdd, LeadMemoAdd),
            Change::StatusChanged { entity, .. } => on(*entity, PreLeadStatusUpdate, LeadStatusUpdate),
            Change::PreLeadConverted { .. } => PreLeadConvert,
            Change::LeadCreated { .. } => NewLead,
            Change::LeadUpdated { .. } => LeadUpdate,
            Change::ActivityAdded { .. } => LeadActivityAdd,
            Change::ProfileUpdated { .. } => LeadQualifiedProfileUpdate,
            Change::LeadConverted { .. } => LeadConvert,
            Change::OrderRecorded { .. } => OrderCreated,
            Change::PaymentReceived { .. } => PaymentReceived,
        }
    }

    /// The record the change is about, as the log row names it (a conversion belongs to its
    /// source record; orders and payments to the customer).
    pub fn entity(&self) -> (EntityType, i64) {
        use EntityType::{Customer, Lead, PreLead};
        match self {
            Change::PreLeadCreated { record } => (PreLead, record.id),
            Change::PreLeadUpdated { id } => (PreLead, *id),
            Change::Discarded { entity, id, .. }
            | Change::ContactAdded { entity, id, .. }
            | Change::MemoAdded { entity, id, .. }
            | Change::StatusChanged { entity, id, .. } => (*entity, *id),
            Change::PreLeadConverted { pre_lead_id, .. } => (PreLead, *pre_lead_id),
            Change::LeadCreated { record } => (Lead, record.id),
            Change::LeadUpdated { id } => (Lead, *id),
            Change::ActivityAdded { lead_id, .. }
            | Change::ProfileUpdated { lead_id, .. }
            | Change::LeadConverted { lead_id, .. } => (Lead, *lead_id),
            Change::OrderRecorded { totals, .. } | Change::PaymentReceived { totals, .. } => {
                (Customer, totals.customer_id)
            }
        }
    }

    /// True when nothing changed: such a change is answered as usual but emits no outgoing event.
    pub fn is_noop(&self) -> bool {
        match self {
            Change::Discarded { first, .. } => !first,
            Change::OrderRecorded { counted, .. } | Change::PaymentReceived { counted, .. } => !counted,
            _ => false,
        }
    }

    /// The outgoing event type (design §7), read from the event table.
    pub fn outgoing_type(&self) -> &'static str {
        self.event().spec().outgoing_type
    }

    /// The webhook's success answer: the event's message and `data` with the document's keys in
    /// its order.
    pub fn answer(&self) -> Result<Answer, serde_json::Error> {
        let data = match self {
            Change::PreLeadCreated { record } => to(PreLeadIdOut { pre_lead_id: record.id }),
            Change::PreLeadUpdated { id } => to(PreLeadIdOut { pre_lead_id: *id }),
            Change::LeadCreated { record } => to(LeadIdOut { lead_id: record.id }),
            Change::LeadUpdated { id } => to(LeadIdOut { lead_id: *id }),
            Change::Discarded { entity: EntityType::PreLead, id, .. } => to(PreLeadIdOut { pre_lead_id: *id }),
            Change::Discarded { id, .. } => to(LeadIdOut { lead_id: *id }),
            Change::ContactAdded { entity: EntityType::PreLead, id, contact_id } => {
                to(PreLeadContactOut { contact_id: *contact_id, pre_lead_id: *id })
            }
            Change::ContactAdded { id, contact_id, .. } => to(LeadContactOut { contact_id: *contact_id, lead_id: *id }),
            Change::MemoAdded { entity: EntityType::PreLead, id, memo_id } => {
                to(PreLeadMemoOut { memo_id: *memo_id, pre_lead_id: *id })
            }
            Change::MemoAdded { id, memo_id, .. } => to(LeadMemoOut { memo_id: *memo_id, lead_id: *id }),
            Change::StatusChanged { entity: EntityType::PreLead, id, old, new } => {
                to(PreLeadStatusOut { pre_lead_id: *id, old_status: old.clone(), new_status: new.clone() })
            }
            Change::StatusChanged { id, old, new, .. } => {
                to(LeadStatusOut { lead_id: *id, old_status: old.clone(), new_status: new.clone() })
            }
            Change::PreLeadConverted { pre_lead_id, lead_id } => {
                to(PreLeadConvertOut { pre_lead_id: *pre_lead_id, lead_id: *lead_id })
            }
            Change::ActivityAdded { lead_id, activity_id } => {
                to(LeadActivityOut { activity_id: *activity_id, lead_id: *lead_id })
            }
            Change::ProfileUpdated { lead_id, profile_id } => {
                to(LeadProfileOut { lead_id: *lead_id, profile_id: *profile_id })
            }
            Change::LeadConverted { lead_id, customer_id, customer_code } => to(LeadConvertOut {
                lead_id: *lead_id,
                customer_id: *customer_id,
                customer_code: customer_code.clone(),
            }),
            Change::OrderRecorded { order_id, counted, totals } => to(OrderOut {
                customer_id: totals.customer_id,
                order_id: order_id.clone(),
                counted: *counted,
                total_orders: totals.total_orders,
                total_revenue: totals.total_revenue,
                outstanding_amount: totals.outstanding_amount,
            }),
            Change::PaymentReceived { payment_id, counted, totals } => to(PaymentOut {
                customer_id: totals.customer_id,
                payment_id: payment_id.clone(),
                counted: *counted,
                total_paid: totals.total_paid,
                outstanding_amount: totals.outstanding_amount,
            }),
        }?;
        Ok(Answer { message: self.event().spec().message, data })
    }
}

fn to(out: impl Serialize) -> Result<Value, serde_json::Error> {
    serde_json::to_value(out)
}

#[cfg(test)]
mod tests;
