//! The 18 events: their names, typed routes, the id they act on, and their success messages.
//! This table drives the typed routes, the generic router and the OpenAPI document alike.

use crate::domain::EntityType;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    NewInquiry,
    PreLeadUpdate,
    PreLeadDiscard,
    PreLeadContactAdd,
    PreLeadMemoAdd,
    PreLeadStatusUpdate,
    PreLeadConvert,
    NewLead,
    LeadUpdate,
    LeadDiscard,
    LeadContactAdd,
    LeadActivityAdd,
    LeadQualifiedProfileUpdate,
    LeadMemoAdd,
    LeadStatusUpdate,
    LeadConvert,
    OrderCreated,
    PaymentReceived,
}

use EventKind::*;

impl EventKind {
    pub const ALL: [EventKind; 18] = [
        NewInquiry,
        PreLeadUpdate,
        PreLeadDiscard,
        PreLeadContactAdd,
        PreLeadMemoAdd,
        PreLeadStatusUpdate,
        PreLeadConvert,
        NewLead,
        LeadUpdate,
        LeadDiscard,
        LeadContactAdd,
        LeadActivityAdd,
        LeadQualifiedProfileUpdate,
        LeadMemoAdd,
        LeadStatusUpdate,
        LeadConvert,
        OrderCreated,
        PaymentReceived,
    ];

    pub fn name(self) -> &'static str {
        match self {
            NewInquiry => "new_inquiry",
            PreLeadUpdate => "pre_lead_update",
            PreLeadDiscard => "pre_lead_discard",
            PreLeadContactAdd => "pre_lead_contact_add",
            PreLeadMemoAdd => "pre_lead_memo_add",
            PreLeadStatusUpdate => "pre_lead_status_update",
            PreLeadConvert => "pre_lead_convert",
            NewLead => "new_lead",
            LeadUpdate => "lead_update",
            LeadDiscard => "lead_discard",
            LeadContactAdd => "lead_contact_add",
            LeadActivityAdd => "lead_activity_add",
            LeadQualifiedProfileUpdate => "lead_qualified_profile_update",
            LeadMemoAdd => "lead_memo_add",
            LeadStatusUpdate => "lead_status_update",
            LeadConvert => "lead_convert",
            OrderCreated => "order_created",
            PaymentReceived => "payment_received",
        }
    }

    /// Exact match on the name (event names are identifiers, not free text).
    pub fn parse(name: &str) -> Option<EventKind> {
        Self::ALL.into_iter().find(|kind| kind.name() == name)
    }

    /// The record an event acts on, whose id comes from the path (typed routes) or from
    /// `data.pre_lead_id` / `data.lead_id` (generic route). `None` for creates and customer events.
    pub fn target(self) -> Option<EntityType> {
        match self {
            PreLeadUpdate | PreLeadDiscard | PreLeadContactAdd | PreLeadMemoAdd | PreLeadStatusUpdate
            | PreLeadConvert => Some(EntityType::PreLead),
            LeadUpdate
            | LeadDiscard
            | LeadContactAdd
            | LeadActivityAdd
            | LeadQualifiedProfileUpdate
            | LeadMemoAdd
            | LeadStatusUpdate
            | LeadConvert => Some(EntityType::Lead),
            NewInquiry | NewLead | OrderCreated | PaymentReceived => None,
        }
    }

    /// The typed route under `/api/v1/webhooks`, if the event has one.
    pub fn path(self) -> Option<&'static str> {
        Some(match self {
            NewInquiry => "/incoming/pre-lead/create",
            PreLeadUpdate => "/incoming/pre-lead/{pre_lead_id}/update",
            PreLeadDiscard => "/incoming/pre-lead/{pre_lead_id}/discard",
            PreLeadContactAdd => "/incoming/pre-lead/{pre_lead_id}/contact/add",
            PreLeadMemoAdd => "/incoming/pre-lead/{pre_lead_id}/memo/add",
            PreLeadStatusUpdate => "/incoming/pre-lead/{pre_lead_id}/status/update",
            PreLeadConvert => "/incoming/pre-lead/{pre_lead_id}/convert",
            NewLead => "/incoming/lead/create",
            LeadUpdate => "/incoming/lead/{lead_id}/update",
            LeadDiscard => "/incoming/lead/{lead_id}/discard",
            LeadContactAdd => "/incoming/lead/{lead_id}/contact/add",
            LeadActivityAdd => "/incoming/lead/{lead_id}/activity/add",
            LeadQualifiedProfileUpdate => "/incoming/lead/{lead_id}/qualified-profile/update",
            LeadMemoAdd => "/incoming/lead/{lead_id}/memo/add",
            LeadStatusUpdate => "/incoming/lead/{lead_id}/status/update",
            LeadConvert => "/incoming/lead/{lead_id}/convert",
            OrderCreated | PaymentReceived => return None,
        })
    }

    pub fn success_message(self) -> &'static str {
        match self {
            NewInquiry => "Pre-lead created successfully",
            PreLeadUpdate => "Pre-lead updated successfully",
            PreLeadDiscard => "Pre-lead discarded successfully",
            PreLeadContactAdd | LeadContactAdd => "Contact added successfully",
            PreLeadMemoAdd | LeadMemoAdd => "Memo added successfully",
            PreLeadStatusUpdate => "Pre-lead status updated successfully",
            PreLeadConvert => "Pre-lead converted to lead successfully",
            NewLead => "Lead created successfully",
            LeadUpdate => "Lead updated successfully",
            LeadDiscard => "Lead discarded successfully",
            LeadActivityAdd => "Activity added successfully",
            LeadQualifiedProfileUpdate => "Qualified profile updated successfully",
            LeadStatusUpdate => "Lead status updated successfully",
            LeadConvert => "Lead converted to customer successfully",
            OrderCreated => "Order recorded successfully",
            PaymentReceived => "Payment recorded successfully",
        }
    }

    pub fn summary(self) -> &'static str {
        match self {
            NewInquiry => "Create a pre-lead from an inquiry",
            PreLeadUpdate => "Update a pre-lead",
            PreLeadDiscard => "Discard a pre-lead",
            PreLeadContactAdd => "Add a contact to a pre-lead",
            PreLeadMemoAdd => "Add a memo to a pre-lead",
            PreLeadStatusUpdate => "Update a pre-lead's status",
            PreLeadConvert => "Convert a pre-lead to a lead",
            NewLead => "Create a lead",
            LeadUpdate => "Update a lead",
            LeadDiscard => "Discard a lead",
            LeadContactAdd => "Add a contact to a lead",
            LeadActivityAdd => "Log an activity for a lead",
            LeadQualifiedProfileUpdate => "Create or update a lead's qualified profile",
            LeadMemoAdd => "Add a memo to a lead",
            LeadStatusUpdate => "Update a lead's status",
            LeadConvert => "Convert a lead to a customer",
            OrderCreated => "Record an order for a customer",
            PaymentReceived => "Record a payment from a customer",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.name()), Some(kind));
        }
        assert_eq!(EventKind::parse("NEW_LEAD"), None);
    }

    #[test]
    fn sixteen_events_have_typed_routes_whose_id_matches_their_target() {
        let typed: Vec<_> = EventKind::ALL.into_iter().filter(|k| k.path().is_some()).collect();
        assert_eq!(typed.len(), 16);
        for kind in typed {
            let path = kind.path().unwrap();
            match kind.target() {
                Some(EntityType::PreLead) => assert!(path.contains("{pre_lead_id}"), "{path}"),
                Some(EntityType::Lead) => assert!(path.contains("{lead_id}"), "{path}"),
                _ => assert!(!path.contains('{'), "{path}"),
            }
        }
    }
}
