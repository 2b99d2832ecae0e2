//! The contract of an event's `data`: parsed by serde, then checked for the rules its type
//! cannot express. The one parser of `data` (`webhook::command`) requires [`Payload`], so a
//! command only ever holds a checked value.

use serde::de::DeserializeOwned;

use super::StoreError;

pub trait Payload: DeserializeOwned {
    /// What the store takes once the rules hold (often the payload itself).
    type Checked;
    /// The rules of [`Payload::check`] that a schema can state: each list names fields of which at
    /// least one must be present and not blank (`first_name` or `company_name`). The OpenAPI
    /// document states each as an `anyOf` of `required`; a test holds `check` to them.
    const AT_LEAST_ONE_OF: &'static [&'static [&'static str]] = &[];
    fn check(self) -> Result<Self::Checked, StoreError>;
}

/// For payloads whose type already says everything: checking is the identity.
#[macro_export]
macro_rules! payload_without_rules {
    ($($payload:ty),+ $(,)?) => {
        $(impl $crate::domain::payload::Payload for $payload {
            type Checked = Self;
            fn check(self) -> Result<Self, $crate::domain::StoreError> {
                Ok(self)
            }
        })+
    };
}
