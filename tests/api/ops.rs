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

on_both_engines!(
    health_readiness_and_metrics_answer,
    every_response_carries_a_request_id_and_a_given_one_is_kept,
    the_openapi_document_and_swagger_ui_are_served,
);
