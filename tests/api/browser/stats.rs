//! The overview's traffic and deliveries, and the pipeline view, in Chromium on both engines.

use serde_json::{json, Value};

use super::{app, Browser, TOKEN};
use crate::helpers::{Engine, TestApp};
use crate::on_both_engines;
use crate::receiver::Receiver;

on_both_engines!(
    shows_the_pipeline_funnel_with_rates_and_values,
    shows_deliveries_and_outgoing_traffic_in_the_overview
);

async fn ok(app: &TestApp, path: &str, body: Value) -> Value {
    let reply = app.post(path, &body).await;
    assert_eq!(reply.status, 200, "{path}: {}", reply.text);
    reply.body["data"].clone()
}

async fn label(browser: &Browser, css: &str) -> String {
    browser.find(css).await;
    let script = format!("document.querySelector({css:?}).getAttribute('aria-label')");
    browser.eval(&script).await.as_str().unwrap_or_default().to_string()
}

async fn shows_the_pipeline_funnel_with_rates_and_values(engine: Engine) {
    let Some(app) = app(engine).await else { return };
    let Some(mut browser) = Browser::start(&app.address).await else { return };
    browser.sign_in(TOKEN).await;
    browser.go("#/pipeline").await;
    browser.wait_text("#view-pipeline", "No records yet").await;

    // Four pre-leads, one converted to a lead; one lead created directly and converted to a customer.
    let mut pre_leads = Vec::new();
    for name in ["Asha", "Ravi", "Meena", "Karan"] {
        pre_leads.push(
            ok(&app, "/incoming/pre-lead/create", json!({"data": {"first_name": name}})).await["pre_lead_id"].clone(),
        );
    }
    ok(&app, &format!("/incoming/pre-lead/{}/convert", pre_leads[0]), json!({"data": {"expected_value": "1500.00"}}))
        .await;
    let direct =
        ok(&app, "/incoming/lead/create", json!({"data": {"first_name": "Neha", "expected_value": "2500.50"}})).await
            ["lead_id"]
            .clone();
    ok(&app, &format!("/incoming/lead/{direct}/convert"), json!({"data": {"customer_code": "C-1"}})).await;

    browser.go("#/overview").await;
    browser.go("#/pipeline").await;
    let funnel = label(&browser, "#funnel svg").await;
    for part in ["Pre-leads 4, 25% converted", "Leads 2, 50% converted", "Customers 1"] {
        assert!(funnel.contains(part), "{part:?} in {funnel:?}");
    }
    let figures = browser.wait_text("#pipeline-figures", "Open value").await;
    assert!(figures.contains("1,500.00") && figures.contains("2,500.50"), "open and won value: {figures}");
    let leads = label(&browser, "#leads-by-status svg").await;
    assert!(leads.contains("new 1") && leads.contains("won 1"), "{leads}");
    browser.screenshots("pipeline", "#funnel svg").await;
    browser.color_scheme("dark").await;
    browser.screenshots("pipeline-dark", "#funnel svg").await;
    // Numbers follow the browser's language.
    browser.locale("de-DE").await;
    browser.client.refresh().await.expect("reload");
    browser.wait_text("#pipeline-figures", "2.500,50").await;
    browser.click("#view-pipeline a[href='#/records?type=customer']").await;
    browser.wait_text("#record-table", "Neha").await;
    browser.finish().await;
}

async fn shows_deliveries_and_outgoing_traffic_in_the_overview(engine: Engine) {
    let Some(app) = app(engine).await else { return };
    let receiver = Receiver::start().await;
    let subscribed = app
        .client
        .post(app.webhook_url("/subscriptions"))
        .bearer_auth(TOKEN)
        .json(&json!({"url": receiver.url, "events": ["lead.created"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(subscribed.status(), 201);
    ok(&app, "/incoming/lead/create", json!({"data": {"first_name": "Neha"}})).await;
    receiver.wait_for(1, std::time::Duration::from_secs(10)).await;

    let Some(mut browser) = Browser::start(&app.address).await else { return };
    browser.sign_in(TOKEN).await;
    browser.wait_text("#overview-figures", "1 delivered, 0 dead").await;
    browser.wait_text("#overview-figures", "100%").await;
    browser.wait_text("#delivery-figures", "delivered").await;
    browser.click("#view-overview a[href*='direction=outgoing']").await;
    browser.wait_text("#view-overview h2", "Requests per minute, last hour").await;
    let chart = label(&browser, "#traffic-chart svg").await;
    assert!(chart.contains("1 request, 0 failed"), "the delivery attempt: {chart}");
    browser.click("#view-overview a[href*='range=day']").await;
    browser.wait_text("#view-overview h2", "last 24 hours").await;
    let buckets = browser.eval("document.querySelectorAll('#traffic-chart svg text.axis').length").await;
    assert!(buckets.as_i64().unwrap() > 5, "a day has time labels along its axis");
    browser.screenshots("overview-day", "#traffic-chart svg").await;
    browser.color_scheme("dark").await;
    browser.screenshots("overview-day-dark", "#traffic-chart svg").await;
    browser.finish().await;
}
