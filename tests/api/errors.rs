//! Bad input gets a clear `{"detail": …}` error, writes nothing but its log row, and every
//! response carries X-Request-Id.

use serde_json::json;

use crate::helpers::{spawn_app, spawn_app_with, Engine, Reply, TestApp};
use crate::on_both_engines;

/// Counts the business rows, so a test can check a failure wrote none.
async fn business_rows(app: &TestApp) -> i64 {
    let mut total = 0;
    for table in
        ["pre_leads", "leads", "contacts", "memos", "activities", "qualified_profiles", "customers", "status_history"]
    {
        total += app.scalar_i64(&format!("select count(*) from {table}")).await;
    }
    total
}

async fn failed_logs(app: &TestApp, status: u16) -> i64 {
    let sql = format!(
        "select count(*) from webhook_logs where response_status = {status} and is_successful = {}",
        false_literal(app)
    );
    app.scalar_i64(&sql).await
}

fn false_literal(app: &TestApp) -> &'static str {
    match app.engine {
        Engine::Sqlite => "0",
        Engine::Postgres => "false",
    }
}

fn assert_error(reply: &Reply, status: u16, detail_contains: &str) {
    assert_eq!(reply.status, status, "{}", reply.text);
    let detail = reply.body["detail"].as_str().unwrap_or_else(|| panic!("no detail in {}", reply.text));
    assert!(detail.contains(detail_contains), "{detail:?} should contain {detail_contains:?}");
    assert!(reply.headers.contains_key("x-request-id"));
}

async fn bad_input_is_a_400_that_names_the_problem_and_writes_only_a_log_row(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let lead = app.create_lead().await;
    let before = business_rows(&app).await;
    let cases: Vec<(String, Vec<u8>, &str)> = vec![
        ("/incoming/lead/create".into(), b"{\"event\": \"new_lead\", ".to_vec(), "Malformed JSON"),
        ("/incoming/lead/create".into(), b"".to_vec(), "empty"),
        ("/incoming/lead/create".into(), b"[1, 2]".to_vec(), "must be a JSON object"),
        ("/incoming/lead/create".into(), br#"{"event":"new_lead","data":"x"}"#.to_vec(), "data must be a JSON object"),
        ("/incoming/lead/create".into(), br#"{"event":"new_lead"}"#.to_vec(), "data is required"),
        (
            "/incoming/lead/create".into(),
            br#"{"event":"new_lead","data":{"company_name":"A","expected_value":"lots"}}"#.to_vec(),
            "expected_value must be an amount",
        ),
        (
            "/incoming/lead/create".into(),
            br#"{"event":"new_lead","data":{"company_name":"A","expected_value":1.005}}"#.to_vec(),
            "two decimal places",
        ),
        (
            "/incoming/lead/create".into(),
            br#"{"event":"new_lead","data":{"company_name":"A","email":"not-an-email"}}"#.to_vec(),
            "email must be an email address",
        ),
        (
            "/incoming/lead/create".into(),
            br#"{"event":"new_lead","data":{"last_name":"Only"}}"#.to_vec(),
            "first_name or company_name is required",
        ),
        (
            "/incoming/lead/create".into(),
            br#"{"event":"pre_lead_update","data":{"company_name":"A"}}"#.to_vec(),
            "does not match this endpoint",
        ),
        (
            "/incoming/lead/create".into(),
            br#"{"event":"new_lead","data":{"company_name":"A","priority":"urgent"}}"#.to_vec(),
            "priority must be one of: low, medium, high, critical",
        ),
        (
            "/incoming/lead/create".into(),
            br#"{"event":"new_lead","data":{"company_name":"A","assigned_to":"Bob"}}"#.to_vec(),
            "assigned_to",
        ),
        ("/incoming/lead/create".into(), br#"{"event":"new_lead","data":{"company_name":"A\u0000"}}"#.to_vec(), "NUL"),
        ("/incoming/lead/create".into(), br#"{"event":"new_lead","data":{"company_name":1e999}}"#.to_vec(), "JSON"),
        ("/incoming/lead/create".into(), b"\xff\xfe{}".to_vec(), "JSON"),
        (
            format!("/incoming/lead/{lead}/status/update"),
            br#"{"data":{"remarks":"x"}}"#.to_vec(),
            "lead_status is required",
        ),
        (
            format!("/incoming/lead/{lead}/status/update"),
            br#"{"data":{"lead_status":"working"}}"#.to_vec(),
            "lead_status must be one of",
        ),
        (
            format!("/incoming/lead/{lead}/status/update"),
            br#"{"data":{"lead_status":"won","status_date":"soon"}}"#.to_vec(),
            "status_date must be an RFC 3339",
        ),
        (
            format!("/incoming/lead/{lead}/activity/add"),
            br#"{"data":{"activity_type":"meeting","scheduled_at":"2024-13-45"}}"#.to_vec(),
            "scheduled_at",
        ),
        (
            format!("/incoming/lead/{lead}/activity/add"),
            br#"{"data":{"title":"x"}}"#.to_vec(),
            "activity_type is required",
        ),
        (
            format!("/incoming/lead/{lead}/memo/add"),
            br#"{"data":{"memo_type":"note","content":"x"}}"#.to_vec(),
            "memo_type must be one of",
        ),
        (format!("/incoming/lead/{lead}/memo/add"), br#"{"data":{}}"#.to_vec(), "content is required"),
        (format!("/incoming/lead/{lead}/contact/add"), br#"{"data":{"department":"IT"}}"#.to_vec(), "A contact needs"),
        ("/incoming/lead/abc/update".into(), br#"{"data":{}}"#.to_vec(), "lead_id must be a positive whole number"),
        ("/incoming/lead/0/update".into(), br#"{"data":{}}"#.to_vec(), "lead_id must be a positive whole number"),
        ("/incoming".into(), br#"{"data":{}}"#.to_vec(), "event is required"),
        ("/incoming".into(), br#"{"event":"lead_teleport","data":{}}"#.to_vec(), "Unknown event"),
        ("/incoming".into(), br#"{"event":"lead_update","data":{"city":"x"}}"#.to_vec(), "lead_id is required in data"),
        (
            "/incoming".into(),
            br#"{"event":"pre_lead_convert","data":{"pre_lead_id":"seven"}}"#.to_vec(),
            "pre_lead_id must be a positive whole number",
        ),
    ];
    let count = cases.len() as i64;
    for (path, body, detail) in &cases {
        let reply = app.post_raw(path, body, &[]).await;
        assert_error(&reply, 400, detail);
    }
    assert_eq!(business_rows(&app).await, before, "a 400 writes nothing");
    assert_eq!(failed_logs(&app, 400).await, count, "every 400 is logged");
}

async fn a_value_outside_its_set_names_the_field_and_the_allowed_values(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let reply =
        app.post("/incoming/pre-lead/create", &json!({"data": {"company_name": "A", "lead_status": "hot"}})).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body["field"], "lead_status");
    assert_eq!(
        reply.body["allowed"],
        json!(["new", "contacted", "working", "qualified", "on_hold", "closed_not_converted"]),
        "converted is set only by a conversion (design §10), so it is not offered"
    );
}

async fn unknown_records_are_404s(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    for (path, detail) in [
        ("/incoming/pre-lead/999/update", "Pre-lead not found"),
        ("/incoming/pre-lead/999/discard", "Pre-lead not found"),
        ("/incoming/pre-lead/999/contact/add", "Pre-lead not found"),
        ("/incoming/pre-lead/999/memo/add", "Pre-lead not found"),
        ("/incoming/pre-lead/999/convert", "Pre-lead not found"),
        ("/incoming/lead/999/update", "Lead not found"),
        ("/incoming/lead/999/discard", "Lead not found"),
        ("/incoming/lead/999/contact/add", "Lead not found"),
        ("/incoming/lead/999/memo/add", "Lead not found"),
        ("/incoming/lead/999/convert", "Lead not found"),
        ("/incoming/lead/999/qualified-profile/update", "Lead not found"),
    ] {
        let body = json!({"data": {"first_name": "A", "content": "x"}});
        let reply = app.post(path, &body).await;
        assert_error(&reply, 404, detail);
        assert_eq!(reply.body, json!({"detail": detail}));
    }
    let status = app.post("/incoming/lead/999/status/update", &json!({"data": {"lead_status": "won"}})).await;
    assert_error(&status, 404, "Lead not found");
    let activity = app.post("/incoming/lead/999/activity/add", &json!({"data": {"activity_type": "call"}})).await;
    assert_error(&activity, 404, "Lead not found");
    let generic = app
        .post(
            "/incoming",
            &json!({"event": "pre_lead_status_update", "data": {"pre_lead_id": 999, "lead_status": "working"}}),
        )
        .await;
    assert_error(&generic, 404, "Pre-lead not found");
    assert_eq!(business_rows(&app).await, 0);
    assert_eq!(failed_logs(&app, 404).await, 14);
    let logged =
        app.scalar_i64("select count(*) from webhook_logs where entity_type = 'lead' and entity_id = 999").await;
    assert_eq!(logged, 8, "a 404's log row names the record asked for");
}

async fn signatures_are_required_when_a_secret_is_set(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let body = json!({"event": "new_lead", "data": {"company_name": "A"}}).to_string();
    let url = app.webhook_url("/incoming/lead/create");
    let unsigned = app.send(app.client.post(&url).header("content-type", "application/json").body(body.clone())).await;
    assert_error(&unsigned, 401, "Missing signature");
    let forged = app
        .send(
            app.client
                .post(&url)
                .header("content-type", "application/json")
                .header("x-webhook-signature", "00".repeat(32))
                .body(body.clone()),
        )
        .await;
    assert_error(&forged, 401, "Invalid signature");
    let stale =
        crm_webhooks::webhook::signature::sign_headers(crate::helpers::SECRET, "msg_1", 1_000_000, body.as_bytes());
    let mut request = app.client.post(&url).header("content-type", "application/json");
    for (name, value) in &stale[1..] {
        request = request.header(*name, value);
    }
    assert_error(&app.send(request.body(body.clone())).await, 401, "Signature timestamp outside tolerance");
    let now = chrono::Utc::now().timestamp();
    let fresh = crm_webhooks::webhook::signature::sign_headers(crate::helpers::SECRET, "msg_2", now, body.as_bytes());
    let mut request = app.client.post(&url).header("content-type", "application/json");
    for (name, value) in &fresh[1..] {
        request = request.header(*name, value);
    }
    assert_eq!(app.send(request.body(body)).await.status, 200, "Standard Webhooks headers verify");
    assert_eq!(failed_logs(&app, 401).await, 3);
    let stored = app
        .scalar_text(
            "select request_headers from webhook_logs where response_status = 401 order by id limit 1 offset 1",
        )
        .await
        .unwrap();
    assert!(stored.contains("[redacted]") && !stored.contains(&"00".repeat(32)), "{stored}");
}

async fn without_a_secret_unsigned_calls_are_accepted(engine: Engine) {
    let Some(app) = spawn_app_with(engine, |c| c.webhook_secrets.clear()).await else { return };
    let reply = app
        .send(
            app.client
                .post(app.webhook_url("/incoming/lead/create"))
                .header("content-type", "application/json")
                .body(r#"{"data":{"company_name":"A"}}"#),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
}

async fn a_body_over_the_limit_is_413(engine: Engine) {
    let Some(app) = spawn_app_with(engine, |c| c.max_body_bytes = 1024).await else { return };
    let big = json!({"event": "new_lead", "data": {"company_name": "A", "notes": "x".repeat(2000)}});
    let reply = app.post("/incoming/lead/create", &big).await;
    assert_error(&reply, 413, "Payload too large");
    // Without Content-Length (chunked), the limit holds while reading.
    let stream = futures_util::stream::iter(vec![Ok::<_, std::io::Error>(big.to_string().into_bytes())]);
    let request = app
        .client
        .post(app.webhook_url("/incoming/lead/create"))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(stream));
    assert_error(&app.send(request).await, 413, "Payload too large");
    assert_eq!(business_rows(&app).await, 0);
    assert_eq!(failed_logs(&app, 413).await, 2);
}

async fn a_body_that_is_not_json_is_415(engine: Engine) {
    let Some(app) = spawn_app_with(engine, |c| c.webhook_secrets.clear()).await else { return };
    let url = app.webhook_url("/incoming/lead/create");
    let body = r#"{"data":{"company_name":"A"}}"#;
    assert_error(
        &app.send(app.client.post(&url).header("content-type", "text/plain").body(body)).await,
        415,
        "application/json",
    );
    assert_error(&app.send(app.client.post(&url).body(body)).await, 415, "application/json");
    assert_eq!(failed_logs(&app, 415).await, 2);
}

async fn the_rate_limit_answers_429_with_its_headers(engine: Engine) {
    let Some(app) = spawn_app_with(engine, |c| c.rate_limit_per_minute = 3).await else { return };
    let body = json!({"data": {"company_name": "A"}});
    for remaining in ["2", "1", "0"] {
        let reply = app.post("/incoming/lead/create", &body).await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.headers["x-ratelimit-limit"], "3");
        assert_eq!(reply.headers["x-ratelimit-remaining"], remaining);
    }
    let limited = app.post("/incoming/lead/create", &body).await;
    assert_error(&limited, 429, "Rate limit exceeded");
    // The bucket refills one request every 20 s from the first request on, so both waits are
    // shorter by the time the four requests took: at most 20 s until the next request, at most
    // a minute until the bucket is full.
    let seconds = |name: &str| limited.headers[name].to_str().unwrap().parse::<u64>().unwrap();
    let (retry_after, reset) = (seconds("retry-after"), seconds("x-ratelimit-reset"));
    assert!((1..=20).contains(&retry_after), "retry-after {retry_after}");
    assert!(reset > retry_after && reset <= 60, "x-ratelimit-reset {reset}, retry-after {retry_after}");
    assert_eq!(limited.headers["x-ratelimit-remaining"], "0");
    assert_eq!(app.get("/healthz").await.status, 200, "operations routes are not limited");
}

async fn unknown_routes_and_wrong_methods_answer_in_our_format(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let missing = app.get("/api/v1/webhooks/nothing-here").await;
    assert_error(&missing, 404, "Not found");
    let wrong_method = app.get("/api/v1/webhooks/incoming/lead/create").await;
    assert_error(&wrong_method, 405, "Method not allowed");
}

async fn an_internal_error_is_an_opaque_500_and_is_logged(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let lead = app.create_lead().await;
    // Break the storage under the running service.
    {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&app.database_url).await.unwrap();
        sqlx::query("drop table activities").execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
    }
    let reply =
        app.post(&format!("/incoming/lead/{lead}/activity/add"), &json!({"data": {"activity_type": "call"}})).await;
    assert_eq!(reply.status, 500);
    assert_eq!(reply.body, json!({"detail": "Internal server error"}));
    assert!(reply.headers.contains_key("x-request-id"));
    assert_eq!(failed_logs(&app, 500).await, 1, "the 500 is logged");
    let message = app.scalar_text("select error_message from webhook_logs where response_status = 500").await.unwrap();
    assert!(!message.contains("activities"), "no internal text in the log row either: {message}");
}

on_both_engines!(
    bad_input_is_a_400_that_names_the_problem_and_writes_only_a_log_row,
    a_value_outside_its_set_names_the_field_and_the_allowed_values,
    unknown_records_are_404s,
    signatures_are_required_when_a_secret_is_set,
    without_a_secret_unsigned_calls_are_accepted,
    a_body_over_the_limit_is_413,
    a_body_that_is_not_json_is_415,
    the_rate_limit_answers_429_with_its_headers,
    unknown_routes_and_wrong_methods_answer_in_our_format,
    an_internal_error_is_an_opaque_500_and_is_logged,
);
