//! The OpenAPI part of the webhook routes (paths relative to `/api/v1/webhooks`, as `router()`):
//! one operation per typed route and the generic route, built from the event table (`events.rs`)
//! and the payload and answer types bound to each event (`command::binding`).

mod operations;
#[cfg(test)]
mod tests;

use serde_json::{json, Value};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{
    AllOfBuilder, ComponentsBuilder, HttpMethod, ObjectBuilder, OneOfBuilder, OpenApi, OpenApiBuilder, PathItem,
    PathsBuilder, RefOr, Schema, Type,
};

use super::command::binding;
use super::GENERIC_ROUTE;
use crate::domain::schemas::{extra_value, with_extras, EXTRA_VALUE, NO_NUL_PATTERN};
use crate::domain::values::{ActivityType, LeadStatus, MemoType, PreLeadStatus, Priority, Source};
use crate::events::{EventKind, TAG_GENERIC, TAG_LEADS, TAG_PRE_LEADS};
use crate::http::openapi::{positive_id, register, schema_ref, string_schema, Register, Schemas};
use crate::http::API_BASE;

pub fn openapi() -> OpenApi {
    let mut schemas = Schemas::new();
    let value_sets: [Register; 6] = [
        register::<LeadStatus>,
        register::<PreLeadStatus>,
        register::<Priority>,
        register::<Source>,
        register::<MemoType>,
        register::<ActivityType>,
    ];
    for register_value_set in value_sets {
        register_value_set(&mut schemas);
    }
    schemas.insert(EXTRA_VALUE.to_string(), extra_value());
    let mut paths = PathsBuilder::new();
    for kind in EventKind::ALL {
        let binding = binding(kind);
        let data_schema = (binding.payload_schema)(&mut schemas);
        let answer_schema = (binding.answer_schema)(&mut schemas);
        schemas.insert(generic_request_schema(kind), envelope(kind, &data_schema, true).into());
        schemas.insert(response_schema(kind), success_body(kind, &answer_schema).into());
        if let Some(path) = kind.path() {
            schemas.insert(typed_request_schema(kind), envelope(kind, &data_schema, false).into());
            paths = paths.path(path, PathItem::new(HttpMethod::Post, operations::typed(kind, &data_schema)));
        }
    }
    paths = paths.path(GENERIC_ROUTE, PathItem::new(HttpMethod::Post, operations::generic()));
    let tags = [
        (TAG_PRE_LEADS, "Pre-leads: inquiries not yet qualified. Seven typed webhook routes."),
        (TAG_LEADS, "Leads: qualified prospects in the sales pipeline. Nine typed webhook routes."),
        (
            TAG_GENERIC,
            "The generic webhook route: every event, chosen by the envelope's `event`; the only route of \
             `order_created` and `payment_received`.",
        ),
    ]
    .map(|(name, description)| TagBuilder::new().name(name).description(Some(description)).build());
    OpenApiBuilder::new()
        .paths(paths.build())
        .components(Some(ComponentsBuilder::new().schemas_from_iter(schemas).build()))
        .tags(Some(tags))
        .build()
}

/// The request and response examples of an event: the documentation's, or (for the two events
/// the document does not show) written here.
pub(super) fn examples(kind: EventKind) -> (Value, Value) {
    if let Some((request, response)) = kind.spec().examples {
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
pub(super) fn pascal(name: &str) -> String {
    name.split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map(|first| first.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect()
}

pub(super) fn typed_request_schema(kind: EventKind) -> String {
    format!("{}Request", pascal(kind.name()))
}

pub(super) fn generic_request_schema(kind: EventKind) -> String {
    format!("{}Event", pascal(kind.name()))
}

pub(super) fn response_schema(kind: EventKind) -> String {
    format!("{}Response", pascal(kind.name()))
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
            let (field, label) = (entity.id_field(), entity.label());
            let digits = ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(r"^ *\+?0*[1-9][0-9]{0,17} *$"))
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
    let text = |description: &str| string_schema(description).pattern(Some(NO_NUL_PATTERN));
    let mut object = with_extras(ObjectBuilder::new())
        .description(Some(description))
        .property("event", event)
        .property("source", text(SOURCE_FIELD))
        .property("data", data)
        .property("timestamp", text(TIMESTAMP_FIELD))
        .property("signature", text(SIGNATURE_FIELD))
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
