//! Retention: the application's purge tasks delete log rows older than `CRM_LOG_RETENTION` and
//! deliveries that finished more than `CRM_OUTBOX_RETENTION` ago (with their attempts and, once no
//! delivery names them, their events); younger rows and rows still needed stay; `0` keeps
//! everything. The seeded rows are written before the app starts, so that the tasks' first runs
//! (made at start) find them.

use std::time::Duration;

use crm_webhooks::args;
use crm_webhooks::db::Db;
use crm_webhooks::domain::time;
use crm_webhooks::retention::RetentionConfig;

use crate::helpers::{spawn_app_seeded, Engine, TestApp};
use crate::on_both_engines;
use crate::ops::metric_value;

const DAY: Duration = Duration::from_secs(86_400);

pub fn days_ago(days: i64) -> String {
    time::format(chrono::Utc::now() - chrono::Duration::days(days))
}

/// A log row created `days` ago; returns its id.
pub async fn log_row(db: &Db, direction: &'static str, days: i64) -> i64 {
    let created = days_ago(days);
    db.write(move |conn| {
        Box::pin(async move {
            let row = conn
                .fetch_one(
                    "insert into webhook_logs (direction, event, method, path, request_headers, response_status, \
                     is_successful, duration_ms, created_at, processed_at) \
                     values ($1, 'new_lead', 'POST', '/seeded', '{}', 200, $2, 1.5, $3, $3) returning id",
                    args![direction, true, created],
                )
                .await?;
            Ok(row.get::<i64>(0)?)
        })
    })
    .await
    .unwrap()
}

/// An outbox event created `days` ago, with no delivery; returns its id.
pub async fn event(db: &Db, days: i64) -> i64 {
    let created = days_ago(days);
    db.write(move |conn| {
        Box::pin(async move {
            let row = conn
                .fetch_one(
                    "insert into outbox_events (event_id, event_type, payload, created_at) \
                     values ($1, 'lead.created', '{}', $2) returning id",
                    args![format!("msg_{}", uuid::Uuid::new_v4().simple()), created],
                )
                .await?;
            Ok(row.get::<i64>(0)?)
        })
    })
    .await
    .unwrap()
}

/// A delivery of a new event created `created` days ago, to a disabled subscription (so that the
/// worker leaves it alone), in `status` since `finished` days ago, with one attempt whose outgoing
/// log row is as old. Returns (event id, delivery id, log id).
pub async fn delivery(db: &Db, status: &'static str, created: i64, finished: i64) -> (i64, i64, i64) {
    let event_id = event(db, created).await;
    let log_id = log_row(db, "outgoing", finished).await;
    let (created, finished) = (days_ago(created), days_ago(finished));
    let delivery_id = db
        .write(move |conn| {
            Box::pin(async move {
                let subscription = conn
                    .fetch_one(
                        "insert into webhook_subscriptions (url, secret, disabled, created_at, updated_at) \
                         values ('https://receiver.example/hook', 'whsec_c2VjcmV0', $1, $2, $2) returning id",
                        args![true, created.clone()],
                    )
                    .await?
                    .get::<i64>(0)?;
                let delivery = conn
                    .fetch_one(
                        "insert into webhook_deliveries (subscription_id, event_id, event_type, status, attempts, \
                         next_attempt_at, created_at) values ($1, $2, 'lead.created', $3, 1, $4, $5) returning id",
                        args![subscription, event_id, status, finished.clone(), created],
                    )
                    .await?
                    .get::<i64>(0)?;
                conn.execute(
                    "insert into delivery_attempts (delivery_id, attempt, started_at, duration_ms, log_id) \
                     values ($1, 1, $2, 2.5, $3)",
                    args![delivery, finished, log_id],
                )
                .await?;
                Ok(delivery)
            })
        })
        .await
        .unwrap();
    (event_id, delivery_id, log_id)
}

fn runs(metrics: &str, task: &str) -> f64 {
    let series = format!("crm_task_runs_total{{task=\"{task}\"}}");
    if metrics.contains(&series) {
        metric_value(metrics, &series)
    } else {
        0.0
    }
}

/// Waits until the traffic rollup has folded the `seeded` log rows (only folded rows may go),
/// then until each retention task in `tasks` has made a whole run after that; returns
/// `/metrics`. At most a minute, or the test fails.
pub async fn purged_after_fold(app: &TestApp, seeded: f64, tasks: &[&str]) -> String {
    let mut since: Option<Vec<f64>> = None;
    for _ in 0..600 {
        let text = app.get("/metrics").await.text;
        for task in tasks {
            assert!(text.contains(&format!("crm_task_errors_total{{task=\"{task}\"}} 0")), "{text}");
        }
        match &since {
            None if metric_value(&text, "crm_traffic_rollup_rows_total") >= seeded => {
                since = Some(tasks.iter().map(|task| runs(&text, task)).collect());
            }
            Some(before) if tasks.iter().zip(before).all(|(task, n)| runs(&text, task) >= n + 2.0) => return text,
            _ => {}
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{tasks:?} did not run after the fold within a minute");
}

/// Retention as configured, with runs every 100 ms.
fn often(logs: Duration, outbox: Duration) -> impl FnOnce(&mut crm_webhooks::Config) {
    move |config| config.retention = RetentionConfig { logs, outbox, every: Duration::from_millis(100) }
}

fn purged(metrics: &str, table: &str) -> f64 {
    metric_value(metrics, &format!("crm_retention_purged_rows_total{{table=\"{table}\"}}"))
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    app.scalar_i64(sql).await
}

async fn log_rows_older_than_the_retention_are_purged_and_younger_ones_kept(engine: Engine) {
    let seeded = |db: Db| async move {
        for days in [31, 45, 400] {
            log_row(&db, "incoming", days).await;
        }
        log_row(&db, "outgoing", 31).await;
        log_row(&db, "incoming", 29).await;
    };
    let Some(app) = spawn_app_seeded(engine, often(30 * DAY, 7 * DAY), seeded).await else { return };
    app.create_lead().await;
    let metrics = purged_after_fold(&app, 5.0, &["log_retention"]).await;
    assert_eq!(purged(&metrics, "webhook_logs"), 4.0, "{metrics}");
    assert_eq!(count(&app, "select count(*) from webhook_logs where path = '/seeded'").await, 1, "the 29-day row");
    let cutoff = days_ago(30);
    assert_eq!(count(&app, &format!("select count(*) from webhook_logs where created_at < '{cutoff}'")).await, 0);
    assert_eq!(
        count(&app, "select count(*) from webhook_logs where event = 'new_lead' and path <> '/seeded'").await,
        1
    );
    // The traffic rollups of the purged rows' minutes go too (the 31-day incoming and outgoing
    // rows are two rollup rows, whatever their minutes); the 29-day row's minute stays.
    assert_eq!(purged(&metrics, "traffic_minutes"), 4.0, "{metrics}");
    assert_eq!(purged(&metrics, "traffic_hours"), 4.0, "{metrics}");
    assert_eq!(count(&app, &format!("select count(*) from traffic_minutes where minute < '{cutoff}'")).await, 0);
    assert_eq!(count(&app, &format!("select count(*) from traffic_hours where hour < '{cutoff}'")).await, 0);
    let younger = days_ago(28);
    let kept = format!("select count(*) from traffic_minutes where minute >= '{cutoff}' and minute < '{younger}'");
    assert_eq!(count(&app, &kept).await, 1);
    let traffic = app.get(&format!("/api/v1/stats/traffic?since={}&bucket=day", &days_ago(60)[..10])).await;
    assert_eq!(traffic.status, 200, "{}", traffic.text);
    assert_eq!(
        traffic.body["totals"]["requests"].as_i64().unwrap(),
        app.scalar_i64("select count(*) from webhook_logs").await
    );
}

async fn finished_deliveries_go_with_their_attempts_and_events_and_the_rest_stays(engine: Engine) {
    let kept = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = kept.clone();
    let seeded = |db: Db| async move {
        delivery(&db, "delivered", 10, 10).await;
        delivery(&db, "dead", 9, 8).await;
        delivery(&db, "cancelled", 9, 9).await;
        event(&db, 8).await;
        event(&db, 6).await;
        // Finished within the retention though created before it; still pending after 40 days.
        let recent = delivery(&db, "delivered", 10, 3).await;
        let pending = delivery(&db, "pending", 40, 40).await;
        keep.lock().unwrap().extend([recent, pending]);
    };
    let Some(app) = spawn_app_seeded(engine, often(30 * DAY, 7 * DAY), seeded).await else { return };
    let metrics = purged_after_fold(&app, 5.0, &["log_retention", "outbox_retention"]).await;
    let kept = kept.lock().unwrap().clone();
    assert_eq!(purged(&metrics, "webhook_deliveries"), 3.0, "{metrics}");
    assert_eq!(purged(&metrics, "delivery_attempts"), 3.0, "{metrics}");
    assert_eq!(purged(&metrics, "outbox_events"), 4.0, "{metrics}");
    let ids = |pick: fn(&(i64, i64, i64)) -> i64| kept.iter().map(pick).map(|id| id.to_string()).collect::<Vec<_>>();
    let (events, deliveries) = (ids(|k| k.0).join(","), ids(|k| k.1).join(","));
    assert_eq!(count(&app, "select count(*) from webhook_deliveries").await, 2);
    assert_eq!(count(&app, &format!("select count(*) from webhook_deliveries where id in ({deliveries})")).await, 2);
    assert_eq!(
        count(&app, &format!("select count(*) from delivery_attempts where delivery_id in ({deliveries})")).await,
        2
    );
    assert_eq!(count(&app, "select count(*) from delivery_attempts").await, 2);
    // The two kept deliveries' events, and the 6-day event without a delivery.
    assert_eq!(count(&app, "select count(*) from outbox_events").await, 3);
    assert_eq!(count(&app, &format!("select count(*) from outbox_events where id in ({events})")).await, 2);
    // The pending delivery's 40-day attempt log row outlives the 30-day log retention.
    let pending_log = kept[1].2;
    assert_eq!(count(&app, &format!("select count(*) from webhook_logs where id = {pending_log}")).await, 1);
    let answer = app.get(&format!("/api/v1/webhooks/deliveries/{}", kept[1].1)).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.body["attempt_history"][0]["log_id"], pending_log, "{}", answer.text);
}

async fn zero_keeps_everything(engine: Engine) {
    let seeded = |db: Db| async move {
        log_row(&db, "incoming", 400).await;
        delivery(&db, "delivered", 400, 400).await;
        event(&db, 400).await;
    };
    // Logs kept for ever while the outbox is purged, then the other way round.
    let Some(app) = spawn_app_seeded(engine, often(Duration::ZERO, 7 * DAY), seeded).await else { return };
    let metrics = purged_after_fold(&app, 2.0, &["outbox_retention"]).await;
    assert_eq!(purged(&metrics, "outbox_events"), 2.0, "{metrics}");
    assert!(!metrics.contains("task=\"log_retention\""), "{metrics}");
    assert_eq!(purged(&metrics, "webhook_logs"), 0.0);
    assert_eq!(count(&app, "select count(*) from webhook_logs").await, 2);
    assert_eq!(
        (purged(&metrics, "traffic_minutes"), count(&app, "select count(*) from traffic_minutes").await),
        (0.0, 2)
    );
    assert_eq!((purged(&metrics, "traffic_hours"), count(&app, "select count(*) from traffic_hours").await), (0.0, 2));

    let Some(app) = spawn_app_seeded(engine, often(30 * DAY, Duration::ZERO), seeded).await else { return };
    let metrics = purged_after_fold(&app, 2.0, &["log_retention"]).await;
    assert_eq!(purged(&metrics, "webhook_logs"), 2.0, "{metrics}");
    assert!(!metrics.contains("task=\"outbox_retention\""), "{metrics}");
    assert_eq!(count(&app, "select count(*) from outbox_events").await, 2);
    assert_eq!(count(&app, "select count(*) from webhook_deliveries").await, 1);
    assert_eq!(count(&app, "select count(*) from delivery_attempts").await, 1);
}

async fn a_repeat_is_still_replayed_after_its_log_row_is_purged(engine: Engine) {
    let Some(app) = crate::helpers::spawn_app(engine).await else { return };
    let body = br#"{"data":{"company_name":"Kept Once"}}"#;
    let key = [("idempotency-key", "purged-log")];
    let first = app.post_raw("/incoming/lead/create", body, &key).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let db = Db::connect(&crm_webhooks::Config::for_database(app.database_url.clone())).await.unwrap();
    let (old, engine_of_db) = (days_ago(40), db.engine());
    let purged = db
        .write(move |conn| {
            Box::pin(async move {
                conn.execute("update webhook_logs set created_at = $1", args![old]).await?;
                crm_webhooks::stats::rollup::fold(conn, chrono::Utc::now()).await?;
                Ok(crm_webhooks::retention::store::logs(conn, engine_of_db, &days_ago(30), "", 1000).await?)
            })
        })
        .await
        .unwrap();
    db.close().await;
    assert_eq!(purged.rows, vec![("webhook_logs", 1)]);
    assert_eq!(count(&app, "select count(*) from webhook_logs").await, 0);
    let again = app.post_raw("/incoming/lead/create", body, &key).await;
    assert_eq!((again.status, again.text.as_str()), (200, first.text.as_str()));
    assert_eq!(again.headers["idempotent-replayed"], "true");
    let other = app.post_raw("/incoming/lead/create", br#"{"data":{"company_name":"Other"}}"#, &key).await;
    assert_eq!(other.status, 409, "{}", other.text);
    assert_eq!(count(&app, "select count(*) from leads").await, 1);
}

on_both_engines!(
    log_rows_older_than_the_retention_are_purged_and_younger_ones_kept,
    finished_deliveries_go_with_their_attempts_and_events_and_the_rest_stays,
    zero_keeps_everything,
    a_repeat_is_still_replayed_after_its_log_row_is_purged,
);
