//! List `q` folds every capital letter, not only ASCII ones, the same way on SQLite and
//! PostgreSQL (`q=är` finds "Ärger"); a database made before the service folded the keys itself
//! opens with its rows kept and found the same way.

use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_upgraded, Engine, TestApp};
use crate::on_both_engines;

/// The ids a list answers for `q`.
async fn found(app: &TestApp, list: &str, q: &str) -> Vec<i64> {
    let query: String = url::form_urlencoded::Serializer::new(String::new()).append_pair("q", q).finish();
    let reply = app.get(&format!("/api/v1/{list}?{query}")).await;
    assert_eq!(reply.status, 200, "{list}?{query}: {}", reply.text);
    reply.body["items"].as_array().unwrap().iter().map(|item| item["id"].as_i64().unwrap()).collect()
}

async fn created(app: &TestApp, path: &str, data: Value, id: &str) -> i64 {
    let reply = app.post(path, &json!({"data": data})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body["data"][id].as_i64().unwrap()
}

async fn q_folds_capitals_beyond_ascii(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let lead = |data: Value| created(&app, "/incoming/lead/create", data, "lead_id");
    let arger = lead(json!({"first_name": "Anna", "last_name": "Ärger"})).await;
    let ecole = lead(json!({"first_name": "Marie", "company_name": "ÉCOLE Dupont"})).await;
    let gross = lead(json!({"first_name": "Hans", "last_name": "Großmann"})).await;
    for q in ["är", "ÄR", "Ärg", "ärger"] {
        assert_eq!(found(&app, "leads", q).await, vec![arger], "q={q}");
    }
    for q in ["éc", "ÉC", "école d"] {
        assert_eq!(found(&app, "leads", q).await, vec![ecole], "q={q}");
    }
    // ß has no single capital letter but ẞ; it is not spelled out as "ss".
    for q in ["groß", "GROẞ", "Großm"] {
        assert_eq!(found(&app, "leads", q).await, vec![gross], "q={q}");
    }
    assert_eq!(found(&app, "leads", "gross").await, Vec::<i64>::new());

    // A changed name gets its new key; a conversion's record keeps it.
    let reply = app.post(&format!("/incoming/lead/{arger}/update"), &json!({"data": {"last_name": "Übel"}})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(found(&app, "leads", "ÜB").await, vec![arger]);
    assert_eq!(found(&app, "leads", "är").await, Vec::<i64>::new());
    let reply = app.post(&format!("/incoming/lead/{gross}/convert"), &json!({"data": {}})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let customer = reply.body["data"]["customer_id"].as_i64().unwrap();
    assert_eq!(found(&app, "customers", "GROẞ").await, vec![customer]);
    let pre_lead =
        created(&app, "/incoming/pre-lead/create", json!({"company_name": "Ätna Reisen"}), "pre_lead_id").await;
    assert_eq!(found(&app, "pre-leads", "ÄTNA").await, vec![pre_lead]);
    let reply = app.post(&format!("/incoming/pre-lead/{pre_lead}/convert"), &json!({"data": {}})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let converted = reply.body["data"]["lead_id"].as_i64().unwrap();
    assert_eq!(found(&app, "leads", "ätna r").await, vec![converted]);
    // A name set to null loses its key.
    let reply = app.post(&format!("/incoming/lead/{ecole}/update"), &json!({"data": {"company_name": null}})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(found(&app, "leads", "éc").await, Vec::<i64>::new());
}

const AT: &str = "'2024-01-01T00:00:00.000000Z'";

async fn a_database_from_before_folded_keys_keeps_its_rows_and_finds_them(engine: Engine) {
    let seed = [
        format!("insert into pre_leads (first_name, company_name, created_at, updated_at) values ('Ute', 'Ätna Reisen', {AT}, {AT})"),
        format!("insert into leads (first_name, last_name, company_name, created_at, updated_at) values ('Anna', 'Ärger', 'ÉCOLE Dupont', {AT}, {AT})"),
        format!("insert into leads (first_name, last_name, created_at, updated_at) values ('John', 'Smith', {AT}, {AT})"),
        format!("insert into leads (first_name, last_name, company_name, created_at, updated_at) values ('Hans', 'Großmann', 'ACME', {AT}, {AT})"),
        format!("insert into customers (customer_code, last_name, created_at, updated_at) values ('C-1', 'ØSTERGAARD', {AT}, {AT})"),
    ];
    let seed: Vec<&str> = seed.iter().map(String::as_str).collect();
    let Some(app) = spawn_app_upgraded(engine, 11, &seed).await else { return };
    assert_eq!(app.scalar_i64("select count(*) from leads").await, 3);
    assert_eq!(app.scalar_text("select last_name from leads where id = 1").await.as_deref(), Some("Ärger"));
    assert_eq!(app.scalar_i64("select count(*) from search_keys_pending").await, 0, "filled at start");
    assert_eq!(found(&app, "leads", "ÄR").await, vec![1]);
    assert_eq!(found(&app, "leads", "éco").await, vec![1]);
    assert_eq!(found(&app, "leads", "SMI").await, vec![2]);
    assert_eq!(found(&app, "leads", "GROẞ").await, vec![3]);
    assert_eq!(found(&app, "leads", "acme").await, vec![3]);
    assert_eq!(found(&app, "pre-leads", "ätna").await, vec![1]);
    assert_eq!(found(&app, "customers", "øster").await, vec![1]);
    // The service goes on writing keys for new rows.
    let reply =
        app.post("/incoming/lead/create", &json!({"data": {"first_name": "Eva", "last_name": "Ängström"}})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(found(&app, "leads", "äng").await, vec![4]);
}

on_both_engines!(q_folds_capitals_beyond_ascii, a_database_from_before_folded_keys_keeps_its_rows_and_finds_them);
