//! Commit-to-receipt latency of outgoing webhooks under a steady load, for `bench/outgoing.sh`.
//!
//!   outgoing_load BASE ADMIN_TOKEN SECRET EXAMPLE [RATE] [SECONDS] [WARMUP]
//!
//! Starts a receiver on a free loopback port (an axum route answering 200), subscribes it to
//! `lead.created` on the server at BASE, then sends signed `new_lead` webhooks (the API document's
//! example EXAMPLE, each with its own e-mail and phone) open loop: one every 1/RATE s on schedule,
//! whatever the answers (default 1000/s for 30 s after a 5 s warm-up). For each delivery the
//! receiver takes its arrival time minus the event's `timestamp`, the time of the change written
//! inside its transaction, so the figure includes the commit and bounds commit-to-receipt from
//! above. Deliveries of events changed during the warm-up are not counted. Once every
//! acknowledged create has been delivered (or 30 s after the last send) it deletes the
//! subscription and prints one `LATENCY_RESULT key=value …` line.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::Router;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

#[derive(Default)]
struct Received {
    /// Latencies in µs of the events changed after the warm-up.
    measured: Vec<i64>,
    ids: HashSet<String>,
    repeated: u64,
}

struct Receiver {
    received: Mutex<Received>,
    /// Events changed before this time are not measured.
    measure_from: Mutex<chrono::DateTime<chrono::Utc>>,
}

async fn receive(State(receiver): State<Arc<Receiver>>, headers: HeaderMap, body: bytes::Bytes) -> &'static str {
    let now = chrono::Utc::now();
    let id = headers.get("webhook-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let stamp = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v["timestamp"].as_str().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()));
    let from = *receiver.measure_from.lock().unwrap();
    let mut got = receiver.received.lock().unwrap();
    if !got.ids.insert(id) {
        got.repeated += 1;
    } else if let Some(stamp) = stamp {
        if stamp >= from {
            got.measured.push((now - stamp.with_timezone(&chrono::Utc)).num_microseconds().unwrap_or(i64::MAX));
        }
    }
    "ok"
}

fn percentile(sorted: &[i64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1000.0
}

fn body(example: &str, n: u64) -> String {
    example
        .replace("\"robert@example.com\"", &format!("\"robert.{n}@example.com\""))
        .replace("\"+1234567893\"", &format!("\"+1{n:010}\""))
}

fn sign(secret: &str, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

#[derive(Default)]
struct Sent {
    ok: AtomicU64,
    refused: AtomicU64,
    failed: AtomicU64,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    anyhow::ensure!(args.len() >= 5, "usage: outgoing_load BASE ADMIN_TOKEN SECRET EXAMPLE [RATE] [SECONDS] [WARMUP]");
    let (base, token, secret) = (args[1].trim_end_matches('/').to_string(), args[2].clone(), args[3].clone());
    let example = std::fs::read_to_string(&args[4])?;
    anyhow::ensure!(
        example.contains("\"robert@example.com\"") && example.contains("\"+1234567893\""),
        "example changed"
    );
    let number =
        |i: usize, default: u64| args.get(i).map(|v| v.parse::<u64>()).transpose().map(|v| v.unwrap_or(default));
    let (rate, seconds, warmup) = (number(5, 1000)?, number(6, 30)?, number(7, 5)?);

    let receiver = Arc::new(Receiver { received: Mutex::default(), measure_from: Mutex::new(chrono::Utc::now()) });
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let hook = format!("http://{}/hook", listener.local_addr()?);
    let app = Router::new().route("/hook", post(receive)).with_state(receiver.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let client = reqwest::Client::builder().pool_max_idle_per_host(256).build()?;
    let subscribed: Value = client
        .post(format!("{base}/api/v1/webhooks/subscriptions"))
        .bearer_auth(&token)
        .json(&json!({"url": hook, "events": ["lead.created"], "description": "outgoing_load"}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let subscription = subscribed["id"].as_i64().ok_or_else(|| anyhow::anyhow!("no id in {subscribed}"))?;

    let sent = Arc::new(Sent::default());
    let total = rate * (warmup + seconds);
    let period = Duration::from_secs_f64(1.0 / rate as f64);
    let started = Instant::now();
    let mut behind_max = Duration::ZERO;
    let url = format!("{base}/api/v1/webhooks/incoming/lead/create");
    for n in 1..=total {
        if n == rate * warmup + 1 {
            *receiver.measure_from.lock().unwrap() = chrono::Utc::now();
        }
        let due = started + period.mul_f64((n - 1) as f64);
        let now = Instant::now();
        if due > now {
            tokio::time::sleep_until(due.into()).await;
        } else {
            behind_max = behind_max.max(now - due);
        }
        let text = body(&example, n);
        let request = client
            .post(&url)
            .header("content-type", "application/json")
            .header("x-webhook-signature", sign(&secret, &text))
            .body(text);
        let sent = sent.clone();
        tokio::spawn(async move {
            match request.send().await {
                Ok(answer) if answer.status().is_success() => sent.ok.fetch_add(1, Ordering::Relaxed),
                Ok(_) => sent.refused.fetch_add(1, Ordering::Relaxed),
                Err(_) => sent.failed.fetch_add(1, Ordering::Relaxed),
            };
        });
    }
    let sending = started.elapsed();
    // Every create answered, then every acknowledged one delivered (bounded).
    let deadline = Instant::now() + Duration::from_secs(30);
    let answered =
        |s: &Sent| s.ok.load(Ordering::Relaxed) + s.refused.load(Ordering::Relaxed) + s.failed.load(Ordering::Relaxed);
    while Instant::now() < deadline
        && (answered(&sent) < total
            || (receiver.received.lock().unwrap().ids.len() as u64) < sent.ok.load(Ordering::Relaxed))
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    client
        .delete(format!("{base}/api/v1/webhooks/subscriptions/{subscription}"))
        .bearer_auth(&token)
        .send()
        .await?
        .error_for_status()?;

    let got = receiver.received.lock().unwrap();
    let mut measured = got.measured.clone();
    measured.sort_unstable();
    println!(
        "LATENCY_RESULT rate={rate} seconds={seconds} warmup={warmup} sent={total} send_seconds={:.2} behind_max_ms={:.1} \
         ok={} non2xx={} errors={} received={} repeated={} measured={} p50_ms={:.2} p90_ms={:.2} p99_ms={:.2} p999_ms={:.2} max_ms={:.2}",
        sending.as_secs_f64(),
        behind_max.as_secs_f64() * 1000.0,
        sent.ok.load(Ordering::Relaxed),
        sent.refused.load(Ordering::Relaxed),
        sent.failed.load(Ordering::Relaxed),
        got.ids.len(),
        got.repeated,
        measured.len(),
        percentile(&measured, 50.0),
        percentile(&measured, 90.0),
        percentile(&measured, 99.0),
        percentile(&measured, 99.9),
        percentile(&measured, 100.0),
    );
    Ok(())
}
