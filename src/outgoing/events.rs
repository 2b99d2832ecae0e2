//! From a [`Change`] to its outgoing event: the §7 type, the record it is about, and `data` — the
//! record after the change under its name (`pre_lead`, `lead`, `customer`: its own fields, as
//! `crate::records` shows them), a conversion's two records, and the event's own keys (`contact`,
//! `memo`, `activity`, `profile`, `old_status`/`new_status`, `order`, `payment`). Read inside
//! the change's transaction, so it sees the change. `data` is written as JSON text straight from
//! the records read (no tree of values in between): this runs in the writer for every change.

use serde::ser::SerializeMap;
use serde::Serialize;
use serde_json::value::{to_raw_value, RawValue};
use serde_json::{Map, Value};

use super::outbox::OutgoingEvent;
use crate::changes::Change;
use crate::db::{DbError, Row, WriteConn};
use crate::domain::money::Money;
use crate::domain::EntityType;
use crate::records::{self, Customer, Lead, PreLead};

#[derive(Clone, Copy)]
enum Kind {
    Int,
    Text,
    Flag,
    /// `<name>_cents` shown as `<name>`, a two-decimal string.
    Money,
}
use Kind::*;

const CONTACT: &[(&str, Kind)] = &[
    ("id", Int),
    ("first_name", Text),
    ("last_name", Text),
    ("email", Text),
    ("phone", Text),
    ("designation", Text),
    ("department", Text),
    ("is_primary", Flag),
    ("created_at", Text),
];
const MEMO: &[(&str, Kind)] =
    &[("id", Int), ("title", Text), ("content", Text), ("memo_type", Text), ("created_at", Text)];
const ACTIVITY: &[(&str, Kind)] = &[
    ("id", Int),
    ("activity_type", Text),
    ("title", Text),
    ("description", Text),
    ("scheduled_at", Text),
    ("completed_at", Text),
    ("outcome", Text),
    ("created_at", Text),
];
const PROFILE: &[(&str, Kind)] = &[
    ("id", Int),
    ("profile_type", Text),
    ("company", Text),
    ("industry", Text),
    ("best_time_call", Text),
    ("timezone", Text),
    ("mode", Text),
    ("contact_name", Text),
    ("designation", Text),
    ("phone", Text),
    ("email", Text),
    ("need_type", Text),
    ("current_solution", Text),
    ("pain_point", Text),
    ("budget_cents", Money),
    ("decision_timeline", Text),
    ("decision_maker", Text),
    ("competitor_info", Text),
    ("notes", Text),
    ("created_at", Text),
];
const ORDER: &[(&str, Kind)] =
    &[("id", Int), ("order_id", Text), ("amount_cents", Money), ("order_date", Text), ("created_at", Text)];
const PAYMENT: &[(&str, Kind)] =
    &[("id", Int), ("payment_id", Text), ("amount_cents", Money), ("payment_date", Text), ("created_at", Text)];

fn cell(row: &Row, name: &str, kind: Kind) -> Result<(String, Value), DbError> {
    Ok(match kind {
        Int => (name.into(), row.get::<Option<i64>>(name)?.map_or(Value::Null, Value::from)),
        Text => (name.into(), row.get::<Option<String>>(name)?.map_or(Value::Null, Value::from)),
        Flag => (name.into(), Value::from(row.get::<Option<bool>>(name)?.unwrap_or(false))),
        Money => {
            let shown = name.strip_suffix("_cents").unwrap_or(name).to_string();
            let value =
                row.get::<Option<i64>>(name)?.map_or(Value::Null, |c| Value::from(Money::from_cents(c).to_string()));
            (shown, value)
        }
    })
}

/// One child row (`where <key> = $1 …`) as JSON text, or `null` when there is none.
async fn child(
    conn: &mut WriteConn,
    table: &str,
    columns: &[(&str, Kind)],
    filter: &str,
    args: Vec<crate::db::Value>,
) -> Result<Box<RawValue>, DbError> {
    let list: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
    let sql = format!("select {} from {table} where {filter} order by id desc limit 1", list.join(", "));
    let Some(row) = conn.fetch_optional(&sql, args).await? else { return raw(&Value::Null, table) };
    let mut out = Map::new();
    for (name, kind) in columns {
        let (key, value) = cell(&row, name, *kind)?;
        out.insert(key, value);
    }
    raw(&out, table)
}

/// `value` as JSON text; `what` names it in the error.
fn raw(value: &impl Serialize, what: &str) -> Result<Box<RawValue>, DbError> {
    to_raw_value(value).map_err(|err| DbError::Decode(what.into(), err.to_string()))
}

/// The record as JSON text in the read API's shape, or `null` when there is none.
async fn record(conn: &mut WriteConn, entity: EntityType, id: i64) -> Result<Box<RawValue>, DbError> {
    let what = entity.as_str();
    match entity {
        EntityType::PreLead => raw(&records::load::<PreLead>(conn, id).await?, what),
        EntityType::Lead => raw(&records::load::<Lead>(conn, id).await?, what),
        EntityType::Customer => raw(&records::load::<Customer>(conn, id).await?, what),
    }
}

/// `data`'s keys in order, each value already JSON text.
struct Data(Vec<(&'static str, Box<RawValue>)>);

impl Serialize for Data {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

/// The outgoing event of `change`; `None` when it changed nothing.
pub async fn from_change(conn: &mut WriteConn, change: &Change) -> Result<Option<OutgoingEvent>, DbError> {
    if change.is_noop() {
        return Ok(None);
    }
    let (entity, id) = change.entity();
    // A created record came back from its insert; any other is read inside the transaction.
    let this = match change {
        Change::PreLeadCreated { record } => raw(record.as_ref(), entity.as_str())?,
        Change::LeadCreated { record } => raw(record.as_ref(), entity.as_str())?,
        _ => record(conn, entity, id).await?,
    };
    let mut data = vec![(entity.as_str(), this)];
    let id_arg = |v: i64| vec![crate::db::Value::from(v)];
    match change {
        Change::ContactAdded { contact_id, .. } => {
            data.push(("contact", child(conn, "contacts", CONTACT, "id = $1", id_arg(*contact_id)).await?));
        }
        Change::MemoAdded { memo_id, .. } => {
            data.push(("memo", child(conn, "memos", MEMO, "id = $1", id_arg(*memo_id)).await?));
        }
        Change::ActivityAdded { activity_id, .. } => {
            data.push(("activity", child(conn, "activities", ACTIVITY, "id = $1", id_arg(*activity_id)).await?));
        }
        Change::ProfileUpdated { profile_id, .. } => {
            let profile = child(conn, "qualified_profiles", PROFILE, "id = $1", id_arg(*profile_id)).await?;
            data.push(("profile", profile));
        }
        Change::StatusChanged { old, new, .. } => {
            data.push(("old_status", raw(old, "old_status")?));
            data.push(("new_status", raw(new, "new_status")?));
        }
        Change::PreLeadConverted { lead_id, .. } => {
            data.push(("lead", record(conn, EntityType::Lead, *lead_id).await?));
        }
        Change::LeadConverted { customer_id, .. } => {
            data.push(("customer", record(conn, EntityType::Customer, *customer_id).await?));
        }
        Change::OrderRecorded { order_id, totals, .. } => {
            let args = vec![crate::db::Value::from(totals.customer_id), crate::db::Value::from(order_id.clone())];
            data.push(("order", child(conn, "orders", ORDER, "customer_id = $1 and order_id = $2", args).await?));
        }
        Change::PaymentReceived { payment_id, totals, .. } => {
            let args = vec![crate::db::Value::from(totals.customer_id), crate::db::Value::from(payment_id.clone())];
            let payment = child(conn, "payments", PAYMENT, "customer_id = $1 and payment_id = $2", args).await?;
            data.push(("payment", payment));
        }
        _ => {}
    }
    Ok(Some(OutgoingEvent {
        event_type: change.outgoing_type(),
        entity: Some((entity, id)),
        data: raw(&Data(data), "data")?,
    }))
}
