//! `GET /api/v1/{pre-leads,leads,customers}/{id}/timeline`: every kind of item in time order, the
//! history of the records a record was converted from, keyset paging both ways, and refusals.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::{example_request, spawn_app_with, Engine, TestApp};
use crate::on_both_engines;
use crate::outgoing::fast_delivery;
use crate::receiver::Receiver;

const TOKEN: &str = "timeline-token";

async fn app(engine: Engine) -> Option<TestApp> {
    let delivery = fast_delivery(&[0]);
    spawn_app_with(engine, move |config| {
        config.delivery = delivery;
        config.admin_token = Some(crm_webhooks::config::Secret::new(TOKEN));
    })
    .await
}

/// A subscription to every event, created with the admin token.
async fn subscribe(app: &TestApp, url: &str) {
    let request = app
        .client
        .post(app.webhook_url("/subscriptions"))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body(json!({"url": url}).to_string());
    let reply = app.send(request).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
}

async fn ok(app: &TestApp, path: &str, body: Value) -> Value {
    let reply = app.post(path, &body).await;
    assert_eq!(reply.status, 200, "{path}: {}", reply.text);
    reply.body["data"].clone()
}

/// Every item of a timeline, walked page by page with `limit`.
async fn walk(app: &TestApp, path: &str, extra: &str, limit: usize) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{path}?limit={limit}{extra}");
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let page = app.get(&url).await;
        assert_eq!(page.status, 200, "{url}: {}", page.text);
        let got = page.body["items"].as_array().unwrap().clone();
        assert!(got.len() <= limit);
        items.extend(got);
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return items,
        }
    }
}

fn kinds(items: &[Value]) -> BTreeSet<String> {
    items.iter().map(|item| item["kind"].as_str().unwrap().to_string()).collect()
}

fn summaries(items: &[Value]) -> Vec<String> {
    items.iter().map(|item| item["summary"].as_str().unwrap().to_string()).collect()
}

async fn a_timeline_holds_every_kind_in_time_order_and_the_history_it_came_from(engine: Engine) {
    let Some(app) = app(engine).await else { return };
    let receiver = Receiver::start().await;
    subscribe(&app, &receiver.url).await;

    let pre_lead = app.create_pre_lead().await;
    ok(&app, &format!("/incoming/pre-lead/{pre_lead}/contact/add"), example_request("pre_lead_contact_add")).await;
    ok(&app, &format!("/incoming/pre-lead/{pre_lead}/memo/add"), example_request("pre_lead_memo_add")).await;
    let lead = ok(&app, &format!("/incoming/pre-lead/{pre_lead}/convert"), example_request("pre_lead_convert")).await
        ["lead_id"]
        .as_i64()
        .unwrap();
    ok(&app, &format!("/incoming/lead/{lead}/activity/add"), example_request("lead_activity_add")).await;
    let profile = format!("/incoming/lead/{lead}/qualified-profile/update");
    ok(&app, &profile, example_request("lead_qualified_profile_update")).await;
    ok(&app, &profile, json!({"data": {"pain_point": "Slow follow-up"}})).await;
    let refused =
        app.post(&format!("/incoming/lead/{lead}/status/update"), &json!({"data": {"lead_status": "x"}})).await;
    assert_eq!(refused.status, 400, "{}", refused.text);
    let customer = ok(&app, &format!("/incoming/lead/{lead}/convert"), example_request("lead_convert")).await
        ["customer_id"]
        .as_i64()
        .unwrap();
    ok(&app, "/incoming", json!({"event": "order_created", "data": {"customer_id": customer, "order_id": "A-1", "order_value": "1500.50", "order_date": "2024-02-01"}})).await;
    ok(
        &app,
        "/incoming",
        json!({"event": "payment_received", "data": {"customer_id": customer, "payment_id": "P-1", "amount": 500}}),
    )
    .await;
    let unknown = app.post("/incoming/pre-lead/999999/update", &json!({"data": {"notes": "x"}})).await;
    assert_eq!(unknown.status, 404);

    // A pre-lead's timeline is its own: links are not followed forward to its lead.
    let pre_items = walk(&app, &format!("/api/v1/pre-leads/{pre_lead}/timeline"), "", 200).await;
    assert_eq!(kinds(&pre_items), ["contact", "delivery", "memo", "status_change", "webhook"].map(String::from).into());
    assert!(summaries(&pre_items).iter().all(|s| !s.starts_with("On ")), "{pre_items:?}");
    let webhook_summaries: Vec<&str> = pre_items
        .iter()
        .filter(|item| item["kind"] == "webhook")
        .map(|item| item["summary"].as_str().unwrap())
        .collect();
    assert_eq!(
        webhook_summaries,
        [
            "new_inquiry answered 200",
            "pre_lead_contact_add answered 200",
            "pre_lead_memo_add answered 200",
            "pre_lead_convert answered 200"
        ]
    );
    let last_status = pre_items.iter().rfind(|item| item["kind"] == "status_change").unwrap();
    assert!(last_status["summary"].as_str().unwrap().contains("→ converted (pre_lead_convert)"), "{last_status}");

    // A lead's timeline adds its pre-lead's history, marked as such.
    let lead_items = walk(&app, &format!("/api/v1/leads/{lead}/timeline"), "", 200).await;
    assert_eq!(
        kinds(&lead_items),
        ["activity", "contact", "delivery", "memo", "profile", "status_change", "webhook"].map(String::from).into()
    );
    let texts = summaries(&lead_items);
    assert!(texts.contains(&format!("On pre-lead {pre_lead}: new_inquiry answered 200")), "{texts:?}");
    assert!(texts.contains(&r#"lead_status_update answered 400: lead_status must be one of: new, contacted, qualified, proposal_sent, negotiation, won, lost (got "x")"#.to_string()), "{texts:?}");
    let profiles: Vec<&str> =
        lead_items.iter().filter(|i| i["kind"] == "profile").map(|i| i["summary"].as_str().unwrap()).collect();
    assert_eq!(profiles.len(), 2, "{profiles:?}");
    assert!(profiles[0].starts_with("Qualified profile added") && profiles[1].starts_with("Qualified profile changed"));
    for item in &lead_items {
        let reference = &item["ref"];
        assert!(reference["id"].as_i64().unwrap() > 0, "{item}");
        let expected = match item["kind"].as_str().unwrap() {
            "webhook" => "log",
            other => other,
        };
        assert_eq!(reference["type"], expected, "{item}");
        assert_eq!(item.as_object().unwrap().keys().collect::<Vec<_>>(), ["at", "kind", "summary", "ref"]);
    }
    // The ref of a webhook item is its log row.
    let first_log = lead_items.iter().find(|i| i["kind"] == "webhook").unwrap()["ref"]["id"].as_i64().unwrap();
    let row = app.get(&format!("/api/v1/webhooks/logs/{first_log}")).await;
    assert_eq!(row.body["event"], "new_inquiry");
    let delivery = lead_items.iter().find(|i| i["kind"] == "delivery").unwrap()["ref"]["id"].as_i64().unwrap();
    assert_eq!(app.get(&format!("/api/v1/webhooks/deliveries/{delivery}")).await.status, 200);

    // A customer's: orders and payments, and its lead's and pre-lead's history.
    receiver.wait_for(1, Duration::from_secs(5)).await;
    // A delivery's item changes as it is sent: compare the walks below once none is pending.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let pending = app.get("/api/v1/webhooks/deliveries?status=pending").await;
        assert_eq!(pending.status, 200, "{}", pending.text);
        if pending.body["items"].as_array().unwrap().is_empty() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "deliveries still pending: {}", pending.text);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let customer_items = walk(&app, &format!("/api/v1/customers/{customer}/timeline"), "", 200).await;
    let texts = summaries(&customer_items);
    assert!(texts.contains(&"Order A-1: 1500.50 dated 2024-02-01".to_string()), "{texts:?}");
    assert!(texts.iter().any(|s| s.starts_with("Payment P-1: 500.00")), "{texts:?}");
    assert!(texts.iter().any(|s| s.starts_with(&format!("On lead {lead}: Activity (meeting)"))), "{texts:?}");
    assert!(texts.iter().any(|s| s.starts_with(&format!("On pre-lead {pre_lead}: Contact added"))), "{texts:?}");
    assert!(texts.iter().any(|s| s.starts_with("customer.order_recorded to subscription")), "{texts:?}");
    assert!(!texts.iter().any(|s| s.contains("999999")), "another record's failed call is not on it");

    // Chronological, and every page walk and direction gives the same list.
    for items in [&pre_items, &lead_items, &customer_items] {
        let times: Vec<&str> = items.iter().map(|i| i["at"].as_str().unwrap()).collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    }
    let path = format!("/api/v1/customers/{customer}/timeline");
    assert_eq!(walk(&app, &path, "", 3).await, customer_items);
    let mut newest_first = walk(&app, &path, "&order=desc", 4).await;
    newest_first.reverse();
    assert_eq!(newest_first, customer_items);
    let first = app.get(&format!("{path}?limit=1")).await;
    assert_eq!(first.body["items"].as_array().unwrap().len(), 1);
    assert!(first.body["next_cursor"].is_string());
}

async fn unknown_records_and_bad_parameters_are_refused(engine: Engine) {
    let Some(app) = app(engine).await else { return };
    for (path, detail) in [
        ("/api/v1/pre-leads/424242/timeline", "Pre-lead not found"),
        ("/api/v1/leads/424242/timeline", "Lead not found"),
        ("/api/v1/customers/424242/timeline", "Customer not found"),
    ] {
        let reply = app.get(path).await;
        assert_eq!((reply.status, reply.body.clone()), (404, json!({"detail": detail})), "{path}");
    }
    let lead = app.create_lead().await;
    let base = format!("/api/v1/leads/{lead}/timeline");
    let other_order = {
        let page = app.get(&format!("{base}?limit=1&order=desc")).await;
        page.body["next_cursor"].as_str().unwrap().to_string()
    };
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("order=sideways", "order"),
        ("cursor=not-a-cursor", "cursor"),
        (&format!("cursor={other_order}") as &str, "cursor"),
        ("kind=memo", "kind"),
    ] {
        let reply = app.get(&format!("{base}?{query}")).await;
        assert_eq!(reply.status, 400, "{query}: {}", reply.text);
        assert_eq!(reply.body["field"], field, "{query}");
    }
    let reply = app.get("/api/v1/leads/abc/timeline").await;
    assert_eq!((reply.status, reply.body["field"].clone()), (400, json!("id")));
    let unauthenticated = app.send(app.client.get(app.url(&base))).await;
    assert_eq!(unauthenticated.status, 401);
    assert_eq!(unauthenticated.body["detail"], "Missing or invalid admin token");
}

on_both_engines!(
    a_timeline_holds_every_kind_in_time_order_and_the_history_it_came_from,
    unknown_records_and_bad_parameters_are_refused,
);
