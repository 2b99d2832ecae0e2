//! The fixed value sets of design §3. Input is case-insensitive and stored lower-case; a value
//! outside the set is rejected with a message that lists the allowed values.

use std::borrow::Cow;

use serde::de::{Deserializer, Error as _};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{RefOr, Schema};

use super::scalars::{refusal, shown};

/// Prefix of the deserialization error for a value outside its set; the HTTP layer turns it
/// into a 400 that names the field and carries the `allowed` list.
pub const NOT_IN_SET: &str = "must be one of: ";

pub fn not_in_set_message(allowed: &[&str], got: &str) -> String {
    format!("{NOT_IN_SET}{} (got {:?})", allowed.join(", "), got)
}

/// Where a value that only a conversion may set is refused, the message starts with this.
pub const SET_BY_CONVERSION: &str = "is set only by a conversion";

/// The value as a set member's text: strings as sent, numbers as their digits.
fn member_text(raw: &Value) -> Option<String> {
    match raw {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

macro_rules! value_set {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }
     $(set_by_conversion($route:literal) { $($c_variant:ident => $c_text:literal),+ $(,)? })?) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant,)+ $($($c_variant,)+)? }

        impl $name {
            /// The values a webhook may send.
            pub const ALLOWED: &'static [&'static str] = &[$($text),+];

            pub const fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text,)+ $($(Self::$c_variant => $c_text,)+)? }
            }

            /// Case-insensitive, surrounding blanks ignored; only the values a webhook may send.
            pub fn parse(input: &str) -> Option<Self> {
                match input.trim().to_ascii_lowercase().as_str() {
                    $($text => Some(Self::$variant),)+
                    _ => None,
                }
            }

            fn refusal(raw: &Value) -> String {
                let Some(text) = member_text(raw) else {
                    return match raw {
                        Value::Null => "is required".to_string(),
                        other => format!("{NOT_IN_SET}{} (got {})", Self::ALLOWED.join(", "), shown(other)),
                    };
                };
                let _lower = text.trim().to_ascii_lowercase();
                $($(
                    if _lower == $c_text {
                        return format!(
                            "{:?} {SET_BY_CONVERSION} ({}); {NOT_IN_SET}{}",
                            $c_text,
                            $route,
                            Self::ALLOWED.join(", ")
                        );
                    }
                )+)?
                not_in_set_message(Self::ALLOWED, &text)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let raw = Value::deserialize(deserializer)?;
                member_text(&raw).as_deref().and_then(Self::parse).ok_or_else(|| D::Error::custom(Self::refusal(&raw)))
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(Self::ALLOWED.iter().copied()))
                    .description(Some("Case-insensitive; stored lower-case. A blank string is the same as leaving the field out."))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
        }
    };
}

value_set!(
    /// Status of a lead.
    LeadStatus {
        New => "new",
        Contacted => "contacted",
        Qualified => "qualified",
        ProposalSent => "proposal_sent",
        Negotiation => "negotiation",
        Won => "won",
        Lost => "lost",
    }
);

value_set!(
    /// Status of a pre-lead.
    PreLeadStatus {
        New => "new",
        Contacted => "contacted",
        Working => "working",
        Qualified => "qualified",
        OnHold => "on_hold",
        ClosedNotConverted => "closed_not_converted",
    }
    set_by_conversion("POST /api/v1/webhooks/incoming/pre-lead/{pre_lead_id}/convert") {
        Converted => "converted",
    }
);

value_set!(
    Priority {
        Low => "low",
        Medium => "medium",
        High => "high",
        Critical => "critical",
    }
);

value_set!(
    MemoType {
        General => "general",
        FollowUp => "follow_up",
        Meeting => "meeting",
        Call => "call",
        Email => "email",
    }
);

value_set!(
    ActivityType {
        Call => "call",
        Email => "email",
        Meeting => "meeting",
        Task => "task",
        Note => "note",
    }
);

/// The lead sources. Unknown input is not an error: it becomes `other` and the raw text is
/// kept (see [`SourceValue`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Website,
    Referral,
    SocialMedia,
    ColdCall,
    WalkIn,
    Whatsapp,
    Email,
    Erp,
    Direct,
    Other,
}

impl Source {
    pub const ALLOWED: &'static [&'static str] =
        &["website", "referral", "social_media", "cold_call", "walk_in", "whatsapp", "email", "erp", "direct", "other"];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Website => "website",
            Self::Referral => "referral",
            Self::SocialMedia => "social_media",
            Self::ColdCall => "cold_call",
            Self::WalkIn => "walk_in",
            Self::Whatsapp => "whatsapp",
            Self::Email => "email",
            Self::Erp => "erp",
            Self::Direct => "direct",
            Self::Other => "other",
        }
    }
}

/// A parsed `source`: a known value, or `other` with the raw text for `source_details`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceValue {
    pub source: Source,
    pub details: Option<String>,
}

impl SourceValue {
    pub fn parse(input: &str) -> Self {
        let lower = input.trim().to_ascii_lowercase();
        let known = Source::ALLOWED.iter().position(|allowed| *allowed == lower);
        const ALL: [Source; 10] = [
            Source::Website,
            Source::Referral,
            Source::SocialMedia,
            Source::ColdCall,
            Source::WalkIn,
            Source::Whatsapp,
            Source::Email,
            Source::Erp,
            Source::Direct,
            Source::Other,
        ];
        match known {
            Some(index) => Self { source: ALL[index], details: None },
            None if input.trim().is_empty() => Self { source: Source::Other, details: None },
            None => Self { source: Source::Other, details: Some(input.trim().to_string()) },
        }
    }
}

impl<'de> Deserialize<'de> for SourceValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Value::deserialize(deserializer)?;
        member_text(&raw).map(|text| Self::parse(&text)).ok_or_else(|| D::Error::custom(refusal("text", &raw)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_sets_are_case_insensitive_and_trimmed() {
        assert_eq!(LeadStatus::parse(" Proposal_Sent "), Some(LeadStatus::ProposalSent));
        assert_eq!(PreLeadStatus::parse("ON_HOLD"), Some(PreLeadStatus::OnHold));
        assert_eq!(Priority::parse("Critical"), Some(Priority::Critical));
        assert_eq!(LeadStatus::parse("working"), None);
    }

    #[test]
    fn every_allowed_value_round_trips() {
        for text in LeadStatus::ALLOWED {
            assert_eq!(LeadStatus::parse(text).unwrap().as_str(), *text);
        }
        for text in PreLeadStatus::ALLOWED {
            assert_eq!(PreLeadStatus::parse(text).unwrap().as_str(), *text);
        }
        for text in MemoType::ALLOWED {
            assert_eq!(MemoType::parse(text).unwrap().as_str(), *text);
        }
        for text in ActivityType::ALLOWED {
            assert_eq!(ActivityType::parse(text).unwrap().as_str(), *text);
        }
        for text in Source::ALLOWED {
            assert_eq!(SourceValue::parse(text).source.as_str(), *text);
        }
    }

    #[test]
    fn unknown_source_becomes_other_with_details() {
        let parsed = SourceValue::parse("Trade Show 2024");
        assert_eq!(parsed.source, Source::Other);
        assert_eq!(parsed.details.as_deref(), Some("Trade Show 2024"));
        assert_eq!(SourceValue::parse("WhatsApp").source, Source::Whatsapp);
    }

    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_casing_of_an_allowed_value_parses(index in 0usize..7, mask in any::<u32>()) {
            let text = LeadStatus::ALLOWED[index];
            let cased: String = text
                .chars()
                .enumerate()
                .map(|(i, c)| if mask >> (i % 32) & 1 == 1 { c.to_ascii_uppercase() } else { c })
                .collect();
            prop_assert_eq!(LeadStatus::parse(&cased).map(LeadStatus::as_str), Some(text));
        }

        #[test]
        fn anything_outside_the_set_is_rejected_with_the_list(input in "\\PC*") {
            let lower = input.trim().to_ascii_lowercase();
            prop_assume!(!Priority::ALLOWED.contains(&lower.as_str()));
            let json = serde_json::to_string(&input).unwrap();
            let err = serde_json::from_str::<Priority>(&json).unwrap_err().to_string();
            prop_assert!(err.starts_with(NOT_IN_SET), "{}", err);
        }

        #[test]
        fn a_source_never_fails_and_keeps_unknown_text(input in "\\PC{1,40}") {
            let parsed = SourceValue::parse(&input);
            if parsed.source == Source::Other && !input.trim().eq_ignore_ascii_case("other") && !input.trim().is_empty() {
                prop_assert_eq!(parsed.details.as_deref(), Some(input.trim()));
            }
        }
    }

    #[test]
    fn converted_is_refused_with_the_convert_route() {
        let err = serde_json::from_str::<PreLeadStatus>("\"Converted\"").unwrap_err().to_string();
        assert!(err.starts_with("\"converted\" is set only by a conversion (POST /api/v1/webhooks/incoming/pre-lead/{pre_lead_id}/convert)"), "{err}");
        assert!(
            err.ends_with("must be one of: new, contacted, working, qualified, on_hold, closed_not_converted"),
            "{err}"
        );
        assert_eq!(PreLeadStatus::parse("converted"), None);
        assert_eq!(PreLeadStatus::Converted.as_str(), "converted");
        assert!(!PreLeadStatus::ALLOWED.contains(&"converted"));
    }

    #[test]
    fn numbers_and_other_kinds_are_refused_with_the_list() {
        let err = serde_json::from_str::<Priority>("3").unwrap_err().to_string();
        assert!(err.starts_with("must be one of: low, medium, high, critical (got \"3\")"), "{err}");
        let err = serde_json::from_str::<Priority>("true").unwrap_err().to_string();
        assert!(err.starts_with("must be one of: low, medium, high, critical (got true)"), "{err}");
        assert_eq!(serde_json::from_str::<SourceValue>("42").unwrap().details.as_deref(), Some("42"));
    }

    #[test]
    fn rejection_lists_the_allowed_values() {
        let err = serde_json::from_str::<Priority>("\"urgent\"").unwrap_err().to_string();
        assert!(err.starts_with("must be one of: low, medium, high, critical (got \"urgent\")"), "{err}");
    }
}
