//! Keyset pages of the subscription and delivery lists: `limit` (1–200, default 50) and an
//! opaque `cursor` from the previous page's `next_cursor`, newest first.

use crate::http::error::AppError;

pub const MAX_LIMIT: i64 = 200;
pub const DEFAULT_LIMIT: i64 = 50;

pub struct PageQuery {
    pub limit: i64,
    /// Only rows with an id below this one.
    pub cursor: Option<i64>,
    /// The accepted filters that were given, in order.
    pub filters: Vec<(String, String)>,
}

pub fn parse(raw: Option<&str>, filters: &[&str]) -> Result<PageQuery, AppError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or(""))
        .map_err(|_| AppError::bad_request("The query string could not be parsed"))?;
    let mut query = PageQuery { limit: DEFAULT_LIMIT, cursor: None, filters: Vec::new() };
    for (name, value) in pairs {
        match name.as_str() {
            "limit" => {
                query.limit =
                    value.trim().parse::<i64>().ok().filter(|n| (1..=MAX_LIMIT).contains(n)).ok_or_else(|| {
                        AppError::invalid_field("limit", format!("limit must be a whole number from 1 to {MAX_LIMIT}"))
                    })?
            }
            "cursor" => {
                query.cursor = Some(value.trim().parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                    AppError::invalid_field("cursor", "cursor must be a next_cursor of a previous page")
                })?)
            }
            other if filters.contains(&other) => query.filters.push((name, value)),
            _ => {
                let mut allowed = vec!["limit".to_string(), "cursor".to_string()];
                allowed.extend(filters.iter().map(|s| s.to_string()));
                return Err(AppError::BadRequest {
                    detail: format!("Unknown query parameter {name:?}"),
                    field: Some(name),
                    allowed: Some(allowed),
                });
            }
        }
    }
    Ok(query)
}

/// Cuts a page fetched with `limit + 1` rows back to `limit` and names the cursor of the next.
pub fn next_cursor<T>(items: &mut Vec<T>, limit: i64, id: impl Fn(&T) -> i64) -> Option<String> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if items.len() > limit {
        items.truncate(limit);
        items.last().map(|last| id(last).to_string())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_cursors_and_filters() {
        let query = parse(Some("limit=2&cursor=10&status=dead"), &["status"]).unwrap();
        assert_eq!((query.limit, query.cursor), (2, Some(10)));
        assert_eq!(query.filters, vec![("status".to_string(), "dead".to_string())]);
        for bad in ["limit=0", "limit=201", "cursor=x", "colour=red"] {
            assert!(parse(Some(bad), &["status"]).is_err(), "{bad}");
        }
        let mut items = vec![5, 4, 3];
        assert_eq!(next_cursor(&mut items, 2, |n| *n), Some("4".to_string()));
        assert_eq!(items, vec![5, 4]);
        assert_eq!(next_cursor(&mut items, 2, |n| *n), None);
    }
}
