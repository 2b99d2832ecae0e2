//! Outgoing events from incoming changes: written with the change (none for a rolled-back change,
//! an idempotent replay or a change that changed nothing), filtered by type, signed, and delivered
//! in order per record while other records go ahead.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{example_request, Engine, TestApp};
use crate::on_both_engines;
use crate::outgoing::{admin, app_with, subscribe};
use crate::receiver::{Receiver, Reply};

async fn changes_emit_signed_events_once_and_only_when_applied(engine: Engine) {
    let Some(app) = app_with(engine, &[0]).await else { return };
    let receiver = Receiver::start().await;
    let (_, secret) = subscribe(&app, json!({"url": receiver.url})).await;
    let (_, _) = subscribe(
        &app,
        json!({"url": receiver.url.replace("/hooks", "/leads-only"), "events": ["lead.status_changed"]}),
    )
    .await;
    let lead = app.create_lead().await;
    let replay = app
        .post_raw(
            "/incoming/lead/create",
            example_request("new_lead").to_string().as_bytes(),
            &[("idempotency-key", "k-1")],
        )
        .await;
    assert_eq!(replay.status, 200);
    let again = app
        .post_raw(
            "/incoming/lead/create",
            example_request("new_lead").to_string().as_bytes(),
            &[("idempotency-key", "k-1")],
        )
        .await;
    assert_eq!(again.headers["idempotent-replayed"], "true");
    let missing = app.post("/incoming/lead/999999/update", &json!({"data": {"notes": "x"}})).await;
    assert_eq!(missing.status, 404);
    app.post(&format!("/incoming/lead/{lead}/discard"), &json!({"data": {"reason": "dup"}})).await;
    app.post(&format!("/incoming/lead/{lead}/discard"), &json!({"data": {"reason": "dup"}})).await;
    app.post(&format!("/incoming/lead/{lead}/status/update"), &json!({"data": {"lead_status": "contacted"}})).await;

    // Two creates, one discard (the second changed nothing), one status change; the filtered
    // subscription gets the status change only.
    let got = receiver.wait_for(5, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got = if receiver.count() > got.len() { receiver.all() } else { got };
    let mut types: Vec<String> = got.iter().map(|r| r.json()["type"].as_str().unwrap().to_string()).collect();
    types.sort();
    assert_eq!(
        types,
        ["lead.created", "lead.created", "lead.discarded", "lead.status_changed", "lead.status_changed"],
        "{types:?}"
    );
    let created =
        got.iter().find(|r| r.json()["type"] == "lead.created" && r.json()["data"]["lead"]["id"] == lead).unwrap();
    assert!(created.verified_by(&secret));
    let body = created.json();
    assert_eq!(body["data"]["lead"]["first_name"], example_request("new_lead")["data"]["first_name"]);
    assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));
    // The record as the read API shows it, `raw_payload` the `data` sent, key for key and in the
    // sender's order (the second lead is not changed afterwards).
    let second = replay.body["data"]["lead_id"].as_i64().unwrap();
    let event = got.iter().find(|r| r.json()["data"]["lead"]["id"] == second).unwrap();
    let detail = app.get(&format!("/api/v1/leads/{second}")).await;
    assert_eq!(detail.status, 200, "{}", detail.text);
    let shown = event.json()["data"]["lead"].as_object().unwrap().clone();
    let parts = ["contacts", "memos", "activities", "qualified_profile", "status_history", "possible_duplicates"];
    assert_eq!(shown.len() + parts.len(), detail.body.as_object().unwrap().len(), "{shown:?}");
    for (key, value) in &shown {
        assert_eq!(&detail.body[key], value, "{key}");
    }
    let sent = example_request("new_lead")["data"].to_string();
    let text = String::from_utf8(event.body.to_vec()).unwrap();
    assert!(text.contains(&format!(r#""raw_payload":{sent},"created_at""#)), "{text}");
    let status = got.iter().find(|r| r.json()["type"] == "lead.status_changed").unwrap().json();
    assert_eq!(
        (status["data"]["new_status"].as_str(), status["data"]["lead"]["id"].as_i64()),
        (Some("contacted"), Some(lead))
    );
    let logs = app.get(&format!("/api/v1/webhooks/logs?direction=outgoing&entity_type=lead&entity_id={lead}")).await;
    assert_eq!(logs.body["total"], 4, "{}", logs.text);
    let deliveries =
        admin(&app, "GET", &format!("/deliveries?entity_type=lead&entity_id={lead}&event=lead.created"), None).await;
    assert_eq!(deliveries.body["items"].as_array().unwrap().len(), 1, "{}", deliveries.text);
}

async fn deliveries_about_one_record_keep_their_order_under_retries(engine: Engine) {
    let Some(app) = app_with(engine, &[0, 300, 300]).await else { return };
    let a = app.create_lead().await;
    let b = app.create_lead().await;
    // The first delivery about lead `a` fails twice; everything else succeeds at once.
    let first_a = std::sync::Arc::new(std::sync::Mutex::new(0));
    let tries = first_a.clone();
    let receiver = Receiver::with_plan(move |r, _| {
        let body = r.json();
        if body["data"]["lead"]["id"] == a && body["data"]["new_status"] == "contacted" {
            let mut n = tries.lock().unwrap();
            *n += 1;
            if *n <= 2 {
                return Reply::Status(500);
            }
        }
        Reply::Status(200)
    })
    .await;
    subscribe(&app, json!({"url": receiver.url, "events": ["lead.status_changed"]})).await;
    for (lead, status) in [(a, "contacted"), (b, "contacted"), (a, "qualified"), (b, "qualified"), (a, "negotiation")] {
        let reply =
            app.post(&format!("/incoming/lead/{lead}/status/update"), &json!({"data": {"lead_status": status}})).await;
        assert_eq!(reply.status, 200);
    }
    let got = receiver.wait_for(7, Duration::from_secs(15)).await;
    let order = |lead: i64| -> Vec<String> {
        got.iter()
            .map(|r| r.json())
            .filter(|j| j["data"]["lead"]["id"] == lead)
            .map(|j| j["data"]["new_status"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(order(a), ["contacted", "contacted", "contacted", "qualified", "negotiation"]);
    assert_eq!(order(b), ["contacted", "qualified"]);
    let b_done = got
        .iter()
        .position(|r| r.json()["data"]["lead"]["id"] == b && r.json()["data"]["new_status"] == "qualified")
        .unwrap();
    let a_second = got
        .iter()
        .position(|r| r.json()["data"]["new_status"] == "qualified" && r.json()["data"]["lead"]["id"] == a)
        .unwrap();
    assert!(b_done < a_second, "lead b did not wait for lead a's retries");
}

/// A trigger that refuses inserts into `table` when `condition` holds (both engines' dialects).
async fn refuse_inserts(app: &TestApp, table: &str, condition: &str) {
    let sql = match app.engine {
        Engine::Sqlite => format!(
            "create trigger refuse_{table} before insert on {table} when {condition} \
             begin select raise(abort, 'the storage refused the write'); end"
        ),
        Engine::Postgres => format!(
            "create function refuse_{table}() returns trigger language plpgsql as $$ begin \
             if {condition} then raise exception 'the storage refused the write'; end if; return new; end $$; \
             create trigger refuse_{table} before insert on {table} for each row execute function refuse_{table}()"
        ),
    };
    app.execute(&sql).await;
}

async fn stop_refusing(app: &TestApp, table: &str) {
    app.execute(&format!(
        "drop trigger refuse_{table}{}",
        if app.engine == Engine::Postgres { format!(" on {table}") } else { String::new() }
    ))
    .await;
}

async fn counts(app: &TestApp) -> [i64; 3] {
    [
        app.scalar_i64("select count(*) from leads").await,
        app.scalar_i64("select count(*) from outbox_events").await,
        app.scalar_i64("select count(*) from webhook_deliveries").await,
    ]
}

async fn a_change_whose_transaction_rolls_back_leaves_no_outgoing_event(engine: Engine) {
    let Some(app) = app_with(engine, &[0]).await else { return };
    let receiver = Receiver::start().await;
    subscribe(&app, json!({"url": receiver.url})).await;

    // The lead and its outgoing event are written, then the delivery's insert fails: the job's
    // transaction rolls back, and the failure is logged in a row of its own.
    refuse_inserts(&app, "webhook_deliveries", "new.event_type = 'lead.created'").await;
    let failed = app.post("/incoming/lead/create", &example_request("new_lead")).await;
    assert_eq!(
        (failed.status, failed.body["detail"].as_str()),
        (500, Some("Internal server error")),
        "{}",
        failed.text
    );
    assert_eq!(counts(&app).await, [0, 0, 0]);
    let logged = app.get("/api/v1/webhooks/logs?direction=incoming&is_successful=false").await;
    assert_eq!(
        (logged.body["total"].as_i64(), logged.body["items"][0]["response_status"].as_i64()),
        (Some(1), Some(500))
    );
    stop_refusing(&app, "webhook_deliveries").await;

    // Everything of the change is written, its success log row last, and that insert fails.
    refuse_inserts(&app, "webhook_logs", "new.direction = 'incoming' and new.response_status = 200").await;
    let failed = app.post("/incoming/lead/create", &example_request("new_lead")).await;
    assert_eq!(failed.status, 500, "{}", failed.text);
    assert_eq!(counts(&app).await, [0, 0, 0]);
    stop_refusing(&app, "webhook_logs").await;

    // The same change, committed, emits its event once.
    let lead = app.create_lead().await;
    let got = receiver.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1);
    assert_eq!(
        (got[0].json()["type"].as_str(), got[0].json()["data"]["lead"]["id"].as_i64()),
        (Some("lead.created"), Some(lead))
    );
    assert_eq!(counts(&app).await, [1, 1, 1]);
}

/// A created record travels from its insert to the event (no read-back): it must still be the
/// record as the read API shows it, down to the links a new record has none of yet.
async fn a_created_pre_lead_is_sent_as_the_read_api_shows_it(engine: Engine) {
    let Some(app) = app_with(engine, &[0]).await else { return };
    let receiver = Receiver::start().await;
    subscribe(&app, json!({"url": receiver.url, "events": ["pre_lead.created"]})).await;
    let pre_lead = app.create_pre_lead().await;
    let got = receiver.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1);
    let event = got[0].json();
    assert_eq!(event["type"], "pre_lead.created");
    let shown = event["data"]["pre_lead"].as_object().unwrap().clone();
    let detail = app.get(&format!("/api/v1/pre-leads/{pre_lead}")).await;
    assert_eq!(detail.status, 200, "{}", detail.text);
    let parts = ["contacts", "memos", "status_history", "possible_duplicates"];
    assert_eq!(shown.len() + parts.len(), detail.body.as_object().unwrap().len(), "{shown:?}");
    for (key, value) in &shown {
        assert_eq!(&detail.body[key], value, "{key}");
    }
    assert_eq!(
        (shown["id"].as_i64(), &shown["lead_id"], &shown["customer_id"]),
        (Some(pre_lead), &json!(null), &json!(null))
    );
    assert_eq!(shown["email"], example_request("new_inquiry")["data"]["email"]);
    assert_eq!(shown["raw_payload"], example_request("new_inquiry")["data"]);
}

on_both_engines!(
    changes_emit_signed_events_once_and_only_when_applied,
    a_created_pre_lead_is_sent_as_the_read_api_shows_it,
    deliveries_about_one_record_keep_their_order_under_retries,
    a_change_whose_transaction_rolls_back_leaves_no_outgoing_event,
);
