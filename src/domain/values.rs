//! The fixed value sets of design §3. Input is case-insensitive and stored lower-case; a value
//! outside the set is rejected with a message that lists the allowed values.

use serde::de::{Deserializer, Error as _};
use serde::{Deserialize, Serialize};

/// Prefix of the deserialization error for a value outside its set; the HTTP layer turns it
/// into a 400 that names the field and carries the `allowed` list.
pub const NOT_IN_SET: &str = "must be one of: ";

pub fn not_in_set_message(allowed: &[&str], got: &str) -> String {
    format!("{NOT_IN_SET}{} (got {:?})", allowed.join(", "), got)
}

macro_rules! value_set {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALLOWED: &'static [&'static str] = &[$($text),+];

            pub const fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }

            /// Case-insensitive, surrounding blanks ignored.
            pub fn parse(input: &str) -> Option<Self> {
                match input.trim().to_ascii_lowercase().as_str() {
                    $($text => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(deserializer)?;
                Self::parse(&raw).ok_or_else(|| D::Error::custom(not_in_set_message(Self::ALLOWED, &raw)))
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
        Ok(Self::parse(&String::deserialize(deserializer)?))
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
    fn rejection_lists_the_allowed_values() {
        let err = serde_json::from_str::<Priority>("\"urgent\"").unwrap_err().to_string();
        assert!(err.starts_with("must be one of: low, medium, high, critical (got \"urgent\")"), "{err}");
    }
}
