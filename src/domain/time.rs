//! Times are stored as fixed-width RFC 3339 UTC text with microseconds
//! (`2024-01-20T14:00:00.000000Z`), which sorts correctly as text on both engines.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

pub fn format(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub fn now() -> String {
    format(Utc::now())
}

/// An RFC 3339 date-time, normalised to UTC.
pub fn parse_datetime(text: &str) -> Option<String> {
    DateTime::parse_from_rfc3339(text.trim()).ok().map(|at| format(at.with_timezone(&Utc)))
}

/// An RFC 3339 date-time or a plain `YYYY-MM-DD` date (taken as midnight UTC).
pub fn parse_date_or_datetime(text: &str) -> Option<String> {
    parse_datetime(text).or_else(|| {
        NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
            .ok()
            .and_then(|date| date.and_hms_opt(0, 0, 0))
            .map(|naive| format(naive.and_utc()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_offsets_to_utc_fixed_width() {
        assert_eq!(parse_datetime("2024-01-20T14:00:00Z").unwrap(), "2024-01-20T14:00:00.000000Z");
        assert_eq!(parse_datetime("2024-01-20T16:00:00+02:00").unwrap(), "2024-01-20T14:00:00.000000Z");
        assert_eq!(parse_datetime("tomorrow"), None);
        assert_eq!(parse_date_or_datetime("2024-02-01").unwrap(), "2024-02-01T00:00:00.000000Z");
    }
}
