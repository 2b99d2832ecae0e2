//! The operations of the webhook routes: a typed route per event and the generic route, with
//! the headers they read and the errors they answer.

use serde_json::{json, Value};
use utoipa::openapi::example::ExampleBuilder;
use utoipa::openapi::path::{Operation, OperationBuilder, Parameter};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::AnyOfBuilder;
use utoipa::openapi::{
    ContentBuilder, Discriminator, HeaderBuilder, ObjectBuilder, OneOfBuilder, Required, Response, ResponseBuilder,
    ResponsesBuilder, Type,
};

use super::{examples, generic_request_schema, response_schema, typed_request_schema};
use crate::config::DEFAULT_MAX_BODY_BYTES;
use crate::domain::EntityType;
use crate::events::{EventKind, TAG_GENERIC};
use crate::http::openapi::{
    error_response, header_parameter, id_path_parameter, internal_error, rate_limited, schema_ref,
    with_rate_limit_headers, JSON,
};
use crate::http::API_BASE;
use crate::webhook::idempotency::MAX_KEY_LEN;

/// Events that can meet a record in a state that forbids them (converted, discarded) or a
/// unique value already taken: their 409 has a reason besides a reused idempotency key.
fn has_state_conflict(kind: EventKind) -> bool {
    use EventKind::*;
    matches!(
        kind,
        PreLeadUpdate
            | PreLeadDiscard
            | PreLeadStatusUpdate
            | PreLeadConvert
            | LeadUpdate
            | LeadDiscard
            | LeadStatusUpdate
            | LeadConvert
    )
}

/// The error answers of a webhook route. `kind`: `None` for the generic route.
fn errors(responses: ResponsesBuilder, kind: Option<EventKind>) -> ResponsesBuilder {
    // The generic route can miss any record (its 404 example is a lead's).
    let target = kind.map_or(Some(EntityType::Lead), EventKind::target);
    let mut responses = responses
        .response(
            "400",
            error_response(
                "The body is not a valid envelope or `data` is invalid for the event; `field` names the \
                 field at fault and `allowed` lists accepted values where there is a set.",
                json!({"detail": "data is required", "field": "data"}),
            ),
        )
        .response(
            "401",
            error_response(
                "Signature missing, invalid, or (Standard Webhooks) its timestamp is more than five minutes off. \
                 Only when CRM_WEBHOOK_SECRET is set.",
                json!({"detail": "Invalid signature"}),
            ),
        );
    if let Some(entity) = target {
        let description = match kind {
            Some(_) => format!("No {} with this id.", entity.label()),
            None => "No pre-lead, lead or customer with the id (or customer code) given in `data`.".to_string(),
        };
        let detail = match entity {
            EntityType::PreLead => "Pre-lead not found",
            EntityType::Lead => "Lead not found",
            EntityType::Customer => "Customer not found",
        };
        responses = responses.response("404", error_response(&description, json!({"detail": detail})));
    }
    let conflict = if kind.is_none_or(has_state_conflict) {
        "The record's state forbids the change (e.g. it was converted or discarded), a unique value is \
         taken, or the idempotency key was already used with a different request."
    } else {
        "The idempotency key was already used with a different request."
    };
    let conflict_example = match kind {
        Some(kind) if has_state_conflict(kind) && kind.target() == Some(EntityType::PreLead) => {
            "Pre-lead 123 was already converted to lead 456"
        }
        Some(kind) if has_state_conflict(kind) => "Lead 789 was already converted to customer 505",
        _ => "Idempotency key evt-123 was already used with a different request",
    };
    responses
        .response(
            "408",
            error_response(
                "The request body was not received in time.",
                json!({"detail": "Request body not received in time"}),
            ),
        )
        .response("409", error_response(conflict, json!({"detail": conflict_example})))
        .response(
            "413",
            error_response(
                &format!(
                    "The body is larger than {} MiB (CRM_MAX_BODY_BYTES).",
                    DEFAULT_MAX_BODY_BYTES / (1024 * 1024)
                ),
                json!({"detail": "Payload too large"}),
            ),
        )
        .response(
            "415",
            error_response(
                "Content-Type is not `application/json` (or `application/*+json`).",
                json!({"detail": "Content-Type must be application/json"}),
            ),
        )
        .response("429", rate_limited())
        .response("500", internal_error())
}

/// A header that may carry the idempotency key: 1 to 255 visible ASCII characters.
fn key_header(name: &str, description: &str, example: Option<Value>) -> Parameter {
    let mut header = header_parameter(name, description, example);
    let pattern = format!("^[!-~]{{1,{MAX_KEY_LEN}}}$");
    header.schema = Some(ObjectBuilder::new().schema_type(Type::String).pattern(Some(pattern)).into());
    header
}

/// The signature and idempotency headers every webhook route reads.
fn webhook_headers() -> Vec<Parameter> {
    vec![
        header_parameter(
            "X-Webhook-Signature",
            "Hex HMAC-SHA256 of the raw request body, keyed with the shared secret (`sha256=` prefix and \
             upper-case hex accepted). Needed when CRM_WEBHOOK_SECRET is set, unless the Standard Webhooks \
             headers are sent.",
            Some(json!("sha256=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd")),
        ),
        key_header(
            "webhook-id",
            "Standard Webhooks message id, signed with the body. Also the idempotency key when neither \
             `Idempotency-Key` nor `X-Webhook-Id` is sent.",
            Some(json!("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W")),
        ),
        header_parameter(
            "webhook-timestamp",
            "Standard Webhooks: Unix seconds when the message was signed; must be within five minutes of \
             the server's clock.",
            Some(json!("1705314600")),
        ),
        header_parameter(
            "webhook-signature",
            "Standard Webhooks: space-separated `v1,<base64 HMAC-SHA256 of \"{webhook-id}.{webhook-timestamp}.{body}\">` \
             signatures; any one matching is enough.",
            Some(json!("v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=")),
        ),
        key_header(
            "Idempotency-Key",
            "1 to 255 visible ASCII characters. A repeat of the same request (same path and body) within 24 \
             hours replays the stored answer with `Idempotent-Replayed: true`; the key with a different \
             request is a 409.",
            Some(json!("evt-123")),
        ),
        key_header(
            "X-Webhook-Id",
            "Idempotency key, used when `Idempotency-Key` is not sent (same rules).",
            None,
        ),
    ]
}

fn success_response(description: &str, content: ContentBuilder) -> Response {
    with_rate_limit_headers(ResponseBuilder::new().description(description).content(JSON, content.build()))
        .header(
            "Idempotent-Replayed",
            HeaderBuilder::new()
                .schema(ObjectBuilder::new().schema_type(Type::String).enum_values(Some(["true"])))
                .description(Some("`true` when this is the stored answer to an earlier identical request."))
                .build(),
        )
        .build()
}

fn request_body(description: &str, content: ContentBuilder) -> utoipa::openapi::request_body::RequestBody {
    RequestBodyBuilder::new()
        .description(Some(description))
        .required(Some(Required::True))
        .content(JSON, content.build())
        .build()
}

/// `POST <typed path>` of one event.
pub(super) fn typed(kind: EventKind, data_schema: &str) -> Operation {
    let name = kind.name();
    let (request_example, response_example) = examples(kind);
    let mut description = format!(
        "Event `{name}`. The event is fixed by the route: `event` may be left out, and when sent must be `{name}`."
    );
    let mut operation =
        OperationBuilder::new().operation_id(Some(name)).summary(Some(kind.summary())).tag(kind.spec().tag);
    if let Some(entity) = kind.target() {
        let (field, label) = (entity.id_field(), entity.label());
        description.push_str(&format!(
            " The {label} is the one in the path. Also accepted by `POST {API_BASE}/incoming` with `data.{field}`."
        ));
        operation = operation
            .parameter(id_path_parameter(field, &format!("Id of the {label} (a positive whole number, else 400).")));
    } else {
        description.push_str(&format!(" Also accepted by `POST {API_BASE}/incoming`."));
    }
    let responses = ResponsesBuilder::new().response(
        "200",
        success_response(
            kind.success_message(),
            ContentBuilder::new().schema(Some(schema_ref(&response_schema(kind)))).example(Some(response_example)),
        ),
    );
    operation
        .description(Some(description))
        .parameters(Some(webhook_headers()))
        .request_body(Some(request_body(
            &format!("The `{name}` envelope; `data` is `{data_schema}`."),
            ContentBuilder::new().schema(Some(schema_ref(&typed_request_schema(kind)))).example(Some(request_example)),
        )))
        .responses(errors(responses, Some(kind)).build())
        .build()
}

/// The generic route's example of an event: the typed example with the target id in `data`.
fn generic_example(kind: EventKind) -> (Value, Value) {
    let (mut request, response) = examples(kind);
    if let Some(entity) = kind.target() {
        let field = entity.id_field();
        let id = response["data"][field].clone();
        let id = if id.is_i64() { id } else { json!(1) };
        if let Some(data) = request.get_mut("data").and_then(Value::as_object_mut) {
            let mut with_id = serde_json::Map::new();
            with_id.insert(field.to_string(), id);
            with_id.extend(std::mem::take(data));
            *data = with_id;
        }
    }
    (request, response)
}

/// `POST /incoming`: every event, chosen by `event`.
pub(super) fn generic() -> Operation {
    let mapping = |schema: fn(EventKind) -> String| {
        EventKind::ALL.into_iter().map(move |kind| (kind.name(), format!("#/components/schemas/{}", schema(kind))))
    };
    let request_schema = EventKind::ALL
        .into_iter()
        .fold(OneOfBuilder::new(), |one_of, kind| one_of.item(schema_ref(&generic_request_schema(kind))))
        .discriminator(Some(Discriminator::with_mapping("event", mapping(generic_request_schema))));
    // `anyOf`: answers of different events can have the same shape.
    let response_schema = EventKind::ALL
        .into_iter()
        .fold(AnyOfBuilder::new(), |any_of, kind| any_of.item(schema_ref(&response_schema(kind))));
    let (requests, responses): (Vec<_>, Vec<_>) = EventKind::ALL
        .into_iter()
        .map(|kind| {
            let (request, response) = generic_example(kind);
            (
                (kind.name(), ExampleBuilder::new().summary(kind.summary()).value(Some(request)).build()),
                (kind.name(), ExampleBuilder::new().summary(kind.success_message()).value(Some(response)).build()),
            )
        })
        .unzip();
    let events = EventKind::ALL
        .iter()
        .map(|kind| match kind.target() {
            Some(entity) => format!("- `{}`: {} (`data.{}` required)", kind.name(), kind.summary(), entity.id_field()),
            None => format!("- `{}`: {}", kind.name(), kind.summary()),
        })
        .collect::<Vec<_>>()
        .join("\n");
    let description = format!(
        "One route for all 18 events, chosen by the envelope's `event` (required; an unknown name is a 400 \
         that lists the allowed ones). It answers exactly what the typed route answers. For the events that \
         act on an existing record, `data` also carries its id: `data.pre_lead_id` for the pre-lead events \
         and `data.lead_id` for the lead events (a positive number, or a string of digits), where the typed \
         route takes it from the path. `order_created` and `payment_received` have no typed route; they \
         name the customer by `customer_id` or `customer_code`, and a repeated `order_id` / `payment_id` \
         is answered but not counted twice.\n\n{events}"
    );
    let ok = success_response(
        "The event was applied (the answer of its typed route).",
        ContentBuilder::new().schema(Some(response_schema)).examples_from_iter(responses),
    );
    OperationBuilder::new()
        .operation_id(Some("incoming"))
        .summary(Some("Receive any event (generic route)"))
        .description(Some(description))
        .tag(TAG_GENERIC)
        .parameters(Some(webhook_headers()))
        .request_body(Some(request_body(
            "An envelope whose `event` selects the event and the shape of `data`.",
            ContentBuilder::new().schema(Some(request_schema)).examples_from_iter(requests),
        )))
        .responses(errors(ResponsesBuilder::new().response("200", ok), None).build())
        .build()
}
