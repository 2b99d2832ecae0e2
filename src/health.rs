//! Operations routes: liveness, readiness, metrics.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use utoipa::openapi::path::{Operation, OperationBuilder};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{
    ContentBuilder, HttpMethod, ObjectBuilder, OpenApi, OpenApiBuilder, PathItem, PathsBuilder, ResponseBuilder,
    ResponsesBuilder, Type,
};

use crate::http::error::{json_error, ErrorBody};
use crate::http::openapi::{error_response, JSON};
use crate::state::AppState;

const TAG: &str = "ops";

pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz)).route("/metrics", get(metrics))
}

/// The process is up.
async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

/// The database answers.
async fn readyz(State(state): State<AppState>) -> Response {
    if state.db.ping().await {
        Json(json!({"status": "ready"})).into_response()
    } else {
        let body = ErrorBody { detail: "Database unavailable".into(), field: None, allowed: None };
        json_error(StatusCode::SERVICE_UNAVAILABLE, &body)
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render()).into_response()
}

/// The OpenAPI part of these routes (at the root).
pub fn openapi() -> OpenApi {
    let text = ContentBuilder::new().schema(Some(ObjectBuilder::new().schema_type(Type::String))).build();
    let metrics = ResponseBuilder::new()
        .description("Metrics in the Prometheus text format (version 0.0.4).")
        .content("text/plain", text);
    let not_ready = error_response("The database does not answer.", json!({"detail": "Database unavailable"}));
    let paths = PathsBuilder::new()
        .path(
            "/healthz",
            get_operation(
                "healthz",
                "Liveness: the process is up",
                ResponsesBuilder::new().response("200", json_ok("Up.", "ok")),
            ),
        )
        .path(
            "/readyz",
            get_operation(
                "readyz",
                "Readiness: the database answers",
                ResponsesBuilder::new().response("200", json_ok("Ready.", "ready")).response("503", not_ready),
            ),
        )
        .path(
            "/metrics",
            get_operation("metrics", "Prometheus metrics", ResponsesBuilder::new().response("200", metrics)),
        );
    OpenApiBuilder::new()
        .paths(paths.build())
        .tags(Some([TagBuilder::new().name(TAG).description(Some("Liveness, readiness and metrics.")).build()]))
        .build()
}

fn get_operation(id: &str, summary: &str, responses: ResponsesBuilder) -> PathItem {
    let operation: Operation = OperationBuilder::new()
        .operation_id(Some(id))
        .summary(Some(summary))
        .tag(TAG)
        .responses(responses.build())
        .build();
    PathItem::new(HttpMethod::Get, operation)
}

fn json_ok(description: &str, status: &str) -> utoipa::openapi::Response {
    let schema = ObjectBuilder::new()
        .property("status", ObjectBuilder::new().schema_type(Type::String).enum_values(Some([status])))
        .required("status");
    ResponseBuilder::new()
        .description(description)
        .content(JSON, ContentBuilder::new().schema(Some(schema)).example(Some(json!({"status": status}))).build())
        .build()
}
