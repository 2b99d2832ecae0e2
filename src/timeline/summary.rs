//! One line of plain text per timeline item, written from the few columns the query reads.

use super::store::{Found, Kind, PROFILE_CHANGED};
use crate::domain::money::Money;
use crate::domain::EntityType;

/// Longest summary, in characters; longer text (a memo's content) is cut with `…`.
pub const MAX_SUMMARY: usize = 160;

/// The summary of `item` on the timeline of a record of type `record`: an item of a record it was
/// converted from says whose it is.
pub fn write(item: &Found, record: EntityType) -> String {
    let (owner, owner_id) = item.owner;
    let [t1, t2, t3, t4] = item.texts.each_ref().map(|text| text.as_deref().filter(|t| !t.trim().is_empty()));
    let [n1, n2] = item.numbers;
    let text = match item.kind {
        Kind::Webhook => {
            let status = n1.map(|s| s.to_string()).unwrap_or_default();
            let mut line = format!("{} answered {status}", t1.unwrap_or("Webhook request"));
            if let Some(error) = t2 {
                line.push_str(&format!(": {error}"));
            }
            if let Some(original) = n2 {
                line.push_str(&format!(" (replay of log {original})"));
            }
            line
        }
        Kind::StatusChange => {
            let new = t2.unwrap_or("?");
            let mut line = match t1 {
                Some(old) => format!("Status {old} → {new}"),
                None => format!("Status {new}"),
            };
            if let Some(event) = t4 {
                line.push_str(&format!(" ({event})"));
            }
            if let Some(remarks) = t3 {
                line.push_str(&format!(": {remarks}"));
            }
            line
        }
        Kind::Contact => {
            let name = [t1, t2].into_iter().flatten().collect::<Vec<_>>().join(" ");
            let parts: Vec<&str> =
                [Some(name.as_str()).filter(|n| !n.is_empty()), t3, t4].into_iter().flatten().collect();
            format!("Contact added: {}", parts.join(", "))
        }
        Kind::Memo => format!("Memo ({}): {}", t1.unwrap_or("general"), t2.or(t3).unwrap_or("")),
        Kind::Activity => {
            let mut line = format!("Activity ({}): {}", t1.unwrap_or("task"), t2.unwrap_or(""));
            if let Some(outcome) = t3 {
                line.push_str(&format!(" — {outcome}"));
            }
            line
        }
        Kind::Profile => {
            let what = if item.position.ord == PROFILE_CHANGED {
                "Qualified profile changed (its latest change)"
            } else {
                "Qualified profile added"
            };
            let about: Vec<&str> = [t1, t2].into_iter().flatten().collect();
            if about.is_empty() {
                what.to_string()
            } else {
                format!("{what}: {}", about.join(", "))
            }
        }
        Kind::Order | Kind::Payment => {
            let label = if item.kind == Kind::Order { "Order" } else { "Payment" };
            let amount = n1.map(Money::from_cents).map(|m| m.to_string()).unwrap_or_default();
            let mut line = format!("{label} {}: {amount}", t1.unwrap_or("?"));
            if let Some(date) = t2 {
                line.push_str(&format!(" dated {}", date.get(..10).unwrap_or(date)));
            }
            line
        }
        Kind::Delivery => {
            let attempts = n1.unwrap_or(0);
            let plural = if attempts == 1 { "" } else { "s" };
            format!(
                "{} to subscription {}: {} after {attempts} attempt{plural}",
                t1.unwrap_or("event"),
                n2.map(|s| s.to_string()).unwrap_or_default(),
                t2.unwrap_or("pending")
            )
        }
    };
    let text = if owner == record { text } else { format!("On {} {owner_id}: {text}", owner.label()) };
    cut(&text)
}

fn cut(text: &str) -> String {
    let one_line = text.replace(['\n', '\r'], " ");
    if one_line.chars().count() <= MAX_SUMMARY {
        return one_line;
    }
    let mut short: String = one_line.chars().take(MAX_SUMMARY - 1).collect();
    short.push('…');
    short
}
