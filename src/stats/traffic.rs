//! `GET /api/v1/stats/traffic`: requests per minute, hour or day read from the rollups
//! (`traffic_minutes` by minute, `traffic_hours` by hour and by day, whose ranges start and end on
//! the hour), with failures, counts by status and approximate p50/p99; totals by event and by
//! source; deliveries by status and the queue of pending deliveries.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, DurationRound, Utc};
use serde::Serialize;

use super::histogram::Histogram;
use super::rollup::{self, Rollup};
use crate::db::{DbError, Fetch, Value};
use crate::domain::time;
use crate::http::error::AppError;
use crate::http::query;

/// Buckets answered per call at most (a day by minute).
pub const MAX_BUCKETS: i64 = 1440;
pub const PARAMETERS: [&str; 4] = ["since", "until", "bucket", "direction"];
pub const BUCKETS: [&str; 3] = ["minute", "hour", "day"];
pub const DIRECTIONS: [&str; 2] = ["incoming", "outgoing"];
/// Delivery statuses, each answered (0 when there is none).
const DELIVERY_STATUSES: [&str; 4] = ["pending", "delivered", "dead", "cancelled"];
/// A request is counted as failed unless its status is 2xx (as the log's `is_successful`).
const FAILED: &str = "case when response_status >= 200 and response_status < 300 then 0 else requests end";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bucket {
    Minute,
    Hour,
    Day,
}

impl Bucket {
    fn parse(value: &str) -> Result<Bucket, AppError> {
        Ok(match query::one_of("bucket", value, &BUCKETS)?.as_str() {
            "minute" => Bucket::Minute,
            "hour" => Bucket::Hour,
            _ => Bucket::Day,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Bucket::Minute => "minute",
            Bucket::Hour => "hour",
            Bucket::Day => "day",
        }
    }

    fn length(self) -> Duration {
        match self {
            Bucket::Minute => Duration::minutes(1),
            Bucket::Hour => Duration::hours(1),
            Bucket::Day => Duration::days(1),
        }
    }

    /// The rollup read: per minute for minutes, per hour for hours and days.
    fn rollup(self) -> Rollup {
        match self {
            Bucket::Minute => rollup::MINUTES,
            Bucket::Hour | Bucket::Day => rollup::HOURS,
        }
    }

    /// How many leading characters of a stored time name its bucket (`2024-01-20T14:07`).
    fn prefix(self) -> usize {
        match self {
            Bucket::Minute => 16,
            Bucket::Hour => 13,
            Bucket::Day => 10,
        }
    }
}

/// A validated query: the buckets start at `first`, `count` of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrafficQuery {
    pub first: DateTime<Utc>,
    pub count: i64,
    pub bucket: Bucket,
    pub direction: Option<String>,
}

impl TrafficQuery {
    fn end(&self) -> DateTime<Utc> {
        self.first + self.bucket.length() * self.count as i32
    }
}

fn instant(name: &str, value: &str) -> Result<DateTime<Utc>, AppError> {
    let text = query::instant(name, value)?;
    DateTime::parse_from_rfc3339(&text)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|_| AppError::invalid_field(name, format!("{name} is out of range")))
}

/// Parses the query string. `until` defaults to `now`, `since` to an hour before `until`,
/// `bucket` to `minute`. The buckets answered are those that start in `[since, until)`.
pub fn parse(raw: Option<&str>, now: DateTime<Utc>) -> Result<TrafficQuery, AppError> {
    let (mut since, mut until, mut bucket, mut direction) = (None, None, Bucket::Minute, None);
    for (name, value) in query::pairs(raw)? {
        match name.as_str() {
            "since" => since = Some(instant("since", &value)?),
            "until" => until = Some(instant("until", &value)?),
            "bucket" => bucket = Bucket::parse(&value)?,
            "direction" => direction = Some(query::one_of("direction", &value, &DIRECTIONS)?),
            other => return Err(query::unknown(other, &PARAMETERS)),
        }
    }
    let until = until.unwrap_or(now);
    let since = since.unwrap_or(until - Duration::hours(1));
    if since > until {
        return Err(AppError::invalid_field("since", "since must not be later than until"));
    }
    let length = bucket.length();
    let floor = since.duration_trunc(length).map_err(|_| AppError::invalid_field("since", "since is out of range"))?;
    let first = if floor == since { since } else { floor + length };
    let last = until.duration_trunc(length).map_err(|_| AppError::invalid_field("until", "until is out of range"))?;
    let last = if last == until { last - length } else { last };
    let count = if last < first { 0 } else { (last - first).num_seconds() / length.num_seconds() + 1 };
    if count > MAX_BUCKETS {
        return Err(AppError::invalid_field(
            "since",
            format!(
                "since to until spans {count} {} buckets; at most {MAX_BUCKETS} are answered per call \
                 (narrow the range or take a longer bucket)",
                bucket.as_str()
            ),
        ));
    }
    Ok(TrafficQuery { first, count, bucket, direction })
}

/// One bucket of traffic.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TrafficBucket {
    /// Start of the bucket, RFC 3339 UTC.
    pub start: String,
    pub requests: i64,
    /// Requests answered outside 2xx (or not answered: status `0`, outgoing only).
    pub failed: i64,
    /// Requests by response status (`"0"`: an outgoing attempt that got no answer).
    #[schema(value_type = Object)]
    pub by_status: BTreeMap<String, i64>,
    /// Approximate median duration in ms (the upper bound of its 1-2-5 bucket); null without requests.
    pub p50_ms: Option<i64>,
    /// Approximate 99th percentile duration in ms, as `p50_ms`.
    pub p99_ms: Option<i64>,
}

/// Requests and failures of one event or source.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NamedCount {
    /// The event or source name; null for requests that had none (a 401 has neither).
    pub name: Option<String>,
    pub requests: i64,
    pub failed: i64,
}

/// Deliveries created in the range, by status.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryCounts {
    pub pending: i64,
    pub delivered: i64,
    pub dead: i64,
    pub cancelled: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Traffic {
    /// Start of the first bucket.
    pub since: String,
    /// End of the last bucket.
    pub until: String,
    /// `minute`, `hour` or `day`.
    pub bucket: String,
    /// `incoming`, `outgoing`, or null for both.
    pub direction: Option<String>,
    pub buckets: Vec<TrafficBucket>,
    /// All the buckets together (`start` is `since`).
    pub totals: TrafficBucket,
    /// Most requests first.
    pub by_event: Vec<NamedCount>,
    /// Most requests first.
    pub by_source: Vec<NamedCount>,
    /// Outgoing deliveries created in the range, by status.
    pub deliveries: DeliveryCounts,
    /// Deliveries pending now (waiting for their first attempt or a retry).
    pub queue_depth: i64,
}

/// A bucket being added up.
#[derive(Default)]
struct Acc {
    by_status: BTreeMap<i64, i64>,
    histogram: Histogram,
}

impl Acc {
    fn add(&mut self, status: i64, duration_bucket: i64, requests: i64) {
        *self.by_status.entry(status).or_insert(0) += requests;
        self.histogram.add(duration_bucket, requests);
    }

    fn merge(&mut self, other: &Acc) {
        for (status, n) in &other.by_status {
            *self.by_status.entry(*status).or_insert(0) += n;
        }
        self.histogram.merge(&other.histogram);
    }

    fn answer(self, start: String) -> TrafficBucket {
        let failed = self.by_status.iter().filter(|(status, _)| !(200..300).contains(*status)).map(|(_, n)| n).sum();
        TrafficBucket {
            start,
            requests: self.histogram.total(),
            failed,
            by_status: self.by_status.into_iter().map(|(status, n)| (status.to_string(), n)).collect(),
            p50_ms: self.histogram.quantile(0.50),
            p99_ms: self.histogram.quantile(0.99),
        }
    }
}

/// The rollup rows of the query's range (and direction): `from … where …` and its arguments.
fn range(query: &TrafficQuery) -> (String, Vec<Value>) {
    let Rollup { table, column, .. } = query.bucket.rollup();
    let mut args: Vec<Value> = vec![time::format(query.first).into(), time::format(query.end()).into()];
    let mut clause = format!("from {table} where {column} >= $1 and {column} < $2");
    if let Some(direction) = &query.direction {
        args.push(direction.clone().into());
        clause.push_str(" and direction = $3");
    }
    (clause, args)
}

pub async fn traffic(conn: &mut (impl Fetch + ?Sized), query: &TrafficQuery) -> Result<Traffic, DbError> {
    let (clause, args) = range(query);
    let prefix = query.bucket.prefix();
    let starts: Vec<String> =
        (0..query.count).map(|i| time::format(query.first + query.bucket.length() * i as i32)).collect();
    let slot_of: HashMap<String, usize> =
        starts.iter().enumerate().map(|(i, s)| (s[..prefix].to_string(), i)).collect();
    let mut accs: Vec<Acc> = starts.iter().map(|_| Acc::default()).collect();
    let column = query.bucket.rollup().column;
    let sql = format!(
        "select substr({column}, 1, {prefix}) as slot, response_status, duration_bucket, \
         cast(sum(requests) as bigint) as n {clause} group by 1, 2, 3"
    );
    for row in conn.fetch_rows(&sql, args.clone()).await? {
        if let Some(&slot) = slot_of.get(&row.get::<String>("slot")?) {
            accs[slot].add(row.get("response_status")?, row.get("duration_bucket")?, row.get("n")?);
        }
    }
    let mut total = Acc::default();
    accs.iter().for_each(|acc| total.merge(acc));
    let buckets = accs.into_iter().zip(starts).map(|(acc, start)| acc.answer(start)).collect();

    Ok(Traffic {
        since: time::format(query.first),
        until: time::format(query.end()),
        bucket: query.bucket.as_str().to_string(),
        direction: query.direction.clone(),
        buckets,
        totals: total.answer(time::format(query.first)),
        by_event: named(conn, "event", &clause, args.clone()).await?,
        by_source: named(conn, "source", &clause, args).await?,
        deliveries: deliveries(conn, query).await?,
        queue_depth: conn
            .fetch_rows(crate::outgoing::lease::PENDING_COUNT, vec![])
            .await?
            .first()
            .map(|row| row.get("n"))
            .transpose()?
            .unwrap_or(0),
    })
}

/// Requests and failures by `column` (`event` or `source`), most requests first.
async fn named(
    conn: &mut (impl Fetch + ?Sized),
    column: &str,
    clause: &str,
    args: Vec<Value>,
) -> Result<Vec<NamedCount>, DbError> {
    let sql = format!(
        "select {column} as name, cast(sum(requests) as bigint) as requests, \
         cast(sum({FAILED}) as bigint) as failed {clause} group by {column}"
    );
    let mut counts = conn
        .fetch_rows(&sql, args)
        .await?
        .iter()
        .map(|row| {
            let name: String = row.get("name")?;
            Ok(NamedCount {
                name: Some(name).filter(|n| !n.is_empty()),
                requests: row.get("requests")?,
                failed: row.get("failed")?,
            })
        })
        .collect::<Result<Vec<_>, DbError>>()?;
    counts.sort_by(|a, b| b.requests.cmp(&a.requests).then_with(|| a.name.cmp(&b.name)));
    Ok(counts)
}

async fn deliveries(conn: &mut (impl Fetch + ?Sized), query: &TrafficQuery) -> Result<DeliveryCounts, DbError> {
    let rows = conn
        .fetch_rows(
            "select status, count(*) as n from webhook_deliveries where created_at >= $1 and created_at < $2 \
             group by status",
            vec![time::format(query.first).into(), time::format(query.end()).into()],
        )
        .await?;
    let mut by_status: HashMap<String, i64> = DELIVERY_STATUSES.iter().map(|s| (s.to_string(), 0)).collect();
    for row in rows {
        by_status.insert(row.get("status")?, row.get("n")?);
    }
    Ok(DeliveryCounts {
        pending: by_status["pending"],
        delivered: by_status["delivered"],
        dead: by_status["dead"],
        cancelled: by_status["cancelled"],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn buckets_are_those_that_start_in_the_range() {
        let now = at("2024-01-20T14:07:31Z");
        let q = parse(None, now).unwrap();
        assert_eq!((q.first, q.count, q.bucket), (at("2024-01-20T13:08:00Z"), 60, Bucket::Minute));
        let q = parse(Some("since=2024-01-20&until=2024-01-21"), now).unwrap();
        assert_eq!((q.first, q.count), (at("2024-01-20T00:00:00Z"), 1440));
        let q = parse(Some("since=2024-01-20T10:30:00Z&until=2024-01-20T12:00:00Z&bucket=hour"), now).unwrap();
        assert_eq!((q.first, q.count), (at("2024-01-20T11:00:00Z"), 1));
        let q = parse(Some("since=2024-01-01&until=2024-01-08&bucket=DAY&direction=outgoing"), now).unwrap();
        assert_eq!((q.count, q.direction.as_deref()), (7, Some("outgoing")));
        let q = parse(Some("since=2024-01-20T14:00:00Z&until=2024-01-20T14:00:00Z"), now).unwrap();
        assert_eq!(q.count, 0);
        // A day from an unaligned now is still 1,440 minutes: the partial first minute is left out.
        let q = parse(Some("since=2024-01-19T14:07:31Z"), now).unwrap();
        assert_eq!(q.count, 1440);
    }

    #[test]
    fn bad_values_name_their_parameter() {
        let now = at("2024-01-20T14:07:31Z");
        for (raw, field) in [
            ("since=yesterday", "since"),
            ("until=2024-13-01", "until"),
            ("bucket=week", "bucket"),
            ("direction=sideways", "direction"),
            ("since=2024-01-21&until=2024-01-20", "since"),
            ("since=2024-01-18&until=2024-01-20", "since"),
            ("since=2020-01-01&until=2024-01-20&bucket=day", "since"),
            ("colour=red", "colour"),
        ] {
            let err = parse(Some(raw), now).unwrap_err();
            assert_eq!(err.body().field.as_deref(), Some(field), "{raw}");
        }
        assert!(parse(Some("since=2024-01-18&until=2024-01-20&bucket=hour"), now).is_ok());
    }
}
