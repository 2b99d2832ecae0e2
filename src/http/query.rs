//! Query-string parameters of the read and stats routes: each bad value is a 400 that names its
//! parameter. Also the opaque keyset cursors (`next_cursor`) those routes hand out.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use super::error::AppError;
use crate::domain::time;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

/// The `name=value` pairs, in order; a query string that is not form-encoded is a 400.
pub fn pairs(raw: Option<&str>) -> Result<Vec<(String, String)>, AppError> {
    serde_urlencoded::from_str(raw.unwrap_or(""))
        .map_err(|_| AppError::bad_request("The query string could not be parsed"))
}

pub fn unknown(name: &str, known: &[&str]) -> AppError {
    AppError::BadRequest {
        detail: format!("Unknown query parameter {name:?}"),
        field: Some(name.to_string()),
        allowed: Some(known.iter().map(|p| p.to_string()).collect()),
    }
}

pub fn whole(name: &str, value: &str, min: i64, max: i64) -> Result<i64, AppError> {
    value
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| AppError::invalid_field(name, format!("{name} must be a whole number from {min} to {max}")))
}

/// `limit`: 1 to 200.
pub fn limit(value: &str) -> Result<i64, AppError> {
    whole("limit", value, 1, MAX_LIMIT)
}

/// An RFC 3339 date-time or a `YYYY-MM-DD` date (midnight UTC), as stored (UTC, fixed width).
pub fn instant(name: &str, value: &str) -> Result<String, AppError> {
    time::parse_date_or_datetime(value).ok_or_else(|| {
        AppError::invalid_field(name, format!("{name} must be an RFC 3339 date-time such as 2024-01-20T14:00:00Z"))
    })
}

pub fn flag(name: &str, value: &str) -> Result<bool, AppError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(AppError::invalid_field(name, format!("{name} must be true or false"))),
    }
}

/// A value of a fixed set, case-insensitive, answered lower-case.
pub fn one_of(name: &str, value: &str, allowed: &[&str]) -> Result<String, AppError> {
    let value = value.trim().to_ascii_lowercase();
    if allowed.contains(&value.as_str()) {
        return Ok(value);
    }
    Err(AppError::BadRequest {
        detail: format!("{name} must be one of: {}", allowed.join(", ")),
        field: Some(name.to_string()),
        allowed: Some(allowed.iter().map(|v| v.to_string()).collect()),
    })
}

/// A keyset position: the sort key values of the last item of a page, with a tag saying which
/// order they belong to. Opaque to clients (URL-safe base64).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub order: String,
    pub keys: Vec<String>,
}

impl Cursor {
    pub fn new(order: &str, keys: Vec<String>) -> Self {
        Cursor { order: order.to_string(), keys }
    }

    pub fn encode(&self) -> String {
        let mut text = self.order.clone();
        for key in &self.keys {
            text.push('\n');
            text.push_str(key);
        }
        URL_SAFE_NO_PAD.encode(text)
    }

    /// The cursor of `order` with `keys` keys, or a 400 naming `cursor`.
    pub fn decode(value: &str, order: &str, keys: usize) -> Result<Cursor, AppError> {
        let malformed = || {
            AppError::invalid_field("cursor", "cursor is not a cursor this list handed out (use next_cursor as given)")
        };
        let bytes = URL_SAFE_NO_PAD.decode(value.trim()).map_err(|_| malformed())?;
        let text = String::from_utf8(bytes).map_err(|_| malformed())?;
        let mut parts = text.split('\n');
        if parts.next() != Some(order) {
            return Err(malformed());
        }
        let keys_found: Vec<String> = parts.map(str::to_string).collect();
        if keys_found.len() != keys || keys_found.iter().any(String::is_empty) {
            return Err(malformed());
        }
        Ok(Cursor { order: order.to_string(), keys: keys_found })
    }

    /// The key at `index` as a whole number, or a 400 naming `cursor`.
    pub fn id(&self, index: usize) -> Result<i64, AppError> {
        self.keys[index]
            .parse()
            .map_err(|_| AppError::invalid_field("cursor", "cursor is not a cursor this list handed out"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_and_a_foreign_one_is_refused() {
        let cursor = Cursor::new("updated", vec!["2024-01-20T14:00:00.000000Z".into(), "7".into()]);
        let text = cursor.encode();
        assert_eq!(Cursor::decode(&text, "updated", 2).unwrap(), cursor);
        for bad in [text.as_str(), "!!", "", "aWQ"] {
            let err = Cursor::decode(bad, "id", 1).unwrap_err();
            assert_eq!(err.body().field.as_deref(), Some("cursor"), "{bad}");
        }
        assert!(Cursor::new("id", vec!["x".into()]).id(0).is_err());
    }

    #[test]
    fn parameters_name_themselves_when_refused() {
        assert_eq!(limit("0").unwrap_err().body().field.as_deref(), Some("limit"));
        assert_eq!(limit("201").unwrap_err().body().field.as_deref(), Some("limit"));
        assert_eq!(limit("200").unwrap(), 200);
        assert_eq!(instant("since", "soon").unwrap_err().body().field.as_deref(), Some("since"));
        assert_eq!(instant("since", "2024-01-20").unwrap(), "2024-01-20T00:00:00.000000Z");
        assert_eq!(flag("discarded", "maybe").unwrap_err().body().field.as_deref(), Some("discarded"));
        let err = one_of("status", "nope", &["new"]).unwrap_err();
        assert_eq!(err.body().allowed, Some(vec!["new".to_string()]));
        assert_eq!(one_of("status", "NEW", &["new"]).unwrap(), "new");
    }
}
