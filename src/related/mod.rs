//! Records that belong to a pre-lead or a lead alike: contacts, memos and the status history.
//! One table each, keyed by (`entity_type`, `entity_id`), so conversion can copy them over.
//! `record` holds what the two records themselves share.

pub mod record;

use crate::args;
use crate::db::WriteConn;
use serde::Deserialize;

use crate::changes::Change;
use crate::db::columns::Columns;
use crate::domain::fields::{non_blank, DateTimeText, Email};
use crate::domain::payload::Payload;
use crate::domain::scalars::{Flag, Text};
use crate::domain::values::MemoType;
use crate::domain::{time, EntityType};
use crate::domain::{EventContext, StoreError};

/// A contact person (`*_contact_add`).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct ContactIn {
    pub first_name: Option<Text>,
    pub last_name: Option<Text>,
    #[schema(value_type = Option<String>, format = "email")]
    pub email: Option<Email>,
    pub phone: Option<Text>,
    pub designation: Option<Text>,
    pub department: Option<Text>,
    /// A new primary contact takes the flag from the previous one.
    pub is_primary: Option<Flag>,
}

impl Payload for ContactIn {
    type Checked = Self;
    const AT_LEAST_ONE_OF: &'static [&'static [&'static str]] = &[&["first_name", "last_name", "email", "phone"]];

    fn check(self) -> Result<Self, StoreError> {
        let named = non_blank(self.first_name.as_deref()).is_some()
            || non_blank(self.last_name.as_deref()).is_some()
            || self.email.is_some()
            || non_blank(self.phone.as_deref()).is_some();
        if named {
            Ok(self)
        } else {
            Err(StoreError::invalid("first_name", "A contact needs first_name, last_name, email or phone"))
        }
    }
}

/// A memo (`*_memo_add`).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct MemoIn {
    pub title: Option<Text>,
    pub content: Option<Text>,
    /// Default `general`.
    pub memo_type: Option<MemoType>,
}

impl Payload for MemoIn {
    type Checked = Self;
    const AT_LEAST_ONE_OF: &'static [&'static [&'static str]] = &[&["content", "title"]];

    fn check(self) -> Result<Self, StoreError> {
        if non_blank(self.content.as_deref()).is_some() || non_blank(self.title.as_deref()).is_some() {
            Ok(self)
        } else {
            Err(StoreError::invalid("content", "content is required"))
        }
    }
}

/// Discard (`*_discard`): the reasons are kept on the record and in its status history.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct DiscardIn {
    pub reason: Option<Text>,
    pub loss_reason: Option<Text>,
}

crate::payload_without_rules!(DiscardIn);

/// Adds a contact to the record (which the caller found or locked).
pub async fn add_contact(
    conn: &mut WriteConn,
    entity: EntityType,
    entity_id: i64,
    contact: ContactIn,
    ctx: &EventContext,
) -> Result<Change, StoreError> {
    let is_primary = contact.is_primary.is_some_and(Flag::get);
    if is_primary {
        conn.execute(
            "update contacts set is_primary = $1 where entity_type = $2 and entity_id = $3 and is_primary = $4",
            args![false, entity.as_str(), entity_id, true],
        )
        .await?;
    }
    let mut row = Columns::new();
    row.set("entity_type", entity.as_str())
        .set("entity_id", entity_id)
        .set("first_name", contact.first_name)
        .set("last_name", contact.last_name)
        .set("email", contact.email.map(Email::into_inner))
        .set("phone", contact.phone)
        .set("designation", contact.designation)
        .set("department", contact.department)
        .set("is_primary", is_primary)
        .set("raw_payload", ctx.raw_payload.as_str())
        .set("created_at", time::now());
    let contact_id = row.insert(conn, "contacts").await?;
    Ok(Change::ContactAdded { entity, id: entity_id, contact_id })
}

/// Adds a memo to the record (which the caller found or locked).
pub async fn add_memo(
    conn: &mut WriteConn,
    entity: EntityType,
    entity_id: i64,
    memo: MemoIn,
    ctx: &EventContext,
) -> Result<Change, StoreError> {
    let mut row = Columns::new();
    row.set("entity_type", entity.as_str())
        .set("entity_id", entity_id)
        .set("title", memo.title)
        .set("content", memo.content)
        .set("memo_type", memo.memo_type.unwrap_or(MemoType::General).as_str())
        .set("raw_payload", ctx.raw_payload.as_str())
        .set("created_at", time::now());
    let memo_id = row.insert(conn, "memos").await?;
    Ok(Change::MemoAdded { entity, id: entity_id, memo_id })
}

/// One status change, as the timeline shows it.
pub struct StatusChange<'a> {
    pub entity: EntityType,
    pub entity_id: i64,
    pub old_status: Option<&'a str>,
    pub new_status: &'a str,
    pub remarks: Option<String>,
    pub status_date: Option<DateTimeText>,
    pub event: &'a str,
}

impl<'a> StatusChange<'a> {
    pub fn new(
        entity: EntityType,
        entity_id: i64,
        old_status: Option<&'a str>,
        new_status: &'a str,
        remarks: Option<String>,
        event: &'a str,
    ) -> Self {
        Self { entity, entity_id, old_status, new_status, remarks, status_date: None, event }
    }

    /// When the change happened, if the sender said; otherwise the time of receipt.
    pub fn dated(mut self, status_date: Option<DateTimeText>) -> Self {
        self.status_date = status_date;
        self
    }
}

pub async fn record_status_change(conn: &mut WriteConn, change: StatusChange<'_>) -> Result<(), StoreError> {
    let now = time::now();
    let mut row = Columns::new();
    row.set("entity_type", change.entity.as_str())
        .set("entity_id", change.entity_id)
        .set("old_status", change.old_status.map(str::to_string))
        .set("new_status", change.new_status)
        .set("remarks", change.remarks)
        .set("status_date", change.status_date.map(|d| d.0).unwrap_or_else(|| now.clone()))
        .set("event", change.event)
        .set("created_at", now);
    row.insert_later(conn, "status_history").await?;
    Ok(())
}

/// Copies the contacts and memos of one record to another (pre-lead → lead conversion).
pub async fn copy_contacts_and_memos(
    conn: &mut WriteConn,
    from: (EntityType, i64),
    to: (EntityType, i64),
) -> Result<(), StoreError> {
    conn.execute("insert into contacts (entity_type, entity_id, first_name, last_name, email, phone, designation, \
         department, is_primary, raw_payload, created_at) \
         select $1, $2, first_name, last_name, email, phone, designation, department, is_primary, raw_payload, created_at \
         from contacts where entity_type = $3 and entity_id = $4 order by id", args![to.0.as_str(), to.1, from.0.as_str(), from.1])
    .await?;
    conn.execute(
        "insert into memos (entity_type, entity_id, title, content, memo_type, raw_payload, created_at) \
         select $1, $2, title, content, memo_type, raw_payload, created_at \
         from memos where entity_type = $3 and entity_id = $4 order by id",
        args![to.0.as_str(), to.1, from.0.as_str(), from.1],
    )
    .await?;
    Ok(())
}
