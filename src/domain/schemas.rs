//! The OpenAPI schemas of the forgiving scalars ([`Text`], [`WholeNumber`], [`Flag`]) and of
//! date-times: each states the forms its type's parser takes, so that the document and the parser
//! say the same thing. Also what every payload's schema adds to its derived object: further keys
//! (without NUL, kept in the raw payload) and the payload's "at least one of" rules.

use std::borrow::Cow;

use utoipa::openapi::schema::{
    AdditionalProperties, AllOfBuilder, AnyOfBuilder, ArrayBuilder, KnownFormat, ObjectBuilder, OneOfBuilder,
    SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::{RefOr, Schema};

use super::scalars::{Flag, Text, WholeNumber, NO, YES};

/// A string pattern (ECMA 262, no inline flags) matching `words` in any case, spaces around.
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
    format!(r"^ *({}) *$", alternatives.join("|"))
}

/// Pattern of the digit strings a [`WholeNumber`] takes (at most 18 digits: within ±(2^63 − 1)).
/// Patterns here spell blanks as spaces: Python's `\s`, which generators of test data use, takes
/// control characters that the server does not trim.
pub const WHOLE_NUMBER_PATTERN: &str = r"^ *[+-]?[0-9]{1,18} *$";

/// Text without NUL, which the server refuses anywhere in a webhook body.
pub const NO_NUL_PATTERN: &str = r"^[^\x00]*$";

/// A character that is neither NUL nor white space as the server trims it (Unicode `White_Space`).
pub const NON_BLANK_PATTERN: &str = r"[^\x00\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]";

/// Text without NUL holding at least one character that is not blank.
pub fn non_blank_text_pattern() -> String {
    format!(r"^[^\x00]*{NON_BLANK_PATTERN}[^\x00]*$")
}

/// A value that is present and, when a string, not blank: the schema of one field of a rule
/// "at least one of these" (see [`Payload::AT_LEAST_ONE_OF`]).
///
/// [`Payload::AT_LEAST_ONE_OF`]: super::payload::Payload::AT_LEAST_ONE_OF
fn non_blank() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(SchemaType::Array(vec![Type::String, Type::Number]))
        .pattern(Some(NON_BLANK_PATTERN))
}

/// `schema` with the rules "at least one of these fields, present and not blank" stated as an
/// `anyOf` of `required` per rule, all of them (`allOf`) beside the object itself.
pub fn with_rules(schema: RefOr<Schema>, rules: &[&[&str]]) -> RefOr<Schema> {
    if rules.is_empty() {
        return schema;
    }
    let mut all = AllOfBuilder::new().item(schema);
    for fields in rules {
        let mut any = AnyOfBuilder::new();
        for field in *fields {
            any = any.item(ObjectBuilder::new().property(*field, non_blank()).required(*field));
        }
        all = all.item(any);
    }
    all.into()
}

/// Name of the schema of a value a webhook body may hold beside the fields it names (kept in the
/// record's raw payload): any JSON without NUL in its strings or keys.
pub const EXTRA_VALUE: &str = "ExtraValue";

/// The [`EXTRA_VALUE`] schema; it refers to itself for nested arrays and objects.
pub fn extra_value() -> RefOr<Schema> {
    AnyOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(SchemaType::Array(vec![Type::Null, Type::Boolean, Type::Number])))
        .item(ObjectBuilder::new().schema_type(Type::String).pattern(Some(NO_NUL_PATTERN)))
        .item(ArrayBuilder::new().items(extra_value_ref()))
        .item(with_extras(ObjectBuilder::new().schema_type(Type::Object)))
        .description(Some("Any JSON value without NUL characters in its strings or keys."))
        .into()
}

fn extra_key() -> Schema {
    ObjectBuilder::new().schema_type(Type::String).pattern(Some(NO_NUL_PATTERN)).into()
}

fn extra_value_ref() -> RefOr<Schema> {
    RefOr::Ref(utoipa::openapi::Ref::from_schema_name(EXTRA_VALUE))
}

/// `object` taking further keys (without NUL) whose values are [`EXTRA_VALUE`]s.
pub fn with_extras(object: ObjectBuilder) -> ObjectBuilder {
    object.property_names(Some(extra_key())).additional_properties(Some(extra_value_ref()))
}

/// A payload's derived object schema, taking further keys like [`with_extras`].
pub fn payload_with_extras(schema: RefOr<Schema>) -> RefOr<Schema> {
    match schema {
        RefOr::T(Schema::Object(mut object)) => {
            object.property_names = Some(Box::new(extra_key()));
            object.additional_properties = Some(Box::new(AdditionalProperties::RefOr(extra_value_ref())));
            RefOr::T(Schema::Object(object))
        }
        other => other,
    }
}

/// A JSON integer within ±(2^63 − 1).
pub fn whole_integer() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(-i64::MAX))
        .maximum(Some(i64::MAX))
}

const BLANK_NOTE: &str = "A blank string is the same as leaving the field out.";

impl utoipa::PartialSchema for Text {
    fn schema() -> RefOr<Schema> {
        OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(Type::String).pattern(Some(NO_NUL_PATTERN)))
            .item(ObjectBuilder::new().schema_type(Type::Number))
            .description(Some(format!(
                "Text (without NUL). A number is taken as text: its digits when it is an integer (`10001` is stored as \
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
            .item(whole_integer())
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
        assert_eq!(any_case(&["no", "1"]), r"^ *([nN][oO]|1) *$");
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
        // A payload with rules is `allOf` its object and the rules.
        let object = |schema: &str| schemas[schema]["allOf"].get(0).unwrap_or(&schemas[schema]).clone();
        let refers = |schema: &str, field: &str, to: &str| {
            let property = object(schema)["properties"][field].to_string();
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
