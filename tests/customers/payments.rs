//! `payment_received`: the outstanding amount lowered once, overpayments as credit.

use crate::helpers::{spawn_app, Engine};
use crate::{now_is_close_to, order, payment, stored};
use serde_json::json;

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

crate::on_both_engines!(a_payment_lowers_the_outstanding_amount_once, an_overpayment_leaves_a_credit,);
