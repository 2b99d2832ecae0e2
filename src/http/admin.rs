//! The admin token: with `CRM_ADMIN_TOKEN` set, read and admin routes need
//! `Authorization: Bearer <token>`, compared in constant time. A wrong or missing token counts
//! against the client IP's budget of failed authentications (`CRM_SIGNATURE_FAILURES_PER_MINUTE`).

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::client_ip::ClientIp;
use super::error::AppError;
use crate::state::AppState;
use crate::webhook::unauthenticated::over_budget;

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
            // A failed token counts against the client's budget of failed authentications.
            let ip = req.extensions().get::<ClientIp>().map(|ip| ip.0);
            if let Some(refused) = over_budget(state.signature_failures.as_deref(), ip) {
                return refused;
            }
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
