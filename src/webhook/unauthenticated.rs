//! What an unauthenticated webhook call (401) may cost: its log row keeps only the first
//! [`LOGGED_BODY_BYTES`] of the body, with the whole body's length and SHA-256, and each client
//! IP has a budget of failed signatures a minute (`CRM_SIGNATURE_FAILURES_PER_MINUTE`, shared
//! with failed admin tokens); past it a failure is answered 429 and not logged at all.

use std::net::IpAddr;
use std::time::Instant;

use axum::http::HeaderValue;
use axum::response::Response;
use sha2::{Digest, Sha256};

use crate::http::error::{json_error, ErrorBody};
use crate::http::rate_limit::RateLimiter;
use crate::logs::store::NewLog;

/// The part of a 401 request's body kept in its log row.
pub const LOGGED_BODY_BYTES: usize = 4096;

/// Keeps the first [`LOGGED_BODY_BYTES`] of `body` in the row, with the whole body's length and
/// SHA-256.
pub fn cut_body(log: &mut NewLog, body: &[u8]) {
    let kept = &body[..body.len().min(LOGGED_BODY_BYTES)];
    log.request_body = Some(super::pipeline::storable_text(kept));
    log.request_body_bytes = Some(body.len() as i64);
    log.request_body_sha256 = Some(hex::encode(Sha256::digest(body)));
}

/// Counts one failed signature or admin token of `ip` against `budget`; `Some(429 answer)` once
/// the budget is spent (the failure is then neither answered 401 nor logged).
pub fn over_budget(budget: Option<&RateLimiter>, ip: Option<IpAddr>) -> Option<Response> {
    let (Some(budget), Some(ip)) = (budget, ip) else { return None };
    let decision = budget.check(ip, Instant::now());
    if decision.allowed {
        return None;
    }
    let body = ErrorBody { detail: "Rate limit exceeded".into(), field: None, allowed: None };
    let mut response = json_error(axum::http::StatusCode::TOO_MANY_REQUESTS, &body);
    response.headers_mut().insert("retry-after", HeaderValue::from(decision.retry_after_seconds));
    Some(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_body_is_cut_with_its_length_and_digest() {
        let body = vec![b'x'; 10_000];
        let mut log = NewLog::default();
        cut_body(&mut log, &body);
        assert_eq!(log.request_body.as_deref().map(str::len), Some(LOGGED_BODY_BYTES));
        assert_eq!(log.request_body_bytes, Some(10_000));
        assert_eq!(log.request_body_sha256.as_deref(), Some(hex::encode(Sha256::digest(&body)).as_str()));
        let mut short = NewLog::default();
        cut_body(&mut short, b"abc");
        assert_eq!(short.request_body.as_deref(), Some("abc"));
        assert_eq!(
            short.request_body_sha256.as_deref(),
            Some("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
    }

    #[test]
    fn past_the_budget_a_failure_is_refused() {
        let budget = RateLimiter::new(2);
        let ip: IpAddr = "192.0.2.9".parse().unwrap();
        assert!(over_budget(Some(&budget), Some(ip)).is_none());
        assert!(over_budget(Some(&budget), Some(ip)).is_none());
        let refused = over_budget(Some(&budget), Some(ip)).expect("third failure refused");
        assert_eq!(refused.status(), 429);
        assert!(refused.headers().contains_key("retry-after"));
        assert!(over_budget(None, Some(ip)).is_none(), "no budget: never refused");
    }
}
