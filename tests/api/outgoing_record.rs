//! Attempts are recorded in batches, each attempt in a savepoint of its own: one that cannot be
//! written is rolled back alone, and the attempts answered beside it are still recorded —
//! delivered, with their attempt and log rows. A trigger refuses either the attempt's log row
//! (written at once) or its attempt row (which a PostgreSQL batch holds until its commit, so the
//! commit is refused and the batch is written again one attempt at a time).

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{example_request, Engine, TestApp};
use crate::on_both_engines;
use crate::outgoing::{app_with, subscribe};
use crate::receiver::{Receiver, Reply};

on_both_engines!(
    an_attempt_that_cannot_be_recorded_leaves_the_others_recorded,
    an_attempt_row_refused_at_the_commit_leaves_the_others_recorded
);

/// The last names of the leads whose deliveries cannot be recorded start with this.
const REFUSED: &str = "Unrecordable";
const LEADS: usize = 16;

/// A trigger that refuses a row of `table` when `when` holds.
fn refuse(engine: Engine, table: &str, when: &str) -> String {
    match engine {
        Engine::Sqlite => format!(
            "create trigger refuse_record before insert on {table} when {when} \
             begin select raise(abort, 'refused'); end"
        ),
        Engine::Postgres => format!(
            "create function refuse_record() returns trigger language plpgsql as \
             $$ begin raise exception 'refused'; end $$; \
             create trigger refuse_record before insert on {table} for each row when ({when}) \
             execute function refuse_record()"
        ),
    }
}

fn refuse_its_log_row(engine: Engine) -> String {
    refuse(engine, "webhook_logs", &format!("new.direction = 'outgoing' and new.request_body like '%{REFUSED}%'"))
}

/// The receiver answers the refused leads' deliveries with this (still a success), and the trigger
/// refuses the attempt rows that have it.
const REFUSED_STATUS: u16 = 299;

fn refuse_its_attempt_row(engine: Engine) -> String {
    refuse(engine, "delivery_attempts", &format!("new.status_code = {REFUSED_STATUS}"))
}

async fn create_lead(app: &TestApp, last_name: &str) -> i64 {
    let mut data = example_request("new_lead")["data"].clone();
    data["last_name"] = json!(last_name);
    data["email"] = json!(format!("{}@example.com", last_name.to_lowercase()));
    app.new_lead(data).await
}

async fn an_attempt_that_cannot_be_recorded_leaves_the_others_recorded(engine: Engine) {
    half_refused(engine, refuse_its_log_row(engine)).await;
}

async fn an_attempt_row_refused_at_the_commit_leaves_the_others_recorded(engine: Engine) {
    half_refused(engine, refuse_its_attempt_row(engine)).await;
}

/// Every other lead's delivery cannot be recorded; the rest are delivered and recorded.
async fn half_refused(engine: Engine, trigger: String) {
    let Some(app) = app_with(engine, &[0, 60_000]).await else { return };
    // Every answer waits until 300 ms after the first request came, so the attempts end together
    // and are recorded in batches that mix refused and accepted attempts.
    let first: Arc<OnceLock<Instant>> = Arc::default();
    let receiver = Receiver::with_plan(move |received, _| {
        let refused = String::from_utf8_lossy(&received.body).contains(REFUSED);
        let until = *first.get_or_init(Instant::now) + Duration::from_millis(300);
        Reply::Late(until.saturating_duration_since(Instant::now()), if refused { REFUSED_STATUS } else { 200 })
    })
    .await;
    subscribe(&app, json!({"url": receiver.url, "events": ["lead.created"]})).await;
    app.execute(&trigger).await;

    let mut refused = Vec::new();
    for n in 0..LEADS {
        if n % 2 == 1 {
            refused.push(create_lead(&app, &format!("{REFUSED}{n}")).await);
        } else {
            create_lead(&app, &format!("Batch{n}")).await;
        }
    }
    let received = receiver.wait_for(LEADS, Duration::from_secs(10)).await;
    assert_eq!(received.len(), LEADS, "every delivery was sent");

    let others = (LEADS - refused.len()) as i64;
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
    // The refused ones: nothing of their attempts was kept; each stays pending under its lease,
    // to be sent again once the lease runs out.
    for lead in refused {
        let refused_delivery = format!("from webhook_deliveries where entity_type = 'lead' and entity_id = {lead}");
        assert_eq!(app.scalar_text(&format!("select status {refused_delivery}")).await.as_deref(), Some("pending"));
        assert_eq!(app.scalar_i64(&format!("select attempts {refused_delivery}")).await, 0);
        let leased = format!("select count(*) {refused_delivery} and locked_until is not null");
        assert_eq!(app.scalar_i64(&leased).await, 1);
        let its_attempts =
            format!("select count(*) from delivery_attempts where delivery_id = (select id {refused_delivery})");
        assert_eq!(app.scalar_i64(&its_attempts).await, 0);
    }
    let refused_rows =
        format!("select count(*) from webhook_logs where direction = 'outgoing' and request_body like '%{REFUSED}%'");
    assert_eq!(app.scalar_i64(&refused_rows).await, 0);
}
