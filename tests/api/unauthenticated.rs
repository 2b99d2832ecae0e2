//! What a caller without the secret or the admin token can cost: a 401 row keeps 4 KiB of the
//! body with its length and SHA-256, failures past the per-IP budget are 429 and not logged, and
//! the webhook rate limit leaves the admin routes alone.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::helpers::{spawn_app, spawn_app_with, Engine, TestApp};
use crate::on_both_engines;

async fn unsigned(app: &TestApp, body: Vec<u8>) -> crate::helpers::Reply {
    let url = app.webhook_url("/incoming/lead/create");
    app.send(app.client.post(url).header("content-type", "application/json").body(body)).await
}

async fn logged_rows(app: &TestApp) -> i64 {
    app.scalar_i64("select count(*) from webhook_logs").await
}

async fn a_401_row_keeps_the_first_4_kib_with_the_length_and_sha256(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let body: Vec<u8> = (0..10_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    assert_eq!(unsigned(&app, body.clone()).await.status, 401);
    app.create_lead().await;
    let page = app.get("/api/v1/webhooks/logs").await;
    let items = page.body["items"].as_array().unwrap();
    let (ok, refused) = (&items[0], &items[1]);
    assert_eq!(refused["response_status"], 401);
    assert_eq!(refused["request_body"].as_str().unwrap(), std::str::from_utf8(&body[..4096]).unwrap());
    assert_eq!(refused["request_body_bytes"], 10_000);
    assert_eq!(refused["request_body_sha256"], hex::encode(Sha256::digest(&body)));
    // A row whose body is kept whole has neither.
    assert_eq!(ok["response_status"], 200);
    assert!(ok["request_body_bytes"].is_null() && ok["request_body_sha256"].is_null(), "{ok}");
    let short = unsigned(&app, b"{}".to_vec()).await;
    assert_eq!(short.status, 401);
    let sha = app.scalar_text("select request_body_sha256 from webhook_logs order by id desc limit 1").await;
    assert_eq!(sha.as_deref(), Some("44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"));
    assert_eq!(app.scalar_i64("select request_body_bytes from webhook_logs order by id desc limit 1").await, 2);
}

async fn past_the_budget_failed_signatures_get_429_and_no_log_row(engine: Engine) {
    let Some(app) = spawn_app_with(engine, |c| c.signature_failures_per_minute = 3).await else { return };
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let reply = unsigned(&app, b"{}".to_vec()).await;
        if reply.status == 429 {
            assert_eq!(reply.body, json!({"detail": "Rate limit exceeded"}));
            let retry: u64 = reply.headers["retry-after"].to_str().unwrap().parse().unwrap();
            assert!((1..=60).contains(&retry), "{retry}");
        }
        statuses.push(reply.status);
    }
    assert_eq!(statuses, [401, 401, 401, 429, 429]);
    assert_eq!(logged_rows(&app).await, 3, "the refused failures were not logged");
    // A signed request from the same address still goes through.
    app.create_lead().await;
}

async fn a_budget_of_zero_refuses_no_failure(engine: Engine) {
    let Some(app) = spawn_app_with(engine, |c| c.signature_failures_per_minute = 0).await else { return };
    for _ in 0..30 {
        assert_eq!(unsigned(&app, b"{}".to_vec()).await.status, 401);
    }
    assert_eq!(logged_rows(&app).await, 30);
}

async fn failed_admin_tokens_count_against_the_same_budget(engine: Engine) {
    let Some(app) = spawn_app_with(engine, |c| {
        c.signature_failures_per_minute = 2;
        c.admin_token = Some(crm_webhooks::config::Secret::new("adm1n"));
    })
    .await
    else {
        return;
    };
    let logs = app.url("/api/v1/webhooks/logs");
    for _ in 0..2 {
        let wrong = app.send(app.client.get(&logs).bearer_auth("wrong")).await;
        assert_eq!(wrong.status, 401);
    }
    let refused = app.send(app.client.get(&logs).bearer_auth("wrong")).await;
    assert_eq!(refused.status, 429);
    assert!(refused.headers.contains_key("retry-after"));
    assert_eq!(unsigned(&app, b"{}".to_vec()).await.status, 429, "the budget is shared with signatures");
    assert_eq!(app.get("/api/v1/webhooks/logs").await.status, 200, "the right token still works");
    assert_eq!(logged_rows(&app).await, 0);
}

async fn the_webhook_rate_limit_leaves_the_admin_routes_alone(engine: Engine) {
    let Some(app) = spawn_app_with(engine, |c| {
        c.rate_limit_per_minute = 2;
        c.admin_token = Some(crm_webhooks::config::Secret::new("adm1n"));
    })
    .await
    else {
        return;
    };
    app.create_lead().await;
    app.create_lead().await;
    let limited = app.post("/incoming/lead/create", &crate::helpers::example_request("new_lead")).await;
    assert_eq!(limited.status, 429);
    assert!(limited.headers.contains_key("x-ratelimit-limit"));
    let generic = app.post("/incoming", &json!({"event": "new_lead", "data": {"company_name": "A"}})).await;
    assert_eq!(generic.status, 429, "the generic route shares the limit");
    for _ in 0..6 {
        let page = app.get("/api/v1/webhooks/logs").await;
        assert_eq!(page.status, 200);
        assert!(!page.headers.contains_key("x-ratelimit-limit"));
    }
    assert_eq!(app.get("/healthz").await.status, 200);
}

/// Size of the app's database on disk (SQLite: the file, its WAL and shared memory).
async fn database_bytes(app: &TestApp) -> u64 {
    match app.engine {
        Engine::Sqlite => {
            let path = app.database_url.trim_start_matches("sqlite://").to_string();
            ["", "-wal", "-shm"]
                .iter()
                .map(|suffix| std::fs::metadata(format!("{path}{suffix}")).map(|m| m.len()).unwrap_or(0))
                .sum()
        }
        Engine::Postgres => app.scalar_i64("select pg_database_size(current_database())").await as u64,
    }
}

async fn a_thousand_unsigned_megabyte_bodies_grow_the_database_by_less_than_5_mib(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    app.create_lead().await;
    let before = database_bytes(&app).await;
    let body = bytes::Bytes::from(vec![b'x'; 1024 * 1024]);
    let url = app.webhook_url("/incoming/lead/create");
    let flood = futures_util::stream::iter(0..1000).map(|_| {
        let request = app.client.post(&url).header("content-type", "application/json").body(body.clone());
        async move { request.send().await.map(|r| r.status().as_u16()) }
    });
    let started = std::time::Instant::now();
    let statuses: Vec<_> = tokio::time::timeout(Duration::from_secs(240), flood.buffer_unordered(8).collect())
        .await
        .expect("the flood finished in time");
    let refused = statuses.iter().filter(|s| matches!(s, Ok(401 | 429))).count();
    assert_eq!(refused, 1000, "every request refused: {:?}", statuses.iter().find(|s| !matches!(s, Ok(401 | 429))));
    let grown = database_bytes(&app).await.saturating_sub(before);
    assert!(grown < 5 * 1024 * 1024, "the database grew by {grown} bytes");
    // One success, the default budget of 20 failures, and what refilled meanwhile (one per 3 s).
    let refilled = started.elapsed().as_secs() as i64 / 3 + 1;
    let rows = logged_rows(&app).await;
    assert!((21..=21 + refilled).contains(&rows), "{rows} rows in {:?}", started.elapsed());
}

on_both_engines!(
    a_401_row_keeps_the_first_4_kib_with_the_length_and_sha256,
    past_the_budget_failed_signatures_get_429_and_no_log_row,
    a_budget_of_zero_refuses_no_failure,
    failed_admin_tokens_count_against_the_same_budget,
    the_webhook_rate_limit_leaves_the_admin_routes_alone,
    a_thousand_unsigned_megabyte_bodies_grow_the_database_by_less_than_5_mib,
);
