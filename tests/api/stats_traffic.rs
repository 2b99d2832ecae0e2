//! `GET /api/v1/stats/traffic`: real webhooks counted by bucket, status, event and source with
//! their approximate percentiles; hour and day buckets; incoming and outgoing; deliveries and the
//! queue; log rows committed late with lower ids; two instances folding one database; every bad
//! parameter; the admin token; the rollup task in `/metrics`.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_with, Engine, TestApp};
use crate::on_both_engines;
use crate::outgoing::{app_with, subscribe, wait_delivery};
use crate::receiver::{Receiver, Reply};

/// The 1-2-5 bounds in ms, as the API documents them.
const BOUNDS: [f64; 12] = [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0];

fn bucket_of(ms: f64) -> i64 {
    BOUNDS.iter().find(|bound| ms <= **bound).copied().unwrap_or(10_000.0) as i64
}

/// The bucket of the request of rank ⌈q × n⌉ among `durations`.
fn percentile(durations: &[f64], q: f64) -> i64 {
    let mut buckets: Vec<i64> = durations.iter().map(|d| bucket_of(*d)).collect();
    buckets.sort();
    let rank = ((q * buckets.len() as f64).ceil() as usize).max(1);
    buckets[rank - 1]
}

pub async fn traffic(app: &TestApp, query: &str) -> Value {
    let reply = app.get(&format!("/api/v1/stats/traffic?{query}")).await;
    assert_eq!(reply.status, 200, "{query}: {}", reply.text);
    reply.body
}

/// Every log row's duration (the newest 100).
async fn durations(app: &TestApp, query: &str) -> Vec<f64> {
    let reply = app.get(&format!("/api/v1/webhooks/logs?page_size=100&{query}")).await;
    reply.body["items"].as_array().unwrap().iter().map(|row| row["duration_ms"].as_f64().unwrap()).collect()
}

fn day(offset: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::days(offset)).format("%Y-%m-%d").to_string()
}

async fn sends(app: &TestApp) {
    for name in ["A", "B", "C"] {
        let body = json!({"event": "new_lead", "source": "website", "data": {"first_name": name}});
        assert_eq!(app.post("/incoming/lead/create", &body).await.status, 200);
    }
    let body = json!({"event": "lead_status_update", "source": "erp", "data": {"lead_status": "won"}});
    assert_eq!(app.post("/incoming/lead/999/status/update", &body).await.status, 404);
    for _ in 0..2 {
        assert_eq!(app.post_raw("/incoming/lead/create", b"{not json", &[]).await.status, 400);
    }
    let unsigned = app.client.post(app.webhook_url("/incoming/lead/create")).header("content-type", "application/json");
    assert_eq!(app.send(unsigned.body("{}")).await.status, 401);
}

async fn requests_are_counted_by_status_event_source_and_duration(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let empty = traffic(&app, "").await;
    assert_eq!(empty["buckets"].as_array().unwrap().len(), 60, "an hour by minute by default");
    assert_eq!(empty["totals"]["requests"], 0);
    assert_eq!((empty["totals"]["p50_ms"].clone(), empty["by_event"].clone()), (Value::Null, json!([])));
    sends(&app).await;

    let stats = traffic(&app, "").await;
    let totals = &stats["totals"];
    assert_eq!(totals["requests"], 7, "{stats}");
    assert_eq!(totals["failed"], 4, "{stats}");
    assert_eq!(totals["by_status"], json!({"200": 3, "400": 2, "401": 1, "404": 1}), "{stats}");
    let durations = durations(&app, "").await;
    assert_eq!(durations.len(), 7);
    assert_eq!(totals["p50_ms"], percentile(&durations, 0.5), "{durations:?}");
    assert_eq!(totals["p99_ms"], percentile(&durations, 0.99), "{durations:?}");
    assert_eq!(
        stats["by_event"],
        json!([{"name": null, "requests": 3, "failed": 3}, {"name": "new_lead", "requests": 3, "failed": 0},
               {"name": "lead_status_update", "requests": 1, "failed": 1}]),
        "{stats}"
    );
    assert_eq!(
        stats["by_source"],
        json!([{"name": null, "requests": 3, "failed": 3}, {"name": "website", "requests": 3, "failed": 0},
               {"name": "erp", "requests": 1, "failed": 1}]),
        "{stats}"
    );
    // The minutes add up to the totals; the last one is the minute now.
    let buckets = stats["buckets"].as_array().unwrap();
    assert_eq!(buckets.len(), 60);
    let sum: i64 = buckets.iter().map(|b| b["requests"].as_i64().unwrap()).sum();
    assert_eq!(sum, 7);
    let busy: Vec<&Value> = buckets.iter().filter(|b| b["requests"].as_i64() > Some(0)).collect();
    for bucket in &busy {
        assert!(bucket["p50_ms"].as_i64().unwrap() <= bucket["p99_ms"].as_i64().unwrap(), "{bucket}");
        assert_eq!(bucket.as_object().unwrap().len(), 6);
    }
    let minute = chrono::Utc::now().format("%Y-%m-%dT%H:%M").to_string();
    assert!(buckets.last().unwrap()["start"].as_str().unwrap().starts_with(&minute), "{}", buckets.last().unwrap());
    assert_eq!(stats["since"], buckets[0]["start"]);
    assert_eq!((stats["bucket"].as_str(), stats["direction"].clone()), (Some("minute"), Value::Null));
    assert_eq!(stats["deliveries"], json!({"pending": 0, "delivered": 0, "dead": 0, "cancelled": 0}));
    assert_eq!(stats["queue_depth"], 0);

    // By hour and by day the same requests are counted once.
    let now = chrono::Utc::now();
    let hours = format!(
        "bucket=hour&since={}&until={}",
        (now - chrono::Duration::hours(3)).to_rfc3339(),
        (now + chrono::Duration::hours(2)).to_rfc3339()
    )
    .replace('+', "%2B");
    let by_hour = traffic(&app, &hours).await;
    assert_eq!(by_hour["buckets"].as_array().unwrap().len(), 5, "{by_hour}");
    assert!(by_hour["buckets"][0]["start"].as_str().unwrap().ends_with(":00:00.000000Z"));
    assert_eq!(by_hour["totals"]["by_status"], totals["by_status"]);
    assert_eq!(
        (by_hour["by_event"].clone(), by_hour["by_source"].clone()),
        (stats["by_event"].clone(), stats["by_source"].clone())
    );
    let by_day = traffic(&app, &format!("bucket=day&since={}&until={}", day(-1), day(1))).await;
    let starts: Vec<&str> =
        by_day["buckets"].as_array().unwrap().iter().map(|b| b["start"].as_str().unwrap()).collect();
    assert_eq!(starts, vec![format!("{}T00:00:00.000000Z", day(-1)), format!("{}T00:00:00.000000Z", day(0))]);
    assert_eq!(
        (by_day["totals"]["requests"].clone(), by_day["totals"]["p99_ms"].clone()),
        (json!(7), totals["p99_ms"].clone())
    );
    // A range before anything happened is empty; so is the outgoing side.
    let before = traffic(&app, "since=2024-01-01&until=2024-01-02&bucket=hour").await;
    assert_eq!((before["buckets"].as_array().unwrap().len(), before["totals"]["requests"].clone()), (24, json!(0)));
    assert_eq!(traffic(&app, "direction=outgoing").await["totals"]["requests"], 0);
    assert_eq!(traffic(&app, "direction=incoming").await["totals"]["requests"], 7);

    let metrics = app.get("/metrics").await.text;
    assert!(metrics.contains("crm_task_runs_total{task=\"traffic_rollup\"}"), "{metrics}");
    assert!(metrics.contains("crm_traffic_rollup_rows_total 7"), "{metrics}");
}

async fn outgoing_attempts_deliveries_and_the_queue_are_counted(engine: Engine) {
    let Some(app) = app_with(engine, &[0, 3_600_000]).await else { return };
    let fine = Receiver::start().await;
    let failing = Receiver::with_plan(|_, _| Reply::Status(500)).await;
    subscribe(&app, json!({"url": fine.url, "events": ["lead.created"]})).await;
    subscribe(&app, json!({"url": failing.url, "events": ["lead.status_changed"]})).await;
    let lead = app.create_lead().await;
    app.create_lead().await;
    let status = json!({"data": {"lead_status": "contacted"}});
    assert_eq!(app.post(&format!("/incoming/lead/{lead}/status/update"), &status).await.status, 200);
    fine.wait_for(2, Duration::from_secs(10)).await;
    failing.wait_for(1, Duration::from_secs(10)).await;
    let deliveries = app.get("/api/v1/webhooks/deliveries").await;
    let ids: Vec<i64> =
        deliveries.body["items"].as_array().unwrap().iter().map(|d| d["id"].as_i64().unwrap()).collect();
    assert_eq!(ids.len(), 3, "{}", deliveries.text);
    for id in ids {
        wait_delivery(&app, id, Duration::from_secs(10), |d| d["attempts"] == 1).await;
    }

    let out = traffic(&app, "direction=outgoing").await;
    assert_eq!(out["direction"], "outgoing");
    assert_eq!(out["totals"]["requests"], 3, "{out}");
    assert_eq!(out["totals"]["by_status"], json!({"200": 2, "500": 1}), "{out}");
    assert_eq!(out["totals"]["failed"], 1);
    assert_eq!(
        out["by_event"],
        json!([{"name": "lead.created", "requests": 2, "failed": 0},
               {"name": "lead.status_changed", "requests": 1, "failed": 1}])
    );
    assert_eq!(out["by_source"], json!([{"name": null, "requests": 3, "failed": 1}]));
    assert_eq!(out["deliveries"], json!({"pending": 1, "delivered": 2, "dead": 0, "cancelled": 0}));
    assert_eq!(out["queue_depth"], 1);
    let incoming = traffic(&app, "direction=incoming").await;
    assert_eq!(incoming["totals"]["by_status"], json!({"200": 3}));
    assert_eq!(incoming["deliveries"], out["deliveries"], "deliveries do not depend on direction");
    let both = traffic(&app, "").await;
    assert_eq!(both["totals"]["requests"], 6);
}

/// Inserts a log row with this id (as a request that took its id earlier and commits now).
async fn insert_log(app: &TestApp, id: i64, status: i64) {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let sql = format!(
        "insert into webhook_logs (id, direction, event, source, method, path, request_headers, response_status, \
         is_successful, duration_ms, created_at, processed_at) values ({id}, 'incoming', 'late_event', 'late', \
         'POST', '/api/v1/webhooks/incoming', '{{}}', {status}, {}, 3.5, '{now}', '{now}')",
        (200..300).contains(&status)
    );
    let mut conn = sqlx::AnyConnection::connect(&app.database_url).await.expect("connect");
    sqlx::query(&sql).execute(&mut conn).await.expect("insert a log row");
    let _ = conn.close().await;
}

async fn a_row_committed_late_with_a_lower_id_is_still_counted(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    app.create_lead().await;
    let newest = app.scalar_i64("select max(id) from webhook_logs").await;
    // Ids newest+1 … newest+4 are taken but not committed yet; newest+5 commits first.
    insert_log(&app, newest + 5, 200).await;
    let late =
        |stats: &Value| stats["by_event"].as_array().unwrap().iter().find(|e| e["name"] == "late_event").cloned();
    let first = traffic(&app, "").await;
    assert_eq!(late(&first), Some(json!({"name": "late_event", "requests": 1, "failed": 0})));
    assert_eq!(app.scalar_i64("select count(*) from traffic_rollup_gaps").await, 1);
    // Two of them commit now, below the place the fold has reached.
    insert_log(&app, newest + 2, 200).await;
    insert_log(&app, newest + 3, 503).await;
    let second = traffic(&app, "").await;
    assert_eq!(late(&second), Some(json!({"name": "late_event", "requests": 3, "failed": 1})), "{second}");
    assert_eq!(second["totals"]["requests"], 4);
    // Asked again, nothing is counted twice; ids newest+1 and newest+4 are still looked for.
    assert_eq!(traffic(&app, "").await["totals"], second["totals"]);
    // The hours count the late rows too.
    let since = (chrono::Utc::now() - chrono::Duration::hours(3)).to_rfc3339().replace('+', "%2B");
    let by_hour = traffic(&app, &format!("bucket=hour&since={since}")).await;
    let counts = |stats: &Value| {
        let totals = &stats["totals"];
        let fields = ["requests", "failed", "by_status", "p50_ms", "p99_ms"].map(|field| totals[field].clone());
        (fields, stats["by_event"].clone())
    };
    assert_eq!(counts(&by_hour), counts(&second), "{by_hour}");
    let gaps = format!("select count(*) from traffic_rollup_gaps where (first_id = {0} and last_id = {0}) or (first_id = {1} and last_id = {1})", newest + 1, newest + 4);
    assert_eq!(app.scalar_i64(&gaps).await, 2);
}

/// PostgreSQL: a transaction that took its log id first and commits after a later one.
async fn an_open_transaction_holding_a_lower_id_is_counted_when_it_commits(engine: Engine) {
    use sqlx::Connection;
    if engine != Engine::Postgres {
        return;
    }
    let Some(app) = spawn_app(engine).await else { return };
    let mut conn = sqlx::PgConnection::connect(&app.database_url).await.expect("connect");
    let mut tx = conn.begin().await.expect("begin");
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    sqlx::query(
        "insert into webhook_logs (direction, event, source, method, path, request_headers, response_status, \
         is_successful, duration_ms, created_at, processed_at) values ('incoming', 'slow_event', 'slow', 'POST', \
         '/x', '{}', 200, true, 1, $1, $1)",
    )
    .bind(&now)
    .execute(&mut *tx)
    .await
    .expect("insert");
    app.create_lead().await;
    let before = traffic(&app, "").await;
    assert_eq!(before["totals"]["requests"], 1, "only the committed row: {before}");
    tx.commit().await.expect("commit");
    let after = traffic(&app, "").await;
    assert_eq!(after["totals"]["requests"], 2, "{after}");
    assert_eq!(after["by_event"][1], json!({"name": "slow_event", "requests": 1, "failed": 0}), "{after}");
    let _ = conn.close().await;
}

async fn two_instances_folding_one_database_count_each_row_once(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let other = app.another_instance().await;
    let mut sent = Vec::new();
    for round in 0..10 {
        let target = if round % 2 == 0 { &app } else { &other };
        sent.push(async move { target.create_lead().await });
    }
    futures_util::future::join_all(sent).await;
    let (a, b) = tokio::join!(traffic(&app, ""), traffic(&other, ""));
    assert_eq!((a["totals"]["requests"].clone(), b["totals"]["requests"].clone()), (json!(10), json!(10)));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(traffic(&app, "").await["totals"]["requests"], 10, "the background folds added nothing");
}

async fn bad_parameters_are_400s_that_name_them_and_the_token_is_needed(engine: Engine) {
    let Some(app) =
        spawn_app_with(engine, |config| config.admin_token = Some(crm_webhooks::config::Secret::new("tok"))).await
    else {
        return;
    };
    for (query, field) in [
        ("since=yesterday", "since"),
        ("until=2024-02-30", "until"),
        ("bucket=week", "bucket"),
        ("direction=sideways", "direction"),
        ("since=2024-01-02&until=2024-01-01", "since"),
        ("since=2024-01-01&until=2024-01-03", "since"),
        ("since=2020-01-01&until=2024-01-01&bucket=day", "since"),
        ("limit=5", "limit"),
    ] {
        let reply = app.get(&format!("/api/v1/stats/traffic?{query}")).await;
        assert_eq!(reply.status, 400, "{query}: {}", reply.text);
        assert_eq!(reply.body["field"], field, "{query}: {}", reply.text);
    }
    let reply = app.get("/api/v1/stats/traffic?bucket=week").await;
    assert_eq!(reply.body["allowed"], json!(["minute", "hour", "day"]));
    let reply = app.get("/api/v1/stats/traffic?since=2024-01-01&until=2024-01-03").await;
    assert!(reply.body["detail"].as_str().unwrap().contains("2880 minute buckets"), "{}", reply.text);
    // Exactly a day by minute, and 1,440 days by day, are allowed.
    assert_eq!(traffic(&app, "since=2024-01-01&until=2024-01-02").await["buckets"].as_array().unwrap().len(), 1440);
    assert_eq!(
        traffic(&app, "since=2020-01-01&until=2023-12-11&bucket=day").await["buckets"].as_array().unwrap().len(),
        1440
    );
    let reply = app.send(app.client.get(app.url("/api/v1/stats/traffic"))).await;
    assert_eq!((reply.status, reply.body), (401, json!({"detail": "Missing or invalid admin token"})));
}

on_both_engines!(
    requests_are_counted_by_status_event_source_and_duration,
    outgoing_attempts_deliveries_and_the_queue_are_counted,
    a_row_committed_late_with_a_lower_id_is_still_counted,
    an_open_transaction_holding_a_lower_id_is_counted_when_it_commits,
    two_instances_folding_one_database_count_each_row_once,
    bad_parameters_are_400s_that_name_them_and_the_token_is_needed,
);
