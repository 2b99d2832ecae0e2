//! This module's part of the OpenAPI document: every subscription and delivery route, the
//! schemas they answer with, and the OpenAPI 3.1 `webhooks` section — one entry per outgoing event
//! type with its headers and an example body.

use serde_json::{json, Map, Value};
use utoipa::openapi::{OpenApi, RefOr, Schema};
use utoipa::ToSchema;

use super::deliveries::store::{AttemptOut, DeliveryOut};
use super::deliveries::{DeliveryDetail, DeliveryPage, STATUSES};
use super::page::{DEFAULT_LIMIT, MAX_LIMIT};
use super::subscriptions::store::SubscriptionOut;
use super::subscriptions::{CreatedSubscription, Requeued, SecretOut, SubscriptionPage, TEST_WAIT};
use super::types::{example_body, EVENT_TYPES, PING};

const TAG: &str = "outgoing";

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn error(description: &str, example: Value) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema_ref("Error"), "example": example}}})
}

fn ok(status: &str, description: &str, schema: &str) -> (String, Value) {
    (
        status.to_string(),
        json!({"description": description, "content": {"application/json": {"schema": schema_ref(schema)}}}),
    )
}

fn path_id(name: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "schema": {"type": "integer", "format": "int64", "minimum": 1, "maximum": i64::MAX}})
}

fn query(name: &str, description: &str, schema: Value) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema})
}

fn body(description: &str, schema: Value, example: Value) -> Value {
    json!({"required": true, "description": description, "content": {"application/json": {"schema": schema, "example": example}}})
}

/// An admin operation with the answers every admin route shares.
fn operation(
    id: &str,
    summary: &str,
    parameters: Vec<Value>,
    request: Option<Value>,
    answers: Vec<(String, Value)>,
) -> Value {
    let mut responses = Map::new();
    for (status, answer) in answers {
        responses.insert(status, answer);
    }
    responses.insert(
        "401".into(),
        error(
            "Missing or wrong admin token (when CRM_ADMIN_TOKEN is set).",
            json!({"detail": "Missing or invalid admin token"}),
        ),
    );
    responses.insert("500".into(), error("An internal error.", json!({"detail": "Internal server error"})));
    let mut op = json!({
        "operationId": id, "summary": summary, "tags": [TAG], "parameters": parameters,
        "security": [{"admin_token": []}], "responses": responses
    });
    if let Some(request) = request {
        op["requestBody"] = request;
    }
    op
}

/// The test route's answer when the first attempt takes longer than it waits.
fn accepted_ping() -> (String, Value) {
    let description = format!(
        "The first attempt did not end within {} seconds (a slow or hanging receiver): the delivery as it is, \
         `pending` with no attempt yet. The attempt goes on; read `Location` (`GET /deliveries/{{delivery_id}}`) \
         for its outcome.",
        TEST_WAIT.as_secs()
    );
    let (status, mut answer) = ok("202", &description, "DeliveryDetail");
    answer["headers"] = json!({"Location": {"description": "The delivery: `/api/v1/webhooks/deliveries/{delivery_id}`.", "schema": {"type": "string"}}});
    (status, answer)
}

fn not_found(what: &str) -> (String, Value) {
    ("404".into(), error(&format!("No such {}.", what.to_lowercase()), json!({"detail": format!("{what} not found")})))
}

fn bad_request(example: Value) -> (String, Value) {
    ("400".into(), error("A field is invalid; `field` names it.", example))
}

/// `whsec_` and the canonical base64 (padded or not) of 24 to 64 bytes, as `signer::secret_key` takes it.
const SECRET_PATTERN: &str = "^whsec_(([A-Za-z0-9+/]{4}){8,21}([A-Za-z0-9+/][AQgw](==)?)?|([A-Za-z0-9+/]{4}){8,20}[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=?)$";

fn secret_schema(description: &str) -> Value {
    json!({"type": "string", "pattern": SECRET_PATTERN, "description": description})
}

fn subscription_in(create: bool) -> Value {
    let mut properties = json!({
        "url": {"type": "string", "format": "uri", "description": "http or https; a public address unless CRM_DELIVERY_ALLOW_PRIVATE is set."},
        "events": {"type": ["array", "null"], "minItems": 1, "items": {"type": "string", "enum": EVENT_TYPES},
                   "description": "Outgoing types to deliver; omitted or null means every type."},
        "description": {"type": ["string", "null"], "maxLength": 1000},
        "disabled": {"type": "boolean"}
    });
    if create {
        properties["secret"] = secret_schema("`whsec_` and the base64 of 24 to 64 bytes; generated when absent.");
    }
    let mut schema = json!({"type": "object", "additionalProperties": false, "properties": properties});
    if create {
        schema["required"] = json!(["url"]);
    }
    schema
}

fn paths() -> Value {
    let sub = "subscription_id";
    let limit = query(
        "limit",
        "Rows per page.",
        json!({"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}),
    );
    let cursor = query(
        "cursor",
        "The `next_cursor` of the previous page.",
        json!({"type": "string", "pattern": "^[1-9][0-9]{0,17}$"}),
    );
    let url_refused = json!({"detail": "url must use http or https, not ftp", "field": "url"});
    let example_in = json!({"url": "https://erp.example.com/crm-events", "events": ["lead.created", "lead.converted"], "description": "ERP sync"});
    json!({
        format!("/subscriptions"): {
            "get": operation("list_subscriptions", "List subscriptions (without secrets), newest first",
                vec![limit.clone(), cursor.clone()], None,
                vec![ok("200", "One page of subscriptions.", "SubscriptionPage"), bad_request(json!({"detail": "limit must be a whole number from 1 to 200", "field": "limit"}))]),
            "post": operation("create_subscription", "Subscribe a URL to outgoing events", vec![],
                Some(body("The subscription.", subscription_in(true), example_in)),
                vec![ok("201", "Created; the only answer besides the secret routes that shows the secret.", "CreatedSubscription"), bad_request(url_refused.clone())]),
        },
        format!("/subscriptions/{{subscription_id}}"): {
            "get": operation("get_subscription", "Read a subscription", vec![path_id(sub)], None,
                vec![ok("200", "The subscription.", "SubscriptionOut"), not_found("Subscription")]),
            "patch": operation("update_subscription", "Change url, events, description or disabled", vec![path_id(sub)],
                Some(body("The fields to change; enabling clears the failure streak.", subscription_in(false), json!({"disabled": false}))),
                vec![ok("200", "The changed subscription.", "SubscriptionOut"), bad_request(url_refused), not_found("Subscription")]),
            "delete": operation("delete_subscription", "Delete a subscription; its pending deliveries are cancelled", vec![path_id(sub)], None,
                vec![("204".into(), json!({"description": "Deleted."})), not_found("Subscription")]),
        },
        format!("/subscriptions/{{subscription_id}}/secret"): {
            "get": operation("get_subscription_secret", "Read the signing secret", vec![path_id(sub)], None,
                vec![ok("200", "The secret, and the previous one while it still signs.", "SecretOut"), not_found("Subscription")]),
        },
        format!("/subscriptions/{{subscription_id}}/rotate-secret"): {
            "post": operation("rotate_subscription_secret", "Rotate the secret; the old one also signs for 24 hours", vec![path_id(sub)],
                Some(json!({"required": false, "content": {"application/json": {"schema": {"type": "object", "additionalProperties": false,
                    "properties": {"secret": secret_schema("The new secret; generated when absent.")}}}}})),
                vec![ok("200", "The new secret and the old one.", "SecretOut"), bad_request(json!({"detail": "secret must be whsec_ followed by the base64 of 24 to 64 bytes", "field": "secret"})), not_found("Subscription")]),
        },
        format!("/subscriptions/{{subscription_id}}/test"): {
            "post": operation("test_subscription", "Send a ping now", vec![path_id(sub)], None,
                vec![ok("200", "The ping's delivery after its first attempt: `delivered` with the receiver's status, or `pending` with the failed attempt's status or error and the next attempt's time.", "DeliveryDetail"),
                     accepted_ping(), not_found("Subscription")]),
        },
        format!("/subscriptions/{{subscription_id}}/recover"): {
            "post": operation("recover_subscription", "Try every dead delivery since a time again", vec![path_id(sub)],
                Some(body("Dead deliveries created at or after `since` are requeued.",
                    json!({"type": "object", "required": ["since"], "additionalProperties": false, "properties": {"since": {"type": "string", "format": "date-time"}}}),
                    json!({"since": "2024-01-20T00:00:00Z"}))),
                vec![ok("200", "How many were requeued.", "Requeued"), bad_request(json!({"detail": "since must be an RFC 3339 date-time such as 2024-01-20T14:00:00Z", "field": "since"})), not_found("Subscription")]),
        },
        format!("/deliveries"): {
            "get": operation("list_deliveries", "List deliveries, newest first",
                vec![limit, cursor,
                     query("subscription_id", "Only this subscription's.", json!({"type": "integer", "minimum": 1, "maximum": i64::MAX})),
                     query("status", "Only this status.", json!({"type": "string", "enum": STATUSES})),
                     query("event", "Only this outgoing type.", json!({"type": "string", "examples": ["lead.created"]})),
                     query("entity_type", "Only about this kind of record.", json!({"type": "string", "enum": ["pre_lead", "lead", "customer"]})),
                     query("entity_id", "Only about the record with this id.", json!({"type": "integer", "minimum": 1, "maximum": i64::MAX}))],
                None,
                vec![ok("200", "One page of deliveries.", "DeliveryPage"), bad_request(json!({"detail": "status must be one of: pending, delivered, dead, cancelled", "field": "status"}))]),
        },
        format!("/deliveries/{{delivery_id}}"): {
            "get": operation("get_delivery", "Read a delivery with its payload and attempts", vec![path_id("delivery_id")], None,
                vec![ok("200", "The delivery.", "DeliveryDetail"), not_found("Delivery")]),
        },
        format!("/deliveries/{{delivery_id}}/retry"): {
            "post": operation("retry_delivery", "Try a delivery again now, a dead one too", vec![path_id("delivery_id")], None,
                vec![ok("200", "The delivery, due now.", "DeliveryOut"), not_found("Delivery"),
                     ("409".into(), error("The delivery was cancelled with its subscription.", json!({"detail": "Delivery was cancelled with its subscription"})))]),
        },
    })
}

fn webhooks() -> Value {
    let header = |name: &str, description: &str| json!({"name": name, "in": "header", "required": true, "description": description, "schema": {"type": "string"}});
    let mut out = Map::new();
    for name in EVENT_TYPES.iter().chain([PING].iter()) {
        let example = example_body(name);
        out.insert(
            name.to_string(),
            json!({"post": {
                "operationId": format!("outgoing_{}", name.replace('.', "_")),
                "summary": format!("`{name}` sent to subscribed URLs"),
                "tags": [TAG],
                "parameters": [
                    header("webhook-id", "The event's id, the same on every attempt: deduplicate by it."),
                    header("webhook-timestamp", "The attempt's Unix time in seconds."),
                    header("webhook-signature", "`v1,<base64 HMAC-SHA256 of id.timestamp.body>` with the subscription's secret; two, space-separated, for 24 hours after a rotation."),
                ],
                "requestBody": {"required": true, "content": {"application/json": {
                    "schema": {"type": "object", "required": ["type", "timestamp", "data"], "properties": {
                        "type": {"const": name}, "timestamp": {"type": "string", "format": "date-time"}, "data": {"type": "object"}}},
                    "example": example}}},
                "responses": {
                    "2XX": {"description": "Delivered."},
                    "410": {"description": "The subscription is disabled."},
                    "default": {"description": "Tried again on the retry schedule; a 429 or 503 `Retry-After` is honoured (at most 1 h)."}
                }
            }}),
        );
    }
    Value::Object(out)
}

fn schema<T: ToSchema>(schemas: &mut Vec<(String, RefOr<Schema>)>) {
    T::schemas(schemas);
    schemas.push((T::name().into_owned(), T::schema()));
}

/// The part as an OpenAPI document of its own (paths relative to where the router is mounted,
/// schemas, tag), to nest into the whole.
pub fn part() -> OpenApi {
    let mut schemas = Vec::new();
    schema::<SubscriptionOut>(&mut schemas);
    schema::<CreatedSubscription>(&mut schemas);
    schema::<SubscriptionPage>(&mut schemas);
    schema::<SecretOut>(&mut schemas);
    schema::<Requeued>(&mut schemas);
    schema::<DeliveryOut>(&mut schemas);
    schema::<AttemptOut>(&mut schemas);
    schema::<DeliveryPage>(&mut schemas);
    schema::<DeliveryDetail>(&mut schemas);
    let schemas: Map<String, Value> =
        schemas.into_iter().map(|(name, schema)| (name, serde_json::to_value(schema).unwrap_or_default())).collect();
    let document = json!({
        "openapi": "3.1.0",
        "info": {"title": "outgoing", "version": env!("CARGO_PKG_VERSION")},
        "paths": paths(),
        "components": {"schemas": schemas},
        "tags": [{"name": TAG, "description": "Outgoing webhooks: subscriptions and their deliveries, behind the admin token."}],
    });
    serde_json::from_value(document).expect("the outgoing OpenAPI part is a valid document")
}

/// Adds the OpenAPI 3.1 `webhooks` section (which utoipa does not model) to the whole document.
pub fn add_webhooks(document: &mut OpenApi) {
    document.extensions.get_or_insert_with(Default::default).insert("webhooks".into(), webhooks());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_and_event_type_is_documented() {
        let mut document = part();
        add_webhooks(&mut document);
        let value = serde_json::to_value(&document).unwrap();
        assert_eq!(value["paths"].as_object().unwrap().len(), 9);
        let webhooks = value["webhooks"].as_object().unwrap();
        assert_eq!(webhooks.len(), EVENT_TYPES.len() + 1);
        for name in EVENT_TYPES {
            let example = &webhooks[name]["post"]["requestBody"]["content"]["application/json"]["example"];
            assert_eq!(example["type"], name);
        }
        assert!(value["components"]["schemas"]["DeliveryDetail"].is_object());
    }
}
