//! Slow and hostile clients: each gets a 4xx in our format (or a closed connection) and the
//! server stays healthy.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{spawn_app, spawn_app_with, Engine, TestApp};
use crate::on_both_engines;

async fn raw_exchange(app: &TestApp, request: &[u8]) -> String {
    raw_exchange_at(app.address.trim_start_matches("http://"), request).await
}

async fn raw_exchange_at(address: &str, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

async fn a_body_that_does_not_arrive_in_time_is_408(engine: Engine) {
    let Some(app) = spawn_app_with(engine, |c| {
        c.body_timeout = Duration::from_millis(500);
        c.webhook_secrets.clear();
    })
    .await
    else {
        return;
    };
    let head = "POST /api/v1/webhooks/incoming/lead/create HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\nconnection: close\r\n\r\n{\"data\":";
    let answer = raw_exchange(&app, head.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains(r#"{"detail":"Request body not received in time"}"#), "{answer}");
    assert_eq!(app.scalar_i64("select count(*) from webhook_logs where response_status = 408").await, 1);
    assert_eq!(app.get("/healthz").await.status, 200);
}

async fn too_many_or_too_large_headers_are_refused(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let many: String = (0..100).map(|i| format!("x-h{i}: v\r\n")).collect();
    let request = format!("GET /healthz HTTP/1.1\r\nhost: x\r\n{many}connection: close\r\n\r\n");
    let answer = raw_exchange(&app, request.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    let huge =
        format!("GET /healthz HTTP/1.1\r\nhost: x\r\nx-big: {}\r\nconnection: close\r\n\r\n", "a".repeat(100_000));
    let answer = raw_exchange(&app, huge.as_bytes()).await;
    assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 431"), "{answer}");
    assert_eq!(app.get("/healthz").await.status, 200);
}

async fn large_hostile_json_is_a_400_and_the_server_stays_up(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let deep = format!("{{\"data\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(app.post_raw("/incoming/lead/create", deep.as_bytes(), &[]).await.status, 400);
    let keys: Vec<String> = (0..10_000).map(|i| format!("\"k{i}\":{i}")).collect();
    let wide = format!("{{\"event\":\"new_lead\",\"data\":{{\"company_name\":\"Wide\",{}}}}}", keys.join(","));
    let reply = app.post_raw("/incoming/lead/create", wide.as_bytes(), &[]).await;
    assert_eq!(reply.status, 200, "unknown keys are kept, even many: {}", reply.text);
    assert_eq!(app.get("/healthz").await.status, 200);
}

async fn connections_beyond_the_cap_wait_for_a_free_one(engine: Engine) {
    let Some(app) = spawn_app_with(engine, |c| c.max_connections = 1).await else { return };
    let address = app.address.trim_start_matches("http://").to_string();
    let holder = TcpStream::connect(&address).await.unwrap();
    // Give the server time to accept the first connection, which now holds the only slot.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let waiting = tokio::spawn(async move {
        raw_exchange_at(&address, b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!waiting.is_finished(), "the second connection is not served while the first holds the slot");
    drop(holder);
    let answer = tokio::time::timeout(Duration::from_secs(15), waiting).await.unwrap().unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

on_both_engines!(
    connections_beyond_the_cap_wait_for_a_free_one,
    a_body_that_does_not_arrive_in_time_is_408,
    too_many_or_too_large_headers_are_refused,
    large_hostile_json_is_a_400_and_the_server_stays_up,
);
