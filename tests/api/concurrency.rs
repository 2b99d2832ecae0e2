//! Rules that must hold under concurrent calls, on both engines.

use futures_util::future::join_all;
use serde_json::json;

use crate::helpers::{spawn_app, Engine};
use crate::on_both_engines;

const CONCURRENT: usize = 64;

async fn concurrent_converts_create_exactly_one_customer(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let lead = app.create_lead().await;
    let path = format!("/incoming/lead/{lead}/convert");
    let body = json!({"event": "lead_convert", "data": {"payment_terms": "Net 30"}});
    let replies = join_all((0..CONCURRENT).map(|_| app.post(&path, &body))).await;
    let ok = replies.iter().filter(|r| r.status == 200).count();
    let conflicts = replies.iter().filter(|r| r.status == 409).count();
    assert_eq!((ok, conflicts), (1, CONCURRENT - 1), "{:?}", replies.iter().map(|r| r.status).collect::<Vec<_>>());
    assert_eq!(app.scalar_i64("select count(*) from customers").await, 1);
    let won = app
        .scalar_i64(&format!("select count(*) from status_history where entity_id = {lead} and new_status = 'won'"))
        .await;
    assert_eq!(won, 1);
    assert_eq!(
        app.scalar_i64("select count(*) from webhook_logs where event = 'lead_convert'").await,
        CONCURRENT as i64
    );
}

async fn concurrent_pre_lead_converts_create_exactly_one_lead(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let pre_lead = app.create_pre_lead().await;
    let path = format!("/incoming/pre-lead/{pre_lead}/convert");
    let body = json!({"data": {}});
    let replies = join_all((0..CONCURRENT).map(|_| app.post(&path, &body))).await;
    assert_eq!(replies.iter().filter(|r| r.status == 200).count(), 1);
    assert_eq!(replies.iter().filter(|r| r.status == 409).count(), CONCURRENT - 1);
    assert_eq!(app.scalar_i64("select count(*) from leads").await, 1);
}

async fn concurrent_status_updates_leave_a_history_without_gaps(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let lead = app.create_lead().await;
    let statuses = ["contacted", "qualified", "proposal_sent", "negotiation"];
    let path = format!("/incoming/lead/{lead}/status/update");
    let bodies: Vec<_> =
        (0..CONCURRENT).map(|i| json!({"data": {"lead_status": statuses[i % statuses.len()]}})).collect();
    let replies = join_all(bodies.iter().map(|body| app.post(&path, body))).await;
    assert!(replies.iter().all(|r| r.status == 200));
    let mut chain: Vec<(Option<String>, String)> = Vec::new();
    let total = app
        .scalar_i64(&format!("select count(*) from status_history where entity_type = 'lead' and entity_id = {lead}"))
        .await;
    assert_eq!(total, CONCURRENT as i64 + 1);
    for offset in 0..total {
        let sql = |col: &str| {
            format!("select {col} from status_history where entity_type = 'lead' and entity_id = {lead} order by id limit 1 offset {offset}")
        };
        chain.push((app.scalar_text(&sql("old_status")).await, app.scalar_text(&sql("new_status")).await.unwrap()));
    }
    for pair in chain.windows(2) {
        assert_eq!(pair[1].0.as_deref(), Some(pair[0].1.as_str()), "gap in {chain:?}");
    }
    let current = app.scalar_text(&format!("select lead_status from leads where id = {lead}")).await.unwrap();
    assert_eq!(current, chain.last().unwrap().1);
}

async fn concurrent_duplicates_with_one_idempotency_key_apply_once(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let body = json!({"event": "new_lead", "data": {"company_name": "Once Ltd"}}).to_string();
    let replies = join_all(
        (0..CONCURRENT)
            .map(|_| app.post_raw("/incoming/lead/create", body.as_bytes(), &[("idempotency-key", "order-42")])),
    )
    .await;
    assert!(replies.iter().all(|r| r.status == 200), "{:?}", replies.iter().map(|r| r.status).collect::<Vec<_>>());
    assert_eq!(app.scalar_i64("select count(*) from leads").await, 1);
    let first = &replies[0].body;
    assert!(replies.iter().all(|r| &r.body == first), "every caller gets the same answer");
    let replayed = replies.iter().filter(|r| r.headers.get("idempotent-replayed").is_some()).count();
    assert_eq!(replayed, CONCURRENT - 1);
}

async fn two_instances_on_one_database_keep_conversions_and_idempotency_once(engine: Engine) {
    let Some(first) = spawn_app(engine).await else { return };
    let second = first.another_instance().await;
    let lead = first.create_lead().await;
    let path = format!("/incoming/lead/{lead}/convert");
    let body = json!({"data": {}});
    let replies =
        join_all(
            (0..CONCURRENT).map(|i| if i % 2 == 0 { first.post(&path, &body) } else { second.post(&path, &body) }),
        )
        .await;
    assert_eq!(replies.iter().filter(|r| r.status == 200).count(), 1);
    assert_eq!(first.scalar_i64("select count(*) from customers").await, 1);

    let create = json!({"data": {"company_name": "Twice"}}).to_string();
    let key = [("idempotency-key", "shared-key")];
    let replies = join_all((0..CONCURRENT).map(|i| {
        let app = if i % 2 == 0 { &first } else { &second };
        app.post_raw("/incoming/lead/create", create.as_bytes(), &key)
    }))
    .await;
    assert!(replies.iter().all(|r| r.status == 200));
    assert_eq!(first.scalar_i64("select count(*) from leads where company_name = 'Twice'").await, 1);
}

/// Several instances are a PostgreSQL deployment (SQLite is the single-machine engine).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_two_instances_on_one_database_keep_conversions_and_idempotency_once() {
    if crate::helpers::postgres_url().is_some() {
        two_instances_on_one_database_keep_conversions_and_idempotency_once(Engine::Postgres).await;
    }
}

on_both_engines!(
    concurrent_converts_create_exactly_one_customer,
    concurrent_pre_lead_converts_create_exactly_one_lead,
    concurrent_status_updates_leave_a_history_without_gaps,
    concurrent_duplicates_with_one_idempotency_key_apply_once,
);
