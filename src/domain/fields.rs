//! Small parsed field types used by the payloads, and the "key present" helper for updates.

use serde::de::{Deserializer, Error as _};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::scalars::refusal;
use super::schemas;
use super::time;

/// An e-mail address that looks like one: `local@domain.tld`, no blanks, one `@`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Option<Email> {
        let text = input.trim();
        let (local, domain) = text.split_once('@')?;
        let plausible = !local.is_empty()
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !text.chars().any(|c| c.is_whitespace() || c.is_control())
            && text.len() <= 254;
        plausible.then(|| Email(text.to_string()))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl<'de> Deserialize<'de> for Email {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Value::deserialize(deserializer)?;
        raw.as_str()
            .and_then(Email::parse)
            .ok_or_else(|| D::Error::custom(refusal("an email address such as name@example.com", &raw)))
    }
}

/// A date-time: RFC 3339, or a plain `YYYY-MM-DD` taken as midnight UTC; stored normalised to
/// UTC. Never replaced by "now" when unparsable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DateTimeText(pub String);

impl<'de> Deserialize<'de> for DateTimeText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Value::deserialize(deserializer)?;
        raw.as_str().and_then(time::parse_date_or_datetime).map(DateTimeText).ok_or_else(|| {
            D::Error::custom(refusal(
                "an RFC 3339 date-time such as 2024-01-20T14:00:00Z or a date such as 2024-01-20",
                &raw,
            ))
        })
    }
}

impl utoipa::PartialSchema for DateTimeText {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
        schemas::date_time_schema()
    }
}

impl utoipa::ToSchema for DateTimeText {
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("DateTime")
    }
}

/// For update payloads: `None` when the key is absent, `Some(None)` when it is `null` (clear the
/// field), `Some(Some(v))` when it has a value. Use with `#[serde(default, deserialize_with = "present")]`.
pub fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A text value, or `None` when it is blank.
pub fn non_blank(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_accepts_the_spec_addresses() {
        for ok in ["john.doe@example.com", "jane.smith@abccorp.com", "a+tag@sub.example.co.uk"] {
            assert!(Email::parse(ok).is_some(), "{ok}");
        }
    }

    #[test]
    fn dates_take_rfc_3339_and_plain_dates() {
        let parse = |json: &str| serde_json::from_str::<DateTimeText>(json).map(|d| d.0).map_err(|e| e.to_string());
        assert_eq!(parse(r#""2024-01-20T16:00:00+02:00""#).unwrap(), "2024-01-20T14:00:00.000000Z");
        assert_eq!(parse(r#""2024-01-20""#).unwrap(), "2024-01-20T00:00:00.000000Z");
        for bad in [r#""2024-13-45""#, r#""20/01/2024""#, r#""soon""#, "1705759200"] {
            let message = parse(bad).unwrap_err();
            assert!(message.starts_with("must be an RFC 3339 date-time"), "{message}");
        }
    }

    #[test]
    fn email_rejects_what_is_not_one() {
        for bad in ["", "plain", "@example.com", "a@b", "a@@b.com", "a b@example.com", "a@example.", "a@.com"] {
            assert!(Email::parse(bad).is_none(), "{bad}");
        }
    }

    use proptest::prelude::*;

    proptest! {
        #[test]
        fn well_formed_addresses_parse(local in "[a-z0-9._+-]{1,20}", domain in "[a-z0-9-]{1,20}", tld in "[a-z]{2,6}") {
            let address = format!("{local}@{domain}.{tld}");
            prop_assert_eq!(Email::parse(&address).map(Email::into_inner), Some(address));
        }

        #[test]
        fn text_without_an_at_sign_never_parses(text in "[^@]*") {
            prop_assert!(Email::parse(&text).is_none());
        }
    }

    #[derive(Deserialize)]
    struct Patch {
        #[serde(default, deserialize_with = "present")]
        notes: Option<Option<String>>,
    }

    #[test]
    fn present_tells_absent_null_and_value_apart() {
        assert_eq!(serde_json::from_str::<Patch>("{}").unwrap().notes, None);
        assert_eq!(serde_json::from_str::<Patch>(r#"{"notes":null}"#).unwrap().notes, Some(None));
        assert_eq!(serde_json::from_str::<Patch>(r#"{"notes":"x"}"#).unwrap().notes, Some(Some("x".into())));
    }
}
