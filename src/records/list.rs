//! Lists of pre-leads, leads and customers: the filters of design §8 checked into SQL, keyset
//! paging newest first (`id` descending), and `sort=updated_at` for syncing integrations (oldest
//! change first, resuming after the last change answered, answering only changes older than the
//! settle window so that one committing late is not skipped). Filters an index answers reach
//! their rows as [`super::driver`] decides; `created_until` starts its walk at the newest block
//! of ids that can match ([`created`]).

use std::time::Duration;

use serde::Serialize;

use super::driver::{self, IdSource};
use super::Record;
use crate::db::{Engine, Fetch, Value};
use crate::domain::values::{Priority, Source};
use crate::domain::{time, EntityType};
use crate::http::error::AppError;
use crate::http::query::{self, Cursor};

const PRE_LEAD_STATUSES: &[&str] =
    &["new", "contacted", "working", "qualified", "on_hold", "closed_not_converted", "converted"];
const LEAD_STATUSES: &[&str] = &["new", "contacted", "qualified", "proposal_sent", "negotiation", "won", "lost"];
const SORTS: &[&str] = &["created_at", "updated_at"];
const NEWEST: &str = "id";
const UPDATED: &str = "updated_at";

/// The parameters a list of this kind takes.
fn parameters(entity: EntityType) -> &'static [&'static str] {
    match entity {
        EntityType::PreLead => &[
            "limit",
            "cursor",
            "sort",
            "status",
            "source",
            "discarded",
            "has_duplicates",
            "created_since",
            "created_until",
            "updated_since",
            "q",
        ],
        EntityType::Lead => &[
            "limit",
            "cursor",
            "sort",
            "status",
            "source",
            "priority",
            "assigned_to",
            "discarded",
            "has_duplicates",
            "created_since",
            "created_until",
            "updated_since",
            "q",
        ],
        EntityType::Customer => {
            &["limit", "cursor", "sort", "has_duplicates", "created_since", "created_until", "updated_since", "q"]
        }
    }
}

/// A checked list query: the `where` conditions on `r` with their values, the order, and paging.
#[derive(Debug)]
pub struct ListQuery {
    pub limit: i64,
    pub by_update: bool,
    cursor: Option<String>,
    conditions: Vec<String>,
    args: Vec<Value>,
    /// Filters an index answers (see [`driver`]).
    sources: Vec<IdSource>,
}

impl ListQuery {
    fn push(&mut self, condition: impl FnOnce(usize) -> String, value: Value) {
        self.args.push(value);
        let n = self.args.len();
        self.conditions.push(condition(n));
    }
}

/// The smallest text above every text that starts with `prefix`, in code point order (the order
/// of SQLite's `BINARY` and of PostgreSQL's `"C"` collation, which the searched columns use):
/// `text >= prefix and text < successor(prefix)` is exactly "starts with", and an index range.
/// `None` when no text is above them all (the prefix is all U+10FFFF).
fn successor(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match last as u32 + 1 {
            0xD800 => 0xE000,
            n => n,
        };
        if let Some(c) = char::from_u32(next) {
            chars.push(c);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// The values a list's parameter takes when they are a fixed set (for the document).
pub fn allowed(entity: EntityType, parameter: &str) -> Option<&'static [&'static str]> {
    match parameter {
        "sort" => Some(SORTS),
        "status" if entity == EntityType::Lead => Some(LEAD_STATUSES),
        "status" => Some(PRE_LEAD_STATUSES),
        "source" => Some(Source::ALLOWED),
        "priority" => Some(Priority::ALLOWED),
        _ => None,
    }
}

/// The parameters that take a date-time.
pub const INSTANTS: [&str; 3] = ["created_since", "created_until", "updated_since"];

pub fn parse(entity: EntityType, raw: Option<&str>) -> Result<ListQuery, AppError> {
    let known = parameters(entity);
    let mut query = ListQuery {
        limit: query::DEFAULT_LIMIT,
        by_update: false,
        cursor: None,
        conditions: Vec::new(),
        args: Vec::new(),
        sources: Vec::new(),
    };
    let table = crate::duplicates::table(entity);
    for (name, value) in query::pairs(raw)? {
        if !known.contains(&name.as_str()) {
            return Err(query::unknown(&name, known));
        }
        match name.as_str() {
            "limit" => query.limit = query::limit(&value)?,
            "cursor" => query.cursor = Some(value),
            "sort" => query.by_update = query::one_of("sort", &value, SORTS)? == UPDATED,
            "status" => {
                let allowed = if entity == EntityType::Lead { LEAD_STATUSES } else { PRE_LEAD_STATUSES };
                let status = query::one_of("status", &value, allowed)?;
                query.push(|n| format!("r.lead_status = ${n}"), status.into());
            }
            "source" => {
                let source = query::one_of("source", &value, Source::ALLOWED)?;
                query.push(|n| format!("r.source = ${n}"), source.into());
            }
            "priority" => {
                let priority = query::one_of("priority", &value, Priority::ALLOWED)?;
                query.push(|n| format!("r.priority = ${n}"), priority.into());
            }
            "assigned_to" => {
                let assigned = query::whole("assigned_to", &value, i64::MIN, i64::MAX)?;
                query.push(|n| format!("r.assigned_to = ${n}"), assigned.into());
            }
            "discarded" => {
                let discarded = query::flag("discarded", &value)?;
                query.push(|n| format!("r.is_discarded = ${n}"), discarded.into());
            }
            "has_duplicates" => {
                let wanted = query::flag("has_duplicates", &value)?;
                let kind = entity.as_str();
                let exists = format!(
                    "exists (select 1 from possible_duplicates d where d.entity_type = '{kind}' and d.entity_id = r.id)"
                );
                if wanted {
                    let ids = format!("select entity_id as id from possible_duplicates where entity_type = '{kind}'");
                    let below = format!(
                        "exists (select 1 from possible_duplicates d where d.entity_type = '{kind}' \
                         and d.entity_id = r.id and d.entity_id < ?1)"
                    );
                    let source = IdSource::new(vec![ids], exists.clone(), exists, Vec::new()).with_plain_below(below);
                    query.sources.push(source);
                } else {
                    query.conditions.push(format!("not {exists}"));
                }
            }
            "created_since" => {
                let at = query::instant("created_since", &value)?;
                query.sources.push(created(table, ">=", at));
            }
            "created_until" => {
                let at = query::instant("created_until", &value)?;
                query.sources.push(created(table, "<", at));
            }
            "updated_since" => {
                let at = query::instant("updated_since", &value)?;
                query.push(|n| format!("r.updated_at >= ${n}"), at.into());
            }
            "q" => query.sources.push(q_source(table, &value)?),
            _ => unreachable!("every known parameter is matched"),
        }
    }
    Ok(query)
}

/// Ids in a block of `created_blocks` (migration 0012): `id / CREATED_BLOCK`.
const CREATED_BLOCK: i64 = 1024;

/// A creation-time bound (`op` is `>=` or `<`), read through the index of `(created_at, id)`.
/// `created_until` (`<`) is walked from the end of the newest block of ids holding a record
/// created before it, so that a bound far back does not walk every newer record first.
fn created(table: &str, op: &str, at: String) -> IdSource {
    let ids = format!("select id from {table} where created_at {op} ?1");
    let source = IdSource::new(
        vec![ids],
        format!("r.created_at || '' {op} ?1"),
        format!("r.created_at {op} ?1"),
        vec![at.into()],
    );
    if op != "<" {
        return source;
    }
    source.with_seek(format!(
        "select (block + 1) * {CREATED_BLOCK} from created_blocks where kind = '{table}' and created_at < ?1 \
         order by block desc limit 1"
    ))
}

/// `q`: a prefix of the e-mail, the last name or the company name (case-insensitive), or of the
/// phone's digits when `q` looks like a phone number. Each is a range of an index (see
/// [`successor`]), so wildcards and quotes are plain characters.
fn q_source(table: &str, value: &str) -> Result<IdSource, AppError> {
    let text = super::search::search_key(value.trim());
    if text.is_empty() {
        return Err(AppError::invalid_field("q", "q must not be blank"));
    }
    let mut ranges = Vec::new();
    let mut args = Vec::new();
    prefix_ranges(&["email_norm", "last_name_lower", "company_name_lower"], &text, &mut ranges, &mut args);
    let phone_like =
        text.chars().any(|c| c.is_ascii_digit()) && text.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c));
    if phone_like {
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        prefix_ranges(&["phone_norm"], &digits, &mut ranges, &mut args);
    }
    let branches =
        ranges.iter().map(|(column, range)| format!("select id from {table} where {}", range(column))).collect();
    let walk: Vec<String> = ranges.iter().map(|(column, range)| range(&format!("r.{column} || ''"))).collect();
    let plain: Vec<String> = ranges.iter().map(|(column, range)| range(&format!("r.{column}"))).collect();
    Ok(IdSource::new(branches, format!("({})", walk.join(" or ")), format!("({})", plain.join(" or ")), args))
}

type Range = Box<dyn Fn(&str) -> String + Send + Sync>;

/// `column` starts with `prefix`, for each column: the column and the range written on any
/// expression of it, with `?n` arguments added to `args`.
fn prefix_ranges(
    columns: &[&'static str],
    prefix: &str,
    ranges: &mut Vec<(&'static str, Range)>,
    args: &mut Vec<Value>,
) {
    args.push(prefix.into());
    let low = args.len();
    let high = successor(prefix).map(|above| {
        args.push(above.into());
        args.len()
    });
    for column in columns {
        let range: Range = match high {
            Some(high) => Box::new(move |on: &str| format!("({on} >= ?{low} and {on} < ?{high})")),
            None => Box::new(move |on: &str| format!("{on} >= ?{low}")),
        };
        ranges.push((*column, range));
    }
}

/// A page of a list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; `null` on the last page. With `sort=updated_at` it is
    /// always given (where to resume polling), and a page shorter than `limit` means "caught up".
    pub next_cursor: Option<String>,
}

/// One page of `R` for `query`. `settle` holds back changes younger than it in sync order.
pub async fn page<R: Record>(
    conn: &mut (impl Fetch + ?Sized),
    engine: Engine,
    mut query: ListQuery,
    settle: Duration,
) -> Result<Page<R>, AppError> {
    let order = if query.by_update { UPDATED } else { NEWEST };
    let cursor = match &query.cursor {
        Some(text) => Some(Cursor::decode(text, order, if query.by_update { 2 } else { 1 })?),
        None => None,
    };
    let sources = std::mem::take(&mut query.sources);
    let driver = driver::sparsest(conn, engine, &sources).await?;
    // Every id answered is below this: the cursor's (newest first), and where the matches of a
    // filter that knows it start.
    let mut below = match (&cursor, query.by_update) {
        (Some(cursor), false) => Some(cursor.id(0)?),
        _ => None,
    };
    for source in &sources {
        if let Some(seek) = source.seek(conn).await? {
            below = Some(below.map_or(seek, |id| id.min(seek)));
        }
    }
    for (i, source) in sources.iter().enumerate() {
        if engine == Engine::Postgres {
            let condition = source.plain(below, &mut query.args);
            query.conditions.push(condition);
        } else if Some(i) != driver {
            let condition = source.walk(&mut query.args);
            query.conditions.push(condition);
        }
    }
    if let Some(source) = driver.map(|i| &sources[i]) {
        // Nothing else narrows a newest-first page: its ids are the newest matches alone.
        let alone = query.conditions.is_empty() && !query.by_update;
        let newest = alone.then_some(query.limit + 1);
        let condition = source.among(below, newest, &mut query.args);
        query.conditions.push(condition);
    }
    if query.by_update {
        let settled = time::format(chrono::Utc::now() - settle);
        query.push(|n| format!("r.updated_at < ${n}"), settled.into());
        if let Some(cursor) = &cursor {
            let at = cursor.keys[0].clone();
            let id = cursor.id(1)?;
            query.args.push(at.into());
            query.args.push(id.into());
            let (a, i) = (query.args.len() - 1, query.args.len());
            query.conditions.push(format!("(r.updated_at > ${a} or (r.updated_at = ${a} and r.id > ${i}))"));
        }
    }
    if let Some(id) = below {
        query.push(|n| format!("r.id < ${n}"), id.into());
    }
    let clause =
        if query.conditions.is_empty() { String::new() } else { format!("where {}", query.conditions.join(" and ")) };
    let sort = if query.by_update { "r.updated_at, r.id" } else { "r.id desc" };
    let tail = format!("{clause} order by {sort} limit {}", query.limit + 1);
    let mut items: Vec<R> = super::load_where(conn, &tail, query.args).await?;
    let more = items.len() as i64 > query.limit;
    items.truncate(query.limit as usize);
    let last = items.last().map(|r| {
        if query.by_update {
            Cursor::new(order, vec![r.updated_at().to_string(), r.id().to_string()])
        } else {
            Cursor::new(order, vec![r.id().to_string()])
        }
    });
    let next_cursor = match (query.by_update, more) {
        (true, _) => last.or(cursor).map(|c| c.encode()),
        (false, true) => last.map(|c| c.encode()),
        (false, false) => None,
    };
    Ok(Page { items, next_cursor })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_is_the_range_below_its_successor() {
        assert_eq!(successor("abc").as_deref(), Some("abd"));
        assert_eq!(successor("50%").as_deref(), Some("50&"));
        assert_eq!(successor("o'").as_deref(), Some("o("));
        assert_eq!(successor("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(successor("\u{D7FF}").as_deref(), Some("\u{E000}"));
        assert_eq!(successor("\u{10FFFF}"), None);
    }

    #[test]
    fn parameters_are_checked_per_kind() {
        let err = parse(EntityType::Customer, Some("priority=high")).unwrap_err();
        assert_eq!(err.body().field.as_deref(), Some("priority"));
        let err = parse(EntityType::PreLead, Some("status=won")).unwrap_err();
        assert_eq!(err.body().field.as_deref(), Some("status"));
        assert!(parse(EntityType::Lead, Some("status=won&priority=HIGH&assigned_to=3&q=ac")).is_ok());
        let err = parse(EntityType::Lead, Some("q=%20")).unwrap_err();
        assert_eq!(err.body().field.as_deref(), Some("q"));
    }
}
