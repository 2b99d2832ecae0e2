//! `GET /api/v1/{pre-leads,leads,customers}/{id}/timeline`: one chronological list of what
//! happened to a record — status changes, contacts, memos, activities, its qualified profile,
//! orders, payments, the incoming webhook calls that named it and its outgoing deliveries — and
//! to the records it was converted from (a lead's pre-lead; a customer's lead and that lead's
//! pre-lead). Each item is `{at, kind, summary, ref: {type, id}}`; the list is paged by keyset
//! (`{items, next_cursor}`, oldest first or with `order=desc` newest first). It owns no table: it
//! reads those of the records, the log and the deliveries, behind the admin token.

mod store;
mod summary;

use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::json;

use crate::db::Fetch;
use crate::domain::EntityType;
use crate::http::error::{AppError, ErrorBody};
use crate::http::openapi::{cursor_schema, enum_schema, set_query_schemas};
use crate::http::query::{self, Cursor};
use crate::records::api::path_id;
use crate::records::{load, Customer, Lead, PreLead};
use crate::state::AppState;
pub use store::Kind;
use store::{Found, Position};

const PARAMETERS: &[&str] = &["limit", "cursor", "order"];
const ORDERS: &[&str] = &["asc", "desc"];

/// Routes under `/api/v1` (full paths).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/pre-leads/{id}/timeline", get(pre_lead_timeline))
        .route("/api/v1/leads/{id}/timeline", get(lead_timeline))
        .route("/api/v1/customers/{id}/timeline", get(customer_timeline))
}

/// What an item points at: `log` (`GET /api/v1/webhooks/logs/{id}`), `delivery`
/// (`GET /api/v1/webhooks/deliveries/{id}`), or the row of the record's detail it stands for
/// (`status_change`, `contact`, `memo`, `activity`, `profile`, `order`, `payment`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ItemRef {
    #[serde(rename = "type")]
    #[schema(example = "log")]
    pub kind: &'static str,
    pub id: i64,
}

/// One thing that happened to the record (or to a record it was converted from).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TimelineItem {
    /// When it happened in the CRM (RFC 3339 UTC): a webhook call when it was received, a change
    /// when it was stored, a delivery when it was queued, the profile's latest change when that was.
    #[schema(example = "2024-01-20T14:00:00.000000Z")]
    pub at: String,
    pub kind: Kind,
    /// One line of plain text; an item of a record this one was converted from starts with
    /// `On pre-lead 3:` (or `On lead 7:`).
    #[schema(example = "lead_status_update answered 200")]
    pub summary: String,
    #[serde(rename = "ref")]
    pub item_ref: ItemRef,
}

/// A page of a timeline.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TimelinePage {
    pub items: Vec<TimelineItem>,
    /// Pass as `cursor` for the next page; `null` on the last one.
    pub next_cursor: Option<String>,
}

struct TimelineQuery {
    limit: i64,
    newest_first: bool,
    after: Option<Position>,
}

fn cursor_order(newest_first: bool) -> &'static str {
    if newest_first {
        "timeline-desc"
    } else {
        "timeline"
    }
}

fn parse(raw: Option<&str>) -> Result<TimelineQuery, AppError> {
    let mut query = TimelineQuery { limit: query::DEFAULT_LIMIT, newest_first: false, after: None };
    let mut cursor = None;
    for (name, value) in query::pairs(raw)? {
        match name.as_str() {
            "limit" => query.limit = query::limit(&value)?,
            "cursor" => cursor = Some(value),
            "order" => query.newest_first = query::one_of("order", &value, ORDERS)? == "desc",
            other => return Err(query::unknown(other, PARAMETERS)),
        }
    }
    if let Some(value) = cursor {
        let cursor = Cursor::decode(&value, cursor_order(query.newest_first), 3)?;
        query.after = Some(Position { at: cursor.keys[0].clone(), ord: cursor.id(1)?, id: cursor.id(2)? });
    }
    Ok(query)
}

/// The record and the ones it was converted from, or `None` when it does not exist.
async fn chain(
    conn: &mut (impl Fetch + ?Sized),
    entity: EntityType,
    id: i64,
) -> Result<Option<Vec<(EntityType, i64)>>, AppError> {
    let links = match entity {
        EntityType::PreLead => load::<PreLead>(conn, id).await?.map(|_| vec![]),
        EntityType::Lead => load::<Lead>(conn, id).await?.map(|lead| vec![(EntityType::PreLead, lead.pre_lead_id)]),
        EntityType::Customer => load::<Customer>(conn, id)
            .await?
            .map(|customer| vec![(EntityType::Lead, customer.lead_id), (EntityType::PreLead, customer.pre_lead_id)]),
    };
    Ok(links.map(|links| {
        std::iter::once((entity, id))
            .chain(links.into_iter().filter_map(|(kind, id)| id.map(|id| (kind, id))))
            .collect()
    }))
}

fn ref_type(kind: Kind) -> &'static str {
    match kind {
        Kind::StatusChange => "status_change",
        Kind::Contact => "contact",
        Kind::Memo => "memo",
        Kind::Activity => "activity",
        Kind::Profile => "profile",
        Kind::Order => "order",
        Kind::Payment => "payment",
        Kind::Webhook => "log",
        Kind::Delivery => "delivery",
    }
}

fn not_found(entity: EntityType) -> AppError {
    AppError::NotFound(match entity {
        EntityType::PreLead => "Pre-lead not found",
        EntityType::Lead => "Lead not found",
        EntityType::Customer => "Customer not found",
    })
}

async fn timeline(
    state: &AppState,
    entity: EntityType,
    raw_id: &str,
    raw: Option<&str>,
) -> Result<TimelinePage, AppError> {
    let id = path_id(raw_id)?;
    let query = parse(raw)?;
    let conn = &mut state.db.reader();
    let chain = chain(conn, entity, id).await?.ok_or_else(|| not_found(entity))?;
    let mut found: Vec<Found> =
        store::page(conn, &chain, query.after.as_ref(), query.newest_first, query.limit + 1).await?;
    let more = found.len() as i64 > query.limit;
    found.truncate(query.limit as usize);
    let next_cursor = found.last().filter(|_| more).map(|last| {
        let Position { at, ord, id } = &last.position;
        Cursor::new(cursor_order(query.newest_first), vec![at.clone(), ord.to_string(), id.to_string()]).encode()
    });
    let items = found
        .iter()
        .map(|item| TimelineItem {
            at: item.position.at.clone(),
            kind: item.kind,
            summary: summary::write(item, entity),
            item_ref: ItemRef { kind: ref_type(item.kind), id: item.position.id },
        })
        .collect();
    Ok(TimelinePage { items, next_cursor })
}

const DESCRIPTION: &str = "Oldest first (`order=desc`: newest first), paged by `limit` and `cursor`. \
    Items: `status_change`, `contact`, `memo`, `activity`, `profile` (the qualified profile's creation and \
    its latest change), `order`, `payment`, `webhook` (an incoming webhook call whose log row names the \
    record, failed ones too; `ref` is the log row) and `delivery` (an outgoing delivery about the record; \
    `ref` is the delivery, whose attempts are its own log rows). A lead's timeline holds its pre-lead's \
    items too, and a customer's its lead's and that lead's pre-lead's: links are followed back to where \
    the record came from, never forward.";

fn example() -> serde_json::Value {
    json!({"items": [
        {"at": "2024-01-20T13:59:00.120000Z", "kind": "webhook", "summary": "On pre-lead 3: new_inquiry answered 200", "ref": {"type": "log", "id": 40}},
        {"at": "2024-01-20T13:59:00.130000Z", "kind": "status_change", "summary": "On pre-lead 3: Status new (new_inquiry): Created", "ref": {"type": "status_change", "id": 51}},
        {"at": "2024-01-20T14:00:00.020000Z", "kind": "webhook", "summary": "lead_update answered 404: Lead not found", "ref": {"type": "log", "id": 41}},
        {"at": "2024-01-20T14:05:00.000000Z", "kind": "memo", "summary": "Memo (call): Discussed pricing", "ref": {"type": "memo", "id": 12}},
        {"at": "2024-01-20T14:05:00.010000Z", "kind": "delivery", "summary": "lead.memo_added to subscription 2: delivered after 1 attempt", "ref": {"type": "delivery", "id": 90}}
    ], "next_cursor": "dGltZWxpbmUKMjAyNC0wMS0yMFQxNDowNTowMC4wMTAwMDBaCjkKOTA"})
}

macro_rules! timeline_route {
    ($name:ident, $path:literal, $entity:expr, $label:literal, $missing:literal) => {
        #[utoipa::path(get, path = $path, tag = "records",
            summary = concat!("A ", $label, "'s timeline"),
            description = DESCRIPTION,
            params(
                ("id" = i64, Path, minimum = 1),
                ("limit" = Option<i64>, Query, description = "1 to 200, default 50", minimum = 1, maximum = 200),
                ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page (with the same `order`)"),
                ("order" = Option<String>, Query, description = "`asc` (default, oldest first) or `desc` (newest first)"),
            ),
            responses(
                (status = 200, description = "A page of the timeline", body = TimelinePage, example = json!(example())),
                (status = 400, description = "The id or a parameter is not accepted", body = ErrorBody,
                    example = json!({"detail": "order must be one of: asc, desc", "field": "order", "allowed": ["asc", "desc"]})),
                (status = 401, description = "Missing or invalid admin token", body = ErrorBody),
                (status = 404, description = concat!("No such ", $label), body = ErrorBody, example = json!({"detail": $missing})),
            ),
            security(("admin_token" = [])))]
        async fn $name(
            State(state): State<AppState>,
            Path(raw): Path<String>,
            RawQuery(query): RawQuery,
        ) -> Result<Json<TimelinePage>, AppError> {
            Ok(Json(timeline(&state, $entity, &raw, query.as_deref()).await?))
        }
    };
}

timeline_route!(
    pre_lead_timeline,
    "/api/v1/pre-leads/{id}/timeline",
    EntityType::PreLead,
    "pre-lead",
    "Pre-lead not found"
);
timeline_route!(lead_timeline, "/api/v1/leads/{id}/timeline", EntityType::Lead, "lead", "Lead not found");
timeline_route!(
    customer_timeline,
    "/api/v1/customers/{id}/timeline",
    EntityType::Customer,
    "customer",
    "Customer not found"
);

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(pre_lead_timeline, lead_timeline, customer_timeline),
    components(schemas(ErrorBody, TimelinePage, TimelineItem, ItemRef, Kind))
)]
struct ApiDoc;

/// This module's part of the OpenAPI document (its routes are under the `records` tag).
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = <ApiDoc as utoipa::OpenApi>::openapi();
    set_query_schemas(&mut doc, |_, name| match name {
        "cursor" => Some(cursor_schema()),
        "order" => Some(enum_schema(ORDERS)),
        _ => None,
    });
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_checked_and_a_cursor_belongs_to_its_order() {
        let query = parse(Some("limit=5&order=desc")).unwrap();
        assert_eq!((query.limit, query.newest_first), (5, true));
        let cursor =
            Cursor::new("timeline", vec!["2024-01-20T14:00:00.000000Z".into(), "3".into(), "9".into()]).encode();
        let query = parse(Some(&format!("cursor={cursor}"))).unwrap();
        assert_eq!(query.after, Some(Position { at: "2024-01-20T14:00:00.000000Z".into(), ord: 3, id: 9 }));
        for (bad, field) in [
            ("limit=0", "limit"),
            ("order=up", "order"),
            ("colour=red", "colour"),
            ("cursor=abc", "cursor"),
            (&format!("order=desc&cursor={cursor}") as &str, "cursor"),
        ] {
            let err = parse(Some(bad)).err().expect(bad);
            assert_eq!(err.body().field.as_deref(), Some(field), "{bad}");
        }
    }

    #[test]
    fn every_route_is_documented_with_the_admin_token_examples_and_its_404() {
        let doc = serde_json::to_value(openapi()).unwrap();
        let paths = doc["paths"].as_object().unwrap();
        assert_eq!(paths.len(), 3);
        for (path, item) in paths {
            let get = &item["get"];
            assert_eq!(get["security"], json!([{"admin_token": []}]), "{path}");
            assert!(get["responses"]["200"]["content"]["application/json"]["example"]["items"].is_array(), "{path}");
            assert!(get["responses"]["404"]["content"]["application/json"]["example"]["detail"].is_string(), "{path}");
        }
        let kinds = &doc["components"]["schemas"]["TimelineKind"]["enum"];
        assert_eq!(kinds.as_array().map(Vec::len), Some(9), "{kinds}");
    }
}
