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

/// Which rows of a table belong to a record.
#[derive(Clone, Copy)]
enum Owner {
    /// The `entity_type` and `entity_id` columns.
    Entity,
    /// One id column (`lead_id`, `customer_id`).
    Column(&'static str),
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
    /// The kinds of record the table holds rows of.
    owners: &'static [EntityType],
    /// Four text and two whole-number columns the summary is written from.
    texts: [&'static str; 4],
    numbers: [&'static str; 2],
    /// A further condition (`and …`), or empty.
    only: &'static str,
}

const NO_TEXT: &str = "cast(null as text)";
const NO_NUMBER: &str = "cast(null as bigint)";
const ALL: &[EntityType] = &[EntityType::PreLead, EntityType::Lead, EntityType::Customer];
const WITH_HISTORY: &[EntityType] = &[EntityType::PreLead, EntityType::Lead];
const LEAD: &[EntityType] = &[EntityType::Lead];
const CUSTOMER: &[EntityType] = &[EntityType::Customer];
/// `ord` of the profile's last change (its creation has `PROFILE_CREATED`).
pub const PROFILE_CHANGED: i64 = 6;
const PROFILE_CREATED: i64 = 5;

const SOURCES: [Source; 10] = [
    Source {
        ord: 0,
        kind: Kind::Webhook,
        table: "webhook_logs",
        at: "created_at",
        owner: Owner::Entity,
        owners: ALL,
        texts: ["event", "error_message", NO_TEXT, NO_TEXT],
        numbers: ["response_status", "replay_of"],
        only: "and direction = 'incoming'",
    },
    Source {
        ord: 1,
        kind: Kind::StatusChange,
        table: "status_history",
        at: "created_at",
        owner: Owner::Entity,
        owners: WITH_HISTORY,
        texts: ["old_status", "new_status", "remarks", "event"],
        numbers: [NO_NUMBER, NO_NUMBER],
        only: "",
    },
    Source {
        ord: 2,
        kind: Kind::Contact,
        table: "contacts",
        at: "created_at",
        owner: Owner::Entity,
        owners: WITH_HISTORY,
        texts: ["first_name", "last_name", "email", "phone"],
        numbers: [NO_NUMBER, NO_NUMBER],
        only: "",
    },
    Source {
        ord: 3,
        kind: Kind::Memo,
        table: "memos",
        at: "created_at",
        owner: Owner::Entity,
        owners: WITH_HISTORY,
        texts: ["memo_type", "title", "content", NO_TEXT],
        numbers: [NO_NUMBER, NO_NUMBER],
        only: "",
    },
    Source {
        ord: 4,
        kind: Kind::Activity,
        table: "activities",
        at: "created_at",
        owner: Owner::Column("lead_id"),
        owners: LEAD,
        texts: ["activity_type", "title", "outcome", NO_TEXT],
        numbers: [NO_NUMBER, NO_NUMBER],
        only: "",
    },
    Source {
        ord: PROFILE_CREATED,
        kind: Kind::Profile,
        table: "qualified_profiles",
        at: "created_at",
        owner: Owner::Column("lead_id"),
        owners: LEAD,
        texts: ["profile_type", "company", NO_TEXT, NO_TEXT],
        numbers: [NO_NUMBER, NO_NUMBER],
        only: "",
    },
    Source {
        ord: PROFILE_CHANGED,
        kind: Kind::Profile,
        table: "qualified_profiles",
        at: "updated_at",
        owner: Owner::Column("lead_id"),
        owners: LEAD,
        texts: ["profile_type", "company", NO_TEXT, NO_TEXT],
        numbers: [NO_NUMBER, NO_NUMBER],
        only: "and updated_at > created_at",
    },
    Source {
        ord: 7,
        kind: Kind::Order,
        table: "orders",
        at: "created_at",
        owner: Owner::Column("customer_id"),
        owners: CUSTOMER,
        texts: ["order_id", "order_date", NO_TEXT, NO_TEXT],
        numbers: ["amount_cents", NO_NUMBER],
        only: "",
    },
    Source {
        ord: 8,
        kind: Kind::Payment,
        table: "payments",
        at: "created_at",
        owner: Owner::Column("customer_id"),
        owners: CUSTOMER,
        texts: ["payment_id", "payment_date", NO_TEXT, NO_TEXT],
        numbers: ["amount_cents", NO_NUMBER],
        only: "",
    },
    Source {
        ord: 9,
        kind: Kind::Delivery,
        table: "webhook_deliveries",
        at: "created_at",
        owner: Owner::Entity,
        owners: ALL,
        texts: ["event_type", "status", NO_TEXT, NO_TEXT],
        numbers: ["attempts", "subscription_id"],
        only: "",
    },
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
        for source in SOURCES.iter().filter(|source| source.owners.contains(&entity)) {
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
        Owner::Entity => format!("entity_type = {} and entity_id = {}", arg(entity.as_str().into()), arg(id.into())),
        Owner::Column(column) => format!("{column} = {}", arg(id.into())),
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
    let [t1, t2, t3, t4] = source.texts;
    let [n1, n2] = source.numbers;
    format!(
        "select {at} as happened_at, cast({} as bigint) as ord, id, '{}' as owner_type, {t1} as t1, {t2} as t2, \
         {t3} as t3, {t4} as t4, {n1} as n1, {n2} as n2 from {} where {owner} {}{keyset}",
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
    }
}
