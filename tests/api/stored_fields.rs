//! Every field of every example lands in a real column (nothing silently dropped), and the raw
//! payload of the last change keeps keys the schema does not model.

use serde_json::{json, Value};

use crate::helpers::{example_bytes, example_request, spawn_app, Engine, TestApp};
use crate::on_both_engines;

/// The column a payload key is stored in (money is stored in cents).
fn column(key: &str) -> String {
    match key {
        "expected_value" | "budget" | "credit_limit" => format!("{key}_cents"),
        other => other.to_string(),
    }
}

async fn assert_stored(app: &TestApp, table: &str, id: i64, data: &Value) {
    for (key, value) in data.as_object().unwrap() {
        let col = column(key);
        let sql = format!("select {col} from {table} where id = {id}");
        match value {
            Value::String(text) => {
                let stored = app.scalar_text(&sql).await;
                let expected =
                    if ["lead_status", "source", "priority", "memo_type", "activity_type"].contains(&key.as_str()) {
                        text.to_lowercase()
                    } else if ["scheduled_at", "completed_at"].contains(&key.as_str()) {
                        crm_webhooks::domain::time::parse_datetime(text).unwrap()
                    } else {
                        text.clone()
                    };
                assert_eq!(stored.as_deref(), Some(expected.as_str()), "{table}.{col}");
            }
            Value::Number(n) => {
                let stored = app.scalar_i64(&sql).await;
                let expected = if col.ends_with("_cents") {
                    (n.as_f64().unwrap() * 100.0).round() as i64
                } else {
                    n.as_i64().unwrap()
                };
                assert_eq!(stored, expected, "{table}.{col}");
            }
            Value::Bool(b) => {
                let stored = app
                    .scalar_i64(&format!("select case when {col} then 1 else 0 end from {table} where id = {id}"))
                    .await;
                assert_eq!(stored, i64::from(*b), "{table}.{col}");
            }
            other => panic!("unexpected example value {other}"),
        }
    }
}

async fn every_field_of_every_example_is_stored(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let pre_lead = app.create_pre_lead().await;
    assert_stored(&app, "pre_leads", pre_lead, &example_request("new_inquiry")["data"]).await;

    let reply =
        app.post_raw(&format!("/incoming/pre-lead/{pre_lead}/update"), &example_bytes("pre_lead_update"), &[]).await;
    assert_eq!(reply.status, 200);
    assert_stored(&app, "pre_leads", pre_lead, &example_request("pre_lead_update")["data"]).await;

    for (event, path, table, id_key) in [
        ("pre_lead_contact_add", "contact/add", "contacts", "contact_id"),
        ("pre_lead_memo_add", "memo/add", "memos", "memo_id"),
    ] {
        let reply = app.post_raw(&format!("/incoming/pre-lead/{pre_lead}/{path}"), &example_bytes(event), &[]).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        let id = reply.body["data"][id_key].as_i64().unwrap();
        assert_stored(&app, table, id, &example_request(event)["data"]).await;
    }

    let lead = app.create_lead().await;
    assert_stored(&app, "leads", lead, &example_request("new_lead")["data"]).await;
    let reply = app.post_raw(&format!("/incoming/lead/{lead}/update"), &example_bytes("lead_update"), &[]).await;
    assert_eq!(reply.status, 200);
    assert_stored(&app, "leads", lead, &example_request("lead_update")["data"]).await;

    for (event, path, table, id_key) in [
        ("lead_contact_add", "contact/add", "contacts", "contact_id"),
        ("lead_memo_add", "memo/add", "memos", "memo_id"),
        ("lead_activity_add", "activity/add", "activities", "activity_id"),
        ("lead_qualified_profile_update", "qualified-profile/update", "qualified_profiles", "profile_id"),
    ] {
        let reply = app.post_raw(&format!("/incoming/lead/{lead}/{path}"), &example_bytes(event), &[]).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        let id = reply.body["data"][id_key].as_i64().unwrap();
        assert_stored(&app, table, id, &example_request(event)["data"]).await;
    }
    let profile_fields = example_request("lead_qualified_profile_update")["data"].as_object().unwrap().len();
    assert_eq!(profile_fields, 18);

    let reply = app.post_raw(&format!("/incoming/lead/{lead}/convert"), &example_bytes("lead_convert"), &[]).await;
    assert_eq!(reply.status, 200);
    let customer = reply.body["data"]["customer_id"].as_i64().unwrap();
    assert_stored(&app, "customers", customer, &example_request("lead_convert")["data"]).await;
}

async fn unknown_keys_are_kept_in_the_raw_payload(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let lead = app.create_lead().await;
    let body = json!({"event": "lead_update", "data": {"city": "Boston", "favourite_colour": "teal"}});
    let reply = app.post(&format!("/incoming/lead/{lead}/update"), &body).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let raw = app.scalar_text(&format!("select raw_payload from leads where id = {lead}")).await.unwrap();
    let raw: Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(raw["favourite_colour"], "teal");
}

on_both_engines!(every_field_of_every_example_is_stored, unknown_keys_are_kept_in_the_raw_payload);
