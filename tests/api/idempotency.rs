//! Idempotency keys: a repeat is replayed, a reuse with another body is refused.

use serde_json::json;

use crate::helpers::{spawn_app, Engine};
use crate::on_both_engines;

async fn a_repeat_with_the_same_key_and_body_is_replayed(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    for header in ["idempotency-key", "x-webhook-id", "webhook-id"] {
        let body = json!({"event": "new_lead", "data": {"company_name": header}}).to_string();
        let first = app.post_raw("/incoming/lead/create", body.as_bytes(), &[(header, &format!("key-{header}"))]).await;
        let again = app.post_raw("/incoming/lead/create", body.as_bytes(), &[(header, &format!("key-{header}"))]).await;
        assert_eq!(first.status, 200);
        assert!(first.headers.get("idempotent-replayed").is_none());
        assert_eq!(again.status, 200);
        assert_eq!(again.text, first.text);
        assert_eq!(again.headers["idempotent-replayed"], "true");
    }
    assert_eq!(app.scalar_i64("select count(*) from leads").await, 3);
    let logged =
        app.scalar_i64("select count(*) from webhook_logs where idempotency_key = 'key-idempotency-key'").await;
    assert_eq!(logged, 2, "the replay is logged too");
}

async fn the_same_key_with_another_body_is_409(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let key = [("idempotency-key", "k1")];
    let a = app.post_raw("/incoming/lead/create", br#"{"data":{"company_name":"A"}}"#, &key).await;
    let b = app.post_raw("/incoming/lead/create", br#"{"data":{"company_name":"B"}}"#, &key).await;
    assert_eq!(a.status, 200);
    assert_eq!(b.status, 409);
    assert!(b.body["detail"].as_str().unwrap().contains("different request"));
    assert_eq!(app.scalar_i64("select count(*) from leads").await, 1);
}

async fn a_failed_request_does_not_use_up_its_key(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let key = [("idempotency-key", "retry-me")];
    let body = br#"{"data":{"lead_status":"won"}}"#;
    assert_eq!(app.post_raw("/incoming/lead/1/status/update", body, &key).await.status, 404);
    app.create_lead().await;
    assert_eq!(app.post_raw("/incoming/lead/1/status/update", body, &key).await.status, 200);
    let bad = app
        .post_raw("/incoming/lead/create", br#"{"data":{"company_name":"A"}}"#, &[("idempotency-key", "has space")])
        .await;
    assert_eq!(bad.status, 400);
}

async fn keys_older_than_a_day_are_purged(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let key = [("idempotency-key", "old-key")];
    assert_eq!(app.post_raw("/incoming/lead/create", br#"{"data":{"company_name":"A"}}"#, &key).await.status, 200);
    assert_eq!(app.post_raw("/incoming/lead/create", br#"{"data":{"company_name":"B"}}"#, &key).await.status, 409);
    let db =
        crm_webhooks::db::Db::connect(&crm_webhooks::Config::for_database(app.database_url.clone())).await.unwrap();
    let purge = || db.write(|conn| Box::pin(crm_webhooks::webhook::idempotency::purge(conn)));
    assert_eq!(purge().await.unwrap(), 0, "a fresh key is kept");
    let day_old = crm_webhooks::domain::time::format(chrono::Utc::now() - chrono::Duration::hours(25));
    db.write(move |conn| {
        Box::pin(async move {
            conn.execute("update idempotency_keys set created_at = $1", crm_webhooks::args![day_old]).await?;
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(purge().await.unwrap(), 1);
    db.close().await;
    assert_eq!(app.post_raw("/incoming/lead/create", br#"{"data":{"company_name":"B"}}"#, &key).await.status, 200);
}

on_both_engines!(
    keys_older_than_a_day_are_purged,
    a_repeat_with_the_same_key_and_body_is_replayed,
    the_same_key_with_another_body_is_409,
    a_failed_request_does_not_use_up_its_key,
);
