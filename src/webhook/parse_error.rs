//! Turns a serde error (with the path where it happened) into a 400 that names the field.

use crate::domain::values::NOT_IN_SET;
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
    if let Some(rest) = message.strip_prefix(NOT_IN_SET) {
        let list = rest.split(" (got").next().unwrap_or(rest);
        let allowed: Vec<String> = list.split(", ").map(str::to_string).collect();
        return AppError::BadRequest {
            detail: format!("{field} {message}"),
            field: Some(field),
            allowed: Some(allowed),
        };
    }
    if field == scope && message.starts_with("invalid type") {
        return AppError::invalid_field(scope, format!("{scope} must be a JSON object"));
    }
    let detail = if message.starts_with("must ") || message.starts_with("is ") {
        format!("{field} {message}")
    } else {
        format!("{field}: {message}")
    };
    AppError::invalid_field(field, detail)
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
    fn data_that_is_not_an_object_says_so() {
        assert_eq!(parse("\"text\"").body().detail, "data must be a JSON object");
    }
}
