//! Operations routes and cross-cutting headers.

use crate::helpers::{spawn_app, Engine};
use crate::on_both_engines;

async fn health_readiness_and_metrics_answer(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let health = app.get("/healthz").await;
    assert_eq!((health.status, health.body["status"].as_str()), (200, Some("ok")));
    let ready = app.get("/readyz").await;
    assert_eq!((ready.status, ready.body["status"].as_str()), (200, Some("ready")));
    app.create_lead().await;
    app.post("/incoming/lead/77/update", &serde_json::json!({"data": {}})).await;
    let metrics = app.get("/metrics").await;
    assert_eq!(metrics.status, 200);
    assert!(metrics.headers["content-type"].to_str().unwrap().starts_with("text/plain"));
    assert!(
        metrics
            .text
            .contains(r#"crm_http_requests_total{route="/api/v1/webhooks/incoming/lead/create",status="200"} 1"#),
        "{}",
        metrics.text
    );
    assert!(
        metrics.text.contains(r#"route="/api/v1/webhooks/incoming/lead/{lead_id}/update",status="404"} 1"#),
        "{}",
        metrics.text
    );
    assert!(metrics.text.contains("crm_http_request_duration_seconds_bucket"));
}

async fn every_response_carries_a_request_id_and_a_given_one_is_kept(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    for path in ["/healthz", "/nowhere", "/api/v1/webhooks/logs", "/openapi.json"] {
        let reply = app.get(path).await;
        assert!(reply.headers.contains_key("x-request-id"), "{path}");
    }
    let given = app.send(app.client.get(app.url("/healthz")).header("x-request-id", "trace-123")).await;
    assert_eq!(given.headers["x-request-id"], "trace-123");
    let lead = app
        .post_raw("/incoming/lead/create", br#"{"data":{"company_name":"A"}}"#, &[("x-request-id", "req-abc")])
        .await;
    assert_eq!(lead.headers["x-request-id"], "req-abc");
}

async fn the_openapi_document_and_swagger_ui_are_served(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let doc = app.get("/openapi.json").await;
    assert_eq!(doc.status, 200);
    assert_eq!(doc.body["openapi"], "3.1.0");
    assert!(doc.body["paths"]["/api/v1/webhooks/incoming/lead/{lead_id}/convert"]["post"].is_object(), "{}", doc.text);
    let ui = app.send(app.client.get(app.url("/docs/"))).await;
    assert_eq!(ui.status, 200);
    assert!(ui.text.contains("swagger"), "{}", ui.text);
}

async fn background_tasks_and_the_writer_are_in_the_metrics(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    app.create_lead().await;
    let tasks = ["idempotency_purge", "metrics_upkeep", "traffic_rollup", "pipeline_fold"];
    // Each periodic task runs once at start, on its own: on a busy machine the first run may
    // still be going when the server already answers, so wait (bounded) for all of them.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let text = loop {
        let text = app.get("/metrics").await.text;
        let all_ran = tasks.iter().all(|task| {
            let series = format!("crm_task_runs_total{{task=\"{task}\"}} ");
            text.lines()
                .find_map(|line| line.strip_prefix(series.as_str()))
                .is_some_and(|runs| runs.trim().parse::<f64>().is_ok_and(|runs| runs >= 1.0))
        });
        if all_ran || std::time::Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    for task in tasks {
        // A periodic task runs once at start, then on its interval: a slow start may add a run.
        let runs = metric_value(&text, &format!("crm_task_runs_total{{task=\"{task}\"}}"));
        assert!(runs >= 1.0, "{task} has not run: {text}");
        assert!(text.contains(&format!("crm_task_errors_total{{task=\"{task}\"}} 0")), "{task}: {text}");
        assert!(text.contains(&format!("crm_task_last_run_timestamp_seconds{{task=\"{task}\"}}")), "{text}");
    }
    if engine == Engine::Sqlite {
        assert!(text.contains("crm_task_runs_total{task=\"sqlite_checkpoint\"}"), "{text}");
        assert!(text.contains("crm_sqlite_batch_size_bucket"), "{text}");
        assert!(text.contains("crm_sqlite_commit_seconds_count"), "{text}");
    }
}

/// The value of the sample whose name and labels are exactly `series`.
pub fn metric_value(text: &str, series: &str) -> f64 {
    let line = text.lines().find(|line| line.strip_prefix(series).is_some_and(|rest| rest.starts_with(' ')));
    let line = line.unwrap_or_else(|| panic!("no sample {series} in {text}"));
    line[series.len()..].trim().parse().unwrap_or_else(|_| panic!("not a number: {line}"))
}

async fn shutdown_stops_and_awaits_the_tasks_before_the_database_closes(engine: Engine) {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let Some(database) = crate::helpers::fresh_database(engine).await else { return };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app = crm_webhooks::build(crm_webhooks::Config::for_database(database.url.clone()), listener).await.unwrap();
    let tasks = app.tasks().clone();
    let db = app.db().clone();
    let wrote = Arc::new(AtomicBool::new(false));
    let flag = wrote.clone();
    // A task that still writes after shutdown is asked for: the database must be open for it.
    tasks.spawn("late_writer", move |mut shutdown| async move {
        shutdown.requested().await;
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        db.write(|conn| {
            Box::pin(async move {
                conn.execute("delete from idempotency_keys where key = $1", crm_webhooks::args!["none"]).await?;
                Ok(())
            })
        })
        .await?;
        flag.store(true, Ordering::SeqCst);
        Ok(())
    });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    stop.send(()).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(30), running).await.unwrap().unwrap().unwrap();
    assert!(wrote.load(Ordering::SeqCst), "the task finished its write before the database closed");
    assert!(tasks.running().is_empty(), "{:?}", tasks.running());
}

on_both_engines!(
    background_tasks_and_the_writer_are_in_the_metrics,
    shutdown_stops_and_awaits_the_tasks_before_the_database_closes,
    health_readiness_and_metrics_answer,
    every_response_carries_a_request_id_and_a_given_one_is_kept,
    the_openapi_document_and_swagger_ui_are_served,
);
