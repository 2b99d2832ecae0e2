//! Customers' orders and payments through the generic route `POST /incoming`, on SQLite and (when
//! CRM_TEST_POSTGRES_URL is set) on PostgreSQL: exact decimal totals, repeats not counted twice,
//! refusals that change nothing but the log, and concurrent orders that all count.

#[path = "api/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use futures_util::future::join_all;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, Engine, TestApp};

/// A customer's stored totals and dates, for before/after comparisons.
#[derive(Debug, PartialEq, Eq)]
struct Stored {
    total_orders: i64,
    total_revenue_cents: i64,
    total_paid_cents: i64,
    outstanding_amount_cents: i64,
    last_order_date: Option<String>,
    last_payment_date: Option<String>,
    orders: i64,
    payments: i64,
}

async fn stored(app: &TestApp, customer_id: i64) -> Stored {
    let column = |name: &str| format!("select {name} from customers where id = {customer_id}");
    Stored {
        total_orders: app.scalar_i64(&column("total_orders")).await,
        total_revenue_cents: app.scalar_i64(&column("total_revenue_cents")).await,
        total_paid_cents: app.scalar_i64(&column("total_paid_cents")).await,
        outstanding_amount_cents: app.scalar_i64(&column("outstanding_amount_cents")).await,
        last_order_date: app.scalar_text(&column("last_order_date")).await,
        last_payment_date: app.scalar_text(&column("last_payment_date")).await,
        orders: app.scalar_i64(&format!("select count(*) from orders where customer_id = {customer_id}")).await,
        payments: app.scalar_i64(&format!("select count(*) from payments where customer_id = {customer_id}")).await,
    }
}

async fn send(app: &TestApp, event: &str, data: Value) -> helpers::Reply {
    app.post("/incoming", &json!({"event": event, "source": "erp", "data": data})).await
}

/// Sends an event that must succeed and returns its `data`, after checking the envelope.
async fn accepted(app: &TestApp, event: &str, data: Value) -> Value {
    let reply = send(app, event, data.clone()).await;
    assert_eq!(reply.status, 200, "{event} {data}: {}", reply.text);
    let message = match event {
        "order_created" => "Order recorded successfully",
        _ => "Payment recorded successfully",
    };
    assert_eq!(reply.body["status"], "success", "{}", reply.text);
    assert_eq!(reply.body["message"], message, "{}", reply.text);
    let keys: Vec<&str> = reply.body["data"].as_object().expect("data object").keys().map(String::as_str).collect();
    let expected_keys = match event {
        "order_created" => {
            vec!["customer_id", "order_id", "counted", "total_orders", "total_revenue", "outstanding_amount"]
        }
        _ => vec!["customer_id", "payment_id", "counted", "total_paid", "outstanding_amount"],
    };
    assert_eq!(keys, expected_keys, "{}", reply.text);
    reply.body["data"].clone()
}

async fn order(app: &TestApp, data: Value) -> Value {
    accepted(app, "order_created", data).await
}

async fn payment(app: &TestApp, data: Value) -> Value {
    accepted(app, "payment_received", data).await
}

fn now_is_close_to(stored: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(stored)
        .map(|at| (chrono::Utc::now() - at.with_timezone(&chrono::Utc)).num_seconds().abs() < 300)
        .unwrap_or(false)
}

// ---------------------------------------------------------------------------------------------
// order_created

async fn an_order_by_customer_code_adds_exact_decimal_totals(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let (customer_id, code) = app.create_customer("CUST-ORD-1").await;
    let data = order(&app, json!({"customer_code": code, "order_id": "ORD-1", "order_value": 0.10})).await;
    assert_eq!(
        data,
        json!({"customer_id": customer_id, "order_id": "ORD-1", "counted": true, "total_orders": 1,
               "total_revenue": "0.10", "outstanding_amount": "0.10"})
    );
    let data = order(&app, json!({"customer_code": code, "order_id": "ORD-2", "amount": 0.20})).await;
    assert_eq!(
        data,
        json!({"customer_id": customer_id, "order_id": "ORD-2", "counted": true, "total_orders": 2,
               "total_revenue": "0.30", "outstanding_amount": "0.30"})
    );
    let after = stored(&app, customer_id).await;
    assert_eq!((after.total_orders, after.total_revenue_cents, after.outstanding_amount_cents), (2, 30, 30));
    assert_eq!((after.orders, after.total_paid_cents, after.payments), (2, 0, 0));
    let amounts = format!("select cast(sum(amount_cents) as bigint) from orders where customer_id = {customer_id}");
    assert_eq!(app.scalar_i64(&amounts).await, 30);
    // No date given: the order is dated when it was received.
    let last = after.last_order_date.expect("last_order_date set");
    assert!(now_is_close_to(&last), "last_order_date {last}");
}

async fn an_order_by_customer_id_with_amount_adds_exactly(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let (customer_id, _) = app.create_customer("CUST-ORD-2").await;
    // 19.99 three times, as a JSON number, as a string, and with a numeric order id.
    let first = order(&app, json!({"customer_id": customer_id, "order_id": "A", "amount": 19.99})).await;
    assert_eq!(first["total_revenue"], "19.99");
    let second = order(&app, json!({"customer_id": customer_id, "order_id": "B", "amount": "19.99"})).await;
    assert_eq!(second["total_revenue"], "39.98");
    let third = order(&app, json!({"customer_id": customer_id, "order_id": 1001, "order_value": 19.99})).await;
    assert_eq!(
        third,
        json!({"customer_id": customer_id, "order_id": "1001", "counted": true, "total_orders": 3,
               "total_revenue": "59.97", "outstanding_amount": "59.97"})
    );
    let after = stored(&app, customer_id).await;
    assert_eq!(
        (after.total_orders, after.total_revenue_cents, after.outstanding_amount_cents, after.orders),
        (3, 5997, 5997, 3)
    );
    // Whole amounts get two places too.
    let fourth = order(&app, json!({"customer_id": customer_id, "order_id": "C", "amount": 7})).await;
    assert_eq!((&fourth["total_revenue"], &fourth["outstanding_amount"]), (&json!("66.97"), &json!("66.97")));
}

async fn order_dates_are_stored_and_the_latest_one_is_the_last_order_date(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let (customer_id, code) = app.create_customer("CUST-DATES").await;
    let last = format!("select last_order_date from customers where id = {customer_id}");
    order(&app, json!({"customer_code": code, "order_id": "D1", "amount": 1, "order_date": "2024-02-01"})).await;
    assert_eq!(app.scalar_text(&last).await.as_deref(), Some("2024-02-01T00:00:00.000000Z"));
    // An older order does not move the last order date back; it is stored normalised to UTC.
    let older =
        json!({"customer_code": code, "order_id": "D0", "amount": 1, "order_date": "2024-01-15T10:00:00+02:00"});
    order(&app, older).await;
    assert_eq!(app.scalar_text(&last).await.as_deref(), Some("2024-02-01T00:00:00.000000Z"));
    let d0 = format!("select order_date from orders where customer_id = {customer_id} and order_id = 'D0'");
    assert_eq!(app.scalar_text(&d0).await.as_deref(), Some("2024-01-15T08:00:00.000000Z"));
    let newer =
        json!({"customer_code": code, "order_id": "D2", "amount": 1, "order_date": "2024-03-05T23:30:00-01:00"});
    order(&app, newer).await;
    assert_eq!(app.scalar_text(&last).await.as_deref(), Some("2024-03-06T00:30:00.000000Z"));
    assert_eq!(stored(&app, customer_id).await.total_orders, 3);
}

async fn a_repeated_order_id_is_not_counted_twice(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let (customer_id, code) = app.create_customer("CUST-REPEAT").await;
    let first = order(&app, json!({"customer_code": code, "order_id": "ORD-9", "order_value": 100.00})).await;
    assert_eq!(first["counted"], true);
    let before = stored(&app, customer_id).await;
    // The same order again, even with another amount or by id instead of code.
    for repeat in [
        json!({"customer_code": code, "order_id": "ORD-9", "order_value": 100.00}),
        json!({"customer_code": code, "order_id": "ORD-9", "amount": 55.55}),
        json!({"customer_id": customer_id, "order_id": " ORD-9 ", "amount": 100}),
    ] {
        let again = order(&app, repeat.clone()).await;
        assert_eq!(
            again,
            json!({"customer_id": customer_id, "order_id": "ORD-9", "counted": false, "total_orders": 1,
                   "total_revenue": "100.00", "outstanding_amount": "100.00"}),
            "{repeat}"
        );
        assert_eq!(stored(&app, customer_id).await, before, "{repeat}");
    }
    assert_eq!(app.scalar_i64(&format!("select count(*) from orders where customer_id = {customer_id}")).await, 1);
    // An id sent as a number and then as the same digits in a string is the same order.
    assert_eq!(order(&app, json!({"customer_code": code, "order_id": 42, "amount": 1})).await["counted"], true);
    let again = order(&app, json!({"customer_code": code, "order_id": "42", "amount": 1})).await;
    assert_eq!(
        (&again["counted"], &again["total_orders"], &again["total_revenue"]),
        (&json!(false), &json!(2), &json!("101.00"))
    );
    // The same order id for another customer is that customer's own order.
    let (other_id, other_code) = app.create_customer("CUST-OTHER").await;
    let other = order(&app, json!({"customer_code": other_code, "order_id": "ORD-9", "amount": 3})).await;
    assert_eq!(
        other,
        json!({"customer_id": other_id, "order_id": "ORD-9", "counted": true, "total_orders": 1,
               "total_revenue": "3.00", "outstanding_amount": "3.00"})
    );
    assert_eq!(app.scalar_i64("select count(*) from orders").await, 3);
    assert_eq!(app.scalar_i64("select count(*) from webhook_logs where is_successful = false").await, 0);
}

// ---------------------------------------------------------------------------------------------
// payment_received

async fn a_payment_lowers_the_outstanding_amount_once(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let (customer_id, code) = app.create_customer("CUST-PAY").await;
    order(&app, json!({"customer_code": code, "order_id": "O1", "order_value": 100.00})).await;
    let data = payment(
        &app,
        json!({"customer_code": code, "payment_id": "P1", "amount": 30.10, "payment_date": "2024-02-10"}),
    )
    .await;
    assert_eq!(
        data,
        json!({"customer_id": customer_id, "payment_id": "P1",
               "counted": true, "total_paid": "30.10", "outstanding_amount": "69.90"})
    );
    let after = stored(&app, customer_id).await;
    assert_eq!(after.last_payment_date.as_deref(), Some("2024-02-10T00:00:00.000000Z"));
    assert_eq!((after.total_paid_cents, after.outstanding_amount_cents, after.payments), (3010, 6990, 1));
    // Revenue and order count are not touched by a payment.
    assert_eq!((after.total_orders, after.total_revenue_cents), (1, 10000));

    // The same payment again (by id this time): answered, not counted.
    let again = payment(&app, json!({"customer_id": customer_id, "payment_id": "P1", "amount": 30.10})).await;
    assert_eq!(
        again,
        json!({"customer_id": customer_id, "payment_id": "P1",
               "counted": false, "total_paid": "30.10", "outstanding_amount": "69.90"})
    );
    assert_eq!(stored(&app, customer_id).await, after);

    // A second payment, by id, with an amount in a string and an RFC 3339 date.
    let second =
        json!({"customer_id": customer_id, "payment_id": 2, "amount": "19.90", "payment_date": "2024-03-01T12:00:00Z"});
    let data = payment(&app, second).await;
    assert_eq!(
        data,
        json!({"customer_id": customer_id, "payment_id": "2",
               "counted": true, "total_paid": "50.00", "outstanding_amount": "50.00"})
    );
    let after = stored(&app, customer_id).await;
    assert_eq!(after.last_payment_date.as_deref(), Some("2024-03-01T12:00:00.000000Z"));
    assert_eq!(after.payments, 2);
    // An order after payments adds on top of what is still owed.
    let data = order(&app, json!({"customer_code": code, "order_id": "O2", "order_value": 0.01})).await;
    assert_eq!((&data["total_revenue"], &data["outstanding_amount"]), (&json!("100.01"), &json!("50.01")));
}

async fn an_overpayment_leaves_a_credit(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let (customer_id, code) = app.create_customer("CUST-CREDIT").await;
    order(&app, json!({"customer_code": code, "order_id": "O1", "amount": 10.00})).await;
    let data = payment(&app, json!({"customer_code": code, "payment_id": "P1", "amount": 15.00})).await;
    assert_eq!(
        data,
        json!({"customer_id": customer_id, "payment_id": "P1",
               "counted": true, "total_paid": "15.00", "outstanding_amount": "-5.00"})
    );
    let after = stored(&app, customer_id).await;
    assert_eq!((after.total_paid_cents, after.outstanding_amount_cents), (1500, -500));
    let last = after.last_payment_date.expect("last_payment_date set");
    assert!(now_is_close_to(&last), "no date given: dated when received, got {last}");
    // A payment before any order is a credit too; the next order uses it up.
    let (other_id, other_code) = app.create_customer("CUST-PREPAID").await;
    let data = payment(&app, json!({"customer_id": other_id, "payment_id": "PRE", "amount": 0.05})).await;
    assert_eq!(data["outstanding_amount"], "-0.05");
    let data = order(&app, json!({"customer_code": other_code, "order_id": "O1", "amount": 0.05})).await;
    assert_eq!(data["outstanding_amount"], "0.00");
}

// ---------------------------------------------------------------------------------------------
// Refusals

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

// ---------------------------------------------------------------------------------------------
// Concurrency

async fn concurrent_orders_all_count_exactly(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let (customer_id, code) = app.create_customer("CUST-BUSY").await;
    let bodies: Vec<Value> = (0..32)
        .map(|n| {
            let data = json!({"customer_code": code, "order_id": format!("C-{n}"), "order_value": 10.01});
            json!({"event": "order_created", "data": data})
        })
        .collect();
    let replies = join_all(bodies.iter().map(|body| app.post("/incoming", body))).await;
    let mut seen_totals = Vec::new();
    for reply in &replies {
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(reply.body["data"]["counted"], true, "{}", reply.text);
        let total_orders = reply.body["data"]["total_orders"].as_i64().unwrap();
        // Each answer reports the totals right after its own order: 10.01 per order so far.
        let cents = total_orders * 1001;
        assert_eq!(
            reply.body["data"]["total_revenue"],
            format!("{}.{:02}", cents / 100, cents % 100),
            "{}",
            reply.text
        );
        seen_totals.push(total_orders);
    }
    seen_totals.sort_unstable();
    assert_eq!(seen_totals, (1..=32).collect::<Vec<i64>>(), "each order counted once, one after another");
    let after = stored(&app, customer_id).await;
    assert_eq!(
        (after.total_orders, after.total_revenue_cents, after.outstanding_amount_cents, after.orders),
        (32, 32032, 32032, 32)
    );
    // One more (a repeat) reads the settled totals.
    let data = order(&app, json!({"customer_id": customer_id, "order_id": "C-0", "order_value": 10.01})).await;
    assert_eq!(
        data,
        json!({"customer_id": customer_id, "order_id": "C-0", "counted": false, "total_orders": 32,
               "total_revenue": "320.32", "outstanding_amount": "320.32"})
    );
    let logged = "select count(*) from webhook_logs where event = 'order_created' and is_successful = true";
    assert_eq!(app.scalar_i64(logged).await, 33);
}

async fn concurrent_repeats_of_one_order_count_once(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let (customer_id, code) = app.create_customer("CUST-DUP").await;
    let body = json!({"event": "order_created", "data": {"customer_code": code, "order_id": "SAME", "amount": 12.34}});
    let replies = join_all((0..16).map(|_| app.post("/incoming", &body))).await;
    let mut counted = 0;
    for reply in &replies {
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(
            (&reply.body["data"]["total_orders"], &reply.body["data"]["total_revenue"]),
            (&json!(1), &json!("12.34")),
            "{}",
            reply.text
        );
        if reply.body["data"]["counted"] == true {
            counted += 1;
        }
    }
    assert_eq!(counted, 1, "exactly one answer says counted");
    let after = stored(&app, customer_id).await;
    assert_eq!((after.total_orders, after.total_revenue_cents, after.orders), (1, 1234, 1));
}

on_both_engines!(
    an_order_by_customer_code_adds_exact_decimal_totals,
    an_order_by_customer_id_with_amount_adds_exactly,
    order_dates_are_stored_and_the_latest_one_is_the_last_order_date,
    a_repeated_order_id_is_not_counted_twice,
    a_payment_lowers_the_outstanding_amount_once,
    an_overpayment_leaves_a_credit,
    order_refusals_change_nothing_but_the_log,
    payment_refusals_change_nothing_but_the_log,
    concurrent_orders_all_count_exactly,
    concurrent_repeats_of_one_order_count_once,
);
