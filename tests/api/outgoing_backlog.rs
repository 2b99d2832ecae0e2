//! Claims behind a backlog that waits: hundreds of pending deliveries older than the due ones, held
//! behind an earlier delivery of their record that waits for its retry, or to a disabled
//! subscription. The due deliveries still go out, in order per record; the held ones follow their
//! record's first delivery once it is sent, and the disabled subscription's once it is enabled.

use std::time::Duration;

use crm_webhooks::args;
use crm_webhooks::db::Db;
use crm_webhooks::domain::time;
use serde_json::json;

use crate::helpers::{spawn_app_seeded, Engine};
use crate::on_both_engines;
use crate::outgoing::{admin, fast_delivery, wait_delivery};
use crate::receiver::{Received, Receiver};

on_both_engines!(due_deliveries_go_out_in_order_behind_deliveries_that_wait);

/// Deliveries held behind the first of their record, and deliveries to the disabled subscription.
const BACKLOG: usize = 300;
/// Due deliveries about another record, younger than the whole backlog.
const DUE: usize = 5;

/// One pending delivery to seed; `name` becomes its `webhook-id`.
struct Pending {
    subscription: i64,
    order_key: Option<String>,
    name: String,
    attempts: i64,
    next_attempt_at: String,
}

fn minutes_from_now(minutes: i64) -> String {
    time::format(chrono::Utc::now() + chrono::Duration::minutes(minutes))
}

/// `n` seconds after a day ago: every seeded delivery is due (and older than what follows it).
fn a_day_ago_plus(n: usize) -> String {
    time::format(chrono::Utc::now() - chrono::Duration::days(1) + chrono::Duration::seconds(n as i64))
}

async fn subscription(db: &Db, url: &str, disabled: bool) -> i64 {
    let url = url.to_string();
    db.write(move |conn| {
        Box::pin(async move {
            let row = conn
                .fetch_one(
                    "insert into webhook_subscriptions (url, secret, disabled, created_at, updated_at) \
                     values ($1, 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', $2, $3, $3) returning id",
                    args![url, disabled, time::now()],
                )
                .await?;
            Ok(row.get::<i64>(0)?)
        })
    })
    .await
    .unwrap()
}

/// Writes the deliveries in the order given (their ids increase in it); returns their ids.
async fn seed(db: &Db, pending: Vec<Pending>) -> Vec<i64> {
    db.write(move |conn| {
        Box::pin(async move {
            let mut change = conn.begin().await?;
            let mut ids = Vec::new();
            for p in pending {
                let now = time::now();
                let event = change
                    .fetch_one(
                        "insert into outbox_events (event_id, event_type, payload, created_at) \
                         values ($1, 'lead.updated', $2, $3) returning id",
                        args![p.name.clone(), json!({"type": "lead.updated", "data": {}}).to_string(), now.clone()],
                    )
                    .await?
                    .get::<i64>(0)?;
                let id = change
                    .fetch_one(
                        "insert into webhook_deliveries (subscription_id, event_id, event_type, order_key, status, \
                         attempts, next_attempt_at, created_at) values ($1, $2, 'lead.updated', $3, 'pending', $4, $5, $6) \
                         returning id",
                        args![p.subscription, event, p.order_key, p.attempts, p.next_attempt_at, now],
                    )
                    .await?
                    .get::<i64>(0)?;
                ids.push(id);
            }
            change.commit().await?;
            Ok(ids)
        })
    })
    .await
    .unwrap()
}

fn names(received: &[Received], prefix: &str) -> Vec<String> {
    received.iter().map(Received::id).filter(|id| id.starts_with(prefix)).collect()
}

fn numbered(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i:04}")).collect()
}

async fn due_deliveries_go_out_in_order_behind_deliveries_that_wait(engine: Engine) {
    let (open, closed) = (Receiver::start().await, Receiver::start().await);
    let (open_url, closed_url) = (open.url.clone(), closed.url.clone());
    let seeded = std::sync::Arc::new(std::sync::Mutex::new((0, 0, 0)));
    let keep = seeded.clone();
    let seeding = move |db: Db| async move {
        let enabled = subscription(&db, &open_url, false).await;
        let disabled = subscription(&db, &closed_url, true).await;
        let mut pending = Vec::new();
        let one = |subscription, key: &str, name: String, next_attempt_at| Pending {
            subscription,
            order_key: Some(key.to_string()),
            name,
            attempts: 0,
            next_attempt_at,
        };
        // The first delivery about lead 1 failed and waits an hour for its retry.
        pending.push(Pending { attempts: 1, ..one(enabled, "lead:1", "msg_first".into(), minutes_from_now(60)) });
        for (i, name) in numbered("msg_held_", BACKLOG).into_iter().enumerate() {
            pending.push(one(enabled, "lead:1", name, a_day_ago_plus(i)));
            let key = format!("lead:{}", 10 + i % 3);
            pending.push(one(disabled, &key, format!("msg_off_{}_{i:04}", i % 3), a_day_ago_plus(i)));
        }
        for (i, name) in numbered("msg_due_", DUE).into_iter().enumerate() {
            pending.push(one(enabled, "lead:2", name, a_day_ago_plus(BACKLOG + i)));
        }
        let ids = seed(&db, pending).await;
        *keep.lock().unwrap() = (enabled, disabled, ids[0]);
    };
    let tweak = |config: &mut crm_webhooks::Config| config.delivery = fast_delivery(&[0, 50]);
    let Some(app) = spawn_app_seeded(engine, tweak, seeding).await else { return };
    let (_, disabled, first) = *seeded.lock().unwrap();

    // The due deliveries about lead 2 arrive, in order, past every delivery that waits.
    let got = open.wait_for(DUE, Duration::from_secs(30)).await;
    assert_eq!(names(&got, "msg_due_"), numbered("msg_due_", DUE), "{:?}", names(&got, "msg_"));
    assert!(names(&got, "msg_held_").is_empty() && names(&got, "msg_first").is_empty());
    assert_eq!(closed.count(), 0, "a disabled subscription receives nothing");
    let waiting = admin(&app, "GET", &format!("/deliveries/{first}"), None).await;
    assert_eq!((waiting.body["status"].as_str(), waiting.body["attempts"].as_i64()), (Some("pending"), Some(1)));

    // Sent now, the first delivery about lead 1 lets the held ones go, one after the other.
    let retried = admin(&app, "POST", &format!("/deliveries/{first}/retry"), None).await;
    assert_eq!(retried.status, 200, "{}", retried.text);
    let sent = wait_delivery(&app, first, Duration::from_secs(30), |d| d["status"] == "delivered").await;
    assert_eq!(sent["status"], "delivered", "{sent}");
    let got = open.wait_for(DUE + 1 + BACKLOG, Duration::from_secs(120)).await;
    assert_eq!(names(&got, "msg_first"), vec!["msg_first".to_string()]);
    assert_eq!(names(&got, "msg_held_"), numbered("msg_held_", BACKLOG));
    assert_eq!(got.len(), DUE + 1 + BACKLOG, "each delivery once");

    // Enabled, the subscription receives what waited for it, in order per record.
    let enabling = admin(&app, "PATCH", &format!("/subscriptions/{disabled}"), Some(json!({"disabled": false}))).await;
    assert_eq!(enabling.status, 200, "{}", enabling.text);
    let got = closed.wait_for(BACKLOG, Duration::from_secs(120)).await;
    assert_eq!(got.len(), BACKLOG);
    for record in 0..3 {
        let prefix = format!("msg_off_{record}_");
        let expected: Vec<String> =
            (0..BACKLOG).filter(|i| i % 3 == record).map(|i| format!("{prefix}{i:04}")).collect();
        assert_eq!(names(&got, &prefix), expected);
    }
}
