//! Turns a serde error (with the path where it happened) into a 400 that names the field, in
//! plain words: the domain types write their own refusals (`must be a whole number (got "abc")`);
//! anything serde itself says (`invalid type: …, expected …`) is reworded here, so that a
//! parser's vocabulary never reaches a client.

use crate::domain::values::{NOT_IN_SET, SET_BY_CONVERSION};
use crate::http::error::AppError;

/// `scope` is where the parsed value sits in the envelope (`data`); it is not repeated in the
/// message, since every field an integrator sends for an event lives there.
pub fn from_serde_path(err: serde_path_to_error::Error<serde_json::Error>, scope: &str) -> AppError {
    let path = err.path().to_string();
    let message = err.inner().to_string();
    let at = if path == "." { String::new() } else { path };
    if let Some(rest) = message.strip_prefix("missing field `") {
        let name = rest.split('`').next().unwrap_or(rest);
        let field = if at.is_empty() { name.to_string() } else { format!("{at}.{name}") };
        return AppError::invalid_field(field.clone(), format!("{field} is required"));
    }
    let field = if at.is_empty() { scope.to_string() } else { at };
    if let Some(start) = message.find(NOT_IN_SET) {
        let rest = &message[start + NOT_IN_SET.len()..];
        let list = rest.split(" (got").next().unwrap_or(rest);
        let allowed: Vec<String> = list.split(", ").map(str::to_string).collect();
        let detail = if message.contains(SET_BY_CONVERSION) {
            format!("{field} {}", message.replace(NOT_IN_SET, &format!("{field} {NOT_IN_SET}")))
        } else {
            format!("{field} {message}")
        };
        return AppError::BadRequest { detail, field: Some(field), allowed: Some(allowed) };
    }
    if field == scope && message.starts_with("invalid type") {
        return AppError::invalid_field(scope, format!("{scope} must be a JSON object"));
    }
    let detail = if message.starts_with("must ") || message.starts_with("is ") {
        format!("{field} {message}")
    } else {
        format!("{field} {}", reworded(&message))
    };
    AppError::invalid_field(field, detail)
}

/// serde's own wording (`invalid type: integer `5`, expected a string`) in plain words.
fn reworded(message: &str) -> String {
    let Some(rest) = message.strip_prefix("invalid type: ").or_else(|| message.strip_prefix("invalid value: ")) else {
        return "is not valid here".to_string();
    };
    let (got, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
    let what = if expected.contains("string") || expected.contains("str") {
        "text"
    } else if expected.contains("bool") {
        "true or false"
    } else if ["i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "integer"].iter().any(|t| expected.contains(t)) {
        "a whole number"
    } else if expected.contains("f32") || expected.contains("f64") || expected.contains("number") {
        "a number"
    } else if expected.contains("struct") || expected.contains("map") {
        "a JSON object"
    } else if expected.contains("sequence") {
        "a list"
    } else {
        return "is not valid here".to_string();
    };
    let got = ["string ", "floating point ", "integer ", "boolean ", "character "]
        .iter()
        .find_map(|kind| got.strip_prefix(kind))
        .unwrap_or(got)
        .trim_matches('`');
    match got {
        "map" => format!("must be {what} (got an object)"),
        "sequence" => format!("must be {what} (got a list)"),
        "null" | "unit value" => "is required".to_string(),
        value => format!("must be {what} (got {value})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[allow(dead_code)]
    #[derive(Debug, Deserialize)]
    struct Probe {
        lead_status: crate::domain::values::LeadStatus,
        expected_value: Option<crate::domain::money::Money>,
        plain: Option<String>,
        count: Option<i64>,
        flag: Option<bool>,
    }

    fn parse(json: &str) -> AppError {
        let value: serde_json::Value = serde_json::from_str(json).unwrap();
        from_serde_path(serde_path_to_error::deserialize::<_, Probe>(value).unwrap_err(), "data")
    }

    #[test]
    fn a_missing_field_reads_as_the_spec_shows() {
        let err = parse("{}");
        assert_eq!(err.body().detail, "lead_status is required");
        assert_eq!(err.body().field.as_deref(), Some("lead_status"));
    }

    #[test]
    fn a_value_outside_its_set_lists_the_allowed_values() {
        let body = parse(r#"{"lead_status":"maybe"}"#).body();
        assert!(body.detail.starts_with("lead_status must be one of: new, contacted"), "{}", body.detail);
        assert_eq!(body.allowed.unwrap().len(), 7);
    }

    #[test]
    fn a_wrong_type_names_the_field() {
        let body = parse(r#"{"lead_status":"new","expected_value":"lots"}"#).body();
        assert_eq!(body.field.as_deref(), Some("expected_value"));
        assert!(body.detail.starts_with("expected_value must be an amount"), "{}", body.detail);
    }

    #[test]
    fn serde_wording_is_reworded() {
        let detail = |json: &str| parse(json).body().detail;
        assert_eq!(detail(r#"{"lead_status":"new","plain":5}"#), "plain must be text (got 5)");
        assert_eq!(detail(r#"{"lead_status":"new","count":"7"}"#), r#"count must be a whole number (got "7")"#);
        assert_eq!(detail(r#"{"lead_status":"new","flag":{}}"#), "flag must be true or false (got an object)");
        assert_eq!(detail(r#"{"lead_status":"new","count":1.5}"#), "count must be a whole number (got 1.5)");
        assert_eq!(detail(r#"{"lead_status":"new","plain":[1]}"#), "plain must be text (got a list)");
    }

    #[test]
    fn a_pre_lead_converted_status_names_the_convert_route() {
        #[allow(dead_code)]
        #[derive(Debug, Deserialize)]
        struct Status {
            lead_status: crate::domain::values::PreLeadStatus,
        }
        let value = serde_json::json!({"lead_status": "converted"});
        let err = from_serde_path(serde_path_to_error::deserialize::<_, Status>(value).unwrap_err(), "data");
        let body = err.body();
        assert_eq!(
            body.detail,
            "lead_status \"converted\" is set only by a conversion (POST \
             /api/v1/webhooks/incoming/pre-lead/{pre_lead_id}/convert); lead_status must be one of: new, contacted, \
             working, qualified, on_hold, closed_not_converted"
        );
        assert_eq!(body.allowed.unwrap().len(), 6);
    }

    #[test]
    fn data_that_is_not_an_object_says_so() {
        assert_eq!(parse("\"text\"").body().detail, "data must be a JSON object");
    }
}
