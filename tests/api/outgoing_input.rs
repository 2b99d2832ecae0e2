//! Outgoing webhooks: what the subscription routes refuse (400 naming the field, 404, 401), the
//! SSRF guard at delivery time, and receivers that misbehave (10 MB answers, garbage, a closed
//! connection), each costing one failed attempt with a clear error.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::{spawn_app_with, Engine};
use crate::on_both_engines;
use crate::outgoing::{admin, app_with, fast_delivery, subscribe, wait_delivery};
use crate::receiver::{raw_receiver, Receiver};

async fn bad_subscriptions_are_refused_naming_the_field(engine: Engine) {
    let Some(app) = spawn_app_with(engine, |_| {}).await else { return };
    let cases = [
        (json!({"events": ["lead.created"]}), "url"),
        (json!({"url": "http//missing-colon"}), "url"),
        (json!({"url": "ftp://example.com/drop"}), "url"),
        (json!({"url": "http://127.0.0.1:9000/"}), "url"),
        (json!({"url": "http://169.254.169.254/latest/meta-data"}), "url"),
        (json!({"url": "http://[::ffff:127.0.0.1]/"}), "url"),
        (json!({"url": "http://2130706433/"}), "url"),
        (json!({"url": "https://example.com/", "events": []}), "events"),
        (json!({"url": "https://example.com/", "events": ["lead.created", "lead.exploded"]}), "events"),
        (json!({"url": "https://example.com/", "secret": "not-a-whsec"}), "secret"),
        (json!({"url": "https://example.com/", "secret": "whsec_dG9vc2hvcnQ="}), "secret"),
        (json!({"url": "https://example.com/", "disabled": "no"}), "disabled"),
    ];
    for (body, field) in cases {
        let reply = admin(&app, "POST", "/subscriptions", Some(body.clone())).await;
        assert_eq!(reply.status, 400, "{body}: {}", reply.text);
        assert_eq!(reply.body["field"], field, "{body}: {}", reply.text);
    }
    let unknown =
        admin(&app, "POST", "/subscriptions", Some(json!({"url": "https://example.com/", "events": ["x"]}))).await;
    assert_eq!(unknown.body["allowed"].as_array().unwrap().len(), 18);
    let not_json = app
        .send(app.client.post(app.webhook_url("/subscriptions")).header("content-type", "application/json").body("{"))
        .await;
    assert_eq!(not_json.status, 400);
    let created = admin(
        &app,
        "POST",
        "/subscriptions",
        Some(json!({"url": "https://example.com/in", "events": ["lead.created"]})),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.body["events"], json!(["lead.created"]));
    let id = created.body["id"].as_i64().unwrap();
    let patch = admin(&app, "PATCH", &format!("/subscriptions/{id}"), Some(json!({"url": "gopher://x"}))).await;
    assert_eq!((patch.status, patch.body["field"].as_str()), (400, Some("url")));
    let all =
        admin(&app, "PATCH", &format!("/subscriptions/{id}"), Some(json!({"events": null, "description": "all"})))
            .await;
    assert_eq!((all.body["events"].clone(), all.body["description"].as_str()), (Value::Null, Some("all")));
    for (method, path, body) in [
        ("GET", "/subscriptions/77", None),
        ("PATCH", "/subscriptions/77", Some(json!({"disabled": true}))),
        ("GET", "/subscriptions/77/secret", None),
        ("POST", "/subscriptions/77/rotate-secret", None),
        ("POST", "/subscriptions/77/test", None),
        ("POST", "/subscriptions/77/recover", Some(json!({"since": "2024-01-01T00:00:00Z"}))),
        ("GET", "/deliveries/77", None),
    ] {
        let reply = admin(&app, method, path, body).await;
        assert_eq!(reply.status, 404, "{method} {path}: {}", reply.text);
    }
    for (path, field) in [
        ("/subscriptions/x", "subscription_id"),
        ("/deliveries?status=lost", "status"),
        ("/deliveries?limit=500", "limit"),
    ] {
        let reply = admin(&app, "GET", path, None).await;
        assert_eq!((reply.status, reply.body["field"].as_str()), (400, Some(field)), "{path}: {}", reply.text);
    }
    let since = admin(&app, "POST", &format!("/subscriptions/{id}/recover"), Some(json!({"since": "last week"}))).await;
    assert_eq!((since.status, since.body["field"].as_str()), (400, Some("since")));
}

async fn the_subscription_routes_need_the_admin_token(engine: Engine) {
    let Some(app) = spawn_app_with(engine, |c| c.admin_token = Some(crm_webhooks::config::Secret::new("t0ken"))).await
    else {
        return;
    };
    for (method, path) in
        [("GET", "/subscriptions"), ("POST", "/subscriptions"), ("GET", "/deliveries"), ("POST", "/deliveries/1/retry")]
    {
        let reply = admin(&app, method, path, Some(json!({"url": "https://example.com/"}))).await;
        assert_eq!(reply.status, 401, "{method} {path}");
    }
    let listed = app.get("/api/v1/webhooks/subscriptions").await;
    assert_eq!(listed.status, 200, "{}", listed.text);
}

async fn names_that_resolve_to_private_addresses_are_not_delivered_to(engine: Engine) {
    let delivery = crm_webhooks::outgoing::DeliveryConfig { allow_private: false, ..fast_delivery(&[0]) };
    let Some(app) = spawn_app_with(engine, move |c| c.delivery = delivery).await else { return };
    let receiver = Receiver::start().await;
    let local = receiver.url.replace("127.0.0.1", "localhost");
    let (id, _) = subscribe(&app, json!({"url": local})).await;
    let reply = admin(&app, "POST", &format!("/subscriptions/{id}/test"), None).await;
    assert_eq!(reply.body["status"], "dead", "{}", reply.text);
    assert_eq!(reply.body["last_error"], "address not allowed: localhost resolves to no public address");
    assert_eq!(receiver.count(), 0);
}

async fn misbehaving_receivers_cost_one_attempt_with_a_clear_error(engine: Engine) {
    let Some(app) = app_with(engine, &[0, 3_600_000]).await else { return };
    let mut huge = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 10485760\r\n\r\n".to_vec();
    huge.extend(std::iter::repeat_n(b'x', 10 * 1024 * 1024));
    let cases = [
        (huge, Some(200), None),
        (b"this is not HTTP at all\r\n\r\n".to_vec(), None, Some("invalid HTTP response")),
        (Vec::new(), None, Some("connection closed before a response")),
    ];
    for (answer, status, error) in cases {
        let url = raw_receiver(answer).await;
        let (id, _) = subscribe(&app, json!({"url": url})).await;
        let reply = admin(&app, "POST", &format!("/subscriptions/{id}/test"), None).await;
        let delivery = wait_delivery(&app, reply.body["id"].as_i64().unwrap(), Duration::ZERO, |_| true).await;
        assert_eq!(delivery["attempts"], 1, "{delivery}");
        assert_eq!(delivery["last_status_code"].as_i64().map(|c| c as u16), status, "{delivery}");
        assert_eq!(delivery["last_error"].as_str(), error, "{delivery}");
    }
    let logs = app.get("/api/v1/webhooks/logs?direction=outgoing&is_successful=true").await;
    let body = logs.body["items"][0]["response_body"].as_str().unwrap();
    assert_eq!(body.len(), 64 * 1024, "the answer is cut at 64 KiB");
}

on_both_engines!(
    bad_subscriptions_are_refused_naming_the_field,
    the_subscription_routes_need_the_admin_token,
    names_that_resolve_to_private_addresses_are_not_delivered_to,
    misbehaving_receivers_cost_one_attempt_with_a_clear_error,
);
