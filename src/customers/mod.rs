//! Customers: created by converting a lead; orders and payments update their totals. Their
//! events (`order_created`, `payment_received`) arrive through the generic route only.

pub mod payload;
pub mod store;
