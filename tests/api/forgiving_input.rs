//! Forgiving input (design §3 and §10 "Input"): every example of the API document, sent with each
//! scalar in the form a website form, automation tool or ERP export sends it (numbers as strings,
//! strings as numbers, `"true"`, `1.0`), stores exactly what the example as written stores; a
//! blank string stores exactly what `null` stores (absent on create, cleared on update).

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};
use sqlx::{Column, Connection, Row};

use crate::helpers::{example_endpoint, example_request, spawn_app, Engine, TestApp, EXAMPLE_EVENTS};
use crate::on_both_engines;

/// Columns that differ between two runs by construction: row ids, links between records, and
/// the raw payload (which keeps what was sent).
const NOT_COMPARED: [&str; 7] =
    ["id", "entity_id", "pre_lead_id", "lead_id", "customer_id", "converted_lead_id", "raw_payload"];

/// What a variant must store: the example's own values, or what the example with the key `null` stores.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Same {
    AsExample,
    AsNull,
}

/// The form-tool variants of one scalar.
fn variants_of(value: &Value) -> Vec<(Value, Same)> {
    let mut out = Vec::new();
    match value {
        Value::String(text) => {
            out.push((json!(""), Same::AsNull));
            out.push((json!("   "), Same::AsNull));
            if let Ok(n) = text.parse::<i64>() {
                if n.to_string() == *text {
                    out.push((json!(n), Same::AsExample));
                }
            }
        }
        Value::Number(n) => {
            out.push((json!(n.to_string()), Same::AsExample));
            if let Some(i) = n.as_i64() {
                out.push((json!(i as f64), Same::AsExample));
                out.push((json!(format!(" {i} ")), Same::AsExample));
            }
        }
        Value::Bool(b) => {
            let (word, yes_no, digit) = if *b { ("true", "Yes", 1) } else { ("false", "No", 0) };
            out.push((json!(word), Same::AsExample));
            out.push((json!(word.to_uppercase()), Same::AsExample));
            out.push((json!(yes_no), Same::AsExample));
            out.push((json!(digit), Same::AsExample));
            out.push((json!(digit.to_string()), Same::AsExample));
        }
        other => panic!("the examples hold only scalars, not {other}"),
    }
    out
}

/// A row as text per column, without what differs by construction; times close to now (those the
/// service stamps itself) read `<now>`.
async fn snapshot(app: &TestApp, sql: &str) -> BTreeMap<String, Option<String>> {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&app.database_url).await.expect("connect");
    let row = sqlx::query(sql).fetch_one(&mut conn).await.expect(sql);
    let mut out = BTreeMap::new();
    for (i, column) in row.columns().iter().enumerate() {
        let name = column.name();
        if NOT_COMPARED.contains(&name) {
            continue;
        }
        let value: Option<String> = row
            .try_get::<Option<String>, _>(i)
            .or_else(|_| row.try_get::<Option<i64>, _>(i).map(|v| v.map(|v| v.to_string())))
            .or_else(|_| row.try_get::<Option<bool>, _>(i).map(|v| v.map(|v| i64::from(v).to_string())))
            .or_else(|_| row.try_get::<Option<f64>, _>(i).map(|v| v.map(|v| v.to_string())))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let value = value.map(|v| match chrono::DateTime::parse_from_rfc3339(&v) {
            Ok(at) if (chrono::Utc::now() - at.to_utc()).num_minutes().abs() < 10 => "<now>".to_string(),
            _ => v,
        });
        // A conversion's history row names the record it made ("Converted to lead 12").
        let value = value.map(|v| match v.strip_prefix("Converted ") {
            Some(_) if name == "remarks" => v.trim_end_matches(|c: char| c.is_ascii_digit()).to_string(),
            _ => v,
        });
        out.insert(name.to_string(), value);
    }
    let _ = conn.close().await;
    out
}

/// What one request left behind: its status and detail, and the rows it wrote or changed.
#[derive(Debug, PartialEq)]
struct Outcome {
    status: u16,
    detail: Option<String>,
    rows: Vec<BTreeMap<String, Option<String>>>,
}

/// Creates what `event` needs, sends `data` to its typed route and reads back what it stored.
async fn run(app: &TestApp, event: &str, data: &Map<String, Value>) -> Outcome {
    let mut path = example_endpoint(event);
    let mut target = None;
    if path.contains("{pre_lead_id}") {
        let id = app.create_pre_lead().await;
        path = path.replace("{pre_lead_id}", &id.to_string());
        target = Some(("pre_leads", "pre_lead", id));
    }
    if path.contains("{lead_id}") {
        let id = app.create_lead().await;
        path = path.replace("{lead_id}", &id.to_string());
        target = Some(("leads", "lead", id));
    }
    let mut body = example_request(event);
    body["data"] = Value::Object(data.clone());
    let reply = app.post(&path, &body).await;
    let mut outcome = Outcome { status: reply.status, detail: None, rows: Vec::new() };
    if reply.status != 200 {
        outcome.detail = reply.body["detail"].as_str().map(str::to_string);
        return outcome;
    }
    let answer = &reply.body["data"];
    let id = |key: &str| answer[key].as_i64().unwrap_or_else(|| panic!("{event}: no {key} in {answer}"));
    let mut rows = Vec::new();
    match event {
        "new_inquiry" => target = Some(("pre_leads", "pre_lead", id("pre_lead_id"))),
        "new_lead" => target = Some(("leads", "lead", id("lead_id"))),
        "pre_lead_contact_add" | "lead_contact_add" => rows.push(format!("contacts where id = {}", id("contact_id"))),
        "pre_lead_memo_add" | "lead_memo_add" => rows.push(format!("memos where id = {}", id("memo_id"))),
        "lead_activity_add" => rows.push(format!("activities where id = {}", id("activity_id"))),
        "lead_qualified_profile_update" => rows.push(format!("qualified_profiles where id = {}", id("profile_id"))),
        "pre_lead_convert" => rows.push(format!("leads where id = {}", id("lead_id"))),
        "lead_convert" => rows.push(format!("customers where id = {}", id("customer_id"))),
        _ => {}
    }
    if let Some((table, entity, id)) = target {
        rows.push(format!("{table} where id = {id}"));
        rows.push(format!(
            "status_history where entity_type = '{entity}' and entity_id = {id} order by id desc limit 1"
        ));
    }
    for from in rows {
        outcome.rows.push(snapshot(app, &format!("select * from {from}")).await);
    }
    outcome
}

async fn every_example_in_its_form_tool_variants_stores_what_the_example_stores(engine: Engine) {
    let mut checked = 0;
    for event in EXAMPLE_EVENTS {
        // A customer code is unique: a conversion runs on a database of its own, where the ids
        // (and a generated code) come out the same every time.
        let fresh_each_run = event == "lead_convert";
        let Some(shared) = spawn_app(engine).await else { return };
        let app_for_run = || async {
            if fresh_each_run {
                Some(spawn_app(engine).await.expect("engine configured"))
            } else {
                None
            }
        };
        let example = example_request(event)["data"].as_object().unwrap().clone();
        let own = app_for_run().await;
        let canonical = run(own.as_ref().unwrap_or(&shared), event, &example).await;
        assert_eq!(canonical.status, 200, "{event}: {canonical:?}");
        for (key, value) in &example {
            let mut as_null = None;
            for (variant, same) in variants_of(value) {
                let mut data = example.clone();
                data.insert(key.clone(), variant.clone());
                let own = app_for_run().await;
                let got = run(own.as_ref().unwrap_or(&shared), event, &data).await;
                let want = match same {
                    Same::AsExample => {
                        assert_eq!(got.status, 200, "{event}.{key} = {variant}: {got:?}");
                        &canonical
                    }
                    Same::AsNull => {
                        if as_null.is_none() {
                            let mut with_null = example.clone();
                            with_null.insert(key.clone(), Value::Null);
                            let own = app_for_run().await;
                            as_null = Some(run(own.as_ref().unwrap_or(&shared), event, &with_null).await);
                        }
                        as_null.as_ref().unwrap()
                    }
                };
                assert_eq!(&got, want, "{event}.{key} = {variant} must store what {same:?} stores");
                checked += 1;
            }
        }
    }
    assert!(checked >= 240, "{checked} variants checked");
}

on_both_engines!(every_example_in_its_form_tool_variants_stores_what_the_example_stores);
