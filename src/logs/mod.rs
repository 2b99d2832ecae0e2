//! `GET /logs` and `GET /logs/{id}`: the webhook log, newest first, behind the admin token.

mod openapi;
pub mod store;

pub use openapi::openapi;

use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use crate::domain::time;
use crate::http::error::AppError;
use crate::http::query::{self, Cursor};

/// The tag of `GET /logs` cursors.
const CURSOR_ORDER: &str = "log";
use crate::state::AppState;
use store::{Filter, LogOut};

pub const MAX_PAGE_SIZE: i64 = 100;
pub const DEFAULT_PAGE_SIZE: i64 = 20;
/// The query parameters of `GET /logs`, in the order the API document lists them.
pub(crate) const PARAMETERS: [&str; 10] = [
    "page",
    "page_size",
    "cursor",
    "direction",
    "is_successful",
    "event",
    "entity_type",
    "entity_id",
    "since",
    "until",
];

/// The values of `direction`.
const DIRECTIONS: [&str; 2] = ["incoming", "outgoing"];

pub fn router() -> Router<AppState> {
    Router::new().route("/logs", get(list)).route("/logs/{log_id}", get(one))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LogPage {
    pub items: Vec<LogOut>,
    /// Matching rows, counted exactly up to 10,000 (see `total_capped`).
    pub total: i64,
    pub page: i64,
    pub page_size: i64,
    pub total_pages: i64,
    /// True when more than 10,000 rows match: `total` and `total_pages` are then lower bounds,
    /// and later pages are still served.
    pub total_capped: bool,
    /// Pass as `cursor` for the next page (keyset: as fast at any depth); `null` on the last page.
    /// With a `cursor`, `page` is ignored.
    pub next_cursor: Option<String>,
}

/// A validated `GET /logs` query.
#[derive(Debug)]
pub struct ListQuery {
    pub page: i64,
    /// The id the page starts below (from `cursor`); `page` is then ignored.
    pub before: Option<i64>,
    pub page_size: i64,
    pub filter: Filter,
}

fn instant(name: &str, value: &str) -> Result<String, AppError> {
    time::parse_datetime(value).ok_or_else(|| {
        AppError::invalid_field(name, format!("{name} must be an RFC 3339 date-time such as 2024-01-20T14:00:00Z"))
    })
}

pub fn parse_query(raw: Option<&str>) -> Result<ListQuery, AppError> {
    let pairs = query::pairs(raw)?;
    let mut query = ListQuery { page: 1, before: None, page_size: DEFAULT_PAGE_SIZE, filter: Filter::default() };
    for (name, value) in pairs {
        let filter = &mut query.filter;
        match name.as_str() {
            "page" => query.page = query::whole("page", &value, 1, i64::from(i32::MAX))?,
            "page_size" => query.page_size = query::whole("page_size", &value, 1, MAX_PAGE_SIZE)?,
            "cursor" => query.before = Some(Cursor::decode(&value, CURSOR_ORDER, 1)?.id(0)?),
            "direction" => filter.direction = Some(query::one_of("direction", &value, &DIRECTIONS)?),
            "is_successful" => filter.is_successful = Some(query::flag("is_successful", &value)?),
            "event" => filter.event = Some(value),
            "entity_type" => filter.entity_type = Some(value),
            "entity_id" => filter.entity_id = Some(query::whole("entity_id", &value, 1, i64::MAX)?),
            "since" => filter.since = Some(instant("since", &value)?),
            "until" => filter.until = Some(instant("until", &value)?),
            other => return Err(query::unknown(other, &PARAMETERS)),
        }
    }
    Ok(query)
}

async fn list(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Result<Json<LogPage>, AppError> {
    let query = parse_query(raw.as_deref())?;
    let (items, more, total, total_capped) =
        store::list(state.db.pool(), &query.filter, query.page, query.page_size, query.before).await?;
    let total_pages = (total + query.page_size - 1) / query.page_size;
    let next_cursor =
        items.last().filter(|_| more).map(|last| Cursor::new(CURSOR_ORDER, vec![last.id.to_string()]).encode());
    Ok(Json(LogPage {
        items,
        total,
        page: query.page,
        page_size: query.page_size,
        total_pages,
        total_capped,
        next_cursor,
    }))
}

/// A `{log_id}` path segment: a positive whole number, else a 400 naming `log_id`.
pub fn log_id(raw: &str) -> Result<i64, AppError> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| AppError::invalid_field("log_id", "log_id must be a positive whole number"))
}

async fn one(State(state): State<AppState>, Path(raw): Path<String>) -> Result<Json<LogOut>, AppError> {
    Ok(Json(store::get(state.db.pool(), log_id(&raw)?).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_filters() {
        let q = parse_query(None).unwrap();
        assert_eq!((q.page, q.page_size), (1, 20));
        let q = parse_query(Some("page=2&page_size=100&direction=incoming&is_successful=false&entity_id=7")).unwrap();
        assert_eq!((q.page, q.page_size), (2, 100));
        assert_eq!(q.filter.is_successful, Some(false));
        assert_eq!(q.filter.entity_id, Some(7));
    }

    #[test]
    fn bad_values_are_400s_that_name_the_parameter() {
        for (query, field) in [
            ("page=0", "page"),
            ("page_size=101", "page_size"),
            ("page_size=x", "page_size"),
            ("direction=sideways", "direction"),
            ("is_successful=maybe", "is_successful"),
            ("since=yesterday", "since"),
            ("colour=red", "colour"),
        ] {
            let err = parse_query(Some(query)).unwrap_err();
            assert_eq!(err.body().field.as_deref(), Some(field), "{query}");
        }
    }

    #[test]
    fn every_listed_parameter_is_taken_and_only_those() {
        for name in PARAMETERS {
            if let Err(err) = parse_query(Some(&format!("{name}=x"))) {
                assert_eq!(err.body().field.as_deref(), Some(name));
                assert!(!err.body().detail.starts_with("Unknown"), "{name}: {:?}", err.body());
            }
        }
        let unknown = parse_query(Some("colour=red")).unwrap_err();
        assert_eq!(unknown.body().allowed, Some(PARAMETERS.map(String::from).to_vec()));
    }
}
