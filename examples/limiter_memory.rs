//! Measures the rate limiter's memory with many distinct client IPs:
//! `cargo run --release --example limiter_memory [CLIENTS]` (default 100,000).
//! Prints the resident set size before, after tracking every client, and after the idle sweep.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use crm_webhooks::http::rate_limit::RateLimiter;

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn main() {
    let clients: u32 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let limiter = RateLimiter::new(100);
    let before = rss_kib();
    let start = Instant::now();
    for i in 0..clients {
        // Distinct addresses across the IPv4 space, 10 requests each.
        let ip = IpAddr::from((i.wrapping_mul(2_654_435_761)).to_be_bytes());
        for _ in 0..10 {
            limiter.check(ip, start);
        }
    }
    let tracked = limiter.tracked_clients();
    let after = rss_kib();
    limiter.sweep(start + Duration::from_secs(61));
    let swept = limiter.tracked_clients();
    println!("clients: {clients}, tracked: {tracked} (cap {})", crm_webhooks::http::rate_limit::MAX_CLIENTS);
    println!(
        "RSS before: {before} KiB, after: {after} KiB, growth: {} KiB ({:.1} bytes per client)",
        after - before,
        (after - before) as f64 * 1024.0 / f64::from(clients)
    );
    println!("after the idle sweep: {swept} tracked");
}
