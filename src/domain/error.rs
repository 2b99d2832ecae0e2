//! The error of the data layer: what a store or a payload check can say went wrong, in terms of
//! records and fields, never of HTTP. The HTTP edge turns it into a status code
//! (`From<StoreError> for AppError` in `http/error.rs`).

/// Why a change could not be made.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The record the change is about does not exist (`"Lead not found"`).
    #[error("{0}")]
    NotFound(&'static str),
    /// The record's state or a unique value forbids the change.
    #[error("{0}")]
    Conflict(String),
    /// A field of the payload breaks a rule its type cannot express.
    #[error("{detail}")]
    Invalid { field: String, detail: String },
    /// Anything else: the cause is logged once at the edge, the caller learns only that it failed.
    #[error("internal error: {0:#}")]
    Internal(#[source] anyhow::Error),
}

impl StoreError {
    pub fn invalid(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::Invalid { field: field.into(), detail: detail.into() }
    }

    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        Self::Internal(err.into())
    }
}
