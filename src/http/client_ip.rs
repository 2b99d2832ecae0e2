//! The client's IP for rate limiting and logs: the peer address, or — only when
//! `CRM_TRUST_FORWARDED_FOR` is on — the rightmost `X-Forwarded-For` entry, the one our own
//! proxy appended (entries to its left are whatever the client chose to send).

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

pub fn resolve(peer: Option<IpAddr>, headers: &HeaderMap, trust_forwarded_for: bool) -> Option<IpAddr> {
    if trust_forwarded_for {
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|entry| entry.trim().parse::<IpAddr>().ok())
            .next_back();
        if forwarded.is_some() {
            return forwarded;
        }
    }
    peer
}

pub async fn middleware(State(trust): State<bool>, mut req: Request, next: Next) -> Response {
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip());
    if let Some(ip) = resolve(peer, req.headers(), trust) {
        req.extensions_mut().insert(ClientIp(ip));
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn forwarded_for_is_used_only_when_trusted_and_rightmost_wins() {
        let peer: IpAddr = "10.0.0.1".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_static("1.1.1.1, 203.0.113.7"));
        assert_eq!(resolve(Some(peer), &headers, false), Some(peer));
        assert_eq!(resolve(Some(peer), &headers, true), Some("203.0.113.7".parse().unwrap()));
        headers.insert("x-forwarded-for", HeaderValue::from_static("garbage"));
        assert_eq!(resolve(Some(peer), &headers, true), Some(peer));
    }
}
