//! The forgiving scalars of the payloads: text, whole numbers and yes/no flags as website forms,
//! automation tools and ERP exports send them (numbers as strings, strings as numbers, `"yes"`),
//! each parsed into one canonical value, and everything else refused in plain words
//! (`industry_id must be a whole number (got "abc")`). A blank string in an optional field is
//! the same as `null` ([`blanks_as_null`]). Their OpenAPI schemas, in `schemas`, state the forms.

use std::ops::Deref;

use serde::de::{Deserializer, Error as _};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::db::Value as DbValue;

/// Longest piece of a refused value repeated in the answer.
const SHOWN_CHARS: usize = 40;

/// How a refused value is shown in a message: strings quoted (and cut), numbers as sent.
pub fn shown(value: &Value) -> String {
    match value {
        Value::String(text) => {
            let mut cut: String = text.chars().take(SHOWN_CHARS).collect();
            if cut.len() < text.len() {
                cut.push('…');
            }
            Value::String(cut).to_string()
        }
        Value::Array(_) => "a list".to_string(),
        Value::Object(_) => "an object".to_string(),
        other => other.to_string(),
    }
}

/// The message for a value of the wrong kind: `must be {what} (got …)`, or `is required` for null.
pub fn refusal(what: &str, value: &Value) -> String {
    match value {
        Value::Null => "is required".to_string(),
        other => format!("must be {what} (got {})", shown(other)),
    }
}

/// Turns every blank string (empty or only whitespace) among the keys of `data` into `null`: an
/// optional field left blank is absent on create and cleared on update; a required one is missing.
pub fn blanks_as_null(data: &mut Value) {
    if let Value::Object(map) = data {
        for value in map.values_mut() {
            if value.as_str().is_some_and(|text| text.trim().is_empty()) {
                *value = Value::Null;
            }
        }
    }
}

/// Free text. A JSON number is taken as text too: its digits when it is an integer (`10001` →
/// `"10001"`), otherwise as JSON prints it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Text(String);

impl Text {
    pub fn from_json(value: &Value) -> Result<Text, String> {
        match value {
            Value::String(text) => Ok(Text(text.clone())),
            Value::Number(number) => Ok(Text(number.to_string())),
            other => Err(refusal("text or a number", other)),
        }
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<Text> for String {
    fn from(text: Text) -> String {
        text.0
    }
}

impl From<&str> for Text {
    fn from(text: &str) -> Text {
        Text(text.to_string())
    }
}

/// A whole number such as an id of a record in another system: a JSON integer, a number with no
/// fraction (`1.0`) or a string of digits (`"1"`), within a signed 64-bit range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct WholeNumber(i64);

/// The largest whole number accepted, 2^63 − 1.
const WHOLE_MAX: i64 = i64::MAX;

impl WholeNumber {
    pub fn from_json(value: &Value) -> Result<WholeNumber, String> {
        let too_large =
            || format!("must be a whole number between -{WHOLE_MAX} and {WHOLE_MAX} (got {})", shown(value));
        let not_whole = || refusal("a whole number", value);
        match value {
            Value::Number(number) => {
                if let Some(n) = number.as_i64() {
                    return Ok(WholeNumber(n));
                }
                if number.is_u64() {
                    return Err(too_large());
                }
                let float = number.as_f64().filter(|f| f.is_finite()).ok_or_else(too_large)?;
                if float.fract() != 0.0 {
                    return Err(not_whole());
                }
                // 2^63 is the first float beyond the range; every float below it converts exactly.
                if float.abs() >= 9_223_372_036_854_775_808.0 {
                    return Err(too_large());
                }
                Ok(WholeNumber(float as i64))
            }
            Value::String(text) => {
                let digits = text.trim();
                let unsigned = digits.strip_prefix(['+', '-']).unwrap_or(digits);
                if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(not_whole());
                }
                digits.trim_start_matches('+').parse::<i64>().map(WholeNumber).map_err(|_| too_large())
            }
            _ => Err(not_whole()),
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

impl From<i64> for WholeNumber {
    fn from(n: i64) -> WholeNumber {
        WholeNumber(n)
    }
}

/// Yes or no: `true`/`false`, `"true"`/`"false"`, `"yes"`/`"no"`, `"1"`/`"0"`, `1`/`0`, in any case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Flag(bool);

pub(super) const YES: [&str; 3] = ["true", "yes", "1"];
pub(super) const NO: [&str; 3] = ["false", "no", "0"];

impl Flag {
    pub fn from_json(value: &Value) -> Result<Flag, String> {
        let refused = || refusal("true or false", value);
        match value {
            Value::Bool(b) => Ok(Flag(*b)),
            Value::Number(number) => match number.as_i64() {
                Some(1) => Ok(Flag(true)),
                Some(0) => Ok(Flag(false)),
                _ => Err(refused()),
            },
            Value::String(text) => {
                let word = text.trim().to_ascii_lowercase();
                if YES.contains(&word.as_str()) {
                    Ok(Flag(true))
                } else if NO.contains(&word.as_str()) {
                    Ok(Flag(false))
                } else {
                    Err(refused())
                }
            }
            _ => Err(refused()),
        }
    }

    pub fn get(self) -> bool {
        self.0
    }
}

macro_rules! deserialize_from_json {
    ($($name:ident),+) => {$(
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                $name::from_json(&Value::deserialize(deserializer)?).map_err(D::Error::custom)
            }
        }
    )+};
}

deserialize_from_json!(Text, WholeNumber, Flag);

impl From<Text> for DbValue {
    fn from(v: Text) -> Self {
        DbValue::from(v.0)
    }
}

impl From<Option<Text>> for DbValue {
    fn from(v: Option<Text>) -> Self {
        DbValue::from(v.map(|t| t.0))
    }
}

impl From<WholeNumber> for DbValue {
    fn from(v: WholeNumber) -> Self {
        DbValue::from(v.0)
    }
}

impl From<Option<WholeNumber>> for DbValue {
    fn from(v: Option<WholeNumber>) -> Self {
        DbValue::from(v.map(|n| n.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn text(value: Value) -> Result<String, String> {
        Text::from_json(&value).map(Text::into_inner)
    }

    fn whole(value: Value) -> Result<i64, String> {
        WholeNumber::from_json(&value).map(WholeNumber::get)
    }

    fn flag(value: Value) -> Result<bool, String> {
        Flag::from_json(&value).map(Flag::get)
    }

    #[test]
    fn text_takes_strings_and_numbers() {
        assert_eq!(text(json!("New York")).unwrap(), "New York");
        assert_eq!(text(json!(10001)).unwrap(), "10001");
        assert_eq!(text(json!(1234567890)).unwrap(), "1234567890");
        assert_eq!(text(json!(1.5)).unwrap(), "1.5");
        assert_eq!(text(json!(true)).unwrap_err(), "must be text or a number (got true)");
        assert_eq!(text(json!({"a": 1})).unwrap_err(), "must be text or a number (got an object)");
    }

    #[test]
    fn whole_numbers_take_digit_strings_and_integral_floats() {
        assert_eq!(whole(json!(1)).unwrap(), 1);
        assert_eq!(whole(json!("1")).unwrap(), 1);
        assert_eq!(whole(json!(" 42 ")).unwrap(), 42);
        assert_eq!(whole(json!("+7")).unwrap(), 7);
        assert_eq!(whole(json!("-3")).unwrap(), -3);
        assert_eq!(whole(json!(1.0)).unwrap(), 1);
        assert_eq!(whole(json!("9223372036854775807")).unwrap(), i64::MAX);
        assert_eq!(whole(json!(1.5)).unwrap_err(), "must be a whole number (got 1.5)");
        assert_eq!(whole(json!("abc")).unwrap_err(), r#"must be a whole number (got "abc")"#);
        assert_eq!(whole(json!("1.0")).unwrap_err(), r#"must be a whole number (got "1.0")"#);
        assert_eq!(whole(json!(true)).unwrap_err(), "must be a whole number (got true)");
        for beyond in [json!(9_223_372_036_854_775_808_u64), json!("9223372036854775808"), json!(1e19), json!(9.3e18)] {
            assert!(whole(beyond.clone()).unwrap_err().contains("between"), "{beyond}");
        }
    }

    #[test]
    fn flags_take_the_usual_spellings() {
        for yes in [json!(true), json!("true"), json!("TRUE"), json!("yes"), json!("Yes"), json!("1"), json!(1)] {
            assert!(flag(yes.clone()).unwrap(), "{yes}");
        }
        for no in [json!(false), json!("false"), json!("No"), json!("0"), json!(0), json!(" false ")] {
            assert!(!flag(no.clone()).unwrap(), "{no}");
        }
        assert_eq!(flag(json!("maybe")).unwrap_err(), r#"must be true or false (got "maybe")"#);
        assert_eq!(flag(json!(2)).unwrap_err(), "must be true or false (got 2)");
    }

    #[test]
    fn blanks_become_null_and_nothing_else_changes() {
        let mut data = json!({"a": "", "b": "  \t", "c": "x", "d": 0, "e": null});
        blanks_as_null(&mut data);
        assert_eq!(data, json!({"a": null, "b": null, "c": "x", "d": 0, "e": null}));
    }

    #[test]
    fn long_values_are_cut_in_messages() {
        let long = "x".repeat(100);
        let message = whole(json!(long)).unwrap_err();
        assert!(message.len() < 80 && message.contains('…'), "{message}");
    }

    use proptest::prelude::*;

    proptest! {
        #[test]
        fn every_i64_round_trips_as_number_and_as_string(n in any::<i64>()) {
            prop_assert_eq!(whole(json!(n)).unwrap(), n);
            prop_assert_eq!(whole(json!(n.to_string())).unwrap(), n);
        }

        #[test]
        fn refusals_never_use_parser_words(input in "\\PC{0,20}") {
            for message in [whole(json!(input.clone())).err(), flag(json!(input.clone())).err()].into_iter().flatten() {
                prop_assert!(message.starts_with("must be "), "{}", message);
            }
        }
    }
}
