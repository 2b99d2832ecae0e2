//! Delivery admin routes of design §7: list deliveries (filters `subscription_id`, `status`,
//! `event`, `entity_type`, `entity_id`), read one with its payload and every attempt, and retry
//! one now (dead ones too).

pub mod store;

use axum::extract::{Path, RawQuery, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use sqlx::AnyPool;

use super::page;
use crate::domain::time;
use crate::http::error::AppError;
use crate::state::AppState;
use store::{AttemptOut, DeliveryOut, Filter, Retry};

pub const STATUSES: [&str; 4] = ["pending", "delivered", "dead", "cancelled"];
const FILTERS: [&str; 5] = ["subscription_id", "status", "event", "entity_type", "entity_id"];
const NOT_FOUND: AppError = AppError::NotFound("Delivery not found");

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/deliveries", get(list))
        .route("/deliveries/{delivery_id}", get(one))
        .route("/deliveries/{delivery_id}/retry", post(retry))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryPage {
    pub items: Vec<DeliveryOut>,
    /// Pass as `cursor` for the next page; `null` on the last one.
    pub next_cursor: Option<String>,
}

/// One delivery with the exact body sent and its attempts.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryDetail {
    #[serde(flatten)]
    pub delivery: DeliveryOut,
    /// The body sent on every attempt: `{type, timestamp, data}`.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    /// Every attempt, first one first.
    pub attempt_history: Vec<AttemptOut>,
}

pub async fn detail(pool: &AnyPool, id: i64) -> Result<Option<DeliveryDetail>, AppError> {
    let Some((delivery, payload, attempt_history)) = store::get(pool, id).await? else { return Ok(None) };
    let payload = serde_json::from_str(&payload).map_err(AppError::internal)?;
    Ok(Some(DeliveryDetail { delivery, payload, attempt_history }))
}

fn positive(name: &str, value: &str) -> Result<i64, AppError> {
    value
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| AppError::invalid_field(name, format!("{name} must be a positive whole number")))
}

fn filter(pairs: Vec<(String, String)>) -> Result<Filter, AppError> {
    let mut filter = Filter::default();
    for (name, value) in pairs {
        match name.as_str() {
            "subscription_id" => filter.subscription_id = Some(positive("subscription_id", &value)?),
            "entity_id" => filter.entity_id = Some(positive("entity_id", &value)?),
            "status" if STATUSES.contains(&value.as_str()) => filter.status = Some(value),
            "status" => {
                return Err(AppError::BadRequest {
                    detail: format!("status must be one of: {}", STATUSES.join(", ")),
                    field: Some("status".into()),
                    allowed: Some(STATUSES.iter().map(|s| s.to_string()).collect()),
                })
            }
            "entity_type" => filter.entity_type = Some(value),
            _ => filter.event = Some(value),
        }
    }
    Ok(filter)
}

async fn list(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Result<Json<DeliveryPage>, AppError> {
    let query = page::parse(raw.as_deref(), &FILTERS)?;
    let filter = filter(query.filters)?;
    let mut items = store::list(state.db.pool(), &filter, query.cursor, query.limit + 1).await?;
    let next_cursor = page::next_cursor(&mut items, query.limit, |d| d.id);
    Ok(Json(DeliveryPage { items, next_cursor }))
}

async fn one(State(state): State<AppState>, Path(raw): Path<String>) -> Result<Json<DeliveryDetail>, AppError> {
    let id = positive("delivery_id", &raw)?;
    Ok(Json(detail(state.db.pool(), id).await?.ok_or(NOT_FOUND)?))
}

async fn retry(State(state): State<AppState>, Path(raw): Path<String>) -> Result<Json<DeliveryOut>, AppError> {
    let id = positive("delivery_id", &raw)?;
    let outcome =
        state.db.write(move |conn| Box::pin(async move { Ok(store::retry(conn, id, &time::now()).await?) })).await?;
    match outcome {
        Retry::NotFound => return Err(NOT_FOUND),
        Retry::Cancelled => {
            return Err(AppError::Conflict("Delivery was cancelled with its subscription".into()));
        }
        Retry::Queued => {}
    }
    state.outgoing.wake();
    Ok(Json(detail(state.db.pool(), id).await?.ok_or(NOT_FOUND)?.delivery))
}
