use serde_json::{json, Value};

use super::{generic_request_schema, typed_request_schema};
use crate::domain::values::{ActivityType, LeadStatus, MemoType, PreLeadStatus, Priority, Source};
use crate::events::EventKind;
use crate::http::openapi::JSON;
use crate::openapi::document;
use crate::startup::API_BASE;

fn document_json() -> Value {
    serde_json::to_value(document()).expect("the document serialises")
}

fn example_file(name: &str, which: &str) -> Value {
    let path = format!("{}/docs/examples/{name}.{which}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{path}: {err}"));
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("{path}: {err}"))
}

#[test]
fn typed_operations_follow_the_event_table() {
    let doc = document_json();
    for kind in EventKind::ALL {
        let Some(path) = kind.path() else { continue };
        let op = &doc["paths"][format!("{API_BASE}{path}")]["post"];
        assert_eq!(op["operationId"], kind.name());
        assert_eq!(op["summary"], kind.summary());
        let expected_tag =
            if kind.name().starts_with("pre_lead") || kind == EventKind::NewInquiry { "pre-leads" } else { "leads" };
        assert_eq!(op["tags"], json!([expected_tag]), "{}", kind.name());
        let params = op["parameters"].as_array().unwrap();
        let path_params: Vec<&Value> = params.iter().filter(|p| p["in"] == "path").collect();
        match kind.target() {
            Some(entity) => {
                assert_eq!(path_params.len(), 1, "{}", kind.name());
                assert_eq!(path_params[0]["name"], entity.id_field());
                assert_eq!(path_params[0]["required"], true);
                assert_eq!(path_params[0]["schema"]["type"], "integer");
                assert!(op["responses"]["404"].is_object(), "{}", kind.name());
            }
            None => {
                assert!(path_params.is_empty(), "{}", kind.name());
                assert!(op["responses"]["404"].is_null(), "{}", kind.name());
            }
        }
        for header in ["X-Webhook-Signature", "webhook-id", "webhook-timestamp", "webhook-signature", "Idempotency-Key"]
        {
            assert!(
                params.iter().any(|p| p["in"] == "header" && p["name"] == header && p["required"] == false),
                "{} lacks {header}",
                kind.name()
            );
        }
        for status in ["200", "400", "401", "409", "413", "415", "429", "500"] {
            assert!(op["responses"][status].is_object(), "{} lacks {status}", kind.name());
        }
        assert_eq!(op["requestBody"]["required"], true);
        let envelope = &doc["components"]["schemas"][typed_request_schema(kind)];
        assert_eq!(envelope["properties"]["event"]["enum"], json!([kind.name()]));
        assert_eq!(envelope["required"], json!(["data"]));
    }
}

#[test]
fn request_and_response_examples_are_the_documented_ones() {
    let doc = document_json();
    for kind in EventKind::ALL {
        let Some(path) = kind.path() else { continue };
        let op = &doc["paths"][format!("{API_BASE}{path}")]["post"];
        assert_eq!(
            op["requestBody"]["content"][JSON]["example"],
            example_file(kind.name(), "request"),
            "{}",
            kind.name()
        );
        assert_eq!(
            op["responses"]["200"]["content"][JSON]["example"],
            example_file(kind.name(), "response"),
            "{}",
            kind.name()
        );
    }
}

#[test]
fn the_generic_route_takes_all_events() {
    let doc = document_json();
    let op = &doc["paths"][format!("{API_BASE}/incoming")]["post"];
    let content = &op["requestBody"]["content"][JSON];
    assert_eq!(content["schema"]["oneOf"].as_array().unwrap().len(), 18);
    let examples = content["examples"].as_object().unwrap();
    assert_eq!(examples.len(), 18);
    for kind in EventKind::ALL {
        let example = &examples[kind.name()]["value"];
        assert_eq!(example["event"], kind.name());
        let envelope = &doc["components"]["schemas"][generic_request_schema(kind)];
        assert_eq!(envelope["required"], json!(["data", "event"]));
        if let Some(entity) = kind.target() {
            assert!(example["data"][entity.id_field()].is_i64(), "{}", kind.name());
            let mut without_id = example.clone();
            without_id["data"].as_object_mut().unwrap().remove(entity.id_field());
            assert_eq!(without_id, example_file(kind.name(), "request"));
        }
    }
    assert_eq!(examples["order_created"]["value"]["data"]["order_id"], "SO-1001");
    assert_eq!(examples["payment_received"]["value"]["data"]["payment_id"], "PAY-9001");
    assert_eq!(op["responses"]["200"]["content"][JSON]["schema"]["anyOf"].as_array().unwrap().len(), 18);
}

#[test]
fn value_sets_list_their_values() {
    let doc = document_json();
    let schemas = &doc["components"]["schemas"];
    let values = |name: &str| -> Vec<String> {
        schemas[name]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{name} has no enum"))
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(values("LeadStatus"), LeadStatus::ALLOWED);
    assert_eq!(values("LeadStatus").len(), 7);
    assert_eq!(values("PreLeadStatus"), PreLeadStatus::ALLOWED);
    assert_eq!(values("Priority"), Priority::ALLOWED);
    assert_eq!(values("Source"), Source::ALLOWED);
    assert_eq!(values("MemoType"), MemoType::ALLOWED);
    assert_eq!(values("ActivityType"), ActivityType::ALLOWED);
}

/// The fields of each "at least one of" rule the document states for an event's `data`.
fn stated_rules(doc: &Value, schema: &str) -> Vec<Vec<String>> {
    let Some(all) = doc["components"]["schemas"][schema]["allOf"].as_array() else { return Vec::new() };
    all.iter()
        .filter_map(|part| part["anyOf"].as_array())
        .map(|any| any.iter().map(|branch| branch["required"][0].as_str().unwrap().to_string()).collect())
        .collect()
}

fn sample(field: &str) -> Value {
    match field {
        "customer_id" => json!(7),
        "order_value" | "amount" => json!("10.00"),
        "email" => json!("a@example.com"),
        _ => json!("x"),
    }
}

fn parses(kind: EventKind, data: Value) -> bool {
    use crate::domain::{LeadId, PreLeadId};
    use crate::webhook::command::{binding, Parse};
    match binding(kind).parse {
        Parse::Untargeted(parse) => parse(data).is_ok(),
        Parse::PreLead(parse) => parse(PreLeadId(1), data).is_ok(),
        Parse::Lead(parse) => parse(LeadId(1), data).is_ok(),
    }
}

/// Each rule the document states is one the parser holds: the example without any of the rule's
/// fields (or with them blank) is refused, and with any single one of them it is taken.
#[test]
fn the_stated_rules_are_the_enforced_ones() {
    let doc = document_json();
    let mut stated = Vec::new();
    for kind in EventKind::ALL {
        let data_schema = doc["components"]["schemas"][generic_request_schema(kind)]["properties"]["data"]["allOf"][0]
            ["$ref"]
            .as_str()
            .or(doc["components"]["schemas"][generic_request_schema(kind)]["properties"]["data"]["$ref"].as_str())
            .unwrap()
            .trim_start_matches("#/components/schemas/")
            .to_string();
        let (request, _) = super::examples(kind);
        let example = request["data"].as_object().unwrap().clone();
        for rule in stated_rules(&doc, &data_schema) {
            let mut without = example.clone();
            rule.iter().for_each(|field| {
                without.remove(field);
            });
            assert!(!parses(kind, Value::Object(without.clone())), "{}: {rule:?} absent", kind.name());
            let mut blank = without.clone();
            rule.iter().for_each(|field| {
                blank.insert(field.clone(), json!("  "));
            });
            assert!(!parses(kind, Value::Object(blank)), "{}: {rule:?} blank", kind.name());
            for field in &rule {
                let mut one = without.clone();
                one.insert(field.clone(), sample(field));
                assert!(parses(kind, Value::Object(one)), "{}: only {field}", kind.name());
            }
            stated.push((kind.name(), rule));
        }
    }
    let names: Vec<(&str, Vec<&str>)> =
        stated.iter().map(|(kind, rule)| (*kind, rule.iter().map(String::as_str).collect())).collect();
    assert_eq!(
        names,
        [
            ("new_inquiry", vec!["first_name", "company_name"]),
            ("pre_lead_contact_add", vec!["first_name", "last_name", "email", "phone"]),
            ("pre_lead_memo_add", vec!["content", "title"]),
            ("new_lead", vec!["first_name", "company_name"]),
            ("lead_contact_add", vec!["first_name", "last_name", "email", "phone"]),
            ("lead_memo_add", vec!["content", "title"]),
            ("order_created", vec!["customer_id", "customer_code"]),
            ("order_created", vec!["order_value", "amount"]),
            ("payment_received", vec!["customer_id", "customer_code"]),
        ]
    );
}
