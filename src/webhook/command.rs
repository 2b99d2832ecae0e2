//! An event's `data` parsed into a typed, checked command, and its execution against the stores.
//!
//! [`binding`] is the event table's other half: for each event, the payload type `data` is parsed
//! into and the answer type it documents. It lives here, beside the parser, because the payload
//! types belong to the resource modules, which the neutral table in `events.rs` must not reach.
//! The parser's shape says whether the event acts on a pre-lead, a lead or neither, so a command
//! cannot be built without the id it needs.

use serde_json::Value;

use super::parse_error::from_serde_path;
use crate::changes::{self, Change};
use crate::customers::payload::{Order, OrderIn, Payment, PaymentIn};
use crate::db::WriteConn;
use crate::domain::payload::Payload;
use crate::domain::scalars::blanks_as_null;
use crate::domain::schemas::{payload_with_extras, with_rules};
use crate::domain::{EventContext, LeadId, PreLeadId, StoreError};
use crate::events::EventKind;
use crate::http::error::AppError;
use crate::http::openapi::{register, Register, Schemas};
use crate::leads::payload::{ActivityIn, LeadConvertIn, LeadPatch, LeadStatusIn, NewLeadIn, QualifiedProfileIn};
use crate::leads::store::LEADS;
use crate::pre_leads::payload::{NewPreLeadIn, PreLeadConvertIn, PreLeadPatch, PreLeadStatusIn};
use crate::pre_leads::store::PRE_LEADS;
use crate::related::{ContactIn, DiscardIn, MemoIn};
use crate::{customers, duplicates, leads, pre_leads};

#[derive(Debug, Clone)]
pub enum Command {
    NewInquiry(NewPreLeadIn),
    PreLeadUpdate(PreLeadId, PreLeadPatch),
    PreLeadDiscard(PreLeadId, DiscardIn),
    PreLeadContactAdd(PreLeadId, ContactIn),
    PreLeadMemoAdd(PreLeadId, MemoIn),
    PreLeadStatusUpdate(PreLeadId, PreLeadStatusIn),
    PreLeadConvert(PreLeadId, PreLeadConvertIn),
    NewLead(NewLeadIn),
    LeadUpdate(LeadId, LeadPatch),
    LeadDiscard(LeadId, DiscardIn),
    LeadContactAdd(LeadId, ContactIn),
    LeadActivityAdd(LeadId, ActivityIn),
    LeadQualifiedProfileUpdate(LeadId, QualifiedProfileIn),
    LeadMemoAdd(LeadId, MemoIn),
    LeadStatusUpdate(LeadId, LeadStatusIn),
    LeadConvert(LeadId, LeadConvertIn),
    OrderCreated(Order),
    PaymentReceived(Payment),
}

/// How an event's `data` becomes a [`Command`], by the record it acts on.
#[derive(Clone, Copy)]
pub enum Parse {
    /// Creates and customer events: no target id.
    Untargeted(fn(Value) -> Result<Command, AppError>),
    PreLead(fn(PreLeadId, Value) -> Result<Command, AppError>),
    Lead(fn(LeadId, Value) -> Result<Command, AppError>),
}

/// What the event table's row leaves to the code that knows the payload types.
#[derive(Clone, Copy)]
pub struct Binding {
    pub parse: Parse,
    /// Registers the schema of `data` (the payload type) and returns its name.
    pub payload_schema: Register,
    /// Registers the schema of the answer's `data` and returns its name.
    pub answer_schema: Register,
}

/// The one parser of `data`: serde (errors name the field), then the payload's own rules. A blank
/// string counts as `null` (absent on create, cleared on update).
fn data<T: Payload>(mut value: Value) -> Result<T::Checked, AppError> {
    blanks_as_null(&mut value);
    let raw: T = serde_path_to_error::deserialize(value).map_err(|err| from_serde_path(err, "data"))?;
    Ok(raw.check()?)
}

/// Registers the schema of a payload type and returns its name: the derived object, taking further
/// keys (kept in the raw payload), with the rules of its `check` that a schema can state.
fn payload_schema<T: Payload + utoipa::ToSchema>(schemas: &mut Schemas) -> String {
    let name = register::<T>(schemas);
    if let Some(schema) = schemas.remove(&name) {
        schemas.insert(name.clone(), with_rules(payload_with_extras(schema), T::AT_LEAST_ONE_OF));
    }
    name
}

/// The binding of each event; exhaustive, so a new event does not compile until it is bound.
pub fn binding(kind: EventKind) -> Binding {
    use changes::*;
    use Parse::{Lead, PreLead, Untargeted};
    let (parse, payload_schema, answer_schema): (Parse, Register, Register) = match kind {
        EventKind::NewInquiry => (
            Untargeted(|v| Ok(Command::NewInquiry(data::<NewPreLeadIn>(v)?))),
            payload_schema::<NewPreLeadIn>,
            register::<PreLeadIdOut>,
        ),
        EventKind::PreLeadUpdate => (
            PreLead(|id, v| Ok(Command::PreLeadUpdate(id, data::<PreLeadPatch>(v)?))),
            payload_schema::<PreLeadPatch>,
            register::<PreLeadIdOut>,
        ),
        EventKind::PreLeadDiscard => (
            PreLead(|id, v| Ok(Command::PreLeadDiscard(id, data::<DiscardIn>(v)?))),
            payload_schema::<DiscardIn>,
            register::<PreLeadIdOut>,
        ),
        EventKind::PreLeadContactAdd => (
            PreLead(|id, v| Ok(Command::PreLeadContactAdd(id, data::<ContactIn>(v)?))),
            payload_schema::<ContactIn>,
            register::<PreLeadContactOut>,
        ),
        EventKind::PreLeadMemoAdd => (
            PreLead(|id, v| Ok(Command::PreLeadMemoAdd(id, data::<MemoIn>(v)?))),
            payload_schema::<MemoIn>,
            register::<PreLeadMemoOut>,
        ),
        EventKind::PreLeadStatusUpdate => (
            PreLead(|id, v| Ok(Command::PreLeadStatusUpdate(id, data::<PreLeadStatusIn>(v)?))),
            payload_schema::<PreLeadStatusIn>,
            register::<PreLeadStatusOut>,
        ),
        EventKind::PreLeadConvert => (
            PreLead(|id, v| Ok(Command::PreLeadConvert(id, data::<PreLeadConvertIn>(v)?))),
            payload_schema::<PreLeadConvertIn>,
            register::<PreLeadConvertOut>,
        ),
        EventKind::NewLead => (
            Untargeted(|v| Ok(Command::NewLead(data::<NewLeadIn>(v)?))),
            payload_schema::<NewLeadIn>,
            register::<LeadIdOut>,
        ),
        EventKind::LeadUpdate => (
            Lead(|id, v| Ok(Command::LeadUpdate(id, data::<LeadPatch>(v)?))),
            payload_schema::<LeadPatch>,
            register::<LeadIdOut>,
        ),
        EventKind::LeadDiscard => (
            Lead(|id, v| Ok(Command::LeadDiscard(id, data::<DiscardIn>(v)?))),
            payload_schema::<DiscardIn>,
            register::<LeadIdOut>,
        ),
        EventKind::LeadContactAdd => (
            Lead(|id, v| Ok(Command::LeadContactAdd(id, data::<ContactIn>(v)?))),
            payload_schema::<ContactIn>,
            register::<LeadContactOut>,
        ),
        EventKind::LeadActivityAdd => (
            Lead(|id, v| Ok(Command::LeadActivityAdd(id, data::<ActivityIn>(v)?))),
            payload_schema::<ActivityIn>,
            register::<LeadActivityOut>,
        ),
        EventKind::LeadQualifiedProfileUpdate => (
            Lead(|id, v| Ok(Command::LeadQualifiedProfileUpdate(id, data::<QualifiedProfileIn>(v)?))),
            payload_schema::<QualifiedProfileIn>,
            register::<LeadProfileOut>,
        ),
        EventKind::LeadMemoAdd => (
            Lead(|id, v| Ok(Command::LeadMemoAdd(id, data::<MemoIn>(v)?))),
            payload_schema::<MemoIn>,
            register::<LeadMemoOut>,
        ),
        EventKind::LeadStatusUpdate => (
            Lead(|id, v| Ok(Command::LeadStatusUpdate(id, data::<LeadStatusIn>(v)?))),
            payload_schema::<LeadStatusIn>,
            register::<LeadStatusOut>,
        ),
        EventKind::LeadConvert => (
            Lead(|id, v| Ok(Command::LeadConvert(id, data::<LeadConvertIn>(v)?))),
            payload_schema::<LeadConvertIn>,
            register::<LeadConvertOut>,
        ),
        EventKind::OrderCreated => (
            Untargeted(|v| Ok(Command::OrderCreated(data::<OrderIn>(v)?))),
            payload_schema::<OrderIn>,
            register::<OrderOut>,
        ),
        EventKind::PaymentReceived => (
            Untargeted(|v| Ok(Command::PaymentReceived(data::<PaymentIn>(v)?))),
            payload_schema::<PaymentIn>,
            register::<PaymentOut>,
        ),
    };
    Binding { parse, payload_schema, answer_schema }
}

/// Applies the command inside the caller's transaction and returns what changed.
/// Runs the command's change, then matches the records it created or whose e-mail or phone it may
/// have changed against the others (possible duplicates), in the same transaction.
pub async fn execute(conn: &mut WriteConn, command: Command, ctx: &EventContext) -> Result<Change, StoreError> {
    let change = apply(conn, command, ctx).await?;
    duplicates::after(conn, &change).await?;
    Ok(change)
}

async fn apply(conn: &mut WriteConn, command: Command, ctx: &EventContext) -> Result<Change, StoreError> {
    match command {
        Command::NewInquiry(input) => pre_leads::store::create(conn, input, ctx).await,
        Command::PreLeadUpdate(PreLeadId(id), patch) => pre_leads::store::update(conn, id, patch, ctx).await,
        Command::PreLeadDiscard(PreLeadId(id), input) => pre_leads::store::discard(conn, id, input, ctx).await,
        Command::PreLeadContactAdd(PreLeadId(id), input) => PRE_LEADS.add_contact(conn, id, input, ctx).await,
        Command::PreLeadMemoAdd(PreLeadId(id), input) => PRE_LEADS.add_memo(conn, id, input, ctx).await,
        Command::PreLeadStatusUpdate(PreLeadId(id), input) => {
            pre_leads::store::update_status(conn, id, input, ctx).await
        }
        Command::PreLeadConvert(PreLeadId(id), input) => pre_leads::store::convert(conn, id, input, ctx).await,
        Command::NewLead(input) => leads::store::create(conn, input, ctx).await,
        Command::LeadUpdate(LeadId(id), patch) => leads::store::update(conn, id, patch, ctx).await,
        Command::LeadDiscard(LeadId(id), input) => leads::store::discard(conn, id, input, ctx).await,
        Command::LeadContactAdd(LeadId(id), input) => LEADS.add_contact(conn, id, input, ctx).await,
        Command::LeadActivityAdd(LeadId(id), input) => leads::store::add_activity(conn, id, input, ctx).await,
        Command::LeadQualifiedProfileUpdate(LeadId(id), input) => {
            leads::store::upsert_profile(conn, id, input, ctx).await
        }
        Command::LeadMemoAdd(LeadId(id), input) => LEADS.add_memo(conn, id, input, ctx).await,
        Command::LeadStatusUpdate(LeadId(id), input) => leads::store::update_status(conn, id, input, ctx).await,
        Command::LeadConvert(LeadId(id), input) => leads::store::convert(conn, id, input, ctx).await,
        Command::OrderCreated(input) => customers::store::record_order(conn, input, ctx).await,
        Command::PaymentReceived(input) => customers::store::record_payment(conn, input, ctx).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::EntityType;

    #[test]
    fn each_parser_takes_the_id_of_its_events_target() {
        for kind in EventKind::ALL {
            let target = match binding(kind).parse {
                Parse::Untargeted(_) => None,
                Parse::PreLead(_) => Some(EntityType::PreLead),
                Parse::Lead(_) => Some(EntityType::Lead),
            };
            assert_eq!(target, kind.target(), "{}", kind.name());
        }
    }
}
