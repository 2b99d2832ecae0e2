//! What `order_created` and `payment_received` accept.

use serde::de::{Deserializer, Error as _};
use serde::{Deserialize, Serialize};

use crate::domain::fields::{non_blank, DateTimeText};
use crate::domain::money::Money;
use crate::domain::payload::Payload;
use crate::domain::scalars::{refusal, Text, WholeNumber};
use crate::domain::StoreError;

/// An id from another system: a string or a whole number, kept as text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExternalRef(pub String);

impl<'de> Deserialize<'de> for ExternalRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::String(s) if !s.trim().is_empty() && s.len() <= 128 => {
                Ok(ExternalRef(s.trim().to_string()))
            }
            serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => Ok(ExternalRef(n.to_string())),
            other => Err(D::Error::custom(refusal("text of at most 128 characters or a whole number", &other))),
        }
    }
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
    #[schema(value_type = String)]
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
    #[schema(value_type = String)]
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

    fn check(self) -> Result<Payment, StoreError> {
        let customer = customer_ref(self.customer_id, self.customer_code.as_deref())?;
        Ok(Payment { customer, payment_id: self.payment_id.0, amount: self.amount, payment_date: self.payment_date })
    }
}
