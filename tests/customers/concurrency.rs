//! Concurrent orders all count, concurrent repeats count once.

use crate::helpers::{spawn_app, Engine};
use crate::{order, stored};
use futures_util::future::join_all;
use serde_json::{json, Value};

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

crate::on_both_engines!(concurrent_orders_all_count_exactly, concurrent_repeats_of_one_order_count_once,);
