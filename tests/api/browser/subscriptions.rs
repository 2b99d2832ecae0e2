//! The subscriptions view in Chromium, on both engines: create one pointing at a receiver the test
//! starts, see the secret once, send a test and see it delivered, disable and enable, rotate,
//! retry a delivery, requeue dead deliveries, delete; a test whose receiver answers late.

use std::time::Duration;

use crm_webhooks::outgoing::subscriptions::TEST_WAIT;
use crm_webhooks::outgoing::DeliveryConfig;
use fantoccini::Locator;

use super::{app, Browser, TOKEN};
use crate::helpers::{Engine, Reply, TestApp};
use crate::on_both_engines;
use crate::receiver::{refused_url, Receiver, Reply as Answer};

/// An admin API call beside the page, with the token.
async fn admin(app: &TestApp, method: &str, path: &str, body: Option<serde_json::Value>) -> Reply {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = app.client.request(method, app.webhook_url(path)).bearer_auth(TOKEN);
    if let Some(body) = body {
        request = request.header("content-type", "application/json").body(body.to_string());
    }
    app.send(request).await
}

on_both_engines!(
    creates_a_subscription_and_sees_its_test_delivery_arrive,
    requeues_and_deletes_a_failing_subscription,
    a_test_to_a_slow_receiver_shows_its_answer_when_it_comes
);

async fn creates_a_subscription_and_sees_its_test_delivery_arrive(engine: Engine) {
    let Some(app) = app(engine).await else { return };
    let receiver = Receiver::start().await;
    let Some(mut browser) = Browser::start(&app.address).await else { return };
    browser.sign_in(TOKEN).await;
    browser.go("#/subscriptions").await;
    browser.wait_text("#view-subscriptions", "No subscriptions yet").await;

    browser.click("#new-subscription").await;
    browser.type_into("#subscription-form input[name=url]", &receiver.url).await;
    browser.type_into("#subscription-form input[name=description]", "ERP sync").await;
    browser.click("#subscription-form input[name=scope][value=some]").await;
    // Nothing ticked: the form says what is missing and sends nothing.
    browser.click("#subscription-form button[type=submit]").await;
    browser.wait_text("#create-error", "Tick at least one event type").await;
    for event in ["lead.created", "lead.converted"] {
        browser.click(&format!("#event-types input[value='{event}']")).await;
    }
    browser.screenshots("subscription-new", "#subscription-form").await;
    browser.click("#subscription-form button[type=submit]").await;

    let secret = browser.wait_text("#secret-value", "whsec_").await;
    let listed = admin(&app, "GET", "/subscriptions", None).await;
    let id = listed.body["items"][0]["id"].as_i64().unwrap();
    assert_eq!(listed.body["items"][0]["events"], serde_json::json!(["lead.created", "lead.converted"]));
    assert_eq!(admin(&app, "GET", &format!("/subscriptions/{id}/secret"), None).await.body["secret"], secret.trim());
    browser.wait_text("#view-subscriptions", "lead.created, lead.converted").await;

    browser.click("#send-test").await;
    browser.wait_text("#subscription-result", "delivered, the receiver answered HTTP 200").await;
    let received = receiver.received.lock().unwrap().clone();
    assert_eq!(received.len(), 1, "one ping arrived");
    assert_eq!(received[0].json()["type"], "ping");
    assert!(received[0].verified_by(secret.trim()), "signed with the secret shown");
    browser.wait_text("#delivery-table", "delivered").await;
    browser.screenshots("subscription", "#delivery-table").await;

    // The secret is shown once: coming back to the subscription shows it no more.
    browser.go("#/subscriptions").await;
    browser.wait_text("#subscription-table", &receiver.url).await;
    browser.screenshots("subscriptions", "#subscription-table").await;
    browser.click(&format!("#subscription-table a[href='#/subscriptions/{id}']")).await;
    browser.find("#delivery-table").await;
    assert!(browser.client.find(Locator::Css("#new-secret")).await.is_err(), "the secret is not shown again");

    browser.click("#toggle-disabled").await;
    browser.wait_text("#view-subscriptions h1", "disabled").await;
    assert_eq!(admin(&app, "GET", &format!("/subscriptions/{id}"), None).await.body["disabled"], true);
    browser.wait_text("#toggle-disabled", "Enable").await;
    browser.click("#toggle-disabled").await;
    browser.wait_text("#view-subscriptions h1", "active").await;

    browser.click("#rotate-secret").await;
    let rotated = browser.wait_text("#new-secret", "previous secret also signs").await;
    let new_secret = browser.find("#secret-value").await.text().await.unwrap();
    assert_ne!(new_secret.trim(), secret.trim(), "{rotated}");
    assert_eq!(
        admin(&app, "GET", &format!("/subscriptions/{id}/secret"), None).await.body["secret"],
        new_secret.trim()
    );

    browser.click("#delivery-table tbody a").await;
    browser.wait_text("#attempt-table", "200").await;
    browser.wait_text("#delivery-payload", "\"type\": \"ping\"").await;
    browser.click("#retry-delivery").await;
    browser.wait_text("#retry-result", "Attempt 2: delivered").await;
    let received = receiver.received.lock().unwrap().clone();
    assert_eq!(received.len(), 2, "the retry arrived");
    assert_eq!(received[1].id(), received[0].id(), "a retry keeps the webhook-id");
    assert!(received[1].verified_by(new_secret.trim()) && received[1].verified_by(secret.trim()), "both sign");
    browser.wait_text("#attempt-table tbody tr:nth-child(2)", "200").await;
    browser.screenshots("delivery", "#attempt-table").await;
    browser.finish().await;
}

async fn requeues_and_deletes_a_failing_subscription(engine: Engine) {
    let Some(app) = app(engine).await else { return };
    let created = admin(&app, "POST", "/subscriptions", Some(serde_json::json!({"url": refused_url().await}))).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.body["id"].as_i64().unwrap();
    let Some(mut browser) = Browser::start(&app.address).await else { return };
    browser.sign_in(TOKEN).await;

    // A refused URL: the server's sentence is shown beside the form.
    browser.go("#/subscriptions/new").await;
    browser.expect_network_error("400");
    browser.type_into("#subscription-form input[name=url]", "ftp://example.com/hook").await;
    browser.click("#subscription-form button[type=submit]").await;
    browser.wait_text("#create-error", "url").await;

    browser.go(&format!("#/subscriptions/{id}")).await;
    browser.wait_text("#view-subscriptions", "No deliveries yet").await;
    browser.click("#send-test").await;
    browser.wait_text("#subscription-result", "dead").await;
    browser.wait_text("#delivery-table", "dead").await;
    browser.click("#recover-form button[type=submit]").await;
    browser.wait_text("#subscription-result", "1 dead delivery is queued again").await;

    browser.click("#delete-subscription").await;
    browser.click("#confirm-delete").await;
    browser.wait_text("#view-subscriptions", "No subscriptions yet").await;
    assert_eq!(admin(&app, "GET", &format!("/subscriptions/{id}"), None).await.status, 404);
    browser.finish().await;
}

/// The receiver answers after the test route stopped waiting (202): the page says it waits, reads
/// the delivery, and shows the answer when it is recorded.
async fn a_test_to_a_slow_receiver_shows_its_answer_when_it_comes(engine: Engine) {
    let delivery = DeliveryConfig { timeout: Duration::from_secs(30), ..crate::outgoing::fast_delivery(&[0]) };
    let Some(app) = crate::helpers::spawn_app_with(engine, move |c| {
        c.admin_token = Some(crm_webhooks::config::Secret::new(TOKEN));
        c.delivery = delivery;
    })
    .await
    else {
        return;
    };
    let slow = TEST_WAIT + Duration::from_secs(2);
    let receiver = Receiver::with_plan(move |_, _| Answer::Late(slow, 200)).await;
    let created = admin(&app, "POST", "/subscriptions", Some(serde_json::json!({"url": receiver.url}))).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let Some(mut browser) = Browser::start(&app.address).await else { return };
    browser.sign_in(TOKEN).await;
    browser.go(&format!("#/subscriptions/{}", created.body["id"])).await;
    browser.wait_text("#view-subscriptions", "No deliveries yet").await;
    browser.click("#send-test").await;
    browser.wait_text("#subscription-result", "pending (waiting for the receiver)").await;
    browser.wait_text("#subscription-result", "delivered, the receiver answered HTTP 200").await;
    browser.wait_text("#delivery-table", "delivered").await;
    assert_eq!(receiver.count(), 1);
    browser.finish().await;
}
