//! Filters an index answers (`q`, `created_since`/`created_until`, `has_duplicates=true`) reach a
//! page either through the ids their index gives or by a walk that tests each record: the pages
//! are the same whichever way is taken — alone, beside other filters, with each of them driving
//! and the others tested on the walk, paged by cursor and in sync order.

use serde_json::json;

use crate::helpers::{every_page, Engine};
use crate::on_both_engines;

async fn filters_read_through_an_index_or_a_walk_answer_the_same_pages(engine: Engine) {
    let Some(app) = crate::helpers::spawn_app(engine).await else { return };
    let old_kowalski = app.new_lead(json!({"first_name": "Ann", "last_name": "Kowalski", "phone": "555-0101"})).await;
    let kowal_firm =
        app.new_lead(json!({"first_name": "Bo", "company_name": "Kowal Trading", "email": "bo@kowal.test"})).await;
    let koch = app.new_lead(json!({"first_name": "Cy", "last_name": "Koch", "email": "ANN.K@mail.test"})).await;
    let midpoint = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let kohl = app
        .new_lead(
            json!({"first_name": "Di", "last_name": "Kohl", "email": "ann.k@mail.test", "lead_status": "contacted"}),
        )
        .await;
    let other = app.new_lead(json!({"first_name": "Ed", "last_name": "Smith", "phone": "(555) 0101"})).await;
    let kowalczyk =
        app.new_lead(json!({"first_name": "Flo", "last_name": "Kowalczyk", "lead_status": "contacted"})).await;
    let since = format!("created_since={}", urlencoding(&midpoint));
    let until = format!("created_until={}", urlencoding(&midpoint));

    // Alone: the newest matches through the index, one page at a time.
    assert_eq!(every_page(&app, "leads", "q=ko", 2).await, vec![kowalczyk, kohl, koch, kowal_firm, old_kowalski]);
    assert_eq!(every_page(&app, "leads", "q=KOWAL", 1).await, vec![kowalczyk, kowal_firm, old_kowalski]);
    assert_eq!(every_page(&app, "leads", "q=555-01", 1).await, vec![other, old_kowalski]);
    assert_eq!(every_page(&app, "leads", &since, 1).await, vec![kowalczyk, other, kohl]);
    assert_eq!(every_page(&app, "leads", &until, 2).await, vec![koch, kowal_firm, old_kowalski]);
    // Duplicates: koch and kohl share an e-mail, other and old_kowalski a phone.
    assert_eq!(every_page(&app, "leads", "has_duplicates=true", 1).await, vec![other, kohl, koch, old_kowalski]);

    // Beside a filter that no index answers: every match, then that test.
    assert_eq!(every_page(&app, "leads", "q=ko&status=contacted", 1).await, vec![kowalczyk, kohl]);
    assert_eq!(every_page(&app, "leads", "has_duplicates=true&status=new", 1).await, vec![other, koch, old_kowalski]);

    // Two or three of them: the one with the fewest matches drives, the others are tested on the
    // walk (each side both ways round).
    assert_eq!(every_page(&app, "leads", &format!("q=ko&{until}"), 1).await, vec![koch, kowal_firm, old_kowalski]);
    assert_eq!(every_page(&app, "leads", &format!("q=kowalc&{since}"), 1).await, vec![kowalczyk]);
    assert_eq!(every_page(&app, "leads", &format!("q=kowalc&{until}"), 1).await, Vec::<i64>::new());
    assert_eq!(every_page(&app, "leads", &format!("q=555&{since}"), 1).await, vec![other]);
    assert_eq!(every_page(&app, "leads", &format!("q=ann.&{since}"), 1).await, vec![kohl]);
    assert_eq!(every_page(&app, "leads", &format!("has_duplicates=true&q=ko&{since}"), 1).await, vec![kohl]);
    assert_eq!(every_page(&app, "leads", &format!("{since}&{until}"), 1).await, Vec::<i64>::new());

    // Sync order: the same matches, oldest change first.
    let reply = app.get("/api/v1/leads?q=ko&sort=updated_at&updated_since=2000-01-01").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let synced: Vec<i64> = reply.body["items"].as_array().unwrap().iter().map(|i| i["id"].as_i64().unwrap()).collect();
    // Changes younger than the settle window wait for a later poll: whatever is answered is in
    // change order and matches.
    let expected = [old_kowalski, kowal_firm, koch, kohl, kowalczyk];
    assert_eq!(synced, expected[..synced.len()].to_vec());
}

fn urlencoding(text: &str) -> String {
    text.replace('+', "%2B").replace(':', "%3A")
}

on_both_engines!(filters_read_through_an_index_or_a_walk_answer_the_same_pages);
