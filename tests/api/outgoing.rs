//! Outgoing webhooks against a real receiver: subscriptions, signatures, rotation, retries,
//! dead → retry → delivered, recover, 410, deletion, and the log rows of every attempt.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crm_webhooks::outgoing::DeliveryConfig;
use serde_json::{json, Value};

use crate::helpers::{example_request, spawn_app_with, Engine, Reply as Answer, TestApp};
use crate::on_both_engines;
use crate::receiver::{refused_url, Receiver, Reply};

/// Fast retries, a short timeout, loopback receivers allowed.
pub fn fast_delivery(schedule: &[u64]) -> DeliveryConfig {
    DeliveryConfig {
        retry_schedule: schedule.iter().map(|ms| Duration::from_millis(*ms)).collect(),
        timeout: Duration::from_secs(1),
        concurrency: 8,
        allow_private: true,
    }
}

pub async fn app_with(engine: Engine, schedule: &[u64]) -> Option<TestApp> {
    let delivery = fast_delivery(schedule);
    spawn_app_with(engine, move |config| config.delivery = delivery).await
}

pub async fn admin(app: &TestApp, method: &str, path: &str, body: Option<Value>) -> Answer {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = app.client.request(method, app.webhook_url(path));
    if let Some(body) = body {
        request = request.header("content-type", "application/json").body(body.to_string());
    }
    app.send(request).await
}

/// Creates a subscription; returns its id and secret.
pub async fn subscribe(app: &TestApp, body: Value) -> (i64, String) {
    let reply = admin(app, "POST", "/subscriptions", Some(body)).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    (reply.body["id"].as_i64().unwrap(), reply.body["secret"].as_str().unwrap().to_string())
}

/// Polls a delivery until `done` holds (at most `within`).
pub async fn wait_delivery(app: &TestApp, id: i64, within: Duration, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let reply = admin(app, "GET", &format!("/deliveries/{id}"), None).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        if done(&reply.body) || Instant::now() > deadline {
            return reply.body;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn ping(app: &TestApp, subscription: i64) -> Value {
    let reply = admin(app, "POST", &format!("/subscriptions/{subscription}/test"), None).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body
}

async fn a_ping_is_signed_logged_and_verifiable(engine: Engine) {
    let Some(app) = app_with(engine, &[0]).await else { return };
    let receiver = Receiver::start().await;
    let (id, secret) = subscribe(&app, json!({"url": receiver.url, "description": "ERP"})).await;
    assert!(secret.starts_with("whsec_"));
    let delivery = ping(&app, id).await;
    assert_eq!(
        (delivery["status"].as_str(), delivery["attempts"].as_i64()),
        (Some("delivered"), Some(1)),
        "{delivery}"
    );
    assert_eq!(delivery["event"], "ping");
    assert_eq!(delivery["payload"]["type"], "ping");
    assert_eq!(delivery["attempt_history"][0]["status_code"], 200);

    let got = receiver.all();
    assert_eq!(got.len(), 1);
    let sent = &got[0];
    assert!(sent.verified_by(&secret), "signature: {}", sent.header("webhook-signature"));
    assert_eq!(sent.id(), delivery["event_id"].as_str().unwrap());
    assert!(sent.id().starts_with("msg_"));
    assert_eq!(sent.header("content-type"), "application/json");
    assert!(sent.header("user-agent").starts_with("crm-webhooks/"));
    let age = chrono::Utc::now().timestamp() - sent.header("webhook-timestamp").parse::<i64>().unwrap();
    assert!((0..10).contains(&age), "{age}");
    assert_eq!(sent.json()["data"]["subscription_id"], id);

    let logs = app.get("/api/v1/webhooks/logs?direction=outgoing").await;
    assert_eq!(logs.body["total"], 1, "{}", logs.text);
    let row = &logs.body["items"][0];
    assert_eq!((row["event"].as_str(), row["method"].as_str()), (Some("ping"), Some("POST")));
    assert_eq!(row["path"], receiver.url);
    assert_eq!(row["response_status"], 200);
    assert_eq!(row["is_successful"], true);
    assert_eq!(row["request_headers"]["webhook-signature"], "[redacted]");
    assert_eq!(row["request_headers"]["webhook-id"], sent.id());
    assert_eq!(row["request_body"], std::str::from_utf8(&sent.body).unwrap());
    assert_eq!(delivery["attempt_history"][0]["log_id"], row["id"]);
    assert!(!logs.text.contains(&secret[6..]), "the secret never reaches the log");

    let listed = admin(&app, "GET", "/subscriptions", None).await;
    assert_eq!(listed.body["items"][0]["description"], "ERP");
    assert!(listed.body["items"][0].get("secret").is_none(), "{}", listed.text);
    assert_eq!(listed.body["next_cursor"], Value::Null);
    let metrics = app.get("/metrics").await.text;
    assert!(metrics.contains("crm_outgoing_attempts_total{outcome=\"delivered\"} 1"), "{metrics}");
    assert!(metrics.contains("crm_outgoing_deliveries_total{status=\"delivered\"} 1"), "{metrics}");
}

async fn a_failing_receiver_is_retried_with_the_same_id_until_it_answers(engine: Engine) {
    let Some(app) = app_with(engine, &[0, 100, 100, 100]).await else { return };
    let receiver = Receiver::with_plan(|_, n| if n < 2 { Reply::Status(500) } else { Reply::Status(204) }).await;
    let (id, _) = subscribe(&app, json!({"url": receiver.url})).await;
    let first = ping(&app, id).await;
    assert_eq!(first["status"], "pending", "{first}");
    assert_eq!((first["last_status_code"].as_i64(), first["last_error"].as_str()), (Some(500), Some("HTTP 500")));
    assert!(first["next_attempt_at"].is_string());
    let done =
        wait_delivery(&app, first["id"].as_i64().unwrap(), Duration::from_secs(10), |d| d["status"] == "delivered")
            .await;
    assert_eq!(done["attempts"], 3, "{done}");
    let errors: Vec<Value> = done["attempt_history"].as_array().unwrap().iter().map(|a| a["error"].clone()).collect();
    assert_eq!(errors, vec![json!("HTTP 500"), json!("HTTP 500"), Value::Null]);
    assert!(done["delivered_at"].is_string());
    let ids: Vec<String> = receiver.all().iter().map(|r| r.id()).collect();
    assert!(ids.iter().all(|i| *i == ids[0]) && ids.len() == 3, "{ids:?}");
    let failed = app.get("/api/v1/webhooks/logs?direction=outgoing&is_successful=false").await;
    assert_eq!(failed.body["total"], 2);
    assert_eq!(failed.body["items"][0]["error_message"], "HTTP 500");
}

async fn timeouts_and_refused_connections_cost_one_attempt_each(engine: Engine) {
    let Some(app) = app_with(engine, &[0, 60_000]).await else { return };
    let hanging = Receiver::with_plan(|_, _| Reply::Hang).await;
    let (slow, _) = subscribe(&app, json!({"url": hanging.url})).await;
    let started = Instant::now();
    let delivery = ping(&app, slow).await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(delivery["last_error"], "timeout after 1 s", "{delivery}");
    assert_eq!(delivery["last_status_code"], Value::Null);
    assert_eq!(delivery["status"], "pending");

    let (closed, _) = subscribe(&app, json!({"url": refused_url().await})).await;
    let delivery = ping(&app, closed).await;
    assert_eq!(delivery["last_error"], "connection refused", "{delivery}");
    let logs = app.get("/api/v1/webhooks/logs?direction=outgoing").await;
    assert_eq!(logs.body["items"][0]["error_message"], "connection refused");
    assert_eq!(logs.body["items"][0]["response_status"], 0);
}

/// A receiver slower than the test route waits: 202 with the delivery not attempted yet and where
/// to read it; the attempt goes on and is recorded when it ends.
async fn a_ping_to_a_hanging_receiver_is_answered_before_its_attempt_ends(engine: Engine) {
    let delivery = DeliveryConfig { timeout: Duration::from_secs(60), ..fast_delivery(&[0, 60_000]) };
    let Some(app) = spawn_app_with(engine, move |config| config.delivery = delivery).await else { return };
    let hanging = Receiver::with_plan(|_, _| Reply::Hang).await;
    let (id, _) = subscribe(&app, json!({"url": hanging.url})).await;
    let reply = admin(&app, "POST", &format!("/subscriptions/{id}/test"), None).await;
    assert_eq!(reply.status, 202, "{}", reply.text);
    let delivery = reply.body["id"].as_i64().unwrap();
    assert_eq!(
        (reply.body["status"].as_str(), reply.body["attempts"].as_i64(), reply.body["event"].as_str()),
        (Some("pending"), Some(0), Some("ping")),
        "{}",
        reply.text
    );
    assert_eq!(reply.body["attempt_history"], json!([]));
    assert_eq!(reply.body["payload"]["type"], "ping");
    let location = reply.headers["location"].to_str().unwrap().to_string();
    assert_eq!(location, format!("/api/v1/webhooks/deliveries/{delivery}"));
    let sent = hanging.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(sent.len(), 1, "the attempt was made");
    assert_eq!(sent[0].id(), reply.body["event_id"].as_str().unwrap());
    let read = app.send(app.client.get(app.url(&location))).await;
    assert_eq!((read.status, read.body["id"].as_i64()), (200, Some(delivery)), "{}", read.text);
}

async fn a_dead_delivery_can_be_retried_and_recovered(engine: Engine) {
    let Some(app) = app_with(engine, &[0, 50]).await else { return };
    let healthy = Arc::new(AtomicBool::new(false));
    let flag = healthy.clone();
    let receiver =
        Receiver::with_plan(move |_, _| Reply::Status(if flag.load(Ordering::SeqCst) { 200 } else { 502 })).await;
    let (id, _) = subscribe(&app, json!({"url": receiver.url})).await;
    let since = chrono::Utc::now().to_rfc3339();
    let mut dead = Vec::new();
    for _ in 0..3 {
        let delivery = ping(&app, id).await["id"].as_i64().unwrap();
        let body = wait_delivery(&app, delivery, Duration::from_secs(10), |d| d["status"] == "dead").await;
        assert_eq!((body["status"].as_str(), body["attempts"].as_i64()), (Some("dead"), Some(2)), "{body}");
        assert_eq!(body["next_attempt_at"], Value::Null);
        dead.push(delivery);
    }
    let listed = admin(&app, "GET", &format!("/deliveries?status=dead&subscription_id={id}&limit=2"), None).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 2, "{}", listed.text);
    let cursor = listed.body["next_cursor"].as_str().unwrap().to_string();
    let rest = admin(&app, "GET", &format!("/deliveries?status=dead&limit=2&cursor={cursor}"), None).await;
    assert_eq!(rest.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(rest.body["next_cursor"], Value::Null);

    healthy.store(true, Ordering::SeqCst);
    let retried = admin(&app, "POST", &format!("/deliveries/{}/retry", dead[0]), None).await;
    assert_eq!((retried.status, retried.body["status"].as_str()), (200, Some("pending")), "{}", retried.text);
    let body = wait_delivery(&app, dead[0], Duration::from_secs(10), |d| d["status"] == "delivered").await;
    assert_eq!(body["attempts"], 3, "{body}");

    let recovered = admin(&app, "POST", &format!("/subscriptions/{id}/recover"), Some(json!({"since": since}))).await;
    assert_eq!(recovered.status, 200, "{}", recovered.text);
    assert_eq!(recovered.body, json!({"requeued": 2}));
    for delivery in &dead[1..] {
        let body = wait_delivery(&app, *delivery, Duration::from_secs(10), |d| d["status"] == "delivered").await;
        assert_eq!(body["status"], "delivered", "{body}");
    }
    let none = admin(&app, "POST", &format!("/subscriptions/{id}/recover"), Some(json!({"since": since}))).await;
    assert_eq!(none.body, json!({"requeued": 0}));
    let missing = admin(&app, "POST", "/deliveries/999999/retry", None).await;
    assert_eq!((missing.status, missing.body["detail"].as_str()), (404, Some("Delivery not found")));
}

async fn gone_disables_the_subscription(engine: Engine) {
    let Some(app) = app_with(engine, &[0, 50, 50]).await else { return };
    let receiver = Receiver::with_plan(|_, _| Reply::Status(410)).await;
    let (id, _) = subscribe(&app, json!({"url": receiver.url})).await;
    let delivery = ping(&app, id).await;
    assert_eq!((delivery["status"].as_str(), delivery["last_status_code"].as_i64()), (Some("dead"), Some(410)));
    let subscription = admin(&app, "GET", &format!("/subscriptions/{id}"), None).await.body;
    assert_eq!(subscription["disabled"], true, "{subscription}");
    assert_eq!(subscription["disabled_reason"], "the receiver answered 410 Gone");
    let enabled = admin(&app, "PATCH", &format!("/subscriptions/{id}"), Some(json!({"disabled": false}))).await;
    assert_eq!(
        (enabled.body["disabled"].as_bool(), enabled.body["disabled_reason"].clone()),
        (Some(false), Value::Null)
    );
}

/// Moves the start of a subscription's failure streak `days` back (five days cannot be waited for).
async fn failing_for(app: &TestApp, subscription: i64, days: i64) {
    let since = chrono::Utc::now() - chrono::Duration::days(days);
    let since = since.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    app.execute(&format!("update webhook_subscriptions set failing_since = '{since}' where id = {subscription}")).await;
}

async fn read(app: &TestApp, subscription: i64) -> Value {
    admin(app, "GET", &format!("/subscriptions/{subscription}"), None).await.body
}

async fn five_days_of_nothing_but_failures_disable_the_subscription(engine: Engine) {
    let Some(app) = app_with(engine, &[0, 3_600_000]).await else { return };
    let healthy = Arc::new(AtomicBool::new(false));
    let flag = healthy.clone();
    let receiver =
        Receiver::with_plan(move |_, _| Reply::Status(if flag.load(Ordering::SeqCst) { 200 } else { 500 })).await;
    let (id, _) = subscribe(&app, json!({"url": receiver.url})).await;

    // The first failure starts the streak; four days of failures leave the subscription enabled.
    ping(&app, id).await;
    let streak = read(&app, id).await;
    assert!(streak["failing_since"].is_string(), "{streak}");
    failing_for(&app, id, 4).await;
    let delivery = ping(&app, id).await;
    assert_eq!(delivery["last_error"], "HTTP 500", "{delivery}");
    assert_eq!(read(&app, id).await["disabled"], false);

    // Failing for more than five days: the next failure disables it, its delivery stays pending.
    failing_for(&app, id, 5).await;
    let delivery = ping(&app, id).await;
    assert_eq!((delivery["status"].as_str(), delivery["attempts"].as_i64()), (Some("pending"), Some(1)));
    let disabled = read(&app, id).await;
    assert_eq!(disabled["disabled"], true, "{disabled}");
    assert_eq!(disabled["disabled_reason"], "every delivery failed for 5 days");
    let queued = app.post("/incoming/lead/create", &example_request("new_lead")).await;
    assert_eq!(queued.status, 200);
    let none = admin(&app, "GET", &format!("/deliveries?subscription_id={id}&event=lead.created"), None).await;
    assert_eq!(none.body["items"], json!([]), "a disabled subscription gets no new deliveries");

    // Enabled again, the streak starts over; a success ends an old streak without disabling.
    let enabled = admin(&app, "PATCH", &format!("/subscriptions/{id}"), Some(json!({"disabled": false}))).await;
    assert_eq!((enabled.body["disabled"].as_bool(), enabled.body["failing_since"].clone()), (Some(false), Value::Null));
    failing_for(&app, id, 6).await;
    healthy.store(true, Ordering::SeqCst);
    let delivery = ping(&app, id).await;
    assert_eq!(delivery["status"], "delivered", "{delivery}");
    let recovered = read(&app, id).await;
    assert_eq!((recovered["disabled"].as_bool(), recovered["failing_since"].clone()), (Some(false), Value::Null));
}

async fn a_rotated_secret_signs_beside_the_old_one(engine: Engine) {
    let Some(app) = app_with(engine, &[0]).await else { return };
    let receiver = Receiver::start().await;
    let (id, old) = subscribe(&app, json!({"url": receiver.url})).await;
    let rotated = admin(&app, "POST", &format!("/subscriptions/{id}/rotate-secret"), None).await;
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    let new = rotated.body["secret"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    assert_eq!(rotated.body["previous_secret"], old.as_str());
    let read = admin(&app, "GET", &format!("/subscriptions/{id}/secret"), None).await;
    assert_eq!(
        (read.body["secret"].as_str(), read.body["previous_secret"].as_str()),
        (Some(new.as_str()), Some(old.as_str()))
    );
    ping(&app, id).await;
    let sent = &receiver.all()[0];
    assert!(sent.verified_by(&new) && sent.verified_by(&old), "{}", sent.header("webhook-signature"));
    assert_eq!(sent.header("webhook-signature").split(' ').count(), 2);

    let chosen = format!("whsec_{}", "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=");
    let again =
        admin(&app, "POST", &format!("/subscriptions/{id}/rotate-secret"), Some(json!({"secret": chosen}))).await;
    assert_eq!(
        (again.body["secret"].as_str(), again.body["previous_secret"].as_str()),
        (Some(chosen.as_str()), Some(new.as_str()))
    );
    let bad =
        admin(&app, "POST", &format!("/subscriptions/{id}/rotate-secret"), Some(json!({"secret": "short"}))).await;
    assert_eq!((bad.status, bad.body["field"].as_str()), (400, Some("secret")));
}

async fn deleting_a_subscription_cancels_its_pending_deliveries(engine: Engine) {
    let Some(app) = app_with(engine, &[0, 3_600_000]).await else { return };
    let receiver = Receiver::with_plan(|_, _| Reply::Status(500)).await;
    let (id, _) = subscribe(&app, json!({"url": receiver.url})).await;
    let delivery = ping(&app, id).await["id"].as_i64().unwrap();
    let deleted = admin(&app, "DELETE", &format!("/subscriptions/{id}"), None).await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    let body = wait_delivery(&app, delivery, Duration::ZERO, |_| true).await;
    assert_eq!(body["status"], "cancelled", "{body}");
    let retry = admin(&app, "POST", &format!("/deliveries/{delivery}/retry"), None).await;
    assert_eq!(retry.status, 409, "{}", retry.text);
    for (method, path) in [("GET", format!("/subscriptions/{id}")), ("DELETE", format!("/subscriptions/{id}"))] {
        let gone = admin(&app, method, &path, None).await;
        assert_eq!((gone.status, gone.body["detail"].as_str()), (404, Some("Subscription not found")));
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(receiver.count(), 1);
}

async fn retry_after_on_503_is_honoured(engine: Engine) {
    let Some(app) = app_with(engine, &[0, 10]).await else { return };
    let receiver =
        Receiver::with_plan(|_, n| if n == 0 { Reply::RetryAfter(503, 2) } else { Reply::Status(200) }).await;
    let (id, _) = subscribe(&app, json!({"url": receiver.url})).await;
    let delivery = ping(&app, id).await;
    let next = chrono::DateTime::parse_from_rfc3339(delivery["next_attempt_at"].as_str().unwrap()).unwrap();
    let wait = next.timestamp_millis() - chrono::Utc::now().timestamp_millis();
    assert!(wait > 1_000, "waits for Retry-After: {wait} ms");
    let got = receiver.wait_for(2, Duration::from_secs(6)).await;
    assert_eq!(got.len(), 2);
    assert!(got[1].at - got[0].at >= Duration::from_millis(1900));
}

on_both_engines!(
    a_ping_is_signed_logged_and_verifiable,
    a_failing_receiver_is_retried_with_the_same_id_until_it_answers,
    timeouts_and_refused_connections_cost_one_attempt_each,
    a_ping_to_a_hanging_receiver_is_answered_before_its_attempt_ends,
    a_dead_delivery_can_be_retried_and_recovered,
    gone_disables_the_subscription,
    five_days_of_nothing_but_failures_disable_the_subscription,
    a_rotated_secret_signs_beside_the_old_one,
    deleting_a_subscription_cancels_its_pending_deliveries,
    retry_after_on_503_is_honoured,
);
