//! Incoming webhooks: the event table, the envelope, signatures, idempotency, and the pipeline
//! every webhook route runs through (see `pipeline.rs`).

pub mod command;
pub mod envelope;
pub mod events;
pub mod idempotency;
mod parse_error;
pub mod pipeline;
pub mod request;
pub mod signature;
pub mod unauthenticated;

use axum::extract::{Path, State};
use axum::routing::{post, MethodRouter};

use crate::state::AppState;
use events::EventKind;
use request::WebhookRequest;

/// What the stores need to know about the event being applied.
#[derive(Debug, Clone)]
pub struct EventContext {
    pub kind: EventKind,
    pub event: &'static str,
    /// The envelope's `source`: the sending system.
    pub received_from: Option<String>,
    /// `data` as received, kept on the record for keys the schema does not model.
    pub raw_payload: String,
}

/// The handler of a typed route: the event is fixed by the route, the id comes from the path.
pub fn typed_route(kind: EventKind) -> MethodRouter<AppState> {
    if kind.target().is_some() {
        post(move |State(state): State<AppState>, Path(id): Path<String>, req: WebhookRequest| {
            pipeline::handle(state, Some(kind), Some(id), req)
        })
    } else {
        post(move |State(state): State<AppState>, req: WebhookRequest| pipeline::handle(state, Some(kind), None, req))
    }
}
