//! The pieces of the OpenAPI document that every part shares: the error schema and answers, the
//! rate-limit headers, parameters, the admin security requirement, and how a part registers its
//! schemas. Each module with routes builds its own part from these, beside its `router()`; the
//! document is assembled in `crate::openapi`.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::{
    ContentBuilder, HeaderBuilder, KnownFormat, ObjectBuilder, Ref, RefOr, Required, Response, ResponseBuilder, Schema,
    SchemaFormat, SecurityRequirement, Type,
};
use utoipa::ToSchema;

use crate::config::DEFAULT_RATE_LIMIT_PER_MINUTE;

/// Name of the error schema (the Rust type is [`super::error::ErrorBody`]).
pub const ERROR_SCHEMA: &str = "Error";
/// Name of the bearer security scheme of the admin routes.
pub const ADMIN_TOKEN: &str = "admin_token";
pub const JSON: &str = "application/json";

pub type Schemas = BTreeMap<String, RefOr<Schema>>;
/// Adds a schema (and the schemas it refers to) to the components and returns its name.
pub type Register = fn(&mut Schemas) -> String;

pub fn register<T: ToSchema>(schemas: &mut Schemas) -> String {
    let mut nested = Vec::new();
    T::schemas(&mut nested);
    schemas.extend(nested);
    let name = T::name().into_owned();
    schemas.insert(name.clone(), T::schema());
    name
}

pub fn string_schema(description: &str) -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String).description(Some(description))
}

pub fn schema_ref(name: &str) -> RefOr<Schema> {
    Ref::from_schema_name(name).into()
}

/// A 64-bit integer.
pub fn integer() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::Integer).format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
}

/// A positive whole-number id.
pub fn positive_id(description: &str) -> ObjectBuilder {
    integer().minimum(Some(1)).maximum(Some(i64::MAX)).description(Some(description))
}

/// A required path parameter holding a positive id.
pub fn id_path_parameter(name: &str, description: &str) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .description(Some(description))
        .schema(Some(integer().minimum(Some(1)).maximum(Some(i64::MAX))))
        .build()
}

pub fn integer_header(description: &str) -> utoipa::openapi::Header {
    HeaderBuilder::new().schema(ObjectBuilder::new().schema_type(Type::Integer)).description(Some(description)).build()
}

pub fn with_rate_limit_headers(response: ResponseBuilder) -> ResponseBuilder {
    response
        .header("X-RateLimit-Limit", integer_header("Requests allowed per minute (when rate limiting is on)."))
        .header("X-RateLimit-Remaining", integer_header("Requests left now."))
        .header("X-RateLimit-Reset", integer_header("Seconds until the allowance is full again."))
}

/// An answer in the error format, with an example body.
pub fn error_response(description: &str, example: Value) -> ResponseBuilder {
    ResponseBuilder::new()
        .description(description)
        .content(JSON, ContentBuilder::new().schema(Some(schema_ref(ERROR_SCHEMA))).example(Some(example)).build())
}

pub fn rate_limited() -> Response {
    with_rate_limit_headers(error_response(
        &format!("Too many requests from this client IP ({DEFAULT_RATE_LIMIT_PER_MINUTE} a minute by default)."),
        json!({"detail": "Rate limit exceeded"}),
    ))
    .header("Retry-After", integer_header("Seconds until a request is allowed again."))
    .build()
}

pub fn internal_error() -> Response {
    error_response("Unexpected failure; the cause is logged, not sent.", json!({"detail": "Internal server error"}))
        .build()
}

pub fn header_parameter(name: &str, description: &str, example: Option<Value>) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
        .example(example)
        .build()
}

/// The schema of a date-time query parameter: RFC 3339 or `YYYY-MM-DD` (midnight UTC).
pub fn instant_schema() -> RefOr<Schema> {
    utoipa::openapi::schema::AnyOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))),
        )
        .item(ObjectBuilder::new().schema_type(Type::String).format(Some(SchemaFormat::KnownFormat(KnownFormat::Date))))
        .into()
}

/// A string of one of `values`.
pub fn enum_schema(values: &[&str]) -> RefOr<Schema> {
    ObjectBuilder::new().schema_type(Type::String).enum_values(Some(values.iter().copied())).into()
}

/// An opaque `cursor` (a `next_cursor` handed out), never blank.
pub fn cursor_schema() -> RefOr<Schema> {
    ObjectBuilder::new().schema_type(Type::String).min_length(Some(1)).pattern(Some("^[A-Za-z0-9_-]+$")).into()
}

/// Gives the query parameters of every `GET` in `doc` the schema `schema_of(path, name)` returns
/// (`None`: left as declared). Lets a part state in its document the value sets and forms its
/// parser holds, from the parser's own constants.
pub fn set_query_schemas(doc: &mut utoipa::openapi::OpenApi, schema_of: impl Fn(&str, &str) -> Option<RefOr<Schema>>) {
    for (path, item) in doc.paths.paths.iter_mut() {
        let parameters = item.get.iter_mut().flat_map(|operation| operation.parameters.iter_mut().flatten());
        for parameter in parameters.filter(|parameter| parameter.parameter_in == ParameterIn::Query) {
            if let Some(schema) = schema_of(path, &parameter.name) {
                parameter.schema = Some(schema);
            }
        }
    }
}

pub fn query_parameter(name: &str, description: &str, schema: ObjectBuilder) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(schema))
        .build()
}

/// The 401 of a route behind the admin token.
pub fn admin_unauthorized() -> ResponseBuilder {
    error_response(
        "Missing or wrong `Authorization: Bearer <token>` (only when CRM_ADMIN_TOKEN is set).",
        json!({"detail": "Missing or invalid admin token"}),
    )
}

pub fn admin_security() -> SecurityRequirement {
    SecurityRequirement::new(ADMIN_TOKEN, Vec::<String>::new())
}
