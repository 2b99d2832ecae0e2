//! Exact money: an amount is a whole number of cents (`i64`), parsed from the JSON text of a
//! number (or a numeric string) through a decimal, never through float arithmetic.

use std::fmt;
use std::str::FromStr;

use std::borrow::Cow;

use rust_decimal::Decimal;
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
use utoipa::openapi::{RefOr, Schema};

use super::scalars::shown;

/// The text of an amount as the schema states it: digits with at most two decimal places, nothing
/// else (no sign, no thousands separators, no currency), at most [`MAX_UNITS`], spaces around.
pub const AMOUNT_PATTERN: &str = r"^ *([0-9]{1,13}(\.[0-9]{1,2})?|\.[0-9]{1,2}) *$";

/// The largest amount accepted, in the currency unit.
pub const MAX_UNITS: i64 = MAX_CENTS / 100;

/// The largest amount accepted: ten trillion in the currency unit, far below `i64` cents.
const MAX_CENTS: i64 = 1_000_000_000_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Money(i64);

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error(
        "must be an amount such as 1500.00 (digits and a decimal point, no thousands separators or currency signs)"
    )]
    NotANumber,
    #[error("must have at most two decimal places")]
    TooPrecise,
    #[error("must not be negative")]
    Negative,
    #[error("is too large")]
    TooLarge,
}

impl Money {
    pub const ZERO: Money = Money(0);

    pub fn from_cents(cents: i64) -> Self {
        Money(cents)
    }

    pub fn cents(self) -> i64 {
        self.0
    }

    /// Parses decimal text such as `50000.00`, `12`, `0.5`; rejects more than two places,
    /// negatives and amounts beyond the supported range.
    pub fn parse(text: &str) -> Result<Money, MoneyError> {
        let text = text.trim();
        let numeric = |c: char| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E');
        if text.is_empty() || !text.chars().all(numeric) {
            return Err(MoneyError::NotANumber);
        }
        let decimal =
            Decimal::from_str(text).or_else(|_| Decimal::from_scientific(text)).map_err(|_| MoneyError::NotANumber)?;
        Self::from_decimal(decimal)
    }

    fn from_decimal(decimal: Decimal) -> Result<Money, MoneyError> {
        let decimal = decimal.normalize();
        if decimal.is_sign_negative() && !decimal.is_zero() {
            return Err(MoneyError::Negative);
        }
        if decimal.scale() > 2 {
            return Err(MoneyError::TooPrecise);
        }
        let cents = decimal.checked_mul(Decimal::ONE_HUNDRED).ok_or(MoneyError::TooLarge)?;
        let cents: i64 = cents.trunc().try_into().map_err(|_| MoneyError::TooLarge)?;
        if cents > MAX_CENTS {
            return Err(MoneyError::TooLarge);
        }
        Ok(Money(cents))
    }

    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    pub fn checked_sub(self, other: Money) -> Option<Money> {
        self.0.checked_sub(other.0).map(Money)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl Money {
    /// A JSON number or a numeric string; the refusal shows the accepted form and the value.
    pub fn from_json(value: &Value) -> Result<Money, String> {
        let parsed = match value {
            Value::Number(number) => match (number.as_i64(), number.as_u64(), number.as_f64()) {
                (Some(n), _, _) => Money::from_decimal(Decimal::from(n)),
                (None, Some(n), _) => Money::from_decimal(Decimal::from(n)),
                // JSON numbers arrive as the closest f64 (serde_json parses with
                // `float_roundtrip`); its shortest decimal text is the text that was sent.
                (None, None, Some(f)) if f.is_finite() => Money::parse(&format!("{f}")),
                _ => Err(MoneyError::TooLarge),
            },
            Value::String(text) => Money::parse(text),
            _ => Err(MoneyError::NotANumber),
        };
        parsed.map_err(|err| match value {
            Value::Null => "is required".to_string(),
            other => format!("{err} (got {})", shown(other)),
        })
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Money::from_json(&Value::deserialize(deserializer)?).map_err(de::Error::custom)
    }
}

impl utoipa::PartialSchema for Money {
    fn schema() -> RefOr<Schema> {
        OneOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::Number)
                    .minimum(Some(0))
                    .maximum(Some(MAX_UNITS))
                    .multiple_of(Some(0.01)),
            )
            .item(ObjectBuilder::new().schema_type(Type::String).pattern(Some(AMOUNT_PATTERN)))
            .description(Some(
                "An amount with at most two decimal places, not negative, at most ten trillion: a number (`1500.00`) or a string of \
                 digits with an optional decimal point (`\"1500.00\"`), without thousands separators or currency \
                 signs. A blank string is the same as leaving the field out.",
            ))
            .into()
    }
}

impl utoipa::ToSchema for Money {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Amount")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_the_amounts_of_the_spec() {
        assert_eq!(serde_json::from_str::<Money>("50000.00").unwrap(), Money(5_000_000));
        assert_eq!(serde_json::from_str::<Money>("150000.00").unwrap(), Money(15_000_000));
        assert_eq!(serde_json::from_str::<Money>("0.1").unwrap(), Money(10));
        assert_eq!(serde_json::from_str::<Money>("\"19.99\"").unwrap(), Money(1999));
        assert_eq!(serde_json::from_str::<Money>("7").unwrap(), Money(700));
    }

    #[test]
    fn rejects_what_is_not_an_exact_amount() {
        assert!(serde_json::from_str::<Money>("1.005").is_err());
        assert!(serde_json::from_str::<Money>("-3").is_err());
        assert!(serde_json::from_str::<Money>("\"lots\"").is_err());
        assert!(serde_json::from_str::<Money>("1e300").is_err());
        assert!(serde_json::from_str::<Money>("true").is_err());
        assert!(serde_json::from_str::<Money>("1e999").is_err());
    }

    #[test]
    fn separators_and_currency_signs_are_refused_with_the_accepted_form() {
        for bad in [r#""150,000.00""#, r#""$1500""#, r#""1_500""#, r#""1 500""#, r#""1500 EUR""#] {
            let err = serde_json::from_str::<Money>(bad).unwrap_err().to_string();
            assert!(err.starts_with("must be an amount such as 1500.00 (digits and a decimal point, no thousands separators or currency signs) (got"), "{err}");
        }
        let err = serde_json::from_str::<Money>("true").unwrap_err().to_string();
        assert!(err.ends_with("(got true)"), "{err}");
        assert_eq!(serde_json::from_str::<Money>(r#"" 12.50 ""#).unwrap(), Money(1250));
    }

    #[test]
    fn displays_with_two_places() {
        assert_eq!(Money(5_000_000).to_string(), "50000.00");
        assert_eq!(Money(5).to_string(), "0.05");
        assert_eq!(Money(-1050).to_string(), "-10.50");
    }

    proptest! {
        #[test]
        fn any_two_place_amount_round_trips(units in 0i64..10_000_000_000, cents in 0i64..100) {
            let text = format!("{units}.{cents:02}");
            let money: Money = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(money.cents(), units * 100 + cents);
            prop_assert_eq!(money.to_string(), text);
        }

        #[test]
        fn addition_is_exact(a in 0i64..1_000_000_000_000, b in 0i64..1_000_000_000_000) {
            let sum = Money(a).checked_add(Money(b)).unwrap();
            prop_assert_eq!(sum.checked_sub(Money(b)).unwrap(), Money(a));
        }
    }
}
