//! Incoming webhooks: the routes (the 16 typed ones, built from the event table, and the generic
//! `POST /incoming`), the envelope, signatures, idempotency, the parser of each event's `data`
//! (`command.rs`) and the pipeline every webhook call runs through (`pipeline.rs`). The resource
//! modules know nothing of this module: it calls their stores and reads the neutral event table
//! (`crate::events`). `replay.rs` runs a logged request again through these same routes.

pub mod command;
pub mod envelope;
pub mod idempotency;
mod openapi;
mod parse_error;
pub mod pipeline;
pub mod replay;
pub mod request;
pub mod signature;
pub mod unauthenticated;

pub use openapi::openapi;

use axum::extract::{Path, State};
use axum::routing::{post, MethodRouter};
use axum::Router;

use crate::events::{EventKind, EVENTS};
use crate::state::AppState;
use request::WebhookRequest;

/// The generic route: the envelope's `event` picks one of the 18 events; the target id comes
/// from `data.pre_lead_id` / `data.lead_id`. It answers exactly what the typed route answers.
pub const GENERIC_ROUTE: &str = "/incoming";

/// Every webhook route, relative to `/api/v1/webhooks`.
pub fn router() -> Router<AppState> {
    let generic = post(|State(state): State<AppState>, req: WebhookRequest| pipeline::handle(state, None, None, req));
    EVENTS
        .iter()
        .filter_map(|spec| spec.route.map(|route| (spec.kind, route)))
        .fold(Router::new().route(GENERIC_ROUTE, generic), |router, (kind, route)| {
            router.route(route, typed_route(kind))
        })
}

/// The handler of a typed route: the event is fixed by the route, the id comes from the path.
fn typed_route(kind: EventKind) -> MethodRouter<AppState> {
    if kind.target().is_some() {
        post(move |State(state): State<AppState>, Path(id): Path<String>, req: WebhookRequest| {
            pipeline::handle(state, Some(kind), Some(id), req)
        })
    } else {
        post(move |State(state): State<AppState>, req: WebhookRequest| pipeline::handle(state, Some(kind), None, req))
    }
}
