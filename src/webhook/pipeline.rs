//! The path of every webhook call: read → verify signature → check content type → parse the
//! envelope → resolve the event and its target id → parse `data` → apply in a transaction
//! (claiming the idempotency key first) → answer. Every call is logged: a success in the same
//! transaction as its change, a failure in a row of its own after the change was rolled back.
//! A replay (`POST /logs/{id}/replay`) runs the same path: its signature check is skipped (the
//! admin token stood in), its row names the replayed one, and its answer names its row.

use std::time::Instant;

use crate::db::WriteConn;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{json, Value};

use super::command::{self, Command, Parse};
use super::envelope;
use super::idempotency::{self, IdempotencyKey};
use super::request::WebhookRequest;
use super::unauthenticated;
use crate::domain::scalars::{shown, WholeNumber};
use crate::domain::{time, EntityType, EventContext, LeadId, PreLeadId, StoreError};
use crate::events::EventKind;
use crate::http::error::AppError;
use crate::logs::store::{self as log_store, NewLog};
use crate::outgoing;
use crate::state::AppState;

/// Longest event name copied from a rejected request into its log row.
const MAX_LOGGED_EVENT: usize = 100;

/// Request headers kept in the log. Signatures and credentials are recorded as present only.
const LOGGED_HEADERS: [&str; 10] = [
    "content-type",
    "content-length",
    "user-agent",
    "x-request-id",
    "x-forwarded-for",
    "idempotency-key",
    "x-webhook-id",
    "webhook-id",
    "webhook-timestamp",
    "x-real-ip",
];
/// The header of a replay's answer that names its new log row.
pub const REPLAY_LOG_ID: &str = "x-replay-log-id";
const REDACTED_HEADERS: [&str; 4] = ["x-webhook-signature", "webhook-signature", "authorization", "cookie"];

#[derive(Clone)]
struct Prepared {
    command: Command,
    ctx: EventContext,
    idempotency: Option<IdempotencyKey>,
}

/// What goes back to the client.
struct Answer {
    status: StatusCode,
    body: String,
    replayed: bool,
    /// An outgoing event was committed with the change (the delivery worker is woken).
    queued_event: bool,
    /// A replay's own log row, answered in `X-Replay-Log-Id`.
    replay_log_id: Option<i64>,
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        let mut response = (self.status, self.body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if self.replayed {
            headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
        }
        if let Some(id) = self.replay_log_id {
            headers.insert(REPLAY_LOG_ID, HeaderValue::from(id));
        }
        response
    }
}

pub async fn handle(
    state: AppState,
    expected: Option<EventKind>,
    path_id: Option<String>,
    req: WebhookRequest,
) -> Response {
    let started = Instant::now();
    let WebhookRequest { method, path, headers, remote_addr, request_id, body, replay } = req;
    let raw = body.as_ref().ok().cloned();
    let mut log = NewLog {
        direction: "incoming",
        method: method.to_string(),
        path: path.clone(),
        remote_addr,
        request_headers: logged_headers(&headers),
        request_body: body.as_ref().ok().map(|bytes| storable_text(bytes)),
        request_id,
        created_at: time::now(),
        replay_of: replay.map(|replay| replay.of),
        ..NewLog::default()
    };
    match prepare(&state, expected, path_id.as_deref(), &path, &headers, body, &mut log) {
        Ok(prepared) => apply(&state, prepared, log, started).await,
        Err(err) => reject(&state, err, log, raw, started).await,
    }
}

fn prepare(
    state: &AppState,
    expected: Option<EventKind>,
    path_id: Option<&str>,
    path: &str,
    headers: &HeaderMap,
    body: Result<Bytes, AppError>,
    log: &mut NewLog,
) -> Result<Prepared, AppError> {
    let body = body?;
    if log.replay_of.is_none() {
        state.verifier.verify(headers, &body, chrono::Utc::now().timestamp())?;
    }
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    if !envelope::is_json_content_type(content_type) {
        return Err(AppError::UnsupportedMediaType);
    }
    let envelope = envelope::parse(&body)?;
    log.source = envelope.source.clone();
    log.event = envelope.event.as_deref().map(|e| e.chars().take(MAX_LOGGED_EVENT).collect());
    let kind = resolve_event(expected, envelope.event.as_deref())?;
    log.event = Some(kind.name().to_string());
    let data = match envelope.data {
        Some(Value::Object(map)) => Value::Object(map),
        Some(_) => return Err(AppError::invalid_field("data", "data must be a JSON object")),
        None => return Err(AppError::invalid_field("data", "data is required")),
    };
    // The parser's shape says which record's id the event needs; it is resolved (and logged)
    // before the idempotency key and `data` are looked at.
    let mut target = |entity: EntityType| -> Result<i64, AppError> {
        let id = match path_id {
            Some(raw) => id_from_path(entity, raw)?,
            None => id_from_data(kind, entity, &data)?,
        };
        log.entity_type = Some(entity.as_str());
        log.entity_id = Some(id);
        Ok(id)
    };
    type Parser = Box<dyn FnOnce(Value) -> Result<Command, AppError>>;
    let parse: Parser = match command::binding(kind).parse {
        Parse::Untargeted(parse) => Box::new(parse),
        Parse::PreLead(parse) => {
            let id = PreLeadId(target(EntityType::PreLead)?);
            Box::new(move |data| parse(id, data))
        }
        Parse::Lead(parse) => {
            let id = LeadId(target(EntityType::Lead)?);
            Box::new(move |data| parse(id, data))
        }
    };
    let idempotency = idempotency::from_headers(headers, path, &body)?;
    log.idempotency_key = idempotency.as_ref().map(|k| k.key.clone());
    let ctx = EventContext { event: kind.name(), received_from: envelope.source, raw_payload: data.to_string() };
    let command = parse(data)?;
    Ok(Prepared { command, ctx, idempotency })
}

fn resolve_event(expected: Option<EventKind>, sent: Option<&str>) -> Result<EventKind, AppError> {
    match (expected, sent) {
        (Some(kind), None) => Ok(kind),
        (Some(kind), Some(name)) if name == kind.name() => Ok(kind),
        (Some(kind), Some(name)) => Err(AppError::invalid_field(
            "event",
            format!("event {name:?} does not match this endpoint, which takes {:?}", kind.name()),
        )),
        (None, None) => Err(AppError::invalid_field("event", "event is required")),
        (None, Some(name)) => EventKind::parse(name).ok_or_else(|| AppError::BadRequest {
            detail: format!("Unknown event {name:?}"),
            field: Some("event".into()),
            allowed: Some(EventKind::ALL.iter().map(|k| k.name().to_string()).collect()),
        }),
    }
}

fn positive_id(text: &str) -> Option<i64> {
    text.trim().parse::<i64>().ok().filter(|id| *id > 0)
}

fn id_from_path(entity: EntityType, raw: &str) -> Result<i64, AppError> {
    let field = entity.id_field();
    positive_id(raw).ok_or_else(|| AppError::invalid_field(field, format!("{field} must be a positive whole number")))
}

/// The generic route takes the target id from `data`, as a [`WholeNumber`] takes it (`7`, `7.0`, `"7"`).
fn id_from_data(kind: EventKind, entity: EntityType, data: &Value) -> Result<i64, AppError> {
    let field = entity.id_field();
    let missing = || AppError::invalid_field(field, format!("{field} is required in data for {}", kind.name()));
    let id = match data.get(field) {
        None | Some(Value::Null) => return Err(missing()),
        Some(Value::String(blank)) if blank.trim().is_empty() => return Err(missing()),
        Some(value) => WholeNumber::from_json(value).ok().map(WholeNumber::get).filter(|id| *id > 0).ok_or(value),
    };
    id.map_err(|value| {
        AppError::invalid_field(field, format!("{field} must be a positive whole number (got {})", shown(value)))
    })
}

async fn apply(state: &AppState, prepared: Prepared, log: NewLog, started: Instant) -> Response {
    let first_delay = state.outgoing.config().retry_schedule.first().copied().unwrap_or_default();
    let result = state
        .db
        .write_shared(affinity(&log), (prepared, log), move |conn, (prepared, log)| {
            Box::pin(async move { run_in_transaction(conn, prepared, log, started, first_delay).await })
        })
        .await;
    match result {
        Ok(answer) => {
            if answer.queued_event {
                state.outgoing.event_queued();
            }
            answer.into_response()
        }
        Err(err) => AppError::from(err).into_response(),
    }
}

/// Runs inside the write transaction. `Err` only when the log row itself could not be written:
/// then everything rolls back and the client gets a 500.
async fn run_in_transaction(
    conn: &mut WriteConn,
    prepared: Prepared,
    mut log: NewLog,
    started: Instant,
    first_delay: std::time::Duration,
) -> Result<Answer, StoreError> {
    let Prepared { command, ctx, idempotency } = prepared;
    let mut change = conn.begin().await?;
    let result = async {
        if let Some(key) = &idempotency {
            if let Some(stored) = idempotency::claim(&mut change, key).await? {
                let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
                return Ok(Answer {
                    status,
                    body: stored.body,
                    replayed: true,
                    queued_event: false,
                    replay_log_id: None,
                });
            }
        }
        let done = command::execute(&mut change, command, &ctx).await?;
        let answer = done.answer().map_err(AppError::internal)?;
        let body = json!({"status": "success", "message": answer.message, "data": answer.data}).to_string();
        if let Some(key) = &idempotency {
            idempotency::store(&mut change, key, StatusCode::OK.as_u16(), &body).await?;
        }
        let (entity, entity_id) = done.entity();
        log.entity_type = Some(entity.as_str());
        log.entity_id = Some(entity_id);
        // The outgoing event commits with the change, or neither does.
        let event = outgoing::events::from_change(&mut change, &done).await?;
        if let Some(event) = &event {
            outgoing::outbox::record(&mut change, event, first_delay).await?;
        }
        Ok::<_, AppError>(Answer {
            status: StatusCode::OK,
            body,
            replayed: false,
            queued_event: event.is_some(),
            replay_log_id: None,
        })
    }
    .await;
    match result {
        Ok(mut answer) => {
            finish(&mut log, answer.status, &answer.body, None, started);
            answer.replay_log_id = write_log(&mut change, log).await?;
            change.commit().await?;
            Ok(answer)
        }
        Err(err) => {
            change.rollback().await?;
            err.log_if_internal();
            let mut answer = error_answer(&err);
            finish(&mut log, answer.status, &answer.body, Some(err.body().detail), started);
            answer.replay_log_id = write_log(conn, log).await?;
            Ok(answer)
        }
    }
}

async fn reject(state: &AppState, err: AppError, mut log: NewLog, raw: Option<Bytes>, started: Instant) -> Response {
    if matches!(err, AppError::Unauthorized(_)) {
        let ip = log.remote_addr.as_deref().and_then(|addr| addr.parse().ok());
        if let Some(refused) = unauthenticated::over_budget(state.signature_failures.as_deref(), ip) {
            return refused;
        }
        if let Some(body) = &raw {
            unauthenticated::cut_body(&mut log, body);
        }
    }
    let mut answer = error_answer(&err);
    finish(&mut log, answer.status, &answer.body, Some(err.body().detail), started);
    let written =
        state.db.write_shared(None, log, |conn, log| Box::pin(async move { Ok(write_log(conn, log).await?) })).await;
    match written {
        Ok(id) => answer.replay_log_id = id,
        Err(log_err) => AppError::from(log_err).log_if_internal(),
    }
    answer.into_response()
}

/// Writes the log row. Only a replay's answer names its row; other rows need no id back, so in a
/// PostgreSQL batch they go with its commit, one statement for the batch ([`log_store::insert_later`]).
async fn write_log(conn: &mut WriteConn, log: NewLog) -> Result<Option<i64>, crate::db::DbError> {
    if log.replay_of.is_some() {
        return log_store::insert(conn, log).await.map(Some);
    }
    log_store::insert_later(conn, log).await.map(|()| None)
}

/// The record a write locks, as a hash: writes on one record share a committer (see `db::Db::write_shared`).
fn affinity(log: &NewLog) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let (entity, id) = (log.entity_type?, log.entity_id?);
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (entity, id).hash(&mut hasher);
    Some(hasher.finish())
}

fn error_answer(err: &AppError) -> Answer {
    let body = serde_json::to_string(&err.body()).unwrap_or_else(|_| r#"{"detail":"Internal server error"}"#.into());
    Answer { status: err.status(), body, replayed: false, queued_event: false, replay_log_id: None }
}

fn finish(log: &mut NewLog, status: StatusCode, body: &str, error: Option<String>, started: Instant) {
    log.response_status = status.as_u16();
    log.response_body = Some(body.to_string());
    log.error_message = error;
    log.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    log.processed_at = time::now();
}

/// Raw bytes as text for the log: invalid UTF-8 and NUL (which PostgreSQL text refuses) become U+FFFD.
pub(crate) fn storable_text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).replace('\0', "\u{FFFD}")
}

fn logged_headers(headers: &HeaderMap) -> String {
    let mut selected = serde_json::Map::new();
    for name in LOGGED_HEADERS {
        if let Some(value) = headers.get(name) {
            selected.insert(name.to_string(), Value::String(storable_text(value.as_bytes())));
        }
    }
    for name in REDACTED_HEADERS {
        if headers.contains_key(name) {
            selected.insert(name.to_string(), Value::String("[redacted]".into()));
        }
    }
    Value::Object(selected).to_string()
}
