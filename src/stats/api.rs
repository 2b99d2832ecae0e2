//! The routes `GET /api/v1/stats/pipeline` and `GET /api/v1/stats/traffic` (bare JSON, behind
//! the admin token) and their OpenAPI part.

use axum::extract::{RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use super::pipeline::{self, Pipeline};
use super::traffic::{self, Traffic};
use crate::http::error::{AppError, ErrorBody};
use crate::http::openapi::{enum_schema, instant_schema, set_query_schemas};
use crate::state::AppState;

/// Routes under `/api/v1` (full paths).
pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/stats/pipeline", get(pipeline)).route("/api/v1/stats/traffic", get(traffic))
}

#[utoipa::path(get, path = "/api/v1/stats/pipeline", tag = "stats",
    summary = "The funnel: pre-leads, leads and customers",
    description = "Counts by status, the open and won expected value of leads, customers' revenue and outstanding \
        amounts, and conversion rates as fractions from 0 to 1 (rounded to four places; 0 when there is nothing to \
        divide): `pre_lead_to_lead` = pre-leads converted to a lead ÷ all pre-leads; `lead_to_customer` = leads \
        converted to a customer ÷ all leads; `pre_lead_to_customer` = pre-leads whose lead became a customer ÷ all \
        pre-leads. Discarded records count in every total and denominator and keep their status; `open_value` and \
        `won_value` leave them out. Money is a string with two decimals. Read from counts kept up with every change, exact at once.",
    responses(
        (status = 200, description = "The pipeline", body = Pipeline, example = json!(pipeline_example())),
        (status = 400, description = "This route takes no parameters", body = ErrorBody,
            example = json!({"detail": "Unknown query parameter \"since\"", "field": "since", "allowed": []})),
        (status = 401, description = "Missing or invalid admin token", body = ErrorBody,
            example = json!({"detail": "Missing or invalid admin token"})),
    ),
    security(("admin_token" = [])))]
async fn pipeline(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Result<Json<Pipeline>, AppError> {
    if let Some((name, _)) = crate::http::query::pairs(raw.as_deref())?.into_iter().next() {
        return Err(crate::http::query::unknown(&name, &[]));
    }
    Ok(Json(pipeline::pipeline(&mut state.db.reader()).await?))
}

#[utoipa::path(get, path = "/api/v1/stats/traffic", tag = "stats",
    summary = "Webhook traffic per minute, hour or day",
    description = "Read from per-minute rollups of the webhook log, brought up to date before answering (a \
        webhook answered before this call is counted). Every bucket that starts in [`since`, `until`) is answered, \
        empty ones too, at most 1,440 per call; each counts its whole span. A request failed unless its status \
        is 2xx; status `0` is an outgoing attempt that got no answer (timeout, refused connection). `p50_ms` and \
        `p99_ms` are approximate: the upper bound of the 1-2-5 millisecond bucket (1, 2, 5, 10, 20, 50 …) that \
        holds the percentile, so the true value lies between the bound below and the one answered. `direction` \
        narrows buckets, totals, `by_event` and `by_source` to incoming calls or outgoing delivery attempts; \
        without it both count. `deliveries` counts the outgoing deliveries created in the range by status, and \
        `queue_depth` those pending now.",
    params(
        ("since" = Option<String>, Query, description = "RFC 3339 or YYYY-MM-DD; default: an hour before `until`"),
        ("until" = Option<String>, Query, description = "RFC 3339 or YYYY-MM-DD, exclusive; default: now"),
        ("bucket" = Option<String>, Query, description = "`minute` (default), `hour` or `day` (UTC)"),
        ("direction" = Option<String>, Query, description = "`incoming` or `outgoing`; default: both"),
    ),
    responses(
        (status = 200, description = "Traffic in the range", body = Traffic, example = json!(traffic_example())),
        (status = 400, description = "A parameter is unknown or its value is not accepted", body = ErrorBody,
            example = json!({"detail": "since to until spans 2880 minute buckets; at most 1440 are answered per call \
                (narrow the range or take a longer bucket)", "field": "since"})),
        (status = 401, description = "Missing or invalid admin token", body = ErrorBody,
            example = json!({"detail": "Missing or invalid admin token"})),
    ),
    security(("admin_token" = [])))]
async fn traffic(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Result<Json<Traffic>, AppError> {
    let query = traffic::parse(raw.as_deref(), chrono::Utc::now())?;
    let folded = super::catch_up(&state.db, super::ON_DEMAND_BATCHES).await?;
    state.metrics.counter(super::FOLDED_ROWS, &[]).increment(folded);
    Ok(Json(traffic::traffic(&mut state.db.reader(), &query).await?))
}

fn pipeline_example() -> serde_json::Value {
    json!({
        "pre_leads": {"total": 120, "by_status": {"closed_not_converted": 10, "contacted": 20, "converted": 30,
            "new": 40, "on_hold": 5, "qualified": 10, "working": 5}, "discarded": 8, "converted": 30},
        "leads": {"total": 60, "by_status": {"contacted": 10, "lost": 6, "negotiation": 4, "new": 20,
            "proposal_sent": 5, "qualified": 3, "won": 12}, "discarded": 6, "converted": 12,
            "open_value": "420000.00", "won_value": "185000.00"},
        "customers": {"total": 12, "revenue": "96000.50", "outstanding": "12000.00"},
        "conversion": {"pre_lead_to_lead": 0.25, "lead_to_customer": 0.2, "pre_lead_to_customer": 0.0667}
    })
}

fn traffic_example() -> serde_json::Value {
    let bucket = |start: &str, requests: i64, failed: i64, by_status: serde_json::Value, p50: i64, p99: i64| {
        json!({"start": start, "requests": requests, "failed": failed, "by_status": by_status,
               "p50_ms": p50, "p99_ms": p99})
    };
    json!({
        "since": "2024-01-20T14:00:00.000000Z", "until": "2024-01-20T14:02:00.000000Z",
        "bucket": "minute", "direction": null,
        "buckets": [
            bucket("2024-01-20T14:00:00.000000Z", 42, 2, json!({"200": 40, "404": 2}), 5, 20),
            json!({"start": "2024-01-20T14:01:00.000000Z", "requests": 0, "failed": 0, "by_status": {},
                   "p50_ms": null, "p99_ms": null}),
        ],
        "totals": bucket("2024-01-20T14:00:00.000000Z", 42, 2, json!({"200": 40, "404": 2}), 5, 20),
        "by_event": [{"name": "new_lead", "requests": 30, "failed": 0},
                     {"name": "lead_status_update", "requests": 12, "failed": 2}],
        "by_source": [{"name": "website", "requests": 42, "failed": 2}],
        "deliveries": {"pending": 1, "delivered": 28, "dead": 0, "cancelled": 0},
        "queue_depth": 1
    })
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(pipeline, traffic),
    components(schemas(ErrorBody, Pipeline, Traffic)),
    tags((name = "stats", description = "The pipeline and the webhook traffic, for dashboards; behind the admin token."))
)]
struct ApiDoc;

/// This module's part of the OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = <ApiDoc as utoipa::OpenApi>::openapi();
    set_query_schemas(&mut doc, |_, name| match name {
        "since" | "until" => Some(instant_schema()),
        "bucket" => Some(enum_schema(&traffic::BUCKETS)),
        "direction" => Some(enum_schema(&traffic::DIRECTIONS)),
        _ => None,
    });
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_routes_are_documented_with_the_admin_token_and_examples() {
        let doc = serde_json::to_value(openapi()).unwrap();
        let paths = doc["paths"].as_object().unwrap();
        assert_eq!(paths.keys().collect::<Vec<_>>(), vec!["/api/v1/stats/pipeline", "/api/v1/stats/traffic"]);
        for (path, item) in paths {
            let get = &item["get"];
            assert_eq!(get["security"], json!([{"admin_token": []}]), "{path}");
            for status in ["200", "400", "401"] {
                let example = &get["responses"][status]["content"]["application/json"]["example"];
                assert!(example.is_object(), "{path} {status}");
            }
        }
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        for name in ["Pipeline", "Traffic", "TrafficBucket", "NamedCount", "DeliveryCounts", "Conversion"] {
            assert!(schemas.contains_key(name), "{name}");
        }
    }
}
