//! A commit wakes the delivery worker only while a subscription may take its event; one made by
//! another instance (here written straight into the database, as that instance would) is found
//! by the worker's own look, and the events committed meanwhile are delivered all the same.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{Engine, TestApp};
use crate::on_both_engines;
use crate::outgoing::{admin, app_with, subscribe};
use crate::receiver::Receiver;

/// The leads whose `lead.created` event the receiver got, each once (delivery is at least once:
/// on a loaded machine an attempt can time out after its receipt and be made again).
fn created_leads(receiver: &Receiver) -> Vec<i64> {
    let mut ids: Vec<i64> = receiver
        .all()
        .iter()
        .map(|r| r.json())
        .filter(|body| body["type"] == "lead.created")
        .map(|body| body["data"]["lead"]["id"].as_i64().unwrap())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

async fn subscribe_as_another_instance(app: &TestApp, url: &str) {
    app.execute(&format!(
        "insert into webhook_subscriptions (url, secret, disabled, created_at, updated_at) values \
         ('{url}', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', false, '2026-12-01T00:00:00.000000Z', \
         '2026-12-01T00:00:00.000000Z')"
    ))
    .await;
}

async fn a_subscription_made_by_another_instance_gets_the_events_committed_here(engine: Engine) {
    let Some(app) = app_with(engine, &[0, 100]).await else { return };
    let receiver = Receiver::start().await;
    // Longer than the worker's first look, which finds no subscription: commits stop waking it.
    app.create_lead().await;
    tokio::time::sleep(Duration::from_millis(1200)).await;

    subscribe_as_another_instance(&app, &receiver.url).await;
    let first = app.create_lead().await;
    let second = app.create_lead().await;
    receiver.wait_for(2, Duration::from_secs(15)).await;
    assert_eq!(created_leads(&receiver), vec![first, second], "the events committed after the subscription");
    // Each attempt is recorded after its receipt: wait for both records.
    let delivered = "select count(*) from webhook_deliveries where status = 'delivered'";
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while app.scalar_i64(delivered).await < 2 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(app.scalar_i64(delivered).await, 2);
    assert_eq!(app.scalar_i64("select count(*) from webhook_deliveries").await, 2, "none for the first lead");
}

async fn events_flow_again_once_a_subscription_is_enabled_here(engine: Engine) {
    let Some(app) = app_with(engine, &[0, 100]).await else { return };
    let receiver = Receiver::start().await;
    let (subscription, _) = subscribe(&app, json!({"url": receiver.url})).await;
    let disabled =
        admin(&app, "PATCH", &format!("/subscriptions/{subscription}"), Some(json!({"disabled": true}))).await;
    assert_eq!(disabled.status, 200, "{}", disabled.text);
    app.create_lead().await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(receiver.count(), 0, "no delivery while the only subscription is disabled");

    let enabled =
        admin(&app, "PATCH", &format!("/subscriptions/{subscription}"), Some(json!({"disabled": false}))).await;
    assert_eq!(enabled.status, 200, "{}", enabled.text);
    let lead = app.create_lead().await;
    receiver.wait_for(1, Duration::from_secs(15)).await;
    assert_eq!(created_leads(&receiver), vec![lead]);
}

on_both_engines!(
    a_subscription_made_by_another_instance_gets_the_events_committed_here,
    events_flow_again_once_a_subscription_is_enabled_here,
);
