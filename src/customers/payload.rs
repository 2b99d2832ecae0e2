//! What `order_created` and `payment_received` accept.

use serde::de::{Deserializer, Error as _};
use serde::{Deserialize, Serialize};

use crate::domain::fields::{non_blank, DateTimeText};
use crate::domain::money::Money;
use crate::domain::payload::Payload;
use crate::domain::scalars::{refusal, Text, WholeNumber};
use crate::domain::schemas::{non_blank_text_pattern, whole_integer};
use crate::domain::StoreError;

/// Longest `order_id` / `payment_id`, in characters.
const MAX_REF_CHARS: usize = 128;

/// An id from another system: a string or a whole number, kept as text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExternalRef(pub String);

impl<'de> Deserialize<'de> for ExternalRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::String(s) if !s.trim().is_empty() && s.chars().count() <= MAX_REF_CHARS => {
                Ok(ExternalRef(s.trim().to_string()))
            }
            serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => Ok(ExternalRef(n.to_string())),
            // A number without a fraction (`1001.0`) is the whole number it spells, as elsewhere.
            other => match WholeNumber::from_json(&other) {
                Ok(whole) if other.is_number() => Ok(ExternalRef(whole.get().to_string())),
                _ => Err(D::Error::custom(refusal("text of at most 128 characters or a whole number", &other))),
            },
        }
    }
}

/// The schema of an [`ExternalRef`]: text of 1 to 128 characters, not blank, or a whole number.
fn external_ref_schema() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
    OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(MAX_REF_CHARS))
                .pattern(Some(non_blank_text_pattern())),
        )
        .item(whole_integer())
        .description(Some(
            "Text of 1 to 128 characters (not blank, kept trimmed), or a whole number kept as its digits.",
        ))
        .into()
}

/// Which customer an order or payment is for: `customer_id` or `customer_code`.
#[derive(Clone, Debug)]
pub enum CustomerRef {
    Id(i64),
    Code(String),
}

fn customer_ref(id: Option<WholeNumber>, code: Option<&str>) -> Result<CustomerRef, StoreError> {
    match (id, non_blank(code)) {
        (Some(id), _) => Ok(CustomerRef::Id(id.get())),
        (None, Some(code)) => Ok(CustomerRef::Code(code.to_string())),
        (None, None) => Err(StoreError::invalid("customer_id", "customer_id or customer_code is required")),
    }
}

/// `order_created`: adds to the customer's order count, revenue and outstanding amount.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct OrderIn {
    pub customer_id: Option<WholeNumber>,
    pub customer_code: Option<Text>,
    /// The order's id in the sending system; a repeat is not counted twice.
    #[schema(schema_with = external_ref_schema)]
    pub order_id: ExternalRef,
    pub order_value: Option<Money>,
    /// Same as `order_value` (either may be sent).
    pub amount: Option<Money>,
    /// `YYYY-MM-DD` or RFC 3339; default: when it was received.
    pub order_date: Option<DateTimeText>,
}

/// A checked `order_created`: the customer named, the value given.
#[derive(Debug, Clone)]
pub struct Order {
    pub customer: CustomerRef,
    pub order_id: String,
    pub value: Money,
    pub order_date: Option<DateTimeText>,
}

impl Payload for OrderIn {
    type Checked = Order;
    const AT_LEAST_ONE_OF: &'static [&'static [&'static str]] =
        &[&["customer_id", "customer_code"], &["order_value", "amount"]];

    fn check(self) -> Result<Order, StoreError> {
        let customer = customer_ref(self.customer_id, self.customer_code.as_deref())?;
        let value = self
            .order_value
            .or(self.amount)
            .ok_or_else(|| StoreError::invalid("order_value", "order_value or amount is required"))?;
        Ok(Order { customer, order_id: self.order_id.0, value, order_date: self.order_date })
    }
}

/// `payment_received`: records the payment and lowers the outstanding amount.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct PaymentIn {
    pub customer_id: Option<WholeNumber>,
    pub customer_code: Option<Text>,
    /// The payment's id in the sending system; a repeat is not counted twice.
    #[schema(schema_with = external_ref_schema)]
    pub payment_id: ExternalRef,
    pub amount: Money,
    /// `YYYY-MM-DD` or RFC 3339; default: when it was received.
    pub payment_date: Option<DateTimeText>,
}

/// A checked `payment_received`: the customer named.
#[derive(Debug, Clone)]
pub struct Payment {
    pub customer: CustomerRef,
    pub payment_id: String,
    pub amount: Money,
    pub payment_date: Option<DateTimeText>,
}

impl Payload for PaymentIn {
    type Checked = Payment;
    const AT_LEAST_ONE_OF: &'static [&'static [&'static str]] = &[&["customer_id", "customer_code"]];

    fn check(self) -> Result<Payment, StoreError> {
        let customer = customer_ref(self.customer_id, self.customer_code.as_deref())?;
        Ok(Payment { customer, payment_id: self.payment_id.0, amount: self.amount, payment_date: self.payment_date })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn external(value: serde_json::Value) -> Result<String, String> {
        serde_json::from_value::<ExternalRef>(value).map(|r| r.0).map_err(|err| err.to_string())
    }

    #[test]
    fn an_external_id_is_text_of_128_characters_or_a_whole_number() {
        assert_eq!(external(json!(" SO-1 ")).unwrap(), "SO-1");
        assert_eq!(external(json!(1001)).unwrap(), "1001");
        assert_eq!(external(json!(1001.0)).unwrap(), "1001", "a number without a fraction is whole");
        assert!(external(json!(1.5)).is_err());
        assert!(external(json!("  ")).is_err());
        assert_eq!(external(json!("é".repeat(128))).unwrap().chars().count(), 128, "characters, not bytes");
        assert!(external(json!("é".repeat(129))).is_err());
    }
}
