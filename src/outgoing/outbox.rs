//! The transactional outbox: an outgoing event is written by the same transaction as the change it
//! describes, with one pending delivery per subscription that wants it. A rolled-back change
//! leaves neither; the dispatcher finds committed deliveries by polling, and is woken early.

use std::time::Duration;

use serde_json::json;
use serde_json::value::{to_raw_value, RawValue};

use super::types;
use crate::args;
use crate::db::columns::Columns;
use crate::db::{DbError, WriteConn};
use crate::domain::{time, EntityType};

/// What happened, ready to be written: the §7 type, the record it is about (deliveries about one
/// record go out in order), and `data`, as JSON text.
#[derive(Debug, Clone)]
pub struct OutgoingEvent {
    pub event_type: &'static str,
    pub entity: Option<(EntityType, i64)>,
    pub data: Box<RawValue>,
}

/// A `webhook-id`: UUIDv7, so ids sort in the order events were made and the `event_id` index
/// grows at its end instead of splitting pages at random places.
fn new_event_id() -> String {
    format!("msg_{}", uuid::Uuid::now_v7().simple())
}

/// The fan-out: a pending delivery of the events `$1` lists (by `webhook-id`) for every enabled
/// subscription whose filter takes its type, in the order the events were made. Everything but
/// the first attempt's time comes from the event's row, so that in a PostgreSQL batch the events
/// of every job fan out in one statement ([`WriteConn::execute_later_keyed`]). The filter's
/// pattern is built from the type's column, not bound (a bound `LIKE` pattern makes SQLite
/// prepare the statement again on every execution); `events` is a JSON array of known type
/// names, and no name is another's pattern.
const FAN_OUT: &str = "insert into webhook_deliveries (subscription_id, event_id, event_type, entity_type, entity_id, \
     order_key, status, attempts, next_attempt_at, created_at) \
     select s.id, e.id, e.event_type, e.entity_type, e.entity_id, e.entity_type || ':' || e.entity_id, 'pending', 0, \
     $2, e.created_at from outbox_events e, webhook_subscriptions s \
     where e.event_id in ($1) and s.disabled = $3 and (s.events is null or s.events like '%\"' || e.event_type || '\"%') \
     order by e.id, s.id";

/// What [`FAN_OUT`] reads and writes.
const FAN_OUT_TABLES: &[&str] = &["webhook_deliveries", "outbox_events", "webhook_subscriptions"];

fn after(delay: Duration) -> String {
    time::format(chrono::Utc::now() + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::zero()))
}

/// An event's body as it is sent: `{type, timestamp, data}`, serialized from borrowed parts
/// (`data` is copied as it is).
#[derive(serde::Serialize)]
struct Body<'a> {
    #[serde(rename = "type")]
    event_type: &'a str,
    timestamp: &'a str,
    data: &'a RawValue,
}

fn body(event: &OutgoingEvent, now: &str) -> String {
    let body = Body { event_type: event.event_type, timestamp: now, data: &event.data };
    serde_json::to_string(&body).expect("a JSON text and two strings serialize")
}

/// The event row, its `webhook-id` given.
fn event_row(event: &OutgoingEvent, event_id: &str, now: &str) -> Columns {
    let body = body(event, now);
    let mut row = Columns::new();
    row.set("event_id", event_id)
        .set("event_type", event.event_type)
        .set("entity_type", event.entity.map(|(kind, _)| kind.as_str()))
        .set("entity_id", event.entity.map(|(_, id)| id))
        .set("payload", body)
        .set("created_at", now);
    row
}

/// Writes `event` and a pending delivery for every enabled subscription whose filter takes it
/// (the first attempt due after `first_delay`). Call it inside the change's transaction. Neither
/// statement returns anything (the deliveries find the event by its `webhook-id`), so in a
/// PostgreSQL batch both are held until the commit and merged with the other jobs' events.
pub async fn record(conn: &mut WriteConn, event: &OutgoingEvent, first_delay: Duration) -> Result<(), DbError> {
    let now = time::now();
    let event_id = new_event_id();
    event_row(event, &event_id, &now).insert_later(conn, "outbox_events").await?;
    conn.execute_later_keyed(FAN_OUT, event_id.into(), args![after(first_delay), false], FAN_OUT_TABLES).await
}

/// A `ping` to one subscription, whatever its filter; returns the delivery's id.
pub async fn insert_ping(conn: &mut WriteConn, subscription_id: i64, first_delay: Duration) -> Result<i64, DbError> {
    let now = time::now();
    let data = to_raw_value(&json!({"subscription_id": subscription_id})).expect("a JSON value serializes");
    let event = OutgoingEvent { event_type: types::PING, entity: None, data };
    let mut change = conn.begin().await?;
    let event_id = event_row(&event, &new_event_id(), &now).insert(&mut change, "outbox_events").await?;
    let mut row = Columns::new();
    row.set("subscription_id", subscription_id)
        .set("event_id", event_id)
        .set("event_type", types::PING)
        .set("status", "pending")
        .set("attempts", 0_i64)
        .set("next_attempt_at", after(first_delay))
        .set("created_at", now);
    let id = row.insert(&mut change, "webhook_deliveries").await?;
    change.commit().await?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_sort_in_the_order_they_were_made() {
        let ids: Vec<String> = (0..200).map(|_| new_event_id()).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
        assert!(ids.iter().all(|id| id.len() == 36 && id.starts_with("msg_")), "{ids:?}");
        assert_eq!(ids.iter().collect::<std::collections::HashSet<_>>().len(), ids.len());
    }

    #[test]
    fn the_body_is_type_timestamp_and_data_in_that_order() {
        let data = json!({"lead": {"id": 7, "raw_payload": {"z": 1, "a": [true, null, "é\"q"]}}, "old_status": "new"});
        let event = OutgoingEvent { event_type: types::PING, entity: None, data: to_raw_value(&data).unwrap() };
        let text = body(&event, "2026-12-02T10:00:00Z");
        assert_eq!(text, json!({"type": types::PING, "timestamp": "2026-12-02T10:00:00Z", "data": data}).to_string());
        assert!(
            text.starts_with(
                r#"{"type":"ping","timestamp":"2026-12-02T10:00:00Z","data":{"lead":{"id":7,"raw_payload":{"z":1"#
            ),
            "{text}"
        );
    }
}
