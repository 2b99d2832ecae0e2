//! `GET /api/v1/stats/pipeline`: counts by status, values, customers' totals and conversion rates
//! after real webhooks; an empty database; parameters refused; the admin token.

use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_with, Engine, TestApp};
use crate::on_both_engines;

async fn ok(app: &TestApp, path: &str, body: Value) -> Value {
    let reply = app.post(path, &body).await;
    assert_eq!(reply.status, 200, "{path}: {}", reply.text);
    reply.body["data"].clone()
}

async fn pre_lead(app: &TestApp, name: &str) -> i64 {
    let data = ok(app, "/incoming/pre-lead/create", json!({"data": {"first_name": name}})).await;
    data["pre_lead_id"].as_i64().unwrap()
}

async fn lead(app: &TestApp, name: &str, expected_value: &str) -> i64 {
    let body = json!({"data": {"first_name": name, "expected_value": expected_value}});
    ok(app, "/incoming/lead/create", body).await["lead_id"].as_i64().unwrap()
}

async fn pipeline(app: &TestApp) -> Value {
    let reply = app.get("/api/v1/stats/pipeline").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body
}

async fn an_empty_database_has_an_empty_funnel(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let zeros = |names: &[&str]| -> Value { names.iter().map(|n| (n.to_string(), json!(0))).collect() };
    assert_eq!(
        pipeline(&app).await,
        json!({
            "pre_leads": {"total": 0, "discarded": 0, "converted": 0, "by_status": zeros(&["new", "contacted", "working",
                "qualified", "on_hold", "closed_not_converted", "converted"])},
            "leads": {"total": 0, "discarded": 0, "converted": 0, "open_value": "0.00", "won_value": "0.00",
                "by_status": zeros(&["new", "contacted", "qualified", "proposal_sent", "negotiation", "won", "lost"])},
            "customers": {"total": 0, "revenue": "0.00", "outstanding": "0.00"},
            "conversion": {"pre_lead_to_lead": 0.0, "lead_to_customer": 0.0, "pre_lead_to_customer": 0.0}
        })
    );
}

async fn the_funnel_counts_statuses_values_totals_and_rates(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    // Pre-leads: two converted to leads, one working, one discarded, two left new.
    let converted_a = pre_lead(&app, "A").await;
    let converted_b = pre_lead(&app, "B").await;
    let working = pre_lead(&app, "C").await;
    let discarded = pre_lead(&app, "D").await;
    pre_lead(&app, "E").await;
    pre_lead(&app, "F").await;
    let lead_a =
        ok(&app, &format!("/incoming/pre-lead/{converted_a}/convert"), json!({"data": {"expected_value": "500.00"}}))
            .await["lead_id"]
            .as_i64()
            .unwrap();
    ok(&app, &format!("/incoming/pre-lead/{converted_b}/convert"), json!({"data": {"expected_value": 300.25}})).await;
    ok(&app, &format!("/incoming/pre-lead/{working}/status/update"), json!({"data": {"lead_status": "working"}})).await;
    ok(&app, &format!("/incoming/pre-lead/{discarded}/discard"), json!({"data": {"reason": "spam"}})).await;
    // Leads made directly: one in negotiation, one discarded (lost), one without a value.
    let negotiating = lead(&app, "G", "1000.50").await;
    ok(&app, &format!("/incoming/lead/{negotiating}/status/update"), json!({"data": {"lead_status": "negotiation"}}))
        .await;
    let dropped = lead(&app, "H", "99.99").await;
    ok(&app, &format!("/incoming/lead/{dropped}/discard"), json!({"data": {"reason": "no budget"}})).await;
    ok(&app, "/incoming/lead/create", json!({"data": {"first_name": "I"}})).await;
    // The first pre-lead's lead becomes a customer (the lead is won), with an order and a payment.
    let customer = ok(&app, &format!("/incoming/lead/{lead_a}/convert"), json!({"data": {"customer_code": "C-1"}}))
        .await["customer_id"]
        .as_i64()
        .unwrap();
    let order =
        json!({"event": "order_created", "data": {"customer_id": customer, "order_id": "O-1", "amount": "250.10"}});
    assert_eq!(app.post("/incoming", &order).await.status, 200);
    let payment =
        json!({"event": "payment_received", "data": {"customer_id": customer, "payment_id": "P-1", "amount": 100}});
    assert_eq!(app.post("/incoming", &payment).await.status, 200);
    // A second customer made from a lead created directly.
    let direct = lead(&app, "J", "40.00").await;
    ok(&app, &format!("/incoming/lead/{direct}/convert"), json!({"data": {"customer_code": "C-2"}})).await;

    let stats = pipeline(&app).await;
    assert_eq!(
        stats["pre_leads"],
        json!({"total": 6, "discarded": 1, "converted": 2, "by_status": {"new": 2, "contacted": 0, "working": 1,
            "qualified": 0, "on_hold": 0, "closed_not_converted": 1, "converted": 2}}),
        "{stats}"
    );
    // Leads: A (won, customer), B (new, 300.25), G (negotiation, 1000.50), H (lost, discarded),
    // I (new, no value), J (won, customer, 40.00).
    assert_eq!(
        stats["leads"],
        json!({"total": 6, "discarded": 1, "converted": 2, "open_value": "1300.75", "won_value": "540.00",
            "by_status": {"new": 2, "contacted": 0, "qualified": 0, "proposal_sent": 0, "negotiation": 1,
                "won": 2, "lost": 1}}),
        "{stats}"
    );
    assert_eq!(stats["customers"], json!({"total": 2, "revenue": "250.10", "outstanding": "150.10"}), "{stats}");
    // 2 of 6 pre-leads became leads; 2 of 6 leads became customers; 1 of 6 pre-leads a customer.
    assert_eq!(
        stats["conversion"],
        json!({"pre_lead_to_lead": 0.3333, "lead_to_customer": 0.3333, "pre_lead_to_customer": 0.1667}),
        "{stats}"
    );
}

/// The counts follow updates at once, and stay the same once the background task has moved the
/// changes into them.
async fn counts_follow_updates_and_stay_exact_once_folded(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let id = lead(&app, "K", "100.00").await;
    assert_eq!(pipeline(&app).await["leads"]["open_value"], "100.00");
    ok(&app, &format!("/incoming/lead/{id}/update"), json!({"data": {"expected_value": "250.00"}})).await;
    assert_eq!(pipeline(&app).await["leads"]["open_value"], "250.00");
    ok(&app, &format!("/incoming/lead/{id}/update"), json!({"data": {"notes": "no counted value moves"}})).await;
    ok(&app, &format!("/incoming/lead/{id}/status/update"), json!({"data": {"lead_status": "won"}})).await;
    let stats = pipeline(&app).await;
    assert_eq!((&stats["leads"]["open_value"], &stats["leads"]["won_value"]), (&json!("0.00"), &json!("250.00")));
    assert_eq!(stats["leads"]["by_status"]["won"], 1);
    assert_eq!(stats["leads"]["by_status"]["new"], 0);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while app.scalar_i64("select count(*) from pipeline_deltas").await > 0 {
        assert!(std::time::Instant::now() < deadline, "the deltas were never moved into the counts");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(pipeline(&app).await, stats);
    assert_eq!(
        app.scalar_i64("select records from pipeline_counts where entity_type = 'lead' and status = 'won'").await,
        1
    );
}

async fn a_large_fold_leaves_no_dead_rows_behind(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    lead(&app, "L", "10.00").await;
    let before = pipeline(&app).await;
    // 12,000 deltas that add up to nothing, as a bulk import's would be many.
    app.execute(
        "with recursive g(n) as (select 1 union all select n + 1 from g where n < 12000) \
         insert into pipeline_deltas (entity_type, status, records, discarded, converted, from_pre_lead, value_cents, \
         outstanding_cents) select 'lead', 'new', case when n % 2 = 0 then 1 else -1 end, 0, 0, 0, 0, 0 from g",
    )
    .await;
    assert_eq!(pipeline(&app).await, before);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while app.scalar_i64("select count(*) from pipeline_deltas").await > 0 {
        assert!(std::time::Instant::now() < deadline, "the deltas were never moved into the counts");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(pipeline(&app).await, before);
    if engine == Engine::Postgres {
        // The fold vacuumed the table: the deleted rows' pages are gone, not left for every
        // pipeline answer to read until autovacuum.
        let size = "select pg_relation_size('pipeline_deltas')";
        while app.scalar_i64(size).await > 0 {
            assert!(std::time::Instant::now() < deadline, "the table of deltas keeps its dead rows");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
}

async fn the_pipeline_takes_no_parameters_and_needs_the_admin_token(engine: Engine) {
    let Some(app) =
        spawn_app_with(engine, |config| config.admin_token = Some(crm_webhooks::config::Secret::new("tok"))).await
    else {
        return;
    };
    let reply = app.send(app.client.get(app.url("/api/v1/stats/pipeline"))).await;
    assert_eq!((reply.status, reply.body.clone()), (401, json!({"detail": "Missing or invalid admin token"})));
    let reply = app.send(app.client.get(app.url("/api/v1/stats/pipeline")).bearer_auth("wrong")).await;
    assert_eq!(reply.status, 401);
    let reply = app.get("/api/v1/stats/pipeline?since=2024-01-01").await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    assert_eq!(reply.body["field"], "since");
    assert_eq!(app.get("/api/v1/stats/pipeline").await.status, 200);
}

on_both_engines!(
    an_empty_database_has_an_empty_funnel,
    the_funnel_counts_statuses_values_totals_and_rates,
    counts_follow_updates_and_stay_exact_once_folded,
    a_large_fold_leaves_no_dead_rows_behind,
    the_pipeline_takes_no_parameters_and_needs_the_admin_token,
);
