//! `POST /logs/{id}/replay`: runs a logged incoming request again, as if it were received now,
//! through the webhook routes themselves (the same routing, pipeline and idempotency keys), with
//! the admin token standing in for its signature. Only a request that passed its signature check
//! and whose body the log holds whole is run again; its answer is the webhook's own, with the new
//! log row's id in `X-Replay-Log-Id`, and that row names the replayed one in `replay_of`.

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde_json::Value;
use tower::ServiceExt;

use super::request::Replay;
use crate::http::client_ip::ClientIp;
use crate::http::error::{AppError, ErrorBody};
use crate::http::API_BASE;
use crate::logs::store::{self as log_store, LogOut};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/logs/{log_id}/replay", post(replay))
}

pub(crate) const NEEDS_ADMIN_TOKEN: &str =
    "Replay needs CRM_ADMIN_TOKEN to be set while webhook signatures are checked (CRM_WEBHOOK_SECRET)";

/// Why a logged request cannot be run again (409), or `None` when it can.
pub fn refusal(row: &LogOut) -> Option<String> {
    let id = row.id;
    if row.direction != "incoming" {
        return Some(format!(
            "Log row {id} records an outgoing delivery attempt, which cannot be replayed: retry its delivery instead"
        ));
    }
    match row.response_status {
        401 => Some(format!(
            "Log row {id} was refused for its signature (401); only a request that passed its signature check can be replayed"
        )),
        408 | 413 => Some(format!(
            "Log row {id} does not hold the whole request body ({} {}), so it cannot be replayed",
            row.response_status,
            if row.response_status == 408 { "Request Timeout" } else { "Payload Too Large" }
        )),
        _ if row.request_body.is_none() || row.request_body_bytes.is_some() => {
            Some(format!("Log row {id} does not hold the whole request body, so it cannot be replayed"))
        }
        _ => None,
    }
}

/// The logged request headers to send again: the kept ones (content type, idempotency keys, …),
/// not the redacted signatures and credentials, which the admin token stands in for.
fn logged_headers(row: &LogOut, request_id: Option<&HeaderValue>) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Value::Object(kept) = &row.request_headers {
        for (name, value) in kept {
            let Some(value) = value.as_str().filter(|v| *v != "[redacted]") else { continue };
            if let (Ok(name), Ok(value)) = (HeaderName::try_from(name.as_str()), HeaderValue::from_str(value)) {
                headers.insert(name, value);
            }
        }
    }
    if let Some(body) = &row.request_body {
        headers.insert(axum::http::header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    }
    match request_id {
        Some(id) => headers.insert("x-request-id", id.clone()),
        None => headers.remove("x-request-id"),
    };
    headers
}

#[utoipa::path(post, path = "/logs/{log_id}/replay", tag = "logs",
    summary = "Replay a logged incoming request",
    description = "Runs the logged request again, as if it were received now, through the same route and \
        pipeline; the admin token stands in for its signature. A request that was answered 404 because its \
        record did not exist yet can so be applied once the record exists. The idempotency key of the \
        original (`Idempotency-Key`, `X-Webhook-Id` or `webhook-id`) is honoured: once a replay has \
        succeeded, replaying it again answers the stored result with `Idempotent-Replayed: true` (for the \
        24 hours keys are kept). The answer is exactly the webhook's (any of its statuses), with the new \
        log row's id in `X-Replay-Log-Id`; that row has `replay_of` set. Only rows whose request passed \
        its signature check and whose body is kept whole can be replayed: a 401, 408 or 413 row and an \
        outgoing delivery attempt are a 409. While `CRM_WEBHOOK_SECRET` is set, replay needs \
        `CRM_ADMIN_TOKEN` (403 otherwise), so that it never stands in for a signature nobody checked.",
    params(("log_id" = i64, Path, minimum = 1, description = "The log row to replay")),
    responses(
        (status = 200, description = "The webhook's answer (here a lead update that now finds its lead); any \
            other status the webhook answers is passed on the same way",
            headers(("X-Replay-Log-Id" = i64, description = "The id of the replay's own log row")),
            body = Object, example = json!({"status": "success", "message": "Lead updated successfully", "data": {"lead_id": 7}})),
        (status = 400, description = "log_id is not a positive whole number", body = ErrorBody,
            example = json!({"detail": "log_id must be a positive whole number", "field": "log_id"})),
        (status = 401, description = "Missing or invalid admin token", body = ErrorBody),
        (status = 403, description = "A webhook secret is set but CRM_ADMIN_TOKEN is not", body = ErrorBody,
            example = json!({"detail": NEEDS_ADMIN_TOKEN})),
        (status = 404, description = "No such log row", body = ErrorBody,
            example = json!({"detail": "Webhook log not found"})),
        (status = 409, description = "The row cannot be replayed", body = ErrorBody,
            example = json!({"detail": "Log row 12 records an outgoing delivery attempt, which cannot be replayed: retry its delivery instead"})),
    ),
    security(("admin_token" = [])))]
async fn replay(State(state): State<AppState>, Path(raw): Path<String>, request: Request) -> Response {
    let request_id = request.headers().get("x-request-id").cloned();
    let client_ip = request.extensions().get::<ClientIp>().copied();
    drop(request);
    match prepare(&state, &raw, request_id, client_ip).await {
        Ok(replayed) => dispatch(state, replayed).await,
        Err(err) => err.into_response(),
    }
}

/// The logged request, ready to be sent again by the caller `client_ip` as request `request_id`.
async fn prepare(
    state: &AppState,
    raw: &str,
    request_id: Option<HeaderValue>,
    client_ip: Option<ClientIp>,
) -> Result<Request, AppError> {
    if !state.config.webhook_secrets.is_empty() && state.config.admin_token.is_none() {
        return Err(AppError::Forbidden(NEEDS_ADMIN_TOKEN));
    }
    let id = crate::logs::log_id(raw)?;
    let row = log_store::get(state.db.pool(), id).await?;
    if let Some(why) = refusal(&row) {
        return Err(AppError::Conflict(why));
    }
    let method = Method::from_bytes(row.method.as_bytes()).map_err(AppError::internal)?;
    let mut replayed = Request::builder()
        .method(method)
        .uri(row.path.as_str())
        .body(Body::from(row.request_body.clone().unwrap_or_default()))
        .map_err(AppError::internal)?;
    *replayed.headers_mut() = logged_headers(&row, request_id.as_ref());
    replayed.extensions_mut().insert(Replay { of: id });
    if let Some(ip) = client_ip {
        replayed.extensions_mut().insert(ip);
    }
    Ok(replayed)
}

/// Sends the request through the webhook routes, mounted where they are served.
async fn dispatch(state: AppState, request: Request) -> Response {
    let routes = Router::new()
        .nest(API_BASE, super::router())
        .fallback(|| async {
            AppError::Conflict("The logged path is not a webhook route any more, so it cannot be replayed".into())
        })
        .with_state(state);
    match routes.oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(replay), components(schemas(ErrorBody)))]
struct ApiDoc;

/// This route's part of the OpenAPI document (relative to `/api/v1/webhooks`, under the `logs` tag).
pub fn openapi() -> utoipa::openapi::OpenApi {
    <ApiDoc as utoipa::OpenApi>::openapi()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(direction: &str, status: i64, body: Option<&str>) -> LogOut {
        LogOut {
            id: 12,
            direction: direction.into(),
            event: None,
            source: None,
            method: "POST".into(),
            path: "/api/v1/webhooks/incoming".into(),
            remote_addr: None,
            request_headers: json!({"content-type": "application/json", "x-webhook-signature": "[redacted]",
                "idempotency-key": "k-1", "x-request-id": "old"}),
            request_body: body.map(str::to_string),
            response_status: status,
            response_body: None,
            is_successful: false,
            error_message: None,
            entity_type: None,
            entity_id: None,
            idempotency_key: None,
            duration_ms: 1.0,
            created_at: String::new(),
            processed_at: String::new(),
            request_body_bytes: None,
            request_body_sha256: None,
            replay_of: None,
        }
    }

    #[test]
    fn only_signed_whole_incoming_requests_are_replayed() {
        assert_eq!(refusal(&row("incoming", 404, Some("{}"))), None);
        assert_eq!(refusal(&row("incoming", 400, Some("{"))), None);
        assert_eq!(refusal(&row("incoming", 200, Some("{}"))), None);
        let outgoing = refusal(&row("outgoing", 500, Some("{}"))).unwrap();
        assert!(outgoing.contains("retry its delivery instead"), "{outgoing}");
        assert!(refusal(&row("incoming", 401, Some("{}"))).unwrap().contains("signature"));
        assert!(refusal(&row("incoming", 408, None)).unwrap().contains("408 Request Timeout"));
        assert!(refusal(&row("incoming", 413, None)).unwrap().contains("413 Payload Too Large"));
        assert!(refusal(&row("incoming", 400, None)).unwrap().contains("whole request body"));
        let mut cut = row("incoming", 400, Some("{"));
        cut.request_body_bytes = Some(5000);
        assert!(refusal(&cut).is_some());
    }

    #[test]
    fn the_kept_headers_are_sent_again_without_the_redacted_ones() {
        let original = row("incoming", 404, Some("{}"));
        let headers = logged_headers(&original, Some(&HeaderValue::from_static("new-id")));
        assert_eq!(headers.get("idempotency-key").unwrap(), "k-1");
        assert_eq!(headers.get("content-type").unwrap(), "application/json");
        assert_eq!(headers.get("content-length").unwrap(), "2");
        assert_eq!(headers.get("x-request-id").unwrap(), "new-id");
        assert!(headers.get("x-webhook-signature").is_none());
    }

    #[test]
    fn the_route_is_documented_with_the_admin_token_and_each_refusal() {
        let doc = serde_json::to_value(openapi()).unwrap();
        let post = &doc["paths"]["/logs/{log_id}/replay"]["post"];
        assert_eq!(post["security"], json!([{"admin_token": []}]));
        for status in ["200", "400", "401", "403", "404", "409"] {
            assert!(post["responses"][status].is_object(), "{status}");
        }
        assert!(post["responses"]["200"]["headers"]["X-Replay-Log-Id"].is_object());
        assert_eq!(post["responses"]["403"]["content"]["application/json"]["example"]["detail"], NEEDS_ADMIN_TOKEN);
    }
}
