//! The delivery queue's depth: the `/metrics` gauge and the traffic stats count pending
//! deliveries only, and the count reads the partial index of pending deliveries rather than every
//! delivery the table keeps.

use std::time::{Duration, Instant};

use crm_webhooks::outgoing::lease::PENDING_COUNT;
use serde_json::json;
use sqlx::{Connection, Row};

use crate::helpers::{Engine, TestApp};
use crate::on_both_engines;
use crate::outgoing::{app_with, subscribe};

/// The gauge's value, once it reads `want` (it is refreshed every second; at most 10 s).
async fn gauge_reaches(app: &TestApp, want: i64) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let metrics = app.get("/metrics").await.text;
        let line = metrics.lines().find(|l| l.starts_with("crm_outgoing_queue_depth ")).unwrap_or("").to_string();
        if line == format!("crm_outgoing_queue_depth {want}") || Instant::now() > deadline {
            return line;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The plan of the pending count, as the engine explains it (statistics fresh on PostgreSQL).
async fn plan(app: &TestApp, engine: Engine) -> String {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&app.database_url).await.expect("connect");
    let (sql, column) = match engine {
        Engine::Sqlite => (format!("explain query plan {PENDING_COUNT}"), "detail"),
        Engine::Postgres => {
            sqlx::raw_sql("vacuum analyze webhook_deliveries").execute(&mut conn).await.expect("analyze");
            (format!("explain {PENDING_COUNT}"), "QUERY PLAN")
        }
    };
    let rows = sqlx::query(&sql).fetch_all(&mut conn).await.expect("explain");
    let _ = conn.close().await;
    rows.iter().map(|row| row.try_get::<String, _>(column).expect("plan line")).collect::<Vec<_>>().join("\n")
}

async fn the_queue_depth_counts_pending_deliveries_through_their_index(engine: Engine) {
    // The first attempt is an hour away: the deliveries stay pending.
    let Some(app) = app_with(engine, &[3_600_000]).await else { return };
    let (subscription, _) = subscribe(&app, json!({"url": "http://127.0.0.1:9/hook"})).await;
    for _ in 0..3 {
        app.create_lead().await;
    }
    // Many finished deliveries beside them, which the count must not read.
    app.execute(&format!(
        "insert into webhook_deliveries (subscription_id, event_id, event_type, status, attempts, next_attempt_at, \
         created_at) select {subscription}, (select min(id) from outbox_events), 'lead.created', 'delivered', 1, \
         '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z' \
         from (with recursive n(i) as (select 1 union all select i + 1 from n where i < 5000) select i from n) n"
    ))
    .await;
    assert_eq!(app.scalar_i64("select count(*) from webhook_deliveries").await, 5003);

    assert_eq!(gauge_reaches(&app, 3).await, "crm_outgoing_queue_depth 3");
    let stats = app.get("/api/v1/stats/traffic").await;
    assert_eq!(stats.status, 200, "{}", stats.text);
    assert_eq!(stats.body["queue_depth"], 3, "{}", stats.text);

    let plan = plan(&app, engine).await;
    assert!(plan.contains("webhook_deliveries_due"), "the count reads the pending index: {plan}");

    // Cancelled with their subscription, they leave the queue.
    let deleted = crate::outgoing::admin(&app, "DELETE", &format!("/subscriptions/{subscription}"), None).await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    assert_eq!(gauge_reaches(&app, 0).await, "crm_outgoing_queue_depth 0");
}

on_both_engines!(the_queue_depth_counts_pending_deliveries_through_their_index);
