//! `created_until` pages start at the newest block of ids that can match (migration 0012), and
//! answer exactly what the plain condition answers: ids descending, paged by cursor, beside other
//! filters and in sync order, also when creation times do not rise with ids (records written out
//! of order, a time changed in place) and on a database made before the blocks were kept.

use serde_json::{json, Value};

use crate::helpers::{every_page, spawn_app, spawn_app_upgraded, Engine, TestApp};
use crate::on_both_engines;

/// `YYYY-MM-DD` as the service stores a time.
fn at(day: &str) -> String {
    format!("{day}T00:00:00.000000Z")
}

/// Leads in three blocks of ids, each statement inserting one, in this order: 3000 comes after
/// 3001–3005 and was created years before them, in the block they opened.
fn seeded_leads() -> Vec<String> {
    let mut rows: Vec<(i64, String, &str, &str)> = Vec::new();
    for id in 1..=5 {
        let status = if id % 2 == 0 { "contacted" } else { "new" };
        let last = if id == 2 { "Kowalski" } else { "Smith" };
        rows.push((id, at(&format!("2020-01-0{id}")), status, last));
    }
    rows.push((1500, at("2020-06-01"), "new", "Smith"));
    for id in 3001..=3005 {
        rows.push((id, at(&format!("2025-01-0{}", id - 3000)), "new", "Smith"));
    }
    rows.push((3000, at("2019-12-01"), "new", "Kowalski"));
    rows.push((5000, at("2026-01-01"), "new", "Smith"));
    rows.into_iter()
        .map(|(id, created, status, last)| {
            format!(
                "insert into leads (id, first_name, last_name, last_name_lower, lead_status, created_at, updated_at) \
                 values ({id}, 'Lee', '{last}', '{}', '{status}', '{created}', '{created}')",
                last.to_lowercase()
            )
        })
        .collect()
}

/// What the lists answer for [`seeded_leads`].
async fn lists_of_the_seeded_leads(app: &TestApp) {
    let until = |day: &str| format!("created_until={day}");
    let old = [3000, 1500, 5, 4, 3, 2, 1];
    assert_eq!(every_page(app, "leads", &until("2021-01-01"), 2).await, old);
    assert_eq!(every_page(app, "leads", &until("2021-01-01"), 50).await, old);
    assert_eq!(every_page(app, "leads", &until("2020-01-01"), 2).await, vec![3000]);
    assert_eq!(every_page(app, "leads", &until("2019-01-01"), 2).await, Vec::<i64>::new());
    // Recent bounds: every block matches.
    let recent = [3005, 3004, 3003, 3002, 3001, 3000, 1500, 5, 4, 3, 2, 1];
    assert_eq!(every_page(app, "leads", &until("2025-06-01"), 3).await, recent);
    let mut all = vec![5000];
    all.extend(recent);
    assert_eq!(every_page(app, "leads", &until("2027-01-01"), 4).await, all);
    assert_eq!(every_page(app, "leads", "created_since=2025-01-01", 4).await, vec![5000, 3005, 3004, 3003, 3002, 3001]);

    // Beside other filters.
    assert_eq!(every_page(app, "leads", "created_until=2021-01-01&status=contacted", 1).await, vec![4, 2]);
    assert_eq!(every_page(app, "leads", "created_until=2021-01-01&q=kowal", 1).await, vec![3000, 2]);
    assert_eq!(every_page(app, "leads", "created_until=2019-12-02&q=kowal", 1).await, vec![3000]);
    assert_eq!(
        every_page(app, "leads", "created_since=2020-01-03&created_until=2020-07-01", 2).await,
        vec![1500, 5, 4, 3]
    );
    assert_eq!(
        every_page(app, "leads", "created_since=2020-01-03&created_until=2020-01-03", 2).await,
        Vec::<i64>::new()
    );

    // Sync order: oldest change first.
    let reply = app.get("/api/v1/leads?sort=updated_at&created_until=2021-01-01&limit=4").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(ids(&reply.body), vec![3000, 1, 2, 3]);
    let cursor = reply.body["next_cursor"].as_str().unwrap().to_string();
    let reply =
        app.get(&format!("/api/v1/leads?sort=updated_at&created_until=2021-01-01&limit=4&cursor={cursor}")).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(ids(&reply.body), vec![4, 5, 1500]);
}

fn ids(body: &Value) -> Vec<i64> {
    body["items"].as_array().expect("items").iter().map(|item| item["id"].as_i64().unwrap()).collect()
}

async fn created_until_pages_ids_descending_whatever_order_times_were_written_in(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    for sql in seeded_leads() {
        app.execute(&sql).await;
    }
    lists_of_the_seeded_leads(&app).await;

    // A creation time changed in place counts from then on.
    app.execute(&format!("update leads set created_at = '{}' where id = 5000", at("2018-01-01"))).await;
    assert_eq!(every_page(&app, "leads", "created_until=2019-01-01", 2).await, vec![5000]);
    assert_eq!(every_page(&app, "leads", "created_until=2020-01-02", 1).await, vec![5000, 3000, 1]);

    // Pre-leads and customers take the same path.
    for (id, day) in [(10, "2020-01-01"), (4000, "2025-01-01"), (2100, "2019-01-01")] {
        let created = at(day);
        app.execute(&format!(
            "insert into pre_leads (id, first_name, created_at, updated_at) values ({id}, 'Pat', '{created}', '{created}')"
        ))
        .await;
        app.execute(&format!(
            "insert into customers (id, customer_code, created_at, updated_at) \
             values ({id}, 'C-{id}', '{created}', '{created}')"
        ))
        .await;
    }
    for path in ["pre-leads", "customers"] {
        assert_eq!(every_page(&app, path, "created_until=2021-01-01", 1).await, vec![2100, 10], "{path}");
        assert_eq!(every_page(&app, path, "created_until=2019-06-01", 1).await, vec![2100], "{path}");
        assert_eq!(every_page(&app, path, "created_until=2030-01-01", 2).await, vec![4000, 2100, 10], "{path}");
        assert_eq!(every_page(&app, path, "created_until=2018-01-01", 2).await, Vec::<i64>::new(), "{path}");
    }
}

async fn a_database_from_before_the_blocks_answers_the_same(engine: Engine) {
    let seed = seeded_leads();
    let seed: Vec<&str> = seed.iter().map(String::as_str).collect();
    let Some(app) = spawn_app_upgraded(engine, 12, &seed).await else { return };
    lists_of_the_seeded_leads(&app).await;
}

async fn created_until_on_records_made_through_webhooks(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let mut made = Vec::new();
    for (n, status) in ["new", "contacted", "new", "contacted"].into_iter().enumerate() {
        let data = json!({"first_name": format!("Ann {n}"), "lead_status": status});
        let reply = app.post("/incoming/lead/create", &json!({"event": "new_lead", "data": data})).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        made.push(reply.body["data"]["lead_id"].as_i64().unwrap());
    }
    made.reverse();
    let reply = app.get("/api/v1/leads?created_until=2000-01-01").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body, json!({"items": [], "next_cursor": null}));
    assert_eq!(every_page(&app, "leads", "created_until=2100-01-01", 1).await, made);
    assert_eq!(every_page(&app, "leads", "created_until=2100-01-01&status=contacted", 1).await, vec![made[0], made[2]]);
    assert_eq!(every_page(&app, "leads", "created_since=2000-01-01&created_until=2100-01-01", 3).await, made);

    // An unparsable date is refused, naming the parameter.
    for (path, query) in [("leads", "created_until=2024-02-30"), ("customers", "created_until=last%20year")] {
        let reply = app.get(&format!("/api/v1/{path}?{query}")).await;
        assert_eq!(reply.status, 400, "{path}?{query}: {}", reply.text);
        assert_eq!(reply.body["field"], "created_until", "{}", reply.text);
    }
}

/// Makes a lead through the webhook (which writes its search keys), created at `created` when
/// given: its id.
async fn lead_made_at(app: &TestApp, data: Value, created: Option<&str>) -> i64 {
    let id = app.new_lead(data).await;
    if let Some(created) = created {
        app.execute(&format!("update leads set created_at = '{created}', updated_at = '{created}' where id = {id}"))
            .await;
    }
    id
}

/// `q` beside `created_until` answers the matches created before the bound, newest first, paged
/// by cursor: by last name, company, e-mail and phone, with matches after the bound and other
/// records before it left out, whichever parameter comes first.
async fn q_beside_created_until_pages_the_matches_before_the_bound(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    // Each group: a last name, a company and an e-mail that start with `gonz` (any capitals), and
    // a record matching none of them (a phone instead).
    let group = |n: usize| {
        [
            json!({"first_name": "Ana", "last_name": if n.is_multiple_of(2) { "González" } else { "GONZALEZ" }}),
            json!({"first_name": "Bo", "last_name": "Smith", "company_name": format!("Gonzaga Foods {n}")}),
            json!({"first_name": "Cy", "last_name": "Smith", "email": format!("Gonzo.{n}@Example.com")}),
            json!({"first_name": "Di", "last_name": "Smith", "company_name": "Acme", "phone": format!("(415) 555-01{n:02}")}),
        ]
    };
    // Two groups created in 2020, in id order, in the first block of ids.
    let mut old = Vec::new();
    for n in 0..2 {
        for (k, data) in group(n).into_iter().enumerate() {
            old.push(lead_made_at(&app, data, Some(&at(&format!("2020-0{}-0{}", n + 1, k + 1)))).await);
        }
    }
    // Two groups made now, in a later block of ids.
    let restart = match engine {
        Engine::Sqlite => "update sqlite_sequence set seq = 3000 where name = 'leads'",
        Engine::Postgres => "alter table leads alter column id restart with 3001",
    };
    app.execute(restart).await;
    let mut new = Vec::new();
    for n in 2..4 {
        for data in group(n) {
            new.push(lead_made_at(&app, data, None).await);
        }
    }
    assert!(new[0] > 3000, "{new:?}");
    let matching = |ids: &[i64]| -> Vec<i64> {
        ids.iter().enumerate().filter(|(i, _)| i % 4 != 3).map(|(_, id)| *id).rev().collect()
    };
    let phones = |ids: &[i64]| -> Vec<i64> { ids.iter().skip(3).step_by(4).copied().rev().collect() };

    let old_matches = matching(&old);
    assert_eq!(old_matches.len(), 6);
    for limit in [1, 2, 4, 50] {
        for query in
            ["q=gonz&created_until=2021-01-01", "created_until=2021-01-01&q=gonz", "created_until=2021-01-01&q=GONZ"]
        {
            assert_eq!(every_page(&app, "leads", query, limit).await, old_matches, "{query}, limit {limit}");
        }
    }
    // The bound between the two old groups, and within the first.
    assert_eq!(every_page(&app, "leads", "created_until=2020-02-01&q=gonz", 2).await, matching(&old[..4]));
    assert_eq!(every_page(&app, "leads", "created_until=2020-01-03&q=gonz", 1).await, vec![old[1], old[0]]);
    assert_eq!(every_page(&app, "leads", "created_until=2020-01-01&q=gonz", 1).await, Vec::<i64>::new());
    // Phone digits and the last name alone.
    assert_eq!(every_page(&app, "leads", "created_until=2021-01-01&q=%28415%29%20555", 1).await, phones(&old));
    assert_eq!(
        every_page(&app, "leads", "created_until=2021-01-01&q=gonzá", 1).await,
        vec![old[0]],
        "González in the first old group, GONZALEZ in the second"
    );
    // A bound after every record: every match; the matches after the bound by created_since.
    let mut all = matching(&new);
    all.extend(&old_matches);
    assert_eq!(every_page(&app, "leads", "q=gonz&created_until=2100-01-01", 3).await, all);
    assert_eq!(every_page(&app, "leads", "q=gonz", 5).await, all);
    assert_eq!(every_page(&app, "leads", "q=gonz&created_since=2021-01-01", 2).await, matching(&new));
    // Beside a third filter.
    assert_eq!(every_page(&app, "leads", "created_until=2021-01-01&q=gonz&status=new", 2).await, old_matches);
    assert_eq!(every_page(&app, "leads", "created_until=2021-01-01&q=gonz&status=won", 2).await, Vec::<i64>::new());
}

/// `has_duplicates` beside `created_until` and alone, paged by cursor one record a page (each
/// page then bounds the ids it reads): the records with a possible duplicate, newest first,
/// whenever their duplicate was made.
async fn has_duplicates_beside_created_until_pages_by_cursor(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let mut old = Vec::new();
    for (k, email) in ["ann@example.com", "bo@example.com", "cy@example.com", "ANN@Example.com"].into_iter().enumerate()
    {
        let data = json!({"first_name": format!("Old {k}"), "email": email});
        old.push(lead_made_at(&app, data, Some(&at(&format!("2020-01-0{}", k + 1)))).await);
    }
    let restart = match engine {
        Engine::Sqlite => "update sqlite_sequence set seq = 3000 where name = 'leads'",
        Engine::Postgres => "alter table leads alter column id restart with 3001",
    };
    app.execute(restart).await;
    let mut new = Vec::new();
    for (k, email) in ["Bo@example.com", "di@example.com", "eve@example.com", "DI@example.com"].into_iter().enumerate()
    {
        new.push(lead_made_at(&app, json!({"first_name": format!("New {k}"), "email": email}), None).await);
    }
    assert!(new[0] > 3000, "{new:?}");
    // Ann (old 0 and 3) and Bo (old 1 and new 0) and Di (new 1 and 3) have duplicates.
    let old_with = vec![old[3], old[1], old[0]];
    let mut all_with = vec![new[3], new[1], new[0]];
    all_with.extend(&old_with);
    for limit in [1, 2, 50] {
        assert_eq!(every_page(&app, "leads", "created_until=2021-01-01&has_duplicates=true", limit).await, old_with);
        assert_eq!(every_page(&app, "leads", "has_duplicates=true&created_until=2021-01-01", limit).await, old_with);
        assert_eq!(every_page(&app, "leads", "has_duplicates=true", limit).await, all_with);
    }
    assert_eq!(
        every_page(&app, "leads", "created_until=2020-01-03&has_duplicates=true", 1).await,
        vec![old[1], old[0]]
    );
    assert_eq!(every_page(&app, "leads", "created_until=2021-01-01&has_duplicates=false", 1).await, vec![old[2]]);
    assert_eq!(every_page(&app, "leads", "has_duplicates=false", 1).await, vec![new[2], old[2]]);
    assert_eq!(
        every_page(&app, "leads", "created_since=2021-01-01&has_duplicates=true", 1).await,
        vec![new[3], new[1], new[0]]
    );
}

on_both_engines!(
    created_until_pages_ids_descending_whatever_order_times_were_written_in,
    a_database_from_before_the_blocks_answers_the_same,
    created_until_on_records_made_through_webhooks,
    q_beside_created_until_pages_the_matches_before_the_bound,
    has_duplicates_beside_created_until_pages_by_cursor
);
