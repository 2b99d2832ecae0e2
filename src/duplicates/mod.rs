//! Possible duplicates (design §8): a new pre-lead, lead or customer, or one whose e-mail or phone
//! changed, is matched against the pre-leads, leads and customers that are not discarded, by
//! e-mail (trimmed, lower-case) and phone (digits only, at least 7), never against the records
//! linked to it by a conversion. Matches are stored both ways, one row per matched value, in the
//! transaction of the change; nothing is merged or refused, and the webhook's answer is unchanged.
//! This module owns the normalised columns (`email_norm`, `phone_norm`) and `possible_duplicates`.

use serde::Serialize;

use crate::args;
use crate::changes::Change;
use crate::db::columns::Columns;
use crate::db::{DbError, Fetch, Row, WriteConn};
use crate::domain::{time, EntityType};
use crate::records::{self, Customer, Lead, PreLead};

/// Phones with fewer digits than this are not matched (extensions, partial numbers).
pub const MIN_PHONE_DIGITS: usize = 7;

/// One possible duplicate of a record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PossibleDuplicate {
    /// `pre_lead`, `lead` or `customer`.
    #[schema(example = "lead")]
    pub entity_type: String,
    #[schema(example = 42)]
    pub id: i64,
    /// `email` or `phone`.
    #[schema(example = "email")]
    pub matched_on: String,
}

/// Trimmed and lower-case; `None` when blank.
pub fn normalise_email(email: &str) -> Option<String> {
    Some(email.trim().to_lowercase()).filter(|e| !e.is_empty())
}

/// Digits only; `None` when there are none.
pub fn normalise_phone(phone: &str) -> Option<String> {
    Some(phone.chars().filter(char::is_ascii_digit).collect::<String>()).filter(|p| !p.is_empty())
}

/// The table of a kind of record.
pub fn table(entity: EntityType) -> &'static str {
    match entity {
        EntityType::PreLead => "pre_leads",
        EntityType::Lead => "leads",
        EntityType::Customer => "customers",
    }
}

/// The record's e-mail, phone, and the records linked to it by a conversion.
async fn identity(
    conn: &mut WriteConn,
    entity: EntityType,
    id: i64,
) -> Result<Option<(Option<String>, Option<String>, Vec<(EntityType, i64)>)>, DbError> {
    use EntityType as E;
    let found = match entity {
        E::PreLead => records::load::<PreLead>(conn, id).await?.map(|r| {
            let links = [(E::Lead, r.lead_id), (E::Customer, r.customer_id)];
            (r.email, r.phone, links)
        }),
        E::Lead => records::load::<Lead>(conn, id).await?.map(|r| {
            let links = [(E::PreLead, r.pre_lead_id), (E::Customer, r.customer_id)];
            (r.email, r.phone, links)
        }),
        E::Customer => records::load::<Customer>(conn, id).await?.map(|r| {
            let links = [(E::PreLead, r.pre_lead_id), (E::Lead, r.lead_id)];
            (r.email, r.phone, links)
        }),
    };
    Ok(found.map(|(email, phone, links)| {
        let linked = links.into_iter().filter_map(|(kind, id)| id.map(|id| (kind, id))).collect();
        (email, phone, linked)
    }))
}

/// Sets a new record's normalised e-mail and phone from its `email` and `phone` columns, so that
/// [`insert_new`] can match it in one statement.
fn set_norms(row: &mut Columns) {
    let email = row.text("email").and_then(normalise_email);
    let phone = row.text("phone").and_then(normalise_phone);
    row.set("email_norm", email).set("phone_norm", phone);
}

/// Refreshes the records a change created or may have given a new e-mail or phone.
pub async fn after(conn: &mut WriteConn, change: &Change) -> Result<(), DbError> {
    let (entity, id) = match change {
        // Matched by their insert ([`insert_new`]).
        Change::PreLeadCreated { .. } | Change::LeadCreated { .. } => return Ok(()),
        Change::PreLeadUpdated { id } => (EntityType::PreLead, *id),
        Change::LeadUpdated { id } => (EntityType::Lead, *id),
        Change::PreLeadConverted { lead_id, .. } => (EntityType::Lead, *lead_id),
        Change::LeadConverted { customer_id, .. } => (EntityType::Customer, *customer_id),
        _ => return Ok(()),
    };
    refresh(conn, entity, id).await
}

/// Brings the record's normalised e-mail and phone up to date and, when either changed (or the
/// record is new), matches it again. Runs inside the caller's transaction.
pub async fn refresh(conn: &mut WriteConn, entity: EntityType, id: i64) -> Result<(), DbError> {
    let Some((email, phone, linked)) = identity(conn, entity, id).await? else { return Ok(()) };
    let email = email.as_deref().and_then(normalise_email);
    let phone = phone.as_deref().and_then(normalise_phone);
    let table = table(entity);
    let stored =
        conn.fetch_one(&format!("select email_norm, phone_norm from {table} where id = $1"), args![id]).await?;
    if stored.get::<Option<String>>(0)? == email && stored.get::<Option<String>>(1)? == phone {
        return Ok(());
    }
    conn.execute(
        &format!("update {table} set email_norm = $1, phone_norm = $2 where id = $3"),
        args![email.clone(), phone.clone(), id],
    )
    .await?;
    rematch(conn, entity, id, email, phone, &linked).await
}

const OTHERS: [EntityType; 3] = [EntityType::PreLead, EntityType::Lead, EntityType::Customer];

/// The records that `where` picks among the pre-leads, leads and customers that can be matched
/// (not discarded, not the record itself), on one value: `<other>_norm = <value>`.
/// `discarded` is the placeholder of a bound `false`.
fn candidates(other: EntityType, matched_on: &str, value: &str, self_id: &str, discarded: &str) -> String {
    let discarded =
        if other == EntityType::Customer { String::new() } else { format!(" and o.is_discarded = {discarded}") };
    format!(
        "select '{}' as other_type, o.id as other_id, '{matched_on}' as matched_on from {} o \
         where o.{matched_on}_norm = {value} and o.id <> {self_id}{discarded}",
        other.as_str(),
        table(other)
    )
}

async fn rematch(
    conn: &mut WriteConn,
    entity: EntityType,
    id: i64,
    email: Option<String>,
    phone: Option<String>,
    linked: &[(EntityType, i64)],
) -> Result<(), DbError> {
    let kind = entity.as_str();
    conn.execute(
        "delete from possible_duplicates where (entity_type = $1 and entity_id = $2) or (other_type = $1 and other_id = $2)",
        args![kind, id],
    )
    .await?;
    let phone = phone.filter(|p| p.len() >= MIN_PHONE_DIGITS);
    for other in OTHERS {
        for (matched_on, value) in [("email", &email), ("phone", &phone)] {
            let Some(value) = value else { continue };
            let self_id = if other == entity { id } else { 0 };
            let sql = candidates(other, matched_on, "$1", "$3", "$2");
            let found = conn.fetch_all(&sql, args![value.clone(), false, self_id]).await?;
            record_matches(conn, entity, id, &found, linked).await?;
        }
    }
    Ok(())
}

/// Inserts a new record (`row`, its table's columns; `returning`, the clause that answers it) and
/// matches it, in the caller's transaction; answers the inserted row. A new record (created, not
/// converted) has nothing linked to it yet. On PostgreSQL this is one statement, the insert and
/// the matching and storing of its possible duplicates: one round trip per created record
/// instead of two. SQLite, which has no insert inside a `with`, runs the insert and then
/// [`match_new`].
pub async fn insert_new(
    conn: &mut WriteConn,
    entity: EntityType,
    mut row: Columns,
    returning: &str,
) -> Result<Row, DbError> {
    set_norms(&mut row);
    let table = table(entity);
    if !conn.is_postgres() {
        let inserted = row.insert_returning(conn, table, returning).await?;
        match_new(conn, entity, inserted.get("id")?).await?;
        return Ok(inserted);
    }
    let sql = insert_matched_sql(entity, &row, returning);
    let mut values = row.into_values();
    values.push(false.into());
    conn.fetch_one(&sql, values).await
}

/// PostgreSQL's one statement for [`insert_new`]: `r` the insert, `m` the candidates on the
/// e-mail and phone the insert sets (its own placeholders; the candidates are read as before the
/// insert, so the record does not match itself), `d` the matches stored both ways. The values
/// are the row's and then `false` for the discarded flag.
fn insert_matched_sql(entity: EntityType, row: &Columns, returning: &str) -> String {
    let insert = row.insert_returning_sql(table(entity), returning);
    let discarded = format!("${}", row.len() + 1);
    let mut parts = Vec::new();
    for (matched_on, norm) in [("email", "email_norm"), ("phone", "phone_norm")] {
        let value = row.placeholder(norm).expect("set_norms sets both norms");
        for other in OTHERS {
            let mut part = candidates(other, matched_on, &value, "0", &discarded);
            if matched_on == "phone" {
                part.push_str(&format!(" and length(o.phone_norm) >= {MIN_PHONE_DIGITS}"));
            }
            parts.push(part);
        }
    }
    let kind = entity.as_str();
    let created = row.placeholder("created_at").expect("a new record has its created_at");
    format!(
        "with r as ({insert}), m as ({}), \
         d as (insert into possible_duplicates (entity_type, entity_id, other_type, other_id, matched_on, created_at) \
         select '{kind}', r.id, m.other_type, m.other_id, m.matched_on, {created} from r cross join m \
         union all select m.other_type, m.other_id, '{kind}', r.id, m.matched_on, {created} from r cross join m \
         on conflict do nothing) \
         select * from r",
        parts.join(" union all ")
    )
}

/// A new record on SQLite (see [`insert_new`]): matched in one statement that reads its
/// normalised values as stored by its insert.
async fn match_new(conn: &mut WriteConn, entity: EntityType, id: i64) -> Result<(), DbError> {
    static SQL: std::sync::LazyLock<[String; 2]> =
        std::sync::LazyLock::new(|| [EntityType::PreLead, EntityType::Lead].map(match_new_sql));
    let sql = &SQL[usize::from(entity == EntityType::Lead)];
    let found = conn.fetch_all(sql, args![id, false]).await?;
    record_matches(conn, entity, id, &found, &[]).await
}

/// `$1` the new record's id, `$2` false: every candidate on e-mail and on phone, in one union.
fn match_new_sql(entity: EntityType) -> String {
    let table = table(entity);
    let email = format!("(select email_norm from {table} where id = $1)");
    let phone = format!("(select phone_norm from {table} where id = $1 and length(phone_norm) >= {MIN_PHONE_DIGITS})");
    let mut parts = Vec::new();
    for other in OTHERS {
        let self_id = if other == entity { "$1" } else { "0" };
        parts.push(candidates(other, "email", &email, self_id, "$2"));
        parts.push(candidates(other, "phone", &phone, self_id, "$2"));
    }
    parts.join(" union all ")
}

/// Stores the matches `found` (`other_type, other_id, matched_on`), both ways, in one statement
/// (per [`MATCHES_PER_STATEMENT`]).
async fn record_matches(
    conn: &mut WriteConn,
    entity: EntityType,
    id: i64,
    found: &[crate::db::Row],
    linked: &[(EntityType, i64)],
) -> Result<(), DbError> {
    let kind = entity.as_str();
    let mut pairs = Vec::new();
    for row in found {
        let other_type: String = row.get(0)?;
        let other_id: i64 = row.get(1)?;
        let matched_on: String = row.get(2)?;
        let Some(other) = OTHERS.into_iter().find(|o| o.as_str() == other_type) else { continue };
        if linked.contains(&(other, other_id)) {
            continue;
        }
        pairs.push((other.as_str(), other_id, matched_on));
    }
    let now = time::now();
    // A person sent many times matches every earlier copy: at most this many matches' worth of
    // bound values at once (both engines cap their number).
    for chunk in pairs.chunks(MATCHES_PER_STATEMENT) {
        let mut values = Vec::with_capacity(chunk.len() * 12);
        for (other, other_id, matched_on) in chunk {
            values.extend(args![kind, id, *other, *other_id, matched_on.as_str(), now.as_str()]);
            values.extend(args![*other, *other_id, kind, id, matched_on.as_str(), now.as_str()]);
        }
        conn.execute(&insert_matches_sql(chunk.len() * 2), values).await?;
    }
    Ok(())
}

/// Matches (two rows each) written by one statement.
const MATCHES_PER_STATEMENT: usize = 50;

/// `rows` rows of possible duplicates, six values each.
fn insert_matches_sql(rows: usize) -> String {
    format!(
        "insert into possible_duplicates (entity_type, entity_id, other_type, other_id, matched_on, created_at) \
         values {} on conflict do nothing",
        crate::db::columns::value_rows(rows, 6)
    )
}

/// A record's possible duplicates, by type and id.
pub async fn of(
    conn: &mut (impl Fetch + ?Sized),
    entity: EntityType,
    id: i64,
) -> Result<Vec<PossibleDuplicate>, DbError> {
    let rows = conn
        .fetch_rows(
            "select other_type, other_id, matched_on from possible_duplicates where entity_type = $1 and entity_id = $2 \
             order by other_type, other_id, matched_on",
            args![entity.as_str(), id],
        )
        .await?;
    rows.iter()
        .map(|row| Ok(PossibleDuplicate { entity_type: row.get(0)?, id: row.get(1)?, matched_on: row.get(2)? }))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e_mail_and_phone_are_normalised() {
        assert_eq!(normalise_email("  John.Doe@Example.COM "), Some("john.doe@example.com".into()));
        assert_eq!(normalise_email("   "), None);
        assert_eq!(normalise_phone("+1 (555) 010-0199"), Some("15550100199".into()));
        assert_eq!(normalise_phone("n/a"), None);
    }

    #[test]
    fn matches_are_inserted_in_one_statement() {
        assert_eq!(
            insert_matches_sql(2),
            "insert into possible_duplicates (entity_type, entity_id, other_type, other_id, matched_on, created_at) \
             values ($1, $2, $3, $4, $5, $6), ($7, $8, $9, $10, $11, $12) on conflict do nothing"
        );
    }
}
