//! Subscription admin routes of design §7: create (with a `whsec_` secret, generated when absent),
//! list, read, change, delete (cancelling pending deliveries), read and rotate the secret (the old
//! one keeps signing for 24 hours), send a `ping` now, and requeue dead deliveries (`recover`).
//! Input is checked field by field; a refusal is a 400 naming the field.

pub mod input;
pub mod store;

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use serde::Serialize;

use super::deliveries;
use super::{outbox, page, signer};
use crate::domain::time;
use crate::http::error::AppError;
use crate::state::AppState;
use store::SubscriptionOut;

/// A rotated-out secret keeps signing this long.
pub const OLD_SECRET_HOURS: i64 = 24;
/// The test route waits this long at most for the ping's first attempt.
pub const TEST_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/subscriptions", get(list).post(create))
        .route("/subscriptions/{subscription_id}", get(one).patch(change).delete(remove))
        .route("/subscriptions/{subscription_id}/secret", get(secret))
        .route("/subscriptions/{subscription_id}/rotate-secret", post(rotate))
        .route("/subscriptions/{subscription_id}/test", post(test))
        .route("/subscriptions/{subscription_id}/recover", post(recover))
}

/// A subscription as created: with its secret, shown here and on the secret routes only.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedSubscription {
    #[serde(flatten)]
    pub subscription: SubscriptionOut,
    /// `whsec_…`: verify deliveries with it.
    pub secret: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SubscriptionPage {
    pub items: Vec<SubscriptionOut>,
    /// Pass as `cursor` for the next page; `null` on the last one.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SecretOut {
    pub secret: String,
    /// The secret before the last rotation, while it still signs.
    pub previous_secret: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Requeued {
    pub requeued: u64,
}

pub fn subscription_id(raw: &str) -> Result<i64, AppError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| AppError::invalid_field("subscription_id", "subscription_id must be a positive whole number"))
}

const NOT_FOUND: AppError = AppError::NotFound("Subscription not found");

async fn fetch(state: &AppState, id: i64) -> Result<SubscriptionOut, AppError> {
    store::get(state.db.pool(), id).await?.ok_or(NOT_FOUND)
}

async fn create(State(state): State<AppState>, body: Bytes) -> Result<Response, AppError> {
    let new = input::new_subscription(&body, state.outgoing.config().allow_private)?;
    let secret = new.secret.clone();
    let id =
        state.db.write(move |conn| Box::pin(async move { Ok(store::insert(conn, &new, &time::now()).await?) })).await?;
    state.outgoing.subscriptions_changed();
    let subscription = fetch(&state, id).await?;
    Ok((StatusCode::CREATED, Json(CreatedSubscription { subscription, secret })).into_response())
}

async fn list(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Result<Json<SubscriptionPage>, AppError> {
    let query = page::parse(raw.as_deref(), &[])?;
    let mut items = store::list(state.db.pool(), query.cursor, query.limit + 1).await?;
    let next_cursor = page::next_cursor(&mut items, query.limit, |s| s.id);
    Ok(Json(SubscriptionPage { items, next_cursor }))
}

async fn one(State(state): State<AppState>, Path(raw): Path<String>) -> Result<Json<SubscriptionOut>, AppError> {
    Ok(Json(fetch(&state, subscription_id(&raw)?).await?))
}

async fn change(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    body: Bytes,
) -> Result<Json<SubscriptionOut>, AppError> {
    let id = subscription_id(&raw)?;
    let patch = input::patch(&body, state.outgoing.config().allow_private)?;
    let found = state
        .db
        .write(move |conn| Box::pin(async move { Ok(store::update(conn, id, &patch, &time::now()).await?) }))
        .await?;
    if !found {
        return Err(NOT_FOUND);
    }
    state.outgoing.subscriptions_changed();
    Ok(Json(fetch(&state, id).await?))
}

async fn remove(State(state): State<AppState>, Path(raw): Path<String>) -> Result<StatusCode, AppError> {
    let id = subscription_id(&raw)?;
    let found = state.db.write(move |conn| Box::pin(async move { Ok(store::delete(conn, id).await?) })).await?;
    if found {
        state.outgoing.subscriptions_changed();
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(NOT_FOUND)
    }
}

async fn secret(State(state): State<AppState>, Path(raw): Path<String>) -> Result<Json<SecretOut>, AppError> {
    let id = subscription_id(&raw)?;
    let (secret, previous_secret) = store::secrets(state.db.pool(), id, &time::now()).await?.ok_or(NOT_FOUND)?;
    Ok(Json(SecretOut { secret, previous_secret }))
}

/// `{secret?}`: the new secret (generated when absent) signs from now on, beside the old one for
/// 24 hours.
async fn rotate(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    body: Bytes,
) -> Result<Json<SecretOut>, AppError> {
    let id = subscription_id(&raw)?;
    let secret = input::rotation(&body)?.unwrap_or_else(signer::generate_secret);
    let now = chrono::Utc::now();
    let old_until = time::format(now + chrono::Duration::hours(OLD_SECRET_HOURS));
    let new_secret = secret.clone();
    let found = state
        .db
        .write(move |conn| {
            Box::pin(async move { Ok(store::rotate(conn, id, &new_secret, &old_until, &time::format(now)).await?) })
        })
        .await?;
    if !found {
        return Err(NOT_FOUND);
    }
    let (secret, previous_secret) = store::secrets(state.db.pool(), id, &time::now()).await?.ok_or(NOT_FOUND)?;
    Ok(Json(SecretOut { secret, previous_secret }))
}

/// Sends a `ping` at once and answers with its delivery: 200 once its first attempt is recorded
/// (the receiver's answer or the error in it), or 202 with the delivery still `pending` and no
/// attempt when that takes longer than [`TEST_WAIT`] (a hanging receiver); the attempt goes on,
/// and `GET /deliveries/{id}` (the `Location`) shows it when it ends.
async fn test(State(state): State<AppState>, Path(raw): Path<String>) -> Result<Response, AppError> {
    let id = subscription_id(&raw)?;
    fetch(&state, id).await?;
    let first_delay = state.outgoing.config().retry_schedule.first().copied().unwrap_or_default();
    let delivery_id = state
        .db
        .write(move |conn| Box::pin(async move { Ok(outbox::insert_ping(conn, id, first_delay).await?) }))
        .await?;
    let deadline = tokio::time::Instant::now() + TEST_WAIT;
    let _ = tokio::time::timeout_at(deadline, state.outgoing.send_now(&state.db, delivery_id)).await;
    // The worker may have claimed it first: then its attempt is awaited here, as long.
    loop {
        let detail = deliveries::detail(state.db.pool(), delivery_id).await?.ok_or(NOT_FOUND)?;
        if detail.delivery.attempts > 0 {
            return Ok(Json(detail).into_response());
        }
        if tokio::time::Instant::now() >= deadline {
            let location = format!("{}/deliveries/{delivery_id}", crate::http::API_BASE);
            return Ok((StatusCode::ACCEPTED, [(header::LOCATION, location)], Json(detail)).into_response());
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

/// `{since}`: every dead delivery of the subscription created since then is tried again.
async fn recover(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    body: Bytes,
) -> Result<Json<Requeued>, AppError> {
    let id = subscription_id(&raw)?;
    let since = input::since(&body)?;
    fetch(&state, id).await?;
    let requeued = state
        .db
        .write(move |conn| Box::pin(async move { Ok(deliveries::store::recover(conn, id, &since).await?) }))
        .await?;
    state.outgoing.wake();
    Ok(Json(Requeued { requeued }))
}
