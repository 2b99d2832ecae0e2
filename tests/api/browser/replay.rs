//! Replay from the log's detail view in Chromium, on both engines: an update sent before its
//! lead existed is answered 404; once the lead exists, Replay applies it and shows the new answer.

use serde_json::json;

use super::{app, Browser, TOKEN};
use crate::helpers::{example_request, spawn_app_with, Engine};
use crate::on_both_engines;

on_both_engines!(replays_an_update_that_came_before_its_lead, says_why_a_row_cannot_be_replayed);

async fn replays_an_update_that_came_before_its_lead(engine: Engine) {
    let Some(app) = app(engine).await else { return };
    let early = json!({"event": "lead_update", "data": {"lead_status": "contacted", "notes": "called back"}});
    let refused = app.post("/incoming/lead/1/update", &early).await;
    assert_eq!(refused.status, 404, "{}", refused.text);

    let Some(mut browser) = Browser::start(&app.address).await else { return };
    browser.sign_in(TOKEN).await;
    browser.go("#/logs/1").await;
    browser.wait_text("#response-body", "Lead not found").await;
    // Replayed before the lead exists: the webhook answers 404 again, and the page says so.
    browser.expect_network_error("404");
    browser.click("#replay").await;
    browser.wait_text("#replay-outcome", "again").await;
    browser.wait_text("#replay-body", "Lead not found").await;

    let created = app.post("/incoming/lead/create", &example_request("new_lead")).await;
    assert_eq!((created.status, created.body["data"]["lead_id"].as_i64()), (200, Some(1)), "{}", created.text);
    browser.click("#replay").await;
    browser.wait_text("#replay-outcome", "this time").await;
    browser.wait_text("#replay-body", "\"status\": \"success\"").await;
    browser.screenshots("replay", "#replay-body").await;
    let lead = app.get("/api/v1/leads/1").await;
    assert_eq!(lead.body["lead_status"], "contacted", "the replay applied the update");

    let replay_row = browser.find("#replay-row").await.text().await.unwrap();
    browser.click("#replay-row").await;
    browser.wait_text("#view-logs h1", &format!("Log row {}", replay_row.trim_start_matches('#'))).await;
    browser.wait_text("#view-logs", "Replay of").await;
    assert!(browser.client.find(fantoccini::Locator::Css("#replay")).await.is_err(), "a success offers no replay");
    browser.finish().await;
}

async fn says_why_a_row_cannot_be_replayed(engine: Engine) {
    // Signatures are checked (the tests' secret) but no admin token is set: replay is refused.
    let Some(app) = spawn_app_with(engine, |c| c.admin_token = None).await else { return };
    let refused = app.post("/incoming/lead/7/update", &json!({"event": "lead_update", "data": {}})).await;
    assert_eq!(refused.status, 404, "{}", refused.text);
    let unsigned = app
        .client
        .post(app.webhook_url("/incoming/lead/create"))
        .header("content-type", "application/json")
        .body(example_request("new_lead").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 401);

    let Some(mut browser) = Browser::start(&app.address).await else { return };
    browser.open("#/logs/1").await;
    browser.wait_text("#response-body", "Lead not found").await;
    browser.expect_network_error("403");
    browser.click("#replay").await;
    browser.wait_text("#replay-error", "Replay needs CRM_ADMIN_TOKEN").await;
    // A call refused for its signature is never offered for replay.
    browser.go("#/logs/2").await;
    browser.wait_text("#view-logs h1", "Log row 2").await;
    assert!(browser.client.find(fantoccini::Locator::Css("#replay")).await.is_err(), "a 401 row offers no replay");
    browser.finish().await;
}
