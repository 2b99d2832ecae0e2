use serde_json::json;

use super::*;
use crate::domain::EntityType::{Customer, Lead, PreLead};

fn totals() -> Totals {
    Totals {
        customer_id: 505,
        total_orders: 1,
        total_revenue: Money::from_cents(250_000),
        total_paid: Money::from_cents(100_000),
        outstanding_amount: Money::from_cents(150_000),
    }
}

/// One change per event, in the table's order.
fn one_of_each() -> Vec<Change> {
    vec![
        Change::PreLeadCreated { record: Box::new(crate::records::PreLead { id: 1, ..Default::default() }) },
        Change::PreLeadUpdated { id: 1 },
        Change::Discarded { entity: PreLead, id: 1, first: true },
        Change::ContactAdded { entity: PreLead, id: 1, contact_id: 2 },
        Change::MemoAdded { entity: PreLead, id: 1, memo_id: 3 },
        Change::StatusChanged { entity: PreLead, id: 1, old: "new".into(), new: "working".into() },
        Change::PreLeadConverted { pre_lead_id: 1, lead_id: 4 },
        Change::LeadCreated { record: Box::new(crate::records::Lead { id: 4, ..Default::default() }) },
        Change::LeadUpdated { id: 4 },
        Change::Discarded { entity: Lead, id: 4, first: true },
        Change::ContactAdded { entity: Lead, id: 4, contact_id: 5 },
        Change::ActivityAdded { lead_id: 4, activity_id: 6 },
        Change::ProfileUpdated { lead_id: 4, profile_id: 7 },
        Change::MemoAdded { entity: Lead, id: 4, memo_id: 8 },
        Change::StatusChanged { entity: Lead, id: 4, old: "new".into(), new: "won".into() },
        Change::LeadConverted { lead_id: 4, customer_id: 505, customer_code: "CUST-000505".into() },
        Change::OrderRecorded { order_id: "SO-1".into(), counted: true, totals: totals() },
        Change::PaymentReceived { payment_id: "PAY-1".into(), counted: true, totals: totals() },
    ]
}

#[test]
fn every_event_has_exactly_one_change_and_its_message() {
    let changes = one_of_each();
    let events: Vec<EventKind> = changes.iter().map(Change::event).collect();
    assert_eq!(events, EventKind::ALL);
    for change in &changes {
        assert_eq!(change.answer().unwrap().message, change.event().success_message());
        assert_eq!(change.outgoing_type(), change.event().spec().outgoing_type);
        assert!(!change.is_noop(), "{change:?}");
    }
}

#[test]
fn answers_carry_the_documented_keys_in_order() {
    let data = |change: Change| serde_json::to_string(&change.answer().unwrap().data).unwrap();
    assert_eq!(
        data(Change::ContactAdded { entity: PreLead, id: 1, contact_id: 2 }),
        r#"{"contact_id":2,"pre_lead_id":1}"#
    );
    assert_eq!(
        data(Change::StatusChanged { entity: Lead, id: 4, old: "new".into(), new: "won".into() }),
        r#"{"lead_id":4,"old_status":"new","new_status":"won"}"#
    );
    assert_eq!(
        data(Change::LeadConverted { lead_id: 4, customer_id: 505, customer_code: "CUST-000505".into() }),
        r#"{"lead_id":4,"customer_id":505,"customer_code":"CUST-000505"}"#
    );
    let order = Change::OrderRecorded { order_id: "SO-1".into(), counted: false, totals: totals() };
    assert_eq!(
        order.answer().unwrap().data,
        json!({"customer_id": 505, "order_id": "SO-1", "counted": false, "total_orders": 1,
               "total_revenue": "2500.00", "outstanding_amount": "1500.00"})
    );
}

#[test]
fn a_change_that_changed_nothing_is_a_noop_but_still_answers() {
    let again = Change::Discarded { entity: Lead, id: 4, first: false };
    assert!(again.is_noop());
    assert_eq!(again.answer().unwrap().message, "Lead discarded successfully");
    assert_eq!(again.entity(), (Lead, 4));
    let order = Change::OrderRecorded { order_id: "SO-1".into(), counted: false, totals: totals() };
    let payment = Change::PaymentReceived { payment_id: "PAY-1".into(), counted: false, totals: totals() };
    assert!(order.is_noop() && payment.is_noop());
    assert_eq!(order.entity(), (Customer, 505));
}

#[test]
fn conversions_belong_to_their_source_record() {
    assert_eq!(Change::PreLeadConverted { pre_lead_id: 1, lead_id: 4 }.entity(), (PreLead, 1));
    let converted = Change::LeadConverted { lead_id: 4, customer_id: 505, customer_code: "C".into() };
    assert_eq!(converted.entity(), (Lead, 4));
    assert_eq!(converted.outgoing_type(), "lead.converted");
}
