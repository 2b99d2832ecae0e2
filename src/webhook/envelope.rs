//! The common request format: `{event, source, data, timestamp, signature}`.

use serde::Deserialize;
use serde_json::Value;

use super::parse_error::from_serde_path;
use crate::http::error::AppError;

/// JSON nesting beyond this is refused before a value is built (serde_json's own limit is 128).
const MAX_TEXT_CHECK_DEPTH: usize = 128;

#[derive(Debug, Deserialize)]
pub struct Envelope {
    pub event: Option<String>,
    pub source: Option<String>,
    pub data: Option<Value>,
    /// Accepted and kept in the log (with the raw body); verification uses headers only.
    #[serde(default)]
    pub timestamp: Option<Value>,
    #[serde(default)]
    pub signature: Option<Value>,
}

/// Whether the Content-Type is JSON (`application/json`, with parameters, or `…+json`).
pub fn is_json_content_type(value: Option<&str>) -> bool {
    let Some(value) = value else { return false };
    let essence = value.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

pub fn parse(body: &[u8]) -> Result<Envelope, AppError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(AppError::bad_request("The request body is empty; send a JSON object"));
    }
    let value: Value = serde_json::from_slice(body).map_err(|err| AppError::bad_request(malformed(&err)))?;
    if !value.is_object() {
        return Err(AppError::bad_request("The request body must be a JSON object"));
    }
    if contains_nul(&value, 0) {
        return Err(AppError::bad_request("Text must not contain NUL characters"));
    }
    let envelope: Envelope = serde_path_to_error::deserialize(value).map_err(|err| from_serde_path(err, "body"))?;
    Ok(envelope)
}

/// A JSON syntax error in plain words, with where it is (serde_json's own text speaks of what
/// its parser expected).
fn malformed(err: &serde_json::Error) -> String {
    let text = err.to_string();
    let what = if err.is_eof() {
        "the body ends before the JSON value does"
    } else if text.contains("number out of range") {
        "a number is too large"
    } else if text.contains("recursion limit") {
        "it is nested too deeply"
    } else if text.contains("trailing") {
        "there is more after the JSON value"
    } else if text.contains("control character") {
        "a string holds an unescaped control character"
    } else if text.contains("escape") || text.contains("unicode") || text.contains("surrogate") {
        "a string holds an invalid escape or invalid UTF-8"
    } else if text.contains("key must be a string") {
        "an object key is not a string"
    } else {
        "this is not valid JSON syntax"
    };
    format!("Malformed JSON at line {}, column {}: {what}", err.line(), err.column())
}

/// NUL cannot be stored in PostgreSQL text and is never meaningful in a CRM field.
fn contains_nul(value: &Value, depth: usize) -> bool {
    if depth > MAX_TEXT_CHECK_DEPTH {
        return false;
    }
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(|v| contains_nul(v, depth + 1)),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || contains_nul(v, depth + 1)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        assert!(is_json_content_type(Some("application/json")));
        assert!(is_json_content_type(Some("Application/JSON; charset=utf-8")));
        assert!(is_json_content_type(Some("application/cloudevents+json")));
        assert!(!is_json_content_type(Some("text/plain")));
        assert!(!is_json_content_type(None));
    }

    #[test]
    fn hostile_bodies_are_clear_400s() {
        let deep = "[".repeat(100_000);
        for body in [
            &b""[..],
            b"   ",
            b"{",
            b"[]",
            b"\"x\"",
            b"{\"a\":1e999}",
            b"{\"a\":\"\\u0000\"}",
            b"\xff\xfe",
            deep.as_bytes(),
        ] {
            let err = parse(body).unwrap_err();
            assert_eq!(err.status(), axum::http::StatusCode::BAD_REQUEST, "{:?}", String::from_utf8_lossy(body));
            let detail = err.body().detail;
            assert!(!detail.contains("expected") && !detail.contains("EOF"), "{detail}");
        }
    }

    #[test]
    fn a_wrong_event_type_names_the_field() {
        let err = parse(br#"{"event": 5, "data": {}}"#).unwrap_err();
        assert_eq!(err.body().field.as_deref(), Some("event"));
    }
}
