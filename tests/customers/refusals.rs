//! Refused orders and payments change nothing but the log.

use crate::helpers::{spawn_app, Engine, TestApp};
use crate::{order, payment, send, stored};
use serde_json::{json, Value};

struct Refusal {
    event: &'static str,
    data: Value,
    status: u16,
    /// The whole `detail` when `exact`, otherwise a part of it.
    detail: &'static str,
    exact: bool,
    field: Option<&'static str>,
}

impl Refusal {
    /// 404 `{"detail":"Customer not found"}`.
    fn not_found(event: &'static str, data: Value) -> Refusal {
        Refusal { event, data, status: 404, detail: "Customer not found", exact: true, field: None }
    }

    /// 400 naming `field`, in `field` and in the sentence.
    fn invalid(event: &'static str, data: Value, field: &'static str) -> Refusal {
        Refusal { event, data, status: 400, detail: field, exact: false, field: Some(field) }
    }

    /// 400 naming `field`, with exactly `detail`.
    fn invalid_exact(event: &'static str, data: Value, field: &'static str, detail: &'static str) -> Refusal {
        Refusal { event, data, status: 400, detail, exact: true, field: Some(field) }
    }
}

/// Each refusal: a 4xx with a `detail` sentence, no change to any customer, order or payment,
/// and exactly one log row (unsuccessful, with that status and event).
async fn assert_refusals(app: &TestApp, customer_id: i64, cases: Vec<Refusal>) {
    for case in cases {
        let what = format!("{} {}", case.event, case.data);
        let before = stored(app, customer_id).await;
        let all_orders = app.scalar_i64("select count(*) from orders").await;
        let all_payments = app.scalar_i64("select count(*) from payments").await;
        let customers = app.scalar_i64("select count(*) from customers").await;
        let logs = app.scalar_i64("select count(*) from webhook_logs").await;
        let failed_with_status = format!(
            "select count(*) from webhook_logs where response_status = {} and is_successful = false",
            case.status
        );
        let failures = app.scalar_i64(&failed_with_status).await;

        let reply = send(app, case.event, case.data.clone()).await;
        assert_eq!(reply.status, case.status, "{what}: {}", reply.text);
        let detail = reply.body["detail"].as_str().unwrap_or_else(|| panic!("{what}: no detail in {}", reply.text));
        if case.exact {
            assert_eq!(detail, case.detail, "{what}");
        } else {
            assert!(detail.contains(case.detail), "{what}: {detail:?} should contain {:?}", case.detail);
        }
        assert!(detail.trim().contains(' '), "{what}: a sentence, got {detail:?}");
        if case.status == 404 {
            assert_eq!(reply.body, json!({"detail": "Customer not found"}), "{what}");
        }
        if let Some(field) = case.field {
            assert_eq!(reply.body["field"], field, "{what}: {}", reply.text);
        }

        assert_eq!(stored(app, customer_id).await, before, "{what}: the customer is unchanged");
        assert_eq!(app.scalar_i64("select count(*) from orders").await, all_orders, "{what}: no order written");
        assert_eq!(app.scalar_i64("select count(*) from payments").await, all_payments, "{what}: no payment written");
        assert_eq!(app.scalar_i64("select count(*) from customers").await, customers, "{what}");
        assert_eq!(app.scalar_i64("select count(*) from webhook_logs").await, logs + 1, "{what}: one log row");
        assert_eq!(app.scalar_i64(&failed_with_status).await, failures + 1, "{what}: an unsuccessful log row");
        let latest = "select count(*) from webhook_logs where id = (select max(id) from webhook_logs)";
        let latest_matches = format!("{latest} and is_successful = false and response_status = {}", case.status);
        assert_eq!(app.scalar_i64(&latest_matches).await, 1, "{what}: the latest log row is this refusal");
        let latest_event = app.scalar_text("select event from webhook_logs order by id desc limit 1").await;
        assert_eq!(latest_event.as_deref(), Some(case.event), "{what}: the log row names the event");
    }
}

/// A customer that already has an order and a payment, so that "unchanged" means something.
async fn customer_with_history(app: &TestApp, code: &str) -> (i64, String) {
    let (customer_id, code) = app.create_customer(code).await;
    order(app, json!({"customer_code": code, "order_id": "BASE", "order_value": 100.00, "order_date": "2024-02-01"}))
        .await;
    payment(app, json!({"customer_code": code, "payment_id": "BASE", "amount": 30.00, "payment_date": "2024-02-02"}))
        .await;
    (customer_id, code)
}

async fn order_refusals_change_nothing_but_the_log(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let (id, code) = customer_with_history(&app, "CUST-REFUSE-O").await;
    let o = "order_created";
    let cases = vec![
        Refusal::not_found(o, json!({"customer_code": "NO-SUCH-CODE", "order_id": "E1", "order_value": 1})),
        Refusal::not_found(o, json!({"customer_id": 999_999, "order_id": "E1", "order_value": 1})),
        Refusal::invalid(o, json!({"order_id": "E1", "order_value": 1}), "customer_id"),
        Refusal::invalid(o, json!({"customer_code": "  ", "order_id": "E1", "order_value": 1}), "customer_id"),
        Refusal::invalid(o, json!({"customer_code": code, "order_id": "E1"}), "order_value"),
        Refusal::invalid(o, json!({"customer_code": code, "order_id": "E1", "amount": null}), "order_value"),
        Refusal::invalid(o, json!({"customer_code": code, "order_id": "E1", "amount": "lots"}), "amount"),
        Refusal::invalid(o, json!({"customer_code": code, "order_id": "E1", "order_value": "lots"}), "order_value"),
        Refusal::invalid(o, json!({"customer_code": code, "order_id": "E1", "amount": 1.005}), "amount"),
        Refusal::invalid(o, json!({"customer_code": code, "order_id": "E1", "amount": "1.005"}), "amount"),
        Refusal::invalid(o, json!({"customer_code": code, "order_id": "E1", "amount": -5}), "amount"),
        Refusal::invalid(o, json!({"customer_code": code, "order_id": "E1", "amount": "-0.01"}), "amount"),
        Refusal::invalid_exact(o, json!({"customer_id": id, "amount": 5}), "order_id", "order_id is required"),
        Refusal::invalid(o, json!({"customer_id": id, "order_id": "", "amount": 5}), "order_id"),
        Refusal::invalid(
            o,
            json!({"customer_id": id, "order_id": "E1", "amount": 5, "order_date": "yesterday"}),
            "order_date",
        ),
        Refusal::invalid(
            o,
            json!({"customer_id": id, "order_id": "E1", "amount": 5, "order_date": "2024-02-30"}),
            "order_date",
        ),
    ];
    assert_refusals(&app, id, cases).await;
    // After all that, the customer still takes orders.
    let data = order(&app, json!({"customer_id": id, "order_id": "E1", "amount": 5})).await;
    let totals = (&data["total_orders"], &data["total_revenue"], &data["outstanding_amount"]);
    assert_eq!(totals, (&json!(2), &json!("105.00"), &json!("75.00")));
}

async fn payment_refusals_change_nothing_but_the_log(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let (id, code) = customer_with_history(&app, "CUST-REFUSE-P").await;
    let p = "payment_received";
    let cases = vec![
        Refusal::not_found(p, json!({"customer_code": "NO-SUCH-CODE", "payment_id": "E1", "amount": 1})),
        Refusal::not_found(p, json!({"customer_id": 999_999, "payment_id": "E1", "amount": 1})),
        Refusal::invalid(p, json!({"payment_id": "E1", "amount": 1}), "customer_id"),
        Refusal::invalid_exact(p, json!({"customer_code": code, "payment_id": "E1"}), "amount", "amount is required"),
        Refusal::invalid(p, json!({"customer_code": code, "payment_id": "E1", "amount": "lots"}), "amount"),
        Refusal::invalid(p, json!({"customer_code": code, "payment_id": "E1", "amount": 2.345}), "amount"),
        Refusal::invalid(p, json!({"customer_code": code, "payment_id": "E1", "amount": -1}), "amount"),
        Refusal::invalid_exact(p, json!({"customer_code": code, "amount": 1}), "payment_id", "payment_id is required"),
        Refusal::invalid(
            p,
            json!({"customer_code": code, "payment_id": "E1", "amount": 1, "payment_date": "soon"}),
            "payment_date",
        ),
    ];
    assert_refusals(&app, id, cases).await;
    let data = payment(&app, json!({"customer_id": id, "payment_id": "E1", "amount": 1})).await;
    assert_eq!((&data["total_paid"], &data["outstanding_amount"]), (&json!("31.00"), &json!("69.00")));
}

crate::on_both_engines!(order_refusals_change_nothing_but_the_log, payment_refusals_change_nothing_but_the_log,);
