//! Attempts are recorded in batches, each attempt in a savepoint of its own: one that cannot be
//! written (here a trigger refuses its log row) is rolled back alone, and the attempts answered
//! beside it are still recorded — delivered, with their attempt and log rows.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{example_request, Engine, TestApp};
use crate::on_both_engines;
use crate::outgoing::{app_with, subscribe};
use crate::receiver::{Receiver, Reply};

on_both_engines!(an_attempt_that_cannot_be_recorded_leaves_the_others_recorded);

/// The last name of the lead whose delivery cannot be recorded.
const REFUSED: &str = "Unrecordable";
const LEADS: usize = 6;

fn refuse_its_log_row(engine: Engine) -> String {
    let when = format!("new.direction = 'outgoing' and new.request_body like '%{REFUSED}%'");
    match engine {
        Engine::Sqlite => format!(
            "create trigger refuse_record before insert on webhook_logs when {when} \
             begin select raise(abort, 'refused'); end"
        ),
        Engine::Postgres => format!(
            "create function refuse_record() returns trigger language plpgsql as \
             $$ begin raise exception 'refused'; end $$; \
             create trigger refuse_record before insert on webhook_logs for each row when ({when}) \
             execute function refuse_record()"
        ),
    }
}

async fn create_lead(app: &TestApp, last_name: &str) -> i64 {
    let mut data = example_request("new_lead")["data"].clone();
    data["last_name"] = json!(last_name);
    data["email"] = json!(format!("{}@example.com", last_name.to_lowercase()));
    app.new_lead(data).await
}

async fn an_attempt_that_cannot_be_recorded_leaves_the_others_recorded(engine: Engine) {
    let Some(app) = app_with(engine, &[0, 60_000]).await else { return };
    // Every answer comes late, so the attempts end together and are recorded together.
    let receiver = Receiver::with_plan(|_, _| Reply::Late(Duration::from_millis(300), 200)).await;
    subscribe(&app, json!({"url": receiver.url, "events": ["lead.created"]})).await;
    app.execute(&refuse_its_log_row(engine)).await;

    let mut refused = 0;
    for n in 0..LEADS {
        if n == LEADS / 2 {
            refused = create_lead(&app, REFUSED).await;
        } else {
            create_lead(&app, &format!("Batch{n}")).await;
        }
    }
    let received = receiver.wait_for(LEADS, Duration::from_secs(10)).await;
    assert_eq!(received.len(), LEADS, "every delivery was sent");

    let others = (LEADS - 1) as i64;
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.scalar_i64("select count(*) from webhook_deliveries where status = 'delivered'").await < others
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The others: delivered once each, with their attempt and their outgoing log row.
    assert_eq!(app.scalar_i64("select count(*) from webhook_deliveries where status = 'delivered'").await, others);
    assert_eq!(app.scalar_i64("select count(*) from delivery_attempts").await, others);
    assert_eq!(app.scalar_i64("select count(*) from webhook_logs where direction = 'outgoing'").await, others);
    // The refused one: nothing of its attempt was kept; it stays pending under its lease, to be
    // sent again once the lease runs out.
    let refused_delivery = format!("from webhook_deliveries where entity_type = 'lead' and entity_id = {refused}");
    assert_eq!(app.scalar_text(&format!("select status {refused_delivery}")).await.as_deref(), Some("pending"));
    assert_eq!(app.scalar_i64(&format!("select attempts {refused_delivery}")).await, 0);
    assert_eq!(app.scalar_i64(&format!("select count(*) {refused_delivery} and locked_until is not null")).await, 1);
    let its_attempts =
        format!("select count(*) from delivery_attempts where delivery_id = (select id {refused_delivery})");
    assert_eq!(app.scalar_i64(&its_attempts).await, 0);
    let refused_rows =
        format!("select count(*) from webhook_logs where direction = 'outgoing' and request_body like '%{REFUSED}%'");
    assert_eq!(app.scalar_i64(&refused_rows).await, 0);
}
