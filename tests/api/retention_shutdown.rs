//! A shutdown in the middle of the outbox purge: each batch is one transaction, so the database is
//! left with no attempt without its delivery and no delivery without its event, and the next start
//! purges what is left.

use std::time::Duration;

use crm_webhooks::db::Db;
use crm_webhooks::retention::{RetentionConfig, BATCH_ROWS};
use crm_webhooks::Config;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::helpers::{fresh_database, Engine};
use crate::on_both_engines;
use crate::ops::metric_value;
use crate::retention::days_ago;

/// Old events, each with one delivery that finished with them and one attempt: five batches.
const EVENTS: i64 = 5 * BATCH_ROWS;

async fn seed(db: &Db) {
    let old = days_ago(40);
    db.write(move |conn| {
        Box::pin(async move {
            let subscription = conn
                .fetch_one(
                    "insert into webhook_subscriptions (url, secret, disabled, created_at, updated_at) \
                     values ('https://receiver.example/hook', 'whsec_c2VjcmV0', $1, $2, $2) returning id",
                    crm_webhooks::args![true, old.clone()],
                )
                .await?
                .get::<i64>(0)?;
            conn.execute(
                &format!(
                    "with recursive n(i) as (select cast(1 as bigint) union all select i + 1 from n where i < {EVENTS}) \
                     insert into outbox_events (event_id, event_type, payload, created_at) \
                     select 'msg_old_' || cast(i as text), 'lead.created', '{{}}', $1 from n"
                ),
                crm_webhooks::args![old.clone()],
            )
            .await?;
            conn.execute(
                "insert into webhook_deliveries (subscription_id, event_id, event_type, status, attempts, \
                 next_attempt_at, created_at) select $1, id, 'lead.created', 'delivered', 1, $2, $2 from outbox_events",
                crm_webhooks::args![subscription, old.clone()],
            )
            .await?;
            conn.execute(
                "insert into delivery_attempts (delivery_id, attempt, started_at, duration_ms) \
                 select id, 1, $1, 2.5 from webhook_deliveries",
                crm_webhooks::args![old],
            )
            .await?;
            Ok(())
        })
    })
    .await
    .unwrap();
}

struct Running {
    address: String,
    stop: oneshot::Sender<()>,
    served: JoinHandle<std::io::Result<()>>,
}

/// The service on `url` with only the outbox purged, a run every 100 ms (the first at start).
async fn start(url: &str) -> Running {
    let mut config = Config::for_database(url.to_string());
    config.retention = RetentionConfig {
        logs: Duration::ZERO,
        outbox: Duration::from_secs(7 * 86_400),
        every: Duration::from_millis(100),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app = crm_webhooks::build(config, listener).await.expect("build the app");
    let address = format!("http://{}", app.local_addr());
    let (stop, stopped) = oneshot::channel::<()>();
    let served = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    Running { address, stop, served }
}

impl Running {
    async fn purged_deliveries(&self) -> i64 {
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let text = client.get(format!("{}/metrics", self.address)).send().await.unwrap().text().await.unwrap();
        metric_value(&text, "crm_retention_purged_rows_total{table=\"webhook_deliveries\"}") as i64
    }

    /// Polls (at most a minute) until the service has purged at least `rows` deliveries.
    async fn until_purged(&self, rows: i64) {
        for _ in 0..6000 {
            if self.purged_deliveries().await >= rows {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("fewer than {rows} deliveries purged within a minute");
    }

    /// A graceful shutdown, as on SIGTERM: the tasks stop and are awaited, the database closes.
    async fn shut_down(self) {
        self.stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(60), self.served).await.unwrap().unwrap().unwrap();
    }
}

/// (deliveries, attempts, events, attempts without their delivery, deliveries without their event)
async fn left(url: &str) -> [i64; 5] {
    let db = Db::connect(&Config::for_database(url.to_string())).await.unwrap();
    let counts = db
        .write(|conn| {
            Box::pin(async move {
                let row = conn
                    .fetch_one(
                        "select (select count(*) from webhook_deliveries) as deliveries, \
                         (select count(*) from delivery_attempts) as attempts, \
                         (select count(*) from outbox_events) as events, \
                         (select count(*) from delivery_attempts a where not exists \
                          (select 1 from webhook_deliveries d where d.id = a.delivery_id)) as lost_attempts, \
                         (select count(*) from webhook_deliveries d where not exists \
                          (select 1 from outbox_events e where e.id = d.event_id)) as lost_deliveries",
                        Vec::new(),
                    )
                    .await?;
                let names = ["deliveries", "attempts", "events", "lost_attempts", "lost_deliveries"];
                let mut counts = [0; 5];
                for (count, name) in counts.iter_mut().zip(names) {
                    *count = row.get::<i64>(name)?;
                }
                Ok(counts)
            })
        })
        .await
        .unwrap();
    db.close().await;
    counts
}

async fn a_shutdown_in_the_middle_of_a_purge_leaves_a_whole_outbox_and_the_next_start_finishes_it(engine: Engine) {
    let Some(database) = fresh_database(engine).await else { return };
    let db = Db::connect(&Config::for_database(database.url.clone())).await.expect("migrate");
    seed(&db).await;
    db.close().await;

    // Stopped once the first batch is in: each batch is followed by a pause nine times as long.
    let first = start(&database.url).await;
    first.until_purged(1).await;
    first.shut_down().await;
    let [deliveries, attempts, events, lost_attempts, lost_deliveries] = left(&database.url).await;
    assert!(deliveries > 0 && deliveries < EVENTS, "stopped in the middle of the purge: {deliveries} deliveries left");
    assert_eq!((lost_attempts, lost_deliveries), (0, 0));
    // Every delivery went with its attempt and its event, in the same batch.
    assert_eq!((attempts, events), (deliveries, deliveries));

    let next = start(&database.url).await;
    next.until_purged(deliveries).await;
    next.shut_down().await;
    assert_eq!(left(&database.url).await, [0; 5]);
}

on_both_engines!(a_shutdown_in_the_middle_of_a_purge_leaves_a_whole_outbox_and_the_next_start_finishes_it);
