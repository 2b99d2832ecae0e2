//! The generic route `POST /incoming`: the envelope's `event` picks one of the 18 events; the
//! target id comes from `data.pre_lead_id` / `data.lead_id`. It answers exactly what the typed
//! route answers.

use axum::extract::State;
use axum::routing::post;
use axum::Router;

use crate::state::AppState;
use crate::webhook::pipeline;
use crate::webhook::request::WebhookRequest;

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/incoming",
        post(|State(state): State<AppState>, req: WebhookRequest| pipeline::handle(state, None, None, req)),
    )
}
