//! The OpenAPI schemas of the forgiving scalars ([`Text`], [`WholeNumber`], [`Flag`]) and of
//! date-times: each states every form its type's parser takes, so that the document and the
//! parser say the same thing.

use std::borrow::Cow;

use utoipa::openapi::schema::{AnyOfBuilder, KnownFormat, ObjectBuilder, OneOfBuilder, SchemaFormat, Type};
use utoipa::openapi::{RefOr, Schema};

use super::scalars::{Flag, Text, WholeNumber, NO, YES};

/// A string pattern (ECMA 262, no inline flags) matching `words` in any case, blanks around.
fn any_case(words: &[&str]) -> String {
    let alternatives: Vec<String> = words
        .iter()
        .map(|word| {
            word.chars()
                .map(|c| {
                    if c.is_ascii_alphabetic() {
                        format!("[{}{}]", c.to_ascii_lowercase(), c.to_ascii_uppercase())
                    } else {
                        c.to_string()
                    }
                })
                .collect()
        })
        .collect();
    format!(r"^\s*({})\s*$", alternatives.join("|"))
}

/// Pattern of the digit strings a [`WholeNumber`] takes.
pub const WHOLE_NUMBER_PATTERN: &str = r"^\s*[+-]?[0-9]+\s*$";

const BLANK_NOTE: &str = "A blank string is the same as leaving the field out.";

impl utoipa::PartialSchema for Text {
    fn schema() -> RefOr<Schema> {
        OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(Type::String))
            .item(ObjectBuilder::new().schema_type(Type::Number))
            .description(Some(format!(
                "Text. A number is taken as text: its digits when it is an integer (`10001` is stored as \
                 `\"10001\"`). {BLANK_NOTE}"
            )))
            .into()
    }
}

impl utoipa::ToSchema for Text {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Text")
    }
}

impl utoipa::PartialSchema for WholeNumber {
    fn schema() -> RefOr<Schema> {
        OneOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64))),
            )
            .item(ObjectBuilder::new().schema_type(Type::String).pattern(Some(WHOLE_NUMBER_PATTERN)))
            .description(Some(format!(
                "A whole number: an integer (`1.0` counts as `1`) or a string of digits (`\"1\"`), at most \
                 2^63 − 1. {BLANK_NOTE}"
            )))
            .into()
    }
}

impl utoipa::ToSchema for WholeNumber {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("WholeNumber")
    }
}

impl utoipa::PartialSchema for Flag {
    fn schema() -> RefOr<Schema> {
        let words: Vec<&str> = YES.iter().chain(NO.iter()).copied().collect();
        OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(Type::Boolean))
            .item(ObjectBuilder::new().schema_type(Type::String).pattern(Some(any_case(&words))))
            .item(ObjectBuilder::new().schema_type(Type::Integer).enum_values(Some([0, 1])))
            .description(Some(format!(
                "Yes or no: `true`/`false`, or `\"true\"`/`\"false\"`, `\"yes\"`/`\"no\"`, `\"1\"`/`\"0\"` in any case, \
                 or `1`/`0`. {BLANK_NOTE}"
            )))
            .into()
    }
}

impl utoipa::ToSchema for Flag {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Flag")
    }
}

/// Schema of a date-time field: RFC 3339 or a plain date (midnight UTC).
pub fn date_time_schema() -> RefOr<Schema> {
    AnyOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))),
        )
        .item(ObjectBuilder::new().schema_type(Type::String).format(Some(SchemaFormat::KnownFormat(KnownFormat::Date))))
        .description(Some(format!(
            "An RFC 3339 date-time (`2024-01-20T14:00:00Z`, stored in UTC) or a date (`2024-01-20`, midnight UTC). \
             {BLANK_NOTE}"
        )))
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    #[test]
    fn any_case_pattern_spells_out_both_cases() {
        assert_eq!(any_case(&["no", "1"]), r"^\s*([nN][oO]|1)\s*$");
    }

    /// The served document refers each payload field to its type's schema, which states the forms.
    #[test]
    fn the_document_states_the_accepted_forms() {
        let doc: Value = serde_json::to_value(crate::openapi::document()).unwrap();
        let schemas = &doc["components"]["schemas"];
        let types = |schema: &str, key: &str| -> Vec<Value> {
            schemas[schema][key].as_array().unwrap().iter().map(|item| item["type"].clone()).collect()
        };
        assert_eq!(types("Text", "oneOf"), [json!("string"), json!("number")]);
        assert_eq!(types("WholeNumber", "oneOf"), [json!("integer"), json!("string")]);
        assert_eq!(types("Flag", "oneOf"), [json!("boolean"), json!("string"), json!("integer")]);
        assert_eq!(types("Amount", "oneOf"), [json!("number"), json!("string")]);
        assert_eq!(types("DateTime", "anyOf"), [json!("string"), json!("string")]);
        let refers = |schema: &str, field: &str, to: &str| {
            let property = schemas[schema]["properties"][field].to_string();
            assert!(property.contains(&format!("#/components/schemas/{to}")), "{schema}.{field}: {property}");
        };
        refers("NewLeadIn", "zip_code", "Text");
        refers("NewLeadIn", "industry_id", "WholeNumber");
        refers("NewLeadIn", "expected_value", "Amount");
        refers("LeadPatch", "assigned_to", "WholeNumber");
        refers("LeadPatch", "notes", "Text");
        refers("ContactIn", "is_primary", "Flag");
        refers("ActivityIn", "scheduled_at", "DateTime");
        refers("OrderIn", "order_date", "DateTime");
        refers("OrderIn", "customer_id", "WholeNumber");
        refers("PreLeadStatusIn", "lead_status", "PreLeadStatus");
        let statuses = schemas["PreLeadStatus"]["enum"].as_array().unwrap();
        assert!(!statuses.contains(&json!("converted")), "only a conversion sets it");
    }
}
