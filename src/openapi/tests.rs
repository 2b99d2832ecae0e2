use std::collections::BTreeSet;

use serde_json::Value;

use super::*;
use crate::events::EventKind;
use crate::http::openapi::JSON;

fn document_json() -> Value {
    serde_json::to_value(document()).expect("the document serialises")
}

/// Every value of a `$ref` key anywhere in `value`.
fn refs(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                match (key.as_str(), item) {
                    ("$ref", Value::String(target)) => found.push(target.clone()),
                    _ => refs(item, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| refs(item, found)),
        _ => {}
    }
}

#[test]
fn it_is_openapi_3_1() {
    let doc = document_json();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["title"], "crm-webhooks");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    let description = doc["info"]["description"].as_str().unwrap();
    for needle in [
        "X-Webhook-Signature",
        "webhook-signature",
        "Idempotency-Key",
        "Idempotent-Replayed: true",
        "100 requests per minute",
        "1 MiB",
    ] {
        assert!(description.contains(needle), "{needle}");
    }
    assert!(document().to_pretty_json().is_ok());
}

/// The limits the document quotes are the ones the server enforces: the constants that the
/// settings default to and the checks use.
#[test]
fn the_limits_quoted_are_the_enforced_ones() {
    use crate::config::{Config, BODY_TIMEOUT};
    let config = Config::for_database("sqlite://x.db");
    assert_eq!(config.rate_limit_per_minute, DEFAULT_RATE_LIMIT_PER_MINUTE);
    assert_eq!(config.max_body_bytes, DEFAULT_MAX_BODY_BYTES);
    assert_eq!(config.body_timeout, BODY_TIMEOUT);
    let doc = document_json();
    let description = doc["info"]["description"].as_str().unwrap();
    for needle in [
        format!("{DEFAULT_RATE_LIMIT_PER_MINUTE} requests per minute"),
        format!("{} MiB request body", DEFAULT_MAX_BODY_BYTES / (1024 * 1024)),
        format!("within {} minutes", TOLERANCE_SECONDS / 60),
        format!("1 to {MAX_KEY_LEN} visible ASCII characters"),
        format!("within {RETENTION_HOURS} hours"),
    ] {
        assert!(description.contains(&needle), "{needle}");
    }
    let typed = EventKind::NewLead.path().unwrap();
    let responses = &doc["paths"][format!("{API_BASE}{typed}")]["post"]["responses"];
    let quoted = |status: &str| responses[status]["description"].as_str().unwrap().to_string();
    assert!(quoted("429").contains(&format!("{DEFAULT_RATE_LIMIT_PER_MINUTE} a minute")), "{}", quoted("429"));
    assert!(quoted("413").contains(&format!("{} MiB", DEFAULT_MAX_BODY_BYTES / (1024 * 1024))), "{}", quoted("413"));
    let page_size = &doc["paths"][format!("{API_BASE}/logs")]["get"]["parameters"][1]["schema"];
    assert_eq!(page_size["maximum"], crate::logs::MAX_PAGE_SIZE);
    assert_eq!(page_size["default"], crate::logs::DEFAULT_PAGE_SIZE);
}

#[test]
fn it_has_exactly_the_served_paths() {
    let doc = document_json();
    let paths: BTreeSet<String> = doc["paths"].as_object().unwrap().keys().cloned().collect();
    let mut expected: BTreeSet<String> =
        EventKind::ALL.iter().filter_map(|kind| kind.path()).map(|path| format!("{API_BASE}{path}")).collect();
    assert_eq!(expected.len(), 16);
    for path in ["/incoming", "/logs", "/logs/{log_id}", "/logs/{log_id}/replay"] {
        expected.insert(format!("{API_BASE}{path}"));
    }
    for path in [
        "/subscriptions",
        "/subscriptions/{subscription_id}",
        "/subscriptions/{subscription_id}/secret",
        "/subscriptions/{subscription_id}/rotate-secret",
        "/subscriptions/{subscription_id}/test",
        "/subscriptions/{subscription_id}/recover",
        "/deliveries",
        "/deliveries/{delivery_id}",
        "/deliveries/{delivery_id}/retry",
    ] {
        expected.insert(format!("{API_BASE}{path}"));
    }
    for path in ["/healthz", "/readyz", "/metrics"] {
        expected.insert(path.to_string());
    }
    for records in ["pre-leads", "leads", "customers"] {
        expected.insert(format!("/api/v1/{records}"));
        expected.insert(format!("/api/v1/{records}/{{id}}"));
        expected.insert(format!("/api/v1/{records}/{{id}}/timeline"));
    }
    for path in ["/api/v1/stats/pipeline", "/api/v1/stats/traffic"] {
        expected.insert(path.to_string());
    }
    assert_eq!(paths, expected);
    assert_eq!(paths.len(), 43);
    // The dashboard's page, its assets and the `/` redirect are served but are not API: they are
    // left out of the document on purpose.
    for route in crate::dashboard::ROUTES {
        assert!(!paths.contains(route), "{route} is not API");
    }
}

#[test]
fn every_ref_names_an_existing_schema() {
    let doc = document_json();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let mut found = Vec::new();
    refs(&doc, &mut found);
    // The discriminator mapping points at schemas too.
    let mapping = &doc["paths"][format!("{API_BASE}/incoming")]["post"]["requestBody"]["content"][JSON]["schema"]
        ["discriminator"]["mapping"];
    found.extend(mapping.as_object().unwrap().values().map(|v| v.as_str().unwrap().to_string()));
    assert!(found.len() > 50, "{}", found.len());
    for target in found {
        let name = target.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("unexpected $ref {target}"));
        assert!(schemas.contains_key(name), "$ref {target} does not resolve");
    }
    for name in
        ["Error", "LogPage", "LogOut", "LeadStatus", "PreLeadStatus", "Priority", "Source", "MemoType", "ActivityType"]
    {
        assert!(schemas.contains_key(name), "{name}");
    }
}

#[test]
fn the_tags_are_those_of_the_parts_in_order() {
    let doc = document_json();
    let tags: Vec<&str> = doc["tags"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(tags, ["pre-leads", "leads", "generic", "logs", "outgoing", "records", "stats", "ops"]);
}
