//! The rules of the lead pipeline: partial updates, status history, conversions once and
//! atomically, discards, generated customer codes.

use serde_json::json;

use crate::helpers::{spawn_app, Engine};
use crate::on_both_engines;

async fn an_update_changes_only_the_keys_sent_and_null_clears(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let id = app.create_pre_lead().await;
    let body = json!({"event": "pre_lead_update", "data": {"city": "Boston", "notes": null}});
    assert_eq!(app.post(&format!("/incoming/pre-lead/{id}/update"), &body).await.status, 200);
    assert_eq!(
        app.scalar_text(&format!("select city from pre_leads where id = {id}")).await.as_deref(),
        Some("Boston")
    );
    assert_eq!(
        app.scalar_text(&format!("select first_name from pre_leads where id = {id}")).await.as_deref(),
        Some("John")
    );
    assert_eq!(app.scalar_text(&format!("select notes from pre_leads where id = {id}")).await, None);
    assert_eq!(
        app.scalar_text(&format!("select lead_status from pre_leads where id = {id}")).await.as_deref(),
        Some("new")
    );
}

async fn every_status_change_writes_a_history_row(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let id = app.create_lead().await;
    let history =
        |id: i64| format!("select count(*) from status_history where entity_type = 'lead' and entity_id = {id}");
    assert_eq!(app.scalar_i64(&history(id)).await, 1, "creation");
    let body =
        json!({"data": {"lead_status": "Contacted", "remarks": "Called", "status_date": "2024-01-25T09:00:00+02:00"}});
    let reply = app.post(&format!("/incoming/lead/{id}/status/update"), &body).await;
    assert_eq!(reply.body["data"]["old_status"], "new");
    assert_eq!(reply.body["data"]["new_status"], "contacted");
    let date = app
        .scalar_text(&format!(
            "select status_date from status_history where entity_id = {id} and new_status = 'contacted'"
        ))
        .await;
    assert_eq!(date.as_deref(), Some("2024-01-25T07:00:00.000000Z"));
    let update = json!({"data": {"lead_status": "qualified"}});
    assert_eq!(app.post(&format!("/incoming/lead/{id}/update"), &update).await.status, 200);
    let discard = json!({"data": {"reason": "Lost to competitor", "loss_reason": "Price"}});
    assert_eq!(app.post(&format!("/incoming/lead/{id}/discard"), &discard).await.status, 200);
    assert_eq!(app.scalar_i64(&history(id)).await, 4);
    let last = app.scalar_text(&format!("select old_status || '>' || new_status || ':' || remarks from status_history where entity_id = {id} and entity_type = 'lead' order by id desc limit 1")).await;
    assert_eq!(last.as_deref(), Some("qualified>lost:Lost to competitor: Price"));
    assert_eq!(
        app.scalar_text(&format!("select loss_reason from leads where id = {id}")).await.as_deref(),
        Some("Price")
    );
}

async fn discarding_twice_is_harmless(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let id = app.create_pre_lead().await;
    for _ in 0..2 {
        let reply =
            app.post(&format!("/incoming/pre-lead/{id}/discard"), &json!({"data": {"reason": "No budget"}})).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
    let rows = app
        .scalar_i64(&format!("select count(*) from status_history where entity_type = 'pre_lead' and entity_id = {id}"))
        .await;
    assert_eq!(rows, 2, "creation and one discard");
    assert_eq!(
        app.scalar_text(&format!("select discard_reason from pre_leads where id = {id}")).await.as_deref(),
        Some("No budget")
    );
    assert_eq!(
        app.scalar_text(&format!("select lead_status from pre_leads where id = {id}")).await.as_deref(),
        Some("closed_not_converted")
    );
}

async fn pre_lead_conversion_copies_contacts_and_memos_and_links_both_ways(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let id = app.create_pre_lead().await;
    let contact = json!({"data": {"first_name": "Jane", "email": "jane@abccorp.com", "is_primary": true}});
    assert_eq!(app.post(&format!("/incoming/pre-lead/{id}/contact/add"), &contact).await.status, 200);
    let memo = json!({"data": {"title": "Call", "content": "Talked", "memo_type": "call"}});
    assert_eq!(app.post(&format!("/incoming/pre-lead/{id}/memo/add"), &memo).await.status, 200);
    let reply = app
        .post(
            &format!("/incoming/pre-lead/{id}/convert"),
            &json!({"data": {"priority": "high", "expected_value": 50000.00}}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let lead = reply.body["data"]["lead_id"].as_i64().unwrap();
    assert_eq!(app.scalar_i64(&format!("select converted_lead_id from pre_leads where id = {id}")).await, lead);
    assert_eq!(app.scalar_i64(&format!("select pre_lead_id from leads where id = {lead}")).await, id);
    assert_eq!(
        app.scalar_i64(&format!("select count(*) from contacts where entity_type = 'lead' and entity_id = {lead}"))
            .await,
        1
    );
    assert_eq!(
        app.scalar_i64(&format!("select count(*) from memos where entity_type = 'lead' and entity_id = {lead}")).await,
        1
    );
    assert_eq!(
        app.scalar_text(&format!("select company_name from leads where id = {lead}")).await.as_deref(),
        Some("ABC Corp")
    );
    assert_eq!(app.scalar_i64(&format!("select expected_value_cents from leads where id = {lead}")).await, 5_000_000);
    assert_eq!(
        app.scalar_text(&format!("select lead_status from pre_leads where id = {id}")).await.as_deref(),
        Some("converted")
    );

    let again = app.post(&format!("/incoming/pre-lead/{id}/convert"), &json!({"data": {}})).await;
    assert_eq!(again.status, 409, "{}", again.text);
    assert!(again.body["detail"].as_str().unwrap().contains("already converted"));
    let status =
        app.post(&format!("/incoming/pre-lead/{id}/status/update"), &json!({"data": {"lead_status": "new"}})).await;
    assert_eq!(status.status, 409);
    let discard = app.post(&format!("/incoming/pre-lead/{id}/discard"), &json!({"data": {}})).await;
    assert_eq!(discard.status, 409);
    assert_eq!(app.scalar_i64("select count(*) from leads").await, 1, "only the converted lead");
}

async fn a_discarded_record_cannot_be_converted(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let pre_lead = app.create_pre_lead().await;
    app.post(&format!("/incoming/pre-lead/{pre_lead}/discard"), &json!({"data": {}})).await;
    let reply = app.post(&format!("/incoming/pre-lead/{pre_lead}/convert"), &json!({"data": {}})).await;
    assert_eq!(reply.status, 409);
    assert!(reply.body["detail"].as_str().unwrap().contains("discarded"));
    let lead = app.create_lead().await;
    app.post(&format!("/incoming/lead/{lead}/discard"), &json!({"data": {}})).await;
    assert_eq!(app.post(&format!("/incoming/lead/{lead}/convert"), &json!({"data": {}})).await.status, 409);
    assert_eq!(app.scalar_i64("select count(*) from customers").await, 0);
}

async fn a_status_update_reopens_a_discarded_lead(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let lead = app.create_lead().await;
    app.post(&format!("/incoming/lead/{lead}/discard"), &json!({"data": {}})).await;
    let reply =
        app.post(&format!("/incoming/lead/{lead}/status/update"), &json!({"data": {"lead_status": "contacted"}})).await;
    assert_eq!(reply.body["data"]["old_status"], "lost");
    let flag =
        app.scalar_i64(&format!("select case when is_discarded then 1 else 0 end from leads where id = {lead}")).await;
    assert_eq!(flag, 0);
    assert_eq!(app.post(&format!("/incoming/lead/{lead}/convert"), &json!({"data": {}})).await.status, 200);
}

async fn lead_conversion_generates_a_code_marks_won_and_links_both_ways(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let lead = app.create_lead().await;
    let reply =
        app.post(&format!("/incoming/lead/{lead}/convert"), &json!({"data": {"payment_terms": "Net 30"}})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let customer = reply.body["data"]["customer_id"].as_i64().unwrap();
    let code = reply.body["data"]["customer_code"].as_str().unwrap().to_string();
    assert_eq!(code, format!("CUST-{customer:06}"));
    assert_eq!(app.scalar_i64(&format!("select customer_id from leads where id = {lead}")).await, customer);
    assert_eq!(app.scalar_i64(&format!("select lead_id from customers where id = {customer}")).await, lead);
    assert_eq!(
        app.scalar_text(&format!("select lead_status from leads where id = {lead}")).await.as_deref(),
        Some("won")
    );
    let won = app.scalar_i64(&format!("select count(*) from status_history where entity_id = {lead} and entity_type = 'lead' and new_status = 'won'")).await;
    assert_eq!(won, 1);
    assert_eq!(
        app.scalar_text(&format!("select email from customers where id = {customer}")).await.as_deref(),
        Some("robert@example.com")
    );
    // A hand-chosen code that collides with the next generated one does not block it.
    let next = format!("CUST-{:06}", customer + 1);
    let taken = app.create_lead().await;
    assert_eq!(
        app.post(&format!("/incoming/lead/{taken}/convert"), &json!({"data": {"customer_code": next}})).await.status,
        200
    );
    let other = app.create_lead().await;
    let reply = app.post(&format!("/incoming/lead/{other}/convert"), &json!({"data": {}})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_ne!(reply.body["data"]["customer_code"], json!(next));
}

async fn a_duplicate_customer_code_is_409_and_leaves_the_lead_unconverted(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    app.create_customer("CUST-XYZ-001").await;
    let lead = app.create_lead().await;
    let reply =
        app.post(&format!("/incoming/lead/{lead}/convert"), &json!({"data": {"customer_code": "CUST-XYZ-001"}})).await;
    assert_eq!(reply.status, 409);
    assert_eq!(reply.body["detail"], "customer_code CUST-XYZ-001 is already in use");
    assert_eq!(
        app.scalar_text(&format!("select lead_status from leads where id = {lead}")).await.as_deref(),
        Some("new")
    );
    assert_eq!(app.scalar_i64("select count(*) from customers").await, 1);
    let logged = app
        .scalar_i64("select count(*) from webhook_logs where response_status = 409 and event = 'lead_convert'")
        .await;
    assert_eq!(logged, 1, "the failure's log row survives the rollback");
}

async fn an_unknown_source_is_stored_as_other_with_the_raw_value(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let body = json!({"event": "new_lead", "source": "crm", "data": {"company_name": "Acme", "source": "Trade Show"}});
    let reply = app.post("/incoming/lead/create", &body).await;
    let id = reply.body["data"]["lead_id"].as_i64().unwrap();
    assert_eq!(app.scalar_text(&format!("select source from leads where id = {id}")).await.as_deref(), Some("other"));
    assert_eq!(
        app.scalar_text(&format!("select source_details from leads where id = {id}")).await.as_deref(),
        Some("Trade Show")
    );
    let body = json!({"data": {"company_name": "Acme", "source": "WhatsApp"}});
    let id = app.post("/incoming/lead/create", &body).await.body["data"]["lead_id"].as_i64().unwrap();
    assert_eq!(
        app.scalar_text(&format!("select source from leads where id = {id}")).await.as_deref(),
        Some("whatsapp")
    );
}

async fn a_qualified_profile_is_created_once_then_patched(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let lead = app.create_lead().await;
    let path = format!("/incoming/lead/{lead}/qualified-profile/update");
    let first = app.post(&path, &json!({"data": {"company": "XYZ", "budget": 1500.5}})).await;
    let second = app.post(&path, &json!({"data": {"mode": "remote"}})).await;
    assert_eq!(first.body["data"]["profile_id"], second.body["data"]["profile_id"]);
    let profile = second.body["data"]["profile_id"].as_i64().unwrap();
    assert_eq!(
        app.scalar_text(&format!("select company from qualified_profiles where id = {profile}")).await.as_deref(),
        Some("XYZ")
    );
    assert_eq!(
        app.scalar_i64(&format!("select budget_cents from qualified_profiles where id = {profile}")).await,
        150_050
    );
}

on_both_engines!(
    an_update_changes_only_the_keys_sent_and_null_clears,
    every_status_change_writes_a_history_row,
    discarding_twice_is_harmless,
    pre_lead_conversion_copies_contacts_and_memos_and_links_both_ways,
    a_discarded_record_cannot_be_converted,
    a_status_update_reopens_a_discarded_lead,
    lead_conversion_generates_a_code_marks_won_and_links_both_ways,
    a_duplicate_customer_code_is_409_and_leaves_the_lead_unconverted,
    an_unknown_source_is_stored_as_other_with_the_raw_value,
    a_qualified_profile_is_created_once_then_patched,
);
