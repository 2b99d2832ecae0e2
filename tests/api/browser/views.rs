//! The dashboard's views in Chromium, on both engines.

use fantoccini::key::Key;
use serde_json::json;

use super::{app, Browser, TOKEN};
use crate::helpers::{spawn_app_with, Engine};
use crate::on_both_engines;

on_both_engines!(
    signs_in_and_follows_webhooks_through_overview_and_logs,
    opens_without_sign_in_when_no_token_is_set,
    finds_a_lead_by_email_and_opens_its_record,
    pages_the_log_by_cursor,
    works_by_keyboard_alone
);

async fn signs_in_and_follows_webhooks_through_overview_and_logs(engine: Engine) {
    let Some(app) = app(engine).await else { return };
    let Some(mut browser) = Browser::start(&app.address).await else { return };

    browser.open("").await;
    browser.find("#sign-in").await;
    browser.screenshots("sign-in", "#sign-in").await;
    browser.expect_network_error("401");
    browser.type_into("#token", "not-the-token").await;
    browser.click("#sign-in button[type=submit]").await;
    browser.wait_text("#sign-in-error", "not accepted").await;

    browser.type_into("#token", TOKEN).await;
    browser.click("#sign-in button[type=submit]").await;
    browser.wait_text("#view-overview", "Nothing has arrived yet").await;
    browser.wait_text("#view-overview", "/api/v1/webhooks/incoming/lead/create").await;

    let created = app.post("/incoming/lead/create", &crate::helpers::example_request("new_lead")).await;
    assert_eq!(created.status, 200, "{}", created.text);
    // An update of a lead that does not exist, carrying markup that must stay text.
    let hostile = json!({"event": "lead_update", "data": {"notes": "<img src=x id=injected onerror=\"document.title='owned'\">"}});
    assert_eq!(app.post("/incoming/lead/987654/update", &hostile).await.status, 404);

    browser.go("#/logs").await;
    browser.go("#/overview").await;
    browser.wait_text("#overview-figures", "1 failed").await;
    browser.wait_text("#view-overview", "Lead not found").await;
    browser.find("#traffic-chart svg").await;
    let chart = browser.eval("document.querySelector('#traffic-chart svg').getAttribute('aria-label')").await;
    assert!(chart.as_str().unwrap().contains("2 requests, 1 failed"), "{chart}");
    browser.wait_text("#failing-events", "lead_update").await;
    browser.wait_text("#failures-by-status", "HTTP 404").await;
    browser.screenshots("overview", "#traffic-chart svg").await;

    browser.go("#/logs").await;
    browser.wait_text("#log-table", "new_lead").await;
    browser.wait_text("#log-table", "lead_update").await;
    browser.screenshots("logs", "#log-table").await;

    browser.find("#log-filters select[name=is_successful]").await.select_by_value("false").await.unwrap();
    browser.click("#log-filters button[type=submit]").await;
    browser.wait_text("#log-table", "404").await;
    let rows = browser.client.find_all(fantoccini::Locator::Css("#log-table tbody tr")).await.unwrap();
    assert_eq!(rows.len(), 1, "only the failed call is listed");

    browser.click("#log-table tbody a").await;
    browser.wait_text("#view-logs", "/api/v1/webhooks/incoming/lead/987654/update").await;
    browser.wait_text("#request-body", "<img src=x id=injected").await;
    assert!(
        browser.client.find(fantoccini::Locator::Css("#injected")).await.is_err(),
        "no markup from a body reaches the page"
    );
    assert_ne!(browser.client.title().await.unwrap(), "owned");
    browser.wait_text("#response-body", "Lead not found").await;
    browser.screenshots("log-detail", "#request-body").await;

    browser.click("#sign-out").await;
    browser.wait_text("#sign-in", "Signed out").await;
    browser.finish().await;
}

async fn opens_without_sign_in_when_no_token_is_set(engine: Engine) {
    let Some(app) = spawn_app_with(engine, |c| c.admin_token = None).await else { return };
    let Some(mut browser) = Browser::start(&app.address).await else { return };
    browser.open("#/overview").await;
    browser.wait_text("#banner", "No admin token is set").await;
    browser.wait_text("#view-overview", "Nothing has arrived yet").await;
    assert!(!browser.find("#sign-out").await.is_displayed().await.unwrap(), "nothing to sign out of");
    let background = "getComputedStyle(document.body).backgroundColor";
    let light = browser.eval(background).await;
    browser.color_scheme("dark").await;
    let dark = browser.eval(background).await;
    assert_eq!((light.as_str(), dark.as_str()), (Some("rgb(246, 247, 249)"), Some("rgb(15, 19, 24)")));
    browser.screenshots("overview-empty-dark", "#view-overview").await;
    browser.finish().await;
}

async fn finds_a_lead_by_email_and_opens_its_record(engine: Engine) {
    let Some(app) = app(engine).await else { return };
    let pre_lead = app.create_pre_lead().await;
    let converted =
        app.post(&format!("/incoming/pre-lead/{pre_lead}/convert"), &json!({"data": {"priority": "high"}})).await;
    assert_eq!(converted.status, 200, "{}", converted.text);
    let lead = converted.body["data"]["lead_id"].as_i64().unwrap();
    let email = crate::helpers::example_request("new_inquiry")["data"]["email"].as_str().unwrap().to_string();
    let Some(mut browser) = Browser::start(&app.address).await else { return };
    browser.sign_in(TOKEN).await;
    browser.go("#/records?type=lead").await;
    browser.find("#record-table").await;
    browser.type_into("#record-search input[name=q]", &email).await;
    browser.click("#record-search button[type=submit]").await;
    browser.wait_text("#record-table", &email).await;
    browser.screenshots("records", "#record-table").await;
    browser.click(&format!("#record-table a[href='#/records/lead/{lead}']")).await;
    browser.wait_text("#status-history", "new").await;
    browser.wait_text("#timeline", &format!("On pre-lead {pre_lead}")).await;
    browser.wait_text("#timeline", "answered 200").await;
    browser.wait_text("#record-links", &format!("Pre-lead {pre_lead}")).await;
    browser.screenshots("record", "#timeline").await;
    browser.click("#record-links a").await;
    browser.wait_text("#view-records h1", &format!("Pre-lead {pre_lead}")).await;
    // A webhook call on the timeline opens its log row.
    browser.click("#timeline a[href^='#/logs/']").await;
    browser.wait_text("#view-logs", "/api/v1/webhooks/incoming/pre-lead").await;
    browser.finish().await;
}

async fn pages_the_log_by_cursor(engine: Engine) {
    let Some(app) = app(engine).await else { return };
    // One page and one row more (the page holds 25).
    for n in 0..26 {
        let update = json!({"event": "lead_update", "data": {"notes": format!("update {n}")}});
        assert_eq!(app.post(&format!("/incoming/lead/{}/update", 1000 + n), &update).await.status, 404);
    }
    let Some(mut browser) = Browser::start(&app.address).await else { return };
    browser.sign_in(TOKEN).await;
    browser.go("#/logs").await;
    browser.wait_text("#logs-range", "Rows 1–25 of 26").await;
    browser.wait_text("#log-table tbody tr:first-child td:first-child", "26").await;
    browser.click("#logs-older").await;
    browser.wait_text("#logs-range", "Rows 26–26 of 26").await;
    let hash = browser.eval("window.location.hash").await;
    assert!(hash.as_str().unwrap().contains("cursor="), "the page is addressed by cursor: {hash}");
    browser.wait_text("#log-table tbody tr:first-child td:first-child", "1").await;
    assert!(
        browser.client.find(fantoccini::Locator::Css("#logs-older")).await.is_err(),
        "the last page has no older one"
    );
    browser.click("#logs-newest").await;
    browser.wait_text("#logs-range", "Rows 1–25 of 26").await;
    browser.finish().await;
}

async fn works_by_keyboard_alone(engine: Engine) {
    let Some(app) = app(engine).await else { return };
    let Some(mut browser) = Browser::start(&app.address).await else { return };
    browser.open("").await;
    browser.find("#token").await;
    // The token field has the focus; Enter signs in.
    browser.press(&format!("{TOKEN}{}", Key::Enter)).await;
    browser.find("#view-overview").await;
    // Tab reaches the views' links, each with a visible focus ring; Enter opens one.
    let mut reached = false;
    for _ in 0..8 {
        browser.press(&Key::Tab).await;
        if browser.eval("document.activeElement.textContent").await == "Logs" {
            reached = true;
            break;
        }
    }
    assert!(reached, "Tab reaches the Logs link");
    assert_eq!(browser.eval("getComputedStyle(document.activeElement).outlineStyle").await, "solid");
    browser.press(&Key::Enter).await;
    browser.find("#log-filters").await;
    // Focus moved to the view: the next Tab is its first control.
    browser.press(&Key::Tab).await;
    assert_eq!(browser.eval("document.activeElement.name").await, "direction");
    browser.finish().await;
}
