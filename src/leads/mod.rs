//! Leads: qualified prospects in the sales pipeline. Nine typed webhook routes.

pub mod payload;
pub mod store;

use axum::Router;

use crate::domain::EntityType;
use crate::pre_leads::routes_for;
use crate::state::AppState;
use crate::webhook::events::EventKind;

pub fn router() -> Router<AppState> {
    routes_for(|kind| kind == EventKind::NewLead || kind.target() == Some(EntityType::Lead))
}
