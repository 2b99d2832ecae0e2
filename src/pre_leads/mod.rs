//! Pre-leads: inquiries not yet qualified. Seven typed webhook routes.

pub mod payload;
pub mod store;

use axum::Router;

use crate::domain::EntityType;
use crate::state::AppState;
use crate::webhook::events::EventKind;
use crate::webhook::typed_route;

pub fn router() -> Router<AppState> {
    routes_for(|kind| kind == EventKind::NewInquiry || kind.target() == Some(EntityType::PreLead))
}

/// The typed routes of the events `belongs` selects.
pub(crate) fn routes_for(belongs: impl Fn(EventKind) -> bool) -> Router<AppState> {
    EventKind::ALL
        .into_iter()
        .filter(|kind| belongs(*kind))
        .filter_map(|kind| kind.path().map(|path| (kind, path)))
        .fold(Router::new(), |router, (kind, path)| router.route(path, typed_route(kind)))
}
