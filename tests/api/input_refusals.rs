//! What forgiving input still refuses, and how: each refusal a 400 in plain words that names the
//! field (design §3 and §10 "Input"). The sentences are pinned here; that no answer anywhere in
//! the suite uses a parser's wording is checked on every reply (`helpers::assert_plain_words`).

use serde_json::{json, Value};

use crate::helpers::{spawn_app, Engine, Reply, TestApp};
use crate::on_both_engines;

fn assert_refused(reply: &Reply, field: &str, detail: &str) {
    assert_eq!(reply.status, 400, "{}", reply.text);
    assert_eq!(reply.body["field"], field, "{}", reply.text);
    assert_eq!(reply.body["detail"], detail, "{}", reply.text);
}

async fn create_lead(app: &TestApp, data: Value) -> Reply {
    app.post("/incoming/lead/create", &json!({"data": data})).await
}

async fn text_fields_take_numbers_as_their_digits(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let data = json!({"first_name": 42, "phone": 1234567890, "zip_code": 10001, "notes": 1.5, "city": 1e3});
    let reply = create_lead(&app, data).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let id = reply.body["data"]["lead_id"].as_i64().unwrap();
    for (column, stored) in
        [("first_name", "42"), ("phone", "1234567890"), ("zip_code", "10001"), ("notes", "1.5"), ("city", "1000.0")]
    {
        let got = app.scalar_text(&format!("select {column} from leads where id = {id}")).await;
        assert_eq!(got.as_deref(), Some(stored), "{column}");
    }
}

async fn blank_optional_fields_are_absent_and_required_rules_still_apply(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let reply = create_lead(&app, json!({"company_name": "A", "email": "", "assigned_to": " ", "priority": ""})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let id = reply.body["data"]["lead_id"].as_i64().unwrap();
    assert_eq!(app.scalar_text(&format!("select email from leads where id = {id}")).await, None);
    assert_eq!(app.scalar_text(&format!("select priority from leads where id = {id}")).await.unwrap(), "medium");

    let update = json!({"data": {"city": "  ", "assigned_to": ""}});
    app.post(&format!("/incoming/lead/{id}/update"), &json!({"data": {"city": "Boston", "assigned_to": 4}})).await;
    assert_eq!(app.post(&format!("/incoming/lead/{id}/update"), &update).await.status, 200);
    assert_eq!(app.scalar_text(&format!("select city from leads where id = {id}")).await, None, "blank clears");
    let cleared = app.scalar_i64(&format!("select count(*) from leads where id = {id} and assigned_to is null")).await;
    assert_eq!(cleared, 1);

    let nameless = create_lead(&app, json!({"first_name": "", "company_name": " "})).await;
    assert_refused(&nameless, "first_name", "first_name or company_name is required");
    let status = app.post(&format!("/incoming/lead/{id}/status/update"), &json!({"data": {"lead_status": " "}})).await;
    assert_refused(&status, "lead_status", "lead_status is required");
    let generic = app.post("/incoming", &json!({"event": "lead_update", "data": {"lead_id": "", "city": "x"}})).await;
    assert_refused(&generic, "lead_id", "lead_id is required in data for lead_update");
}

async fn whole_numbers_take_digit_strings_and_refuse_the_rest(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let reply =
        create_lead(&app, json!({"company_name": "A", "industry_id": "7", "region_id": 2.0, "assigned_to": " 9 "}))
            .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let id = reply.body["data"]["lead_id"].as_i64().unwrap();
    let sql = format!("select industry_id * 100 + region_id * 10 + assigned_to from leads where id = {id}");
    assert_eq!(app.scalar_i64(&sql).await, 729);

    let cases = [
        (json!("abc"), r#"industry_id must be a whole number (got "abc")"#),
        (json!(1.5), "industry_id must be a whole number (got 1.5)"),
        (json!("1.0"), r#"industry_id must be a whole number (got "1.0")"#),
        (json!(true), "industry_id must be a whole number (got true)"),
        (
            json!("9223372036854775808"),
            r#"industry_id must be a whole number between -9223372036854775807 and 9223372036854775807 (got "9223372036854775808")"#,
        ),
        (
            json!(9_223_372_036_854_775_808_u64),
            "industry_id must be a whole number between -9223372036854775807 and 9223372036854775807 (got 9223372036854775808)",
        ),
    ];
    for (value, detail) in cases {
        assert_refused(
            &create_lead(&app, json!({"company_name": "A", "industry_id": value})).await,
            "industry_id",
            detail,
        );
    }
    let order = json!({"event": "order_created", "data": {"customer_id": "x1", "order_id": "O1", "amount": 1}});
    assert_refused(
        &app.post("/incoming", &order).await,
        "customer_id",
        r#"customer_id must be a whole number (got "x1")"#,
    );

    // The generic route's target id is a whole number too.
    let update = json!({"event": "lead_update", "data": {"lead_id": format!("{id}.0"), "city": "x"}});
    assert_refused(
        &app.post("/incoming", &update).await,
        "lead_id",
        &format!("lead_id must be a positive whole number (got \"{id}.0\")"),
    );
    for lead_id in [json!(id as f64), json!(id.to_string())] {
        let update = json!({"event": "lead_update", "data": {"lead_id": lead_id, "city": "x"}});
        assert_eq!(app.post("/incoming", &update).await.status, 200, "{lead_id}");
    }
}

async fn booleans_take_the_usual_spellings_and_refuse_the_rest(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let lead = app.create_lead().await;
    let path = format!("/incoming/lead/{lead}/contact/add");
    for (flag, primary) in [(json!("YES"), 1), (json!("0"), 0), (json!(1), 1), (json!("False"), 0), (json!(""), 0)] {
        let reply = app.post(&path, &json!({"data": {"first_name": "A", "is_primary": flag}})).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        let id = reply.body["data"]["contact_id"].as_i64().unwrap();
        let sql = format!("select case when is_primary then 1 else 0 end from contacts where id = {id}");
        assert_eq!(app.scalar_i64(&sql).await, primary, "{flag}");
    }
    for (flag, detail) in [
        (json!("maybe"), r#"is_primary must be true or false (got "maybe")"#),
        (json!(2), "is_primary must be true or false (got 2)"),
        (json!([true]), "is_primary must be true or false (got a list)"),
    ] {
        let reply = app.post(&path, &json!({"data": {"first_name": "A", "is_primary": flag}})).await;
        assert_refused(&reply, "is_primary", detail);
    }
}

async fn dates_take_plain_dates_everywhere_and_refuse_the_rest(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let lead = app.create_lead().await;
    let activity = json!({"data": {"activity_type": "call", "scheduled_at": "2024-01-20", "completed_at": "2024-01-20T16:00:00+02:00"}});
    let reply = app.post(&format!("/incoming/lead/{lead}/activity/add"), &activity).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let id = reply.body["data"]["activity_id"].as_i64().unwrap();
    let stored = app.scalar_text(&format!("select scheduled_at from activities where id = {id}")).await;
    assert_eq!(stored.as_deref(), Some("2024-01-20T00:00:00.000000Z"));
    let status = json!({"data": {"lead_status": "contacted", "status_date": "2024-02-01"}});
    assert_eq!(app.post(&format!("/incoming/lead/{lead}/status/update"), &status).await.status, 200);
    let sql = format!("select status_date from status_history where entity_id = {lead} and new_status = 'contacted'");
    assert_eq!(app.scalar_text(&sql).await.as_deref(), Some("2024-02-01T00:00:00.000000Z"));

    let accepted = "an RFC 3339 date-time such as 2024-01-20T14:00:00Z or a date such as 2024-01-20";
    for (value, got) in [
        (json!("20/01/2024"), r#""20/01/2024""#),
        (json!("2024-02-30"), r#""2024-02-30""#),
        (json!(1705708800), "1705708800"),
    ] {
        let status = json!({"data": {"lead_status": "won", "status_date": value}});
        let reply = app.post(&format!("/incoming/lead/{lead}/status/update"), &status).await;
        assert_refused(&reply, "status_date", &format!("status_date must be {accepted} (got {got})"));
    }
}

async fn money_stays_strict_and_shows_the_accepted_form(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let form =
        "must be an amount such as 1500.00 (digits and a decimal point, no thousands separators or currency signs)";
    for (value, got) in
        [(json!("150,000.00"), r#""150,000.00""#), (json!("$1500"), r#""$1500""#), (json!("1_500"), r#""1_500""#)]
    {
        let reply = create_lead(&app, json!({"company_name": "A", "expected_value": value})).await;
        assert_refused(&reply, "expected_value", &format!("expected_value {form} (got {got})"));
    }
    let reply = create_lead(&app, json!({"company_name": "A", "expected_value": " 1500.50 "})).await;
    assert_eq!(reply.status, 200, "a numeric string is fine: {}", reply.text);
}

async fn a_pre_leads_converted_status_is_refused_naming_the_convert_route(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let detail = "lead_status \"converted\" is set only by a conversion \
                  (POST /api/v1/webhooks/incoming/pre-lead/{pre_lead_id}/convert); lead_status must be one of: new, \
                  contacted, working, qualified, on_hold, closed_not_converted";
    let allowed = json!(["new", "contacted", "working", "qualified", "on_hold", "closed_not_converted"]);
    let create = app
        .post("/incoming/pre-lead/create", &json!({"data": {"company_name": "A", "lead_status": "Converted"}}))
        .await;
    assert_refused(&create, "lead_status", detail);
    assert_eq!(create.body["allowed"], allowed);
    let id = app.create_pre_lead().await;
    for path in ["update", "status/update"] {
        let reply =
            app.post(&format!("/incoming/pre-lead/{id}/{path}"), &json!({"data": {"lead_status": "converted"}})).await;
        assert_refused(&reply, "lead_status", detail);
        assert_eq!(reply.body["allowed"], allowed);
    }
    // The value is checked before the state: a converted pre-lead answers the same 400, not 409.
    let convert = app.post(&format!("/incoming/pre-lead/{id}/convert"), &json!({"data": {}})).await;
    assert_eq!(convert.status, 200, "{}", convert.text);
    let again = app
        .post(&format!("/incoming/pre-lead/{id}/status/update"), &json!({"data": {"lead_status": "converted"}}))
        .await;
    assert_refused(&again, "lead_status", detail);
    let stored = app.scalar_text(&format!("select lead_status from pre_leads where id = {id}")).await;
    assert_eq!(stored.as_deref(), Some("converted"), "the conversion still sets it");
}

/// Values no field takes, by the kind of field they are sent to.
fn bad_values(field: &str) -> Vec<Value> {
    let common = vec![json!({"a": 1}), json!([1])];
    let specific = match field {
        "industry_id" | "region_id" | "assigned_to" | "customer_id" => vec![json!("abc"), json!(2.5), json!(true)],
        "is_primary" => vec![json!("maybe"), json!(7)],
        "scheduled_at" | "completed_at" | "status_date" | "order_date" | "payment_date" => {
            vec![json!("soon"), json!(5), json!(false)]
        }
        "expected_value" | "credit_limit" | "budget" | "order_value" | "amount" => {
            vec![json!("$5"), json!("1,000"), json!(true), json!(-1)]
        }
        "email" => vec![json!("nobody"), json!(5)],
        "lead_status" | "priority" | "memo_type" | "activity_type" => vec![json!("nope"), json!(5), json!(false)],
        "order_id" | "payment_id" => vec![json!(1.5), json!(false)],
        _ => vec![json!(true)],
    };
    common.into_iter().chain(specific).collect()
}

async fn every_field_of_every_event_refuses_bad_values_in_plain_words(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let pre_lead = app.create_pre_lead().await;
    let lead = app.create_lead().await;
    let mut events: Vec<(String, Value)> = crate::helpers::EXAMPLE_EVENTS
        .iter()
        .map(|e| (e.to_string(), crate::helpers::example_request(e)["data"].clone()))
        .collect();
    events.push((
        "order_created".into(),
        json!({"customer_id": 1, "order_id": "O-1", "order_value": 5, "order_date": "2024-01-01"}),
    ));
    events.push((
        "payment_received".into(),
        json!({"customer_id": 1, "payment_id": "P-1", "amount": 5, "payment_date": "2024-01-01"}),
    ));
    let mut refused = 0;
    for (event, example) in events {
        for field in example.as_object().unwrap().keys() {
            for value in bad_values(field) {
                let mut data = example.clone();
                data[field] = value.clone();
                if event.starts_with("pre_lead_") {
                    data["pre_lead_id"] = json!(pre_lead);
                } else if event.starts_with("lead_") {
                    data["lead_id"] = json!(lead);
                }
                let reply = app.post("/incoming", &json!({"event": event, "data": data})).await;
                assert_eq!(reply.status, 400, "{event}.{field} = {value}: {}", reply.text);
                assert_eq!(reply.body["field"], field.as_str(), "{event}.{field} = {value}: {}", reply.text);
                let detail = reply.body["detail"].as_str().unwrap();
                assert!(detail.starts_with(&format!("{field} ")), "{event}.{field} = {value}: {detail}");
                refused += 1;
            }
        }
    }
    assert!(refused > 300, "{refused}");
}

on_both_engines!(
    text_fields_take_numbers_as_their_digits,
    blank_optional_fields_are_absent_and_required_rules_still_apply,
    whole_numbers_take_digit_strings_and_refuse_the_rest,
    booleans_take_the_usual_spellings_and_refuse_the_rest,
    dates_take_plain_dates_everywhere_and_refuse_the_rest,
    money_stays_strict_and_shows_the_accepted_form,
    a_pre_leads_converted_status_is_refused_naming_the_convert_route,
    every_field_of_every_event_refuses_bad_values_in_plain_words,
);
