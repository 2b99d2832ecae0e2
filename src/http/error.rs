//! The one error type of the HTTP surface. Every failure becomes `{"detail": "<sentence>"}`
//! (plus `field`/`allowed` where they help); internal causes are logged, never sent.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::domain::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{detail}")]
    BadRequest { detail: String, field: Option<String>, allowed: Option<Vec<String>> },
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0}")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("Request body not received in time")]
    RequestTimeout,
    #[error("Payload too large")]
    PayloadTooLarge,
    #[error("Content-Type must be application/json")]
    UnsupportedMediaType,
    #[error("Internal server error")]
    Internal(#[source] anyhow::Error),
}

/// The JSON shape of every error response (and of the OpenAPI `Error` schema).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// One human sentence.
    pub detail: String,
    /// The request field at fault, as a dotted path inside `data`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The accepted values, when the field takes a fixed set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed: Option<Vec<String>>,
}

impl AppError {
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::BadRequest { detail: detail.into(), field: None, allowed: None }
    }

    pub fn invalid_field(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::BadRequest { detail: detail.into(), field: Some(field.into()), allowed: None }
    }

    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        Self::Internal(err.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The client-facing body. For an internal error this is the opaque sentence only.
    pub fn body(&self) -> ErrorBody {
        match self {
            Self::BadRequest { detail, field, allowed } => {
                ErrorBody { detail: detail.clone(), field: field.clone(), allowed: allowed.clone() }
            }
            other => ErrorBody { detail: other.to_string(), field: None, allowed: None },
        }
    }

    /// Logs an internal cause once, inside the request's span (which carries the request id).
    pub fn log_if_internal(&self) {
        if let Self::Internal(cause) = self {
            tracing::error!(error = format!("{cause:#}"), "internal error");
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(err: sqlx::Error) -> Self {
        Self::Internal(err.into())
    }
}

impl From<crate::db::DbError> for AppError {
    fn from(err: crate::db::DbError) -> Self {
        Self::Internal(err.into())
    }
}

/// The data layer's errors at the HTTP edge: not found 404, conflict 409, invalid field 400,
/// anything else an opaque 500 (its cause logged once, by [`AppError::log_if_internal`]).
impl From<StoreError> for AppError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound(detail) => Self::NotFound(detail),
            StoreError::Conflict(detail) => Self::Conflict(detail),
            StoreError::Invalid { field, detail } => Self::invalid_field(field, detail),
            StoreError::Internal(cause) => Self::Internal(cause),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.log_if_internal();
        json_error(self.status(), &self.body())
    }
}

pub fn json_error(status: StatusCode, body: &ErrorBody) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| br#"{"detail":"Internal server error"}"#.to_vec());
    let mut response = (status, bytes).into_response();
    response.headers_mut().insert(axum::http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
