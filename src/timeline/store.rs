//! The query of a timeline: one `union all` over every table that holds something that happened to
//! a record (and to the records it was converted from), each branch reading one owner's rows
//! through that table's owner index and cut at the keyset position of the previous page inside
//! the branch; the database orders what is left and stops at the page's size.

use crate::db::{DbError, Fetch, Row, Value};
use crate::domain::EntityType;

/// What a timeline item is about (design §10).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = TimelineKind)]
pub enum Kind {
    StatusChange,
    Contact,
    Memo,
    Activity,
    Profile,
    Order,
    Payment,
    Webhook,
    Delivery,
}

/// Which rows of a table belong to a record, and records of which kinds the table has rows of.
#[derive(Clone, Copy)]
enum Owner {
    /// The `entity_type` and `entity_id` columns, for these kinds.
    Entity(&'static [EntityType]),
    /// One id column (`lead_id`, `customer_id`) of one kind of record.
    Column(&'static str, EntityType),
}

impl Owner {
    fn owns(self, entity: EntityType) -> bool {
        match self {
            Owner::Entity(kinds) => kinds.contains(&entity),
            Owner::Column(_, kind) => kind == entity,
        }
    }
}

/// One table (or one reading of a table) that holds timeline items.
struct Source {
    /// Orders items of equal time (and is part of the cursor): a request comes before what it did.
    ord: i64,
    kind: Kind,
    table: &'static str,
    /// The time of the item.
    at: &'static str,
    owner: Owner,
    /// Up to four text and two whole-number columns the summary is written from (the rest null).
    texts: &'static [&'static str],
    numbers: &'static [&'static str],
    /// A further condition (`and …`), or empty.
    only: &'static str,
}

impl Source {
    /// A table whose items are its rows, at their `created_at`.
    const fn new(
        ord: i64,
        kind: Kind,
        table: &'static str,
        owner: Owner,
        texts: &'static [&'static str],
        numbers: &'static [&'static str],
    ) -> Source {
        Source { ord, kind, table, at: "created_at", owner, texts, numbers, only: "" }
    }
}

const TEXTS: usize = 4;
const NUMBERS: usize = 2;
const NO_TEXT: &str = "cast(null as text)";
const NO_NUMBER: &str = "cast(null as bigint)";
const ANY_RECORD: Owner = Owner::Entity(&[EntityType::PreLead, EntityType::Lead, EntityType::Customer]);
const WITH_HISTORY: Owner = Owner::Entity(&[EntityType::PreLead, EntityType::Lead]);
const BY_LEAD: Owner = Owner::Column("lead_id", EntityType::Lead);
const BY_CUSTOMER: Owner = Owner::Column("customer_id", EntityType::Customer);
/// `ord` of the profile's last change (its creation has `PROFILE_CREATED`).
pub const PROFILE_CHANGED: i64 = 6;
const PROFILE_CREATED: i64 = 5;
const PROFILE: Source =
    Source::new(PROFILE_CREATED, Kind::Profile, "qualified_profiles", BY_LEAD, &["profile_type", "company"], &[]);

const SOURCES: [Source; 10] = [
    Source {
        only: "and direction = 'incoming'",
        ..Source::new(
            0,
            Kind::Webhook,
            "webhook_logs",
            ANY_RECORD,
            &["event", "error_message"],
            &["response_status", "replay_of"],
        )
    },
    Source::new(
        1,
        Kind::StatusChange,
        "status_history",
        WITH_HISTORY,
        &["old_status", "new_status", "remarks", "event"],
        &[],
    ),
    Source::new(2, Kind::Contact, "contacts", WITH_HISTORY, &["first_name", "last_name", "email", "phone"], &[]),
    Source::new(3, Kind::Memo, "memos", WITH_HISTORY, &["memo_type", "title", "content"], &[]),
    Source::new(4, Kind::Activity, "activities", BY_LEAD, &["activity_type", "title", "outcome"], &[]),
    PROFILE,
    Source { ord: PROFILE_CHANGED, at: "updated_at", only: "and updated_at > created_at", ..PROFILE },
    Source::new(7, Kind::Order, "orders", BY_CUSTOMER, &["order_id", "order_date"], &["amount_cents"]),
    Source::new(8, Kind::Payment, "payments", BY_CUSTOMER, &["payment_id", "payment_date"], &["amount_cents"]),
    Source::new(
        9,
        Kind::Delivery,
        "webhook_deliveries",
        ANY_RECORD,
        &["event_type", "status"],
        &["attempts", "subscription_id"],
    ),
];

/// Where an item stands in the timeline: its time, then `ord`, then its row id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Position {
    pub at: String,
    pub ord: i64,
    pub id: i64,
}

/// One item as read, before its summary is written.
#[derive(Debug)]
pub struct Found {
    pub position: Position,
    pub kind: Kind,
    /// The record the row belongs to: the timeline's own, or one it was converted from.
    pub owner: (EntityType, i64),
    pub texts: [Option<String>; 4],
    pub numbers: [Option<i64>; 2],
}

/// Up to `limit` items of the records in `chain` after `after` (before it when `newest_first`),
/// in timeline order.
pub async fn page(
    conn: &mut (impl Fetch + ?Sized),
    chain: &[(EntityType, i64)],
    after: Option<&Position>,
    newest_first: bool,
    limit: i64,
) -> Result<Vec<Found>, DbError> {
    let mut args: Vec<Value> = Vec::new();
    let mut branches = Vec::new();
    for &(entity, id) in chain {
        for source in SOURCES.iter().filter(|source| source.owner.owns(entity)) {
            branches.push(branch(source, entity, id, after, newest_first, &mut args));
        }
    }
    let direction = if newest_first { "desc" } else { "asc" };
    args.push(Value::from(limit));
    let sql = format!(
        "{} order by happened_at {direction}, ord {direction}, id {direction} limit ${}",
        branches.join(" union all "),
        args.len()
    );
    let rows = conn.fetch_rows(&sql, args).await?;
    rows.iter().map(|row| found(row, chain)).collect()
}

fn branch(
    source: &Source,
    entity: EntityType,
    id: i64,
    after: Option<&Position>,
    newest_first: bool,
    args: &mut Vec<Value>,
) -> String {
    let mut arg = |value: Value| {
        args.push(value);
        format!("${}", args.len())
    };
    let owner = match source.owner {
        Owner::Entity(_) => format!("entity_type = {} and entity_id = {}", arg(entity.as_str().into()), arg(id.into())),
        Owner::Column(column, _) => format!("{column} = {}", arg(id.into())),
    };
    let at = source.at;
    // Past the cursor: a later time, or the same time and a later `ord`, or both equal and a later id.
    let keyset = match after {
        None => String::new(),
        Some(position) => {
            let (later, later_or_same) = if newest_first { ("<", "<=") } else { (">", ">=") };
            let time = arg(position.at.clone().into());
            match source.ord.cmp(&position.ord) {
                std::cmp::Ordering::Equal => {
                    let same = arg(position.at.clone().into());
                    format!(" and ({at} {later} {time} or ({at} = {same} and id {later} {}))", arg(position.id.into()))
                }
                ord if (ord == std::cmp::Ordering::Greater) != newest_first => {
                    format!(" and {at} {later_or_same} {time}")
                }
                _ => format!(" and {at} {later} {time}"),
            }
        }
    };
    let columns = |names: &[&str], count: usize, none: &str, prefix: char| {
        (0..count).map(|n| format!("{} as {prefix}{}", names.get(n).unwrap_or(&none), n + 1)).collect::<Vec<_>>()
    };
    let texts = columns(source.texts, TEXTS, NO_TEXT, 't').join(", ");
    let numbers = columns(source.numbers, NUMBERS, NO_NUMBER, 'n').join(", ");
    format!(
        "select {at} as happened_at, cast({} as bigint) as ord, id, '{}' as owner_type, {texts}, {numbers} \
         from {} where {owner} {}{keyset}",
        source.ord,
        entity.as_str(),
        source.table,
        source.only,
    )
}

fn found(row: &Row, chain: &[(EntityType, i64)]) -> Result<Found, DbError> {
    let ord: i64 = row.get("ord")?;
    let source = SOURCES.iter().find(|source| source.ord == ord).ok_or_else(|| DbError::NoColumn("ord".into()))?;
    let owner_type: String = row.get("owner_type")?;
    let owner = chain
        .iter()
        .copied()
        .find(|(entity, _)| entity.as_str() == owner_type)
        .ok_or_else(|| DbError::Decode("owner_type".into(), owner_type.clone()))?;
    Ok(Found {
        position: Position { at: row.get("happened_at")?, ord, id: row.get("id")? },
        kind: source.kind,
        owner,
        texts: [row.get("t1")?, row.get("t2")?, row.get("t3")?, row.get("t4")?],
        numbers: [row.get("n1")?, row.get("n2")?],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_source_has_its_own_ord_and_kinds_cover_the_design() {
        let mut ords: Vec<i64> = SOURCES.iter().map(|s| s.ord).collect();
        ords.dedup();
        assert_eq!(ords.len(), SOURCES.len(), "ords are distinct and ascending");
        assert!(ords.windows(2).all(|w| w[0] < w[1]));
        assert!(SOURCES.iter().all(|s| s.texts.len() <= TEXTS && s.numbers.len() <= NUMBERS));
        let kinds: Vec<Kind> = SOURCES.iter().map(|s| s.kind).collect();
        for kind in [
            Kind::StatusChange,
            Kind::Contact,
            Kind::Memo,
            Kind::Activity,
            Kind::Profile,
            Kind::Order,
            Kind::Payment,
            Kind::Webhook,
            Kind::Delivery,
        ] {
            assert!(kinds.contains(&kind), "{kind:?}");
        }
    }

    #[test]
    fn a_branch_resumes_after_the_cursor_by_time_ord_and_id() {
        let position = Position { at: "2024-01-20T14:00:00.000000Z".into(), ord: 3, id: 10 };
        let mut args = Vec::new();
        let memo = &SOURCES[3];
        let sql = branch(memo, EntityType::Lead, 7, Some(&position), false, &mut args);
        assert!(sql.ends_with("and (created_at > $3 or (created_at = $4 and id > $5))"), "{sql}");
        assert_eq!(args.len(), 5);
        let earlier_ord = branch(&SOURCES[1], EntityType::Lead, 7, Some(&position), false, &mut Vec::new());
        assert!(earlier_ord.ends_with("and created_at > $3"), "{earlier_ord}");
        let later_ord = branch(&SOURCES[9], EntityType::Lead, 7, Some(&position), false, &mut Vec::new());
        assert!(later_ord.ends_with("and created_at >= $3"), "{later_ord}");
        let newest_first = branch(&SOURCES[9], EntityType::Lead, 7, Some(&position), true, &mut Vec::new());
        assert!(newest_first.ends_with("and created_at < $3"), "{newest_first}");
        let column = branch(&SOURCES[4], EntityType::Lead, 7, None, false, &mut Vec::new());
        assert!(column.contains("from activities where lead_id = $1 "), "{column}");
        assert!(
            column.contains(
                "activity_type as t1, title as t2, outcome as t3, cast(null as text) as t4, \
                 cast(null as bigint) as n1, cast(null as bigint) as n2 from"
            ),
            "{column}"
        );
        let changed = branch(&SOURCES[6], EntityType::Lead, 7, None, false, &mut Vec::new());
        assert!(changed.starts_with("select updated_at as happened_at, cast(6 as bigint) as ord"), "{changed}");
        assert!(changed.ends_with("where lead_id = $1 and updated_at > created_at"), "{changed}");
    }
}
