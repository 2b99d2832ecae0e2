//! The outgoing event types of design §7 — one per incoming event, plus `ping` — with the record
//! each is about and an example body, read by subscription filters and the OpenAPI `webhooks`
//! section alike.

use serde_json::{json, Value};

/// Every type a subscription can filter on, in the order of the design's table.
pub const EVENT_TYPES: [&str; 18] = [
    "pre_lead.created",
    "pre_lead.updated",
    "pre_lead.discarded",
    "pre_lead.contact_added",
    "pre_lead.memo_added",
    "pre_lead.status_changed",
    "pre_lead.converted",
    "lead.created",
    "lead.updated",
    "lead.discarded",
    "lead.contact_added",
    "lead.activity_added",
    "lead.profile_updated",
    "lead.memo_added",
    "lead.status_changed",
    "lead.converted",
    "customer.order_recorded",
    "customer.payment_received",
];

/// Sent by `POST /subscriptions/{id}/test`, whatever the subscription's filter.
pub const PING: &str = "ping";

pub fn is_known(name: &str) -> bool {
    EVENT_TYPES.contains(&name)
}

fn pre_lead() -> Value {
    json!({
        "id": 12, "first_name": "Asha", "last_name": "Rao", "email": "asha@example.com", "phone": "+91 98450 12345",
        "company_name": "Rao Traders", "source": "website", "lead_status": "new", "is_discarded": false,
        "created_at": "2024-01-20T14:00:00.000000Z", "updated_at": "2024-01-20T14:00:00.000000Z"
    })
}

fn lead() -> Value {
    json!({
        "id": 7, "pre_lead_id": 12, "first_name": "Asha", "last_name": "Rao", "email": "asha@example.com",
        "company_name": "Rao Traders", "source": "website", "priority": "high", "expected_value": "250000.00",
        "lead_status": "qualified", "is_discarded": false,
        "created_at": "2024-01-21T09:30:00.000000Z", "updated_at": "2024-01-22T10:00:00.000000Z"
    })
}

fn customer() -> Value {
    json!({
        "id": 3, "lead_id": 7, "customer_code": "CUST-000003", "name": "Asha Rao", "email": "asha@example.com",
        "company_name": "Rao Traders", "total_orders": 1, "total_revenue": "50000.00",
        "outstanding_amount": "20000.00", "created_at": "2024-02-01T08:00:00.000000Z"
    })
}

/// The `data` of an example body of `event_type`.
fn example_data(event_type: &str) -> Value {
    let contact = json!({"id": 4, "first_name": "Ravi", "email": "ravi@example.com", "is_primary": true});
    let memo = json!({"id": 9, "title": "Call notes", "content": "Wants a demo", "memo_type": "call"});
    let status = |old: &str, new: &str| json!({"old_status": old, "new_status": new, "remarks": "Spoke to the buyer"});
    let (record, extra) = match event_type {
        "pre_lead.created" | "pre_lead.updated" => ("pre_lead", json!({})),
        "pre_lead.discarded" => ("pre_lead", json!({"reason": "Duplicate inquiry"})),
        "pre_lead.contact_added" => ("pre_lead", json!({"contact": contact})),
        "pre_lead.memo_added" => ("pre_lead", json!({"memo": memo})),
        "pre_lead.status_changed" => ("pre_lead", status("new", "contacted")),
        "pre_lead.converted" => ("pre_lead", json!({"lead": lead()})),
        "lead.created" | "lead.updated" => ("lead", json!({})),
        "lead.discarded" => ("lead", json!({"reason": "No budget", "loss_reason": "price"})),
        "lead.contact_added" => ("lead", json!({"contact": contact})),
        "lead.activity_added" => (
            "lead",
            json!({"activity": {"id": 5, "activity_type": "call", "title": "Intro call", "outcome": "positive"}}),
        ),
        "lead.profile_updated" => ("lead", json!({"profile": {"profile_type": "enterprise", "need_type": "erp"}})),
        "lead.memo_added" => ("lead", json!({"memo": memo})),
        "lead.status_changed" => ("lead", status("contacted", "qualified")),
        "lead.converted" => ("lead", json!({"customer": customer()})),
        "customer.order_recorded" => (
            "customer",
            json!({"order": {"id": 1, "order_id": "SO-1001", "amount": "50000.00", "order_date": "2024-02-02T00:00:00.000000Z"}}),
        ),
        "customer.payment_received" => (
            "customer",
            json!({"payment": {"id": 1, "payment_id": "PAY-77", "amount": "30000.00", "payment_date": "2024-02-10T00:00:00.000000Z"}}),
        ),
        _ => return json!({"subscription_id": 1}),
    };
    let mut data = serde_json::Map::new();
    data.insert(
        record.into(),
        match record {
            "pre_lead" => pre_lead(),
            "lead" => lead(),
            _ => customer(),
        },
    );
    if let Value::Object(extra) = extra {
        data.extend(extra);
    }
    Value::Object(data)
}

/// A complete example body of `event_type` (`ping` included).
pub fn example_body(event_type: &str) -> Value {
    json!({"type": event_type, "timestamp": "2024-02-10T12:00:00.000000Z", "data": example_data(event_type)})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_has_an_example_about_its_record() {
        for name in EVENT_TYPES {
            let body = example_body(name);
            let record = name.split('.').next().unwrap();
            assert!(body["data"][record].is_object(), "{name}: {body}");
            assert_eq!(body["type"], name);
        }
        assert!(example_body(PING)["data"]["subscription_id"].is_number());
        assert!(!is_known(PING));
    }
}
