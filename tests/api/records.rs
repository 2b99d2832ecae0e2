//! A record's own fields (`crm_webhooks::records`), loaded inside a write transaction and from the
//! read pool: the same value either way, in the read API's shape.

use crm_webhooks::db::{Db, WriteConn};
use crm_webhooks::records::{self, Customer, Lead, PreLead, Record};
use crm_webhooks::Config;
use serde_json::{json, Value};

use crate::helpers::{example_request, spawn_app, Engine, TestApp};
use crate::on_both_engines;

/// A pre-lead converted to a lead, converted to a customer with one order and one payment.
/// Returns (pre-lead id, lead id, customer id).
async fn converted_chain(app: &TestApp) -> (i64, i64, i64) {
    let pre_lead = app.create_pre_lead().await;
    let reply = app.post(&format!("/incoming/pre-lead/{pre_lead}/convert"), &example_request("pre_lead_convert")).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let lead = reply.body["data"]["lead_id"].as_i64().unwrap();
    let reply = app.post(&format!("/incoming/lead/{lead}/convert"), &example_request("lead_convert")).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let customer = reply.body["data"]["customer_id"].as_i64().unwrap();
    for (event, data) in [
        ("order_created", json!({"customer_id": customer, "order_id": "A-1", "order_value": "1500.50"})),
        ("payment_received", json!({"customer_id": customer, "payment_id": "P-1", "amount": 500})),
    ] {
        let reply = app.post("/incoming", &json!({"event": event, "data": data})).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
    (pre_lead, lead, customer)
}

async fn in_transaction<R: Record + Send + 'static>(db: &Db, id: i64) -> Option<R> {
    db.write(move |conn: &mut WriteConn| {
        Box::pin(async move {
            let change = &mut conn.begin().await?;
            let record = records::load::<R>(&mut **change, id).await?;
            Ok(record)
        })
    })
    .await
    .unwrap()
}

async fn from_pool<R: Record>(db: &Db, id: i64) -> Option<R> {
    records::load::<R>(&mut db.reader(), id).await.unwrap()
}

async fn a_record_reads_the_same_inside_a_write_and_from_the_pool(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let (pre_lead_id, lead_id, customer_id) = converted_chain(&app).await;
    let db = Db::connect(&Config::for_database(app.database_url.clone())).await.unwrap();

    let pre_lead: PreLead = from_pool(&db, pre_lead_id).await.expect("pre-lead");
    assert_eq!(in_transaction::<PreLead>(&db, pre_lead_id).await.as_ref(), Some(&pre_lead));
    let lead: Lead = from_pool(&db, lead_id).await.expect("lead");
    assert_eq!(in_transaction::<Lead>(&db, lead_id).await.as_ref(), Some(&lead));
    let customer: Customer = from_pool(&db, customer_id).await.expect("customer");
    assert_eq!(in_transaction::<Customer>(&db, customer_id).await.as_ref(), Some(&customer));

    // Links run both ways along the chain.
    assert_eq!((pre_lead.lead_id, pre_lead.customer_id), (Some(lead_id), Some(customer_id)));
    assert_eq!((lead.pre_lead_id, lead.customer_id), (Some(pre_lead_id), Some(customer_id)));
    assert_eq!((customer.lead_id, customer.pre_lead_id), (Some(lead_id), Some(pre_lead_id)));

    let pre_lead = serde_json::to_value(&pre_lead).unwrap();
    assert_eq!(pre_lead["email"], "john.doe@example.com");
    assert_eq!(pre_lead["lead_status"], "converted");
    assert_eq!(pre_lead["is_discarded"], false);
    assert_eq!(pre_lead["industry_id"], 1);
    assert_eq!(pre_lead["raw_payload"]["office_timings"], "9:00 AM - 5:00 PM", "the data as sent");

    let lead = serde_json::to_value(&lead).unwrap();
    assert_eq!(lead["expected_value"], "50000.00");
    assert_eq!(lead["lead_status"], "won");
    assert_eq!(lead["assigned_to"], 5);
    assert!(lead.get("expected_value_cents").is_none());

    let customer = serde_json::to_value(&customer).unwrap();
    assert_eq!(customer["customer_code"], "CUST-XYZ-001");
    assert_eq!(customer["credit_limit"], "100000.00");
    assert_eq!(customer["total_orders"], 1);
    assert_eq!(customer["total_revenue"], "1500.50");
    assert_eq!(customer["total_paid"], "500.00");
    assert_eq!(customer["outstanding_amount"], "1000.50");
    assert_eq!(customer["raw_payload"]["payment_terms"], "Net 30");
    for key in ["created_at", "updated_at", "last_order_date", "last_payment_date"] {
        let text = customer[key].as_str().unwrap_or_else(|| panic!("{key}"));
        assert!(chrono::DateTime::parse_from_rfc3339(text).is_ok() && text.ends_with('Z'), "{key}: {text}");
    }
    assert!(customer.as_object().unwrap().keys().all(|key| !key.ends_with("_cents")), "{customer}");
    db.close().await;
}

async fn a_read_inside_the_write_sees_the_change_and_unknown_ids_are_none(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let lead_id = app.create_lead().await;
    let db = Db::connect(&Config::for_database(app.database_url.clone())).await.unwrap();
    let (seen, after_rollback_missing) = db
        .write(move |conn: &mut WriteConn| {
            Box::pin(async move {
                let mut change = conn.begin().await?;
                change
                    .execute(
                        "update leads set expected_value_cents = 250000, is_discarded = $1 where id = $2",
                        crm_webhooks::args![true, lead_id],
                    )
                    .await?;
                let seen = records::load::<Lead>(&mut *change, lead_id).await?.expect("lead");
                change.rollback().await?;
                let missing = records::load::<Lead>(conn, lead_id + 1000).await?.is_none();
                Ok((seen, missing))
            })
        })
        .await
        .unwrap();
    assert_eq!(seen.expected_value.map(|m| m.to_string()).as_deref(), Some("2500.00"));
    assert!(seen.is_discarded);
    assert!(after_rollback_missing);
    let stored: Lead = from_pool(&db, lead_id).await.unwrap();
    assert_eq!(stored.expected_value.map(|m| m.to_string()).as_deref(), Some("100000.00"));
    assert!(!stored.is_discarded);
    assert!(from_pool::<PreLead>(&db, 999).await.is_none());
    assert!(from_pool::<Customer>(&db, 999).await.is_none());
    db.close().await;
}

async fn a_record_without_links_or_optional_fields_answers_nulls(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let reply = app.post("/incoming/lead/create", &json!({"data": {"company_name": "Solo"}})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let id = reply.body["data"]["lead_id"].as_i64().unwrap();
    let db = Db::connect(&Config::for_database(app.database_url.clone())).await.unwrap();
    let lead = serde_json::to_value(from_pool::<Lead>(&db, id).await.unwrap()).unwrap();
    for key in ["pre_lead_id", "customer_id", "expected_value", "first_name", "discarded_at", "assigned_to"] {
        assert_eq!(lead[key], Value::Null, "{key}");
    }
    assert_eq!(lead["priority"], "medium");
    assert_eq!(lead["source"], "other");
    let listed: Vec<Lead> =
        records::load_where(&mut db.reader(), "where r.id >= $1 order by r.id", vec![id.into()]).await.unwrap();
    assert_eq!(listed.len(), 1);
    db.close().await;
}

on_both_engines!(
    a_record_reads_the_same_inside_a_write_and_from_the_pool,
    a_read_inside_the_write_sees_the_change_and_unknown_ids_are_none,
    a_record_without_links_or_optional_fields_answers_nulls,
);
