//! Every request example of the API document, sent byte for byte as written (signed), gets the
//! documented answer; the generic endpoint answers the same.

use serde_json::Value;

use crate::helpers::{
    example_bytes, example_endpoint, example_request, example_response, spawn_app, Engine, TestApp, EXAMPLE_EVENTS,
};
use crate::on_both_engines;

/// Compares an answer with the documented one: same status and message, same `data` keys in the
/// same order, same values except ids, which are whatever the service assigned.
fn assert_matches_document(event: &str, answer: &Value) {
    let promised = example_response(event);
    assert_eq!(answer["status"], promised["status"], "{event}: {answer}");
    assert_eq!(answer["message"], promised["message"], "{event}: {answer}");
    let (got, want) = (answer["data"].as_object().unwrap(), promised["data"].as_object().unwrap());
    assert_eq!(got.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>(), "{event}: {answer}");
    for (key, value) in want {
        if key.ends_with("_id") {
            assert!(got[key].as_i64().is_some_and(|id| id > 0), "{event}: {key} in {answer}");
        } else {
            assert_eq!(&got[key], value, "{event}: {key} in {answer}");
        }
    }
}

/// Sends `event`'s example to its typed route, creating whatever record it needs first.
async fn send_example(app: &TestApp, event: &str) -> Value {
    let mut path = example_endpoint(event);
    if path.contains("{pre_lead_id}") {
        path = path.replace("{pre_lead_id}", &app.create_pre_lead().await.to_string());
    }
    if path.contains("{lead_id}") {
        let lead = app.create_lead().await;
        if event == "lead_status_update" {
            // The document's answer (old_status proposal_sent) follows its lead_update example.
            let update =
                app.post_raw(&format!("/incoming/lead/{lead}/update"), &example_bytes("lead_update"), &[]).await;
            assert_eq!(update.status, 200, "{}", update.text);
        }
        path = path.replace("{lead_id}", &lead.to_string());
    }
    let reply = app.post_raw(&path, &example_bytes(event), &[]).await;
    assert_eq!(reply.status, 200, "{event}: {}", reply.text);
    reply.body
}

async fn every_documented_example_gets_the_documented_answer(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    for event in EXAMPLE_EVENTS {
        let answer = send_example(&app, event).await;
        assert_matches_document(event, &answer);
    }
}

async fn the_generic_endpoint_answers_like_the_typed_routes(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    for event in EXAMPLE_EVENTS {
        let mut body = example_request(event);
        if example_endpoint(event).contains("{pre_lead_id}") {
            body["data"]["pre_lead_id"] = app.create_pre_lead().await.into();
        }
        if example_endpoint(event).contains("{lead_id}") {
            let lead = app.create_lead().await;
            if event == "lead_status_update" {
                let mut update = example_request("lead_update");
                update["data"]["lead_id"] = lead.into();
                assert_eq!(app.post("/incoming", &update).await.status, 200);
            }
            body["data"]["lead_id"] = lead.into();
        }
        let reply = app.post("/incoming", &body).await;
        assert_eq!(reply.status, 200, "{event}: {}", reply.text);
        assert_matches_document(event, &reply.body);
    }
}

async fn the_readme_curl_example_works(engine: Engine) {
    let Some(app) = spawn_app(engine).await else { return };
    let body = br#"{
    "event": "new_lead",
    "source": "test",
    "data": {
      "first_name": "Test",
      "email": "test@example.com",
      "company_name": "Test Company"
    }
  }"#;
    let reply = app.post_raw("/incoming/lead/create", body, &[]).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["message"], "Lead created successfully");
}

on_both_engines!(
    every_documented_example_gets_the_documented_answer,
    the_generic_endpoint_answers_like_the_typed_routes,
    the_readme_curl_example_works,
);
