//! Domain types: value sets, money, dates, e-mail addresses and the forgiving scalars (text,
//! whole numbers, flags), each parsed once at the edge (their `Deserialize` is the parser) so the
//! rest of the code only sees valid values.

pub mod error;
pub mod fields;
pub mod money;
pub mod payload;
pub mod scalars;
pub mod schemas;
pub mod time;
pub mod values;

pub use error::StoreError;

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

    /// The key that holds its id: a path parameter of a typed route, a `data` key of the generic one.
    pub fn id_field(self) -> &'static str {
        match self {
            Self::PreLead => "pre_lead_id",
            Self::Lead => "lead_id",
            Self::Customer => "customer_id",
        }
    }

    /// How descriptions name it.
    pub fn label(self) -> &'static str {
        match self {
            Self::PreLead => "pre-lead",
            Self::Lead => "lead",
            Self::Customer => "customer",
        }
    }
}

/// The id of a pre-lead a command acts on (resolved from the path or from `data.pre_lead_id`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PreLeadId(pub i64);

/// The id of a lead a command acts on (resolved from the path or from `data.lead_id`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeadId(pub i64);

/// What the stores need to know about the incoming event being applied.
#[derive(Debug, Clone)]
pub struct EventContext {
    /// The event's name, written into status history rows.
    pub event: &'static str,
    /// The envelope's `source`: the sending system.
    pub received_from: Option<String>,
    /// `data` as received, kept on the record for keys the schema does not model.
    pub raw_payload: String,
}
