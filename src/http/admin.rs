//! The admin token: with `CRM_ADMIN_TOKEN` set, read and admin routes need
//! `Authorization: Bearer <token>`, compared in constant time.

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::error::AppError;
use crate::state::AppState;

pub fn token_matches(header: Option<&str>, token: &str) -> bool {
    let Some(presented) = header.and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer "))) else {
        return false;
    };
    presented.trim().as_bytes().ct_eq(token.as_bytes()).into()
}

pub async fn require_admin(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if let Some(token) = &state.config.admin_token {
        let header = req.headers().get(AUTHORIZATION).and_then(|v| v.to_str().ok());
        if !token_matches(header, token.expose()) {
            return AppError::Unauthorized("Missing or invalid admin token").into_response();
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_bearer_token_passes() {
        assert!(token_matches(Some("Bearer s3cret"), "s3cret"));
        assert!(!token_matches(Some("Bearer s3cre"), "s3cret"));
        assert!(!token_matches(Some("s3cret"), "s3cret"));
        assert!(!token_matches(None, "s3cret"));
    }
}
