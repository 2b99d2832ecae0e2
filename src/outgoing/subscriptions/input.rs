//! Bodies of the subscription routes, checked field by field: every refusal is a 400 naming the
//! field (`url`, `events`, `description`, `secret`, `disabled`, `since`).

use serde_json::{Map, Value};

use super::store::{NewSubscription, SubscriptionPatch};
use crate::domain::time;
use crate::http::error::AppError;
use crate::outgoing::{signer, ssrf, types};

/// Longest accepted description and URL.
const MAX_DESCRIPTION: usize = 1000;
const MAX_URL: usize = 2048;
const FIELDS: [&str; 5] = ["url", "events", "description", "secret", "disabled"];

fn object(body: &[u8], required: bool) -> Result<Map<String, Value>, AppError> {
    if body.iter().all(u8::is_ascii_whitespace) && !required {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(AppError::bad_request("The body must be a JSON object")),
        Err(_) => Err(AppError::bad_request("The body is not valid JSON")),
    }
}

fn known_fields(map: &Map<String, Value>, allowed: &[&str]) -> Result<(), AppError> {
    match map.keys().find(|key| !allowed.contains(&key.as_str())) {
        None => Ok(()),
        Some(key) => Err(AppError::BadRequest {
            detail: format!("Unknown field {key:?}"),
            field: Some(key.clone()),
            allowed: Some(allowed.iter().map(|s| s.to_string()).collect()),
        }),
    }
}

fn url(value: &Value, allow_private: bool) -> Result<String, AppError> {
    let text = value.as_str().ok_or_else(|| AppError::invalid_field("url", "url must be a string"))?;
    if text.len() > MAX_URL {
        return Err(AppError::invalid_field("url", format!("url must be at most {MAX_URL} characters")));
    }
    let parsed = ssrf::check_url(text, allow_private).map_err(|why| AppError::invalid_field("url", why.to_string()))?;
    Ok(parsed.to_string())
}

fn events(value: &Value) -> Result<Option<Vec<String>>, AppError> {
    let list = match value {
        Value::Null => return Ok(None),
        Value::Array(list) => list,
        _ => return Err(AppError::invalid_field("events", "events must be a list of event types")),
    };
    if list.is_empty() {
        return Err(AppError::invalid_field("events", "events must name at least one type; omit it for every type"));
    }
    let mut names = Vec::with_capacity(list.len());
    for item in list {
        match item.as_str() {
            Some(name) if types::is_known(name) => {
                if !names.iter().any(|n: &String| n == name) {
                    names.push(name.to_string());
                }
            }
            _ => {
                return Err(AppError::BadRequest {
                    detail: format!("Unknown event type {item}"),
                    field: Some("events".into()),
                    allowed: Some(types::EVENT_TYPES.iter().map(|s| s.to_string()).collect()),
                })
            }
        }
    }
    Ok(Some(names))
}

fn description(value: &Value) -> Result<Option<String>, AppError> {
    match value {
        Value::Null => Ok(None),
        Value::String(text) if text.chars().count() <= MAX_DESCRIPTION => {
            Ok(Some(text.clone()).filter(|t| !t.trim().is_empty()))
        }
        Value::String(_) => Err(AppError::invalid_field(
            "description",
            format!("description must be at most {MAX_DESCRIPTION} characters"),
        )),
        _ => Err(AppError::invalid_field("description", "description must be a string")),
    }
}

fn secret(value: &Value) -> Result<String, AppError> {
    let text = value.as_str().ok_or_else(|| AppError::invalid_field("secret", "secret must be a string"))?;
    signer::secret_key(text).map_err(|why| AppError::invalid_field("secret", why))?;
    Ok(text.to_string())
}

fn flag(value: &Value) -> Result<bool, AppError> {
    value.as_bool().ok_or_else(|| AppError::invalid_field("disabled", "disabled must be true or false"))
}

pub fn new_subscription(body: &[u8], allow_private: bool) -> Result<NewSubscription, AppError> {
    let map = object(body, true)?;
    known_fields(&map, &FIELDS)?;
    let url = match map.get("url") {
        None | Some(Value::Null) => return Err(AppError::invalid_field("url", "url is required")),
        Some(value) => url(value, allow_private)?,
    };
    Ok(NewSubscription {
        url,
        events: map.get("events").map(events).transpose()?.flatten(),
        description: map.get("description").map(description).transpose()?.flatten(),
        secret: match map.get("secret") {
            None | Some(Value::Null) => signer::generate_secret(),
            Some(value) => secret(value)?,
        },
        disabled: map.get("disabled").map(flag).transpose()?.unwrap_or(false),
    })
}

pub fn patch(body: &[u8], allow_private: bool) -> Result<SubscriptionPatch, AppError> {
    let map = object(body, true)?;
    known_fields(&map, &["url", "events", "description", "disabled"])?;
    Ok(SubscriptionPatch {
        url: map.get("url").map(|v| url(v, allow_private)).transpose()?,
        events: map.get("events").map(events).transpose()?,
        description: map.get("description").map(description).transpose()?,
        disabled: map.get("disabled").map(flag).transpose()?,
    })
}

/// `{secret?}` of a rotation (an empty body generates one).
pub fn rotation(body: &[u8]) -> Result<Option<String>, AppError> {
    let map = object(body, false)?;
    known_fields(&map, &["secret"])?;
    match map.get("secret") {
        None | Some(Value::Null) => Ok(None),
        Some(value) => secret(value).map(Some),
    }
}

/// `{since}` of a recovery, an RFC 3339 date-time.
pub fn since(body: &[u8]) -> Result<String, AppError> {
    let map = object(body, true)?;
    known_fields(&map, &["since"])?;
    map.get("since").and_then(Value::as_str).and_then(time::parse_datetime).ok_or_else(|| {
        AppError::invalid_field("since", "since must be an RFC 3339 date-time such as 2024-01-20T14:00:00Z")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(result: Result<NewSubscription, AppError>) -> String {
        result.err().expect("refused").body().field.expect("names a field")
    }

    #[test]
    fn each_bad_field_is_named() {
        let cases = [
            (r#"{}"#, "url"),
            (r#"{"url": "notaurl"}"#, "url"),
            (r#"{"url": "ftp://example.com/"}"#, "url"),
            (r#"{"url": "http://127.0.0.1/"}"#, "url"),
            (r#"{"url": "https://example.com/", "events": []}"#, "events"),
            (r#"{"url": "https://example.com/", "events": ["lead.exploded"]}"#, "events"),
            (r#"{"url": "https://example.com/", "events": "lead.created"}"#, "events"),
            (r#"{"url": "https://example.com/", "secret": "hunter2"}"#, "secret"),
            (r#"{"url": "https://example.com/", "secret": "whsec_c2hvcnQ="}"#, "secret"),
            (r#"{"url": "https://example.com/", "disabled": "yes"}"#, "disabled"),
            (r#"{"url": "https://example.com/", "description": 5}"#, "description"),
            (r#"{"url": "https://example.com/", "colour": "red"}"#, "colour"),
        ];
        for (body, field) in cases {
            assert_eq!(field_of(new_subscription(body.as_bytes(), false)), field, "{body}");
        }
    }

    #[test]
    fn a_good_body_is_taken_with_defaults() {
        let new = new_subscription(
            br#"{"url": "https://example.com/hooks", "events": ["lead.created", "lead.created"]}"#,
            false,
        )
        .unwrap();
        assert_eq!(new.events, Some(vec!["lead.created".to_string()]));
        assert!(new.secret.starts_with("whsec_"));
        assert!(!new.disabled);
        assert!(new_subscription(br#"{"url": "http://127.0.0.1:9/"}"#, true).is_ok());
    }

    #[test]
    fn since_must_be_a_date_time() {
        assert_eq!(since(br#"{"since": "2024-01-20T14:00:00Z"}"#).unwrap(), "2024-01-20T14:00:00.000000Z");
        assert_eq!(since(br#"{"since": "yesterday"}"#).unwrap_err().body().field.as_deref(), Some("since"));
    }
}
