//! The body extractor of the webhook routes. It never rejects: it hands the handler the raw
//! bytes (needed for signatures) or the reason they could not be read, so that every call,
//! a failed one too, reaches the pipeline and is logged.

use std::convert::Infallible;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{FromRequest, OriginalUri, Request};
use axum::http::{header, HeaderMap, Method};
use bytes::Bytes;

use crate::http::client_ip::ClientIp;
use crate::http::error::AppError;
use crate::state::AppState;

/// Marks a request that `POST /logs/{id}/replay` runs again: the admin token stood in for its
/// signature. Only the server itself sets it (a request extension, never read from the wire).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Replay {
    /// The log row replayed.
    pub of: i64,
}

pub struct WebhookRequest {
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
    pub remote_addr: Option<String>,
    pub request_id: Option<String>,
    pub body: Result<Bytes, AppError>,
    /// Set when this is a replay of a logged request.
    pub replay: Option<Replay>,
}

impl FromRequest<AppState> for WebhookRequest {
    type Rejection = Infallible;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Infallible> {
        let (parts, body) = req.into_parts();
        let path = parts
            .extensions
            .get::<OriginalUri>()
            .map(|uri| uri.0.path().to_string())
            .unwrap_or_else(|| parts.uri.path().to_string());
        let remote_addr = parts.extensions.get::<ClientIp>().map(|ip| ip.0.to_string());
        let request_id = parts.headers.get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_string);
        let replay = parts.extensions.get::<Replay>().copied();
        let body = read_body(&parts.headers, body, state.config.max_body_bytes, state.config.body_timeout).await;
        Ok(WebhookRequest { method: parts.method, path, headers: parts.headers, remote_addr, request_id, body, replay })
    }
}

/// Reads at most `limit` bytes within `timeout`: 413 beyond the limit (told by Content-Length
/// before reading, when given), 408 when the client is too slow.
pub async fn read_body(headers: &HeaderMap, body: Body, limit: usize, timeout: Duration) -> Result<Bytes, AppError> {
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(AppError::PayloadTooLarge);
    }
    match tokio::time::timeout(timeout, axum::body::to_bytes(body, limit)).await {
        Err(_) => Err(AppError::RequestTimeout),
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(err)) => {
            let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&err);
            while let Some(cause) = source {
                if cause.is::<http_body_util::LengthLimitError>() {
                    return Err(AppError::PayloadTooLarge);
                }
                source = cause.source();
            }
            Err(AppError::bad_request("The request body could not be read"))
        }
    }
}
