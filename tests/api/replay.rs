//! `POST /api/v1/webhooks/logs/{id}/replay`: a request that came before its record is applied
//! once the record exists, its idempotency key is honoured, the new row links `replay_of`, and
//! the rows that must not run again are refused.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{spawn_app_with, Engine, Reply, TestApp};
use crate::on_both_engines;
use crate::outgoing::fast_delivery;
use crate::receiver::Receiver;

const TOKEN: &str = "replay-token";

async fn app(engine: Engine, tweak: impl FnOnce(&mut crm_webhooks::Config)) -> Option<TestApp> {
    spawn_app_with(engine, |config| {
        config.admin_token = Some(crm_webhooks::config::Secret::new(TOKEN));
        config.delivery = fast_delivery(&[0]);
        tweak(config);
    })
    .await
}

/// `POST /api/v1/webhooks{path}` with the admin token (when given).
async fn admin_post(app: &TestApp, path: &str, token: Option<&str>, body: Option<Value>) -> Reply {
    let mut request = app.client.post(app.webhook_url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.header("content-type", "application/json").body(body.to_string());
    }
    app.send(request).await
}

async fn replay(app: &TestApp, id: i64) -> Reply {
    admin_post(app, &format!("/logs/{id}/replay"), Some(TOKEN), None).await
}

fn header(reply: &Reply, name: &str) -> Option<String> {
    reply.headers.get(name).map(|v| v.to_str().unwrap().to_string())
}

/// The newest log row matching `query`.
async fn newest_log(app: &TestApp, query: &str) -> Value {
    let page = app.get(&format!("/api/v1/webhooks/logs?page_size=1&{query}")).await;
    assert_eq!(page.status, 200, "{}", page.text);
    page.body["items"][0].clone()
}

async fn an_update_before_its_create_is_applied_once_when_replayed(engine: Engine) {
    let Some(app) = app(engine, |_| {}).await else { return };
    let body = json!({"event": "lead_update", "data": {"lead_status": "contacted", "notes": "Called back"}});
    let early =
        app.post_raw("/incoming/lead/1/update", body.to_string().as_bytes(), &[("idempotency-key", "upd-1")]).await;
    assert_eq!((early.status, early.body.clone()), (404, json!({"detail": "Lead not found"})));
    let original = newest_log(&app, "event=lead_update").await;
    let original_id = original["id"].as_i64().unwrap();
    assert_eq!(app.create_lead().await, 1);

    let first = replay(&app, original_id).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(
        first.body,
        json!({"status": "success", "message": "Lead updated successfully", "data": {"lead_id": 1}})
    );
    assert_eq!(header(&first, "content-type").as_deref(), Some("application/json"));
    assert_eq!(header(&first, "idempotent-replayed"), None);
    let first_row_id: i64 = header(&first, "x-replay-log-id").expect("X-Replay-Log-Id").parse().unwrap();
    let row = app.get(&format!("/api/v1/webhooks/logs/{first_row_id}")).await.body;
    assert_eq!(row["replay_of"], original_id);
    assert_eq!(row["response_status"], 200);
    assert_eq!((row["entity_type"].clone(), row["entity_id"].clone()), (json!("lead"), json!(1)));
    assert_eq!(row["idempotency_key"], "upd-1");
    assert_eq!(
        (row["path"].clone(), row["request_body"].clone()),
        (original["path"].clone(), original["request_body"].clone())
    );
    assert_eq!(row["request_headers"]["idempotency-key"], "upd-1");
    assert!(row["request_headers"].get("x-webhook-signature").is_none(), "{row}");
    assert!(original["replay_of"].is_null());

    let lead = app.get("/api/v1/leads/1").await.body;
    assert_eq!((lead["lead_status"].clone(), lead["notes"].clone()), (json!("contacted"), json!("Called back")));

    // The same request again: its idempotency key holds, nothing is applied twice.
    let second = replay(&app, original_id).await;
    assert_eq!((second.status, second.body.clone()), (200, first.body.clone()));
    assert_eq!(header(&second, "idempotent-replayed").as_deref(), Some("true"));
    let second_row_id: i64 = header(&second, "x-replay-log-id").unwrap().parse().unwrap();
    assert!(second_row_id > first_row_id);
    assert_eq!(app.get(&format!("/api/v1/webhooks/logs/{second_row_id}")).await.body["replay_of"], original_id);
    // A replay's own row can be replayed too: the same request, the same stored answer.
    let third = replay(&app, first_row_id).await;
    assert_eq!(header(&third, "idempotent-replayed").as_deref(), Some("true"));

    let history = app.get("/api/v1/leads/1").await.body["status_history"].as_array().unwrap().len();
    assert_eq!(history, 2, "created, then contacted once");
    assert_eq!(app.scalar_i64("select count(*) from outbox_events where event_type = 'lead.updated'").await, 1);
    assert_eq!(app.get(&format!("/api/v1/webhooks/logs/{original_id}")).await.body["response_status"], 404);
}

async fn a_replay_answers_what_the_webhook_answers(engine: Engine) {
    let Some(app) = app(engine, |_| {}).await else { return };
    let malformed = app.post_raw("/incoming", b"{\"event\": ", &[]).await;
    assert_eq!(malformed.status, 400);
    let row = newest_log(&app, "is_successful=false").await;
    let again = replay(&app, row["id"].as_i64().unwrap()).await;
    assert_eq!((again.status, again.body.clone()), (400, malformed.body));
    let new_row: i64 = header(&again, "x-replay-log-id").unwrap().parse().unwrap();
    assert_eq!(app.get(&format!("/api/v1/webhooks/logs/{new_row}")).await.body["replay_of"], row["id"]);

    // A success without an idempotency key is applied again, as a new request would be.
    let created = app.post("/incoming/pre-lead/create", &json!({"data": {"first_name": "Ann"}})).await;
    assert_eq!(created.status, 200);
    let row = newest_log(&app, "event=new_inquiry").await;
    let again = replay(&app, row["id"].as_i64().unwrap()).await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_ne!(again.body["data"]["pre_lead_id"], created.body["data"]["pre_lead_id"]);
}

async fn rows_that_must_not_run_again_are_refused(engine: Engine) {
    let Some(app) = app(engine, |config| config.max_body_bytes = 512).await else { return };
    let refused = |reply: &Reply, needle: &str| {
        assert_eq!(reply.status, 409, "{}", reply.text);
        let detail = reply.body["detail"].as_str().unwrap();
        assert!(detail.contains(needle), "{detail}");
        assert!(header(reply, "x-replay-log-id").is_none());
    };
    let unsigned = app
        .send(
            app.client
                .post(app.webhook_url("/incoming/lead/create"))
                .header("content-type", "application/json")
                .body("{}"),
        )
        .await;
    assert_eq!(unsigned.status, 401);
    let row = newest_log(&app, "is_successful=false").await;
    refused(&replay(&app, row["id"].as_i64().unwrap()).await, "only a request that passed its signature check");

    let big = vec![b' '; 2048];
    assert_eq!(app.post_raw("/incoming/lead/create", &big, &[]).await.status, 413);
    let row = newest_log(&app, "is_successful=false").await;
    assert_eq!(row["response_status"], 413);
    refused(&replay(&app, row["id"].as_i64().unwrap()).await, "(413 Payload Too Large)");

    let receiver = Receiver::start().await;
    let subscribed = admin_post(&app, "/subscriptions", Some(TOKEN), Some(json!({"url": receiver.url}))).await;
    assert_eq!(subscribed.status, 201, "{}", subscribed.text);
    let id = subscribed.body["id"].as_i64().unwrap();
    assert_eq!(admin_post(&app, &format!("/subscriptions/{id}/test"), Some(TOKEN), None).await.status, 200);
    let deadline = Instant::now() + Duration::from_secs(10);
    let outgoing = loop {
        let row = newest_log(&app, "direction=outgoing").await;
        if row.is_object() || Instant::now() > deadline {
            break row;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    refused(&replay(&app, outgoing["id"].as_i64().expect("an outgoing row")).await, "retry its delivery instead");

    let missing = replay(&app, 999_999).await;
    assert_eq!((missing.status, missing.body), (404, json!({"detail": "Webhook log not found"})));
    let bad = replay(&app, 0).await;
    assert_eq!((bad.status, bad.body["field"].clone()), (400, json!("log_id")));
    let anonymous = admin_post(&app, "/logs/1/replay", None, None).await;
    assert_eq!((anonymous.status, anonymous.body), (401, json!({"detail": "Missing or invalid admin token"})));
    let wrong_method = app.get("/api/v1/webhooks/logs/1/replay").await;
    assert_eq!(wrong_method.status, 405);
}

/// Sends `request` as bytes on a connection of its own and reads whatever comes back until the
/// server closes it (the request asks it to).
async fn raw_exchange(app: &TestApp, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(app.address.trim_start_matches("http://")).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

/// The newest incoming row answered `status`, once it is there (a row is written when its
/// request is answered, which the client of a broken request may not wait for).
async fn newest_row_with_status(app: &TestApp, status: i64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let page = app.get("/api/v1/webhooks/logs?direction=incoming&is_successful=false&page_size=100").await;
        let found = page.body["items"].as_array().unwrap().iter().find(|row| row["response_status"] == status).cloned();
        if let Some(row) = found {
            return row;
        }
        assert!(Instant::now() < deadline, "no {status} row: {}", page.text);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn rows_without_their_whole_body_are_refused(engine: Engine) {
    let Some(app) = app(engine, |config| config.body_timeout = Duration::from_millis(500)).await else { return };
    let refused = |reply: &Reply, detail: String| {
        assert_eq!((reply.status, reply.body.clone()), (409, json!({ "detail": detail })), "{}", reply.text);
        assert!(header(reply, "x-replay-log-id").is_none());
    };
    // A body that does not arrive in time: the server answers 408 and logs the row without it.
    let slow = "POST /api/v1/webhooks/incoming/lead/create HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
                content-length: 100\r\nconnection: close\r\n\r\n{\"data\":";
    let answer = raw_exchange(&app, slow.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    let row = newest_row_with_status(&app, 408).await;
    assert_eq!((row["request_body"].clone(), row["event"].clone()), (Value::Null, Value::Null), "{row}");
    let id = row["id"].as_i64().unwrap();
    refused(
        &replay(&app, id).await,
        format!("Log row {id} does not hold the whole request body (408 Request Timeout), so it cannot be replayed"),
    );

    // A body that cannot be read (broken chunked encoding): a 400 row without a body.
    let broken = "POST /api/v1/webhooks/incoming/lead/create HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
                  transfer-encoding: chunked\r\nconnection: close\r\n\r\nzz\r\n{}\r\n0\r\n\r\n";
    raw_exchange(&app, broken.as_bytes()).await;
    let row = newest_row_with_status(&app, 400).await;
    assert_eq!(row["request_body"], Value::Null, "{row}");
    let id = row["id"].as_i64().unwrap();
    refused(
        &replay(&app, id).await,
        format!("Log row {id} does not hold the whole request body, so it cannot be replayed"),
    );

    // A row of a route this version no longer serves (written by an older one).
    let created = app.post("/incoming/lead/create", &json!({"data": {"company_name": "Old Route"}})).await;
    assert_eq!(created.status, 200, "{}", created.text);
    let original = newest_log(&app, "event=new_lead").await["id"].as_i64().unwrap();
    app.execute(&format!(
        "insert into webhook_logs (direction, event, method, path, request_headers, request_body, response_status, \
         is_successful, duration_ms, created_at, processed_at) select direction, event, method, \
         '/api/v1/webhooks/incoming/lead/retired-route', request_headers, request_body, response_status, is_successful, \
         duration_ms, created_at, processed_at from webhook_logs where id = {original}"
    ))
    .await;
    let retired = newest_log(&app, "event=new_lead").await;
    assert_eq!(retired["path"], "/api/v1/webhooks/incoming/lead/retired-route");
    let answer = replay(&app, retired["id"].as_i64().unwrap()).await;
    refused(&answer, "The logged path is not a webhook route any more, so it cannot be replayed".into());
    assert_eq!(app.scalar_i64("select count(*) from leads").await, 1, "nothing was applied");
}

async fn replay_needs_the_admin_token_while_signatures_are_checked(engine: Engine) {
    let Some(signed) = spawn_app_with(engine, |config| config.admin_token = None).await else { return };
    let lead_update = json!({"event": "lead_update", "data": {"lead_id": 1, "notes": "x"}});
    assert_eq!(signed.post("/incoming", &lead_update).await.status, 404);
    let forbidden = admin_post(&signed, "/logs/1/replay", None, None).await;
    assert_eq!(forbidden.status, 403, "{}", forbidden.text);
    assert_eq!(
        forbidden.body["detail"],
        "Replay needs CRM_ADMIN_TOKEN to be set while webhook signatures are checked (CRM_WEBHOOK_SECRET)"
    );

    // With no secret there is no signature to stand in for: replay is open like the other admin routes.
    let Some(open) = spawn_app_with(engine, |config| {
        config.admin_token = None;
        config.webhook_secrets.clear();
    })
    .await
    else {
        return;
    };
    assert_eq!(open.post("/incoming", &lead_update).await.status, 404);
    let row = newest_log(&open, "event=lead_update").await["id"].as_i64().unwrap();
    assert_eq!(open.create_lead().await, 1);
    let applied = admin_post(&open, &format!("/logs/{row}/replay"), None, None).await;
    assert_eq!(applied.status, 200, "{}", applied.text);
    assert_eq!(open.get("/api/v1/leads/1").await.body["notes"], "x");
}

on_both_engines!(
    an_update_before_its_create_is_applied_once_when_replayed,
    a_replay_answers_what_the_webhook_answers,
    rows_that_must_not_run_again_are_refused,
    rows_without_their_whole_body_are_refused,
    replay_needs_the_admin_token_while_signatures_are_checked,
);
