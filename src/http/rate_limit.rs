//! Per-client-IP token bucket: `limit` requests a minute, refilled continuously. IPv6 clients
//! are keyed by their /64 network (one host usually owns a whole /64). Memory stays bounded: a
//! sweep drops buckets that have refilled (idle clients), and a shard at capacity drops its
//! refilled buckets, then an eighth of the rest, before taking a new client (amortised O(1)).
//! The sweep runs as the application's `rate_limit_sweep` task.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use super::client_ip::ClientIp;
use super::error::{json_error, ErrorBody};

const SHARDS: usize = 16;
/// Clients tracked at most (all shards); beyond it the least recently limited are forgotten.
pub const MAX_CLIENTS: usize = 200_000;

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

pub struct RateLimiter {
    limit: u32,
    per_second: f64,
    shards: Vec<Mutex<HashMap<IpAddr, Bucket>>>,
    hasher: RandomState,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the bucket is full again.
    pub reset_seconds: u64,
    /// Seconds until one request is allowed (0 when allowed now).
    pub retry_after_seconds: u64,
}

impl RateLimiter {
    pub fn new(limit_per_minute: u32) -> Self {
        Self {
            limit: limit_per_minute,
            per_second: f64::from(limit_per_minute) / 60.0,
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: RandomState::new(),
        }
    }

    fn shard(&self, ip: &IpAddr) -> &Mutex<HashMap<IpAddr, Bucket>> {
        &self.shards[(self.hasher.hash_one(ip) as usize) % SHARDS]
    }

    pub fn check(&self, ip: IpAddr, now: Instant) -> Decision {
        let ip = client_key(ip);
        let capacity = f64::from(self.limit);
        let mut shard = self.shard(&ip).lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if !shard.contains_key(&ip) && shard.len() >= MAX_CLIENTS / SHARDS {
            Self::evict(&mut shard, now, capacity, self.per_second);
        }
        let bucket = shard.entry(ip).or_insert(Bucket { tokens: capacity, updated: now });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(capacity);
        bucket.updated = now;
        let allowed = bucket.tokens >= 1.0;
        if allowed {
            bucket.tokens -= 1.0;
        }
        let missing = capacity - bucket.tokens;
        Decision {
            allowed,
            limit: self.limit,
            remaining: bucket.tokens.floor() as u32,
            reset_seconds: (missing / self.per_second).ceil() as u64,
            retry_after_seconds: if allowed {
                0
            } else {
                ((1.0 - bucket.tokens) / self.per_second).ceil().max(1.0) as u64
            },
        }
    }

    /// Drops refilled buckets; if that frees less than an eighth of the shard, drops the buckets
    /// with the most tokens left (the least limited clients) until it does.
    fn evict(shard: &mut HashMap<IpAddr, Bucket>, now: Instant, capacity: f64, per_second: f64) {
        shard.retain(|_, b| b.tokens + now.saturating_duration_since(b.updated).as_secs_f64() * per_second < capacity);
        let target = MAX_CLIENTS / SHARDS * 7 / 8;
        if shard.len() > target {
            let mut by_tokens: Vec<(f64, IpAddr)> = shard.iter().map(|(ip, b)| (b.tokens, *ip)).collect();
            let excess = shard.len() - target;
            by_tokens.select_nth_unstable_by(excess - 1, |a, b| b.0.total_cmp(&a.0));
            for (_, ip) in &by_tokens[..excess] {
                shard.remove(ip);
            }
        }
    }

    /// Forgets every client whose bucket has refilled: they are as good as new.
    pub fn sweep(&self, now: Instant) {
        let capacity = f64::from(self.limit);
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            shard.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.updated).as_secs_f64() * self.per_second < capacity
            });
        }
    }

    pub fn tracked_clients(&self) -> usize {
        self.shards.iter().map(|s| s.lock().map(|s| s.len()).unwrap_or(0)).sum()
    }
}

/// IPv4 addresses as they are; IPv6 addresses reduced to their /64 network.
fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let segments = v6.segments();
                IpAddr::from([segments[0], segments[1], segments[2], segments[3], 0, 0, 0, 0])
            }
        },
    }
}

fn set_headers(headers: &mut HeaderMap, decision: &Decision) {
    headers.insert("x-ratelimit-limit", HeaderValue::from(decision.limit));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(decision.remaining));
    headers.insert("x-ratelimit-reset", HeaderValue::from(decision.reset_seconds));
}

pub async fn middleware(State(limiter): State<Arc<RateLimiter>>, req: Request, next: Next) -> Response {
    let Some(ClientIp(ip)) = req.extensions().get::<ClientIp>().copied() else {
        return next.run(req).await;
    };
    let decision = limiter.check(ip, Instant::now());
    if !decision.allowed {
        let body = ErrorBody { detail: "Rate limit exceeded".into(), field: None, allowed: None };
        let mut response = json_error(StatusCode::TOO_MANY_REQUESTS, &body);
        set_headers(response.headers_mut(), &decision);
        response.headers_mut().insert("retry-after", HeaderValue::from(decision.retry_after_seconds));
        return response;
    }
    let mut response = next.run(req).await;
    set_headers(response.headers_mut(), &decision);
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn allows_the_limit_then_refuses_until_a_token_refills() {
        let limiter = RateLimiter::new(100);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let start = Instant::now();
        for i in 0..100 {
            let d = limiter.check(ip, start);
            assert!(d.allowed, "request {i}");
            assert_eq!(d.remaining, 99 - i);
        }
        let refused = limiter.check(ip, start);
        assert!(!refused.allowed);
        assert_eq!(refused.retry_after_seconds, 1);
        assert_eq!(refused.reset_seconds, 60);
        assert!(limiter.check(ip, start + Duration::from_millis(600)).allowed);
        // Another client is not affected.
        assert!(limiter.check("192.0.2.2".parse().unwrap(), start).allowed);
    }

    #[test]
    fn ipv6_clients_share_their_64_network() {
        let limiter = RateLimiter::new(1);
        let start = Instant::now();
        assert!(limiter.check("2001:db8:1:2::1".parse().unwrap(), start).allowed);
        assert!(!limiter.check("2001:db8:1:2::ffff".parse().unwrap(), start).allowed);
        assert!(limiter.check("2001:db8:1:3::1".parse().unwrap(), start).allowed);
    }

    #[test]
    fn idle_clients_are_swept_and_memory_stays_bounded() {
        let limiter = RateLimiter::new(100);
        let start = Instant::now();
        for i in 0..(MAX_CLIENTS as u32 + 5_000) {
            limiter.check(IpAddr::from(i.to_be_bytes()), start);
        }
        assert!(limiter.tracked_clients() <= MAX_CLIENTS, "{}", limiter.tracked_clients());
        limiter.sweep(start + Duration::from_secs(61));
        assert_eq!(limiter.tracked_clients(), 0);
    }
}
