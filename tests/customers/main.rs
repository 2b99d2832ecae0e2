//! Customers' orders and payments through the generic route `POST /incoming`, on SQLite and (when
//! CRM_TEST_POSTGRES_URL is set) on PostgreSQL: exact decimal totals, repeats not counted twice,
//! refusals that change nothing but the log, and concurrent orders that all count.

#[path = "../api/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use serde_json::{json, Value};

use crate::helpers::TestApp;

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

mod concurrency;
mod orders;
mod payments;
mod refusals;
