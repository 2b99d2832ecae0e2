//! The OpenAPI part of the log routes (paths relative to `/api/v1/webhooks`, as `router()`).

use serde_json::json;
use utoipa::openapi::path::{Operation, OperationBuilder};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, HttpMethod, KnownFormat, ObjectBuilder, OpenApi, OpenApiBuilder, PathItem,
    PathsBuilder, ResponseBuilder, ResponsesBuilder, SchemaFormat, Type,
};

use super::store::LogOut;
use super::{LogPage, DEFAULT_PAGE_SIZE, DIRECTIONS, MAX_PAGE_SIZE, PARAMETERS};
use crate::http::openapi::{
    admin_security, admin_unauthorized, error_response, id_path_parameter, integer, internal_error, query_parameter,
    rate_limited, register, schema_ref, Schemas, JSON,
};

const TAG: &str = "logs";

pub fn openapi() -> OpenApi {
    let mut schemas = Schemas::new();
    register::<LogPage>(&mut schemas);
    register::<LogOut>(&mut schemas);
    let paths = PathsBuilder::new()
        .path("/logs", PathItem::new(HttpMethod::Get, list_logs_operation()))
        .path("/logs/{log_id}", PathItem::new(HttpMethod::Get, get_log_operation()));
    OpenApiBuilder::new()
        .paths(paths.build())
        .components(Some(ComponentsBuilder::new().schemas_from_iter(schemas).build()))
        .tags(Some([TagBuilder::new().name(TAG).description(Some("The webhook log, behind the admin token.")).build()]))
        .build()
}

/// The description and schema of each `GET /logs` query parameter, listed in [`PARAMETERS`].
fn parameter(name: &str) -> (&'static str, ObjectBuilder) {
    let date_time = || {
        ObjectBuilder::new().schema_type(Type::String).format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
    };
    match name {
        "page" => ("Page number, from 1.", integer().minimum(Some(1)).maximum(Some(i32::MAX)).default(Some(json!(1)))),
        "page_size" => (
            "Rows per page.",
            integer().minimum(Some(1)).maximum(Some(MAX_PAGE_SIZE)).default(Some(json!(DEFAULT_PAGE_SIZE))),
        ),
        "cursor" => (
            "`next_cursor` of the previous page: the next page by keyset, as fast at any depth; `page` is then ignored.",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .pattern(Some("^[A-Za-z0-9_-]+$"))
                .examples(["bG9nCjQy"]),
        ),
        "direction" => (
            "Only this direction.",
            ObjectBuilder::new().schema_type(Type::String).enum_values(Some(DIRECTIONS)),
        ),
        "is_successful" => (
            "Only successful (2xx) or only failed calls (`1`/`0` accepted too).",
            ObjectBuilder::new().schema_type(Type::Boolean),
        ),
        "event" => ("Only this event name (exact).", ObjectBuilder::new().schema_type(Type::String).examples(["new_lead"])),
        "entity_type" => (
            "Only calls that touched this kind of record: `pre_lead`, `lead` or `customer`.",
            ObjectBuilder::new().schema_type(Type::String).examples(["lead"]),
        ),
        "entity_id" => ("Only calls that touched the record with this id.", integer().minimum(Some(1))),
        "since" => ("Only calls received at or after this instant (RFC 3339).", date_time()),
        "until" => ("Only calls received before this instant (RFC 3339).", date_time()),
        other => unreachable!("GET /logs has no query parameter {other:?}"),
    }
}

fn list_logs_operation() -> Operation {
    let parameters: Vec<_> = PARAMETERS
        .into_iter()
        .map(|name| {
            let (description, schema) = parameter(name);
            query_parameter(name, description, schema)
        })
        .collect();
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
                    "detail": format!("page_size must be a whole number from 1 to {MAX_PAGE_SIZE}"),
                    "field": "page_size"
                }),
            ),
        )
        .response("401", admin_unauthorized())
        .response("429", rate_limited())
        .response("500", internal_error());
    OperationBuilder::new()
        .operation_id(Some("list_logs"))
        .summary(Some("List webhook log entries"))
        .description(Some(
            "The webhook log, newest first, filtered by the parameters given (any other query parameter is a \
             400). Needs the admin bearer token when CRM_ADMIN_TOKEN is set.",
        ))
        .tag(TAG)
        .parameters(Some(parameters))
        .security(admin_security())
        .responses(responses.build())
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
        )
        .response("401", admin_unauthorized())
        .response("404", error_response("No log entry with this id.", json!({"detail": "Webhook log not found"})))
        .response("429", rate_limited())
        .response("500", internal_error());
    OperationBuilder::new()
        .operation_id(Some("get_log"))
        .summary(Some("Get one webhook log entry"))
        .description(Some("Needs the admin bearer token when CRM_ADMIN_TOKEN is set."))
        .tag(TAG)
        .parameter(id_path_parameter("log_id", "Id of the log entry."))
        .security(admin_security())
        .responses(responses.build())
        .build()
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use crate::http::openapi::{ADMIN_TOKEN, JSON};
    use crate::openapi::document;
    use crate::startup::API_BASE;

    #[test]
    fn the_log_routes_need_the_admin_token() {
        let doc: Value = serde_json::to_value(document()).unwrap();
        assert_eq!(doc["components"]["securitySchemes"][ADMIN_TOKEN]["type"], "http");
        assert_eq!(doc["components"]["securitySchemes"][ADMIN_TOKEN]["scheme"], "bearer");
        let list = &doc["paths"][format!("{API_BASE}/logs")]["get"];
        let names: Vec<&str> =
            list["parameters"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
        assert_eq!(names, crate::logs::PARAMETERS);
        assert_eq!(list["parameters"][3]["schema"]["enum"], json!(["incoming", "outgoing"]));
        assert_eq!(list["parameters"][1]["schema"]["maximum"], 100);
        assert_eq!(list["responses"]["200"]["content"][JSON]["schema"]["$ref"], "#/components/schemas/LogPage");
        let one = &doc["paths"][format!("{API_BASE}/logs/{{log_id}}")]["get"];
        assert_eq!(one["responses"]["200"]["content"][JSON]["schema"]["$ref"], "#/components/schemas/LogOut");
        for op in [list, one] {
            assert_eq!(op["security"], json!([{"admin_token": []}]));
        }
    }
}
