//! Operations routes: liveness, readiness, metrics.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::http::error::{json_error, ErrorBody};
use crate::state::AppState;

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
