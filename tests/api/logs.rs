//! `GET /logs` and `GET /logs/{id}`: shape, order, pagination, filters, the admin token, and
//! what a row keeps.

use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_with, Engine};
use crate::on_both_engines;

async fn logs_list_newest_first_with_pagination_and_filters(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let lead = app.create_lead().await;
    app.post(&format!("/incoming/lead/{lead}/status/update"), &json!({"data": {"lead_status": "contacted"}})).await;
    app.post("/incoming/lead/999/update", &json!({"data": {}})).await;
    app.post("/incoming/lead/create", &json!({"data": {}})).await;

    let page = app.get("/api/v1/webhooks/logs").await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert_eq!(page.body["total"], 4);
    assert_eq!(page.body["total_capped"], false);
    assert_eq!(
        (page.body["page"].clone(), page.body["page_size"].clone(), page.body["total_pages"].clone()),
        (json!(1), json!(20), json!(1))
    );
    let items = page.body["items"].as_array().unwrap();
    let ids: Vec<i64> = items.iter().map(|i| i["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
    let keys: Vec<&str> = items[0].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "id",
            "direction",
            "event",
            "source",
            "method",
            "path",
            "remote_addr",
            "request_headers",
            "request_body",
            "response_status",
            "response_body",
            "is_successful",
            "error_message",
            "entity_type",
            "entity_id",
            "idempotency_key",
            "duration_ms",
            "created_at",
            "processed_at",
            "request_body_bytes",
            "request_body_sha256",
            "replay_of"
        ]
    );
    let newest = &items[0];
    assert_eq!(newest["response_status"], 400);
    assert_eq!(newest["is_successful"], false);
    assert_eq!(newest["error_message"], "first_name or company_name is required");
    assert_eq!(newest["direction"], "incoming");
    assert_eq!(newest["method"], "POST");
    assert_eq!(newest["path"], "/api/v1/webhooks/incoming/lead/create");
    assert_eq!(newest["remote_addr"], "127.0.0.1");
    assert_eq!(newest["request_body"], r#"{"data":{}}"#);
    assert!(newest["created_at"].as_str().unwrap().ends_with('Z'));

    let second = app.get("/api/v1/webhooks/logs?page=2&page_size=3").await;
    assert_eq!(second.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(second.body["total_pages"], 2);
    assert_eq!(second.body["items"][0]["event"], "new_lead");

    let failed = app.get("/api/v1/webhooks/logs?is_successful=false").await;
    assert_eq!(failed.body["total"], 2);
    let by_entity = app.get(&format!("/api/v1/webhooks/logs?entity_type=lead&entity_id={lead}")).await;
    assert_eq!(by_entity.body["total"], 2);
    let by_event = app.get("/api/v1/webhooks/logs?event=lead_status_update&direction=incoming").await;
    assert_eq!(by_event.body["total"], 1);
    assert_eq!(by_event.body["items"][0]["response_body"].as_str().map(|b| b.contains("contacted")), Some(true));
    assert_eq!(app.get("/api/v1/webhooks/logs?direction=outgoing").await.body["total"], 0);
    assert_eq!(app.get("/api/v1/webhooks/logs?since=2099-01-01T00:00:00Z").await.body["total"], 0);
    assert_eq!(
        app.get("/api/v1/webhooks/logs?until=2099-01-01T00:00:00Z&since=2000-01-01T00:00:00Z").await.body["total"],
        4
    );

    let id = ids[1];
    let one = app.get(&format!("/api/v1/webhooks/logs/{id}")).await;
    assert_eq!(one.status, 200);
    assert_eq!(one.body, items[1]);
    assert_eq!(app.get("/api/v1/webhooks/logs/424242").await.body, json!({"detail": "Webhook log not found"}));
    assert_eq!(app.get("/api/v1/webhooks/logs/x").await.status, 400);
    assert_eq!(app.get("/api/v1/webhooks/logs?page_size=500").await.status, 400);
    assert_eq!(app.get("/api/v1/webhooks/logs?page=0").await.status, 400);
    assert_eq!(app.get("/api/v1/webhooks/logs?is_successful=perhaps").await.status, 400);
    assert_eq!(app.get("/api/v1/webhooks/logs?direction=up").await.body["allowed"], json!(["incoming", "outgoing"]));

    // Reading the logs is not itself logged.
    assert_eq!(app.get("/api/v1/webhooks/logs").await.body["total"], 4);
}

async fn a_log_row_keeps_the_envelope_and_never_a_secret(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let body = json!({"event": "new_lead", "source": "website", "data": {"company_name": "A"}, "timestamp": "2024-01-15T10:30:00Z", "signature": "client-side"});
    let reply = app
        .post_raw(
            "/incoming/lead/create",
            body.to_string().as_bytes(),
            &[("user-agent", "erp/1.0"), ("authorization", "Bearer hunter2")],
        )
        .await;
    assert_eq!(reply.status, 200);
    let row = &app.get("/api/v1/webhooks/logs").await.body["items"][0];
    assert_eq!(row["source"], "website");
    assert_eq!(row["entity_type"], "lead");
    assert_eq!(row["entity_id"], reply.body["data"]["lead_id"]);
    assert_eq!(row["is_successful"], true);
    assert_eq!(row["response_status"], 200);
    let logged: Value = serde_json::from_str(row["request_body"].as_str().unwrap()).unwrap();
    assert_eq!(logged["timestamp"], "2024-01-15T10:30:00Z");
    assert_eq!(row["request_headers"]["user-agent"], "erp/1.0");
    assert_eq!(row["request_headers"]["x-webhook-signature"], "[redacted]");
    assert_eq!(row["request_headers"]["authorization"], "[redacted]");
    let everything = row.to_string();
    assert!(!everything.contains("hunter2") && !everything.contains(crate::helpers::SECRET), "{everything}");
    assert!(row["duration_ms"].as_f64().unwrap() >= 0.0);
}

async fn with_an_admin_token_the_logs_need_it(engine: Engine) {
    let Some(app) = spawn_app_with(engine, |c| c.admin_token = Some(crm_webhooks::config::Secret::new("adm1n"))).await
    else {
        return;
    };
    assert_eq!(app.get("/api/v1/webhooks/logs").await.status, 200, "the helper sends the token");
    for auth in [None, Some("Bearer wrong"), Some("adm1n")] {
        let mut request = app.client.get(app.url("/api/v1/webhooks/logs"));
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        let reply = app.send(request).await;
        assert_eq!(reply.status, 401);
        assert_eq!(reply.body, json!({"detail": "Missing or invalid admin token"}));
    }
    let one = app.send(app.client.get(app.url("/api/v1/webhooks/logs/1"))).await;
    assert_eq!(one.status, 401);
}

async fn past_ten_thousand_matches_the_total_is_capped(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let success = if engine == Engine::Sqlite { "1" } else { "true" };
    let sql = format!(
        "with recursive n(i) as (select 1 union all select i + 1 from n where i < 10005) \
         insert into webhook_logs (direction, event, method, path, request_headers, response_status, is_successful, \
         duration_ms, created_at, processed_at) \
         select 'incoming', 'new_lead', 'POST', '/x', '{{}}', 200, {success}, 1.0, \
         '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z' from n"
    );
    {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&app.database_url).await.unwrap();
        sqlx::query(&sql).execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
    }
    let page = app.get("/api/v1/webhooks/logs?event=new_lead").await;
    assert_eq!((page.body["total"].clone(), page.body["total_capped"].clone()), (json!(10_000), json!(true)));
    assert_eq!(page.body["total_pages"], 500);
    let beyond = app.get("/api/v1/webhooks/logs?event=new_lead&page=501&page_size=20").await;
    assert_eq!(beyond.body["items"].as_array().unwrap().len(), 5, "pages past the cap are still served");
    let narrow = app.get("/api/v1/webhooks/logs?event=lead_update").await;
    assert_eq!((narrow.body["total"].clone(), narrow.body["total_capped"].clone()), (json!(0), json!(false)));
}

async fn logs_page_by_cursor_with_a_next_cursor_on_every_page(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    for _ in 0..5 {
        app.create_lead().await;
    }
    app.post("/incoming/lead/create", &json!({"data": {}})).await;
    let all: Vec<i64> = app.get("/api/v1/webhooks/logs").await.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    assert_eq!(all.len(), 6);
    let first = app.get("/api/v1/webhooks/logs?page_size=4").await;
    assert_eq!(first.body["total"], 6);
    let cursor = first.body["next_cursor"].as_str().expect("a cursor on a page that is not the last").to_string();
    // With a cursor, `page` is ignored.
    let second = app.get(&format!("/api/v1/webhooks/logs?page_size=4&page=9&cursor={cursor}")).await;
    assert_eq!(second.status, 200, "{}", second.text);
    let ids: Vec<i64> = second.body["items"].as_array().unwrap().iter().map(|i| i["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, all[4..].to_vec());
    assert_eq!(second.body["next_cursor"], Value::Null, "the last page");
    assert_eq!(second.body["total"], 6);
    // Filters apply along the cursor; the offset form answers next_cursor too.
    let failed = app.get("/api/v1/webhooks/logs?is_successful=true&page_size=2&page=2").await;
    let cursor = failed.body["next_cursor"].as_str().unwrap().to_string();
    let next = app.get(&format!("/api/v1/webhooks/logs?is_successful=true&page_size=2&cursor={cursor}")).await;
    assert_eq!(next.body["items"].as_array().unwrap().len(), 1);
    assert!(next.body["items"].as_array().unwrap().iter().all(|i| i["is_successful"] == true));
    for bad in ["cursor=nope", "cursor=aWQKMQ"] {
        let reply = app.get(&format!("/api/v1/webhooks/logs?{bad}")).await;
        assert_eq!((reply.status, reply.body["field"].as_str()), (400, Some("cursor")), "{bad}: {}", reply.text);
    }
}

on_both_engines!(
    logs_page_by_cursor_with_a_next_cursor_on_every_page,
    past_ten_thousand_matches_the_total_is_capped,
    logs_list_newest_first_with_pagination_and_filters,
    a_log_row_keeps_the_envelope_and_never_a_secret,
    with_an_admin_token_the_logs_need_it,
);
