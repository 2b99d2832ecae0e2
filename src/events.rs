//! The 18 incoming events, one row each: name, typed route, target record, success message,
//! summary, OpenAPI tag, the API document's examples and the outgoing type. Routing, the generic
//! router, the answers (`changes`) and the OpenAPI document all read this table; it depends on
//! nothing but `domain`, so every layer can.
//!
//! The payload type each event's `data` is parsed into is bound beside the parser, in
//! `webhook/command.rs` (`binding`): the payload types belong to the resource modules, which must
//! not be reached from here (they return [`crate::changes::Change`], which reads this table).

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

/// OpenAPI tags of the webhook operations.
pub const TAG_PRE_LEADS: &str = "pre-leads";
pub const TAG_LEADS: &str = "leads";
pub const TAG_GENERIC: &str = "generic";

/// One event's facts.
#[derive(Debug)]
pub struct EventSpec {
    pub kind: EventKind,
    /// The `event` of the envelope.
    pub name: &'static str,
    /// The typed route under `/api/v1/webhooks`; `None`: the generic route only.
    pub route: Option<&'static str>,
    /// The record whose id the path (typed route) or `data.pre_lead_id` / `data.lead_id` (generic
    /// route) names; `None` for creates and customer events.
    pub target: Option<EntityType>,
    /// The `message` of the success answer.
    pub message: &'static str,
    /// The OpenAPI operation's summary.
    pub summary: &'static str,
    /// The OpenAPI tag of the typed operation.
    pub tag: &'static str,
    /// The API document's request and response examples, verbatim (`docs/examples/`); the two
    /// events it does not show have theirs in the OpenAPI part of `webhook/`.
    pub examples: Option<(&'static str, &'static str)>,
    /// The outgoing event type (design §7). The outbox reads it from here, through
    /// [`crate::changes::Change::outgoing_type`], for every change that is not a no-op.
    pub outgoing_type: &'static str,
}

macro_rules! examples {
    ($name:literal) => {
        Some((
            include_str!(concat!("../docs/examples/", $name, ".request.json")),
            include_str!(concat!("../docs/examples/", $name, ".response.json")),
        ))
    };
}

/// The table, in the order of the API document.
pub const EVENTS: [EventSpec; 18] = [
    EventSpec {
        kind: EventKind::NewInquiry,
        name: "new_inquiry",
        route: Some("/incoming/pre-lead/create"),
        target: None,
        message: "Pre-lead created successfully",
        summary: "Create a pre-lead from an inquiry",
        tag: TAG_PRE_LEADS,
        examples: examples!("new_inquiry"),
        outgoing_type: "pre_lead.created",
    },
    EventSpec {
        kind: EventKind::PreLeadUpdate,
        name: "pre_lead_update",
        route: Some("/incoming/pre-lead/{pre_lead_id}/update"),
        target: Some(EntityType::PreLead),
        message: "Pre-lead updated successfully",
        summary: "Update a pre-lead",
        tag: TAG_PRE_LEADS,
        examples: examples!("pre_lead_update"),
        outgoing_type: "pre_lead.updated",
    },
    EventSpec {
        kind: EventKind::PreLeadDiscard,
        name: "pre_lead_discard",
        route: Some("/incoming/pre-lead/{pre_lead_id}/discard"),
        target: Some(EntityType::PreLead),
        message: "Pre-lead discarded successfully",
        summary: "Discard a pre-lead",
        tag: TAG_PRE_LEADS,
        examples: examples!("pre_lead_discard"),
        outgoing_type: "pre_lead.discarded",
    },
    EventSpec {
        kind: EventKind::PreLeadContactAdd,
        name: "pre_lead_contact_add",
        route: Some("/incoming/pre-lead/{pre_lead_id}/contact/add"),
        target: Some(EntityType::PreLead),
        message: "Contact added successfully",
        summary: "Add a contact to a pre-lead",
        tag: TAG_PRE_LEADS,
        examples: examples!("pre_lead_contact_add"),
        outgoing_type: "pre_lead.contact_added",
    },
    EventSpec {
        kind: EventKind::PreLeadMemoAdd,
        name: "pre_lead_memo_add",
        route: Some("/incoming/pre-lead/{pre_lead_id}/memo/add"),
        target: Some(EntityType::PreLead),
        message: "Memo added successfully",
        summary: "Add a memo to a pre-lead",
        tag: TAG_PRE_LEADS,
        examples: examples!("pre_lead_memo_add"),
        outgoing_type: "pre_lead.memo_added",
    },
    EventSpec {
        kind: EventKind::PreLeadStatusUpdate,
        name: "pre_lead_status_update",
        route: Some("/incoming/pre-lead/{pre_lead_id}/status/update"),
        target: Some(EntityType::PreLead),
        message: "Pre-lead status updated successfully",
        summary: "Update a pre-lead's status",
        tag: TAG_PRE_LEADS,
        examples: examples!("pre_lead_status_update"),
        outgoing_type: "pre_lead.status_changed",
    },
    EventSpec {
        kind: EventKind::PreLeadConvert,
        name: "pre_lead_convert",
        route: Some("/incoming/pre-lead/{pre_lead_id}/convert"),
        target: Some(EntityType::PreLead),
        message: "Pre-lead converted to lead successfully",
        summary: "Convert a pre-lead to a lead",
        tag: TAG_PRE_LEADS,
        examples: examples!("pre_lead_convert"),
        outgoing_type: "pre_lead.converted",
    },
    EventSpec {
        kind: EventKind::NewLead,
        name: "new_lead",
        route: Some("/incoming/lead/create"),
        target: None,
        message: "Lead created successfully",
        summary: "Create a lead",
        tag: TAG_LEADS,
        examples: examples!("new_lead"),
        outgoing_type: "lead.created",
    },
    EventSpec {
        kind: EventKind::LeadUpdate,
        name: "lead_update",
        route: Some("/incoming/lead/{lead_id}/update"),
        target: Some(EntityType::Lead),
        message: "Lead updated successfully",
        summary: "Update a lead",
        tag: TAG_LEADS,
        examples: examples!("lead_update"),
        outgoing_type: "lead.updated",
    },
    EventSpec {
        kind: EventKind::LeadDiscard,
        name: "lead_discard",
        route: Some("/incoming/lead/{lead_id}/discard"),
        target: Some(EntityType::Lead),
        message: "Lead discarded successfully",
        summary: "Discard a lead",
        tag: TAG_LEADS,
        examples: examples!("lead_discard"),
        outgoing_type: "lead.discarded",
    },
    EventSpec {
        kind: EventKind::LeadContactAdd,
        name: "lead_contact_add",
        route: Some("/incoming/lead/{lead_id}/contact/add"),
        target: Some(EntityType::Lead),
        message: "Contact added successfully",
        summary: "Add a contact to a lead",
        tag: TAG_LEADS,
        examples: examples!("lead_contact_add"),
        outgoing_type: "lead.contact_added",
    },
    EventSpec {
        kind: EventKind::LeadActivityAdd,
        name: "lead_activity_add",
        route: Some("/incoming/lead/{lead_id}/activity/add"),
        target: Some(EntityType::Lead),
        message: "Activity added successfully",
        summary: "Log an activity for a lead",
        tag: TAG_LEADS,
        examples: examples!("lead_activity_add"),
        outgoing_type: "lead.activity_added",
    },
    EventSpec {
        kind: EventKind::LeadQualifiedProfileUpdate,
        name: "lead_qualified_profile_update",
        route: Some("/incoming/lead/{lead_id}/qualified-profile/update"),
        target: Some(EntityType::Lead),
        message: "Qualified profile updated successfully",
        summary: "Create or update a lead's qualified profile",
        tag: TAG_LEADS,
        examples: examples!("lead_qualified_profile_update"),
        outgoing_type: "lead.profile_updated",
    },
    EventSpec {
        kind: EventKind::LeadMemoAdd,
        name: "lead_memo_add",
        route: Some("/incoming/lead/{lead_id}/memo/add"),
        target: Some(EntityType::Lead),
        message: "Memo added successfully",
        summary: "Add a memo to a lead",
        tag: TAG_LEADS,
        examples: examples!("lead_memo_add"),
        outgoing_type: "lead.memo_added",
    },
    EventSpec {
        kind: EventKind::LeadStatusUpdate,
        name: "lead_status_update",
        route: Some("/incoming/lead/{lead_id}/status/update"),
        target: Some(EntityType::Lead),
        message: "Lead status updated successfully",
        summary: "Update a lead's status",
        tag: TAG_LEADS,
        examples: examples!("lead_status_update"),
        outgoing_type: "lead.status_changed",
    },
    EventSpec {
        kind: EventKind::LeadConvert,
        name: "lead_convert",
        route: Some("/incoming/lead/{lead_id}/convert"),
        target: Some(EntityType::Lead),
        message: "Lead converted to customer successfully",
        summary: "Convert a lead to a customer",
        tag: TAG_LEADS,
        examples: examples!("lead_convert"),
        outgoing_type: "lead.converted",
    },
    EventSpec {
        kind: EventKind::OrderCreated,
        name: "order_created",
        route: None,
        target: None,
        message: "Order recorded successfully",
        summary: "Record an order for a customer",
        tag: TAG_GENERIC,
        examples: None,
        outgoing_type: "customer.order_recorded",
    },
    EventSpec {
        kind: EventKind::PaymentReceived,
        name: "payment_received",
        route: None,
        target: None,
        message: "Payment recorded successfully",
        summary: "Record a payment from a customer",
        tag: TAG_GENERIC,
        examples: None,
        outgoing_type: "customer.payment_received",
    },
];

impl EventKind {
    /// Every event, in table order.
    pub const ALL: [EventKind; 18] = {
        let mut all = [EventKind::NewInquiry; 18];
        let mut i = 0;
        while i < EVENTS.len() {
            all[i] = EVENTS[i].kind;
            i += 1;
        }
        all
    };

    /// This event's row (the table is in declaration order, which a test holds).
    pub const fn spec(self) -> &'static EventSpec {
        &EVENTS[self as usize]
    }

    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// Exact match on the name (event names are identifiers, not free text).
    pub fn parse(name: &str) -> Option<EventKind> {
        EVENTS.iter().find(|spec| spec.name == name).map(|spec| spec.kind)
    }

    pub fn target(self) -> Option<EntityType> {
        self.spec().target
    }

    pub fn path(self) -> Option<&'static str> {
        self.spec().route
    }

    pub fn success_message(self) -> &'static str {
        self.spec().message
    }

    pub fn summary(self) -> &'static str {
        self.spec().summary
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_row_sits_at_its_kind() {
        for (i, spec) in EVENTS.iter().enumerate() {
            assert_eq!(spec.kind as usize, i, "{}", spec.name);
        }
    }

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

    #[test]
    fn outgoing_types_are_named_after_the_record_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for spec in &EVENTS {
            let record = spec.outgoing_type.split('.').next().unwrap();
            let expected = match spec.target {
                Some(entity) => entity.as_str(),
                None if spec.name == "new_inquiry" => "pre_lead",
                None if spec.name == "new_lead" => "lead",
                None => "customer",
            };
            assert_eq!(record, expected, "{}", spec.name);
            assert!(seen.insert(spec.outgoing_type), "{} twice", spec.outgoing_type);
        }
    }
}
