//! A record's own fields — pre-lead, lead, customer — as the read API and the outgoing events show
//! them: one column list and one conversion per table, loadable from the write connection (inside
//! the transaction of a change, which sees that change) and from the read pool alike (both are
//! [`Fetch`]). Shapes: money as two-decimal strings named without `_cents` (`expected_value`:
//! `"2500.00"`), flags as booleans, times as RFC 3339 UTC text, and the links between a pre-lead,
//! its lead and that lead's customer (`pre_lead_id`, `lead_id`, `customer_id`) on every record,
//! `null` where there is none. Every stored column is shown except the ones derived only for
//! matching and syncing (normalised e-mail and phone, the change sequence), which are the server's
//! bookkeeping, not data anyone sent. `raw_payload` — the `data` object of the record's last
//! change, the only place keys the schema does not model are kept — is shown as that JSON object,
//! since integrators put their own keys there and may want them back.

pub mod api;
pub mod children;
mod customer;
mod driver;
mod lead;
pub mod list;
mod pre_lead;
pub mod search;

pub use customer::Customer;
pub use lead::Lead;
pub use pre_lead::PreLead;

use serde::Serialize;
use serde_json::value::RawValue;

use crate::db::{DbError, Fetch, Row, Value};
use crate::domain::money::Money;

/// A table whose rows are read through one column list and one conversion.
pub trait Record: Sized + serde::Serialize {
    /// `select … from <table> r …`: every answered column, aliased to its answer name. Callers
    /// append a `where` on the table alias `r` (and an `order by`/`limit`).
    fn select() -> &'static str;
    fn from_row(row: &Row) -> Result<Self, DbError>;
    fn id(&self) -> i64;
    fn updated_at(&self) -> &str;
}

/// A record the webhooks create (pre-leads, leads): its insert answers it in the shape of
/// [`Record::select`], so the change that created it carries it without reading it back.
pub trait Created: Record {
    /// `returning …` for an insert into the record's table.
    fn returning() -> &'static str;
}

/// The record with this id, or `None`.
pub async fn load<R: Record>(conn: &mut (impl Fetch + ?Sized), id: i64) -> Result<Option<R>, DbError> {
    let sql = format!("{} where r.id = $1", R::select());
    let rows = conn.fetch_rows(&sql, vec![Value::from(id)]).await?;
    rows.first().map(R::from_row).transpose()
}

/// The records `tail` selects (`where …`, `order by …`, `limit …` on the alias `r`), in order.
pub async fn load_where<R: Record>(
    conn: &mut (impl Fetch + ?Sized),
    tail: &str,
    args: Vec<Value>,
) -> Result<Vec<R>, DbError> {
    let sql = format!("{} {tail}", R::select());
    conn.fetch_rows(&sql, args).await?.iter().map(R::from_row).collect()
}

/// Builds a record's `select`: `(expression, answer name)` pairs and the `from` clause.
fn select_sql(columns: &[(&str, &str)], from: &str) -> String {
    let list: Vec<String> = columns
        .iter()
        .map(|(expr, name)| if expr == name { format!("r.{name} as {name}") } else { format!("{expr} as {name}") })
        .collect();
    format!("select {} from {from}", list.join(", "))
}

/// Builds a created record's `returning` from its `select` columns: the record's own columns by
/// name; a column of a linked record (`l.customer_id`), which a record just inserted has none of
/// yet (each one is an id), as a null id.
fn returning_sql(columns: &[(&str, &str)]) -> String {
    let list: Vec<String> = columns
        .iter()
        .map(|(expr, name)| match expr.strip_prefix("r.") {
            Some(column) => format!("{column} as {name}"),
            None if expr.contains('.') => format!("cast(null as bigint) as {name}"),
            None => format!("{expr} as {name}"),
        })
        .collect();
    format!("returning {}", list.join(", "))
}

/// A cents column as money.
fn money(row: &Row, name: &str) -> Result<Option<Money>, DbError> {
    Ok(row.get::<Option<i64>>(name)?.map(Money::from_cents))
}

/// A stored JSON text (`raw_payload`), answered as the JSON it holds: checked once and then
/// written out as stored, never built into a tree of values (records are read for every outgoing
/// event, inside the writer's transaction). The text is the compact form the server wrote, so the
/// answer is the same as parsing and writing it again would give.
#[derive(Clone, Debug, Serialize)]
#[serde(transparent)]
pub struct StoredJson(Box<RawValue>);

impl StoredJson {
    /// The text as JSON when it is JSON; any other text as a JSON string.
    pub fn from_text(text: &str) -> Self {
        match serde_json::from_str::<&RawValue>(text) {
            Ok(raw) => StoredJson(raw.to_owned()),
            Err(_) => StoredJson(serde_json::value::to_raw_value(text).expect("a string serializes")),
        }
    }

    pub fn get(&self) -> &str {
        self.0.get()
    }
}

impl Eq for StoredJson {}

impl PartialEq for StoredJson {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

/// A stored JSON text (`raw_payload`) as JSON; text that is not JSON stays a JSON string.
fn json(row: &Row, name: &str) -> Result<Option<StoredJson>, DbError> {
    Ok(row.get::<Option<String>>(name)?.as_deref().map(StoredJson::from_text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_select_aliases_every_column_to_its_answer_name() {
        let sql = select_sql(&[("id", "id"), ("r.expected_value_cents", "expected_value")], "leads r");
        assert_eq!(sql, "select r.id as id, r.expected_value_cents as expected_value from leads r");
    }

    #[test]
    fn the_returning_names_own_columns_and_nulls_linked_ones() {
        let sql = returning_sql(&[("id", "id"), ("r.converted_lead_id", "lead_id"), ("l.customer_id", "customer_id")]);
        assert_eq!(sql, "returning id as id, converted_lead_id as lead_id, cast(null as bigint) as customer_id");
    }

    #[test]
    fn stored_json_is_written_out_as_stored() {
        let data = serde_json::json!({"z": 1, "a": [true, null, 1.5, "é\"q"], "m": {"k": -7}});
        let text = data.to_string();
        let stored = StoredJson::from_text(&text);
        assert_eq!(stored.get(), text);
        // The same text as parsing the stored text and writing it again.
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(serde_json::to_string(&stored).unwrap(), parsed.to_string());
        assert_eq!(serde_json::to_value(&stored).unwrap(), data);
    }

    #[test]
    fn stored_text_that_is_not_json_is_a_json_string() {
        for text in ["not json", "{\"cut\": ", "", "  "] {
            let stored = StoredJson::from_text(text);
            assert_eq!(serde_json::to_value(&stored).unwrap(), serde_json::Value::String(text.into()), "{text:?}");
        }
    }
}
