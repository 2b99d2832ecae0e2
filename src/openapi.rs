//! The OpenAPI 3.1 document, generated from the event table and the payload types.
//!
//! The webhook operations are built from [`EventKind`]: its names, typed paths, targets,
//! summaries and success messages. Only the payload and answer types of each event (the
//! `match` in [`event_types`]) and the example files (in [`example_files`]) are listed here,
//! both as exhaustive matches, so a new event does not compile until it is documented.

use std::collections::BTreeMap;

use axum::Router;
use serde_json::{json, Value};
use utoipa::openapi::example::ExampleBuilder;
use utoipa::openapi::path::{Operation, OperationBuilder, Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::AnyOfBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{
    AllOfBuilder, ComponentsBuilder, ContentBuilder, Discriminator, HeaderBuilder, HttpMethod, InfoBuilder,
    KnownFormat, ObjectBuilder, OneOfBuilder, OpenApi, OpenApiBuilder, PathItem, PathsBuilder, Ref, RefOr, Required,
    Response, ResponseBuilder, ResponsesBuilder, Schema, SchemaFormat, SecurityRequirement, Type,
};
use utoipa::{PartialSchema, ToSchema};
use utoipa_swagger_ui::SwaggerUi;

use crate::customers::payload::{OrderIn, PaymentIn};
use crate::domain::values::{ActivityType, LeadStatus, MemoType, PreLeadStatus, Priority, Source};
use crate::domain::EntityType;
use crate::http::error::ErrorBody;
use crate::leads::payload::{ActivityIn, LeadConvertIn, LeadPatch, LeadStatusIn, NewLeadIn, QualifiedProfileIn};
use crate::logs::store::LogOut;
use crate::logs::{LogPage, MAX_PAGE_SIZE};
use crate::pre_leads::payload::{NewPreLeadIn, PreLeadConvertIn, PreLeadPatch, PreLeadStatusIn};
use crate::related::{ContactIn, DiscardIn, MemoIn};
use crate::startup::API_BASE;
use crate::state::AppState;
use crate::webhook::command::{
    LeadActivityOut, LeadContactOut, LeadConvertOut, LeadIdOut, LeadMemoOut, LeadProfileOut, LeadStatusOut, OrderOut,
    PaymentOut, PreLeadContactOut, PreLeadConvertOut, PreLeadIdOut, PreLeadMemoOut, PreLeadStatusOut,
};
use crate::webhook::events::EventKind;

/// Name of the error schema (the Rust type is [`ErrorBody`]).
const ERROR_SCHEMA: &str = "Error";
/// Name of the bearer security scheme of the admin routes.
const ADMIN_TOKEN: &str = "admin_token";
const JSON: &str = "application/json";

const TAG_PRE_LEADS: &str = "pre-leads";
const TAG_LEADS: &str = "leads";
const TAG_GENERIC: &str = "generic";
const TAG_LOGS: &str = "logs";
const TAG_OPS: &str = "ops";

const DESCRIPTION: &str = "\
Signed JSON webhooks into a CRM: pre-leads, leads, customers, orders and payments.

**Envelope.** Every webhook is a `POST` of one JSON object `{event, source, data, timestamp, signature}` \
with `Content-Type: application/json` (`application/*+json` is accepted too; anything else is a 415). \
On a typed route only `data` is required: the route fixes the event, and `event`, when sent, must name it. \
The generic route `POST /api/v1/webhooks/incoming` takes every event, chosen by `event`, and reads the id \
of the pre-lead or lead from `data.pre_lead_id` / `data.lead_id`. `timestamp` and `signature` are kept \
in the log only. A success answers `200 {\"status\": \"success\", \"message\": \"…\", \"data\": {…}}`; \
every error answers `{\"detail\": \"…\"}`, plus `field` (the offending field) and `allowed` (the accepted \
values) where they help.

**Signatures.** When `CRM_WEBHOOK_SECRET` is set, every webhook must be signed over the exact raw request \
body, in either of two forms: `X-Webhook-Signature: <hex HMAC-SHA256 of the body>` keyed with the secret \
(a `sha256=` prefix and upper-case hex are accepted), or the Standard Webhooks headers `webhook-id`, \
`webhook-timestamp` (Unix seconds, within five minutes of the server's clock) and \
`webhook-signature: v1,<base64 HMAC-SHA256 of \"{webhook-id}.{webhook-timestamp}.{body}\">` (a `whsec_` \
secret is base64-decoded first). The Standard Webhooks headers win when both are sent. A missing or wrong \
signature is a 401. Several secrets may be configured (rotation); any of them verifies.

**Idempotency.** Send `Idempotency-Key` (or `X-Webhook-Id`, or `webhook-id`: the first present is used), \
1 to 255 visible ASCII characters. A repeat of the same request (same path, byte-identical body) within \
24 hours is not applied again: the stored answer is replayed with the header `Idempotent-Replayed: true`. \
The same key with a different request is a 409. Failed requests are not remembered, so they may be \
retried with the same key.

**Limits.** 100 requests per minute per client IP on `/api/v1/webhooks/*` (429 with `Retry-After`; \
`X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` on every answer) and a 1 MiB request \
body (413). Both are the defaults of `CRM_RATE_LIMIT_PER_MINUTE` and `CRM_MAX_BODY_BYTES`.

**Logs.** Every webhook call, a failed one too, is logged. `GET /api/v1/webhooks/logs` reads the log; it \
needs `Authorization: Bearer <token>` when `CRM_ADMIN_TOKEN` is set.";

type Schemas = BTreeMap<String, RefOr<Schema>>;
/// Adds a schema (and the schemas it refers to) to the components and returns its name.
type Register = fn(&mut Schemas) -> String;

fn register<T: ToSchema>(schemas: &mut Schemas) -> String {
    let mut nested = Vec::new();
    T::schemas(&mut nested);
    schemas.extend(nested);
    let name = T::name().into_owned();
    schemas.insert(name.clone(), T::schema());
    name
}

/// The type `data` is parsed into (see `Command::parse`) and the type of the answer's `data`
/// (see `command::execute`).
fn event_types(kind: EventKind) -> (Register, Register) {
    use EventKind::*;
    match kind {
        NewInquiry => (register::<NewPreLeadIn>, register::<PreLeadIdOut>),
        PreLeadUpdate => (register::<PreLeadPatch>, register::<PreLeadIdOut>),
        PreLeadDiscard => (register::<DiscardIn>, register::<PreLeadIdOut>),
        PreLeadContactAdd => (register::<ContactIn>, register::<PreLeadContactOut>),
        PreLeadMemoAdd => (register::<MemoIn>, register::<PreLeadMemoOut>),
        PreLeadStatusUpdate => (register::<PreLeadStatusIn>, register::<PreLeadStatusOut>),
        PreLeadConvert => (register::<PreLeadConvertIn>, register::<PreLeadConvertOut>),
        NewLead => (register::<NewLeadIn>, register::<LeadIdOut>),
        LeadUpdate => (register::<LeadPatch>, register::<LeadIdOut>),
        LeadDiscard => (register::<DiscardIn>, register::<LeadIdOut>),
        LeadContactAdd => (register::<ContactIn>, register::<LeadContactOut>),
        LeadActivityAdd => (register::<ActivityIn>, register::<LeadActivityOut>),
        LeadQualifiedProfileUpdate => (register::<QualifiedProfileIn>, register::<LeadProfileOut>),
        LeadMemoAdd => (register::<MemoIn>, register::<LeadMemoOut>),
        LeadStatusUpdate => (register::<LeadStatusIn>, register::<LeadStatusOut>),
        LeadConvert => (register::<LeadConvertIn>, register::<LeadConvertOut>),
        OrderCreated => (register::<OrderIn>, register::<OrderOut>),
        PaymentReceived => (register::<PaymentIn>, register::<PaymentOut>),
    }
}

macro_rules! example_pair {
    ($name:literal) => {
        Some((
            include_str!(concat!("../docs/examples/", $name, ".request.json")),
            include_str!(concat!("../docs/examples/", $name, ".response.json")),
        ))
    };
}

/// The request and response examples of `docs/webhook-api.md`, cut out verbatim into
/// `docs/examples/<event>.{request,response}.json`.
fn example_files(kind: EventKind) -> Option<(&'static str, &'static str)> {
    use EventKind::*;
    match kind {
        NewInquiry => example_pair!("new_inquiry"),
        PreLeadUpdate => example_pair!("pre_lead_update"),
        PreLeadDiscard => example_pair!("pre_lead_discard"),
        PreLeadContactAdd => example_pair!("pre_lead_contact_add"),
        PreLeadMemoAdd => example_pair!("pre_lead_memo_add"),
        PreLeadStatusUpdate => example_pair!("pre_lead_status_update"),
        PreLeadConvert => example_pair!("pre_lead_convert"),
        NewLead => example_pair!("new_lead"),
        LeadUpdate => example_pair!("lead_update"),
        LeadDiscard => example_pair!("lead_discard"),
        LeadContactAdd => example_pair!("lead_contact_add"),
        LeadActivityAdd => example_pair!("lead_activity_add"),
        LeadQualifiedProfileUpdate => example_pair!("lead_qualified_profile_update"),
        LeadMemoAdd => example_pair!("lead_memo_add"),
        LeadStatusUpdate => example_pair!("lead_status_update"),
        LeadConvert => example_pair!("lead_convert"),
        OrderCreated | PaymentReceived => None,
    }
}

/// The request and response examples of an event: the documentation's, or (for the two events
/// the document does not show) written here.
fn examples(kind: EventKind) -> (Value, Value) {
    if let Some((request, response)) = example_files(kind) {
        let parse = |text: &str| -> Value {
            serde_json::from_str(text)
                .unwrap_or_else(|err| panic!("docs/examples/{}.*.json is not valid JSON: {err}", kind.name()))
        };
        return (parse(request), parse(response));
    }
    match kind {
        EventKind::OrderCreated => (
            json!({
                "event": "order_created",
                "source": "erp",
                "data": {
                    "customer_code": "CUST-XYZ-001",
                    "order_id": "SO-1001",
                    "order_value": 2500.00,
                    "order_date": "2024-02-01"
                }
            }),
            json!({
                "status": "success",
                "message": kind.success_message(),
                "data": {
                    "customer_id": 505,
                    "order_id": "SO-1001",
                    "counted": true,
                    "total_orders": 1,
                    "total_revenue": "2500.00",
                    "outstanding_amount": "2500.00"
                }
            }),
        ),
        EventKind::PaymentReceived => (
            json!({
                "event": "payment_received",
                "source": "erp",
                "data": {
                    "customer_code": "CUST-XYZ-001",
                    "payment_id": "PAY-9001",
                    "amount": 1000.00,
                    "payment_date": "2024-02-15"
                }
            }),
            json!({
                "status": "success",
                "message": kind.success_message(),
                "data": {
                    "customer_id": 505,
                    "payment_id": "PAY-9001",
                    "counted": true,
                    "total_paid": "1000.00",
                    "outstanding_amount": "1500.00"
                }
            }),
        ),
        other => unreachable!("{} has example files", other.name()),
    }
}

/// `new_inquiry` → `NewInquiry`.
fn pascal(name: &str) -> String {
    name.split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map(|first| first.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect()
}

fn typed_request_schema(kind: EventKind) -> String {
    format!("{}Request", pascal(kind.name()))
}

fn generic_request_schema(kind: EventKind) -> String {
    format!("{}Event", pascal(kind.name()))
}

fn response_schema(kind: EventKind) -> String {
    format!("{}Response", pascal(kind.name()))
}

/// `pre_lead_id` or `lead_id`: the path parameter of a typed route, the `data` key of the generic one.
fn id_field(entity: EntityType) -> &'static str {
    match entity {
        EntityType::PreLead => "pre_lead_id",
        EntityType::Lead => "lead_id",
        EntityType::Customer => "customer_id",
    }
}

fn entity_label(entity: EntityType) -> &'static str {
    match entity {
        EntityType::PreLead => "pre-lead",
        EntityType::Lead => "lead",
        EntityType::Customer => "customer",
    }
}

fn tag(kind: EventKind) -> &'static str {
    match kind.target() {
        Some(EntityType::PreLead) => TAG_PRE_LEADS,
        Some(EntityType::Lead) => TAG_LEADS,
        _ if kind == EventKind::NewInquiry => TAG_PRE_LEADS,
        _ if kind == EventKind::NewLead => TAG_LEADS,
        _ => TAG_GENERIC,
    }
}

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

fn string_schema(description: &str) -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String).description(Some(description))
}

fn schema_ref(name: &str) -> RefOr<Schema> {
    Ref::from_schema_name(name).into()
}

/// A positive whole-number id.
fn positive_id(description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(1))
        .description(Some(description))
}

const SOURCE_FIELD: &str = "The sending system (e.g. `website`, `erp`, `crm`); kept on the record and in the log.";
const TIMESTAMP_FIELD: &str = "When the event was sent (e.g. `2024-01-15T10:30:00Z`); kept in the log, not checked.";
const SIGNATURE_FIELD: &str = "Kept in the log only: verification uses the signature headers.";

/// The envelope of one event. `generic`: as the generic route takes it (`event` required and,
/// for targeted events, the record's id inside `data`).
fn envelope(kind: EventKind, data_schema: &str, generic: bool) -> Schema {
    let name = kind.name();
    let (description, event_description) = if generic {
        (
            format!("`{name}` as the generic route `POST {API_BASE}/incoming` takes it."),
            format!("Selects the event: `{name}`."),
        )
    } else {
        (
            format!("`{name}` as its typed route takes it."),
            format!("Optional on this route; when sent it must be `{name}`."),
        )
    };
    let data: RefOr<Schema> = match (generic, kind.target()) {
        (true, Some(entity)) => {
            let field = id_field(entity);
            let label = entity_label(entity);
            let digits = ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(r"^\s*\+?[0-9]+\s*$"))
                .description(Some(format!("Id of the {label}, as a string of digits.")));
            let id = OneOfBuilder::new().item(positive_id(&format!("Id of the {label}."))).item(digits);
            AllOfBuilder::new()
                .description(Some(format!(
                    "`{data_schema}` plus `{field}`, the id of the {label} (the typed route takes it from the path)."
                )))
                .item(schema_ref(data_schema))
                .item(ObjectBuilder::new().property(field, id).required(field))
                .into()
        }
        _ => schema_ref(data_schema),
    };
    let event =
        ObjectBuilder::new().schema_type(Type::String).enum_values(Some([name])).description(Some(event_description));
    let mut object = ObjectBuilder::new()
        .description(Some(description))
        .property("event", event)
        .property("source", string_schema(SOURCE_FIELD))
        .property("data", data)
        .property("timestamp", string_schema(TIMESTAMP_FIELD))
        .property("signature", string_schema(SIGNATURE_FIELD))
        .required("data");
    if generic {
        object = object.required("event");
    }
    object.build().into()
}

/// `{status: "success", message, data}`.
fn success_body(kind: EventKind, data_schema: &str) -> Schema {
    ObjectBuilder::new()
        .description(Some(format!("The answer to a successful `{}`.", kind.name())))
        .property("status", ObjectBuilder::new().schema_type(Type::String).enum_values(Some(["success"])))
        .property(
            "message",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .examples([kind.success_message()])
                .description(Some(format!("`{}`", kind.success_message()))),
        )
        .property("data", schema_ref(data_schema))
        .required("status")
        .required("message")
        .required("data")
        .build()
        .into()
}

fn integer_header(description: &str) -> utoipa::openapi::Header {
    HeaderBuilder::new().schema(ObjectBuilder::new().schema_type(Type::Integer)).description(Some(description)).build()
}

fn with_rate_limit_headers(response: ResponseBuilder) -> ResponseBuilder {
    response
        .header("X-RateLimit-Limit", integer_header("Requests allowed per minute (when rate limiting is on)."))
        .header("X-RateLimit-Remaining", integer_header("Requests left now."))
        .header("X-RateLimit-Reset", integer_header("Seconds until the allowance is full again."))
}

fn error_response(description: &str, example: Value) -> ResponseBuilder {
    ResponseBuilder::new()
        .description(description)
        .content(JSON, ContentBuilder::new().schema(Some(schema_ref(ERROR_SCHEMA))).example(Some(example)).build())
}

fn rate_limited() -> Response {
    with_rate_limit_headers(error_response(
        "Too many requests from this client IP (100 a minute by default).",
        json!({"detail": "Rate limit exceeded"}),
    ))
    .header("Retry-After", integer_header("Seconds until a request is allowed again."))
    .build()
}

fn internal_error() -> Response {
    error_response("Unexpected failure; the cause is logged, not sent.", json!({"detail": "Internal server error"}))
        .build()
}

/// The error answers of a webhook route. `kind`: `None` for the generic route.
fn webhook_errors(responses: ResponsesBuilder, kind: Option<EventKind>) -> ResponsesBuilder {
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
            Some(_) => format!("No {} with this id.", entity_label(entity)),
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
                "The body is larger than 1 MiB (CRM_MAX_BODY_BYTES).",
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

fn header_parameter(name: &str, description: &str, example: Option<Value>) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
        .example(example)
        .build()
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
        header_parameter(
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
        header_parameter(
            "Idempotency-Key",
            "1 to 255 visible ASCII characters. A repeat of the same request (same path and body) within 24 \
             hours replays the stored answer with `Idempotent-Replayed: true`; the key with a different \
             request is a 409.",
            Some(json!("evt-123")),
        ),
        header_parameter(
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
fn typed_operation(kind: EventKind, data_schema: &str) -> Operation {
    let name = kind.name();
    let (request_example, response_example) = examples(kind);
    let mut description = format!(
        "Event `{name}`. The event is fixed by the route: `event` may be left out, and when sent must be `{name}`."
    );
    let mut operation = OperationBuilder::new().operation_id(Some(name)).summary(Some(kind.summary())).tag(tag(kind));
    if let Some(entity) = kind.target() {
        let field = id_field(entity);
        let label = entity_label(entity);
        description.push_str(&format!(
            " The {label} is the one in the path. Also accepted by `POST {API_BASE}/incoming` with `data.{field}`."
        ));
        operation = operation.parameter(
            ParameterBuilder::new()
                .name(field)
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .description(Some(format!("Id of the {label} (a positive whole number, else 400).")))
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                        .minimum(Some(1)),
                )),
        );
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
        .responses(webhook_errors(responses, Some(kind)).build())
        .build()
}

/// The generic route's example of an event: the typed example with the target id in `data`.
fn generic_example(kind: EventKind) -> (Value, Value) {
    let (mut request, response) = examples(kind);
    if let Some(entity) = kind.target() {
        let field = id_field(entity);
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
fn generic_operation() -> Operation {
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
            Some(entity) => format!("- `{}`: {} (`data.{}` required)", kind.name(), kind.summary(), id_field(entity)),
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
        .responses(webhook_errors(ResponsesBuilder::new().response("200", ok), None).build())
        .build()
}

fn query_parameter(name: &str, description: &str, schema: ObjectBuilder) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(schema))
        .build()
}

fn admin_errors(responses: ResponsesBuilder) -> ResponsesBuilder {
    responses.response(
        "401",
        error_response(
            "Missing or wrong `Authorization: Bearer <token>` (only when CRM_ADMIN_TOKEN is set).",
            json!({"detail": "Missing or invalid admin token"}),
        ),
    )
}

fn admin_security() -> SecurityRequirement {
    SecurityRequirement::new(ADMIN_TOKEN, Vec::<String>::new())
}

fn list_logs_operation() -> Operation {
    let integer =
        || ObjectBuilder::new().schema_type(Type::Integer).format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)));
    let date_time = || {
        ObjectBuilder::new().schema_type(Type::String).format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
    };
    let parameters = vec![
        query_parameter(
            "page",
            "Page number, from 1.",
            integer().minimum(Some(1)).maximum(Some(i32::MAX)).default(Some(json!(1))),
        ),
        query_parameter(
            "page_size",
            "Rows per page.",
            integer().minimum(Some(1)).maximum(Some(MAX_PAGE_SIZE)).default(Some(json!(20))),
        ),
        query_parameter(
            "direction",
            "Only this direction.",
            ObjectBuilder::new().schema_type(Type::String).enum_values(Some(["incoming", "outgoing"])),
        ),
        query_parameter(
            "is_successful",
            "Only successful (2xx) or only failed calls (`1`/`0` accepted too).",
            ObjectBuilder::new().schema_type(Type::Boolean),
        ),
        query_parameter(
            "event",
            "Only this event name (exact).",
            ObjectBuilder::new().schema_type(Type::String).examples(["new_lead"]),
        ),
        query_parameter(
            "entity_type",
            "Only calls that touched this kind of record: `pre_lead`, `lead` or `customer`.",
            ObjectBuilder::new().schema_type(Type::String).examples(["lead"]),
        ),
        query_parameter("entity_id", "Only calls that touched the record with this id.", integer().minimum(Some(1))),
        query_parameter("since", "Only calls received at or after this instant (RFC 3339).", date_time()),
        query_parameter("until", "Only calls received before this instant (RFC 3339).", date_time()),
    ];
    let responses = ResponsesBuilder::new()
        .response(
            "200",
            ResponseBuilder::new()
                .description("One page of the log.")
                .content(JSON, ContentBuilder::new().schema(Some(schema_ref("LogPage"))).build()),
        )
        .response(
            "400",
            error_response(
                "A query parameter is invalid or unknown; `field` names it.",
                json!({
                    "detail": "page_size must be a whole number from 1 to 100",
                    "field": "page_size"
                }),
            ),
        );
    OperationBuilder::new()
        .operation_id(Some("list_logs"))
        .summary(Some("List webhook log entries"))
        .description(Some(
            "The webhook log, newest first, filtered by the parameters given (any other query parameter is a \
             400). Needs the admin bearer token when CRM_ADMIN_TOKEN is set.",
        ))
        .tag(TAG_LOGS)
        .parameters(Some(parameters))
        .security(admin_security())
        .responses(admin_errors(responses).response("429", rate_limited()).response("500", internal_error()).build())
        .build()
}

fn get_log_operation() -> Operation {
    let responses = ResponsesBuilder::new()
        .response(
            "200",
            ResponseBuilder::new()
                .description("The log entry.")
                .content(JSON, ContentBuilder::new().schema(Some(schema_ref("LogOut"))).build()),
        )
        .response(
            "400",
            error_response(
                "`log_id` is not a positive whole number.",
                json!({"detail": "log_id must be a positive whole number", "field": "log_id"}),
            ),
        );
    let responses = admin_errors(responses)
        .response("404", error_response("No log entry with this id.", json!({"detail": "Webhook log not found"})))
        .response("429", rate_limited())
        .response("500", internal_error());
    OperationBuilder::new()
        .operation_id(Some("get_log"))
        .summary(Some("Get one webhook log entry"))
        .description(Some("Needs the admin bearer token when CRM_ADMIN_TOKEN is set."))
        .tag(TAG_LOGS)
        .parameter(
            ParameterBuilder::new()
                .name("log_id")
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .description(Some("Id of the log entry."))
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                        .minimum(Some(1)),
                )),
        )
        .security(admin_security())
        .responses(responses.build())
        .build()
}

fn status_object(status: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .property("status", ObjectBuilder::new().schema_type(Type::String).enum_values(Some([status])))
        .required("status")
}

fn ops_operation(id: &str, summary: &str, responses: ResponsesBuilder) -> Operation {
    OperationBuilder::new()
        .operation_id(Some(id))
        .summary(Some(summary))
        .tag(TAG_OPS)
        .responses(responses.build())
        .build()
}

fn json_ok(description: &str, status: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            JSON,
            ContentBuilder::new().schema(Some(status_object(status))).example(Some(json!({"status": status}))).build(),
        )
        .build()
}

/// The document served at `/openapi.json`.
pub fn document() -> OpenApi {
    let mut schemas = Schemas::new();
    schemas.insert(ERROR_SCHEMA.to_string(), ErrorBody::schema());
    register::<LogPage>(&mut schemas);
    register::<LogOut>(&mut schemas);
    for register_value_set in [
        register::<LeadStatus>,
        register::<PreLeadStatus>,
        register::<Priority>,
        register::<Source>,
        register::<MemoType>,
        register::<ActivityType>,
    ] as [Register; 6]
    {
        register_value_set(&mut schemas);
    }

    let mut paths = PathsBuilder::new();
    for kind in EventKind::ALL {
        let (data, answer) = event_types(kind);
        let data_schema = data(&mut schemas);
        let answer_schema = answer(&mut schemas);
        schemas.insert(generic_request_schema(kind), envelope(kind, &data_schema, true).into());
        schemas.insert(response_schema(kind), success_body(kind, &answer_schema).into());
        if let Some(path) = kind.path() {
            schemas.insert(typed_request_schema(kind), envelope(kind, &data_schema, false).into());
            paths = paths.path(
                format!("{API_BASE}{path}"),
                PathItem::new(HttpMethod::Post, typed_operation(kind, &data_schema)),
            );
        }
    }
    paths = paths
        .path(format!("{API_BASE}/incoming"), PathItem::new(HttpMethod::Post, generic_operation()))
        .path(format!("{API_BASE}/logs"), PathItem::new(HttpMethod::Get, list_logs_operation()))
        .path(format!("{API_BASE}/logs/{{log_id}}"), PathItem::new(HttpMethod::Get, get_log_operation()))
        .path(
            "/healthz",
            PathItem::new(
                HttpMethod::Get,
                ops_operation(
                    "healthz",
                    "Liveness: the process is up",
                    ResponsesBuilder::new().response("200", json_ok("Up.", "ok")),
                ),
            ),
        )
        .path(
            "/readyz",
            PathItem::new(
                HttpMethod::Get,
                ops_operation(
                    "readyz",
                    "Readiness: the database answers",
                    ResponsesBuilder::new().response("200", json_ok("Ready.", "ready")).response(
                        "503",
                        error_response("The database does not answer.", json!({"detail": "Database unavailable"})),
                    ),
                ),
            ),
        )
        .path(
            "/metrics",
            PathItem::new(
                HttpMethod::Get,
                ops_operation(
                    "metrics",
                    "Prometheus metrics",
                    ResponsesBuilder::new().response(
                        "200",
                        ResponseBuilder::new()
                            .description("Metrics in the Prometheus text format (version 0.0.4).")
                            .content(
                                "text/plain",
                                ContentBuilder::new()
                                    .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                                    .build(),
                            ),
                    ),
                ),
            ),
        );

    let components = ComponentsBuilder::new()
        .schemas_from_iter(schemas)
        .security_scheme(
            ADMIN_TOKEN,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "`Authorization: Bearer <CRM_ADMIN_TOKEN>` on the log routes; applies only when \
                         CRM_ADMIN_TOKEN is set (otherwise they are open).",
                    ))
                    .build(),
            ),
        )
        .build();

    let tags = [
        (TAG_PRE_LEADS, "Pre-leads: inquiries not yet qualified. Seven typed webhook routes."),
        (TAG_LEADS, "Leads: qualified prospects in the sales pipeline. Nine typed webhook routes."),
        (
            TAG_GENERIC,
            "The generic webhook route: every event, chosen by the envelope's `event`; the only route of \
             `order_created` and `payment_received`.",
        ),
        (TAG_LOGS, "The webhook log, behind the admin token."),
        (TAG_OPS, "Liveness, readiness and metrics."),
    ]
    .map(|(name, description)| TagBuilder::new().name(name).description(Some(description)).build());

    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("crm-webhooks")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(DESCRIPTION))
                .build(),
        )
        .paths(paths.build())
        .components(Some(components))
        .tags(Some(tags))
        .build()
}

/// `/openapi.json` and Swagger UI at `/docs`, both served from the binary.
pub fn router() -> Router<AppState> {
    Router::from(SwaggerUi::new("/docs").url("/openapi.json", document()))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

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

    fn example_file(name: &str, which: &str) -> Value {
        let path = format!("{}/docs/examples/{name}.{which}.json", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{path}: {err}"));
        serde_json::from_str(&text).unwrap_or_else(|err| panic!("{path}: {err}"))
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

    #[test]
    fn it_has_exactly_the_served_paths() {
        let doc = document_json();
        let paths: BTreeSet<String> = doc["paths"].as_object().unwrap().keys().cloned().collect();
        let mut expected: BTreeSet<String> =
            EventKind::ALL.iter().filter_map(|kind| kind.path()).map(|path| format!("{API_BASE}{path}")).collect();
        assert_eq!(expected.len(), 16);
        for path in ["/incoming", "/logs", "/logs/{log_id}"] {
            expected.insert(format!("{API_BASE}{path}"));
        }
        for path in ["/healthz", "/readyz", "/metrics"] {
            expected.insert(path.to_string());
        }
        assert_eq!(paths, expected);
        assert_eq!(paths.len(), 22);
    }

    #[test]
    fn typed_operations_follow_the_event_table() {
        let doc = document_json();
        for kind in EventKind::ALL {
            let Some(path) = kind.path() else { continue };
            let op = &doc["paths"][format!("{API_BASE}{path}")]["post"];
            assert_eq!(op["operationId"], kind.name());
            assert_eq!(op["summary"], kind.summary());
            let expected_tag = if kind.name().starts_with("pre_lead") || kind == EventKind::NewInquiry {
                "pre-leads"
            } else {
                "leads"
            };
            assert_eq!(op["tags"], json!([expected_tag]), "{}", kind.name());
            let params = op["parameters"].as_array().unwrap();
            let path_params: Vec<&Value> = params.iter().filter(|p| p["in"] == "path").collect();
            match kind.target() {
                Some(entity) => {
                    assert_eq!(path_params.len(), 1, "{}", kind.name());
                    assert_eq!(path_params[0]["name"], id_field(entity));
                    assert_eq!(path_params[0]["required"], true);
                    assert_eq!(path_params[0]["schema"]["type"], "integer");
                    assert!(op["responses"]["404"].is_object(), "{}", kind.name());
                }
                None => {
                    assert!(path_params.is_empty(), "{}", kind.name());
                    assert!(op["responses"]["404"].is_null(), "{}", kind.name());
                }
            }
            for header in
                ["X-Webhook-Signature", "webhook-id", "webhook-timestamp", "webhook-signature", "Idempotency-Key"]
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
            let name =
                target.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("unexpected $ref {target}"));
            assert!(schemas.contains_key(name), "$ref {target} does not resolve");
        }
        for name in [
            "Error",
            "LogPage",
            "LogOut",
            "LeadStatus",
            "PreLeadStatus",
            "Priority",
            "Source",
            "MemoType",
            "ActivityType",
        ] {
            assert!(schemas.contains_key(name), "{name}");
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
                assert!(example["data"][id_field(entity)].is_i64(), "{}", kind.name());
                let mut without_id = example.clone();
                without_id["data"].as_object_mut().unwrap().remove(id_field(entity));
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

    #[test]
    fn the_log_routes_need_the_admin_token() {
        let doc = document_json();
        assert_eq!(doc["components"]["securitySchemes"][ADMIN_TOKEN]["type"], "http");
        assert_eq!(doc["components"]["securitySchemes"][ADMIN_TOKEN]["scheme"], "bearer");
        let list = &doc["paths"][format!("{API_BASE}/logs")]["get"];
        let names: Vec<&str> =
            list["parameters"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
        assert_eq!(
            names,
            ["page", "page_size", "direction", "is_successful", "event", "entity_type", "entity_id", "since", "until"]
        );
        assert_eq!(list["parameters"][1]["schema"]["maximum"], 100);
        assert_eq!(list["responses"]["200"]["content"][JSON]["schema"]["$ref"], "#/components/schemas/LogPage");
        let one = &doc["paths"][format!("{API_BASE}/logs/{{log_id}}")]["get"];
        assert_eq!(one["responses"]["200"]["content"][JSON]["schema"]["$ref"], "#/components/schemas/LogOut");
        for op in [list, one] {
            assert_eq!(op["security"], json!([{"admin_token": []}]));
        }
    }
}
