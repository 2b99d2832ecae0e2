//! Domain types: value sets, money, dates and e-mail addresses, each parsed once at the edge
//! (their `Deserialize` is the parser) so the rest of the code only sees valid values.

pub mod fields;
pub mod money;
pub mod time;
pub mod values;

/// The records a webhook can touch; used in status history, contacts, memos and logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntityType {
    PreLead,
    Lead,
    Customer,
}

impl EntityType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PreLead => "pre_lead",
            Self::Lead => "lead",
            Self::Customer => "customer",
        }
    }
}
