//! Cross-cutting HTTP pieces: errors, client IP, rate limiting, metrics, admin auth, fallbacks.

pub mod admin;
pub mod client_ip;
pub mod error;
pub mod metrics;
pub mod openapi;
pub mod query;
pub mod rate_limit;

/// Where the webhook, log and (next) admin routes are mounted.
pub const API_BASE: &str = "/api/v1/webhooks";

use axum::http::StatusCode;
use axum::response::Response;

use error::{json_error, ErrorBody};

fn plain(status: StatusCode, detail: &str) -> Response {
    json_error(status, &ErrorBody { detail: detail.to_string(), field: None, allowed: None })
}

pub async fn not_found() -> Response {
    plain(StatusCode::NOT_FOUND, "Not found")
}

pub async fn method_not_allowed() -> Response {
    plain(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed")
}
