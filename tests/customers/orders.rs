//! `order_created`: exact decimal totals, dates, repeats not counted twice.

use crate::helpers::{spawn_app, Engine};
use crate::{now_is_close_to, order, stored};
use serde_json::json;

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

crate::on_both_engines!(
    an_order_by_customer_code_adds_exact_decimal_totals,
    an_order_by_customer_id_with_amount_adds_exactly,
    order_dates_are_stored_and_the_latest_one_is_the_last_order_date,
    a_repeated_order_id_is_not_counted_twice,
);
